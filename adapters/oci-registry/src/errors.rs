//! The registry client's faults, turned into `MetadataError`s whose messages name
//! the image, the cause and the fix. No HTTP type leaves the adapter.

use crate::client::Fault;
use imglife_domain::metadata::MetadataError;
use imglife_domain::text::escape;

/// `fetching` for the manifest the image reference names.
pub const TOP_MANIFEST: &str = "the manifest";

/// What was being done when an error happened, for the message.
pub struct Context<'a> {
    pub image: &'a str,
    pub host: &'a str,
    /// Where requests went: `host`, except for Docker Hub
    /// (`registry-1.docker.io` for `docker.io`).
    pub api_host: &'a str,
    pub repository: &'a str,
    pub tag_or_digest: &'a str,
    /// Where the credentials came from, e.g. `IMGLIFE_X_USERNAME/...`.
    pub credential: &'a str,
    /// e.g. `the manifest`, `the config blob sha256:...`
    pub fetching: &'a str,
}

pub fn map(fault: &Fault, cx: &Context<'_>) -> MetadataError {
    let Context {
        image,
        host,
        api_host,
        repository,
        tag_or_digest,
        credential,
        fetching,
    } = cx;
    // The registry as the reference names it; the API host too when the
    // connection to it is what failed and it is another name.
    let reached = if api_host == host {
        (*host).to_owned()
    } else {
        format!("{host} (API host {api_host})")
    };
    match fault {
        Fault::Status { code, errors, .. } => {
            if fault.has_code(&["NAME_UNKNOWN"]) {
                MetadataError::NotFound(format!(
                    "image {image}: repository {repository} does not exist in registry {host}; \
                     check the repository in --image (and that the push went to {host})"
                ))
            } else if fault.has_code(&["MANIFEST_UNKNOWN", "NOT_FOUND", "BLOB_UNKNOWN"])
                || *code == 404
            {
                if *fetching == TOP_MANIFEST {
                    // "tag v1" or "digest sha256:..."
                    let part = tag_or_digest.split(' ').next().unwrap_or("tag");
                    MetadataError::NotFound(format!(
                        "image {image}: {tag_or_digest} not found in repository {repository} of \
                         registry {host}; check the {part} in --image and that the push succeeded"
                    ))
                } else {
                    // Something the image's own manifest or index names.
                    MetadataError::NotFound(format!(
                        "image {image}: {fetching} not found in repository {repository} of \
                         registry {host}; the image is incomplete there: push it again, or pass \
                         --base and --platform"
                    ))
                }
            } else if fault.has_code(&["UNAUTHORIZED", "DENIED"]) || matches!(code, 401 | 403) {
                unauthorized(cx)
            } else if matches!(code, 429 | 500..=599) {
                MetadataError::Unreachable(format!(
                    "image {image}: registry {host} failed {fetching} with HTTP {code}, also after \
                     retries; try again later"
                ))
            } else {
                let detail: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", escape(&e.code), escape(&e.message)))
                    .collect();
                MetadataError::Invalid(format!(
                    "image {image}: registry {host} refused {fetching} (HTTP {code}){}",
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", detail.join("; "))
                    }
                ))
            }
        }
        Fault::Transport(e) => {
            let cause = imglife_http::Cause::of(e);
            if cause.kind == imglife_http::CauseKind::Certificate {
                MetadataError::Unreachable(format!(
                    "image {image}: registry {reached} presented a certificate imglife does not \
                     trust ({cause}); add its CA to the PEM file named by SSL_CERT_FILE, or pass \
                     --base and --platform so that the registry is not asked"
                ))
            } else if cause.kind == imglife_http::CauseKind::Timeout {
                MetadataError::Unreachable(format!(
                    "image {image}: registry {reached} timed out ({cause}); check the host in \
                     --image and the network, or raise inspection.connect_timeout_secs, or pass \
                     --base and --platform so that the registry is not asked"
                ))
            } else {
                MetadataError::Unreachable(format!(
                    "image {image}: registry {reached} is unreachable ({cause}); check the host and \
                     port in --image and the network, or pass --base and --platform so that the \
                     registry is not asked"
                ))
            }
        }
        Fault::Token(detail) => MetadataError::Unauthorized(format!(
            "image {image}: registry {host}: {detail}; credentials tried: {credential}"
        )),
        Fault::Realm(detail) => MetadataError::Unauthorized(format!(
            "image {image}: registry {host}: {detail}; the credentials from {credential} were not sent"
        )),
        Fault::Digest(detail) => MetadataError::Invalid(format!(
            "image {image}: {fetching} from registry {host} does not match its digest ({detail})"
        )),
        Fault::TooLarge(detail) => MetadataError::Invalid(format!(
            "image {image}: {fetching} from registry {host}: {detail}; check what was pushed, or \
             pass --base and --platform"
        )),
    }
}

/// True when the registry says the repository does not exist.
pub fn is_name_unknown(fault: &Fault) -> bool {
    fault.has_code(&["NAME_UNKNOWN"])
}

fn unauthorized(cx: &Context<'_>) -> MetadataError {
    let Context {
        image,
        host,
        credential,
        ..
    } = cx;
    let prefix = crate::credentials::env_prefix(host);
    MetadataError::Unauthorized(format!(
        "image {image}: registry {host} refused access (unauthorized) with {credential}; \
         check those credentials, or set {prefix}USERNAME and {prefix}PASSWORD (or \
         {prefix}TOKEN) for a user that may pull it"
    ))
}
