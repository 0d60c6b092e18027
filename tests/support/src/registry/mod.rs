//! Test support for the registry metadata source: pushing hand-written
//! fixtures, a counting proxy, and a token server.

mod http;
mod proxy;
mod push;
mod token;

pub use proxy::CountingProxy;
pub use push::{ImageSpec, Pushed, Pusher, sha256};
pub use token::{
    PASSWORD, REFRESH_TOKEN, TokenIssuer, TokenRequest, USER, ensure_docker_hub_token_server,
    ensure_token_server, token_requests,
};

/// The test registries started by `scripts/services.sh up`.
#[derive(Debug, Clone)]
pub struct Registries {
    /// No authentication.
    pub open: String,
    /// htpasswd basic auth (`testuser:testpass`, `gitlab-ci-token:jobtoken`).
    pub basic: String,
    /// Bearer tokens from the token server in this process.
    pub token: String,
}

impl Registries {
    /// From `$IMGLIFE_TEST_REGISTRY*`. `None` outside a services run; under
    /// `CI=true` a missing registry is a failure, never a skip.
    pub fn from_env() -> Option<Self> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (
            get("IMGLIFE_TEST_REGISTRY"),
            get("IMGLIFE_TEST_REGISTRY_BASIC"),
            get("IMGLIFE_TEST_REGISTRY_TOKEN"),
        ) {
            (Some(open), Some(basic), Some(token)) => Some(Self { open, basic, token }),
            _ => {
                assert!(
                    !crate::in_ci(),
                    "CI=true but IMGLIFE_TEST_REGISTRY* are not set: run the tests through \
                     scripts/test, which starts the registries"
                );
                eprintln!("notice: no test registry (run scripts/test); registry test skipped");
                None
            }
        }
    }
}

/// Docker Hub's names served on this machine by `scripts/services.sh`
/// for the run: `registry-1.docker.io` (docker-registry with token auth,
/// HTTPS on port 443, sharing the test registries' storage) and
/// `auth.docker.io` (`ensure_docker_hub_token_server`, in the test process),
/// both with certificates of the test CA and `/etc/hosts` lines.
#[derive(Debug, Clone)]
pub struct DockerHub {
    /// The test CA: what `SSL_CERT_FILE` must name.
    pub ca: String,
}

impl DockerHub {
    /// From `$IMGLIFE_TEST_DOCKER_HUB_*`, with the token service started.
    /// `None` outside a services run; under `CI=true` (or `scripts/test`)
    /// a missing Docker Hub is a failure, never a skip.
    pub fn from_env() -> Option<Self> {
        let ca = std::env::var("IMGLIFE_TEST_DOCKER_HUB_CA")
            .ok()
            .filter(|v| !v.is_empty());
        match ca {
            Some(ca) if ensure_docker_hub_token_server() => Some(Self { ca }),
            _ => {
                assert!(
                    !crate::in_ci(),
                    "IMGLIFE_TEST_DOCKER_HUB_* are not set: scripts/services.sh did not serve \
                     registry-1.docker.io and auth.docker.io (see its output: /etc/hosts not \
                     writable, port 443 taken, or another test run holding the names)"
                );
                eprintln!("notice: no Docker Hub stand-in (run scripts/test); test skipped");
                None
            }
        }
    }
}
