//! Build records in Gitea's (and Forgejo's) Generic Package Registry.
//!
//! The record of key `name`/`version` is a file of the generic package
//! `name`, version `version`, of the configured owner (user or
//! organisation). The file is named after its content,
//! `record-<sha256>.json`, because Gitea never accepts a second file of the
//! same name and deletes files only by name: see `store.rs` and
//! `docs/storage.md` for why that keeps readers and `app purge` safe.
//!
//! The behaviour followed (routes, status codes, plain-text errors,
//! paging) is the one Gitea's source implements:
//! `routers/api/packages/generic/generic.go`, `routers/api/packages/api.go`,
//! `routers/api/v1/packages/package.go`, `services/packages`.

mod api;
mod errors;
mod pages;
mod settings;
mod store;
mod token;

pub use imglife_http::RetryPolicy;
pub use settings::{GiteaSettings, SettingsError};
pub use store::GiteaStore;
pub use token::Token;
