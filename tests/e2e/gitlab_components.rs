//! Reading the GitLab CI/CD components of `templates/` as GitLab does,
//! enough to run their jobs' `script:` here: the header document
//! (`spec: inputs:`), then the jobs, whose strings get `$[[ inputs.NAME ]]`
//! replaced by the given input or its default. A typed input (`boolean`,
//! `number`) keeps its type when it is a whole value, and becomes text
//! inside a longer string, as GitLab's interpolation does.
//!
//! Shared by `templates.rs` and `ci_image.rs` (`#[path]` module).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

/// One component file: its inputs and its (uninterpolated) jobs.
pub struct Component {
    pub path: PathBuf,
    /// name → its spec (`default`, `type`, `regex`, `description`).
    pub inputs: BTreeMap<String, Mapping>,
    jobs: Value,
}

/// The workspace's `templates/` directory.
pub fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

impl Component {
    /// `templates/<name>.yml`, checked for GitLab's layout: a header
    /// document holding only `spec:` (with `inputs:`), then one document
    /// of jobs.
    pub fn load(name: &str) -> Self {
        let path = templates_dir().join(format!("{name}.yml"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        // GitLab's layout puts `---` alone on the line between the two.
        let documents: Vec<Value> = text
            .split("\n---\n")
            .map(|d| serde_yaml::from_str(d).expect("valid YAML"))
            .collect();
        assert_eq!(
            documents.len(),
            2,
            "{path:?}: the spec header, `---`, then the jobs"
        );
        let header = documents[0].as_mapping().expect("header is a mapping");
        assert_eq!(
            header.keys().collect::<Vec<_>>(),
            [&Value::from("spec")],
            "{path:?}: the header holds only spec:"
        );
        let inputs = documents[0]["spec"]["inputs"]
            .as_mapping()
            .expect("spec: inputs:")
            .iter()
            .map(|(k, v)| {
                let name = k.as_str().expect("input name").to_owned();
                let spec = v.as_mapping().cloned().unwrap_or_default();
                for key in spec.keys() {
                    let key = key.as_str().unwrap_or_default();
                    assert!(
                        [
                            "default",
                            "description",
                            "type",
                            "options",
                            "regex",
                            "rules"
                        ]
                        .contains(&key),
                        "{path:?}: input {name} has the unknown key {key}"
                    );
                }
                (name, spec)
            })
            .collect();
        Self {
            path,
            inputs,
            jobs: documents[1].clone(),
        }
    }

    /// The names of the inputs the jobs use.
    pub fn used_inputs(&self) -> Vec<String> {
        let text = serde_yaml::to_string(&self.jobs).expect("jobs serialize");
        let mut used: Vec<String> = references(&text).into_iter().collect();
        used.sort();
        used.dedup();
        used
    }

    /// The jobs with `given` inputs (others at their defaults) put in.
    /// Panics on an unknown input, a missing mandatory one, a value
    /// failing the input's `regex`, or a function (`| expand_vars`), which
    /// these components do not use.
    pub fn interpolate(&self, given: &[(&str, &str)]) -> Value {
        for (name, _) in given {
            assert!(
                self.inputs.contains_key(*name),
                "{:?}: no input {name}",
                self.path
            );
        }
        let mut values: BTreeMap<String, Value> = BTreeMap::new();
        for (name, spec) in &self.inputs {
            let typed = spec.get("type").and_then(Value::as_str).unwrap_or("string");
            let value = match given.iter().find(|(n, _)| n == name) {
                Some((_, v)) => match typed {
                    "boolean" => Value::Bool(v.parse().expect("boolean input")),
                    "number" => serde_yaml::from_str(v).expect("number input"),
                    _ => Value::from(*v),
                },
                None => spec
                    .get("default")
                    .cloned()
                    .unwrap_or_else(|| panic!("{:?}: input {name} is mandatory", self.path)),
            };
            if let (Some(regex), Some(text)) =
                (spec.get("regex").and_then(Value::as_str), value.as_str())
            {
                let re = regex::Regex::new(regex).expect("input regex");
                assert!(
                    re.is_match(text),
                    "{:?}: input {name} = {text:?} fails {regex}",
                    self.path
                );
            }
            values.insert(name.clone(), value);
        }
        replace(&self.jobs, &values)
    }
}

/// The job `name` of interpolated jobs.
pub fn job<'a>(jobs: &'a Value, name: &str) -> &'a Mapping {
    jobs.get(name)
        .and_then(Value::as_mapping)
        .unwrap_or_else(|| panic!("no job {name}"))
}

/// The job's `script:` lines joined as the runner runs them: one shell,
/// line after line.
pub fn script(job: &Mapping) -> String {
    job.get("script")
        .and_then(Value::as_sequence)
        .expect("script:")
        .iter()
        .map(|l| l.as_str().expect("script lines are strings").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The job's `variables:` as name and text.
pub fn variables(job: &Mapping) -> Vec<(String, String)> {
    job.get("variables")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let value = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => serde_yaml::to_string(other)
                            .expect("scalar")
                            .trim()
                            .to_owned(),
                    };
                    (k.as_str().expect("name").to_owned(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

const OPEN: &str = "$[[";
const CLOSE: &str = "]]";

/// The input names referenced in `text`.
fn references(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let end = after.find(CLOSE).expect("unclosed $[[");
        let inner = after[..end].trim();
        assert!(!inner.contains('|'), "functions are not used: {inner}");
        let name = inner
            .strip_prefix("inputs.")
            .unwrap_or_else(|| panic!("only inputs are interpolated: {inner}"));
        names.push(name.to_owned());
        rest = &after[end + CLOSE.len()..];
    }
    names
}

fn replace(value: &Value, inputs: &BTreeMap<String, Value>) -> Value {
    match value {
        Value::String(s) => {
            let names = references(s);
            if names.len() == 1 && s.trim() == format!("$[[ inputs.{} ]]", names[0]) {
                // A whole value keeps the input's type.
                return input(inputs, &names[0]).clone();
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find(OPEN) {
                out.push_str(&rest[..start]);
                let after = &rest[start + OPEN.len()..];
                let end = after.find(CLOSE).expect("closed");
                let name = after[..end].trim().trim_start_matches("inputs.");
                out.push_str(&text_of(input(inputs, name)));
                rest = &after[end + CLOSE.len()..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Sequence(items) => {
            Value::Sequence(items.iter().map(|v| replace(v, inputs)).collect())
        }
        Value::Mapping(map) => Value::Mapping(
            map.iter()
                .map(|(k, v)| (replace(k, inputs), replace(v, inputs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn input<'a>(inputs: &'a BTreeMap<String, Value>, name: &str) -> &'a Value {
    inputs
        .get(name)
        .unwrap_or_else(|| panic!("the jobs use the undeclared input {name}"))
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .expect("scalar")
            .trim()
            .to_owned(),
    }
}
