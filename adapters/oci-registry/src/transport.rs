//! The HTTP client for one registry (from the HTTP foundation), plain HTTP
//! where Docker would use it, and the foundation's retry policy applied to
//! registry faults.

use std::future::Future;
use std::net::IpAddr;

use crate::RegistryOptions;
use crate::client::Fault;
use imglife_domain::metadata::MetadataError;
use imglife_http::{Attempt, ClientOptions, RetryPolicy, Transport};

/// Docker Hub's registry API host. References name Docker Hub `docker.io`,
/// which serves no registry API: the docker CLI and containerd send
/// `docker.io` requests to `registry-1.docker.io`, whose 401 challenge
/// names the token service (`auth.docker.io`).
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// Where the registry API of `host` (a normalised reference's host) is.
pub fn api_host(host: &str) -> &str {
    if host == imglife_domain::reference::DEFAULT_DOMAIN {
        DOCKER_HUB_API
    } else {
        host
    }
}

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
///
/// `gitlab_ci_registry`: the host is GitLab CI's own registry
/// (`$CI_REGISTRY`), whose certificate may come from the instance's CA the
/// runner names in `CI_SERVER_TLS_CA_FILE`.
pub fn client(
    host: &str,
    options: &RegistryOptions,
    gitlab_ci_registry: bool,
) -> Result<(reqwest::Client, String), MetadataError> {
    let mut client_options = ClientOptions::new(Transport::Network, options.connect_timeout);
    if gitlab_ci_registry {
        client_options = client_options.trust_gitlab_ci_server();
    }
    let http = imglife_http::client(&client_options).map_err(|e| {
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
    fn docker_io_is_served_by_registry_1() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("registry-1.docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
        assert_eq!(api_host("docker.io:443"), "docker.io:443");
    }

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
