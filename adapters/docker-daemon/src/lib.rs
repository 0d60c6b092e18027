//! Reads an image's labels from the local Docker Engine.
//!
//! The Engine API is a few plain HTTP calls (`/_ping` to learn the daemon's
//! API version, `/v{version}/images/{name}/json`, and
//! `/v{version}/distribution/{name}/json` to check a digest with the
//! registry), made with the client of imglife's HTTP foundation, over the
//! unix socket or TCP (with mutual TLS when configured) that the docker
//! CLI's settings name: `DOCKER_HOST` and the TLS variables, else the
//! current docker context (`endpoint.rs`). bollard was the other candidate;
//! its 0.21 drops the negotiated version prefix from request paths, reads
//! no context TLS files, and it would add a second HTTP stack's worth of
//! crates for three endpoints.

mod context;
mod endpoint;
mod files;
mod host;
mod inspect;
mod source;
mod tls;

pub use endpoint::{Endpoint, Via};
pub use host::{DockerHost, HostError};
pub use source::DockerSource;
