//! Support for the end-to-end tests of the `imglife` binary: a sandbox per
//! test (its own working directory and a cleared environment), and helpers
//! that read what a run left behind.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

pub mod docker;
pub mod fixtures;
pub mod gitlab;
pub mod registry;
mod sandbox;

pub use sandbox::{Run, Sandbox};

/// True when running in CI: a test that needs a service must then fail,
/// not skip, when the service is missing.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}
