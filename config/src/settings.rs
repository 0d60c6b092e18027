//! The shape of the configuration, as read from every layer.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Top level. Sections of the original tool that imglife does not use
/// (`sync`, `lifecycle`, ...) are accepted and ignored, so that an
/// existing `imglife.yaml` works unchanged; of `build:`, only `tag_format`
/// is read.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Settings {
    #[serde(default)]
    pub log_level: LogLevel,
    #[serde(default)]
    pub log_format: LogFormat,
    #[serde(default)]
    pub color: ColorChoice,
    /// `registry:` of the original: where build records are kept. Absent
    /// or empty (`registry:` with nothing under it) means "not configured".
    #[serde(default)]
    pub registry: Option<RegistrySettings>,
    /// Where `register` reads image metadata when `--base` or
    /// `--platform` is missing.
    #[serde(default)]
    pub source: SourceChoice,
    /// `retention:` of the original; `app purge` takes its defaults here.
    #[serde(default)]
    pub retention: Option<RetentionSettings>,
    /// `inspection:`: how image metadata is read from OCI registries.
    #[serde(default)]
    pub inspection: InspectionSettings,
    /// `build:` of the original (its base-image builds); `status` reads
    /// how tags are made from it.
    #[serde(default)]
    pub build: Option<BuildSettings>,
    /// `cache:`: the read cache of `status`, `app list` and `app purge`.
    #[serde(default)]
    pub cache: Option<CacheSettings>,
    /// Where some values came from (`Settings::origin`); filled by `load`.
    #[serde(skip)]
    pub origins: std::collections::BTreeMap<String, String>,
    /// What the file holds that nothing reads (an unknown top-level key),
    /// one message each, for the CLI to print as `warning:` lines.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The original documents `keep_last`, `max_age_days`, `exclude_tags` and
/// `archive.*` here for its tag cleanup; imglife reads the first two and
/// accepts the rest unchanged.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RetentionSettings {
    pub keep_last: Option<u32>,
    pub max_age_days: Option<u32>,
}

/// The original documents `core_version`, `registry`, `builder`,
/// `platforms`, `sbom`, `tag_format`, `hooks` and the images to build here;
/// imglife reads `tag_format` and accepts the rest unchanged.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct BuildSettings {
    /// How a base image's tag is made from the upstream version and the
    /// organisation's (`{{.Version}}-core{{.CoreVersion}}` by default).
    pub tag_format: Option<String>,
}

/// The read cache. Unknown keys are errors, like in `registry:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Where downloaded records are kept between runs, relative to the
    /// working directory; default [`default_cache_dir`].
    pub dir: Option<PathBuf>,
}

/// `$XDG_CACHE_HOME/imglife` (an absolute `XDG_CACHE_HOME` only, as the
/// XDG specification says), else `$HOME/.cache/imglife`; `None` when
/// neither is set: then nothing is cached.
pub fn default_cache_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(xdg) = set("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("imglife"));
    }
    set("HOME").map(|home| home.join(".cache").join("imglife"))
}

impl Settings {
    /// The read cache's directory: `cache.dir` resolved against `cwd`,
    /// else the default (`default_cache_dir`); `None` when there is none.
    pub fn cache_dir(
        &self,
        cwd: &std::path::Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<PathBuf> {
        match self.cache.as_ref().and_then(|c| c.dir.as_ref()) {
            Some(dir) => Some(cwd.join(dir)),
            None => default_cache_dir(env),
        }
    }

    /// `key`, and where its value came from when that was a file or a
    /// variable: `registry.url (variable IMGLIFE_REGISTRY__URL)`.
    pub fn origin(&self, key: &str) -> String {
        match self.origins.get(key) {
            Some(origin) => format!("{key} (from {origin})"),
            None => key.to_owned(),
        }
    }

    /// `(keep_last, max_age_days)`, defaults 5 and 30 as the original's.
    pub fn retention(&self) -> (u32, u32) {
        let r = self.retention.clone().unwrap_or_default();
        (r.keep_last.unwrap_or(5), r.max_age_days.unwrap_or(30))
    }
}

/// Timeouts and retries of the registry inspection (`--base` or
/// `--platform` missing). Unknown keys are errors, like in `registry:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct InspectionSettings {
    /// Bound on opening one connection.
    pub connect_timeout_secs: u64,
    /// Bound on the whole inspection, retries included.
    pub timeout_secs: u64,
    /// Retries of a transient fault (connection reset, 429, 502/503/504).
    pub max_retries: u32,
}

impl Default for InspectionSettings {
    fn default() -> Self {
        Self {
            connect_timeout_secs: 10,
            timeout_secs: 60,
            max_retries: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Off,
    Error,
    #[default]
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// `auto`: the registry, else the local Docker daemon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceChoice {
    #[default]
    Auto,
    Registry,
    Docker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Fs,
    Gitlab,
    Gitea,
    S3,
}

/// A GitLab project: its number, or its full path (`group/project`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ProjectId {
    Number(u64),
    Path(String),
}

/// The `registry:` section, with the original's keys plus `path` for the
/// filesystem store. Unknown keys are errors: a typo here would silently
/// send records somewhere else.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySettings {
    pub provider: Option<Provider>,
    pub url: Option<String>,
    pub api_url: Option<String>,
    pub project_id: Option<ProjectId>,
    pub owner: Option<String>,
    pub repo: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub prefix: Option<String>,
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    pub config_ref: Option<String>,
    /// Root directory of the filesystem store.
    pub path: Option<PathBuf>,
    /// HTTP stores: seconds to wait for a connection.
    pub connect_timeout_secs: Option<u64>,
    /// HTTP stores: seconds one request may take, body included.
    pub timeout_secs: Option<u64>,
    /// HTTP stores: retries of a transient fault after the first attempt.
    pub max_retries: Option<u32>,
    /// HTTP stores: no retry starts after this many seconds.
    pub retry_budget_secs: Option<u64>,
    /// HTTP stores: parallel requests when reading many records.
    pub concurrency: Option<usize>,
    /// Every store: the most records one listing may hold; a store that
    /// offers more is an error, never a silently shortened answer.
    pub max_records: Option<usize>,
}
