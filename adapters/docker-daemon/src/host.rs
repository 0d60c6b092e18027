//! `DOCKER_HOST`: where the daemon listens.

use std::fmt;
use std::path::PathBuf;

/// The daemon's default socket on Linux.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    Unix(PathBuf),
    /// `tcp://host:port` (plain HTTP; TLS daemons are not supported).
    Tcp(String),
}

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
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Self::Unix(PathBuf::from(DEFAULT_SOCKET)));
        };
        if let Some(path) = value.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(HostError(format!(
                    "DOCKER_HOST={value}: the socket path is empty"
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
                    "DOCKER_HOST={value}: expected tcp://HOST:PORT"
                )));
            }
            return Ok(Self::Tcp(address.to_owned()));
        }
        Err(HostError(format!(
            "DOCKER_HOST={value}: only unix:///path/to/docker.sock and tcp://HOST:PORT are supported"
        )))
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
}
