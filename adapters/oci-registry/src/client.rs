//! A registry client for exactly what the inspection needs: manifests,
//! blobs and the tag list of one repository, with the registry's
//! authentication flows (none, Basic, and Bearer tokens from the token
//! service a 401 challenge names: anonymous, for a user name and password,
//! or for an identity token; see `token.rs`).
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
use sha2::{Digest as _, Sha256, Sha512};

use crate::realm;
use crate::token::{self, Grant};

/// The most of a manifest or index read, as containerd limits it.
pub const MANIFEST_LIMIT: usize = 4 * 1024 * 1024;
/// The most of an image config read (a config is a few KiB; labels and a
/// long history stay far below this).
pub const CONFIG_LIMIT: usize = 8 * 1024 * 1024;
/// The most of any other answer: tokens, tag lists, error bodies.
pub const ANSWER_LIMIT: usize = 64 * 1024;

/// How long the body of a 401 is waited for before its connection is given
/// up (see `RegistryClient::get`): a registry sends its small error body
/// with the head or right after it, never seconds later.
const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// How to authenticate, as resolved from the environment.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    Basic(String, String),
    /// Sent as is as a bearer token (`IMGLIFE_<HOST>_TOKEN`).
    Bearer(String),
    /// An OAuth2 refresh token (a Docker config's `identitytoken`),
    /// exchanged at the token service for a bearer token (`token.rs`).
    IdentityToken(String),
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
    /// `Docker-Content-Digest` as the registry sent it (`finish`); for a
    /// manifest, the digest computed from `bytes` (`manifest`).
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

    /// `GET /v2/<repository>/manifests/<reference>`. The digest of the
    /// reply is always computed from the bytes read, never taken from the
    /// registry: by digest, the bytes must hash to the reference; by tag,
    /// to `Docker-Content-Digest` when the registry sends one (sha256 or
    /// sha512; its algorithm is the one the digest is given in).
    pub async fn manifest(&self, reference: &str, accept: &[&str]) -> Result<Reply, Fault> {
        let Reply { bytes, digest } = self
            .get(
                &format!("manifests/{reference}"),
                Some(&accept.join(", ")),
                MANIFEST_LIMIT,
            )
            .await?;
        let digest = if reference.contains(':') {
            // A tag never holds ':'; a digest always does.
            verify(reference, &bytes, "the manifest")?;
            reference.to_owned()
        } else {
            match digest.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                Some(announced) => match digest_of(announced, &bytes) {
                    Some(computed) if computed == announced => computed,
                    Some(computed) => {
                        return Err(Fault::Digest(format!(
                            "the registry's Docker-Content-Digest is {}, but the {} bytes read \
                             have the digest {computed}",
                            shown(announced),
                            bytes.len()
                        )));
                    }
                    None => {
                        tracing::debug!(
                            header = %shown(announced),
                            "Docker-Content-Digest of an unknown algorithm; recording sha256"
                        );
                        sha256_digest(&bytes)
                    }
                },
                None => sha256_digest(&bytes),
            }
        };
        Ok(Reply {
            bytes,
            digest: Some(digest),
        })
    }

    /// `GET /v2/<repository>/blobs/<digest>`, redirects followed (reqwest
    /// drops the Authorization header when a redirect leaves the host).
    /// The bytes must hash to `digest`.
    pub async fn blob(&self, digest: &str) -> Result<Vec<u8>, Fault> {
        let reply = self
            .get(&format!("blobs/{digest}"), None, CONFIG_LIMIT)
            .await?;
        verify(digest, &reply.bytes, "the blob")?;
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
    ///
    /// The 401's body is read to its end before anything else: only an
    /// answer read whole gives its connection back to the pool, so the
    /// token request (when the token service shares the registry's host)
    /// and the retried request reuse it instead of paying a new TCP (and
    /// TLS) handshake, whether or not the body came in the same packet as
    /// the head. A body still missing after `DRAIN_WAIT` is left behind
    /// with its connection.
    async fn get(&self, path: &str, accept: Option<&str>, limit: usize) -> Result<Reply, Fault> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        let response = self.send(&url, accept, &self.session()).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return finish(response, limit).await;
        }
        let challenge = imglife_http::header(&response, "www-authenticate");
        let retry_after = retry_after(&response);
        let what = response.url().path().to_owned();
        let body = tokio::time::timeout(DRAIN_WAIT, read(response, ANSWER_LIMIT, &what))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        match self.answer(challenge.as_deref()).await? {
            Some(session) => {
                self.set_session(session.clone());
                finish(self.send(&url, accept, &session).await?, limit).await
            }
            None => Err(failure(StatusCode::UNAUTHORIZED, &body, retry_after)),
        }
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
        let grant = match &self.auth {
            Auth::Anonymous => Grant::Anonymous,
            Auth::Basic(user, pass) => Grant::Basic(user, pass),
            Auth::IdentityToken(token) => Grant::RefreshToken(token),
            Auth::Bearer(_) => return Ok(None),
        };
        if !matches!(grant, Grant::Anonymous) {
            realm::check_realm(realm_url, &self.insecure).map_err(Fault::Realm)?;
        }
        let scope = format!("repository:{}:pull", self.repository);
        let token = token::fetch(
            &self.http,
            realm_url,
            challenge.param("service"),
            &scope,
            grant,
        )
        .await?;
        Ok(token.map(Session::Token))
    }
}

/// A body, at most `limit` bytes of it.
pub async fn read(response: reqwest::Response, limit: usize, what: &str) -> Result<Vec<u8>, Fault> {
    imglife_http::read_limited(response, limit)
        .await
        .map_err(|e| match e {
            BodyError::Transport(e) => Fault::Transport(e),
            too_large @ BodyError::TooLarge { .. } => {
                Fault::TooLarge(format!("the answer of {what} is {too_large}"))
            }
        })
}

/// Content addressed by `expected` (`algorithm:hex`) must hash to it.
fn verify(expected: &str, bytes: &[u8], what: &str) -> Result<(), Fault> {
    match digest_of(expected, bytes) {
        Some(computed) if computed == expected => Ok(()),
        Some(computed) => Err(Fault::Digest(format!(
            "{what} {} has the digest {computed}",
            shown(expected)
        ))),
        None => Err(Fault::Digest(format!(
            "{what} {} cannot be verified: imglife checks sha256 and sha512 digests only",
            shown(expected)
        ))),
    }
}

/// The digest of `bytes` in the algorithm of `like` (`sha256:...`,
/// `sha512:...`); `None` for another algorithm.
fn digest_of(like: &str, bytes: &[u8]) -> Option<String> {
    match like.split_once(':').map(|(algorithm, _)| algorithm) {
        Some("sha256") => Some(sha256_digest(bytes)),
        Some("sha512") => Some(format!("sha512:{}", hex(&Sha512::digest(bytes)))),
        _ => None,
    }
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// A digest from outside (a header, a descriptor) for a message: escaped,
/// and cut where no digest is that long.
fn shown(digest: &str) -> String {
    let cut: String = digest.chars().take(160).collect();
    let mut text = escape(&cut).into_owned();
    if digest.chars().nth(160).is_some() {
        text.push('…');
    }
    text
}

async fn finish(response: reqwest::Response, limit: usize) -> Result<Reply, Fault> {
    let status = response.status();
    let digest = imglife_http::header(&response, "docker-content-digest");
    let retry_after = retry_after(&response);
    let what = response.url().path().to_owned();
    if status.is_success() {
        let bytes = read(response, limit, &what).await?;
        return Ok(Reply { bytes, digest });
    }
    // An error body is only read for its error codes: a small one.
    let bytes = read(response, ANSWER_LIMIT, &what)
        .await
        .unwrap_or_default();
    Err(failure(status, &bytes, retry_after))
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    imglife_http::header(response, "retry-after")
        .and_then(|v| imglife_http::retry::parse_retry_after(&v))
}

/// A failed answer, with the error codes of its body.
fn failure(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> Fault {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        errors: Vec<ApiError>,
    }
    let errors = serde_json::from_slice::<Envelope>(body)
        .map(|e| e.errors)
        .unwrap_or_default();
    Fault::Status {
        code: status.as_u16(),
        errors,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // sha256("abc") and sha512("abc") (FIPS 180-2 test vectors).
    const ABC_256: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const ABC_512: &str = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                           2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

    #[test]
    fn digests_are_computed_in_the_algorithm_asked_for() {
        assert_eq!(digest_of("sha256:x", b"abc").as_deref(), Some(ABC_256));
        assert_eq!(digest_of("sha512:x", b"abc").as_deref(), Some(ABC_512));
        assert_eq!(digest_of("md5:x", b"abc"), None);
        assert_eq!(digest_of("garbage", b"abc"), None);
    }

    #[test]
    fn content_must_hash_to_its_digest() {
        verify(ABC_256, b"abc", "the blob").expect("sha256");
        verify(ABC_512, b"abc", "the blob").expect("sha512");
        let Err(Fault::Digest(e)) = verify(ABC_256, b"abd", "the blob") else {
            panic!("a wrong sha256 passed");
        };
        assert!(
            e.starts_with(&format!("the blob {ABC_256} has the digest sha256:")),
            "{e}"
        );
        let Err(Fault::Digest(e)) = verify("blake3:00", b"abc", "the blob") else {
            panic!("an unknown algorithm passed");
        };
        assert!(e.contains("sha256 and sha512"), "{e}");
    }

    #[test]
    fn digests_from_outside_are_shown_escaped_and_cut() {
        assert_eq!(shown("sha256:\u{1b}[2J"), "sha256:\\u{1b}[2J");
        let long = "x".repeat(1000);
        assert_eq!(shown(&long).chars().count(), 161);
    }
}
