//! GitLab-style project paths (`myteam/myservice`).

use std::fmt;

/// GitLab's limit on a full path (`Route#path`, `validates :path, length:
/// { within: 1..255 }` in `app/models/route.rb`): group, subgroups and
/// project together.
const FULL_PATH_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProjectError(String);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectPath(String);

impl ProjectPath {
    /// Segments of `[A-Za-z0-9_.-]` separated by single `/`; no empty, `.`
    /// or `..` segment; at most 255 characters in all, as GitLab.
    pub fn parse(input: &str) -> Result<Self, ProjectError> {
        if input.is_empty() {
            return Err(ProjectError("is empty".to_owned()));
        }
        if input.chars().nth(FULL_PATH_MAX).is_some() {
            return Err(ProjectError(format!(
                "is {} characters long; GitLab allows at most {FULL_PATH_MAX} for a project's \
                 full path (group/subgroups/project)",
                input.chars().count()
            )));
        }
        for segment in input.split('/') {
            if segment.is_empty() {
                return Err(ProjectError(format!(
                    "'{input}' has an empty segment; write it as group/project with single '/' and none at the ends"
                )));
            }
            if segment == "." || segment == ".." {
                return Err(ProjectError(format!(
                    "'{input}' has a '{segment}' segment; give the project's full path, e.g. myteam/myservice"
                )));
            }
            if let Some(c) = segment
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
            {
                return Err(ProjectError(format!(
                    "'{}' contains '{}'; segments may hold letters, digits, '_', '.' and '-'",
                    input.escape_debug(),
                    c.escape_debug()
                )));
            }
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_gitlab_paths_and_rejects_the_rest() {
        for ok in ["myteam/myservice", "a", "group/sub.group/my_project-2"] {
            assert!(ProjectPath::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a/", "a//b", "a/./b", "../a", "a b", "a/b:c", "é/x",
        ] {
            assert!(ProjectPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn full_paths_are_at_most_255_characters() {
        let path = format!("group/{}", "p".repeat(249));
        assert!(ProjectPath::parse(&path).is_ok());
        let e = ProjectPath::parse(&format!("{path}x")).expect_err("256");
        assert!(e.to_string().contains("256 characters long"), "{e}");
        let e = ProjectPath::parse(&"a".repeat(100_000)).expect_err("huge");
        assert!(e.to_string().len() < 200, "not echoed: {e}");
        assert!(e.to_string().contains("100000"), "{e}");
        // counted in characters: this one is refused for its 'é'
        let e = ProjectPath::parse(&"é".repeat(200)).expect_err("é");
        assert!(e.to_string().contains("contains 'é'"), "{e}");
    }
}
