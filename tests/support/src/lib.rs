//! Support for the end-to-end tests of the `imglife` binary: a sandbox per
//! test (its own working directory and a cleared environment), and helpers
//! that read what a run left behind.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

pub mod contract;
pub mod docker;
pub mod fixtures;
pub mod gitea;
pub mod gitlab;
pub mod hostile;
pub mod latency;
pub mod memory_store;
pub mod registry;
pub mod s3;
mod sandbox;

pub use memory_store::MemoryStore;
pub use sandbox::{Measured, Run, Sandbox};

/// True when a test that needs a service must fail, not skip, when the
/// service is missing: in CI (`CI=true`, as the binary reads it), and
/// whenever the tests run under `scripts/test`, which starts every service
/// (`IMGLIFE_TEST_SERVICES_DIR` set).
pub fn in_ci() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    ci || std::env::var_os("IMGLIFE_TEST_SERVICES_DIR").is_some()
}
