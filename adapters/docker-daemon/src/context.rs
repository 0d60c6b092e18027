//! Docker contexts as the docker CLI stores them (`docker context create`,
//! Docker Desktop, rootless, colima):
//!
//! ```text
//! $DOCKER_CONFIG/config.json                                  {"currentContext": "ci"}
//! $DOCKER_CONFIG/contexts/meta/<sha256 of name>/meta.json     {"Name": "ci", "Endpoints": {"docker": {"Host": "tcp://…", "SkipTLSVerify": false}}}
//! $DOCKER_CONFIG/contexts/tls/<sha256 of name>/docker/{ca,cert,key}.pem
//! ```
//!
//! Go reads JSON keys case-insensitively; so does this module.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::files::{ReadError, read_small};

/// The most read of `config.json`: a few KiB usually, more with many
/// `auths` entries.
pub const CONFIG_LIMIT: u64 = 1024 * 1024;
/// The most read of a context's `meta.json` (a name, a description, one
/// endpoint).
pub const META_LIMIT: u64 = 64 * 1024;

/// The context that is not stored: `DOCKER_HOST` and the TLS variables,
/// else the default socket.
pub const DEFAULT: &str = "default";

/// The directory of the docker client's configuration: `DOCKER_CONFIG`,
/// else `~/.docker`.
pub fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    set("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| Path::new(&home).join(".docker")))
}

/// `currentContext` of `config.json`, when the file exists and names one.
/// A file that cannot be read or parsed is skipped, as the docker CLI does
/// (it warns; here it is said at info level: with `--source auto` the
/// daemon is often not asked at all, and the registry source already warns
/// about a broken file).
pub fn current_context(config: &Path) -> Option<String> {
    let path = config.join("config.json");
    let bytes = match read_small(&path, CONFIG_LIMIT) {
        Ok(bytes) => bytes,
        Err(ReadError::Missing) => return None,
        Err(e) => {
            tracing::info!(file = %path.display(), "the docker configuration {e}; its currentContext is not read");
            return None;
        }
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(document) => field(&document, "currentContext")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned),
        Err(e) => {
            tracing::info!(file = %path.display(), "the docker configuration does not parse ({e}); its currentContext is not read");
            None
        }
    }
}

/// The directory name of a context in the store: the lower-case hex
/// SHA-256 of its name.
pub fn id(name: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A context's docker endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEndpoint {
    /// `Endpoints.docker.Host`; `None` when absent or empty (the default
    /// socket).
    pub host: Option<String>,
    pub skip_tls_verify: bool,
    /// `contexts/tls/<id>/docker`, whether it exists or not.
    pub tls_dir: PathBuf,
    /// The `meta.json` read, for messages.
    pub meta: PathBuf,
}

/// Why a context could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextError {
    /// No `meta.json` under the name's id.
    NotFound {
        meta: PathBuf,
    },
    Unusable(String),
}

/// Reads the context `name` of the store under `config`.
pub fn load(config: &Path, name: &str) -> Result<ContextEndpoint, ContextError> {
    let id = id(name);
    let meta = config
        .join("contexts")
        .join("meta")
        .join(&id)
        .join("meta.json");
    let bytes = match read_small(&meta, META_LIMIT) {
        Ok(bytes) => bytes,
        Err(ReadError::Missing) => return Err(ContextError::NotFound { meta }),
        Err(e) => {
            return Err(ContextError::Unusable(format!("{} {e}", meta.display())));
        }
    };
    let document: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ContextError::Unusable(format!("{} does not parse: {e}", meta.display())))?;
    let docker = field(&document, "Endpoints")
        .and_then(|endpoints| field(endpoints, "docker"))
        .ok_or_else(|| {
            ContextError::Unusable(format!(
                "{} has no docker endpoint (Endpoints.docker)",
                meta.display()
            ))
        })?;
    let host = field(docker, "Host")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    let skip_tls_verify = field(docker, "SkipTLSVerify")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(ContextEndpoint {
        host,
        skip_tls_verify,
        tls_dir: config.join("contexts").join("tls").join(&id).join("docker"),
        meta,
    })
}

/// `key` of an object, matched exactly first, then ignoring case as Go's
/// `encoding/json` does.
fn field<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(key).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_hex_sha256_of_the_name() {
        // As `docker context create imglife-ci` names its directories.
        assert_eq!(
            id("imglife-ci"),
            "237739b9dcc61c91e163b064f083aad46064f5d76254a2e47a3cad3e321c5088"
        );
    }

    #[test]
    fn config_dir_is_docker_config_else_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            config_dir(&env(&[("DOCKER_CONFIG", "/c"), ("HOME", "/h")])),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            config_dir(&env(&[("DOCKER_CONFIG", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.docker"))
        );
        assert_eq!(config_dir(&env(&[])), None);
    }

    fn write(dir: &Path, relative: &str, text: &str) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn reads_current_context_and_the_endpoint_case_insensitively() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path();
        assert_eq!(current_context(config), None, "no config.json");
        write(
            config,
            "config.json",
            r#"{"auths":{},"currentcontext":"ci"}"#,
        );
        assert_eq!(current_context(config).as_deref(), Some("ci"));
        write(config, "config.json", "{not json");
        assert_eq!(current_context(config), None, "skipped, as the CLI does");

        assert!(matches!(
            load(config, "ci"),
            Err(ContextError::NotFound { meta }) if meta.ends_with(format!("{}/meta.json", id("ci")))
        ));
        write(
            config,
            &format!("contexts/meta/{}/meta.json", id("ci")),
            r#"{"name":"ci","metadata":{},"endpoints":{"docker":{"host":"tcp://10.0.0.5:2376","skipTLSVerify":true}}}"#,
        );
        let endpoint = load(config, "ci").expect("loads");
        assert_eq!(endpoint.host.as_deref(), Some("tcp://10.0.0.5:2376"));
        assert!(endpoint.skip_tls_verify);
        assert_eq!(
            endpoint.tls_dir,
            config.join(format!("contexts/tls/{}/docker", id("ci")))
        );

        write(
            config,
            &format!("contexts/meta/{}/meta.json", id("k8s")),
            r#"{"Name":"k8s","Endpoints":{"kubernetes":{}}}"#,
        );
        assert!(matches!(
            load(config, "k8s"),
            Err(ContextError::Unusable(m)) if m.contains("has no docker endpoint")
        ));
    }
}
