//! Configuration errors, each naming where the bad value came from.

use std::fmt;
use std::path::Path;

use figment::error::{Actual, Kind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// Turns figment's errors into one clause per problem, naming the file
    /// (and line) or the exact variable, the key and what is wrong.
    pub(crate) fn from_figment(error: figment::Error) -> Self {
        let clauses: Vec<String> = error.into_iter().map(|e| describe(&e)).collect();
        Self::new(clauses.join("; "))
    }
}

fn describe(error: &figment::Error) -> String {
    let key = error.path.join(".");
    let origin = match &error.metadata {
        Some(meta) => origin_of(meta, &error.path),
        None => "configuration".to_owned(),
    };
    let what = match &error.kind {
        Kind::UnknownField(_, expected) => format!(
            "unknown key '{key}'{}; remove it or fix its spelling",
            if expected.is_empty() {
                String::new()
            } else {
                format!(" (known keys: {})", expected.join(", "))
            }
        ),
        Kind::UnknownVariant(found, expected) => format!(
            "'{key}' cannot be '{found}'; use one of: {}",
            expected.join(", ")
        ),
        Kind::InvalidType(found, expected) => {
            // YAML reads `path: 007` or `owner: yes` as a number or a
            // boolean; quoting keeps the text.
            let from_file = error
                .metadata
                .as_ref()
                .is_some_and(|m| matches!(m.source, Some(figment::Source::File(_))));
            let scalar = matches!(
                found,
                Actual::Bool(_) | Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_)
            );
            let hint = if from_file && scalar && expected.contains("string") {
                "; put the value in quotes to keep it as text"
            } else {
                ""
            };
            format!(
                "'{key}' has the wrong type: found {found}, expected {}{hint}",
                plain_type(expected)
            )
        }
        kind if key.is_empty() => kind.to_string(),
        kind => format!("'{key}': {kind}"),
    };
    format!("{origin}: {what}")
}

/// Where a value came from, for messages: `variable IMGLIFE_REGISTRY__URL`,
/// `config file /x/imglife.yaml line 3`, or the provider's name.
pub(crate) fn origin_of(meta: &figment::Metadata, path: &[String]) -> String {
    if meta.name.contains("environment") {
        return if path.is_empty() {
            "environment".to_owned()
        } else {
            format!("variable IMGLIFE_{}", path.join("__").to_ascii_uppercase())
        };
    }
    match &meta.source {
        Some(figment::Source::File(file)) => match line_of(file, path) {
            Some(line) => format!("config file {} line {line}", file.display()),
            None => format!("config file {}", file.display()),
        },
        _ => meta.name.to_string(),
    }
}

/// serde names structs by their Rust type; a person editing YAML thinks
/// of a mapping.
fn plain_type(expected: &str) -> String {
    if expected.starts_with("struct ") {
        "a mapping of keys".to_owned()
    } else {
        expected.to_owned()
    }
}

/// Finds the line of a nested key in a YAML file by following the
/// indentation: good enough to point a person at the right line, and
/// `None` when the key is not written as a plain `key:` line.
fn line_of(path: &Path, keys: &[String]) -> Option<usize> {
    // Only a regular file is read again (a pipe given as --config is gone,
    // and a FIFO would block); the file was read and bounded by `load`.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    // Read again with the same bound as `load` (the file may have grown).
    let text = String::from_utf8(crate::load::read_bounded(path).ok()?).ok()?;
    let mut wanted = keys.iter();
    let mut key = wanted.next()?;
    let mut parent_indent: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if parent_indent.is_some_and(|p| indent <= p) {
            return None; // left the section without finding the key
        }
        let name = trimmed
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(['"', '\'']);
        if name == key.as_str()
            && trimmed[name.len()..]
                .trim_start_matches(['"', '\''])
                .trim_start()
                .starts_with(':')
        {
            match wanted.next() {
                Some(next) => {
                    key = next;
                    parent_indent = Some(indent);
                }
                None => return Some(number + 1),
            }
        }
    }
    None
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}
