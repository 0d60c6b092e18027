//! The API token. It never appears in `Debug` output, logs or messages:
//! only the variable it came from does.

use std::fmt;

/// The variable the token is read from.
pub(crate) const VARIABLE: &str = "GITEA_TOKEN";

#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    secret: String,
}

impl Token {
    /// `GITEA_TOKEN`; an empty or blank value counts as unset.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        env(VARIABLE)
            .filter(|v| !v.trim().is_empty())
            .map(|secret| Self { secret })
    }

    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// `text` with every occurrence of the secret replaced by `***`: Gitea
    /// echoes an unknown token in its 401 answer
    /// (`access token does not exist [sha: <token>]`).
    pub(crate) fn mask(&self, text: &str) -> String {
        if self.secret.len() < 4 {
            // Too short to mask without mangling ordinary words; a token
            // that short is refused before any request.
            return text.to_owned();
        }
        text.replace(&self.secret, "***")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({VARIABLE} = [redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gitea_token_and_never_shows_it() {
        let env = |name: &str| (name == "GITEA_TOKEN").then(|| "gitea-secret-1234".to_owned());
        let token = Token::from_env(&env).expect("token");
        assert!(!format!("{token:?}").contains("secret"));
        assert_eq!(
            token.mask("access token does not exist [sha: gitea-secret-1234]"),
            "access token does not exist [sha: ***]"
        );
        assert_eq!(Token::from_env(&|_| Some(" ".to_owned())), None);
        assert_eq!(Token::from_env(&|_| None), None);
    }
}
