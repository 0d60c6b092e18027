//! What an image-metadata source found about an image: the vocabulary of
//! labels and annotations imglife reads, and the one rule that picks base,
//! base digest and platforms from them. Both sources (registry and Docker
//! daemon) use this rule, so an image says the same thing wherever it is
//! read.

use std::collections::BTreeMap;
use std::fmt;

/// The OCI annotation (or label) naming the base image.
pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
/// The digest of the base image; belongs to the base name beside it.
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
/// The base image as older imglife builds labelled it; read after
/// `BASE_NAME`.
pub const LEGACY_BASE: &str = "BASE_IMAGE_REF";
/// imglife's own label: the platforms, space- or comma-separated.
pub const PLATFORMS: &str = "imglife.platforms";

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
    /// The preferred source that could not answer before `answered_by`
    /// did, and why: a fallback is never silent.
    pub passed_over: Option<PassedOver>,
}

/// A source a composite source asked first, and why it did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    pub source: String,
    pub error: MetadataError,
}

/// What has been found so far, level by level: each value is taken from
/// the first level (index annotations, manifest annotations, config
/// labels, daemon labels) that has it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    pub base: Option<Found<String>>,
    pub base_digest: Option<Found<String>>,
    pub platforms: Option<Found<Vec<String>>>,
}

impl Findings {
    /// Reads one level of key/value pairs; `kind` names the level in
    /// origins, e.g. `index annotation`, `config label`.
    pub fn absorb(&mut self, kind: &str, map: Option<&BTreeMap<String, String>>, wanted: Wanted) {
        let Some(map) = map else { return };
        let value = |key: &str| map.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        if wanted.base && self.base.is_none() {
            for key in [BASE_NAME, LEGACY_BASE] {
                if let Some(v) = value(key) {
                    self.base = Some(Found::new(v.to_owned(), format!("{kind} {key}")));
                    // The digest belongs to the base it sits next to: a
                    // digest of another level could describe another base.
                    self.base_digest = value(BASE_DIGEST)
                        .map(|d| Found::new(d.to_owned(), format!("{kind} {BASE_DIGEST}")));
                    break;
                }
            }
        }
        if wanted.platforms
            && self.platforms.is_none()
            && let Some(v) = value(PLATFORMS)
        {
            self.platforms = Some(Found::new(
                vec![v.to_owned()],
                format!("{kind} {PLATFORMS}"),
            ));
        }
    }

    /// True when nothing wanted is still missing.
    pub fn complete(&self, wanted: Wanted) -> bool {
        (!wanted.base || self.base.is_some()) && (!wanted.platforms || self.platforms.is_some())
    }

    /// Platforms used only when no annotation or label names them (an
    /// index's entries, an image's own os/architecture).
    pub fn fallback_platforms(&mut self, wanted: Wanted, list: Vec<String>, origin: &str) {
        if wanted.platforms && self.platforms.is_none() && !list.is_empty() {
            self.platforms = Some(Found::new(list, origin));
        }
    }

    /// The findings as the port's answer.
    pub fn into_metadata(self, image_digest: Option<String>) -> ImageMetadata {
        ImageMetadata {
            base: self.base,
            base_digest: self.base_digest,
            platforms: self.platforms,
            image_digest,
            answered_by: None,
            passed_over: None,
        }
    }
}

/// `os/arch[/variant]`, the variant left out when empty.
pub fn platform_text(os: &str, architecture: &str, variant: Option<&str>) -> String {
    match variant.filter(|v| !v.is_empty()) {
        Some(v) => format!("{os}/{architecture}/{v}"),
        None => format!("{os}/{architecture}"),
    }
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
/// names the image, the cause and, where there is one, the fix. It starts
/// with a clause that stands alone (what failed, where, with which
/// credentials), ended by `; ` when the fix follows: `summary` is that
/// clause, for places with room for one line.
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

impl MetadataError {
    /// The message up to its first `; `: what went wrong, without the fix.
    pub fn summary(&self) -> &str {
        let (Self::NotFound(m) | Self::Unauthorized(m) | Self::Unreachable(m) | Self::Invalid(m)) =
            self;
        m.split_once("; ").map_or(m.as_str(), |(clause, _)| clause)
    }
}

/// A short human name for a source, shown in the summary's `Source` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceName(pub String);

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Wanted = Wanted {
        base: true,
        platforms: true,
    };

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn earlier_levels_win_and_the_digest_follows_its_base() {
        let mut f = Findings::default();
        f.absorb("index annotation", Some(&map(&[(BASE_NAME, "a:1")])), BOTH);
        f.absorb(
            "config label",
            Some(&map(&[
                (BASE_NAME, "b:2"),
                (BASE_DIGEST, "sha256:x"),
                (PLATFORMS, "linux/amd64"),
            ])),
            BOTH,
        );
        let base = f.base.clone().expect("base found");
        assert_eq!(base.value, "a:1");
        assert_eq!(
            base.origin,
            "index annotation org.opencontainers.image.base.name"
        );
        assert!(
            f.base_digest.is_none(),
            "a digest of another level is not taken"
        );
        assert_eq!(
            f.platforms.clone().map(|p| p.value),
            Some(vec!["linux/amd64".to_owned()])
        );
        assert!(f.complete(BOTH));
    }

    #[test]
    fn a_digest_without_its_base_name_is_not_taken() {
        let mut f = Findings::default();
        f.absorb(
            "docker daemon label",
            Some(&map(&[(BASE_DIGEST, "sha256:x")])),
            BOTH,
        );
        assert_eq!(f, Findings::default());
    }

    #[test]
    fn the_legacy_key_is_read_after_the_oci_name_and_keeps_its_digest() {
        let mut f = Findings::default();
        f.absorb(
            "config label",
            Some(&map(&[(LEGACY_BASE, "old:1"), (BASE_DIGEST, "sha256:y")])),
            BOTH,
        );
        assert_eq!(
            f.base.map(|b| b.origin),
            Some("config label BASE_IMAGE_REF".to_owned())
        );
        assert_eq!(f.base_digest.map(|d| d.value), Some("sha256:y".to_owned()));
        let mut both = Findings::default();
        both.absorb(
            "x",
            Some(&map(&[(LEGACY_BASE, "old:1"), (BASE_NAME, "new:2")])),
            BOTH,
        );
        assert_eq!(both.base.map(|b| b.value), Some("new:2".to_owned()));
    }

    #[test]
    fn unwanted_values_are_not_taken_and_fallbacks_only_fill_gaps() {
        let mut f = Findings::default();
        let platforms_only = Wanted {
            base: false,
            platforms: true,
        };
        f.absorb("x", Some(&map(&[(BASE_NAME, "a:1")])), platforms_only);
        assert!(f.base.is_none());
        assert!(!f.complete(platforms_only));
        f.fallback_platforms(platforms_only, vec!["linux/arm64".to_owned()], "own");
        f.fallback_platforms(platforms_only, vec!["linux/amd64".to_owned()], "later");
        assert_eq!(f.platforms.map(|p| p.origin), Some("own".to_owned()));
    }

    #[test]
    fn platform_text_leaves_out_an_empty_variant() {
        assert_eq!(platform_text("linux", "arm", Some("v7")), "linux/arm/v7");
        assert_eq!(platform_text("linux", "amd64", Some("")), "linux/amd64");
        assert_eq!(platform_text("linux", "amd64", None), "linux/amd64");
    }
}
