//! imglife's configuration: built-in defaults, then the YAML file
//! (`--config`, else `$IMGLIFE_CONFIG`, else `./imglife.yaml` when present),
//! then `IMGLIFE_*` variables (nested keys joined by `__`), then flags.
//! Every error names the file or variable it came from.

mod duplicates;
mod env;
mod error;
pub mod keys;
mod load;
mod settings;
mod store;
mod unknown;

pub use error::ConfigError;
pub use load::{ConfigFile, FileOrigin, Overrides, load};
pub use settings::{
    BuildSettings, CacheSettings, ColorChoice, InspectionSettings, LogFormat, LogLevel, ProjectId,
    Provider, RegistrySettings, RetentionSettings, Settings, SourceChoice, default_cache_dir,
};
pub use store::{
    DEFAULT_FS_PATH, DEFAULT_MAX_RECORDS, FsStoreConfig, GiteaStoreConfig, GitlabStoreConfig,
    HttpConfig, S3StoreConfig, StoreConfig,
};
