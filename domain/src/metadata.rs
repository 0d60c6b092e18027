//! What an image-metadata source found about an image, and how those
//! findings combine with the command line.

use std::fmt;

/// One value found in image metadata, with where it was found, so that an
/// invalid value can be reported with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub value: T,
    /// e.g. `manifest annotation org.opencontainers.image.base.name`
    pub origin: String,
}

impl<T> Found<T> {
    pub fn new(value: T, origin: impl Into<String>) -> Self {
        Self {
            value,
            origin: origin.into(),
        }
    }
}

/// The values a source could read. Everything is raw text: the register use
/// case validates it exactly like the matching flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageMetadata {
    pub base: Option<Found<String>>,
    pub base_digest: Option<Found<String>>,
    /// Platform strings, each possibly a space- or comma-separated list.
    pub platforms: Option<Found<Vec<String>>>,
    /// The digest the reference resolves to (the index digest for a
    /// multi-platform image).
    pub image_digest: Option<String>,
    /// Which source answered, when a composite source asked several; the
    /// summary's `Source` line shows it.
    pub answered_by: Option<String>,
}

/// Which values the caller still needs; a source skips requests that could
/// only answer the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub base: bool,
    pub platforms: bool,
}

impl Wanted {
    pub fn nothing(self) -> bool {
        !self.base && !self.platforms
    }
}

/// Why a source could not answer. Each variant's message is complete: it
/// names the image, the cause and, where there is one, the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The image (tag or repository) does not exist there.
    #[error("{0}")]
    NotFound(String),
    /// Credentials missing or rejected.
    #[error("{0}")]
    Unauthorized(String),
    /// Could not be reached, or did not answer in time.
    #[error("{0}")]
    Unreachable(String),
    /// Answered with something that is not valid image metadata.
    #[error("{0}")]
    Invalid(String),
}

/// A short human name for a source, shown in the summary's `Source` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceName(pub String);

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
