//! Custom `--field KEY=VALUE` entries of a record.

use std::collections::BTreeMap;

use crate::text::is_unsafe;

/// Bounds that keep any record far below the 1 MiB a store reads (at most
/// 32 x (128 + 8192) bytes of fields, twice that with JSON escaping: about
/// 530 KiB), and each value short enough to show.
const KEY_MAX: usize = 128;
/// Bytes of one value (UTF-8): room for a URL, a pipeline id, a short note.
const VALUE_MAX: usize = 8192;
/// Fields of one record.
const FIELDS_MAX: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(String);

/// Keys sorted, so that the stored document does not depend on flag order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CustomFields(BTreeMap<String, String>);

impl CustomFields {
    /// Parses `KEY=VALUE` items, split at the first `=`. Keys match
    /// `[A-Za-z_][A-Za-z0-9_.-]*` (at most 128 characters) and may not
    /// repeat; values are printable text of at most 8192 bytes, possibly
    /// empty; at most 32 fields.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, FieldError> {
        let mut map = BTreeMap::new();
        for item in items {
            let Some((key, value)) = item.split_once('=') else {
                let shown: String = item.chars().take(KEY_MAX).collect();
                return Err(FieldError(format!(
                    "'{}{}' has no '='; write KEY=VALUE, e.g. ci_pipeline_id=1234",
                    shown.escape_debug(),
                    if shown.len() < item.len() { "..." } else { "" }
                )));
            };
            validate_key(key)?;
            validate_value(key, value)?;
            if map.insert(key.to_owned(), value.to_owned()).is_some() {
                return Err(FieldError(format!(
                    "key '{key}' is given more than once; give each key once"
                )));
            }
            if map.len() > FIELDS_MAX {
                return Err(FieldError(format!(
                    "more than {FIELDS_MAX} fields; a record holds at most {FIELDS_MAX}"
                )));
            }
        }
        Ok(Self(map))
    }

    /// The same rules, for fields read back from a stored record.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.0.len() > FIELDS_MAX {
            return Err(FieldError(format!(
                "has {} fields; a record holds at most {FIELDS_MAX}",
                self.0.len()
            )));
        }
        for (key, value) in &self.0 {
            validate_key(key)?;
            validate_value(key, value)?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn validate_key(key: &str) -> Result<(), FieldError> {
    if key.len() > KEY_MAX {
        return Err(FieldError(format!(
            "key '{}...' is {} characters long; the limit is {KEY_MAX}",
            key.chars().take(16).collect::<String>().escape_debug(),
            key.chars().count()
        )));
    }
    let mut chars = key.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok {
        return Err(FieldError(format!(
            "key '{}' is invalid: it must start with a letter or '_' and hold only letters, \
             digits, '_', '.' and '-'",
            key.escape_debug()
        )));
    }
    Ok(())
}

/// Printable: no control character (line breaks and tabs included), bidi
/// control or zero-width character (`text::is_unsafe`), which would make a
/// value display as something else.
fn validate_value(key: &str, value: &str) -> Result<(), FieldError> {
    if value.len() > VALUE_MAX {
        return Err(FieldError(format!(
            "the value of '{key}' is {} bytes long; the limit is {VALUE_MAX}",
            value.len()
        )));
    }
    if let Some(c) = value.chars().find(|&c| is_unsafe(c)) {
        return Err(FieldError(format!(
            "the value of '{key}' contains the character U+{:04X} (a control, bidi or \
             zero-width character); values are printable text on one line",
            u32::from(c)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_first_equals_sign() {
        let f = CustomFields::parse(["url=https://x/?a=b", "empty="]).expect("valid");
        let pairs: Vec<_> = f.iter().collect();
        assert_eq!(pairs, [("empty", ""), ("url", "https://x/?a=b")]);
    }

    #[test]
    fn rejects_bad_and_repeated_keys() {
        for bad in [
            vec!["novalue"],
            vec!["=v"],
            vec!["1a=v"],
            vec!["a b=v"],
            vec!["k=1", "k=2"],
        ] {
            assert!(CustomFields::parse(bad.iter().copied()).is_err(), "{bad:?}");
        }
        assert!(CustomFields::parse([format!("{}=v", "k".repeat(129)).as_str()]).is_err());
    }

    fn error(items: &[&str]) -> String {
        match CustomFields::parse(items.iter().copied()) {
            Ok(f) => panic!("{items:?} accepted: {f:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn values_are_bounded_and_printable() {
        let long = format!("k={}", "v".repeat(8192));
        assert!(CustomFields::parse([long.as_str()]).is_ok());
        let e = error(&[&format!("{long}v")]);
        assert!(e.contains("8193 bytes long"), "{e}");
        for (bad, code) in [
            ("k=a\nb", "U+000A"),
            ("k=a\tb", "U+0009"),
            ("k=\u{1b}[2J", "U+001B"),
            ("k=x\u{202e}y", "U+202E"),
            ("k=x\u{200b}", "U+200B"),
        ] {
            let e = error(&[bad]);
            assert!(e.contains(code), "{bad:?}: {e}");
            assert!(e.contains("'k'"), "{e}");
        }
        assert!(CustomFields::parse(["k=café ✓ https://x/?a=b c"]).is_ok());
    }

    #[test]
    fn at_most_32_fields() {
        let items: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        let refs: Vec<&str> = items.iter().map(String::as_str).collect();
        assert!(CustomFields::parse(refs[..32].iter().copied()).is_ok());
        let e = error(&refs);
        assert!(e.contains("at most 32"), "{e}");
    }

    #[test]
    fn huge_keys_and_items_are_not_echoed() {
        let e = error(&[&format!("{}=v", "k".repeat(100_000))]);
        assert!(e.len() < 200 && e.contains("100000 characters"), "{e}");
        let e = error(&[&"x".repeat(100_000)]);
        assert!(e.len() < 300 && e.contains("no '='"), "{e}");
    }

    #[test]
    fn stored_fields_are_held_to_the_same_rules() {
        let ok: CustomFields = serde_json::from_str(r#"{"k": "v"}"#).expect("json");
        assert!(ok.validate().is_ok());
        let bad: CustomFields = serde_json::from_str(r#"{"k": "a\nb"}"#).expect("json");
        assert!(bad.validate().is_err());
        let bad: CustomFields = serde_json::from_str(r#"{"1k": "v"}"#).expect("json");
        assert!(bad.validate().is_err());
    }
}
