//! Keys given twice in the YAML file.
//!
//! The YAML spec forbids a mapping with two equal keys, but serde_yaml
//! (what figment's `yaml` feature parses with) keeps the last silently, so a
//! second `path:` further down a section would quietly send records
//! elsewhere. The file is parsed here with that same serde_yaml, so a file
//! is judged exactly as figment then reads it: block and flow mappings,
//! quoted keys, comments, anchors and aliases, and every document of a
//! multi-document file (each on its own; figment then refuses the file for
//! having several).
//!
//! Keys are compared as the text figment reads them (`1:` and `"1":` are
//! the same key to figment, so they are the same key here). serde_yaml
//! does not say where a key is, except in an error: an error raised while
//! a key is read carries that key's line. So a first pass stops at the
//! second occurrence of a key (its line), and a second pass over the same
//! document stops at the first occurrence (its line). A key written as an
//! alias (`*k : x`, rare in a config file) is placed where its anchor is.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// A key set twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Duplicate {
    /// Dotted path of the key: `registry.path`.
    pub key: String,
    pub first_line: usize,
    pub second_line: usize,
}

/// The first key given twice in `text`, if any. A file that does not parse
/// gives `None`: figment then reports the syntax error with its line.
pub(crate) fn find(text: &str) -> Option<Duplicate> {
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let state = RefCell::new(State::default());
        let outcome = Node::root(&state).deserialize(document);
        let Some((mapping, key, path)) = state.into_inner().duplicate else {
            if outcome.is_err() {
                return None; // not a duplicate: figment says what it is
            }
            continue;
        };
        let second_line = outcome.err()?.location()?.line();
        let document = serde_yaml::Deserializer::from_str(text).nth(index)?;
        let state = RefCell::new(State {
            locate: Some((mapping, key)),
            ..State::default()
        });
        let outcome = Node::root(&state).deserialize(document);
        if !state.into_inner().located {
            return None;
        }
        let first_line = outcome.err()?.location()?.line();
        return Some(Duplicate {
            key: path,
            first_line,
            second_line,
        });
    }
    None
}

#[derive(Default)]
struct State {
    /// Mappings entered so far, in document order (aliases replayed).
    mappings: usize,
    /// Second pass: stop at this key of the mapping with this number.
    locate: Option<(usize, String)>,
    located: bool,
    /// First pass: (mapping number, key, dotted path) of the duplicate.
    duplicate: Option<(usize, String, String)>,
}

/// Walks any YAML node, accepting everything figment's `Value` accepts.
struct Node<'s> {
    state: &'s RefCell<State>,
    path: String,
}

impl<'s> Node<'s> {
    fn root(state: &'s RefCell<State>) -> Self {
        Self {
            state,
            path: String::new(),
        }
    }

    fn child(&self, path: String) -> Self {
        Self {
            state: self.state,
            path,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq
            .next_element_seed(self.child(format!("{}[{index}]", self.path)))?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let number = {
            let mut state = self.state.borrow_mut();
            state.mappings += 1;
            state.mappings
        };
        let mut seen = HashSet::new();
        loop {
            let key = Key {
                state: self.state,
                mapping: number,
                parent: &self.path,
                seen: &mut seen,
            };
            let Some(key) = map.next_key_seed(key)? else {
                return Ok(());
            };
            let path = join(&self.path, &key);
            map.next_value_seed(self.child(path))?;
        }
    }

    /// A tagged node (`!tag value`): its content.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let (de::IgnoredAny, variant) = data.variant()?;
        de::VariantAccess::newtype_variant_seed(variant, self)
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Reads one key as the string figment makes of it, and stops the walk
/// (an error carries the key's line) at the key being looked for.
struct Key<'a, 's> {
    state: &'s RefCell<State>,
    mapping: usize,
    parent: &'a str,
    seen: &'a mut HashSet<String>,
}

impl<'de> DeserializeSeed<'de> for Key<'_, '_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        let mut state = self.state.borrow_mut();
        if let Some((mapping, wanted)) = &state.locate {
            if *mapping == self.mapping && wanted == key {
                state.located = true;
                return Err(E::custom("first occurrence"));
            }
        } else if !self.seen.insert(key.to_owned()) {
            state.duplicate = Some((self.mapping, key.to_owned(), join(self.parent, key)));
            return Err(E::custom("second occurrence"));
        }
        Ok(key.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(text: &str) -> Option<(String, usize, usize)> {
        find(text).map(|d| (d.key, d.first_line, d.second_line))
    }

    fn at(key: &str, first: usize, second: usize) -> Option<(String, usize, usize)> {
        Some((key.to_owned(), first, second))
    }

    #[test]
    fn block_mappings_at_any_depth() {
        assert_eq!(
            dup("registry:\n  path: a\n  provider: fs\n\n  path: b\n"),
            at("registry.path", 2, 5)
        );
        assert_eq!(
            dup("log_level: warn\nregistry:\n  url: x\nlog_level: debug\n"),
            at("log_level", 1, 4)
        );
        assert_eq!(
            dup("build:\n  steps:\n    - name: a\n      run: x\n      name: b\n"),
            at("build.steps[0].name", 3, 5)
        );
        assert_eq!(
            dup("registry:\n  path: a\nretention:\n  keep_last: 1\nregistry:\n  url: x\n"),
            at("registry", 1, 5)
        );
    }

    #[test]
    fn flow_mappings_and_quoted_keys() {
        assert_eq!(
            dup("registry: {path: a, path: b}\n"),
            at("registry.path", 1, 1)
        );
        assert_eq!(
            dup("registry: {path: a,\n  provider: fs,\n  \"path\": b}\n"),
            at("registry.path", 1, 3)
        );
        assert_eq!(
            dup("registry:\n  'path': a\n  \"path\": b\n"),
            at("registry.path", 2, 3)
        );
        // figment reads both as the key "1"
        assert_eq!(dup("a:\n  1: x\n  \"1\": y\n"), at("a.1", 2, 3));
        assert_eq!(
            dup("? registry\n: path: a\n  path: b\n"),
            at("registry.path", 2, 3)
        );
    }

    #[test]
    fn no_false_positives() {
        for text in [
            "",
            "# only a comment\n",
            "registry:\n  path: a\n  # path: b\n  provider: fs\n",
            "registry:\n  path: \"path: b\"\n  url: 'path: c'\n",
            "registry:\n  path: a\nretention:\n  path: a\n",
            "a: {path: 1}\nb: {path: 1}\n",
            "registry:\n  path: |\n    path: x\n    path: y\n",
            "list:\n  - path: a\n  - path: b\n",
            "base: &base\n  path: a\nother: *base\nthird: *base\n",
            "a: 1\nA: 2\n",
            "path: a\n---\npath: b\n",
            "registry:\n  path: a\n...\n---\nregistry:\n  path: b\n",
            "key: value # path: x\npath: y\n",
            "\"a.b\": 1\na:\n  b: 2\n",
        ] {
            assert_eq!(dup(text), None, "{text:?}");
        }
    }

    #[test]
    fn each_document_of_a_stream_is_checked() {
        assert_eq!(
            dup("path: a\n---\nregistry:\n  url: x\n  url: y\n"),
            at("registry.url", 4, 5)
        );
    }

    #[test]
    fn aliases_and_anchors() {
        // The duplicate is inside the anchored mapping: its own lines.
        assert_eq!(
            dup("base: &b\n  path: a\n  path: c\nother: *b\n"),
            at("base.path", 2, 3)
        );
        // An alias used as a key counts as that key; serde_yaml places it
        // where its anchor is (line 1), which still points at the text.
        assert_eq!(
            dup("k: &k path\nm:\n  path: 1\n  *k : 2\n"),
            at("m.path", 3, 1)
        );
    }

    #[test]
    fn files_that_do_not_parse_are_left_to_figment() {
        for text in [
            "registry:\n  path: [\n",
            "a: b: c\n",
            "registry:\n path: a\n  url: b\n",
            "? [a, b]\n: 1\n",
        ] {
            assert_eq!(dup(text), None, "{text:?}");
        }
    }
}
