//! Target platforms such as `linux/amd64` or `linux/arm64/v8`.

use std::fmt;

/// Characters of one of os, architecture, variant. The OCI image index
/// sets no bound; real values are a few characters (`linux`, `amd64`,
/// `v8`), and a record must stay small (see `field.rs`).
const PART_MAX: usize = 64;
/// Platforms of one record; real images list a handful.
const PLATFORMS_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlatformError(String);

/// `os/arch` or `os/arch/variant`, lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    os: String,
    architecture: String,
    variant: Option<String>,
}

impl Platform {
    pub fn parse(input: &str) -> Result<Self, PlatformError> {
        if input.len() > 3 * PART_MAX + 2 {
            return Err(PlatformError(format!(
                "is {} characters long; a platform is os/arch or os/arch/variant of at most \
                 {PART_MAX} characters each",
                input.chars().count()
            )));
        }
        let parts: Vec<&str> = input.split('/').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(PlatformError(format!(
                "'{input}' is not a platform; use os/arch or os/arch/variant, e.g. linux/amd64"
            )));
        }
        for part in &parts {
            let valid = !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
            if !valid {
                let hint = if part.bytes().any(|b| b.is_ascii_uppercase()) {
                    format!(" (write it in lower case: {})", input.to_ascii_lowercase())
                } else {
                    String::new()
                };
                return Err(PlatformError(format!(
                    "'{}' is not a platform: '{}' must be lower-case letters, digits, \
                     '.', '_' or '-'{hint}",
                    input.escape_debug(),
                    part.escape_debug()
                )));
            }
            if part.len() > PART_MAX {
                return Err(PlatformError(format!(
                    "'{input}' is not a platform: '{part}' is {} characters long; the limit is \
                     {PART_MAX}",
                    part.len()
                )));
            }
        }
        Ok(Self {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
        })
    }

    /// Builds a platform from the separate fields of an image config or an
    /// index entry; empty variants count as absent.
    pub fn from_parts(
        os: &str,
        architecture: &str,
        variant: Option<&str>,
    ) -> Result<Self, PlatformError> {
        let text = match variant.filter(|v| !v.is_empty()) {
            Some(v) => format!("{os}/{architecture}/{v}"),
            None => format!("{os}/{architecture}"),
        };
        Self::parse(&text)
    }

    pub fn os(&self) -> &str {
        &self.os
    }

    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A non-empty list of platforms, duplicates dropped, first occurrence
/// order kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platforms(Vec<Platform>);

impl Platforms {
    /// Parses values that may each hold several platforms separated by
    /// spaces or commas (`--platform "linux/amd64 linux/arm64"`, the
    /// `imglife.platforms` label). Returns `Ok(None)` when nothing is listed.
    pub fn parse_lists<'a>(
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<Self>, PlatformError> {
        let mut list: Vec<Platform> = Vec::new();
        for value in values {
            for item in value.split(|c: char| c == ',' || c.is_whitespace()) {
                if item.is_empty() {
                    continue;
                }
                let platform = Platform::parse(item)?;
                if !list.contains(&platform) {
                    list.push(platform);
                }
                if list.len() > PLATFORMS_MAX {
                    return Err(PlatformError(format!(
                        "more than {PLATFORMS_MAX} platforms; a record lists at most \
                         {PLATFORMS_MAX}"
                    )));
                }
            }
        }
        Ok(Self::from_vec(list))
    }

    /// Deduplicates; `None` for an empty list.
    pub fn from_vec(list: Vec<Platform>) -> Option<Self> {
        let mut unique: Vec<Platform> = Vec::with_capacity(list.len());
        for p in list {
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        (!unique.is_empty()).then_some(Self(unique))
    }

    pub fn as_slice(&self) -> &[Platform] {
        &self.0
    }
}

impl fmt::Display for Platforms {
    /// Space-separated, as the `--platform` flag takes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_spaces_and_commas_and_dedupes_in_order() {
        let p = Platforms::parse_lists(["linux/arm64 linux/amd64", "linux/amd64,linux/arm/v7"])
            .expect("valid")
            .expect("non-empty");
        assert_eq!(p.to_string(), "linux/arm64 linux/amd64 linux/arm/v7");
    }

    #[test]
    fn empty_lists_are_none_and_bad_platforms_fail() {
        assert_eq!(Platforms::parse_lists([" , "]), Ok(None));
        for bad in [
            "linux",
            "linux/AMD64",
            "linux/amd64/v8/x",
            "linux//amd64",
            "linux/amd 64",
        ] {
            assert!(Platforms::parse_lists([bad]).is_err(), "{bad}");
        }
        assert!(Platform::parse("linux/amd 64").is_err());
    }

    #[test]
    fn parts_and_lists_are_bounded() {
        let part = "a".repeat(64);
        assert!(Platform::parse(&format!("linux/{part}")).is_ok());
        let e = Platform::parse(&format!("linux/{part}a")).expect_err("65");
        assert!(e.to_string().contains("65 characters long"), "{e}");
        let e = Platform::parse(&"a".repeat(100_000)).expect_err("huge");
        assert!(e.to_string().len() < 200, "not echoed: {e}");
        let many: Vec<String> = (0..65).map(|i| format!("linux/arch{i}")).collect();
        let e = Platforms::parse_lists(many.iter().map(String::as_str)).expect_err("65");
        assert!(e.to_string().contains("at most 64"), "{e}");
        // repeats do not count
        let same = vec!["linux/amd64"; 1000];
        assert!(Platforms::parse_lists(same).is_ok());
        assert!(Platforms::parse_lists(many[..64].iter().map(String::as_str)).is_ok());
    }
}
