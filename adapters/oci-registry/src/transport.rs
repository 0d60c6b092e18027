//! Building the oci-client `Client` for one registry, and retrying the
//! faults that go away by themselves.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use imglife_domain::metadata::MetadataError;
use oci_client::Client;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};

use crate::RegistryOptions;

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

/// A client for `host`. `ssl_cert_file` adds the certificates of that PEM
/// file to the system's roots.
pub fn client(
    host: &str,
    options: &RegistryOptions,
    ssl_cert_file: Option<&str>,
) -> Result<Client, MetadataError> {
    // Several adapters may build clients in one process: installing the
    // provider twice is harmless, so the result is ignored.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut extra_roots = Vec::new();
    if let Some(path) = ssl_cert_file {
        let pem = std::fs::read(path).map_err(|e| {
            MetadataError::Unreachable(format!(
                "SSL_CERT_FILE={path} cannot be read ({e}); point it at a PEM bundle or unset it"
            ))
        })?;
        extra_roots = split_pem(&pem)
            .into_iter()
            .map(|data| Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            })
            .collect();
    }
    let protocol = if plain_http(host, &options.insecure_registries) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    let config = ClientConfig {
        protocol,
        extra_root_certificates: extra_roots,
        connect_timeout: Some(options.connect_timeout),
        // Indexes are resolved by the adapter itself (linux/amd64 first),
        // never by the host platform.
        platform_resolver: None,
        user_agent: concat!("imglife/", env!("CARGO_PKG_VERSION")),
        ..ClientConfig::default()
    };
    // `Client::new` would fall back to a default config on error, silently
    // dropping the certificates: `try_from` reports it.
    Client::try_from(config).map_err(|e| {
        MetadataError::Unreachable(format!(
            "cannot set up HTTPS for registry {host}: {e}; check SSL_CERT_FILE"
        ))
    })
}

/// Each certificate of a PEM bundle on its own: reqwest reads only the
/// first certificate of a PEM blob.
fn split_pem(pem: &[u8]) -> Vec<Vec<u8>> {
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(pem);
    text.split_inclusive(END)
        .filter(|chunk| chunk.contains("-----BEGIN CERTIFICATE-----"))
        .map(|chunk| chunk.trim_start().as_bytes().to_vec())
        .collect()
}

/// Connection resets, 429 and 502/503/504 are worth another try.
pub fn is_transient(error: &OciDistributionError) -> bool {
    match error {
        // A refused connection will not be accepted a second later, and a
        // connect timeout already waited long enough; a reset or a reply
        // cut short may well go through next time.
        OciDistributionError::RequestError(e) => {
            is_reset(e) || !(e.is_connect() || e.is_timeout() || e.is_builder())
        }
        OciDistributionError::ServerError { code, .. } => matches!(code, 429 | 502 | 503 | 504),
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, OciErrorCode::Toomanyrequests)),
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

/// Runs `call` and retries transient faults with exponential backoff and
/// jitter, at most `max_retries` times.
pub async fn retrying<T, F, Fut>(
    max_retries: usize,
    what: &str,
    call: F,
) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OciDistributionError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(max_retries)
        .with_jitter();
    call.retry(backoff)
        .when(is_transient)
        .notify(|e, after| tracing::info!(error = %e, ?after, what, "transient registry fault; retrying"))
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

    #[test]
    fn pem_bundles_are_split() {
        let pem = b"-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----\n";
        assert_eq!(split_pem(pem).len(), 2);
    }
}
