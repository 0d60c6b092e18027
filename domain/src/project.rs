//! GitLab-style project paths (`myteam/myservice`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProjectError(String);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectPath(String);

impl ProjectPath {
    /// Segments of `[A-Za-z0-9_.-]` separated by single `/`; no empty, `.`
    /// or `..` segment.
    pub fn parse(input: &str) -> Result<Self, ProjectError> {
        if input.is_empty() {
            return Err(ProjectError("is empty".to_owned()));
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
}
