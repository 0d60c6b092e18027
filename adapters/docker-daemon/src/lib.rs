//! Reads an image's labels from the local Docker Engine.
//!
//! The Engine API is two plain HTTP calls (`/_ping` to learn the daemon's
//! API version, then `/v{version}/images/{name}/json`), made with the
//! reqwest client imglife already ships, over the unix socket or TCP that
//! `DOCKER_HOST` names. bollard was the other candidate; its 0.21 drops the
//! negotiated version prefix from request paths, and it would add a second
//! HTTP stack's worth of crates for one endpoint.

mod host;
mod inspect;
mod source;

pub use host::{DockerHost, HostError};
pub use source::DockerSource;
