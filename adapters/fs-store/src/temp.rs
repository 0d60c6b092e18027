//! Temporary files of writes: their name, and the removal of those that a
//! killed writer left behind.
//!
//! A write creates `.<version>.<6 random letters or digits>.tmp` in the
//! record's directory and renames it over `<version>.json`. A writer killed
//! in between (SIGKILL, power loss, a CI job cancelled) leaves its
//! temporary file behind. Nothing lists those files (their names start with
//! a dot), so they only waste space; the next write to the same directory
//! removes the ones older than `STALE_AFTER`.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use imglife_domain::RecordKey;

use crate::read::show;

/// How many random characters tempfile puts between prefix and suffix; set
/// explicitly so that the pattern below is ours, not a default that could
/// change.
pub(crate) const RANDOM_LEN: usize = 6;
pub(crate) const SUFFIX: &str = ".tmp";

/// Age past which a temporary file is a killed writer's leftover. A write
/// in progress lives for milliseconds (one record of at most 1 MiB: create,
/// write, fsync, rename); an hour is far beyond any live writer, even on a
/// slow or overloaded disk or a paused CI runner, so a concurrent write is
/// never disturbed, while leftovers are still cleaned the same day.
pub const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// `.<version>.` : the prefix of a write's temporary file.
pub(crate) fn prefix(version: &str) -> String {
    format!(".{version}.")
}

/// Whether `file_name`, in the directory of repository `name`, is a
/// temporary file imglife itself creates: `.<version>.<random>.tmp` with a
/// version that is a key of that repository and exactly `RANDOM_LEN`
/// ASCII letters or digits.
pub(crate) fn is_own(name: &str, file_name: &str) -> bool {
    let Some(inner) = file_name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(SUFFIX))
    else {
        return false;
    };
    let Some((version, random)) = inner.rsplit_once('.') else {
        return false;
    };
    random.len() == RANDOM_LEN
        && random.bytes().all(|b| b.is_ascii_alphanumeric())
        && RecordKey::from_parts(name, version).is_ok()
}

/// Removes, from `dir` (the directory of repository `name`), imglife's own
/// temporary files that are regular files (a link is never followed nor
/// removed) last modified `STALE_AFTER` ago or earlier. Best effort: a
/// failure is logged and never fails the write that triggered it.
pub(crate) fn remove_stale(dir: &Path, name: &str, now: SystemTime) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(
                "cannot look for stale temporary files in {}: {e}",
                show(dir)
            );
            return;
        }
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if !is_own(name, file_name) || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        // DirEntry::metadata does not follow links.
        let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        // A modification time in the future (clock skew) is not old.
        let Ok(age) = now.duration_since(modified) else {
            continue;
        };
        if age < STALE_AFTER {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => tracing::info!(
                "removed {}, a temporary file left by an interrupted write {} min ago",
                show(&path),
                age.as_secs() / 60
            ),
            // Another writer removed it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                "cannot remove {}, a temporary file left by an interrupted write: {e}",
                show(&path)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_imglifes_own_pattern_is_recognised() {
        let name = "r.io+apps+a";
        for own in [".1.0.AbC123.tmp", ".1.2.0.zzzzzz.tmp", ".v1.000000.tmp"] {
            assert!(is_own(name, own), "{own}");
        }
        for other in [
            ".1.0.x.tmp",       // random part too short
            ".1.0.AbC1234.tmp", // too long
            ".1.0.AbC12-.tmp",  // not alphanumeric
            "1.0.AbC123.tmp",   // no leading dot
            ".1.0.AbC123.json", // not .tmp
            ".AbC123.tmp",      // no version
            ".v+1.AbC123.tmp",  // not a key version
            ".notes.tmp",
            "1.0.json",
        ] {
            assert!(!is_own(name, other), "{other}");
        }
        assert!(!is_own("not-a-key", ".1.0.AbC123.tmp"), "not a key name");
    }
}
