//! The HTTP foundation every networked adapter stands on.
//!
//! It is the only code in imglife that builds `reqwest` clients, and so the
//! one place that decides:
//! - which certificates HTTPS trusts (`trust`: read once per process),
//! - connect and request timeouts and the `User-Agent` (`client`),
//! - what is worth retrying, and for how long (`retry`),
//! - how much of a body is read at most (`body`),
//! - how an HTTP failure is put into words without leaking a credential
//!   (`cause`, `message`),
//! - how a `WWW-Authenticate` challenge is read (`challenge`).
//!
//! Adapters keep only their protocol: which requests, which answers mean
//! what.

pub mod body;
pub mod cause;
pub mod challenge;
pub mod client;
pub mod defaults;
pub mod message;
pub mod retry;
pub mod trust;

pub use body::{BodyError, read_limited};
pub use cause::{Cause, CauseKind};
pub use challenge::Challenge;
pub use client::{ClientOptions, HttpError, Redirects, Transport, client};
pub use defaults::StoreOptions;
pub use retry::{Attempt, GaveUp, RetryPolicy, Stop, retry};

/// `imglife/<version>`, sent with every request.
pub const USER_AGENT: &str = concat!("imglife/", env!("CARGO_PKG_VERSION"));

/// A response header as text; `None` when absent or not visible ASCII.
pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
