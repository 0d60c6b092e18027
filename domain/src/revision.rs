//! The Git revision of the application project.

use std::fmt;

const REVISION_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RevisionError(String);

/// Stored verbatim; only displayed shortened.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(String);

impl Revision {
    /// Non-empty, printable, no whitespace, at most 256 characters.
    pub fn parse(input: &str) -> Result<Self, RevisionError> {
        if input.is_empty() {
            return Err(RevisionError("is empty".to_owned()));
        }
        let chars = input.chars().count();
        if chars > REVISION_MAX {
            return Err(RevisionError(format!(
                "is {chars} characters long; the limit is {REVISION_MAX}"
            )));
        }
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(RevisionError(format!(
                "'{}' contains {} (U+{:04X}); a revision is one printable word such as a commit SHA",
                input.escape_debug(),
                if c.is_whitespace() {
                    "whitespace"
                } else {
                    "a control character"
                },
                u32::from(c)
            )));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A full 40- or 64-hex commit id (SHA-1 or SHA-256 Git) shortened to 7
    /// characters, as Git shows it; anything else unchanged.
    pub fn short(&self) -> &str {
        let full_hex =
            matches!(self.0.len(), 40 | 64) && self.0.bytes().all(|b| b.is_ascii_hexdigit());
        if full_hex { &self.0[..7] } else { &self.0 }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortens_only_full_hex_ids() {
        let sha1 = "a3f8b1c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2";
        assert_eq!(
            Revision::parse(sha1).map(|r| r.short().to_owned()),
            Ok("a3f8b1c".to_owned())
        );
        assert_eq!(
            Revision::parse("v1.2.3").map(|r| r.short().to_owned()),
            Ok("v1.2.3".to_owned())
        );
        assert!(Revision::parse("a b").is_err());
        assert!(Revision::parse("").is_err());
        assert!(Revision::parse(&"x".repeat(257)).is_err());
        assert!(Revision::parse(&"x".repeat(256)).is_ok());
    }
}
