//! Registry token servers (the distribution token specification), run
//! inside the test process, signing RS256 JWTs with the key the test
//! registries trust (`scripts/services.sh`):
//!
//! - `ensure_token_server`: plain HTTP on `$IMGLIFE_TEST_TOKEN_SERVER`, for
//!   the registry with token auth. Tokens for `testuser:testpass` (GET with
//!   Basic authentication) or for the refresh token `REFRESH_TOKEN` (the
//!   OAuth2 `grant_type=refresh_token` POST a Docker config's
//!   `identitytoken` leads to); anonymous requests are refused.
//! - `ensure_docker_hub_token_server`: HTTPS on `$IMGLIFE_TEST_DOCKER_HUB_AUTH`
//!   (the address `auth.docker.io` resolves to during a test run), as
//!   Docker Hub's token service: like the first, and anonymous pulls of
//!   `library/*` (Docker Hub's public official images) are granted.
//!
//! Every request is recorded (`token_requests`), without its secrets.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::json;

use super::http::{base64, find, percent_decode};

pub const USER: &str = "testuser";
pub const PASSWORD: &str = "testpass";
/// The identity (OAuth2 refresh) token the token servers accept.
pub const REFRESH_TOKEN: &str = "imglife-test-refresh-token";
/// The audience of tokens asked for without a `service`.
const DEFAULT_SERVICE: &str = "imglife-registry";

/// Signs tokens like the registry's token service would.
pub struct TokenIssuer {
    key: RsaKeyPair,
    kid: String,
}

impl TokenIssuer {
    /// From `$IMGLIFE_TEST_TOKEN_KEY` (PKCS#8 DER) and `$IMGLIFE_TEST_TOKEN_KID`.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var("IMGLIFE_TEST_TOKEN_KEY").ok()?;
        let kid = std::env::var("IMGLIFE_TEST_TOKEN_KID").ok()?;
        let der = std::fs::read(path).ok()?;
        let key = RsaKeyPair::from_pkcs8(&der).ok()?;
        Some(Self { key, kid })
    }

    /// A token granting `actions` (e.g. `pull`) on `repository`, for the
    /// registry with token auth.
    pub fn token(&self, repository: &str, actions: &[&str]) -> String {
        let scope = format!("repository:{repository}:{}", actions.join(","));
        self.token_for(DEFAULT_SERVICE, &[scope], USER)
    }

    /// A token for the registry whose service name is `audience`.
    pub fn token_for(&self, audience: &str, scopes: &[String], subject: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<_> = scopes
            .iter()
            .filter_map(|s| {
                let (kind, rest) = s.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect();
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid});
        let claims = json!({
            "iss": "imglife-issuer", "sub": subject, "aud": audience,
            "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", scopes.len()),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            base64(&serde_json::to_vec(&header).unwrap(), true),
            base64(&serde_json::to_vec(&claims).unwrap(), true)
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{signing_input}.{}", base64(&signature, true))
    }
}

/// One request a token server answered, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// `token` (plain HTTP) or `docker-hub` (`auth.docker.io`).
    pub server: &'static str,
    pub method: String,
    pub path: String,
    /// `grant_type` of a POST.
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub service: Option<String>,
    pub scopes: Vec<String>,
    /// The user of a Basic `Authorization`.
    pub basic_user: Option<String>,
    /// A POST carried `REFRESH_TOKEN`.
    pub refresh_token_valid: bool,
    /// The HTTP status answered.
    pub status: u16,
}

/// Every request the token servers of this process answered so far.
pub fn token_requests() -> Vec<TokenRequest> {
    log().lock().unwrap().clone()
}

fn log() -> &'static Mutex<Vec<TokenRequest>> {
    static LOG: OnceLock<Mutex<Vec<TokenRequest>>> = OnceLock::new();
    LOG.get_or_init(|| Mutex::new(Vec::new()))
}

/// What a server grants without credentials.
#[derive(Clone, Copy)]
struct Policy {
    name: &'static str,
    /// Anonymous pulls of repositories under `library/`.
    anonymous_library_pull: bool,
}

/// Starts the token server on `$IMGLIFE_TEST_TOKEN_SERVER` once per test
/// process. Returns false when the services are not configured.
pub fn ensure_token_server() -> bool {
    static STARTED: OnceLock<bool> = OnceLock::new();
    *STARTED.get_or_init(|| {
        let (Some(issuer), Ok(addr)) = (
            TokenIssuer::from_env(),
            std::env::var("IMGLIFE_TEST_TOKEN_SERVER"),
        ) else {
            return false;
        };
        let listener =
            TcpListener::bind(&addr).unwrap_or_else(|e| panic!("token server {addr}: {e}"));
        let policy = Policy {
            name: "token",
            anonymous_library_pull: false,
        };
        let issuer = Arc::new(issuer);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let issuer = issuer.clone();
                std::thread::spawn(move || {
                    let mut stream = stream;
                    serve(&mut stream, &issuer, policy);
                });
            }
        });
        true
    })
}

/// Starts Docker Hub's token service (`https://auth.docker.io/token` during
/// a test run) once per test process: HTTPS on
/// `$IMGLIFE_TEST_DOCKER_HUB_AUTH` with the certificate and key named by
/// `$IMGLIFE_TEST_DOCKER_HUB_AUTH_CERT` and `_KEY`. Returns false when the
/// services did not set it up.
pub fn ensure_docker_hub_token_server() -> bool {
    static STARTED: OnceLock<bool> = OnceLock::new();
    *STARTED.get_or_init(|| {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(issuer), Some(addr), Some(cert), Some(key)) = (
            TokenIssuer::from_env(),
            var("IMGLIFE_TEST_DOCKER_HUB_AUTH"),
            var("IMGLIFE_TEST_DOCKER_HUB_AUTH_CERT"),
            var("IMGLIFE_TEST_DOCKER_HUB_AUTH_KEY"),
        ) else {
            return false;
        };
        let config = Arc::new(tls_config(&cert, &key));
        let listener = TcpListener::bind(&addr)
            .unwrap_or_else(|e| panic!("Docker Hub token server {addr}: {e}"));
        let policy = Policy {
            name: "docker-hub",
            anonymous_library_pull: true,
        };
        let issuer = Arc::new(issuer);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (issuer, config) = (issuer.clone(), config.clone());
                std::thread::spawn(move || {
                    let Ok(connection) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(connection, stream);
                    serve(&mut tls, &issuer, policy);
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        true
    })
}

fn tls_config(cert: &str, key: &str) -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap_or_else(|e| panic!("{cert}: {e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{cert}: {e}"));
    let key = PrivateKeyDer::from_pem_file(key).unwrap_or_else(|e| panic!("{key}: {e}"));
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap()
}

/// Answers one request on `stream` (one request per connection).
fn serve<S: Read + Write>(stream: &mut S, issuer: &TokenIssuer, policy: Policy) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = find(&raw, b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if raw.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let header = |name: &str| {
        head.split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(64 * 1024);
    let mut body = raw[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    let mut request_line = head.split_whitespace();
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = |text: &str| -> Vec<(String, String)> {
        text.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect()
    };
    let fields = if method == "POST" {
        params(&String::from_utf8_lossy(&body))
    } else {
        params(query)
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    // GET sends one `scope` per scope; the POST form one, space-separated.
    let scopes: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    let service = field("service");
    let audience = service
        .clone()
        .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
    let expected = format!(
        "Basic {}",
        base64(format!("{USER}:{PASSWORD}").as_bytes(), false)
    );
    let authorization = header("authorization");
    let basic_user = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| decode_basic_user(b.trim()));
    let mut record = TokenRequest {
        server: policy.name,
        method: method.clone(),
        path: path.to_owned(),
        grant_type: field("grant_type"),
        client_id: field("client_id"),
        service: service.clone(),
        scopes: scopes.clone(),
        basic_user,
        refresh_token_valid: field("refresh_token").as_deref() == Some(REFRESH_TOKEN),
        status: 0,
    };
    let (status, body) = match method.as_str() {
        "GET" => match authorization {
            Some(a) if a == expected => {
                let token = issuer.token_for(&audience, &scopes, USER);
                (
                    200,
                    json!({"token": token, "access_token": token, "expires_in": 300}),
                )
            }
            Some(_) => (401, json!({"details": "wrong user name or password"})),
            None if policy.anonymous_library_pull => {
                // Docker Hub: anyone may pull its public images; other
                // repositories get a token that grants nothing.
                let public: Vec<String> = scopes
                    .iter()
                    .filter(|s| s.starts_with("repository:library/"))
                    .map(|s| match s.rsplit_once(':') {
                        Some((name, _)) => format!("{name}:pull"),
                        None => s.clone(),
                    })
                    .collect();
                let token = issuer.token_for(&audience, &public, "");
                (
                    200,
                    json!({"token": token, "access_token": token, "expires_in": 300}),
                )
            }
            None => (401, json!({"details": "authentication required"})),
        },
        "POST" => match field("grant_type").as_deref() {
            Some("refresh_token")
                if record.refresh_token_valid
                    && field("client_id").is_some_and(|c| !c.is_empty()) =>
            {
                let token = issuer.token_for(&audience, &scopes, USER);
                (
                    200,
                    json!({"access_token": token, "refresh_token": REFRESH_TOKEN,
                           "expires_in": 300, "scope": scopes.join(" ")}),
                )
            }
            Some("refresh_token") => (400, json!({"error": "invalid_grant"})),
            _ => (400, json!({"error": "unsupported_grant_type"})),
        },
        _ => (405, json!({"error": "method not allowed"})),
    };
    record.status = status;
    log().lock().unwrap().push(record);
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Method Not Allowed",
    };
    let challenge = if status == 401 {
        "WWW-Authenticate: Basic realm=\"token\"\r\n"
    } else {
        ""
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{challenge}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// The user name of a Basic credential (base64 of `user:password`).
fn decode_basic_user(encoded: &str) -> Option<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in encoded.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c)? as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    text.split_once(':').map(|(user, _)| user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_user_is_decoded() {
        assert_eq!(
            decode_basic_user("dGVzdHVzZXI6dGVzdHBhc3M=").as_deref(),
            Some("testuser")
        );
        assert_eq!(decode_basic_user("!!").as_deref(), None);
    }
}
