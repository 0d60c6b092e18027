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

use imglife_domain::text::escape;
use std::sync::Mutex;
use std::time::Duration;

use imglife_http::{BodyError, Challenge};
use reqwest::StatusCode;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::realm;

/// The most of a manifest or index read, as containerd limits it.
pub const MANIFEST_LIMIT: usize = 4 * 1024 * 1024;
/// The most of an image config read (a config is a few KiB; labels and a
/// long history stay far below this).
pub const CONFIG_LIMIT: usize = 8 * 1024 * 1024;
/// The most of any other answer: tokens, tag lists, error bodies.
pub const ANSWER_LIMIT: usize = 64 * 1024;

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
    /// The answer is larger than imglife reads (see the limits above).
    TooLarge(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "{e}"),
            Self::Status { code, errors, .. } => {
                write!(f, "HTTP {code}")?;
                for e in errors {
                    write!(f, "; {}: {}", escape(&e.code), escape(&e.message))?;
                }
                Ok(())
            }
            Self::Token(m) | Self::Realm(m) | Self::Digest(m) | Self::TooLarge(m) => f.write_str(m),
        }
    }
}

impl Fault {
    pub fn has_code(&self, wanted: &[&str]) -> bool {
        matches!(self, Self::Status { errors, .. }
            if errors.iter().any(|e| wanted.contains(&e.code.as_str())))
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
            .get(
                &format!("manifests/{reference}"),
                Some(&accept.join(", ")),
                MANIFEST_LIMIT,
            )
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
        let reply = self
            .get(&format!("blobs/{digest}"), None, CONFIG_LIMIT)
            .await?;
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
        self.get("tags/list?n=1", None, ANSWER_LIMIT)
            .await
            .map(|_| ())
    }

    /// One request, answering at most one authentication challenge.
    async fn get(&self, path: &str, accept: Option<&str>, limit: usize) -> Result<Reply, Fault> {
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
        finish(response, limit).await
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
    async fn answer(&self, header: Option<&str>) -> Result<Option<Session>, Fault> {
        let Some(challenge) = header.and_then(Challenge::parse) else {
            return Ok(None);
        };
        if challenge.is("basic") {
            // Already tried with credentials, or there are none to send.
            let fresh = !matches!(self.session(), Session::Basic);
            return Ok((fresh && matches!(self.auth, Auth::Basic(..))).then_some(Session::Basic));
        }
        if !challenge.is("bearer") || matches!(self.auth, Auth::Bearer(_)) {
            // A configured token was rejected: nothing else to try.
            return Ok(None);
        }
        if matches!(self.session(), Session::Token(_)) {
            return Ok(None); // a fresh token was already refused
        }
        let Some(realm_url) = challenge.param("realm") else {
            return Err(Fault::Token(
                "the registry's challenge names no token service".to_owned(),
            ));
        };
        if matches!(self.auth, Auth::Basic(..)) {
            realm::check_realm(realm_url, &self.insecure).map_err(Fault::Realm)?;
        }
        let scope = format!("repository:{}:pull", self.repository);
        let mut query = vec![("scope", scope)];
        if let Some(service) = challenge.param("service") {
            query.push(("service", service.to_owned()));
        }
        let mut request = self.http.get(realm_url).query(&query);
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
        let bytes = read(
            response,
            ANSWER_LIMIT,
            &format!("the token service {realm_url}"),
        )
        .await?;
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

/// A body, at most `limit` bytes of it.
async fn read(response: reqwest::Response, limit: usize, what: &str) -> Result<Vec<u8>, Fault> {
    imglife_http::read_limited(response, limit)
        .await
        .map_err(|e| match e {
            BodyError::Transport(e) => Fault::Transport(e),
            too_large @ BodyError::TooLarge { .. } => {
                Fault::TooLarge(format!("the answer of {what} is {too_large}"))
            }
        })
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

async fn finish(response: reqwest::Response, limit: usize) -> Result<Reply, Fault> {
    let status = response.status();
    let header = |name: &str| imglife_http::header(&response, name);
    let digest = header("docker-content-digest");
    let retry_after =
        header("retry-after").and_then(|v| imglife_http::retry::parse_retry_after(&v));
    let what = response.url().path().to_owned();
    if status.is_success() {
        let bytes = read(response, limit, &what).await?;
        return Ok(Reply { bytes, digest });
    }
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        errors: Vec<ApiError>,
    }
    // An error body is only read for its error codes: a small one.
    let bytes = read(response, ANSWER_LIMIT, &what)
        .await
        .unwrap_or_default();
    let errors = serde_json::from_slice::<Envelope>(&bytes)
        .map(|e| e.errors)
        .unwrap_or_default();
    Err(Fault::Status {
        code: status.as_u16(),
        errors,
        retry_after,
    })
}
