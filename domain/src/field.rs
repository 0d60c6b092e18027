//! Custom `--field KEY=VALUE` entries of a record.

use std::collections::BTreeMap;

const KEY_MAX: usize = 128;

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
    /// repeat; values are any text, possibly empty.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, FieldError> {
        let mut map = BTreeMap::new();
        for item in items {
            let Some((key, value)) = item.split_once('=') else {
                return Err(FieldError(format!(
                    "'{}' has no '='; write KEY=VALUE, e.g. ci_pipeline_id=1234",
                    item.escape_debug()
                )));
            };
            validate_key(key)?;
            if map.insert(key.to_owned(), value.to_owned()).is_some() {
                return Err(FieldError(format!(
                    "key '{key}' is given more than once; give each key once"
                )));
            }
        }
        Ok(Self(map))
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
    if key.len() > KEY_MAX {
        return Err(FieldError(format!(
            "key '{key}' is {} characters long; the limit is {KEY_MAX}",
            key.len()
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
}
