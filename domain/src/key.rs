//! The logical key of a record: where every store keeps the record of one
//! image reference. See `docs/storage.md` for the layout and its proof
//! obligations.
//!
//! A key has two parts, both drawn from `[A-Za-z0-9._+-]` (the characters
//! every GitLab version accepts in package names, versions and file names)
//! and never containing `..`:
//!
//! * `name`: the repository. The registry host comes first; its `:` (port)
//!   becomes `_` (host names never contain `_`) and every `/` becomes `+`
//!   (repository names never contain `+`).
//! * `version`: the tag, the digest as `algorithm+hex`, or both as
//!   `tag+algorithm+hex`. Tags may contain `..`, which GitLab rejects in
//!   versions, so a `+` is inserted between two consecutive dots; tags never
//!   contain `+`, so that escape and the separators can always be told apart.
//!
//! Decoding is the exact inverse (`RecordKey::reference`), which makes the
//! mapping injective: two different references never share a key.

use std::fmt;

use crate::reference::{ImageRef, ReferenceError};

/// File name of a record inside a package (GitLab, Gitea).
pub const RECORD_FILE_NAME: &str = "record.json";
/// Extension of a record file in path-like stores (filesystem, S3).
pub const RECORD_EXTENSION: &str = ".json";
/// Longest version that still leaves room for `.json` in a 255-byte file
/// name.
const VERSION_MAX: usize = 255 - RECORD_EXTENSION.len();

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "reference '{reference}' is too long to store: its key version would be {len} characters, the limit is {VERSION_MAX}"
    )]
    TooLong { reference: String, len: usize },
    #[error("'{name}/{version}' is not a record key: {reason}")]
    NotAKey {
        name: String,
        version: String,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    name: String,
    version: String,
}

impl RecordKey {
    pub fn for_reference(reference: &ImageRef) -> Result<Self, KeyError> {
        let name = format!(
            "{}+{}",
            reference.domain().replace(':', "_"),
            reference.path().replace('/', "+")
        );
        let mut parts = Vec::with_capacity(3);
        if let Some(tag) = reference.tag() {
            parts.push(escape_tag(tag));
        }
        if let Some(digest) = reference.digest() {
            parts.push(digest.algorithm().to_owned());
            parts.push(digest.hex().to_owned());
        }
        let version = parts.join("+");
        if version.len() > VERSION_MAX {
            return Err(KeyError::TooLong {
                reference: reference.to_string(),
                len: version.len(),
            });
        }
        Ok(Self { name, version })
    }

    /// Rebuilds a key read back from a store (a directory listing, a
    /// package list), checking that it decodes to a reference.
    pub fn from_parts(name: &str, version: &str) -> Result<Self, KeyError> {
        let key = Self {
            name: name.to_owned(),
            version: version.to_owned(),
        };
        let reference = key.reference().map_err(|e| KeyError::NotAKey {
            name: name.to_owned(),
            version: version.to_owned(),
            reason: e.to_string(),
        })?;
        // Only canonical spellings are keys: this rejects e.g. `Docker.io`.
        if Self::for_reference(&reference).as_ref() != Ok(&key) {
            return Err(KeyError::NotAKey {
                name: name.to_owned(),
                version: version.to_owned(),
                reason: "not in canonical form".to_owned(),
            });
        }
        Ok(key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// `name/version.json`: the path of the record below the root of a
    /// path-like store.
    pub fn relative_path(&self) -> String {
        format!("{}/{}{RECORD_EXTENSION}", self.name, self.version)
    }

    /// Decodes the key back into the image reference it was made from.
    pub fn reference(&self) -> Result<ImageRef, ReferenceError> {
        let (host, path) = self
            .name
            .split_once('+')
            .ok_or_else(|| parse_error("the name has no '+' between host and path"))?;
        if host.contains('+') || path.contains(['/', ':']) || host.contains(['/', ':']) {
            return Err(parse_error("the name holds characters a key never does"));
        }
        let mut text = format!("{}/{}", host.replace('_', ":"), path.replace('+', "/"));
        let parts = split_version(&self.version);
        match parts.as_slice() {
            [tag] => push_tag(&mut text, tag)?,
            [algorithm, hex] => text.push_str(&format!("@{algorithm}:{hex}")),
            [tag, algorithm, hex] => {
                push_tag(&mut text, tag)?;
                text.push_str(&format!("@{algorithm}:{hex}"));
            }
            _ => return Err(parse_error("the version has too many '+' parts")),
        }
        ImageRef::parse(&text)
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.name, self.version)
    }
}

fn parse_error(message: &str) -> ReferenceError {
    ReferenceError::new(message)
}

fn push_tag(text: &mut String, escaped: &str) -> Result<(), ReferenceError> {
    text.push(':');
    text.push_str(
        &unescape_tag(escaped).ok_or_else(|| parse_error("a '+' in the tag is not an escape"))?,
    );
    Ok(())
}

/// `a..b` -> `a.+.b`
fn escape_tag(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len() + 2);
    let mut previous = '\0';
    for c in tag.chars() {
        if c == '.' && previous == '.' {
            out.push('+');
        }
        out.push(c);
        previous = c;
    }
    out
}

/// Inverse of `escape_tag`: every `+` must sit between two dots.
fn unescape_tag(escaped: &str) -> Option<String> {
    let bytes = escaped.as_bytes();
    let mut out = String::with_capacity(escaped.len());
    for (i, c) in escaped.char_indices() {
        if c == '+' {
            let between_dots = i > 0 && bytes[i - 1] == b'.' && bytes.get(i + 1) == Some(&b'.');
            if !between_dots {
                return None;
            }
            continue;
        }
        out.push(c);
    }
    Some(out)
}

/// Splits at every `+` that is not a dot escape (`+` followed by `.`).
fn split_version(version: &str) -> Vec<&str> {
    let bytes = version.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'+' && bytes.get(i + 1) != Some(&b'.') {
            parts.push(&version[start..i]);
            start = i + 1;
        }
    }
    parts.push(&version[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(reference: &str) -> RecordKey {
        let r = ImageRef::parse(reference).expect("valid reference");
        RecordKey::for_reference(&r).expect("key")
    }

    #[test]
    fn keys_are_readable() {
        assert_eq!(
            key("registry.example.com/apps/myservice:1.2.0").to_string(),
            "registry.example.com+apps+myservice/1.2.0"
        );
        assert_eq!(key("127.0.0.1:5000/a:v1").name(), "127.0.0.1_5000+a");
        assert_eq!(key("r.io/a:1..2").version(), "1.+.2");
        let hex = "0".repeat(64);
        assert_eq!(
            key(&format!("r.io/a@sha256:{hex}")).version(),
            format!("sha256+{hex}")
        );
        assert_eq!(
            key(&format!("r.io/a:v1@sha256:{hex}")).version(),
            format!("v1+sha256+{hex}")
        );
    }

    #[test]
    fn from_parts_rejects_non_keys() {
        assert!(RecordKey::from_parts("r.io+a", "v1").is_ok());
        for (name, version) in [
            ("r.io", "v1"),
            ("r.io+a", "v+1"),
            ("R.io+a", "v1"),
            ("r.io+a", ""),
            ("r.io+a", "a+b+c+d"),
        ] {
            assert!(
                RecordKey::from_parts(name, version).is_err(),
                "{name}/{version}"
            );
        }
    }
}
