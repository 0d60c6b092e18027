//! Test support for the registry metadata source: pushing hand-written
//! fixtures, a counting proxy, and a token server.

mod http;
mod proxy;
mod push;
mod token;

pub use proxy::CountingProxy;
pub use push::{ImageSpec, Pushed, Pusher, sha256};
pub use token::{PASSWORD, TokenIssuer, USER, ensure_token_server};

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
