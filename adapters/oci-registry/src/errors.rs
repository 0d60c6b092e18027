//! oci-client's errors, turned into `MetadataError`s whose messages name
//! the image, the cause and the fix. No oci-client type leaves the adapter.

use imglife_domain::metadata::MetadataError;
use oci_client::errors::{OciDistributionError, OciErrorCode};

/// What was being done when an error happened, for the message.
pub struct Context<'a> {
    pub image: &'a str,
    pub host: &'a str,
    pub repository: &'a str,
    pub tag_or_digest: &'a str,
    /// Where the credentials came from, e.g. `IMGLIFE_X_USERNAME/...`.
    pub credential: &'a str,
    /// e.g. `the manifest`, `the config blob sha256:...`
    pub fetching: &'a str,
}

pub fn map(error: &OciDistributionError, cx: &Context<'_>) -> MetadataError {
    let Context {
        image,
        host,
        repository,
        tag_or_digest,
        credential,
        fetching,
    } = cx;
    match error {
        OciDistributionError::AuthenticationFailure(_)
        | OciDistributionError::UnauthorizedError { .. } => unauthorized(cx),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| matches!(c, OciErrorCode::NameUnknown)) {
                MetadataError::NotFound(format!(
                    "image {image}: repository {repository} does not exist in registry {host}; \
                     check the repository in --image (and that the push went to {host})"
                ))
            } else if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NotFound
                        | OciErrorCode::BlobUnknown
                )
            }) {
                MetadataError::NotFound(format!(
                    "image {image}: {tag_or_digest} not found in repository {repository} of \
                     registry {host}; check the tag in --image and that the push succeeded"
                ))
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                unauthorized(cx)
            } else {
                let detail: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|e| format!("{:?}: {}", e.code, e.message))
                    .collect();
                MetadataError::Invalid(format!(
                    "image {image}: registry {host} refused {fetching}: {}",
                    detail.join("; ")
                ))
            }
        }
        OciDistributionError::ServerError { code: 404, .. } => MetadataError::NotFound(format!(
            "image {image}: {tag_or_digest} not found in repository {repository} of registry \
             {host} (HTTP 404); check --image"
        )),
        OciDistributionError::ServerError {
            code: 401 | 403, ..
        } => unauthorized(cx),
        OciDistributionError::ServerError { code, .. } => MetadataError::Unreachable(format!(
            "image {image}: registry {host} failed {fetching} with HTTP {code}, also after \
             retries; try again later"
        )),
        OciDistributionError::RequestError(e) => {
            let cause = root_cause(e);
            if e.is_timeout() {
                MetadataError::Unreachable(format!(
                    "image {image}: registry {host} timed out ({cause}); check the host in \
                     --image and the network, or raise inspection.connect_timeout_secs, or pass --base and --platform so that the \
                     registry is not asked"
                ))
            } else {
                MetadataError::Unreachable(format!(
                    "image {image}: registry {host} is unreachable ({cause}); check the host and \
                     port in --image and the network, or pass --base and --platform so that the \
                     registry is not asked"
                ))
            }
        }
        OciDistributionError::RegistryTokenDecodeError(e) => MetadataError::Unauthorized(format!(
            "image {image}: the token server of registry {host} answered with something that is \
             not a token ({e}); credentials tried: {credential}"
        )),
        OciDistributionError::DigestError(e) => MetadataError::Invalid(format!(
            "image {image}: {fetching} from registry {host} does not match its digest ({e})"
        )),
        other => MetadataError::Invalid(format!(
            "image {image}: {fetching} from registry {host} is not usable: {other}"
        )),
    }
}

/// True when the registry says the repository does not exist.
pub fn is_name_unknown(error: &OciDistributionError) -> bool {
    matches!(error, OciDistributionError::RegistryError { envelope, .. }
        if envelope.errors.iter().any(|e| matches!(e.code, OciErrorCode::NameUnknown)))
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

/// The innermost cause ("Connection refused (os error 111)"), which says
/// more than reqwest's "error sending request for url".
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
