//! `IMGLIFE_*` variables, read as text.
//!
//! figment's own `Env` provider parses every value as if it were a literal
//! in a config file: `IMGLIFE_REGISTRY__PATH=007` became the number 7 and
//! `=true` a boolean, and both were then refused as "not a path". Here a
//! value always stays the string it is; a numeric setting still accepts
//! `IMGLIFE_INSPECTION__TIMEOUT_SECS=120` because `load` extracts with
//! `Figment::extract_lossy`, which reads a string as a number exactly when
//! the setting asks for one. Doing it this way, rather than keeping a list
//! of which keys are numbers, leaves the types in `settings.rs` the one
//! source of truth: a new numeric setting works from the environment
//! without touching this file.
//!
//! A value written in brackets, `[a.io, b.io:5000]`, is a list of strings
//! (for `registry.insecure_registries`), as it was with figment's parser.

use std::ffi::OsString;

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use crate::error::ConfigError;

const PREFIX: &str = "IMGLIFE_";

/// Top-level keys that `IMGLIFE_*` variables may set. Everything else under
/// the prefix (registry credentials such as `IMGLIFE_GHCR_IO_TOKEN`,
/// `IMGLIFE_CONFIG`) is not configuration and is never read here.
const KEYS: &[&str] = &[
    "log_level",
    "log_format",
    "color",
    "registry",
    "retention",
    "inspection",
    "source",
    "build",
    "cache",
];

/// The configuration found in the environment, as a figment provider.
pub(crate) struct EnvStrings {
    dict: Dict,
}

impl EnvStrings {
    /// Reads the `IMGLIFE_*` configuration variables out of `vars` (the
    /// process environment, or a test's). Names are matched without regard
    /// to case, nested keys are joined by `__`; a value that is not UTF-8 is
    /// an error naming its variable.
    pub(crate) fn collect(
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Self, ConfigError> {
        let mut dict = Dict::new();
        for (name, value) in vars {
            // A name that is not UTF-8 cannot be one of ours.
            let Some(name) = name.to_str() else { continue };
            let Some(key) = key_of(name) else { continue };
            let Some(value) = value.to_str() else {
                return Err(ConfigError::new(format!(
                    "variable {}: the value is not valid UTF-8; set it as UTF-8 text",
                    name.trim()
                )));
            };
            insert(&mut dict, &key, value_of(value));
        }
        Ok(Self { dict })
    }
}

/// `IMGLIFE_REGISTRY__PATH` → `registry.path`; `None` for a variable that
/// is not configuration.
fn key_of(name: &str) -> Option<String> {
    let name = name.trim();
    let head = name.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let key = name[PREFIX.len()..].to_ascii_lowercase().replace("__", ".");
    if key.split('.').any(str::is_empty) {
        return None;
    }
    let top = key.split('.').next()?;
    KEYS.contains(&top).then_some(key)
}

fn value_of(text: &str) -> Value {
    let trimmed = text.trim();
    match trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(inner) => {
            let items: Vec<Value> = inner
                .split(',')
                .map(|item| {
                    let item = item.trim();
                    let unquoted = ['"', '\'']
                        .iter()
                        .find_map(|q| item.strip_prefix(*q)?.strip_suffix(*q))
                        .unwrap_or(item);
                    Value::from(unquoted.to_owned())
                })
                .filter(|v| v.as_str() != Some(""))
                .collect();
            Value::from(items)
        }
        None => Value::from(text.to_owned()),
    }
}

fn insert(dict: &mut Dict, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            dict.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

impl Provider for EnvStrings {
    fn metadata(&self) -> Metadata {
        // `error::origin_of` recognises the environment by this name.
        Metadata::named("`IMGLIFE_` environment variable(s)").interpolater(
            |_: &Profile, keys: &[&str]| {
                let keys: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
                format!("{PREFIX}{}", keys.join("__"))
            },
        )
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Dict {
        EnvStrings::collect(
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
        .expect("UTF-8")
        .dict
    }

    fn at<'a>(dict: &'a Dict, path: &str) -> Option<&'a Value> {
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        let value = dict.get(head)?;
        if rest.is_empty() {
            return Some(value);
        }
        match value {
            Value::Dict(_, inner) => at(inner, rest),
            _ => None,
        }
    }

    #[test]
    fn values_stay_text() {
        let dict = env(&[
            ("IMGLIFE_REGISTRY__PATH", "007"),
            ("IMGLIFE_REGISTRY__OWNER", "true"),
            ("IMGLIFE_INSPECTION__TIMEOUT_SECS", "120"),
            ("IMGLIFE_LOG_LEVEL", " debug "),
        ]);
        assert_eq!(
            at(&dict, "registry.path").and_then(Value::as_str),
            Some("007")
        );
        assert_eq!(
            at(&dict, "registry.owner").and_then(Value::as_str),
            Some("true")
        );
        assert_eq!(
            at(&dict, "inspection.timeout_secs").and_then(Value::as_str),
            Some("120")
        );
        assert_eq!(
            at(&dict, "log_level").and_then(Value::as_str),
            Some(" debug ")
        );
    }

    #[test]
    fn brackets_make_a_list_of_strings() {
        let dict = env(&[(
            "IMGLIFE_REGISTRY__INSECURE_REGISTRIES",
            "[a.io, 'b.io:5000', 007,]",
        )]);
        let Some(Value::Array(_, items)) = at(&dict, "registry.insecure_registries") else {
            panic!("a list: {dict:?}");
        };
        let items: Vec<_> = items.iter().filter_map(Value::as_str).collect();
        assert_eq!(items, ["a.io", "b.io:5000", "007"]);
    }

    #[test]
    fn only_configuration_variables_are_read() {
        let dict = env(&[
            ("IMGLIFE_CONFIG", "x.yaml"),
            ("IMGLIFE_GHCR_IO_TOKEN", "secret"),
            ("IMGLIFE_REGISTRY__", "x"),
            ("IMGLIFE_REGISTRY____PATH", "x"),
            ("OTHER_REGISTRY__PATH", "x"),
            ("imglife_registry__url", "https://g.example"),
        ]);
        assert_eq!(dict.len(), 1, "{dict:?}");
        assert_eq!(
            at(&dict, "registry.url").and_then(Value::as_str),
            Some("https://g.example")
        );
    }

    #[test]
    fn a_value_that_is_not_utf8_names_its_variable() {
        use std::os::unix::ffi::OsStringExt;
        let error = EnvStrings::collect([(
            OsString::from("IMGLIFE_REGISTRY__PATH"),
            OsString::from_vec(b"x\xff".to_vec()),
        )])
        .err()
        .expect("refused")
        .to_string();
        assert!(error.contains("IMGLIFE_REGISTRY__PATH"), "{error}");
        assert!(error.contains("UTF-8"), "{error}");
    }
}
