//! Which daemon imglife talks to, and how, by the docker CLI's rules:
//!
//! 1. `DOCKER_HOST` (not empty): that address; TLS when
//!    `DOCKER_TLS_VERIFY` is not empty, with `ca.pem`, `cert.pem` and
//!    `key.pem` of `DOCKER_CERT_PATH` (default: the configuration
//!    directory). `DOCKER_CERT_PATH` alone turns nothing on, as with the
//!    CLI.
//! 2. else the context named by `DOCKER_CONTEXT`, else by `currentContext`
//!    of `$DOCKER_CONFIG/config.json` (`~/.docker/config.json`): its
//!    endpoint, and its own TLS files when it has them (the TLS variables
//!    do not apply to a named context).
//! 3. else (or for the context `default`): the default socket, or
//!    `tcp://localhost:2376` when `DOCKER_TLS_VERIFY` is set.
//!
//! TLS applies to `tcp://` only. imglife always verifies the daemon's
//! certificate: `DOCKER_TLS` without `DOCKER_TLS_VERIFY`, and a context's
//! `SkipTLSVerify`, are refused rather than followed.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::context::{self, ContextError};
use crate::host::{DEFAULT_SOCKET, DockerHost, HostError, TLS_PORT};
use crate::tls::TlsFiles;

/// How the endpoint was chosen, for the `Source` line and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `DOCKER_HOST`.
    DockerHost,
    /// Nothing named a daemon: the default context.
    Default,
    /// A named context; `chosen_by` says what named it.
    Context { name: String, chosen_by: String },
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: DockerHost,
    /// Mutual TLS; only for `tcp://`.
    pub tls: Option<TlsFiles>,
    pub via: Via,
    /// `DOCKER_CERT_PATH` is set while TLS is off (no `DOCKER_TLS_VERIFY`):
    /// worth a word when the daemon turns out to want TLS.
    pub cert_path_without_verify: bool,
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// What to do about certificates named by the TLS variables.
const CERT_PATH_FIX: &str = "DOCKER_CERT_PATH must name the directory holding the daemon's CA \
     (ca.pem) and the client's certificate and key (cert.pem, key.pem); with GitLab's \
     docker:dind that is $DOCKER_TLS_CERTDIR/client, e.g. /certs/client, shared with the job";

impl Endpoint {
    /// A daemon at `host` named by `DOCKER_HOST`, without TLS.
    pub fn plain(host: DockerHost) -> Self {
        Self {
            host,
            tls: None,
            via: Via::DockerHost,
            cert_path_without_verify: false,
        }
    }

    /// The endpoint the docker CLI would use in this environment (`env`
    /// reads a variable).
    pub fn resolve(env: Env<'_>) -> Result<Self, HostError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(value) = set("DOCKER_HOST") {
            let host = DockerHost::parse(value.trim(), "DOCKER_HOST")?;
            return default_context(env, host, Via::DockerHost);
        }
        let config = context::config_dir(env);
        let named = match set("DOCKER_CONTEXT") {
            Some(name) => Some((name.trim().to_owned(), "DOCKER_CONTEXT".to_owned())),
            None => config.as_deref().and_then(|dir| {
                context::current_context(dir).map(|name| {
                    let file = dir.join("config.json");
                    (name, format!("currentContext of {}", file.display()))
                })
            }),
        };
        match named {
            Some((name, chosen_by)) if name != context::DEFAULT => {
                let Some(config) = config else {
                    return Err(HostError(format!(
                        "docker context \"{name}\" ({chosen_by}) cannot be looked up: neither \
                         DOCKER_CONFIG nor HOME is set; set DOCKER_CONFIG to the directory \
                         holding contexts/, or DOCKER_HOST"
                    )));
                };
                named_context(&config, name, chosen_by)
            }
            _ => {
                let tls_on = set("DOCKER_TLS_VERIFY").is_some() || set("DOCKER_TLS").is_some();
                let host = if tls_on {
                    DockerHost::Tcp(format!("localhost:{TLS_PORT}"))
                } else {
                    DockerHost::Unix(PathBuf::from(DEFAULT_SOCKET))
                };
                default_context(env, host, Via::Default)
            }
        }
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The endpoint for the summary's `Source` line:
    /// `tcp://docker:2376 (TLS)`, `unix:///… (docker context "desktop")`.
    pub fn describe(&self) -> String {
        let mut notes = Vec::new();
        if let Via::Context { name, .. } = &self.via {
            notes.push(format!("docker context \"{name}\""));
        }
        if self.is_tls() {
            notes.push("TLS".to_owned());
        }
        if notes.is_empty() {
            self.host.to_string()
        } else {
            format!("{} ({})", self.host, notes.join(", "))
        }
    }

    /// The endpoint in an error message, with where it came from:
    /// `DOCKER_HOST=tcp://docker:2376 (TLS, DOCKER_CERT_PATH=/certs/client)`.
    pub fn named(&self) -> String {
        let tls = self
            .tls
            .as_ref()
            .map(|t| format!(", TLS with {}", t.label))
            .unwrap_or_default();
        match &self.via {
            Via::DockerHost => match &self.tls {
                Some(t) => format!("DOCKER_HOST={} (TLS, {})", self.host, t.label),
                None => format!("DOCKER_HOST={}", self.host),
            },
            Via::Default => format!("{} (DOCKER_HOST is unset{tls})", self.host),
            Via::Context { name, chosen_by } => {
                format!(
                    "{} of docker context \"{name}\" ({chosen_by}{})",
                    self.host,
                    if self.is_tls() { ", TLS" } else { "" }
                )
            }
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `host` with the TLS variables, as the CLI's default context.
fn default_context(env: Env<'_>, host: DockerHost, via: Via) -> Result<Endpoint, HostError> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let cert_path = set("DOCKER_CERT_PATH");
    let verify = set("DOCKER_TLS_VERIFY").is_some();
    let tls_only = set("DOCKER_TLS").is_some();
    let mut endpoint = Endpoint {
        host,
        tls: None,
        via,
        cert_path_without_verify: false,
    };
    if matches!(endpoint.host, DockerHost::Unix(_)) {
        // The CLI ignores TLS settings for a socket.
        return Ok(endpoint);
    }
    if !verify {
        if tls_only {
            return Err(HostError(format!(
                "DOCKER_TLS is set without DOCKER_TLS_VERIFY: that asks for TLS without \
                 checking the daemon's certificate, which imglife does not do; set \
                 DOCKER_TLS_VERIFY=1 and {CERT_PATH_FIX}"
            )));
        }
        endpoint.cert_path_without_verify = cert_path.is_some();
        return Ok(endpoint);
    }
    let (dir, label) = match cert_path {
        Some(path) => {
            let path = path.trim().to_owned();
            (PathBuf::from(&path), format!("DOCKER_CERT_PATH={path}"))
        }
        None => match context::config_dir(env) {
            Some(dir) => {
                let label = format!("DOCKER_CERT_PATH (unset, so {})", dir.display());
                (dir, label)
            }
            None => {
                return Err(HostError(format!(
                    "DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH is not (nor DOCKER_CONFIG or \
                     HOME, its default); {CERT_PATH_FIX}"
                )));
            }
        },
    };
    let tls =
        TlsFiles::read(&dir, &label).map_err(|e| HostError(format!("{e}; {CERT_PATH_FIX}")))?;
    endpoint.tls = Some(tls);
    Ok(endpoint)
}

/// The context `name` of the store under `config`.
fn named_context(config: &Path, name: String, chosen_by: String) -> Result<Endpoint, HostError> {
    let fix_name = if chosen_by == "DOCKER_CONTEXT" {
        "name an existing one in DOCKER_CONTEXT (docker context ls)"
    } else {
        "switch with docker context use, or set DOCKER_CONTEXT"
    };
    let found = context::load(config, &name).map_err(|e| match e {
        ContextError::NotFound { meta } => HostError(format!(
            "docker context \"{name}\" ({chosen_by}) does not exist: {} is missing; {fix_name}, \
             or set DOCKER_HOST",
            meta.display()
        )),
        ContextError::Unusable(why) => HostError(format!(
            "docker context \"{name}\" ({chosen_by}) cannot be used: {why}"
        )),
    })?;
    let host = match &found.host {
        Some(value) => DockerHost::parse(
            value,
            &format!("docker context \"{name}\" ({chosen_by}) Endpoints.docker.Host"),
        )?,
        None => DockerHost::Unix(PathBuf::from(DEFAULT_SOCKET)),
    };
    let mut endpoint = Endpoint {
        host,
        tls: None,
        via: Via::Context {
            name: name.clone(),
            chosen_by: chosen_by.clone(),
        },
        cert_path_without_verify: false,
    };
    if matches!(endpoint.host, DockerHost::Unix(_)) {
        return Ok(endpoint);
    }
    if found.skip_tls_verify {
        return Err(HostError(format!(
            "docker context \"{name}\" ({chosen_by}) has SkipTLSVerify set: imglife does not \
             talk to a daemon whose certificate it does not check; give the context the \
             daemon's CA and a client certificate (docker context update {name} --docker \
             \"host=…,ca=…/ca.pem,cert=…/cert.pem,key=…/key.pem\")"
        )));
    }
    if found.tls_dir.is_dir() {
        let label = format!("docker context \"{name}\" ({})", found.tls_dir.display());
        let tls = TlsFiles::read(&found.tls_dir, &label).map_err(|e| {
            HostError(format!(
                "{e}; the context's TLS files are written by docker context create/update \
                 --docker \"host=…,ca=…,cert=…,key=…\""
            ))
        })?;
        endpoint.tls = Some(tls);
    }
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----\n";

    struct World {
        dir: tempfile::TempDir,
        vars: Vec<(String, String)>,
    }

    impl World {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let home = dir.path().join("home");
            std::fs::create_dir_all(&home).expect("home");
            Self {
                vars: vec![("HOME".to_owned(), home.display().to_string())],
                dir,
            }
        }

        fn path(&self, relative: &str) -> PathBuf {
            self.dir.path().join(relative)
        }

        fn set(mut self, name: &str, value: &str) -> Self {
            let value = value.replace("{}", &self.dir.path().display().to_string());
            self.vars.push((name.to_owned(), value));
            self
        }

        fn write(self, relative: &str, text: &str) -> Self {
            let path = self.path(relative);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
            self
        }

        fn certs(self, relative: &str) -> Self {
            self.write(&format!("{relative}/ca.pem"), CERT)
                .write(&format!("{relative}/cert.pem"), CERT)
                .write(&format!("{relative}/key.pem"), KEY)
        }

        fn context(self, name: &str, meta: &str) -> Self {
            let id = context::id(name);
            self.write(&format!("home/.docker/contexts/meta/{id}/meta.json"), meta)
        }

        fn resolve(&self) -> Result<Endpoint, HostError> {
            let env = |name: &str| {
                self.vars
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            Endpoint::resolve(&env)
        }
    }

    #[test]
    fn nothing_set_is_the_default_socket() {
        let e = World::new().resolve().expect("resolves");
        assert_eq!(e.host, DockerHost::Unix(DEFAULT_SOCKET.into()));
        assert_eq!(e.via, Via::Default);
        assert!(!e.is_tls());
        assert_eq!(
            e.named(),
            "unix:///var/run/docker.sock (DOCKER_HOST is unset)"
        );
    }

    #[test]
    fn docker_tls_verify_reads_docker_cert_path() {
        let w = World::new()
            .certs("certs/client")
            .set("DOCKER_HOST", "tcp://docker:2376")
            .set("DOCKER_TLS_VERIFY", "1")
            .set("DOCKER_CERT_PATH", "{}/certs/client");
        let e = w.resolve().expect("resolves");
        assert_eq!(e.host, DockerHost::Tcp("docker:2376".into()));
        let tls = e.tls.as_ref().expect("TLS");
        assert_eq!(tls.ca, CERT.as_bytes());
        assert_eq!(e.describe(), "tcp://docker:2376 (TLS)");
        assert!(
            e.named()
                .starts_with("DOCKER_HOST=tcp://docker:2376 (TLS, DOCKER_CERT_PATH=/"),
            "{}",
            e.named()
        );
        // Any non-empty value turns verification on, "0" too.
        let w = w.set("DOCKER_TLS_VERIFY", "0");
        assert!(w.resolve().expect("resolves").is_tls());
    }

    #[test]
    fn the_default_cert_path_is_the_config_dir() {
        let w = World::new()
            .certs("home/.docker")
            .set("DOCKER_HOST", "tcp://docker:2376")
            .set("DOCKER_TLS_VERIFY", "1");
        assert!(w.resolve().expect("resolves").is_tls());
        let w = World::new()
            .certs("cfg")
            .set("DOCKER_CONFIG", "{}/cfg")
            .set("DOCKER_HOST", "tcp://docker:2376")
            .set("DOCKER_TLS_VERIFY", "1");
        assert!(w.resolve().expect("resolves").is_tls());
    }

    #[test]
    fn tls_verify_without_docker_host_means_localhost_2376() {
        let w = World::new()
            .certs("home/.docker")
            .set("DOCKER_TLS_VERIFY", "1");
        let e = w.resolve().expect("resolves");
        assert_eq!(e.host, DockerHost::Tcp("localhost:2376".into()));
        assert!(e.is_tls());
    }

    #[test]
    fn cert_path_alone_keeps_plain_http_as_the_cli_does() {
        let w = World::new()
            .certs("certs")
            .set("DOCKER_HOST", "tcp://docker:2376")
            .set("DOCKER_CERT_PATH", "{}/certs");
        let e = w.resolve().expect("resolves");
        assert!(!e.is_tls());
        assert!(e.cert_path_without_verify);
    }

    #[test]
    fn tls_settings_do_not_apply_to_a_socket() {
        let w = World::new()
            .set("DOCKER_HOST", "unix:///run/d.sock")
            .set("DOCKER_TLS_VERIFY", "1")
            .set("DOCKER_CERT_PATH", "/nonexistent");
        assert!(!w.resolve().expect("resolves").is_tls());
    }

    #[test]
    fn tls_errors_name_the_variable_and_the_file() {
        let w = World::new()
            .set("DOCKER_HOST", "tcp://docker:2376")
            .set("DOCKER_TLS_VERIFY", "1")
            .set("DOCKER_CERT_PATH", "/certs/client");
        let error = w.resolve().expect_err("no files").0;
        assert!(
            error.starts_with("DOCKER_CERT_PATH=/certs/client: ca.pem cannot be read"),
            "{error}"
        );
        assert!(error.contains("$DOCKER_TLS_CERTDIR/client"), "{error}");

        let w = World::new()
            .set("DOCKER_HOST", "tcp://docker:2376")
            .set("DOCKER_TLS", "1");
        let error = w.resolve().expect_err("unverified TLS").0;
        assert!(
            error.starts_with("DOCKER_TLS is set without DOCKER_TLS_VERIFY"),
            "{error}"
        );
    }

    #[test]
    fn docker_host_beats_docker_context() {
        let w = World::new()
            .set("DOCKER_CONTEXT", "missing")
            .set("DOCKER_HOST", "unix:///d.sock");
        let e = w.resolve().expect("DOCKER_HOST wins");
        assert_eq!(e.host, DockerHost::Unix("/d.sock".into()));
        assert_eq!(e.via, Via::DockerHost);
    }

    #[test]
    fn docker_context_then_current_context() {
        let meta = |host: &str| {
            format!(
                r#"{{"Name":"x","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            )
        };
        let w = World::new()
            .context("desktop", &meta("unix:///home/me/.docker/run/docker.sock"))
            .context("ci", &meta("tcp://10.0.0.5:2376"))
            .certs(&format!(
                "home/.docker/contexts/tls/{}/docker",
                context::id("ci")
            ))
            .write(
                "home/.docker/config.json",
                r#"{"currentContext":"desktop"}"#,
            );
        let e = w.resolve().expect("currentContext");
        assert_eq!(
            e.host,
            DockerHost::Unix("/home/me/.docker/run/docker.sock".into())
        );
        assert_eq!(
            e.describe(),
            "unix:///home/me/.docker/run/docker.sock (docker context \"desktop\")"
        );
        assert!(e.named().contains("currentContext of "), "{}", e.named());

        let w = w.set("DOCKER_CONTEXT", "ci");
        let e = w.resolve().expect("DOCKER_CONTEXT");
        assert_eq!(e.host, DockerHost::Tcp("10.0.0.5:2376".into()));
        assert!(e.is_tls(), "the context's own TLS files");
        assert_eq!(
            e.describe(),
            "tcp://10.0.0.5:2376 (docker context \"ci\", TLS)"
        );
        assert_eq!(
            e.named(),
            "tcp://10.0.0.5:2376 of docker context \"ci\" (DOCKER_CONTEXT, TLS)"
        );

        // "default" is no stored context: the default socket.
        let e = w
            .set("DOCKER_CONTEXT", "default")
            .resolve()
            .expect("default");
        assert_eq!(e.host, DockerHost::Unix(DEFAULT_SOCKET.into()));
    }

    #[test]
    fn a_named_context_ignores_the_tls_variables() {
        let meta = r#"{"Name":"plain","Endpoints":{"docker":{"Host":"tcp://10.0.0.6:2375"}}}"#;
        let w = World::new()
            .context("plain", meta)
            .set("DOCKER_CONTEXT", "plain")
            .set("DOCKER_TLS_VERIFY", "1")
            .set("DOCKER_CERT_PATH", "/nonexistent");
        let e = w.resolve().expect("resolves");
        assert!(!e.is_tls());
    }

    #[test]
    fn a_missing_context_is_an_error_naming_it() {
        let w = World::new().set("DOCKER_CONTEXT", "nope");
        let error = w.resolve().expect_err("missing").0;
        assert!(
            error.starts_with("docker context \"nope\" (DOCKER_CONTEXT) does not exist: "),
            "{error}"
        );
        assert!(error.contains(&context::id("nope")), "{error}");

        let w = World::new().write("home/.docker/config.json", r#"{"currentContext":"gone"}"#);
        let error = w.resolve().expect_err("missing").0;
        assert!(
            error.starts_with("docker context \"gone\" (currentContext of "),
            "{error}"
        );
    }

    #[test]
    fn skip_tls_verify_and_unsupported_hosts_are_refused() {
        let w = World::new()
            .context(
                "lax",
                r#"{"Name":"lax","Endpoints":{"docker":{"Host":"tcp://h:2376","SkipTLSVerify":true}}}"#,
            )
            .set("DOCKER_CONTEXT", "lax");
        let error = w.resolve().expect_err("refused").0;
        assert!(error.contains("has SkipTLSVerify set"), "{error}");

        let w = World::new()
            .context(
                "remote",
                r#"{"Name":"remote","Endpoints":{"docker":{"Host":"ssh://me@box"}}}"#,
            )
            .set("DOCKER_CONTEXT", "remote");
        let error = w.resolve().expect_err("ssh").0;
        assert!(
            error.starts_with(
                "docker context \"remote\" (DOCKER_CONTEXT) Endpoints.docker.Host=ssh://me@box"
            ),
            "{error}"
        );
    }

    #[test]
    fn broken_context_tls_files_are_named() {
        let id = context::id("ci");
        let w = World::new()
            .context(
                "ci",
                r#"{"Name":"ci","Endpoints":{"docker":{"Host":"tcp://h:2376"}}}"#,
            )
            .write(
                &format!("home/.docker/contexts/tls/{id}/docker/ca.pem"),
                CERT,
            )
            .set("DOCKER_CONTEXT", "ci");
        let error = w.resolve().expect_err("no client cert").0;
        assert!(error.starts_with("docker context \"ci\" ("), "{error}");
        assert!(error.contains(&id), "{error}");
        assert!(
            error.contains("cert.pem and key.pem are missing"),
            "{error}"
        );
    }
}
