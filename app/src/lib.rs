//! The use cases of imglife, written against the domain ports only.
//!
//! The `imglife` binary (`src/cli/`) parses flags, loads the configuration,
//! picks the adapters and prints; everything it decides about records is
//! here, so that it can be tested with in-memory stores and fake sources,
//! without services, processes or a terminal. Nothing in this crate may
//! depend on clap, the configuration, the terminal or an adapter.

pub mod filter;
pub mod purge;
pub mod records;
pub mod register;
pub mod sources;
pub mod status;
pub mod stores;

#[cfg(test)]
mod testing;
