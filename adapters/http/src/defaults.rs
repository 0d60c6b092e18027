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

/// What every HTTP store takes the same way (`registry.timeout_secs`,
/// `connect_timeout_secs`, the retry keys, `concurrency`): one struct the
/// stores' settings hold and the composition root fills once.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub retry: crate::RetryPolicy,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Requests in flight at once; at least 1.
    pub concurrency: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            retry: crate::RetryPolicy::default(),
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            concurrency: CONCURRENCY,
        }
    }
}
