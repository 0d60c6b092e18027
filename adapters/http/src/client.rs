//! Building HTTP clients: the only `reqwest::Client::builder()` in imglife.

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use crate::trust::{self, Roots};

/// How a client reaches its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// TCP, with HTTPS trusting the process's roots (`trust::roots`).
    Network,
    /// TCP, plain HTTP only: no certificates are loaded (a Docker daemon on
    /// `tcp://` without TLS).
    PlainOnly,
    /// A unix socket (a Docker daemon's); plain HTTP over it.
    UnixSocket(PathBuf),
    /// TCP with mutual TLS to one server (a Docker daemon with
    /// `--tlsverify`): trust only `ca` (PEM) and present `identity` (PEM
    /// certificate and private key), as the docker CLI does with
    /// `DOCKER_CERT_PATH`.
    MutualTls { ca: Vec<u8>, identity: Vec<u8> },
}

/// Whether redirects are followed by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// Up to 10 hops; reqwest drops `Authorization` when a hop leaves the
    /// origin.
    Follow,
    /// Never: the caller follows them itself, deciding which headers go on
    /// (a `PRIVATE-TOKEN` is not a header reqwest knows to drop).
    Manual,
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub transport: Transport,
    pub connect_timeout: Duration,
    /// Bound on one request, from sending to the end of the body; `None`
    /// when the caller bounds the whole operation itself.
    pub request_timeout: Option<Duration>,
    pub redirects: Redirects,
    /// Also trust the CA GitLab CI hands the job for its own server
    /// (`CI_SERVER_TLS_CA_FILE`): for clients of the GitLab instance and of
    /// its container registry only.
    pub gitlab_ci_server: bool,
}

impl ClientOptions {
    pub fn new(transport: Transport, connect_timeout: Duration) -> Self {
        Self {
            transport,
            connect_timeout,
            request_timeout: None,
            redirects: Redirects::Follow,
            gitlab_ci_server: false,
        }
    }

    /// See `gitlab_ci_server`.
    #[must_use]
    pub fn trust_gitlab_ci_server(mut self) -> Self {
        self.gitlab_ci_server = true;
        self
    }

    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    #[must_use]
    pub fn redirects(mut self, redirects: Redirects) -> Self {
        self.redirects = redirects;
        self
    }
}

/// A client could not be built; the message is complete (cause and fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError(pub String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

/// How long an idle connection is kept (reqwest's default): longer than
/// any pause between two requests of one command (a retry waits at most
/// `RetryPolicy::max_retry_after`, 60 s by default). A connection the
/// server closed meanwhile is seen as closed and not reused.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// reqwest is built without a default crypto provider and refuses to build
/// any client, even a plain-HTTP one, until one is installed: ring, once.
fn install_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Only fails when a provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds a client as `options` say, with `User-Agent: imglife/<version>`.
///
/// Connections are for reuse: a read of many records sends them over as
/// many connections as it has requests in flight, never one per record.
/// Over HTTPS, ALPN offers `h2` before `http/1.1`: a server that speaks
/// HTTP/2 carries every request in flight on one connection (one TCP and
/// TLS handshake, whatever the concurrency); over plain `http://` it is
/// HTTP/1.1 (no prior-knowledge h2c).
pub fn client(options: &ClientOptions) -> Result<reqwest::Client, HttpError> {
    install_provider();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .user_agent(crate::USER_AGENT)
        // reqwest's defaults, stated because reads depend on them: every
        // idle connection is kept for the next request (a cap below the
        // store's concurrency would close and reopen connections, paying
        // TCP and TLS handshakes again at every turn), and small requests
        // leave at once instead of waiting on Nagle's algorithm.
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .tcp_nodelay(true)
        .redirect(match options.redirects {
            Redirects::Follow => reqwest::redirect::Policy::limited(10),
            Redirects::Manual => reqwest::redirect::Policy::none(),
        });
    if let Some(timeout) = options.request_timeout {
        builder = builder.timeout(timeout);
    }
    if options.gitlab_ci_server && options.transport == Transport::Network {
        builder = builder.tls_certs_merge(
            trust::gitlab_ci_server()
                .map_err(HttpError)?
                .iter()
                .cloned(),
        );
    }
    builder = match &options.transport {
        Transport::Network => match trust::roots().map_err(HttpError)? {
            Roots::Only(certs) => builder.tls_certs_only(certs.iter().cloned()),
            Roots::SystemPlus(certs) => builder.tls_certs_merge(certs.iter().cloned()),
        },
        // No roots to load: an empty "only" list skips the system scan.
        Transport::PlainOnly => builder.tls_certs_only(Vec::new()),
        Transport::UnixSocket(path) => builder.tls_certs_only(Vec::new()).unix_socket(path.clone()),
        Transport::MutualTls { ca, identity } => {
            let ca = reqwest::Certificate::from_pem_bundle(ca)
                .map_err(|e| HttpError(format!("the CA certificate does not parse: {e}")))?;
            let identity = reqwest::Identity::from_pem(identity).map_err(|e| {
                HttpError(format!(
                    "the client certificate and key do not parse: {}",
                    crate::Cause::of(&e)
                ))
            })?;
            builder.tls_certs_only(ca).identity(identity)
        }
    };
    builder.build().map_err(|e| {
        HttpError(format!(
            "cannot set up the HTTP client: {}",
            crate::Cause::of(&e)
        ))
    })
}
