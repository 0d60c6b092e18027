//! `DockerSource`: the `ImageMetadataSource` port over the Engine API.

use std::time::Duration;

use async_trait::async_trait;
use imglife_domain::ImageRef;
use imglife_domain::metadata::{ImageMetadata, MetadataError, Wanted};
use imglife_domain::ports::ImageMetadataSource;

use imglife_http::{BodyError, Cause, CauseKind, ClientOptions, Transport};

use crate::host::DockerHost;
use crate::inspect::{self, ImageInspect};

/// The most of an image description read: a few KiB usually; many tags
/// and a long history stay far below this.
const INSPECT_LIMIT: usize = 4 * 1024 * 1024;

/// The newest Engine API version this client is written against; older
/// daemons are spoken to in their own version.
const CLIENT_API: (u32, u32) = (1, 41);
/// The oldest version whose image inspect has everything read here.
const MIN_API: (u32, u32) = (1, 24);

#[derive(Debug)]
pub struct DockerSource {
    host: DockerHost,
    timeout: Duration,
    /// Built on first use: with `--source auto` the daemon is only asked
    /// when the registry cannot answer, and building a client is not free.
    http: std::sync::OnceLock<reqwest::Client>,
    /// `http://docker` for a unix socket (the host part is ignored), or
    /// `http://HOST:PORT`.
    base: String,
}

impl DockerSource {
    pub fn new(host: DockerHost, timeout: Duration) -> Self {
        let base = match &host {
            DockerHost::Unix(_) => "http://docker".to_owned(),
            DockerHost::Tcp(address) => format!("http://{address}"),
        };
        Self {
            host,
            timeout,
            http: std::sync::OnceLock::new(),
            base,
        }
    }

    fn client(&self) -> Result<&reqwest::Client, MetadataError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let transport = match &self.host {
            DockerHost::Unix(path) => Transport::UnixSocket(path.clone()),
            // Plain HTTP only (TLS daemons are not supported): no trust
            // roots to load.
            DockerHost::Tcp(_) => Transport::PlainOnly,
        };
        let options = ClientOptions::new(transport, self.timeout.min(Duration::from_secs(10)))
            .request_timeout(self.timeout);
        let client = imglife_http::client(&options).map_err(|e| {
            MetadataError::Unreachable(format!("cannot set up the Docker client: {e}"))
        })?;
        Ok(self.http.get_or_init(|| client))
    }

    fn unreachable(&self, error: &reqwest::Error) -> MetadataError {
        let cause = Cause::of(error);
        let hint = if cause.text.contains("ermission denied") {
            "the socket is not accessible to this user (join the docker group, or set DOCKER_HOST)"
        } else if cause.kind == CauseKind::Timeout {
            "the daemon did not answer in time"
        } else {
            "is the daemon running? set DOCKER_HOST to its socket (unix:///path) or address (tcp://HOST:PORT)"
        };
        MetadataError::Unreachable(format!(
            "cannot reach the Docker daemon at DOCKER_HOST={}: {cause}; {hint}",
            self.host
        ))
    }

    /// The API version to use: the daemon's (`API-Version` of `/_ping`),
    /// capped at the client's.
    async fn negotiate(&self) -> Result<(u32, u32), MetadataError> {
        let response = self
            .client()?
            .get(format!("{}/_ping", self.base))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let server = response
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_version)
            .unwrap_or(MIN_API);
        if server < MIN_API {
            return Err(MetadataError::Invalid(format!(
                "the Docker daemon at {} speaks API {}.{}; imglife needs {}.{} or newer",
                self.host, server.0, server.1, MIN_API.0, MIN_API.1
            )));
        }
        Ok(server.min(CLIENT_API))
    }
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[async_trait]
impl ImageMetadataSource for DockerSource {
    fn describe(&self, _image: &ImageRef) -> String {
        format!("docker daemon {}", self.host)
    }

    async fn inspect(
        &self,
        image: &ImageRef,
        wanted: Wanted,
    ) -> Result<ImageMetadata, MetadataError> {
        let (major, minor) = self.negotiate().await?;
        // The name goes into the path as one piece; the daemon's router
        // takes everything between /images/ and /json, slashes included.
        let url = format!("{}/v{major}.{minor}/images/{image}/json", self.base);
        let response = self
            .client()?
            .get(url)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let body = imglife_http::read_limited(response, INSPECT_LIMIT)
            .await
            .map_err(|e| match e {
                BodyError::Transport(e) => self.unreachable(&e),
                too_large @ BodyError::TooLarge { .. } => MetadataError::Invalid(format!(
                    "the Docker daemon at {}: the description of {image} is {too_large}",
                    self.host
                )),
            })?;
        match status.as_u16() {
            200 => {}
            404 => {
                return Err(MetadataError::NotFound(format!(
                    "image {image} is not present in the Docker daemon at {}; build or pull it first",
                    self.host
                )));
            }
            code => {
                let message = imglife_http::message::error_text(&body);
                return Err(MetadataError::Invalid(format!(
                    "the Docker daemon at {} answered {code} for {image}: {message}",
                    self.host
                )));
            }
        }
        let parsed: ImageInspect = serde_json::from_slice(&body).map_err(|e| {
            MetadataError::Invalid(format!(
                "the Docker daemon's description of {image} does not parse: {e}"
            ))
        })?;
        Ok(inspect::metadata(image, &parsed, wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("1.41"), Some((1, 41)));
        assert!(parse_version("1.9").is_some_and(|v| v < (1, 24)));
        assert_eq!(
            parse_version("1.53").map(|v| v.min(CLIENT_API)),
            Some((1, 41))
        );
        assert_eq!(parse_version("junk"), None);
    }
}
