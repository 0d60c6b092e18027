//! A daemon address as `DOCKER_HOST` (or a context's `Host`) writes it.

use std::fmt;
use std::path::PathBuf;

/// The daemon's default socket on Linux.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// The port of `tcp://HOST` without one, as the docker CLI assumes (also
/// with TLS on).
pub const DEFAULT_TCP_PORT: u16 = 2375;
/// The port a daemon with TLS listens on by convention (GitLab's
/// `docker:dind`: `tcp://docker:2376`).
pub const TLS_PORT: u16 = 2376;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    Unix(PathBuf),
    /// `HOST:PORT` of `tcp://HOST[:PORT]`.
    Tcp(String),
}

/// A daemon address or connection setting that cannot be used; the message
/// names the variable or file and says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostError {}

impl DockerHost {
    /// `DOCKER_HOST` when set and not empty, else the default socket.
    pub fn from_env(value: Option<&str>) -> Result<Self, HostError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(value) => Self::parse(value, "DOCKER_HOST"),
            None => Ok(Self::Unix(PathBuf::from(DEFAULT_SOCKET))),
        }
    }

    /// `unix:///path` or `tcp://HOST[:PORT]`; `what` names the setting in
    /// errors (`DOCKER_HOST`, `docker context "ci" Endpoints.docker.Host`).
    pub fn parse(value: &str, what: &str) -> Result<Self, HostError> {
        if let Some(path) = value.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(HostError(format!(
                    "{what}={value}: the socket path is empty"
                )));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        if let Some(address) = value
            .strip_prefix("tcp://")
            .or_else(|| value.strip_prefix("http://"))
        {
            let address = address.trim_end_matches('/');
            if address.is_empty() || address.contains('/') {
                return Err(HostError(format!(
                    "{what}={value}: expected tcp://HOST:PORT"
                )));
            }
            return Ok(Self::Tcp(with_port(address)));
        }
        Err(HostError(format!(
            "{what}={value}: only unix:///path/to/docker.sock and tcp://HOST:PORT are supported"
        )))
    }

    /// The port of a TCP address.
    pub fn port(&self) -> Option<u16> {
        match self {
            Self::Unix(_) => None,
            Self::Tcp(address) => address.rsplit_once(':')?.1.parse().ok(),
        }
    }
}

/// `HOST` gets the default port; `HOST:PORT` and `[v6]:PORT` stay.
fn with_port(address: &str) -> String {
    let after_host = address.rsplit_once(']').map_or(address, |(_, rest)| rest);
    if after_host.contains(':') {
        address.to_owned()
    } else {
        format!("{address}:{DEFAULT_TCP_PORT}")
    }
}

impl fmt::Display for DockerHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Tcp(address) => write!(f, "tcp://{address}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_host() {
        assert_eq!(
            DockerHost::from_env(None),
            Ok(DockerHost::Unix(DEFAULT_SOCKET.into()))
        );
        assert_eq!(
            DockerHost::from_env(Some("unix:///tmp/d.sock")),
            Ok(DockerHost::Unix("/tmp/d.sock".into()))
        );
        assert_eq!(
            DockerHost::from_env(Some("tcp://127.0.0.1:2375")),
            Ok(DockerHost::Tcp("127.0.0.1:2375".into()))
        );
        assert!(DockerHost::from_env(Some("ssh://me@host")).is_err());
        assert!(DockerHost::from_env(Some("unix://")).is_err());
    }

    #[test]
    fn a_tcp_host_without_port_gets_2375_as_with_the_docker_cli() {
        let host = DockerHost::parse("tcp://docker", "DOCKER_HOST").expect("parses");
        assert_eq!(host, DockerHost::Tcp("docker:2375".into()));
        assert_eq!(host.port(), Some(2375));
        assert_eq!(
            DockerHost::parse("tcp://[::1]", "DOCKER_HOST"),
            Ok(DockerHost::Tcp("[::1]:2375".into()))
        );
        assert_eq!(
            DockerHost::parse("tcp://[::1]:2376", "DOCKER_HOST").map(|h| h.port()),
            Ok(Some(2376))
        );
    }

    #[test]
    fn errors_name_the_setting() {
        let error = DockerHost::parse(
            "ssh://me@box",
            "docker context \"ci\" Endpoints.docker.Host",
        )
        .expect_err("ssh is not supported");
        assert!(
            error
                .0
                .starts_with("docker context \"ci\" Endpoints.docker.Host=ssh://me@box:"),
            "{error}"
        );
    }
}
