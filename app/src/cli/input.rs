//! Turns the raw `register` flags into a validated request. Every failure
//! names the flag (or the variable the value came from) and what to fix.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};

use imglife::register::RegisterRequest;
use imglife_domain::record::{check_not_in_future, parse_built_at};
use imglife_domain::{CustomFields, ImageRef, Platforms, ProjectPath, Revision};
use jiff::Timestamp;

use crate::cli::RegisterArgs;
use crate::error::Failure;

/// Where `--revision` and `--project` fall back to in GitLab CI.
pub const REVISION_ENV: &str = "CI_COMMIT_SHA";
pub const PROJECT_ENV: &str = "CI_PROJECT_PATH";

/// A value and the name to blame for it: the flag, or the variable it was
/// taken from.
struct Given {
    name: String,
    value: OsString,
}

impl Given {
    fn flag(flag: &str, value: Option<&OsString>) -> Option<Self> {
        value.map(|v| Self {
            name: flag.to_owned(),
            value: v.clone(),
        })
    }

    /// The flag, else a non-empty environment variable.
    fn flag_or_env(
        flag: &str,
        value: Option<&OsString>,
        var: &str,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Option<Self> {
        Self::flag(flag, value).or_else(|| {
            env(var).filter(|v| !v.is_empty()).map(|v| Self {
                name: format!("{flag} (from ${var})"),
                value: v,
            })
        })
    }

    fn text(&self) -> Result<&str, Failure> {
        utf8(&self.name, &self.value)
    }
}

/// Longest value echoed whole in a message; a longer one (a 100,000
/// character paste) is cut, so that the error stays one readable line.
const ECHO_MAX: usize = 80;

/// `value` for a message: whole when short, else its start and its length.
fn echo(value: &str) -> Cow<'_, str> {
    match value.char_indices().nth(ECHO_MAX) {
        None => Cow::Borrowed(value),
        Some((cut, _)) => Cow::Owned(format!(
            "{}... ({} characters)",
            &value[..cut],
            value.chars().count()
        )),
    }
}

fn utf8<'a>(name: &str, value: &'a OsStr) -> Result<&'a str, Failure> {
    value.to_str().ok_or_else(|| {
        Failure::new(format!(
            "{name}: the value {} is not valid UTF-8; pass it as UTF-8 text",
            echo(&value.to_string_lossy()).escape_debug()
        ))
    })
}

/// The outcome of validation: a request, or a missing required value that
/// is a usage error (exit 2), or an invalid value (exit 1).
pub enum Checked {
    Ok(Box<RegisterRequest>),
    MissingRequired(&'static str, &'static str),
}

pub fn check(
    args: &RegisterArgs,
    env: &dyn Fn(&str) -> Option<OsString>,
    now: Timestamp,
) -> Result<Checked, Failure> {
    let Some(image) = Given::flag("--image", args.image.as_ref()) else {
        return Ok(Checked::MissingRequired("--image", "REF"));
    };
    let image_text = image.text()?;
    let image_ref = ImageRef::parse(image_text)
        .map_err(|e| Failure::new(format!("--image '{}': {e}", echo(image_text))))?;

    let base = match Given::flag("--base", args.base.as_ref()) {
        Some(given) => {
            let text = given.text()?;
            Some(
                ImageRef::parse(text)
                    .map_err(|e| Failure::new(format!("--base '{}': {e}", echo(text))))?,
            )
        }
        None => None,
    };

    let Some(revision) =
        Given::flag_or_env("--revision", args.revision.as_ref(), REVISION_ENV, env)
    else {
        return Ok(Checked::MissingRequired("--revision", "REV"));
    };
    let revision = Revision::parse(revision.text()?)
        .map_err(|e| Failure::new(format!("{}: {e}", revision.name)))?;

    let Some(project) = Given::flag_or_env("--project", args.project.as_ref(), PROJECT_ENV, env)
    else {
        return Ok(Checked::MissingRequired("--project", "PATH"));
    };
    let project = ProjectPath::parse(project.text()?)
        .map_err(|e| Failure::new(format!("{}: {e}", project.name)))?;

    let platform_texts = args
        .platform
        .iter()
        .map(|p| utf8("--platform", p))
        .collect::<Result<Vec<_>, _>>()?;
    let platforms = if platform_texts.is_empty() {
        None
    } else {
        let parsed = Platforms::parse_lists(platform_texts.iter().copied())
            .map_err(|e| Failure::new(format!("--platform: {e}")))?;
        Some(parsed.ok_or_else(|| {
            Failure::new("--platform: no platform given; pass e.g. --platform linux/amd64, or leave the flag out to read it from the image")
        })?)
    };

    let field_texts = args
        .field
        .iter()
        .map(|f| utf8("--field", f))
        .collect::<Result<Vec<_>, _>>()?;
    let fields = CustomFields::parse(field_texts.iter().copied())
        .map_err(|e| Failure::new(format!("--field: {e}")))?;

    // An RFC 3339 instant with an offset, in 1970-9999, at most 24 hours
    // ahead of this clock: see `imglife_domain::record::parse_built_at`.
    let built_at = match &args.built_at {
        Some(value) => {
            let text = utf8("--built-at", value)?;
            let blame = |e: &dyn std::fmt::Display| {
                Failure::new(format!("--built-at '{}': {e}", echo(text)))
            };
            let at = parse_built_at(text).map_err(|e| blame(&e))?;
            check_not_in_future(at, now).map_err(|e| blame(&e))?;
            at
        }
        None => now,
    };

    Ok(Checked::Ok(Box::new(RegisterRequest {
        image: image_ref,
        base,
        platforms,
        revision,
        project,
        fields,
        built_at,
    })))
}
