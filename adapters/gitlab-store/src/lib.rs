//! Build records in GitLab's Generic Package Registry.
//!
//! The record of key `name`/`version` is the file `record.json` of the
//! generic package `name`, version `version` (see `docs/storage.md`).
//! GitLab's behaviour followed here (status codes, duplicates, pagination)
//! is the one its source implements, as collected in the project's
//! reference notes.

mod api;
mod errors;
mod pages;
mod settings;
mod store;
mod token;

pub use imglife_http::{RetryPolicy, StoreOptions};
pub use settings::{GitlabSettings, SettingsError};
pub use store::GitlabStore;
pub use token::{Token, TokenSource};
