//! Reading the layers in order.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Yaml};
use serde::Serialize;

use crate::duplicates;
use crate::env::EnvStrings;
use crate::error::{ConfigError, origin_of};
use crate::keys;
use crate::settings::{ColorChoice, LogFormat, LogLevel, Settings, SourceChoice};
use crate::unknown;

/// Name of the config file looked up in the working directory.
pub const DEFAULT_FILE_NAME: &str = "imglife.yaml";

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
    load_with_env(file, cwd, overrides, std::env::vars_os())
}

/// `load` with the environment given (tests cannot change the process's).
pub(crate) fn load_with_env(
    file: Option<&ConfigFile>,
    cwd: &Path,
    overrides: &Overrides,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Settings, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    let mut warnings = Vec::new();
    match file {
        Some(file) => {
            let path = if file.path.is_absolute() {
                file.path.clone()
            } else {
                cwd.join(&file.path)
            };
            if let Some(yaml) = read_file(&path, &file.describe(), true, &mut warnings)? {
                figment = figment.merge(yaml);
            }
        }
        None => {
            let path = cwd.join(DEFAULT_FILE_NAME);
            if let Some(yaml) = read_file(
                &path,
                &format!("config file {}", path.display()),
                false,
                &mut warnings,
            )? {
                figment = figment.merge(yaml);
            }
        }
    }
    let env = EnvStrings::collect(vars)?;
    let figment = figment.merge(env).merge(Serialized::defaults(overrides));
    // Lossy: a string becomes a number (or a boolean) where the setting
    // asks for one. Variables are always strings (see `env`); in the file
    // this also accepts a quoted number (`timeout_secs: "30"`) as that
    // number, which is harmless. Nothing turns a number into a string.
    let mut settings: Settings = figment.extract_lossy().map_err(ConfigError::from_figment)?;
    settings.warnings = warnings;
    // Remember where the values checked after loading came from, so that
    // those errors name their file or variable too; and every other key's,
    // which `config show` annotates each value with.
    for key in ORIGIN_KEYS.iter().chain(keys::KEYS.iter().map(|k| &k.name)) {
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        // Values from the built-in defaults or from flags need no origin
        // (both are `Serialized` providers, named after their type).
        if let Some(meta) = figment.find_metadata(key)
            && (meta.name.contains("environment")
                || matches!(meta.source, Some(figment::Source::File(_))))
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
    "registry.owner",
    "registry.repo",
    "registry.path",
    "registry.connect_timeout_secs",
    "registry.timeout_secs",
    "registry.concurrency",
    "registry.max_records",
    "inspection.connect_timeout_secs",
    "inspection.timeout_secs",
    "build.tag_format",
    "cache.dir",
];

/// Linux's `PATH_MAX` (`<linux/limits.h>`): the longest path a system call
/// takes, its terminating NUL included. A longer `registry.path` could never
/// be opened.
const PATH_MAX: usize = 4096;

/// Values that parse but cannot work, refused up front whatever the
/// command: a bad setting should not wait for the day it is first used.
fn validate(settings: &Settings) -> Result<(), ConfigError> {
    if let Some(path) = settings.registry.as_ref().and_then(|r| r.path.as_ref()) {
        check_fs_path(
            &settings.origin("registry.path"),
            path,
            "set it to the directory that keeps the records, e.g. .imglife/records",
        )?;
    }
    if let Some(path) = settings.cache.as_ref().and_then(|c| c.dir.as_ref()) {
        check_fs_path(
            &settings.origin("cache.dir"),
            path,
            "set it to the directory for the read cache, e.g. .imglife/cache, or leave it \
             unset for the default",
        )?;
    }
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

/// `registry.path`, `cache.dir`: a directory someone meant to write, not a value that
/// lost its text on the way (blank), gained a line break (a YAML block
/// scalar, a variable set from a multi-line command) or cannot be a path.
fn check_fs_path(key: &str, path: &Path, fix: &str) -> Result<(), ConfigError> {
    // Values from YAML and from variables are UTF-8 (both checked).
    let text = path.to_string_lossy();
    if text.is_empty() {
        return Err(ConfigError::new(format!("{key} is empty; {fix}")));
    }
    if text.trim().is_empty() {
        return Err(ConfigError::new(format!(
            "{key} is only blanks ({:?}); {fix}",
            text.as_ref()
        )));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        let what = match c {
            '\n' | '\r' => "a line break".to_owned(),
            '\t' => "a tab".to_owned(),
            c => format!("the control character U+{:04X}", u32::from(c)),
        };
        return Err(ConfigError::new(format!(
            "{key} contains {what}; write the directory on one line, without control characters"
        )));
    }
    if text.trim() != text {
        return Err(ConfigError::new(format!(
            "{key} ({:?}) starts or ends with a blank; remove it",
            text.as_ref()
        )));
    }
    if text.len() >= PATH_MAX {
        return Err(ConfigError::new(format!(
            "{key} is {} bytes long; a path has at most {} bytes (PATH_MAX {PATH_MAX} with its \
             terminating NUL): use a shorter directory",
            text.len(),
            PATH_MAX - 1
        )));
    }
    Ok(())
}

/// Checks the file up front so that the common failures get a message that
/// says what to do, then hands it to figment. `None` when there is nothing
/// to merge (a missing default file, an empty file).
fn read_file(
    path: &Path,
    named: &str,
    required: bool,
    warnings: &mut Vec<String>,
) -> Result<Option<Figment>, ConfigError> {
    let text = match read_bounded(path) {
        Ok(bytes) if bytes.len() as u64 > CONFIG_FILE_MAX => {
            return Err(ConfigError::new(format!(
                "{named}: is larger than {} KiB; a config file is a few lines of YAML: \
                 check the path",
                CONFIG_FILE_MAX / 1024
            )));
        }
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
    if let Some(dup) = duplicates::find(&text) {
        let lines = if dup.first_line == dup.second_line {
            format!("both on line {}", dup.first_line)
        } else {
            format!("lines {} and {}", dup.first_line, dup.second_line)
        };
        return Err(ConfigError::new(format!(
            "{} is set twice in {named} ({lines}); keep one",
            dup.key
        )));
    }
    warnings.extend(unknown::warnings(&text, path));
    Ok(Some(Figment::from(YamlFile {
        path: path.to_owned(),
        text,
    })))
}

/// The most of a config file that is read: real ones are a few hundred
/// bytes, and `--config /dev/zero` must not fill the memory.
const CONFIG_FILE_MAX: u64 = 1024 * 1024;

/// At most `CONFIG_FILE_MAX + 1` bytes of `path`: enough to tell that it is
/// too large. Reading once (figment is then given the text) also keeps
/// `--config <(generate-config)` working: a pipe cannot be read twice.
pub(crate) fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(CONFIG_FILE_MAX + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The file's text, already read and checked, as a figment provider whose
/// values name the file (so that errors give the file and the line).
struct YamlFile {
    path: PathBuf,
    text: String,
}

impl figment::Provider for YamlFile {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::from("YAML file", figment::Source::File(self.path.clone()))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        Yaml::string(&self.text).data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreConfig;

    struct Dir(tempfile::TempDir);

    impl Dir {
        fn with_file(text: &str) -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::write(dir.path().join(DEFAULT_FILE_NAME), text).expect("write");
            Self(dir)
        }

        fn empty() -> Self {
            Self(tempfile::tempdir().expect("temp dir"))
        }

        fn load(&self, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
            let vars = env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)));
            load_with_env(None, self.0.path(), &Overrides::default(), vars)
        }

        fn error(&self, env: &[(&str, &str)]) -> String {
            match self.load(env) {
                Ok(_) => panic!("accepted: {env:?}"),
                Err(e) => e.to_string(),
            }
        }
    }

    fn fs_root(settings: &Settings) -> PathBuf {
        match settings.store() {
            Ok(StoreConfig::Fs(fs)) => fs.root,
            other => panic!("not the fs store: {other:?}"),
        }
    }

    #[test]
    fn the_cache_directory_comes_from_cache_dir_else_xdg_else_home() {
        let cwd = Path::new("/work");
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let settings = Dir::empty()
            .load(&[("IMGLIFE_CACHE__DIR", ".imglife/cache")])
            .expect("loads");
        assert_eq!(
            settings.cache_dir(cwd, &env(&[("HOME", "/home/u")])),
            Some(PathBuf::from("/work/.imglife/cache"))
        );
        assert_eq!(
            settings.origin("cache.dir"),
            "cache.dir (from variable IMGLIFE_CACHE__DIR)"
        );
        let none = Settings::default();
        assert_eq!(
            none.cache_dir(cwd, &env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/x/imglife"))
        );
        // A relative XDG_CACHE_HOME is invalid (XDG): HOME's is used.
        assert_eq!(
            none.cache_dir(cwd, &env(&[("XDG_CACHE_HOME", "x"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.cache/imglife"))
        );
        assert_eq!(none.cache_dir(cwd, &env(&[("HOME", "")])), None);
        let error = Dir::with_file("cache:\n  dir: '  '\n").error(&[]);
        assert!(
            error.contains("cache.dir") && error.contains("only blanks"),
            "{error}"
        );
        let error = Dir::with_file("cache:\n  dri: x\n").error(&[]);
        assert!(error.contains("dri"), "{error}");
    }

    #[test]
    fn a_key_given_twice_names_the_key_the_file_and_both_lines() {
        let dir = Dir::with_file("registry:\n  path: a\n  provider: fs\n\n  path: b\n");
        let error = dir.error(&[]);
        assert!(
            error.starts_with("registry.path is set twice in config file "),
            "{error}"
        );
        assert!(
            error.contains("imglife.yaml (lines 2 and 5); keep one"),
            "{error}"
        );
    }

    #[test]
    fn environment_values_of_text_settings_stay_text() {
        let dir = Dir::empty();
        for value in ["007", "true", "1e3", "-1", "0x10"] {
            let settings = dir
                .load(&[("IMGLIFE_REGISTRY__PATH", value)])
                .unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(fs_root(&settings), PathBuf::from(value));
        }
        let settings = dir
            .load(&[
                ("IMGLIFE_REGISTRY__PROVIDER", "gitlab"),
                ("IMGLIFE_REGISTRY__URL", "https://gitlab.example.com"),
                ("IMGLIFE_REGISTRY__PROJECT_ID", "0042"),
                ("IMGLIFE_REGISTRY__OWNER", "true"),
            ])
            .expect("loads");
        match settings.store() {
            Ok(StoreConfig::Gitlab(g)) => assert_eq!(g.project.as_deref(), Some("0042")),
            other => panic!("{other:?}"),
        }
        let registry = settings.registry.expect("registry");
        assert_eq!(registry.owner.as_deref(), Some("true"));
    }

    #[test]
    fn numeric_settings_still_take_numbers_from_the_environment() {
        let settings = Dir::empty()
            .load(&[
                ("IMGLIFE_INSPECTION__TIMEOUT_SECS", "120"),
                ("IMGLIFE_INSPECTION__MAX_RETRIES", "0"),
                ("IMGLIFE_RETENTION__KEEP_LAST", "7"),
                ("IMGLIFE_REGISTRY__CONCURRENCY", "4"),
                ("IMGLIFE_REGISTRY__PROJECT_ID", "42"),
                ("IMGLIFE_REGISTRY__URL", "https://gitlab.example.com"),
                ("IMGLIFE_LOG_LEVEL", "debug"),
                ("IMGLIFE_REGISTRY__INSECURE_REGISTRIES", "[a.io, b.io:5000]"),
            ])
            .expect("loads");
        assert_eq!(settings.inspection.timeout_secs, 120);
        assert_eq!(settings.inspection.max_retries, 0);
        assert_eq!(settings.retention().0, 7);
        assert_eq!(settings.log_level, LogLevel::Debug);
        let registry = settings.registry.clone().expect("registry");
        assert_eq!(registry.concurrency, Some(4));
        assert_eq!(registry.insecure_registries, ["a.io", "b.io:5000"]);
        match settings.store() {
            Ok(StoreConfig::Gitlab(g)) => assert_eq!(g.project.as_deref(), Some("42")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_number_from_the_environment_names_the_variable() {
        let error = Dir::empty().error(&[("IMGLIFE_INSPECTION__TIMEOUT_SECS", "soon")]);
        assert!(
            error.contains("variable IMGLIFE_INSPECTION__TIMEOUT_SECS"),
            "{error}"
        );
        assert!(error.contains("soon"), "{error}");
        let error = Dir::empty().error(&[("IMGLIFE_INSPECTION__TIMEOUT_SECS", "-5")]);
        assert!(
            error.contains("variable IMGLIFE_INSPECTION__TIMEOUT_SECS"),
            "{error}"
        );
    }

    #[test]
    fn the_file_keeps_yaml_types_and_suggests_quotes() {
        for text in ["registry:\n  path: 7\n", "registry:\n  path: true\n"] {
            let error = Dir::with_file(text).error(&[]);
            assert!(error.contains("imglife.yaml line 2"), "{error}");
            assert!(error.contains("in quotes"), "{error}");
        }
        let settings = Dir::with_file("registry:\n  path: \"007\"\n")
            .load(&[])
            .expect("quoted");
        assert_eq!(fs_root(&settings), PathBuf::from("007"));
        // A quoted number where a number is wanted is that number.
        let settings = Dir::with_file("inspection:\n  timeout_secs: \"30\"\n")
            .load(&[])
            .expect("quoted number");
        assert_eq!(settings.inspection.timeout_secs, 30);
    }

    #[test]
    fn the_file_is_read_once_and_bounded() {
        let dir = Dir::empty();
        let big = dir.0.path().join("big.yaml");
        let mut text = "registry:\n  provider: fs\n".to_owned();
        text.push_str(&"# padding\n".repeat(110_000));
        std::fs::write(&big, text).expect("write");
        let file = ConfigFile {
            path: big,
            origin: FileOrigin::Flag,
        };
        let error = load_with_env(Some(&file), dir.0.path(), &Overrides::default(), [])
            .expect_err("refused")
            .to_string();
        assert!(error.starts_with("--config "), "{error}");
        assert!(error.contains("larger than 1024 KiB"), "{error}");

        // A syntax error still names the file and the line.
        let error = Dir::with_file("registry:\n  path: [\n").error(&[]);
        assert!(error.contains("imglife.yaml"), "{error}");
        assert!(error.contains("line 3"), "{error}");
    }

    #[test]
    fn registry_path_must_be_a_usable_directory_name() {
        for (value, culprit) in [
            ("", "is empty"),
            ("   ", "only blanks"),
            ("records\nmore", "a line break"),
            ("a\tb", "a tab"),
            ("a\u{1b}[31m", "U+001B"),
            (" records", "starts or ends with a blank"),
        ] {
            let error = Dir::empty().error(&[("IMGLIFE_REGISTRY__PATH", value)]);
            assert!(
                error.starts_with("registry.path (from variable IMGLIFE_REGISTRY__PATH) "),
                "{value:?}: {error}"
            );
            assert!(error.contains(culprit), "{value:?}: {error}");
        }
        let long = "d/".repeat(2048);
        let error = Dir::empty().error(&[("IMGLIFE_REGISTRY__PATH", &long)]);
        assert!(error.contains("4096 bytes long"), "{error}");
        assert!(error.contains("PATH_MAX"), "{error}");
        let ok = "d/".repeat(2047);
        assert!(
            Dir::empty()
                .load(&[("IMGLIFE_REGISTRY__PATH", &ok)])
                .is_ok()
        );
        let error = Dir::with_file("registry:\n  provider: fs\n  path: '   '\n").error(&[]);
        assert!(error.contains("imglife.yaml line 3"), "{error}");
        assert!(error.contains("only blanks"), "{error}");
        for fine in ["records", "/srv/imglife records", "données/é"] {
            let settings = Dir::empty()
                .load(&[("IMGLIFE_REGISTRY__PATH", fine)])
                .expect(fine);
            assert_eq!(fs_root(&settings), PathBuf::from(fine));
        }
    }
}
