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
        let built_at = parse_built_at(&wire.built_at).map_err(|e| bad("built_at", &e))?;
        wire.custom_fields
            .validate()
            .map_err(|e| bad("custom_fields", &e))?;
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

/// A build time: the years 1970 to 9999. Nothing was built before the
/// Unix epoch, and RFC 3339 writes the year in four digits.
const EARLIEST_BUILT_AT: Timestamp = Timestamp::UNIX_EPOCH;
/// How far ahead of this machine's clock `--built-at` may be: the skew
/// between a CI runner's clock and another's, never a day. A date further
/// ahead is a typo, and a record dated in the future would be taken as the
/// newest of its repository for as long as it stays in the future.
pub const BUILT_AT_FUTURE_TOLERANCE_SECS: i64 = 24 * 3600;

/// Why a text is not an acceptable build time. The message follows the
/// name of what gave it: `--built-at '...': <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BuiltAtError(String);

const RFC3339_EXAMPLE: &str = "e.g. 2026-04-01T10:00:00Z or 2026-04-01T12:00:00+02:00";

/// Parses a build time: an RFC 3339 `date-time` (section 5.6:
/// `YYYY-MM-DDTHH:MM:SS[.fraction]` then `Z` or `+HH:MM`/`-HH:MM`; `t`,
/// `z` and a space for `T` allowed, as the RFC notes) whose offset is at
/// most 23:59 either way, naming an instant in the years 1970 to 9999.
/// jiff's own parser is wider (Temporal's ISO 8601: offsets to 25:59,
/// signed six-digit years, time zone annotations), so the shape is
/// checked here first. Whether it lies in the future is
/// `check_not_in_future`'s business: a stored record is read back without
/// it.
pub fn parse_built_at(text: &str) -> Result<Timestamp, BuiltAtError> {
    check_rfc3339_shape(text)?;
    let at: Timestamp = text.parse().map_err(|e: jiff::Error| {
        BuiltAtError(format!(
            "is not a valid RFC 3339 time ({e}); {RFC3339_EXAMPLE}"
        ))
    })?;
    if at < EARLIEST_BUILT_AT {
        return Err(BuiltAtError(format!(
            "lies before 1970 ({at:.0}); a build time lies in the years 1970 to 9999"
        )));
    }
    Ok(at)
}

/// Refuses a build time more than `BUILT_AT_FUTURE_TOLERANCE_SECS` ahead
/// of `now`.
pub fn check_not_in_future(at: Timestamp, now: Timestamp) -> Result<(), BuiltAtError> {
    let ahead = at.as_second() - now.as_second();
    if ahead <= BUILT_AT_FUTURE_TOLERANCE_SECS {
        return Ok(());
    }
    let hours = (ahead + 3599) / 3600;
    let how_far = if hours > 48 {
        format!("{} days", hours / 24)
    } else {
        format!("{hours} hours")
    };
    Err(BuiltAtError(format!(
        "lies {how_far} ahead of this machine's clock ({now:.0}); a build time may be at most \
         {} hours in the future (clock skew): check the date",
        BUILT_AT_FUTURE_TOLERANCE_SECS / 3600
    )))
}

fn check_rfc3339_shape(text: &str) -> Result<(), BuiltAtError> {
    let generic = || {
        BuiltAtError(format!(
            "is not an RFC 3339 time with an offset (YYYY-MM-DDTHH:MM:SS and Z or +HH:MM); \
             {RFC3339_EXAMPLE}"
        ))
    };
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let date_time = digits(0..4)
        && at(4, b"-")
        && digits(5..7)
        && at(7, b"-")
        && digits(8..10)
        && at(10, b"Tt ")
        && digits(11..13)
        && at(13, b":")
        && digits(14..16)
        && at(16, b":")
        && digits(17..19);
    if !date_time {
        return Err(generic());
    }
    let mut i = 19;
    if at(i, b".") {
        let start = i + 1;
        i = start;
        while at(i, b"0123456789") {
            i += 1;
        }
        if i == start {
            return Err(generic());
        }
    }
    let offset = &text[i..];
    match offset.as_bytes() {
        [] => Err(BuiltAtError(format!(
            "has no UTC offset; add Z or +HH:MM, {RFC3339_EXAMPLE}"
        ))),
        [b'Z' | b'z'] => Ok(()),
        [b'+' | b'-', h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) =>
        {
            let hours = (h1 - b'0') * 10 + (h2 - b'0');
            let minutes = (m1 - b'0') * 10 + (m2 - b'0');
            if hours > 23 || minutes > 59 {
                Err(BuiltAtError(format!(
                    "has the offset {offset}; an offset is at most 23:59 either way \
                     (RFC 3339), {RFC3339_EXAMPLE}"
                )))
            } else {
                Ok(())
            }
        }
        _ => Err(BuiltAtError(format!(
            "has '{}' where the UTC offset belongs; write Z or +HH:MM, {RFC3339_EXAMPLE}",
            offset.chars().take(32).collect::<String>().escape_debug()
        ))),
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

    fn refused(text: &str) -> String {
        match parse_built_at(text) {
            Ok(t) => panic!("{text:?} accepted as {t}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn built_at_is_an_rfc3339_instant() {
        for (ok, utc) in [
            ("2026-04-01T10:00:00Z", "2026-04-01T10:00:00Z"),
            ("2026-04-01t10:00:00z", "2026-04-01T10:00:00Z"),
            ("2026-04-01 10:00:00Z", "2026-04-01T10:00:00Z"),
            ("2026-04-01T12:00:00.5+02:00", "2026-04-01T10:00:00.5Z"),
            ("2026-04-01T00:00:00+23:59", "2026-03-31T00:01:00Z"),
            ("2026-04-01T00:00:00-23:59", "2026-04-01T23:59:00Z"),
            ("2026-04-01T00:00:00-00:00", "2026-04-01T00:00:00Z"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
            ("9999-01-01T00:00:00Z", "9999-01-01T00:00:00Z"),
            // a leap second (RFC 3339 5.7), as jiff reads it
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),
        ] {
            let at = parse_built_at(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(at.to_string(), utc, "{ok}");
        }
        for (bad, says) in [
            ("2026-04-01T10:00:00", "no UTC offset"),
            ("2026-04-01T10:00:00+24:00", "offset +24:00"),
            ("2026-04-01T10:00:00-25:59", "offset -25:59"),
            ("2026-04-01T10:00:00+02:60", "at most 23:59"),
            ("2026-04-01T10:00:00+0200", "where the UTC offset"),
            ("2026-04-01T10:00:00+02", "where the UTC offset"),
            ("2026-04-01T10:00:00Z[Europe/Paris]", "where the UTC offset"),
            ("2026-04-01T10:00:00.Z", "RFC 3339"),
            ("0000-01-01T00:00:00Z", "before 1970"),
            ("1969-12-31T23:59:59Z", "before 1970"),
            ("1970-01-01T00:30:00+01:00", "before 1970"),
            ("+002026-04-01T10:00:00Z", "RFC 3339"),
            ("-000001-01-01T00:00:00Z", "RFC 3339"),
            ("20260401T100000Z", "RFC 3339"),
            ("2026-02-30T10:00:00Z", "not a valid RFC 3339 time"),
            ("2026-04-01T24:00:00Z", "not a valid RFC 3339 time"),
            ("2026-13-01T10:00:00Z", "not a valid RFC 3339 time"),
            ("yesterday", "RFC 3339"),
            ("", "RFC 3339"),
            ("2026-04-01", "RFC 3339"),
            ("２０２６-04-01T10:00:00Z", "RFC 3339"),
        ] {
            let e = refused(bad);
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn built_at_may_be_a_day_ahead_at_most() {
        let now: Timestamp = "2026-04-01T10:00:00Z".parse().expect("now");
        let check = |text: &str| check_not_in_future(text.parse().expect("time"), now);
        assert!(check("2026-04-01T10:00:00Z").is_ok());
        assert!(check("2020-01-01T00:00:00Z").is_ok());
        assert!(check("2026-04-02T10:00:00Z").is_ok(), "24 hours of skew");
        let e = check("2026-04-02T10:00:01Z").expect_err("past 24 h");
        assert!(e.to_string().contains("25 hours ahead"), "{e}");
        let e = check("2026-04-04T10:00:00Z").expect_err("3 days");
        assert!(e.to_string().contains("3 days ahead"), "{e}");
        assert!(e.to_string().contains("2026-04-01T10:00:00Z"), "{e}");
        let e = check("9999-01-01T00:00:00Z").expect_err("far");
        assert!(e.to_string().contains("days ahead"), "{e}");
    }

    #[test]
    fn stored_records_are_read_with_the_same_rules() {
        let text = String::from_utf8(sample().to_json()).expect("utf8");
        for (from, to) in [
            ("2026-04-01T10:00:00Z", "2026-04-01T10:00:00+24:00"),
            ("2026-04-01T10:00:00Z", "0000-04-01T10:00:00Z"),
            (
                "\"custom_fields\": {}",
                "\"custom_fields\": {\"k\": \"a\\nb\"}",
            ),
            ("\"a3f8b1c\"", "\"a3f8b1c\\u202e\""),
        ] {
            let bad = text.replace(from, to);
            assert_ne!(bad, text, "{from}");
            assert!(
                BuildRecord::from_json(bad.as_bytes()).is_err(),
                "accepted: {bad}"
            );
        }
        // A stored date in the future is read (purge decides what to do).
        let future = text.replace("2026-04-01T10:00:00Z", "2999-01-01T00:00:00Z");
        assert!(BuildRecord::from_json(future.as_bytes()).is_ok());
    }
}
