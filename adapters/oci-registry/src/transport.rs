//! Building the HTTP client for one registry, and retrying the
//! faults that go away by themselves.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use crate::RegistryOptions;
use crate::client::Fault;
use backon::{ExponentialBuilder, Retryable};
use imglife_domain::metadata::MetadataError;

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

/// The HTTP client for `host`. Trust: the caller's bundle when given
/// (`RegistryOptions::trust_roots`, which holds `SSL_CERT_FILE` already),
/// else the system's store plus `ssl_cert_file`.
pub fn client(
    host: &str,
    options: &RegistryOptions,
    ssl_cert_file: Option<&str>,
) -> Result<(reqwest::Client, String), MetadataError> {
    // Several adapters may build clients in one process: installing the
    // provider twice is harmless, so the result is ignored.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs = |pem: &[u8]| {
        reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            MetadataError::Unreachable(format!(
                "the trusted certificates do not parse ({e}); check SSL_CERT_FILE"
            ))
        })
    };
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .user_agent(concat!("imglife/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &options.trust_roots {
        builder = builder.tls_certs_only(certs(pem)?);
    } else if let Some(path) = ssl_cert_file {
        let pem = std::fs::read(path).map_err(|e| {
            MetadataError::Unreachable(format!(
                "SSL_CERT_FILE={path} cannot be read ({e}); point it at a PEM bundle or unset it"
            ))
        })?;
        builder = builder.tls_certs_merge(certs(&pem)?);
    }
    let client = builder.build().map_err(|e| {
        MetadataError::Unreachable(format!(
            "cannot set up HTTPS for registry {host}: {e}; check SSL_CERT_FILE"
        ))
    })?;
    let scheme = if plain_http(host, &options.insecure_registries) {
        "http"
    } else {
        "https"
    };
    Ok((client, format!("{scheme}://{host}")))
}

/// Connection resets, 429 and 502/503/504 are worth another try.
pub fn is_transient(fault: &Fault) -> bool {
    match fault {
        // A refused connection will not be accepted a second later, and a
        // connect timeout already waited long enough; a reset or a reply
        // cut short may well go through next time.
        Fault::Transport(e) => is_reset(e) || !(e.is_connect() || e.is_timeout() || e.is_builder()),
        Fault::Status { code, .. } => {
            matches!(code, 429 | 502 | 503 | 504) || fault.has_code(&["TOOMANYREQUESTS"])
        }
        _ => false,
    }
}

fn is_reset(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
            );
        }
        source = e.source();
    }
    false
}

/// The longest `Retry-After` honoured; the whole inspection is bounded by
/// its own timeout anyway.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Runs `call` and retries transient faults with exponential backoff and
/// jitter, at most `max_retries` times; a `Retry-After` replaces the
/// backoff step.
pub async fn retrying<T, F, Fut>(max_retries: usize, what: &str, call: F) -> Result<T, Fault>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Fault>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(max_retries)
        .with_jitter();
    call.retry(backoff)
        .when(is_transient)
        .adjust(|fault, step| match (step, fault.retry_after()) {
            (Some(_), Some(after)) => Some(after.min(MAX_RETRY_AFTER)),
            (step, _) => step,
        })
        .notify(|e, after| {
            tracing::info!(error = %e, ?after, what, "transient registry fault; retrying");
        })
        .await
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
