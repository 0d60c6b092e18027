//! `ImageMetadataSource` for OCI registries (Docker Hub, GitLab, Harbor,
//! distribution, ...): reads the annotations and labels of a pushed image,
//! with as few requests as the missing values allow.
//!
//! Talks to the registry with its own small client (`client.rs`; why not
//! oci-client is said there) and resolves indexes itself: `linux/amd64`
//! first, never the host's platform. `docker.io` references are read at
//! Docker Hub's API host, `registry-1.docker.io` (`transport.rs`);
//! credentials come from the environment and the auth files of docker,
//! podman and skopeo (`credentials/`).

mod client;
mod credentials;
mod errors;
mod extract;
mod inspect;
mod realm;
mod token;
mod transport;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use imglife_domain::ImageRef;
use imglife_domain::metadata::{ImageMetadata, MetadataError, Wanted};
use imglife_domain::ports::ImageMetadataSource;

pub use credentials::{Credential, EnvLookup, env_prefix};

/// How the adapter talks to registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// `host[:port]` (or bare host, any port) reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    pub connect_timeout: Duration,
    /// Bound on the whole inspection, retries included.
    pub timeout: Duration,
    /// Retries of a transient fault (connection reset, 429, 5xx).
    pub max_retries: usize,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            max_retries: 3,
        }
    }
}

/// Reads image metadata from the registry named in the image reference.
pub struct RegistrySource {
    options: RegistryOptions,
    env: EnvLookup,
}

impl RegistrySource {
    /// `env` reads environment variables (credentials, `REGISTRY_AUTH_FILE`,
    /// `XDG_RUNTIME_DIR`, `XDG_CONFIG_HOME`, `DOCKER_CONFIG`, `HOME`);
    /// injected so tests never touch the process environment.
    pub fn new(options: RegistryOptions, env: EnvLookup) -> Self {
        Self { options, env }
    }

    /// The real process environment.
    pub fn process_env() -> EnvLookup {
        Arc::new(|name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }
}

#[async_trait]
impl ImageMetadataSource for RegistrySource {
    fn describe(&self, image: &ImageRef) -> String {
        format!("registry {}", image.domain())
    }

    async fn inspect(
        &self,
        image: &ImageRef,
        wanted: Wanted,
    ) -> Result<ImageMetadata, MetadataError> {
        inspect::inspect(image, wanted, &self.options, &self.env).await
    }
}
