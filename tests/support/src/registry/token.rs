//! A registry token server for the registry started with token auth
//! (`scripts/services.sh`): issues RS256 JWTs for `testuser:testpass`,
//! signed with the key the registry trusts.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::json;

use super::http::{base64, find, percent_decode};

pub const USER: &str = "testuser";
pub const PASSWORD: &str = "testpass";

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

    /// A token granting `actions` (e.g. `pull`) on `repository`.
    pub fn token(&self, repository: &str, actions: &[&str]) -> String {
        let scope = format!("repository:{repository}:{}", actions.join(","));
        self.token_for_scopes(&[scope])
    }

    fn token_for_scopes(&self, scopes: &[String]) -> String {
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
            "iss": "imglife-issuer", "sub": USER, "aud": "imglife-registry",
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

/// Starts the token server on `$IMGLIFE_TEST_TOKEN_SERVER` once per test
/// process. Returns false when the services are not configured.
pub fn ensure_token_server() -> bool {
    static STARTED: OnceLock<bool> = OnceLock::new();
    *STARTED.get_or_init(|| {
        let (Some(issuer), Ok(addr)) = (TokenIssuer::from_env(), std::env::var("IMGLIFE_TEST_TOKEN_SERVER")) else {
            return false;
        };
        let listener = TcpListener::bind(&addr).unwrap_or_else(|e| panic!("token server {addr}: {e}"));
        std::thread::spawn(move || {
            let expected = format!("Basic {}", base64(format!("{USER}:{PASSWORD}").as_bytes(), false));
            for mut stream in listener.incoming().flatten() {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while find(&head, b"\r\n\r\n").is_none() {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let authorized = text
                    .split("\r\n")
                    .filter_map(|l| l.split_once(':'))
                    .any(|(k, v)| k.eq_ignore_ascii_case("authorization") && v.trim() == expected);
                let target = text.split_whitespace().nth(1).unwrap_or_default();
                let scopes: Vec<String> = target
                    .split_once('?')
                    .map(|(_, q)| q)
                    .unwrap_or_default()
                    .split('&')
                    .filter_map(|kv| kv.strip_prefix("scope="))
                    .map(percent_decode)
                    .collect();
                let response = if authorized {
                    let token = issuer.token_for_scopes(&scopes);
                    let body = json!({"token": token, "access_token": token, "expires_in": 300}).to_string();
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    let body = r#"{"details":"wrong user name or password"}"#;
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"token\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = stream.write_all(response.as_bytes());
            }
        });
        true
    })
}
