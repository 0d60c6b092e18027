//! The API token and where it came from. The token itself never appears
//! in `Debug` output, logs or messages: only its source does.

use std::fmt;

/// The variable a token was read from; errors name it so the user knows
/// which secret to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `GITLAB_TOKEN`, sent as `PRIVATE-TOKEN`.
    GitlabToken,
    /// `CI_JOB_TOKEN` inside GitLab CI, sent as `JOB-TOKEN`.
    JobToken,
}

impl TokenSource {
    pub fn variable(self) -> &'static str {
        match self {
            Self::GitlabToken => "GITLAB_TOKEN",
            Self::JobToken => "CI_JOB_TOKEN",
        }
    }

    /// The header the token travels in (`PRIVATE-TOKEN`, `JOB-TOKEN`),
    /// lower case as `HeaderName` wants it; header names are
    /// case-insensitive.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Self::GitlabToken => "private-token",
            Self::JobToken => "job-token",
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    secret: String,
    source: TokenSource,
}

impl Token {
    /// `GITLAB_TOKEN`, else `CI_JOB_TOKEN` (set by GitLab only inside a CI
    /// job). Empty values count as unset.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(secret) = get("GITLAB_TOKEN") {
            return Some(Self {
                secret,
                source: TokenSource::GitlabToken,
            });
        }
        get("CI_JOB_TOKEN").map(|secret| Self {
            secret,
            source: TokenSource::JobToken,
        })
    }

    pub fn source(&self) -> TokenSource {
        self.source
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({} = [redacted])", self.source.variable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_gitlab_token_and_never_shows_the_secret() {
        let env = |name: &str| match name {
            "GITLAB_TOKEN" => Some("glpat-secret".to_owned()),
            "CI_JOB_TOKEN" => Some("job-secret".to_owned()),
            _ => None,
        };
        let token = Token::from_env(&env).expect("token");
        assert_eq!(token.source(), TokenSource::GitlabToken);
        let shown = format!("{token:?}");
        assert!(!shown.contains("secret"), "{shown}");

        let job_only = |name: &str| (name == "CI_JOB_TOKEN").then(|| "job".to_owned());
        assert_eq!(
            Token::from_env(&job_only).map(|t| t.source()),
            Some(TokenSource::JobToken)
        );
        assert_eq!(Token::from_env(&|_| Some("  ".to_owned())), None);
    }
}
