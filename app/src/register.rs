//! The register use case, written against the ports only: complete the
//! request from the image's metadata when a value is missing, build the
//! record, store it.

use imglife_domain::metadata::{Found, MetadataError, PassedOver, Wanted};
use imglife_domain::ports::{ImageMetadataSource, RecordStore, Reporter, Step, StoreError};
use imglife_domain::{
    BuildRecord, CustomFields, Digest, ImageRef, Platforms, ProjectPath, RecordKey, Revision,
};
use jiff::Timestamp;

/// Validated inputs. Base and platforms are optional: what is missing is
/// read from the image's metadata.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    pub image: ImageRef,
    pub base: Option<ImageRef>,
    pub platforms: Option<Platforms>,
    pub revision: Revision,
    pub project: ProjectPath,
    pub fields: CustomFields,
    pub built_at: Timestamp,
}

/// What was (or, in a dry run, would have been) stored.
#[derive(Debug, Clone)]
pub struct Registered {
    pub record: BuildRecord,
    pub document: Vec<u8>,
    pub location: String,
    /// The metadata source that answered, when one was asked.
    pub source: Option<String>,
    /// The preferred source that could not answer first, and why.
    pub passed_over: Option<PassedOver>,
}

#[derive(Debug)]
pub enum RegisterError {
    Metadata(MetadataError),
    Missing(String),
    InvalidMetadata(String),
    Store(StoreError),
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Metadata(e) => write!(f, "{e}"),
            Self::Missing(m) | Self::InvalidMetadata(m) => f.write_str(m),
            Self::Store(e) => write!(f, "record not published: {e}"),
        }
    }
}

/// Stores the record through `store` unconditionally: a dry run is a
/// `stores::DryRun` store, not a branch here, so it follows the real path
/// exactly.
pub async fn register(
    request: RegisterRequest,
    source: Option<&dyn ImageMetadataSource>,
    store: &dyn RecordStore,
    reporter: &dyn Reporter,
) -> Result<Registered, RegisterError> {
    // Checked first: an image that cannot be stored is refused before any
    // source is asked.
    let key = RecordKey::for_reference(&request.image)
        .map_err(|e| RegisterError::InvalidMetadata(format!("--image: {e}")))?;
    let wanted = Wanted {
        base: request.base.is_none(),
        platforms: request.platforms.is_none(),
    };
    let mut base = request.base.clone();
    let mut platforms = request.platforms.clone();
    let mut base_digest = None;
    let mut image_digest = request.image.digest().cloned();
    let mut answered_by = None;
    let mut passed_over = None;

    // No source is asked when the flags already say everything.
    if let Some(source) = source.filter(|_| !wanted.nothing()) {
        let step = Step::Inspecting {
            image: request.image.to_string(),
            source: source.describe(&request.image),
        };
        reporter.step_started(&step);
        let found = source.inspect(&request.image, wanted).await;
        reporter.step_finished(&step);
        let found = found.map_err(RegisterError::Metadata)?;
        passed_over = found.passed_over.clone();
        answered_by = Some(
            found
                .answered_by
                .clone()
                .unwrap_or_else(|| source.describe(&request.image)),
        );
        if let (None, Some(b)) = (&base, &found.base) {
            base = Some(parse_found(b, ImageRef::parse, "--base")?);
            base_digest = found
                .base_digest
                .as_ref()
                .map(|d| parse_found(d, Digest::parse, "--base with a digest"))
                .transpose()?;
        }
        if let (None, Some(p)) = (&platforms, &found.platforms) {
            platforms = Platforms::parse_lists(p.value.iter().map(String::as_str))
                .map_err(|e| invalid(&p.origin, &e, "--platform"))?;
        }
        if image_digest.is_none() {
            image_digest = found
                .image_digest
                .as_deref()
                .map(|d| Digest::parse(d).map_err(|e| invalid("the registry's digest", &e, "")))
                .transpose()?;
        }
    }
    let why_missing = if source.is_none() {
        "no image metadata source is configured"
    } else {
        "the image's metadata does not name it"
    };
    let base = base.ok_or_else(|| {
        RegisterError::Missing(format!(
            "no base image: none was given and {why_missing}; pass --base REF \
             (e.g. --base registry.example.com/bases/alpine:3.21.3-core1.0.0)"
        ))
    })?;
    let platforms = platforms.ok_or_else(|| {
        RegisterError::Missing(format!(
            "no platforms: none were given and {why_missing}; pass --platform \
             (e.g. --platform \"linux/amd64 linux/arm64\")"
        ))
    })?;
    if base.digest().is_some() && base_digest.is_none() {
        base_digest = base.digest().cloned();
    }

    let record = BuildRecord::new(
        request.image,
        base,
        request.revision,
        request.project,
        platforms,
        request.built_at,
        request.fields,
        image_digest,
        base_digest,
    );
    let document = record.to_json();
    let location = store.location(&key);
    tracing::debug!(%key, %location, bytes = document.len(), "record ready");
    let step = Step::Publishing {
        location: location.clone(),
    };
    reporter.step_started(&step);
    let stored = store.put(&key, &document).await;
    reporter.step_finished(&step);
    stored.map_err(RegisterError::Store)?;
    Ok(Registered {
        record,
        document,
        location,
        source: answered_by,
        passed_over,
    })
}

fn parse_found<T, E: std::fmt::Display>(
    found: &Found<String>,
    parse: impl Fn(&str) -> Result<T, E>,
    flag: &str,
) -> Result<T, RegisterError> {
    parse(&found.value).map_err(|e| invalid(&found.origin, &e, flag))
}

fn invalid(origin: &str, error: &dyn std::fmt::Display, flag: &str) -> RegisterError {
    let fix = if flag.is_empty() {
        String::new()
    } else {
        format!("; pass {flag} to override it")
    };
    RegisterError::InvalidMetadata(format!("{origin}: {error}{fix}"))
}

#[cfg(test)]
mod tests;
