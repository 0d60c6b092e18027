//! Top-level keys of the config file that nothing reads.
//!
//! The top level stays open: the original tool's `imglife.yaml` has
//! sections imglife does not use (`sync`, `lifecycle`, `status`, ...), and
//! they are accepted silently. Any other top-level key is most likely a typo
//! (`registy:` would leave the store unconfigured without a word), so it is
//! a warning naming the key, the file, the line and the nearest known key.
//! Inside `registry:` and `inspection:` an unknown key is an error (see
//! `settings.rs`): there a typo would send records elsewhere.

use std::path::Path;

use crate::keys;

/// One warning per unknown top-level key of `text`, in file order. A file
/// that does not parse, or is not a mapping, gives none: loading it fails
/// with its own error.
pub(crate) fn warnings(text: &str, file: &Path) -> Vec<String> {
    let Ok(serde_yaml::Value::Mapping(mapping)) = serde_yaml::from_str::<serde_yaml::Value>(text)
    else {
        return Vec::new();
    };
    let known = keys::top_level_keys();
    mapping
        .keys()
        .filter_map(|k| match k {
            serde_yaml::Value::String(s) => Some(s.clone()),
            serde_yaml::Value::Number(n) => Some(n.to_string()),
            serde_yaml::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .filter(|k| !known.contains(&k.as_str()))
        .map(|key| {
            let at = match line_of(text, &key) {
                Some(line) => format!("config file {} line {line}", file.display()),
                None => format!("config file {}", file.display()),
            };
            let hint = match nearest(&key, &known) {
                Some(near) => format!("did you mean '{near}'?"),
                None => format!("known keys: {}", known.join(", ")),
            };
            format!("{at}: unknown key '{key}' is ignored; {hint}")
        })
        .collect()
}

/// The line of a top-level `key:` (not indented), 1-based.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines().enumerate().find_map(|(number, line)| {
        if line.starts_with([' ', '\t', '#', '-']) {
            return None;
        }
        let name = line.split(':').next()?.trim().trim_matches(['"', '\'']);
        (name == key).then_some(number + 1)
    })
}

/// The known key closest to `key` by edit distance (adjacent swaps count
/// once), when it is close enough to be a typo of it.
fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let key = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (distance(&key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Optimal string alignment distance (Damerau–Levenshtein without
/// repeated edits of one substring).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warn(text: &str) -> Vec<String> {
        warnings(text, Path::new("/w/imglife.yaml"))
    }

    #[test]
    fn a_misspelt_key_names_the_file_the_line_and_the_nearest_key() {
        let text = "log_level: warn\nregisty:\n  url: https://g\nlog_levl: debug\n";
        assert_eq!(
            warn(text),
            [
                "config file /w/imglife.yaml line 2: unknown key 'registy' is ignored; did you mean 'registry'?",
                "config file /w/imglife.yaml line 4: unknown key 'log_levl' is ignored; did you mean 'log_level'?",
            ]
        );
    }

    #[test]
    fn the_original_sections_are_accepted_silently() {
        let text = "registry:\n  url: https://g\nsync: []\nbuild:\n  core_version: 1\n\
                    retention: {}\nlifecycle:\n  eol_provider: local\nstatus: {}\n";
        assert!(warn(text).is_empty(), "{:?}", warn(text));
    }

    #[test]
    fn a_key_far_from_every_known_one_lists_them() {
        let w = warn("frobnicate: 1\n");
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("line 1"), "{w:?}");
        assert!(w[0].contains("known keys: log_level,"), "{w:?}");
    }

    #[test]
    fn swapped_letters_and_case_are_typos_too() {
        assert_eq!(
            nearest("inspcetion", &keys::top_level_keys()),
            Some("inspection")
        );
        assert_eq!(
            nearest("Registry", &keys::top_level_keys()),
            Some("registry")
        );
        assert_eq!(nearest("colour", &keys::top_level_keys()), Some("color"));
    }

    #[test]
    fn loading_keeps_the_warnings_and_the_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("imglife.yaml"),
            "registy:\n  url: https://g\nlog_level: debug\nsync: []\n",
        )
        .expect("write");
        let settings = crate::load::load_with_env(
            None,
            dir.path(),
            &crate::Overrides::default(),
            std::iter::empty(),
        )
        .expect("loads");
        assert_eq!(settings.warnings.len(), 1, "{:?}", settings.warnings);
        assert!(
            settings.warnings[0].contains("imglife.yaml line 1: unknown key 'registy'"),
            "{:?}",
            settings.warnings
        );
        assert_eq!(settings.log_level, crate::LogLevel::Debug);
    }

    #[test]
    fn a_file_that_is_not_a_mapping_gives_no_warning() {
        assert!(warn("- a\n- b\n").is_empty());
        assert!(warn("registry: [\n").is_empty());
    }
}
