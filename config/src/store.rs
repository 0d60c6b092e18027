//! Which record store the configuration selects.

use std::path::PathBuf;

use crate::error::ConfigError;
use crate::settings::{ProjectId, Provider, RegistrySettings, Settings};

/// Root of the filesystem store when `registry.path` is not set, relative
/// to the working directory.
pub const DEFAULT_FS_PATH: &str = ".imglife/records";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsStoreConfig {
    pub root: PathBuf,
    /// False when nothing was configured and the embedded default applies.
    pub configured: bool,
    /// The most records one listing may hold (`registry.max_records`).
    pub max_records: usize,
}

/// The GitLab store as configured; the token comes from the environment
/// and is looked up by the adapter's composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitlabStoreConfig {
    /// The key the URL came from, for messages: `registry.api_url` or
    /// `registry.url`.
    pub url_key: &'static str,
    pub url: Option<String>,
    /// Project number or full path, as text.
    pub project: Option<String>,
    pub http: HttpConfig,
}

/// Timeouts, retries and concurrency of an HTTP store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    pub max_retries: u32,
    pub retry_budget_secs: u64,
    pub concurrency: usize,
    /// The most records one listing may hold (`registry.max_records`).
    pub max_records: usize,
}

/// `registry.max_records` when not set: far above any real fleet, far
/// below what would keep imglife busy for long.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    Fs(FsStoreConfig),
    Gitlab(GitlabStoreConfig),
    /// A provider this build does not implement yet, with its name.
    Unsupported(&'static str),
}

impl Settings {
    /// The store: `registry.provider` when given; GitLab when only
    /// `registry.url` is; otherwise the filesystem store.
    pub fn store(&self) -> Result<StoreConfig, ConfigError> {
        let registry = self.registry.clone().unwrap_or_default();
        let provider = match (registry.provider, &registry.url) {
            (Some(p), _) => Some(p),
            (None, Some(_)) => Some(Provider::Gitlab),
            (None, None) => None,
        };
        match provider {
            None => fs(self, &registry, registry.path.is_some()),
            Some(Provider::Fs) => fs(self, &registry, true),
            Some(Provider::Gitlab) => gitlab(self, &registry),
            Some(Provider::Gitea) => Ok(StoreConfig::Unsupported("gitea")),
            Some(Provider::S3) => Ok(StoreConfig::Unsupported("s3")),
        }
    }
}

fn gitlab(settings: &Settings, registry: &RegistrySettings) -> Result<StoreConfig, ConfigError> {
    let (url_key, url) = match (&registry.api_url, &registry.url) {
        (Some(api), _) => ("registry.api_url", Some(api.clone())),
        (None, url) => ("registry.url", url.clone()),
    };
    let project = registry.project_id.as_ref().map(|p| match p {
        ProjectId::Number(n) => n.to_string(),
        ProjectId::Path(p) => p.clone(),
    });
    let http = HttpConfig {
        connect_timeout_secs: registry.connect_timeout_secs.unwrap_or(10),
        timeout_secs: registry.timeout_secs.unwrap_or(30),
        max_retries: registry.max_retries.unwrap_or(4),
        retry_budget_secs: registry.retry_budget_secs.unwrap_or(60),
        concurrency: registry.concurrency.unwrap_or(16),
        max_records: registry.max_records.unwrap_or(DEFAULT_MAX_RECORDS),
    };
    for (key, value) in [
        ("registry.connect_timeout_secs", http.connect_timeout_secs),
        ("registry.timeout_secs", http.timeout_secs),
        ("registry.concurrency", http.concurrency as u64),
        ("registry.max_records", http.max_records as u64),
    ] {
        if value == 0 {
            return Err(ConfigError::new(format!(
                "{} must be at least 1",
                settings.origin(key)
            )));
        }
    }
    Ok(StoreConfig::Gitlab(GitlabStoreConfig {
        url_key,
        url,
        project,
        http,
    }))
}

fn fs(
    settings: &Settings,
    registry: &RegistrySettings,
    configured: bool,
) -> Result<StoreConfig, ConfigError> {
    let root = registry
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FS_PATH));
    if root.as_os_str().is_empty() {
        return Err(ConfigError::new(format!(
            "{} is empty; set it to the directory that keeps the records",
            settings.origin("registry.path")
        )));
    }
    let max_records = registry.max_records.unwrap_or(DEFAULT_MAX_RECORDS);
    if max_records == 0 {
        return Err(ConfigError::new(format!(
            "{} must be at least 1",
            settings.origin("registry.max_records")
        )));
    }
    Ok(StoreConfig::Fs(FsStoreConfig {
        root,
        configured,
        max_records,
    }))
}
