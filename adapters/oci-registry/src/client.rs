//! A registry client for exactly what the inspection needs: manifests,
//! blobs and the tag list of one repository, with the registry's
//! authentication flows (none, Basic, and Bearer tokens from the token
//! service a 401 challenge names).
//!
//! It replaces oci-client for three measured reasons: oci-client's
//! `Client::try_from` builds a throwaway default HTTP client, which scans
//! the whole system certificate directory (over half of `register`'s time);
//! it pings `GET /v2/` before every request on registries that need no
//! token; and it hides response headers, so `Retry-After` could not be
//! honoured. Here the first request goes straight to the manifest, a 401
//! challenge is answered once, and the token is reused.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::realm;

/// How to authenticate, as resolved from the environment.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    Basic(String, String),
    /// Sent as is as a bearer token (`IMGLIFE_<HOST>_TOKEN`).
    Bearer(String),
}

/// One error of a registry's error envelope (`{"errors": [...]}`).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// Why a request failed.
#[derive(Debug)]
pub enum Fault {
    /// No answer: refused, reset, timed out.
    Transport(reqwest::Error),
    /// An answer other than success, with the registry's error codes.
    Status {
        code: u16,
        errors: Vec<ApiError>,
        retry_after: Option<Duration>,
    },
    /// The token service refused the credentials or answered nonsense.
    Token(String),
    /// Credentials were not sent (see `realm`).
    Realm(String),
    /// The content does not match its digest.
    Digest(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "{e}"),
            Self::Status { code, errors, .. } => {
                write!(f, "HTTP {code}")?;
                for e in errors {
                    write!(f, "; {}: {}", e.code, e.message)?;
                }
                Ok(())
            }
            Self::Token(m) | Self::Realm(m) | Self::Digest(m) => f.write_str(m),
        }
    }
}

impl Fault {
    pub fn has_code(&self, wanted: &[&str]) -> bool {
        matches!(self, Self::Status { errors, .. }
            if errors.iter().any(|e| wanted.contains(&e.code.as_str())))
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A successful answer.
pub struct Reply {
    pub bytes: Vec<u8>,
    /// `Docker-Content-Digest`, when sent.
    pub digest: Option<String>,
}

/// How requests are authenticated once a challenge was answered.
#[derive(Clone)]
enum Session {
    /// No challenge seen yet: requests go without credentials (or with the
    /// configured bearer token).
    Unknown,
    Basic,
    Token(String),
}

pub struct RegistryClient {
    http: reqwest::Client,
    /// `https://host` or `http://host`
    base: String,
    repository: String,
    auth: Auth,
    insecure: Vec<String>,
    session: Mutex<Session>,
}

impl RegistryClient {
    pub fn new(
        http: reqwest::Client,
        base: String,
        repository: String,
        auth: Auth,
        insecure: Vec<String>,
    ) -> Self {
        Self {
            http,
            base,
            repository,
            auth,
            insecure,
            session: Mutex::new(Session::Unknown),
        }
    }

    fn session(&self) -> Session {
        self.session.lock().map_or(Session::Unknown, |s| s.clone())
    }

    fn set_session(&self, session: Session) {
        if let Ok(mut slot) = self.session.lock() {
            *slot = session;
        }
    }

    /// `GET /v2/<repository>/manifests/<reference>`.
    pub async fn manifest(&self, reference: &str, accept: &[&str]) -> Result<Reply, Fault> {
        let Reply { bytes, digest } = self
            .get(&format!("manifests/{reference}"), Some(&accept.join(", ")))
            .await?;
        // Content addressed by digest must match it; otherwise report the
        // registry's digest (for an index: the index's own).
        let computed = format!("sha256:{}", sha256_hex(&bytes));
        if reference.starts_with("sha256:") && reference != computed {
            return Err(Fault::Digest(format!(
                "the manifest {reference} has the digest {computed}"
            )));
        }
        let digest = digest.filter(|d| d.contains(':')).unwrap_or(computed);
        Ok(Reply {
            bytes,
            digest: Some(digest),
        })
    }

    /// `GET /v2/<repository>/blobs/<digest>`, redirects followed (reqwest
    /// drops the Authorization header when a redirect leaves the host).
    pub async fn blob(&self, digest: &str) -> Result<Vec<u8>, Fault> {
        let reply = self.get(&format!("blobs/{digest}"), None).await?;
        if let Some(hex) = digest.strip_prefix("sha256:") {
            let computed = sha256_hex(&reply.bytes);
            if computed != hex {
                return Err(Fault::Digest(format!(
                    "the blob {digest} has the digest sha256:{computed}"
                )));
            }
        }
        Ok(reply.bytes)
    }

    /// `GET /v2/<repository>/tags/list?n=1`: exists only to tell a missing
    /// repository from a missing tag.
    pub async fn probe_tags(&self) -> Result<(), Fault> {
        self.get("tags/list?n=1", None).await.map(|_| ())
    }

    /// One request, answering at most one authentication challenge.
    async fn get(&self, path: &str, accept: Option<&str>) -> Result<Reply, Fault> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        let response = self.send(&url, accept, &self.session()).await?;
        let response = if response.status() == StatusCode::UNAUTHORIZED {
            let challenge = response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            match self.answer(challenge.as_deref()).await? {
                Some(session) => {
                    self.set_session(session.clone());
                    self.send(&url, accept, &session).await?
                }
                None => response,
            }
        } else {
            response
        };
        finish(response).await
    }

    async fn send(
        &self,
        url: &str,
        accept: Option<&str>,
        session: &Session,
    ) -> Result<reqwest::Response, Fault> {
        let mut request = self.http.get(url);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        request = match (session, &self.auth) {
            (Session::Token(token), _) | (Session::Unknown, Auth::Bearer(token)) => {
                request.bearer_auth(token)
            }
            (Session::Basic, Auth::Basic(user, pass)) => request.basic_auth(user, Some(pass)),
            _ => request,
        };
        request.send().await.map_err(Fault::Transport)
    }

    /// How to answer a 401: `None` when there is nothing more to try.
    async fn answer(&self, challenge: Option<&str>) -> Result<Option<Session>, Fault> {
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        let (scheme, params) = challenge.trim().split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            // Already tried with credentials, or there are none to send.
            let fresh = !matches!(self.session(), Session::Basic);
            return Ok((fresh && matches!(self.auth, Auth::Basic(..))).then_some(Session::Basic));
        }
        if !scheme.eq_ignore_ascii_case("bearer") || matches!(self.auth, Auth::Bearer(_)) {
            // A configured token was rejected: nothing else to try.
            return Ok(None);
        }
        if matches!(self.session(), Session::Token(_)) {
            return Ok(None); // a fresh token was already refused
        }
        let param = |name: &str| {
            params.split(',').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        let Some(realm_url) = param("realm") else {
            return Err(Fault::Token(
                "the registry's challenge names no token service".to_owned(),
            ));
        };
        if matches!(self.auth, Auth::Basic(..)) {
            realm::check_challenge(challenge, &self.insecure).map_err(Fault::Realm)?;
        }
        let scope = format!("repository:{}:pull", self.repository);
        let mut query = vec![("scope", scope)];
        if let Some(service) = param("service") {
            query.push(("service", service));
        }
        let mut request = self.http.get(&realm_url).query(&query);
        if let Auth::Basic(user, pass) = &self.auth {
            request = request.basic_auth(user, Some(pass));
        }
        let response = request.send().await.map_err(Fault::Transport)?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Ok(None); // reported as the original 401
        }
        if !status.is_success() {
            return Err(Fault::Token(format!(
                "the token service {realm_url} answered HTTP {}",
                status.as_u16()
            )));
        }
        #[derive(Deserialize)]
        struct TokenReply {
            token: Option<String>,
            access_token: Option<String>,
        }
        let bytes = response.bytes().await.map_err(Fault::Transport)?;
        let reply: TokenReply = serde_json::from_slice(&bytes).map_err(|e| {
            Fault::Token(format!(
                "the token service {realm_url} answered with something that is not a token ({e})"
            ))
        })?;
        match reply.token.or(reply.access_token).filter(|t| !t.is_empty()) {
            Some(token) => Ok(Some(Session::Token(token))),
            None => Err(Fault::Token(format!(
                "the token service {realm_url} sent no token"
            ))),
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

async fn finish(response: reqwest::Response) -> Result<Reply, Fault> {
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let digest = header("docker-content-digest");
    let retry_after = header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let bytes = response.bytes().await.map_err(Fault::Transport)?;
    if status.is_success() {
        return Ok(Reply {
            bytes: bytes.to_vec(),
            digest,
        });
    }
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        errors: Vec<ApiError>,
    }
    let errors = serde_json::from_slice::<Envelope>(&bytes)
        .map(|e| e.errors)
        .unwrap_or_default();
    Err(Fault::Status {
        code: status.as_u16(),
        errors,
        retry_after,
    })
}
