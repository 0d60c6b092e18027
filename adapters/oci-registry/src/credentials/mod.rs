//! Which credentials to use for a repository. First match wins:
//!
//! 1. `IMGLIFE_<HOST>_USERNAME`/`_PASSWORD`, then `IMGLIFE_<HOST>_TOKEN`,
//!    where `<HOST>` is the registry host of the normalised reference
//!    (`docker.io` for every Docker Hub spelling: `IMGLIFE_DOCKER_IO_`);
//! 2. GitLab CI's registry variables, for `$CI_REGISTRY`;
//! 3. the auth files, in skopeo's order (`files.rs`): podman's and
//!    skopeo's `auth.json` files, then the Docker config; in each, the
//!    entry or credential helper `authfile.rs` picks;
//! 4. else anonymous.
//!
//! A credential names its source (variables, or file and key, or helper),
//! which messages show; never its secret.

mod authfile;
mod files;
mod helper;

use std::fmt;
use std::path::Path;
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
    /// e.g. `IMGLIFE_GHCR_IO_USERNAME/IMGLIFE_GHCR_IO_PASSWORD`,
    /// `Docker config /root/.docker/config.json (auths "ghcr.io")`
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
            RegistryAuth::IdentityToken(..) => "identity token <redacted>",
        };
        f.debug_struct("Credential")
            .field("auth", &kind)
            .field("source", &self.source)
            .finish()
    }
}

/// `IMGLIFE_<HOST>_`: the host with its port, upper-cased, every character
/// other than a letter or digit written `_` (`127.0.0.1:5000` gives
/// `IMGLIFE_127_0_0_1_5000_`, `docker.io` gives `IMGLIFE_DOCKER_IO_`).
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

/// The credentials for the repository `path` on `host` (the registry host
/// of the normalised reference: `docker.io` for Docker Hub).
pub fn resolve(
    host: &str,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credential, MetadataError> {
    resolve_with(host, path, env, files::process_uid(), &Path::is_dir)
}

fn resolve_with(
    host: &str,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    uid: Option<u32>,
    is_dir: &dyn Fn(&Path) -> bool,
) -> Result<Credential, MetadataError> {
    if let Some(credential) = from_variables(host, env)? {
        return Ok(credential);
    }
    if let Some(credential) = gitlab(host, env) {
        return Ok(credential);
    }
    for file in files::auth_files(env, uid, is_dir) {
        if let Some(credential) = from_file(&file, host, path)? {
            return Ok(credential);
        }
    }
    Ok(Credential {
        auth: RegistryAuth::Anonymous,
        source: "no credentials (anonymous)".to_owned(),
    })
}

/// `IMGLIFE_<HOST>_USERNAME` + `_PASSWORD`, else `IMGLIFE_<HOST>_TOKEN`.
fn from_variables(
    host: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credential>, MetadataError> {
    let prefix = env_prefix(host);
    let (user_var, pass_var, token_var) = (
        format!("{prefix}USERNAME"),
        format!("{prefix}PASSWORD"),
        format!("{prefix}TOKEN"),
    );
    match (env(&user_var), env(&pass_var)) {
        (Some(user), Some(pass)) => {
            return Ok(Some(Credential {
                auth: RegistryAuth::Basic(user, pass),
                source: format!("{user_var}/{pass_var}"),
            }));
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
    Ok(env(&token_var).map(|token| Credential {
        auth: RegistryAuth::Bearer(token),
        source: token_var,
    }))
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

/// What one auth file holds for the repository. A file that cannot be read
/// or parsed, an entry that is not base64, a helper that fails: errors
/// naming the file, as skopeo fails on them (an `Invalid` error, so that
/// `--source auto` does not hide a broken set-up behind the daemon).
fn from_file(
    file: &files::AuthFile,
    host: &str,
    path: &str,
) -> Result<Option<Credential>, MetadataError> {
    let label = file.label();
    let Some(bytes) = files::read(file).map_err(MetadataError::Invalid)? else {
        return Ok(None);
    };
    let parsed = authfile::parse(&bytes, &label).map_err(MetadataError::Invalid)?;
    let creds_store = file.kind == files::Kind::Docker;
    let found = authfile::lookup(&parsed, host, path, creds_store, &label)
        .map_err(MetadataError::Invalid)?;
    let Some(found) = found else {
        tracing::debug!(file = %label, host, path, "no credentials in this file");
        return Ok(None);
    };
    tracing::debug!(file = %label, ?found, "credentials found");
    Ok(Some(match found {
        authfile::Found::Basic {
            key,
            user,
            password,
        } => Credential {
            auth: RegistryAuth::Basic(user, password),
            source: format!("{label} (auths \"{key}\")"),
        },
        authfile::Found::IdentityToken { key, token } => Credential {
            auth: RegistryAuth::IdentityToken(token),
            source: format!("the identity token of {label} (auths \"{key}\")"),
        },
        authfile::Found::Helper { name, server, via } => {
            let field = match via {
                authfile::HelperVia::CredHelpers => "credHelpers",
                authfile::HelperVia::CredsStore => "credsStore",
            };
            let source = format!("docker-credential-{name} ({field} of {label})");
            match helper::get(&name, &server) {
                Ok(helper::Answer::Basic(user, password)) => Credential {
                    auth: RegistryAuth::Basic(user, password),
                    source,
                },
                Ok(helper::Answer::IdentityToken(token)) => Credential {
                    auth: RegistryAuth::IdentityToken(token),
                    source: format!("the identity token from {source}"),
                },
                Ok(helper::Answer::NotFound) => {
                    tracing::debug!(%source, server, "the helper has no credentials");
                    return Ok(None);
                }
                Err(e) => {
                    return Err(MetadataError::Invalid(format!(
                        "credentials for {host}: {e}; the helper is named by {field} in \
                         {label}: install it, log in again, or remove the entry"
                    )));
                }
            }
        }
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Held by tests that write a script and run it, or run any process:
    /// a script still open for writing in one thread when another forks
    /// cannot be executed (ETXTBSY).
    pub static SPAWN: Mutex<()> = Mutex::new(());

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// Resolution in a made-up machine: no `/run/containers`, every
    /// directory exists.
    fn resolve(host: &str, path: &str, vars: &[(&str, &str)]) -> Result<Credential, MetadataError> {
        resolve_with(host, path, &env(vars), None, &|_| true)
    }

    fn user_of(c: &Credential) -> &str {
        match &c.auth {
            RegistryAuth::Basic(user, _) => user,
            other => panic!(
                "{:?}",
                Credential {
                    auth: other.clone(),
                    source: c.source.clone()
                }
            ),
        }
    }

    // base64 of "a:1", "b:2", "c:3", "d:4"
    const A: &str = "YTox";
    const B: &str = "Yjoy";
    const C: &str = "Yzoz";
    const D: &str = "ZDo0";

    fn auths(entries: &[(&str, &str)]) -> String {
        let inner: Vec<String> = entries
            .iter()
            .map(|(k, v)| format!(r#""{k}":{{"auth":"{v}"}}"#))
            .collect();
        format!(r#"{{"auths":{{{}}}}}"#, inner.join(","))
    }

    #[test]
    fn prefix_upper_cases_and_replaces_separators() {
        assert_eq!(env_prefix("127.0.0.1:5000"), "IMGLIFE_127_0_0_1_5000_");
        assert_eq!(env_prefix("ghcr.io"), "IMGLIFE_GHCR_IO_");
        assert_eq!(env_prefix("docker.io"), "IMGLIFE_DOCKER_IO_");
        assert_eq!(
            env_prefix("my-reg.example.com"),
            "IMGLIFE_MY_REG_EXAMPLE_COM_"
        );
    }

    #[test]
    fn username_and_password_win_over_everything() {
        let c = resolve(
            "ghcr.io",
            "a/b",
            &[
                ("IMGLIFE_GHCR_IO_USERNAME", "u"),
                ("IMGLIFE_GHCR_IO_PASSWORD", "p"),
                ("IMGLIFE_GHCR_IO_TOKEN", "t"),
                ("CI_REGISTRY", "ghcr.io"),
                ("CI_JOB_TOKEN", "j"),
            ],
        )
        .unwrap();
        assert_eq!(
            c.source,
            "IMGLIFE_GHCR_IO_USERNAME/IMGLIFE_GHCR_IO_PASSWORD"
        );
        assert!(matches!(c.auth, RegistryAuth::Basic(ref u, ref p) if u == "u" && p == "p"));
    }

    #[test]
    fn half_a_login_is_an_error_naming_the_missing_variable() {
        let err = resolve("ghcr.io", "a", &[("IMGLIFE_GHCR_IO_USERNAME", "u")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("IMGLIFE_GHCR_IO_PASSWORD is not"), "{err}");
    }

    #[test]
    fn token_then_gitlab_then_anonymous() {
        let c = resolve("ghcr.io", "a", &[("IMGLIFE_GHCR_IO_TOKEN", "t")]).unwrap();
        assert!(matches!(c.auth, RegistryAuth::Bearer(ref t) if t == "t"));
        let gl = [
            ("CI_REGISTRY", "registry.gitlab.com"),
            ("CI_JOB_TOKEN", "job"),
        ];
        let c = resolve("registry.gitlab.com", "a", &gl).unwrap();
        assert_eq!(c.source, "gitlab-ci-token with CI_JOB_TOKEN");
        let c = resolve("ghcr.io", "a", &gl).unwrap();
        assert!(c.is_anonymous());
        assert_eq!(c.source, "no credentials (anonymous)");
    }

    #[test]
    fn docker_hubs_variables_are_named_after_docker_io() {
        let c = resolve(
            "docker.io",
            "library/alpine",
            &[
                ("IMGLIFE_DOCKER_IO_USERNAME", "hub"),
                ("IMGLIFE_DOCKER_IO_PASSWORD", "pw"),
            ],
        )
        .unwrap();
        assert_eq!(
            c.source,
            "IMGLIFE_DOCKER_IO_USERNAME/IMGLIFE_DOCKER_IO_PASSWORD"
        );
        // The API host's name is not docker.io's.
        let c = resolve(
            "docker.io",
            "library/alpine",
            &[("IMGLIFE_REGISTRY_1_DOCKER_IO_TOKEN", "t")],
        )
        .unwrap();
        assert!(c.is_anonymous());
    }

    /// Every file of the order holds a different user for the same
    /// registry: the earliest file wins, and removing it lets the next one
    /// answer.
    #[test]
    fn files_are_read_in_skopeos_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = |p: &str| dir.path().join(p).display().to_string();
        let write = |p: &str, body: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        };
        write("named.json", &auths(&[("r.io", D)]));
        write("run/containers/auth.json", &auths(&[("r.io", A)]));
        write("config/containers/auth.json", &auths(&[("r.io", B)]));
        write("docker/config.json", &auths(&[("r.io", C)]));
        let (run, config, docker, named) = (d("run"), d("config"), d("docker"), d("named.json"));
        let mut vars = vec![
            ("XDG_RUNTIME_DIR", run.as_str()),
            ("XDG_CONFIG_HOME", config.as_str()),
            ("DOCKER_CONFIG", docker.as_str()),
        ];
        let c = resolve("r.io", "app", &vars).unwrap();
        assert_eq!(user_of(&c), "a");
        assert_eq!(
            c.source,
            format!("containers auth file {run}/containers/auth.json (auths \"r.io\")")
        );
        std::fs::remove_file(dir.path().join("run/containers/auth.json")).unwrap();
        assert_eq!(user_of(&resolve("r.io", "app", &vars).unwrap()), "b");
        std::fs::remove_file(dir.path().join("config/containers/auth.json")).unwrap();
        let c = resolve("r.io", "app", &vars).unwrap();
        assert_eq!(user_of(&c), "c");
        assert_eq!(
            c.source,
            format!("Docker config {docker}/config.json (auths \"r.io\")")
        );
        // REGISTRY_AUTH_FILE: that file alone.
        vars.push(("REGISTRY_AUTH_FILE", named.as_str()));
        let c = resolve("r.io", "app", &vars).unwrap();
        assert_eq!(user_of(&c), "d");
        assert_eq!(
            c.source,
            format!("REGISTRY_AUTH_FILE={named} (auths \"r.io\")")
        );
        assert!(resolve("other.io", "app", &vars).unwrap().is_anonymous());
        // Variables come before every file.
        vars.push(("IMGLIFE_R_IO_TOKEN", "t"));
        assert_eq!(
            resolve("r.io", "app", &vars).unwrap().source,
            "IMGLIFE_R_IO_TOKEN"
        );
    }

    /// A file without an entry for the registry lets the next file answer;
    /// a namespaced key in an earlier file is not beaten by a host key in
    /// a later one, nor by a less specific key in the same file.
    #[test]
    fn entries_pass_on_and_namespaces_win() {
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().join("docker");
        std::fs::create_dir_all(&docker).unwrap();
        std::fs::write(docker.join("config.json"), auths(&[("r.io", C)])).unwrap();
        let home = dir.path().display().to_string();
        let config = dir.path().join("cfg");
        std::fs::create_dir_all(config.join("containers")).unwrap();
        std::fs::write(
            config.join("containers/auth.json"),
            auths(&[("other.io", A), ("r.io/team", B), ("r.io", A)]),
        )
        .unwrap();
        let (config, docker_dir) = (config.display().to_string(), docker.display().to_string());
        let vars = [
            ("HOME", home.as_str()),
            ("XDG_CONFIG_HOME", config.as_str()),
            ("DOCKER_CONFIG", docker_dir.as_str()),
        ];
        assert_eq!(user_of(&resolve("r.io", "team/app", &vars).unwrap()), "b");
        assert_eq!(user_of(&resolve("r.io", "solo/app", &vars).unwrap()), "a");
        std::fs::write(
            config.clone() + "/containers/auth.json",
            auths(&[("other.io", A)]),
        )
        .unwrap();
        assert_eq!(user_of(&resolve("r.io", "team/app", &vars).unwrap()), "c");
    }

    #[test]
    fn broken_files_are_errors_naming_the_file_not_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("auth.json");
        let shown = named.display().to_string();
        let vars = [("REGISTRY_AUTH_FILE", shown.as_str())];
        for (body, expected) in [
            ("", "is not valid JSON"),
            ("{\"auths\":", "is not valid JSON"),
            (
                r#"{"auths":{"r.io":"c2VjcmV0cGFzcw=="}}"#,
                "is not an auth file",
            ),
            (
                r#"{"auths":{"r.io":{"auth":"not base64!"}}}"#,
                "is not base64",
            ),
        ] {
            std::fs::write(&named, body).unwrap();
            let err = resolve("r.io", "app", &vars).unwrap_err();
            assert!(matches!(err, MetadataError::Invalid(_)), "{err:?}");
            let err = err.to_string();
            assert!(
                err.contains(&format!("REGISTRY_AUTH_FILE={shown}")),
                "{err}"
            );
            assert!(err.contains(expected), "{body}: {err}");
            assert!(!err.contains("c2VjcmV0"), "{err}");
        }
        // A missing REGISTRY_AUTH_FILE is no credential (skopeo's way),
        // with a warning.
        std::fs::remove_file(&named).unwrap();
        assert!(resolve("r.io", "app", &vars).unwrap().is_anonymous());
    }

    #[test]
    fn identity_tokens_and_helpers_name_their_source() {
        let _spawning = SPAWN.lock();
        let dir = tempfile::tempdir().unwrap();
        let docker = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjo=","identitytoken":"rt"}},
               "credHelpers":{"ecr.io":"imglife-unit-test-absent"}}"#,
        )
        .unwrap();
        let vars = [("DOCKER_CONFIG", docker.as_str())];
        let c = resolve("docker.io", "library/alpine", &vars).unwrap();
        assert!(matches!(c.auth, RegistryAuth::IdentityToken(ref t) if t == "rt"));
        assert_eq!(
            c.source,
            format!(
                "the identity token of Docker config {docker}/config.json (auths \
                 \"https://index.docker.io/v1/\")"
            )
        );
        assert!(!format!("{c:?}").contains("\"rt\""));
        let err = resolve("ecr.io", "app", &vars).unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-imglife-unit-test-absent is not on PATH")
                && err.contains("credHelpers")
                && err.contains(&docker),
            "{err}"
        );
    }
}
