//! What an HTTP store uses when it is built without a configuration
//! (tests, library use). The CLI always passes the configured values;
//! config/src/store.rs defaults to the same figures and says why.

use std::time::Duration;

/// Connecting, TLS included.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One whole request, body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests in flight at once (`registry.concurrency`).
pub const CONCURRENCY: usize = 64;
