//! Which credentials to use for a registry host. First match wins:
//! `IMGLIFE_<HOST>_USERNAME`/`_PASSWORD`, `IMGLIFE_<HOST>_TOKEN`, GitLab
//! CI's registry variables, the Docker config, else anonymous.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::client::Auth as RegistryAuth;
use imglife_domain::metadata::MetadataError;

/// Reads one environment variable; `None` when unset or empty.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Credentials and where they came from. The source is safe to show; the
/// secret never is, so `Debug` prints only the source.
#[derive(Clone)]
pub struct Credential {
    pub auth: RegistryAuth,
    /// e.g. `IMGLIFE_GHCR_IO_USERNAME/IMGLIFE_GHCR_IO_PASSWORD`
    pub source: String,
}

impl Credential {
    pub fn is_anonymous(&self) -> bool {
        matches!(self.auth, RegistryAuth::Anonymous)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.auth {
            RegistryAuth::Anonymous => "anonymous",
            RegistryAuth::Basic(..) => "basic <redacted>",
            RegistryAuth::Bearer(..) => "bearer <redacted>",
        };
        f.debug_struct("Credential")
            .field("auth", &kind)
            .field("source", &self.source)
            .finish()
    }
}

/// `IMGLIFE_<HOST>_`: the host with its port, upper-cased, every character
/// other than a letter or digit written `_` (`127.0.0.1:5000` gives
/// `IMGLIFE_127_0_0_1_5000_`).
pub fn env_prefix(host: &str) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("IMGLIFE_{host}_")
}

/// The credentials for `host` (as written in the image reference).
pub fn resolve(
    host: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credential, MetadataError> {
    let prefix = env_prefix(host);
    let (user_var, pass_var, token_var) = (
        format!("{prefix}USERNAME"),
        format!("{prefix}PASSWORD"),
        format!("{prefix}TOKEN"),
    );
    match (env(&user_var), env(&pass_var)) {
        (Some(user), Some(pass)) => {
            return Ok(Credential {
                auth: RegistryAuth::Basic(user, pass),
                source: format!("{user_var}/{pass_var}"),
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            let (set, unset) = if env(&user_var).is_some() {
                (&user_var, &pass_var)
            } else {
                (&pass_var, &user_var)
            };
            // A configuration mistake, not a refusal: `Invalid` keeps
            // `--source auto` from hiding it behind the Docker daemon.
            return Err(MetadataError::Invalid(format!(
                "{set} is set but {unset} is not; set both to log in to {host}, or neither"
            )));
        }
        (None, None) => {}
    }
    if let Some(token) = env(&token_var) {
        return Ok(Credential {
            auth: RegistryAuth::Bearer(token),
            source: token_var,
        });
    }
    if let Some(credential) = gitlab(host, env) {
        return Ok(credential);
    }
    if let Some(credential) = docker_config(host, env)? {
        return Ok(credential);
    }
    Ok(Credential {
        auth: RegistryAuth::Anonymous,
        source: "no credentials (anonymous)".to_owned(),
    })
}

/// GitLab CI hands every job a login for its own registry, `$CI_REGISTRY`.
fn gitlab(host: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<Credential> {
    let registry = env("CI_REGISTRY")?;
    if !registry.eq_ignore_ascii_case(host) {
        return None;
    }
    if let (Some(user), Some(pass)) = (env("CI_REGISTRY_USER"), env("CI_REGISTRY_PASSWORD")) {
        return Some(Credential {
            auth: RegistryAuth::Basic(user, pass),
            source: "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD".to_owned(),
        });
    }
    let token = env("CI_JOB_TOKEN")?;
    Some(Credential {
        auth: RegistryAuth::Basic("gitlab-ci-token".to_owned(), token),
        source: "gitlab-ci-token with CI_JOB_TOKEN".to_owned(),
    })
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`: `auths`,
/// `credHelpers` and `credsStore`, as `docker login` leaves them.
fn docker_config(
    host: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credential>, MetadataError> {
    let path = match (env("DOCKER_CONFIG"), env("HOME")) {
        (Some(dir), _) => PathBuf::from(dir).join("config.json"),
        (None, Some(home)) => PathBuf::from(home).join(".docker").join("config.json"),
        (None, None) => return Ok(None),
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "Docker config not readable; ignored");
            return Ok(None);
        }
    };
    // Checked here because docker_credential reports a broken file like a
    // missing one, and a typo in it would otherwise look like a 401.
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        return Err(MetadataError::Invalid(format!(
            "Docker config {} is not valid JSON ({e}); fix it (docker login rewrites it) or point \
             DOCKER_CONFIG elsewhere",
            path.display()
        )));
    }
    // `auths` keys are normalised by docker_credential, helper keys are
    // not: Docker Hub is known by its legacy URL, other hosts with and
    // without a scheme.
    let servers: Vec<String> = if host == "docker.io" || host == "index.docker.io" {
        vec!["https://index.docker.io/v1/".to_owned(), host.to_owned()]
    } else {
        vec![host.to_owned(), format!("https://{host}")]
    };
    for server in &servers {
        match docker_credential::get_credential_from_reader(bytes.as_slice(), server) {
            Ok(docker_credential::DockerCredential::UsernamePassword(user, pass)) => {
                return Ok(Some(Credential {
                    auth: RegistryAuth::Basic(user, pass),
                    source: format!("Docker config {}", path.display()),
                }));
            }
            Ok(docker_credential::DockerCredential::IdentityToken(_)) => {
                // imglife implements no OAuth2 refresh-token exchange.
                tracing::warn!(
                    path = %path.display(),
                    server,
                    "Docker config holds an identity token, which imglife cannot use; ignored"
                );
            }
            Err(e) => {
                tracing::debug!(path = %path.display(), server, error = ?e, "no Docker credential");
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn prefix_upper_cases_and_replaces_separators() {
        assert_eq!(env_prefix("127.0.0.1:5000"), "IMGLIFE_127_0_0_1_5000_");
        assert_eq!(env_prefix("ghcr.io"), "IMGLIFE_GHCR_IO_");
        assert_eq!(
            env_prefix("my-reg.example.com"),
            "IMGLIFE_MY_REG_EXAMPLE_COM_"
        );
    }

    #[test]
    fn username_and_password_win_over_everything() {
        let e = env(&[
            ("IMGLIFE_GHCR_IO_USERNAME", "u"),
            ("IMGLIFE_GHCR_IO_PASSWORD", "p"),
            ("IMGLIFE_GHCR_IO_TOKEN", "t"),
            ("CI_REGISTRY", "ghcr.io"),
            ("CI_JOB_TOKEN", "j"),
        ]);
        let c = resolve("ghcr.io", &e).unwrap();
        assert_eq!(
            c.source,
            "IMGLIFE_GHCR_IO_USERNAME/IMGLIFE_GHCR_IO_PASSWORD"
        );
        assert!(matches!(c.auth, RegistryAuth::Basic(ref u, ref p) if u == "u" && p == "p"));
    }

    #[test]
    fn half_a_login_is_an_error_naming_the_missing_variable() {
        let e = env(&[("IMGLIFE_GHCR_IO_USERNAME", "u")]);
        let err = resolve("ghcr.io", &e).unwrap_err().to_string();
        assert!(err.contains("IMGLIFE_GHCR_IO_PASSWORD is not"), "{err}");
    }

    #[test]
    fn token_then_gitlab_then_anonymous() {
        let c = resolve("ghcr.io", &env(&[("IMGLIFE_GHCR_IO_TOKEN", "t")])).unwrap();
        assert!(matches!(c.auth, RegistryAuth::Bearer(ref t) if t == "t"));
        let gl = env(&[
            ("CI_REGISTRY", "registry.gitlab.com"),
            ("CI_JOB_TOKEN", "job"),
        ]);
        let c = resolve("registry.gitlab.com", &gl).unwrap();
        assert_eq!(c.source, "gitlab-ci-token with CI_JOB_TOKEN");
        let c = resolve("ghcr.io", &gl).unwrap();
        assert!(c.is_anonymous());
    }

    #[test]
    fn docker_config_auths_are_read_and_debug_redacts() {
        let dir = std::env::temp_dir().join(format!("imglife-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // base64("user:s3cret")
        std::fs::write(
            dir.join("config.json"),
            r#"{"auths":{"reg.example.com:5000":{"auth":"dXNlcjpzM2NyZXQ="}}}"#,
        )
        .unwrap();
        let d = dir.to_string_lossy().into_owned();
        let c = resolve("reg.example.com:5000", &env(&[("DOCKER_CONFIG", &d)])).unwrap();
        assert!(
            matches!(c.auth, RegistryAuth::Basic(ref u, ref p) if u == "user" && p == "s3cret")
        );
        let debug = format!("{c:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        std::fs::write(dir.join("config.json"), "{not json").unwrap();
        let err = resolve("reg.example.com:5000", &env(&[("DOCKER_CONFIG", &d)])).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
