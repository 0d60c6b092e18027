//! The AWS shared files (`~/.aws/credentials`, `~/.aws/config`), read as
//! the AWS SDKs read them: INI sections, `key = value` lines, `#` and `;`
//! comment lines (no comments inside values), indented sub-properties
//! ignored. In the config file a profile's section is `[profile NAME]`
//! (`[default]` for the default one); in the credentials file it is
//! `[NAME]`. A profile given twice in a file is merged, the later value
//! winning.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Which of the two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Credentials,
    Config,
}

/// A shared file larger than this is not a credentials file.
const MAX_FILE: u64 = 1024 * 1024;

/// One profile's properties, each with the file it came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Profile {
    values: BTreeMap<String, (String, PathBuf)>,
}

impl Profile {
    /// `base`'s properties overridden by `over`'s.
    pub(crate) fn merge(base: Option<Profile>, over: Option<Profile>) -> Profile {
        let mut merged = base.unwrap_or_default();
        if let Some(over) = over {
            merged.values.extend(over.values);
        }
        merged
    }

    /// Whether the property is set (to anything, even blank).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The property's value, when it is set and not blank.
    pub(crate) fn value(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The file that set `key`, else the one that set `other`.
    pub(crate) fn file_of(&self, key: &str, other: &str) -> &Path {
        self.values
            .get(key)
            .or_else(|| self.values.get(other))
            .map_or(Path::new(""), |(_, file)| file.as_path())
    }
}

/// Why a shared file could not be read.
#[derive(Debug)]
pub(crate) struct ReadError {
    path: PathBuf,
    why: String,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the AWS shared file {} cannot be read: {}",
            imglife_domain::text::escape(&self.path.display().to_string()),
            self.why
        )
    }
}

/// The profile `name` of the file at `path`; `None` when the file does not
/// exist or has no such profile. A file that exists but cannot be read (or
/// is not a regular file, or is larger than 1 MiB) is an error.
pub(crate) fn read(path: &Path, kind: Kind, name: &str) -> Result<Option<Profile>, ReadError> {
    let error = |why: String| ReadError {
        path: path.to_path_buf(),
        why,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(e.to_string())),
    };
    let meta = file.metadata().map_err(|e| error(e.to_string()))?;
    if !meta.is_file() {
        return Err(error("not a regular file".to_owned()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(error("larger than 1 MiB".to_owned()));
    }
    let text = String::from_utf8(bytes).map_err(|_| error("not UTF-8 text".to_owned()))?;
    Ok(parse(&text, kind, name, path))
}

fn parse(text: &str, kind: Kind, name: &str, path: &Path) -> Option<Profile> {
    let mut profile: Option<Profile> = None;
    let mut in_profile = false;
    for line in text.lines() {
        // Indented lines continue the previous property (sub-properties).
        if line.starts_with([' ', '\t']) && !line.trim().is_empty() {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(end) = rest.find(']') else {
                in_profile = false;
                continue;
            };
            in_profile = section_name(rest[..end].trim(), kind).as_deref() == Some(name);
            if in_profile && profile.is_none() {
                profile = Some(Profile::default());
            }
            continue;
        }
        if !in_profile {
            continue;
        }
        if let (Some(profile), Some((key, value))) = (profile.as_mut(), line.split_once('=')) {
            profile.values.insert(
                key.trim().to_ascii_lowercase(),
                (value.trim().to_owned(), path.to_path_buf()),
            );
        }
    }
    profile
}

/// The profile a section header names, if any.
fn section_name(header: &str, kind: Kind) -> Option<String> {
    match kind {
        Kind::Credentials => (!header.starts_with("profile ")).then(|| header.to_owned()),
        Kind::Config => match header.strip_prefix("profile ") {
            Some(name) => Some(name.trim().to_owned()),
            None => (header == "default").then(|| header.to_owned()),
        },
    }
}

#[cfg(test)]
mod s3_tests {
    use super::*;

    #[test]
    fn sections_follow_each_files_rules() {
        let config = "[default]\nregion=x\n[profile a]\nk = 1\n  sub = ignored\ns3 =\n  max = 2\n\
                      [a]\nk = not-this-one\n[profile a]\nk2 = 2\n";
        let path = Path::new("/c");
        let a = parse(config, Kind::Config, "a", path).expect("a");
        assert_eq!(a.value("k"), Some("1"));
        assert_eq!(a.value("k2"), Some("2"));
        assert!(!a.has("sub") && !a.has("max"));
        assert!(a.has("s3"));
        assert_eq!(a.value("s3"), None);
        assert!(parse(config, Kind::Config, "b", path).is_none());
        let credentials = "[a]\nK = v # not a comment\n[profile b]\nk = no\n";
        let a = parse(credentials, Kind::Credentials, "a", path).expect("a");
        assert_eq!(a.value("k"), Some("v # not a comment"));
        assert!(parse(credentials, Kind::Credentials, "b", path).is_none());
    }

    #[test]
    fn unreadable_files_are_errors_and_missing_ones_are_not() {
        assert!(matches!(
            read(
                Path::new("/nonexistent/credentials"),
                Kind::Credentials,
                "default"
            ),
            Ok(None)
        ));
        let dir = tempfile::tempdir().expect("temp dir");
        let e = read(dir.path(), Kind::Credentials, "default").expect_err("a directory");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
