//! The Git revision of the application project.

use std::fmt;

use crate::text::is_unsafe;

/// Longer than any commit id (64 hex digits for SHA-256 Git) or
/// `git describe` output a person would pass, short enough to print.
const REVISION_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RevisionError(String);

/// Stored verbatim; only displayed shortened.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(String);

impl Revision {
    /// Non-empty, printable, no whitespace, at most 256 characters. Control
    /// characters, bidi controls (which make `abc\u{202e}fed` display as
    /// another revision) and zero-width characters (which make two
    /// different revisions look the same) are refused: see
    /// `text::is_unsafe`.
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
        if let Some(c) = input.chars().find(|&c| c.is_whitespace() || is_unsafe(c)) {
            let what = if c.is_whitespace() {
                "whitespace"
            } else if c.is_control() {
                "a control character"
            } else if matches!(
                c,
                '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            ) {
                "a bidi control character"
            } else {
                "an invisible (zero-width) character"
            };
            return Err(RevisionError(format!(
                "'{}' contains {what} (U+{:04X}); a revision is one printable word such as a \
                 commit SHA",
                input.escape_debug(),
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

    fn error(input: &str) -> String {
        match Revision::parse(input) {
            Ok(r) => panic!("{input:?} was accepted as {r}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn refuses_what_would_display_as_something_else() {
        for (bad, says) in [
            ("abc\u{202e}fed", "bidi control character (U+202E)"),
            ("abc\u{2066}x", "bidi control character (U+2066)"),
            ("abc\u{200f}", "bidi control character (U+200F)"),
            ("a3f8\u{200b}b1c", "zero-width) character (U+200B)"),
            ("a3f8b1c\u{feff}", "zero-width) character (U+FEFF)"),
            ("a\u{2060}b", "zero-width) character (U+2060)"),
            ("a\u{1b}[31m", "control character (U+001B)"),
            ("a\u{85}b", "U+0085"),
            ("a\u{2028}b", "whitespace (U+2028)"),
            ("a\u{a0}b", "whitespace (U+00A0)"),
        ] {
            let e = error(bad);
            assert!(e.contains(says), "{bad:?}: {e}");
            if bad.chars().any(is_unsafe) {
                assert!(!e.contains(bad), "shown escaped: {e}");
            }
        }
        for ok in ["v1.2.3-rc.1+build", "refs/heads/main", "café", "🚀"] {
            assert!(Revision::parse(ok).is_ok(), "{ok}");
        }
        let e = error(&"x".repeat(100_000));
        assert!(e.contains("100000 characters"), "{e}");
    }
}
