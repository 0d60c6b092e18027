//! The HTTP client for one registry (from the HTTP foundation), plain HTTP
//! where Docker would use it, and the foundation's retry policy applied to
//! registry faults.

use std::future::Future;
use std::net::IpAddr;

use crate::RegistryOptions;
use crate::client::Fault;
use imglife_domain::metadata::MetadataError;
use imglife_http::{Attempt, ClientOptions, RetryPolicy, Transport};

/// Plain HTTP is used only where Docker would use it: hosts listed as
/// insecure, and loopback hosts.
pub fn plain_http(host: &str, insecure: &[String]) -> bool {
    let name = host_name(host);
    let listed = insecure.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        entry == host || (!entry.contains(':') && entry == name)
    });
    listed || is_loopback(name)
}

/// The host without its port (`[::1]:5000` gives `::1`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn is_loopback(name: &str) -> bool {
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The HTTP client for `host` and the base URL to reach it at. The
/// whole inspection is bounded by its own timeout, so requests get none of
/// their own.
pub fn client(
    host: &str,
    options: &RegistryOptions,
) -> Result<(reqwest::Client, String), MetadataError> {
    let http = imglife_http::client(&ClientOptions::new(
        Transport::Network,
        options.connect_timeout,
    ))
    .map_err(|e| {
        MetadataError::Unreachable(format!("cannot set up HTTPS for registry {host}: {e}"))
    })?;
    let scheme = if plain_http(host, &options.insecure_registries) {
        "http"
    } else {
        "https"
    };
    Ok((http, format!("{scheme}://{host}")))
}

/// How the retry policy sees a registry fault: transport failures and
/// statuses as the foundation classifies them, plus distribution's
/// `TOOMANYREQUESTS` error code whatever the status.
fn classify(fault: Fault) -> Attempt<Fault> {
    match &fault {
        Fault::Transport(e) => {
            if imglife_http::Cause::is_transient(e) {
                Attempt::transient(fault)
            } else {
                Attempt::Final(fault)
            }
        }
        Fault::Status {
            code, retry_after, ..
        } => {
            let throttled = *code == 429 || fault.has_code(&["TOOMANYREQUESTS"]);
            if throttled || imglife_http::retry::is_transient_status(*code) {
                Attempt::Transient {
                    retry_after: *retry_after,
                    rate_limited: throttled,
                    error: fault,
                }
            } else {
                Attempt::Final(fault)
            }
        }
        _ => Attempt::Final(fault),
    }
}

/// Runs `call` under the foundation's retry policy: at most `max_retries`
/// retries, none starting past the inspection's timeout.
pub async fn retrying<T, F, Fut>(
    options: &RegistryOptions,
    what: &str,
    mut call: F,
) -> Result<T, Fault>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Fault>>,
{
    let policy = RetryPolicy {
        max_retries: u32::try_from(options.max_retries).unwrap_or(u32::MAX),
        budget: options.timeout,
        ..RetryPolicy::default()
    };
    imglife_http::retry(&policy, what, || {
        let attempt = call();
        async move { attempt.await.map_err(classify) }
    })
    .await
    .map_err(|gave_up| gave_up.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_hosts_use_plain_http() {
        let insecure = vec!["reg.local:5000".to_owned(), "other.local".to_owned()];
        assert!(plain_http("127.0.0.1:5000", &[]));
        assert!(plain_http("127.1.2.3", &[]));
        assert!(plain_http("localhost:5000", &[]));
        assert!(plain_http("[::1]:5000", &[]));
        assert!(plain_http("reg.local:5000", &insecure));
        assert!(plain_http("other.local:443", &insecure));
        assert!(!plain_http("reg.local:5001", &insecure));
        assert!(!plain_http("ghcr.io", &insecure));
        assert!(!plain_http("10.0.0.1:5000", &[]));
    }
}
