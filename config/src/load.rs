//! Reading the layers in order.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Yaml};
use serde::Serialize;

use crate::error::{ConfigError, origin_of};
use crate::settings::{ColorChoice, LogFormat, LogLevel, Settings, SourceChoice};

/// Name of the config file looked up in the working directory.
pub const DEFAULT_FILE_NAME: &str = "imglife.yaml";
const ENV_PREFIX: &str = "IMGLIFE_";
/// Top-level keys that `IMGLIFE_*` variables may set. Everything else under
/// the prefix (registry credentials such as `IMGLIFE_GHCR_IO_TOKEN`,
/// `IMGLIFE_CONFIG`) is not configuration and is never read here.
const ENV_KEYS: &[&str] = &[
    "log_level",
    "log_format",
    "color",
    "registry",
    "retention",
    "inspection",
    "source",
];

/// How the config file was chosen; errors name it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrigin {
    /// `--config FILE`
    Flag,
    /// `$IMGLIFE_CONFIG`
    Env,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub origin: FileOrigin,
}

impl ConfigFile {
    fn describe(&self) -> String {
        match self.origin {
            FileOrigin::Flag => format!("--config {}", self.path.display()),
            FileOrigin::Env => format!("IMGLIFE_CONFIG={}", self.path.display()),
        }
    }
}

/// Values given as flags: the top layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LogLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<ColorChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceChoice>,
}

/// Loads the configuration. `file` is the explicitly named file, if any;
/// otherwise `imglife.yaml` in `cwd` is read when it exists.
pub fn load(
    file: Option<&ConfigFile>,
    cwd: &Path,
    overrides: &Overrides,
) -> Result<Settings, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    match file {
        Some(file) => {
            let path = if file.path.is_absolute() {
                file.path.clone()
            } else {
                cwd.join(&file.path)
            };
            if let Some(yaml) = read_file(&path, &file.describe(), true)? {
                figment = figment.merge(yaml);
            }
        }
        None => {
            let path = cwd.join(DEFAULT_FILE_NAME);
            if let Some(yaml) = read_file(&path, &format!("config file {}", path.display()), false)?
            {
                figment = figment.merge(yaml);
            }
        }
    }
    let env = Env::prefixed(ENV_PREFIX).split("__").filter(|key| {
        // Keys reach the filter in their original case, nesting not yet
        // applied: compare the first segment case-insensitively.
        let key = key.as_str().to_ascii_lowercase();
        let top = key.split("__").next().unwrap_or_default();
        let top = top.split('.').next().unwrap_or_default();
        ENV_KEYS.contains(&top)
    });
    let figment = figment.merge(env).merge(Serialized::defaults(overrides));
    let mut settings: Settings = figment.extract().map_err(ConfigError::from_figment)?;
    // Remember where the values checked after loading came from, so that
    // those errors name their file or variable too.
    for key in ORIGIN_KEYS {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        // Values from the built-in defaults or from flags need no origin.
        if let Some(meta) = figment.find_metadata(key)
            && !meta.name.contains("Serialized")
            && !meta.name.contains("Default")
        {
            settings
                .origins
                .insert((*key).to_owned(), origin_of(meta, &path));
        }
    }
    validate(&settings)?;
    Ok(settings)
}

/// Keys whose values are checked after loading (see `Settings::origin`).
const ORIGIN_KEYS: &[&str] = &[
    "registry.provider",
    "registry.url",
    "registry.api_url",
    "registry.project_id",
    "registry.path",
    "registry.connect_timeout_secs",
    "registry.timeout_secs",
    "registry.concurrency",
    "inspection.connect_timeout_secs",
    "inspection.timeout_secs",
];

/// Values that parse but cannot work, refused up front whatever the
/// command: a bad setting should not wait for the day it is first used.
fn validate(settings: &Settings) -> Result<(), ConfigError> {
    let inspection = settings.inspection;
    for (key, value, default) in [
        ("connect_timeout_secs", inspection.connect_timeout_secs, 10),
        ("timeout_secs", inspection.timeout_secs, 60),
    ] {
        if value == 0 {
            return Err(ConfigError::new(format!(
                "{}: 0 would give up before the registry can answer; use a number of seconds of \
                 at least 1 (default: {default})",
                settings.origin(&format!("inspection.{key}"))
            )));
        }
    }
    Ok(())
}

/// Checks the file up front so that the common failures get a message that
/// says what to do, then hands it to figment. `None` when there is nothing
/// to merge (a missing default file, an empty file).
fn read_file(path: &Path, named: &str, required: bool) -> Result<Option<Figment>, ConfigError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if required {
                return Err(ConfigError::new(format!(
                    "{named}: no such file; pass the path of an existing imglife.yaml"
                )));
            }
            return Ok(None);
        }
        Err(e) if path.is_dir() => {
            return Err(ConfigError::new(format!(
                "{named}: is a directory, not a config file ({e})"
            )));
        }
        Err(e) => {
            return Err(ConfigError::new(format!("{named}: cannot be read: {e}")));
        }
    };
    let Ok(text) = String::from_utf8(text) else {
        return Err(ConfigError::new(format!(
            "{named}: is not UTF-8 text; imglife.yaml must be a YAML file"
        )));
    };
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(None);
    }
    Ok(Some(Figment::from(Yaml::file_exact(path))))
}
