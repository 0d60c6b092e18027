//! Which record store the configuration selects.

use std::path::PathBuf;

use crate::error::ConfigError;
use crate::settings::{Provider, RegistrySettings, Settings};

/// Root of the filesystem store when `registry.path` is not set, relative
/// to the working directory.
pub const DEFAULT_FS_PATH: &str = ".imglife/records";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsStoreConfig {
    pub root: PathBuf,
    /// False when nothing was configured and the embedded default applies.
    pub configured: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    Fs(FsStoreConfig),
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
            None => fs(&registry, registry.path.is_some()),
            Some(Provider::Fs) => fs(&registry, true),
            Some(Provider::Gitlab) => Ok(StoreConfig::Unsupported("gitlab")),
            Some(Provider::Gitea) => Ok(StoreConfig::Unsupported("gitea")),
            Some(Provider::S3) => Ok(StoreConfig::Unsupported("s3")),
        }
    }
}

fn fs(registry: &RegistrySettings, configured: bool) -> Result<StoreConfig, ConfigError> {
    let root = registry
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FS_PATH));
    if root.as_os_str().is_empty() {
        return Err(ConfigError::new(
            "registry.path is empty; set it to the directory that keeps the records",
        ));
    }
    Ok(StoreConfig::Fs(FsStoreConfig { root, configured }))
}
