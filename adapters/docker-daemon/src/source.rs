//! `DockerSource`: the `ImageMetadataSource` port over the Engine API.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use imglife_domain::ImageRef;
use imglife_domain::metadata::{ImageMetadata, MetadataError, Wanted};
use imglife_domain::ports::ImageMetadataSource;

use imglife_http::{BodyError, Cause, CauseKind, ClientOptions, Transport};

use crate::endpoint::{Endpoint, Via};
use crate::host::{DockerHost, TLS_PORT};
use crate::inspect::{self, DigestCheck, ImageInspect};

/// The most of an image description read: a few KiB usually; many tags
/// and a long history stay far below this.
const INSPECT_LIMIT: usize = 4 * 1024 * 1024;
/// The most of the registry's descriptor read (`/distribution/…/json`): a
/// descriptor and one line per platform of an index.
const DISTRIBUTION_LIMIT: usize = 1024 * 1024;
/// The most of an unexpected `/_ping` answer read, for its message.
const PING_LIMIT: usize = 16 * 1024;

/// The newest Engine API version this client is written against; older
/// daemons are spoken to in their own version.
const CLIENT_API: (u32, u32) = (1, 41);
/// The oldest version whose image inspect has everything read here.
const MIN_API: (u32, u32) = (1, 24);
/// The first version with `/distribution/{name}/json`, through which the
/// daemon's digest is checked with the registry.
const DISTRIBUTION_API: (u32, u32) = (1, 30);

#[derive(Debug)]
pub struct DockerSource {
    endpoint: Endpoint,
    timeout: Duration,
    /// Built on first use: with `--source auto` the daemon is only asked
    /// when the registry cannot answer, and building a client is not free.
    http: std::sync::OnceLock<reqwest::Client>,
    /// `http://docker` for a unix socket (the host part is ignored),
    /// `http://HOST:PORT`, or `https://HOST:PORT` with TLS.
    base: String,
}

impl DockerSource {
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        let base = match &endpoint.host {
            DockerHost::Unix(_) => "http://docker".to_owned(),
            DockerHost::Tcp(address) if endpoint.is_tls() => format!("https://{address}"),
            DockerHost::Tcp(address) => format!("http://{address}"),
        };
        Self {
            endpoint,
            timeout,
            http: std::sync::OnceLock::new(),
            base,
        }
    }

    fn client(&self) -> Result<&reqwest::Client, MetadataError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let transport = match (&self.endpoint.host, &self.endpoint.tls) {
            (DockerHost::Unix(path), _) => Transport::UnixSocket(path.clone()),
            (DockerHost::Tcp(_), Some(tls)) => Transport::MutualTls {
                ca: tls.ca.clone(),
                identity: tls.identity.clone(),
            },
            // Plain HTTP: no trust roots to load.
            (DockerHost::Tcp(_), None) => Transport::PlainOnly,
        };
        let options = ClientOptions::new(transport, self.timeout.min(Duration::from_secs(10)))
            .request_timeout(self.timeout);
        let client = imglife_http::client(&options).map_err(|e| match &self.endpoint.tls {
            // The message names the file, never its contents.
            Some(tls) => MetadataError::Unreachable(format!(
                "{}: ca.pem, cert.pem or key.pem cannot be used: {e}; they must be the PEM \
                 files of the daemon's CA and of a client certificate with its key",
                tls.label
            )),
            None => MetadataError::Unreachable(format!("cannot set up the Docker client: {e}")),
        })?;
        Ok(self.http.get_or_init(|| client))
    }

    /// What to do when a plain-HTTP client meets a daemon that wants TLS.
    fn tls_hint(&self) -> String {
        match &self.endpoint.via {
            Via::Context { name, .. } => format!(
                "docker context \"{name}\" has no TLS files: add them (docker context update \
                 {name} --docker \"host=…,ca=…,cert=…,key=…\")"
            ),
            _ => {
                let alone = if self.endpoint.cert_path_without_verify {
                    " (DOCKER_CERT_PATH alone does not turn TLS on, as with the docker CLI)"
                } else {
                    ""
                };
                format!(
                    "set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the directory holding \
                     ca.pem, cert.pem and key.pem{alone}; with GitLab's docker:dind that is \
                     $DOCKER_TLS_CERTDIR/client, e.g. /certs/client"
                )
            }
        }
    }

    fn unreachable(&self, error: &reqwest::Error) -> MetadataError {
        let cause = Cause::of(error);
        let lower = cause.text.to_ascii_lowercase();
        let tls = self.endpoint.tls.as_ref();
        let hint = if lower.contains("permission denied") {
            "the socket is not accessible to this user (join the docker group, or set DOCKER_HOST)"
                .to_owned()
        } else if cause.kind == CauseKind::Timeout {
            "the daemon did not answer in time".to_owned()
        } else if let Some(tls) = tls
            && lower.contains("alert")
        {
            format!(
                "the daemon refused the client certificate of {}: cert.pem must be signed by \
                 the CA the daemon trusts (dockerd --tlscacert)",
                tls.label
            )
        } else if let Some(tls) = tls
            && cause.kind == CauseKind::Certificate
        {
            let address = match &self.endpoint.host {
                DockerHost::Tcp(address) => address.as_str(),
                DockerHost::Unix(_) => "",
            };
            format!(
                "the daemon's certificate is not signed by the CA in {}/ca.pem, or not issued \
                 for {address}: ca.pem must be the CA of this daemon (GitLab's docker:dind \
                 writes it to $DOCKER_TLS_CERTDIR/client/ca.pem)",
                tls.dir.display(),
            )
        } else if tls.is_some() && (lower.contains("corrupt") || lower.contains("contenttype")) {
            "the daemon does not speak TLS there (2375 is Docker's plain port)".to_owned()
        } else if tls.is_none() && self.endpoint.host.port() == Some(TLS_PORT) {
            format!(
                "is the daemon running? Note that {TLS_PORT} is the port of a daemon with TLS, \
                 and TLS is off: {}",
                self.tls_hint()
            )
        } else {
            match &self.endpoint.via {
                Via::Context { name, .. } => format!(
                    "is the daemon of docker context \"{name}\" running? (docker context \
                     inspect {name}; DOCKER_HOST or DOCKER_CONTEXT choose another)"
                ),
                _ => "is the daemon running? set DOCKER_HOST to its socket (unix:///path) or \
                      address (tcp://HOST:PORT)"
                    .to_owned(),
            }
        };
        MetadataError::Unreachable(format!(
            "cannot reach the Docker daemon at {}: {cause}; {hint}",
            self.endpoint.named()
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
        let status = response.status();
        let server = response
            .headers()
            .get("api-version")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_version);
        if !status.is_success() {
            let body = imglife_http::read_limited(response, PING_LIMIT)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&body);
            if text.contains("HTTP request to an HTTPS server") {
                return Err(MetadataError::Unreachable(format!(
                    "cannot talk to the Docker daemon at {} without TLS: it answers only over \
                     TLS; {}",
                    self.endpoint.named(),
                    self.tls_hint()
                )));
            }
            return Err(MetadataError::Unreachable(format!(
                "the Docker daemon at {} answered {} to /_ping: {}; is it a Docker daemon?",
                self.endpoint.named(),
                status.as_u16(),
                imglife_http::message::error_text(&body)
            )));
        }
        let server = server.unwrap_or(MIN_API);
        if server < MIN_API {
            return Err(MetadataError::Invalid(format!(
                "the Docker daemon at {} speaks API {}.{}; imglife needs {}.{} or newer",
                self.endpoint.named(),
                server.0,
                server.1,
                MIN_API.0,
                MIN_API.1
            )));
        }
        Ok(server.min(CLIENT_API))
    }

    /// Asks the daemon what the registry serves for `image`, to confirm
    /// one of its `RepoDigests` entries (see `inspect` for the rule). A
    /// failure only leaves the digest out; it never fails the inspection.
    async fn check_digest(
        &self,
        image: &ImageRef,
        api: (u32, u32),
        candidates: Vec<String>,
        started: Instant,
    ) -> DigestCheck {
        let unchecked =
            |candidates: Vec<String>, why: String| DigestCheck::Unchecked { candidates, why };
        if api < DISTRIBUTION_API {
            return unchecked(
                candidates,
                format!(
                    "the daemon speaks API {}.{}, and the check needs {}.{}",
                    api.0, api.1, DISTRIBUTION_API.0, DISTRIBUTION_API.1
                ),
            );
        }
        let remaining = self.timeout.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return unchecked(candidates, "the inspection timeout ran out".to_owned());
        }
        let Ok(client) = self.client() else {
            return unchecked(candidates, "no client".to_owned());
        };
        let url = format!(
            "{}/v{}.{}/distribution/{image}/json",
            self.base, api.0, api.1
        );
        let response = match client.get(url).timeout(remaining).send().await {
            Ok(response) => response,
            Err(e) => return unchecked(candidates, format!("{}", Cause::of(&e))),
        };
        let status = response.status();
        let body = match imglife_http::read_limited(response, DISTRIBUTION_LIMIT).await {
            Ok(body) => body,
            Err(e) => return unchecked(candidates, format!("the daemon's answer is {e}")),
        };
        if status.as_u16() != 200 {
            return unchecked(
                candidates,
                format!(
                    "the daemon answered {}: {}",
                    status.as_u16(),
                    imglife_http::message::error_text(&body)
                ),
            );
        }
        match serde_json::from_slice(&body) {
            Ok(answer) => DigestCheck::Answered { candidates, answer },
            Err(e) => unchecked(
                candidates,
                format!("the daemon's answer does not parse: {e}"),
            ),
        }
    }
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[async_trait]
impl ImageMetadataSource for DockerSource {
    fn describe(&self, _image: &ImageRef) -> String {
        format!("docker daemon {}", self.endpoint.describe())
    }

    async fn inspect(
        &self,
        image: &ImageRef,
        wanted: Wanted,
    ) -> Result<ImageMetadata, MetadataError> {
        let started = Instant::now();
        let api = self.negotiate().await?;
        let (major, minor) = api;
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
                    self.endpoint.named()
                )),
            })?;
        match status.as_u16() {
            200 => {}
            404 => {
                return Err(MetadataError::NotFound(format!(
                    "image {image} is not present in the Docker daemon at {}; build or pull it first",
                    self.endpoint.named()
                )));
            }
            code => {
                let message = imglife_http::message::error_text(&body);
                return Err(MetadataError::Invalid(format!(
                    "the Docker daemon at {} answered {code} for {image}: {message}",
                    self.endpoint.named()
                )));
            }
        }
        let parsed: ImageInspect = serde_json::from_slice(&body).map_err(|e| {
            MetadataError::Invalid(format!(
                "the Docker daemon's description of {image} does not parse: {e}"
            ))
        })?;
        let candidates = inspect::repo_digests(image, &parsed);
        let check = if image.digest().is_some() {
            DigestCheck::ByReference
        } else if candidates.is_empty() {
            DigestCheck::NoCandidate
        } else {
            self.check_digest(image, api, candidates, started).await
        };
        let outcome = inspect::metadata(image, &parsed, wanted, &check);
        match (&outcome.note, &outcome.metadata.image_digest) {
            (Some(note), _) => tracing::info!("{note}"),
            (None, Some(digest)) => {
                tracing::debug!(%digest, "the registry confirms the daemon's digest");
            }
            (None, None) => {}
        }
        Ok(outcome.metadata)
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
