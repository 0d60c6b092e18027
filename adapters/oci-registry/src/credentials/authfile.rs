//! What one auth file holds for one repository: the entry that matches it,
//! or the credential helper to ask.
//!
//! Docker's `config.json` and the containers auth files share a format
//! (`auths`, `credHelpers`; Docker adds `credsStore`), and are matched the
//! same way, as containers/image's `findCredentialsInFile` does (a superset
//! of the docker CLI's lookup):
//!
//! 1. `credHelpers[host]` (for Docker Hub also the docker CLI's key
//!    `https://index.docker.io/v1/`): the helper is asked;
//! 2. `auths` keys matched exactly, most specific first:
//!    `host/namespace/repo`, `host/namespace`, `host` (and, for Docker Hub,
//!    `https://index.docker.io/v1/`);
//! 3. else the first key, in sorted order, that names the host once its
//!    scheme and path are stripped (`https://registry.example.com/v2/`),
//!    with `docker.io`, `index.docker.io` and `registry-1.docker.io` the same
//!    registry;
//! 4. in the Docker config only, `credsStore`: the helper is asked.
//!
//! An entry's `identitytoken` is used when present (as the docker CLI does);
//! else its `auth`, base64 of `user:password`. An `auth` without `:` (the
//! empty `{}` marker Docker writes for a helper, or damage) holds no
//! credentials; an `auth` that is not base64 is an error.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;

/// The docker CLI's key for Docker Hub (`authConfigKey`).
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Debug, Default, Deserialize)]
pub struct Parsed {
    #[serde(default)]
    auths: Option<BTreeMap<String, Entry>>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Entry {
    auth: Option<String>,
    identitytoken: Option<String>,
}

/// Where a helper's name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperVia {
    CredHelpers,
    CredsStore,
}

/// What the file holds for the repository.
#[derive(PartialEq, Eq)]
pub enum Found {
    /// `auths[key]` with a user name and password.
    Basic {
        key: String,
        user: String,
        password: String,
    },
    /// `auths[key]` with an identity (OAuth2 refresh) token.
    IdentityToken { key: String, token: String },
    /// Ask `docker-credential-<name>` for `server`.
    Helper {
        name: String,
        server: String,
        via: HelperVia,
    },
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { key, user, .. } => write!(f, "Basic({key}, {user}, <redacted>)"),
            Self::IdentityToken { key, .. } => write!(f, "IdentityToken({key}, <redacted>)"),
            Self::Helper { name, server, via } => write!(f, "Helper({name}, {server}, {via:?})"),
        }
    }
}

/// `bytes` as an auth file; `label` names it in the error, which says
/// where the file is wrong but never quotes it (it holds secrets).
pub fn parse(bytes: &[u8], label: &str) -> Result<Parsed, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        let at = format!("line {}, column {}", e.line(), e.column());
        let what = if e.classify() == serde_json::error::Category::Data {
            format!("is not an auth file (a value of the wrong kind at {at})")
        } else {
            format!("is not valid JSON (at {at})")
        };
        format!("{label} {what}; fix it or remove it (docker login and podman login rewrite it)")
    })
}

/// Docker Hub is known by three host names.
pub fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

/// What `file` holds for `host/path`; `creds_store`: honour `credsStore`
/// (the Docker config only).
pub fn lookup(
    file: &Parsed,
    host: &str,
    path: &str,
    creds_store: bool,
    label: &str,
) -> Result<Option<Found>, String> {
    let hub = is_docker_hub(host);
    if let Some(helpers) = &file.cred_helpers {
        let mut keys = vec![host];
        if hub {
            keys.insert(0, DOCKER_HUB_KEY);
        }
        for key in keys {
            if let Some(name) = helpers.get(key).filter(|n| !n.trim().is_empty()) {
                return Ok(Some(Found::Helper {
                    name: name.trim().to_owned(),
                    server: key.to_owned(),
                    via: HelperVia::CredHelpers,
                }));
            }
        }
    }
    if let Some((key, entry)) = file.auths.as_ref().and_then(|a| entry_for(a, host, path))
        && let Some(found) = decode(key, entry, label)?
    {
        return Ok(Some(found));
    }
    if creds_store
        && let Some(name) = file
            .creds_store
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
    {
        return Ok(Some(Found::Helper {
            name: name.to_owned(),
            server: if hub { DOCKER_HUB_KEY } else { host }.to_owned(),
            via: HelperVia::CredsStore,
        }));
    }
    Ok(None)
}

/// The `auths` keys tried exactly, best first.
pub fn exact_keys(host: &str, path: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut key = format!("{host}/{path}");
    while let Some(slash) = key.rfind('/') {
        keys.push(key.clone());
        key.truncate(slash);
    }
    keys.push(key); // the host
    if is_docker_hub(host) {
        keys.push(DOCKER_HUB_KEY.to_owned());
    }
    keys
}

fn entry_for<'a>(
    auths: &'a BTreeMap<String, Entry>,
    host: &str,
    path: &str,
) -> Option<(&'a str, &'a Entry)> {
    for key in exact_keys(host, path) {
        if let Some((key, entry)) = auths.get_key_value(&key) {
            return Some((key, entry));
        }
    }
    let wanted = normalize_registry(host);
    auths
        .iter()
        .find(|(key, _)| normalize_key(key) == wanted)
        .map(|(key, entry)| (key.as_str(), entry))
}

/// A key as a registry host: a URL's scheme and path stripped (a key
/// without a scheme keeps its path: it names a namespace).
fn normalize_key(key: &str) -> &str {
    let stripped = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"));
    match stripped {
        Some(rest) => normalize_registry(rest.split('/').next().unwrap_or(rest)),
        None => normalize_registry(key),
    }
}

fn normalize_registry(host: &str) -> &str {
    if is_docker_hub(host) {
        "index.docker.io"
    } else {
        host
    }
}

fn decode(key: &str, entry: &Entry, label: &str) -> Result<Option<Found>, String> {
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Found::IdentityToken {
            key: key.to_owned(),
            token: token.to_owned(),
        }));
    }
    let Some(auth) = entry
        .auth
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    else {
        tracing::debug!(
            label,
            key,
            "an empty auths entry (a credential helper's marker)"
        );
        return Ok(None);
    };
    // Padding optional, as some writers leave it out.
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let not_text = || {
        format!(
            "the \"auth\" of \"{key}\" in {label} is not base64 of user:password; log in again \
             (docker login, podman login) or remove the entry"
        )
    };
    let decoded = engine.decode(auth).map_err(|_| not_text())?;
    let decoded = String::from_utf8(decoded).map_err(|_| not_text())?;
    let Some((user, password)) = decoded.split_once(':') else {
        tracing::warn!(
            "the \"auth\" of \"{}\" in {} holds no ':' between user and password; ignored",
            imglife_domain::text::escape(key),
            imglife_domain::text::escape(label)
        );
        return Ok(None);
    };
    let password = password.trim_matches('\0');
    if user.is_empty() && password.is_empty() {
        return Ok(None);
    }
    Ok(Some(Found::Basic {
        key: key.to_owned(),
        user: user.to_owned(),
        password: password.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    // base64("u:p"), base64("hub:pw"), base64("team:pw"), base64("user:")
    const U_P: &str = "dTpw";
    const HUB: &str = "aHViOnB3";
    const TEAM: &str = "dGVhbTpwdw==";
    const USER_ONLY: &str = "dXNlcjo=";

    fn find(json: &str, host: &str, path: &str, docker: bool) -> Option<Found> {
        let parsed = parse(json.as_bytes(), "f").unwrap();
        lookup(&parsed, host, path, docker, "f").unwrap()
    }

    fn basic(key: &str, user: &str, password: &str) -> Option<Found> {
        Some(Found::Basic {
            key: key.to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }

    #[test]
    fn exact_keys_go_from_the_repository_to_the_host() {
        assert_eq!(
            exact_keys("r.io:5000", "team/sub/app"),
            [
                "r.io:5000/team/sub/app",
                "r.io:5000/team/sub",
                "r.io:5000/team",
                "r.io:5000"
            ]
        );
        assert_eq!(
            exact_keys("docker.io", "library/alpine"),
            [
                "docker.io/library/alpine",
                "docker.io/library",
                "docker.io",
                DOCKER_HUB_KEY
            ]
        );
    }

    #[test]
    fn the_most_specific_key_wins() {
        let json = format!(
            r#"{{"auths":{{"r.io":{{"auth":"{U_P}"}},"r.io/team":{{"auth":"{TEAM}"}},
                "r.io/team/other":{{"auth":"{HUB}"}}}}}}"#
        );
        assert_eq!(
            find(&json, "r.io", "team/app", false),
            basic("r.io/team", "team", "pw")
        );
        assert_eq!(
            find(&json, "r.io", "solo/app", false),
            basic("r.io", "u", "p")
        );
        // A namespace key is never a prefix of another namespace.
        assert_eq!(
            find(&json, "r.io", "teamx/app", false),
            basic("r.io", "u", "p")
        );
        assert_eq!(find(&json, "other.io", "team/app", false), None);
    }

    #[test]
    fn url_keys_match_their_host() {
        let json = format!(r#"{{"auths":{{"https://r.io:5000/v2/":{{"auth":"{U_P}"}}}}}}"#);
        assert_eq!(
            find(&json, "r.io:5000", "a/b", false),
            basic("https://r.io:5000/v2/", "u", "p")
        );
        assert_eq!(find(&json, "r.io", "a/b", false), None);
        // A key without a scheme is a namespace, not a host with a path.
        let json = format!(r#"{{"auths":{{"r.io/v1/":{{"auth":"{U_P}"}}}}}}"#);
        assert_eq!(find(&json, "r.io", "a/b", false), None);
    }

    #[test]
    fn docker_hub_under_every_spelling() {
        for key in [
            DOCKER_HUB_KEY,
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io/v2/",
            "http://index.docker.io/v1/",
        ] {
            let json = format!(r#"{{"auths":{{"{key}":{{"auth":"{HUB}"}}}}}}"#);
            assert_eq!(
                find(&json, "docker.io", "library/alpine", false),
                basic(key, "hub", "pw"),
                "{key}"
            );
        }
        // docker.io's namespaces, as podman writes them, before the host.
        let json = format!(
            r#"{{"auths":{{"{DOCKER_HUB_KEY}":{{"auth":"{HUB}"}},"docker.io/myteam":{{"auth":"{TEAM}"}}}}}}"#
        );
        assert_eq!(
            find(&json, "docker.io", "myteam/app", false),
            basic("docker.io/myteam", "team", "pw")
        );
        assert_eq!(
            find(&json, "docker.io", "library/alpine", false),
            basic(DOCKER_HUB_KEY, "hub", "pw")
        );
    }

    #[test]
    fn identity_tokens_win_over_auth() {
        let json = format!(
            r#"{{"auths":{{"x.azurecr.io":{{"auth":"{USER_ONLY}","identitytoken":"refresh"}}}}}}"#
        );
        assert_eq!(
            find(&json, "x.azurecr.io", "app", false),
            Some(Found::IdentityToken {
                key: "x.azurecr.io".to_owned(),
                token: "refresh".to_owned()
            })
        );
        // "user:" without a token: a user with an empty password.
        let json = format!(r#"{{"auths":{{"x.io":{{"auth":"{USER_ONLY}"}}}}}}"#);
        assert_eq!(find(&json, "x.io", "app", false), basic("x.io", "user", ""));
    }

    #[test]
    fn helpers_first_and_creds_store_only_in_the_docker_config() {
        let json = format!(
            r#"{{"auths":{{"r.io":{{"auth":"{U_P}"}},"{DOCKER_HUB_KEY}":{{}}}},
                "credHelpers":{{"ecr.io":"ecr-login"}},"credsStore":"desktop"}}"#
        );
        let helper = |name: &str, server: &str, via| {
            Some(Found::Helper {
                name: name.to_owned(),
                server: server.to_owned(),
                via,
            })
        };
        assert_eq!(
            find(&json, "ecr.io", "app", false),
            helper("ecr-login", "ecr.io", HelperVia::CredHelpers)
        );
        // auths before credsStore; the empty marker leads to credsStore.
        assert_eq!(find(&json, "r.io", "app", true), basic("r.io", "u", "p"));
        assert_eq!(
            find(&json, "docker.io", "library/alpine", true),
            helper("desktop", DOCKER_HUB_KEY, HelperVia::CredsStore)
        );
        assert_eq!(
            find(&json, "other.io", "app", true),
            helper("desktop", "other.io", HelperVia::CredsStore)
        );
        // containers/image ignores credsStore.
        assert_eq!(find(&json, "other.io", "app", false), None);
        assert_eq!(find(&json, "docker.io", "library/alpine", false), None);
        // Docker Hub's helper under the docker CLI's key or podman's.
        for key in [DOCKER_HUB_KEY, "docker.io"] {
            let json = format!(r#"{{"credHelpers":{{"{key}":"pass"}}}}"#);
            assert_eq!(
                find(&json, "docker.io", "library/alpine", false),
                helper("pass", key, HelperVia::CredHelpers)
            );
        }
    }

    #[test]
    fn broken_entries_and_files() {
        let err = lookup(
            &parse(br#"{"auths":{"r.io":{"auth":"%%%"}}}"#, "f").unwrap(),
            "r.io",
            "a",
            false,
            "Docker config /x/config.json",
        )
        .unwrap_err();
        assert!(
            err.contains("\"r.io\" in Docker config /x/config.json is not base64"),
            "{err}"
        );
        // No ':' (base64 of "nocolon"): passed over with a warning.
        assert_eq!(
            find(
                r#"{"auths":{"r.io":{"auth":"bm9jb2xvbg=="}}}"#,
                "r.io",
                "a",
                false
            ),
            None
        );
        let err = parse(b"", "containers auth file /a.json").unwrap_err();
        assert!(
            err.starts_with("containers auth file /a.json is not valid JSON"),
            "{err}"
        );
        assert!(parse(b"{\"auths\":null}", "f").is_ok());
        // Padding is optional; the password loses trailing NULs.
        assert_eq!(
            find(
                r#"{"auths":{"r.io":{"auth":"dTpwAA"}}}"#,
                "r.io",
                "a",
                false
            ),
            basic("r.io", "u", "p")
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let shown = format!(
            "{:?} {:?}",
            basic("k", "u", "s3cret"),
            Some(Found::IdentityToken {
                key: "k".to_owned(),
                token: "t0ken".to_owned()
            })
        );
        assert!(
            !shown.contains("s3cret") && !shown.contains("t0ken"),
            "{shown}"
        );
    }
}
