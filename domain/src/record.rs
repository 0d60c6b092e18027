//! The build record and its one JSON form. Every store writes the bytes of
//! `BuildRecord::to_json`, so a record looks the same wherever it is kept.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::field::CustomFields;
use crate::platform::Platforms;
use crate::project::ProjectPath;
use crate::reference::{Digest, ImageRef};
use crate::revision::Revision;

/// Links an application image to the base image it was built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRecord {
    pub image: ImageRef,
    pub base: ImageRef,
    pub revision: Revision,
    pub project: ProjectPath,
    pub platforms: Platforms,
    built_at: Timestamp,
    pub custom_fields: CustomFields,
    pub image_digest: Option<Digest>,
    pub base_digest: Option<Digest>,
}

/// A stored document that is not a valid record, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordParseError(String);

/// The document as it is written: key order is the field order here.
#[derive(Serialize)]
struct WireOut<'a> {
    image: String,
    base: String,
    revision: &'a str,
    project: &'a str,
    platforms: Vec<String>,
    built_at: String,
    custom_fields: &'a CustomFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_digest: Option<String>,
}

/// The document as it is read: unknown keys are ignored so that records
/// written by a newer imglife stay readable.
#[derive(Deserialize)]
struct WireIn {
    image: String,
    base: String,
    revision: String,
    project: String,
    platforms: Vec<String>,
    built_at: String,
    #[serde(default)]
    custom_fields: CustomFields,
    #[serde(default)]
    image_digest: Option<String>,
    #[serde(default)]
    base_digest: Option<String>,
}

impl BuildRecord {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        image: ImageRef,
        base: ImageRef,
        revision: Revision,
        project: ProjectPath,
        platforms: Platforms,
        built_at: Timestamp,
        custom_fields: CustomFields,
        image_digest: Option<Digest>,
        base_digest: Option<Digest>,
    ) -> Self {
        Self {
            image,
            base,
            revision,
            project,
            platforms,
            built_at: truncate_to_second(built_at),
            custom_fields,
            image_digest,
            base_digest,
        }
    }

    /// Registration time, whole seconds, UTC.
    pub fn built_at(&self) -> Timestamp {
        self.built_at
    }

    /// `2026-04-01T10:00:00Z`
    pub fn built_at_text(&self) -> String {
        format!("{:.0}", self.built_at)
    }

    /// The stored document: pretty-printed JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let wire = WireOut {
            image: self.image.to_string(),
            base: self.base.to_string(),
            revision: self.revision.as_str(),
            project: self.project.as_str(),
            platforms: self
                .platforms
                .as_slice()
                .iter()
                .map(ToString::to_string)
                .collect(),
            built_at: self.built_at_text(),
            custom_fields: &self.custom_fields,
            image_digest: self.image_digest.as_ref().map(ToString::to_string),
            base_digest: self.base_digest.as_ref().map(ToString::to_string),
        };
        // Serialising strings, vectors and a string map cannot fail.
        let mut bytes = serde_json::to_vec_pretty(&wire).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Reads a stored document back, validating every value as `register`
    /// does.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RecordParseError> {
        let wire: WireIn = serde_json::from_slice(bytes)
            .map_err(|e| RecordParseError(format!("not a build record: {e}")))?;
        let bad = |field: &str, e: &dyn fmt::Display| RecordParseError(format!("\"{field}\": {e}"));
        let image = ImageRef::parse(&wire.image).map_err(|e| bad("image", &e))?;
        let base = ImageRef::parse(&wire.base).map_err(|e| bad("base", &e))?;
        let revision = Revision::parse(&wire.revision).map_err(|e| bad("revision", &e))?;
        let project = ProjectPath::parse(&wire.project).map_err(|e| bad("project", &e))?;
        let platforms = Platforms::parse_lists(wire.platforms.iter().map(String::as_str))
            .map_err(|e| bad("platforms", &e))?
            .ok_or_else(|| bad("platforms", &"is empty"))?;
        let built_at: Timestamp = wire
            .built_at
            .parse()
            .map_err(|e: jiff::Error| bad("built_at", &e))?;
        let digest = |field: &str, value: Option<String>| {
            value
                .map(|d| Digest::parse(&d).map_err(|e| bad(field, &e)))
                .transpose()
        };
        Ok(Self::new(
            image,
            base,
            revision,
            project,
            platforms,
            built_at,
            wire.custom_fields,
            digest("image_digest", wire.image_digest)?,
            digest("base_digest", wire.base_digest)?,
        ))
    }
}

fn truncate_to_second(ts: Timestamp) -> Timestamp {
    // `Timestamp::from_second` only fails out of jiff's range, which a
    // value that is already a timestamp cannot be.
    Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BuildRecord {
        BuildRecord::new(
            ImageRef::parse("registry.example.com/apps/myservice:1.2.0").expect("image"),
            ImageRef::parse("registry.example.com/bases/alpine:3.21.3-core1.0.0").expect("base"),
            Revision::parse("a3f8b1c").expect("revision"),
            ProjectPath::parse("myteam/myservice").expect("project"),
            Platforms::parse_lists(["linux/amd64"])
                .expect("ok")
                .expect("some"),
            "2026-04-01T12:00:00.9+02:00".parse().expect("time"),
            CustomFields::default(),
            None,
            None,
        )
    }

    #[test]
    fn writes_the_documented_layout() {
        let text = String::from_utf8(sample().to_json()).expect("utf8");
        assert_eq!(
            text,
            r#"{
  "image": "registry.example.com/apps/myservice:1.2.0",
  "base": "registry.example.com/bases/alpine:3.21.3-core1.0.0",
  "revision": "a3f8b1c",
  "project": "myteam/myservice",
  "platforms": [
    "linux/amd64"
  ],
  "built_at": "2026-04-01T10:00:00Z",
  "custom_fields": {}
}
"#
        );
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let record = sample();
        assert_eq!(BuildRecord::from_json(&record.to_json()), Ok(record));
        assert!(BuildRecord::from_json(b"{}").is_err());
        assert!(BuildRecord::from_json(b"not json").is_err());
    }
}
