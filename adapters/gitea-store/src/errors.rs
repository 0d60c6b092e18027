//! Gitea's answers turned into messages that name the cause and the fix.
//!
//! Gitea answers its package registry routes (`/api/packages/...`) in
//! plain text (`ctx.PlainText`, `http.Error`) and its API routes
//! (`/api/v1/...`) in JSON (`{"message": ..., "url": ...}`); both are
//! shown one line long, escaped, with the token masked (Gitea echoes an
//! unknown token: `access token does not exist [sha: <token>]`).

use imglife_domain::ports::StoreError;
use reqwest::StatusCode;

use crate::token::{Token, VARIABLE};

/// What was being done, for messages: "publishing the record".
pub(crate) struct Context<'a> {
    pub action: &'a str,
    pub owner: &'a str,
    pub token: Option<&'a Token>,
}

impl Context<'_> {
    /// The server's text, one line, escaped, the token masked.
    pub fn server_text(&self, body: &[u8]) -> String {
        let raw = String::from_utf8_lossy(body);
        let masked = match self.token {
            Some(token) => token.mask(&raw),
            None => raw.into_owned(),
        };
        imglife_http::message::error_text(masked.as_bytes())
    }
}

/// `"401 Unauthorized (user should have ...)"`: the status, and the
/// server's text when it sent one.
fn status_and_text(status: StatusCode, text: &str) -> String {
    let reason = status.canonical_reason().unwrap_or("");
    if text.is_empty() {
        format!("{} {reason}", status.as_u16())
    } else {
        format!("{} {reason}: {text}", status.as_u16())
    }
}

/// What a 401 means, whether or not a token was sent.
pub(crate) fn unauthorized_hint(token: Option<&Token>) -> String {
    let fix = "a token with the package scope (read:package to read, write:package to publish \
               and delete)";
    match token {
        Some(_) => format!(
            "token missing, wrong, or lacking the package scope: check that {VARIABLE} holds {fix}, \
             not expired or revoked"
        ),
        None => format!(
            "token missing, wrong, or lacking the package scope: {VARIABLE} is not set; set it to {fix}"
        ),
    }
}

/// An answer that is neither success nor a transient fault.
pub(crate) fn from_status(status: StatusCode, body: &[u8], context: &Context<'_>) -> StoreError {
    let Context { action, owner, .. } = context;
    let text = context.server_text(body);
    let shown = status_and_text(status, &text);
    match status.as_u16() {
        401 => StoreError::Denied(format!(
            "{action}: Gitea answered {shown}; {}",
            unauthorized_hint(context.token)
        )),
        // Package quotas (`LIMIT_SIZE_GENERIC`, `LIMIT_TOTAL_OWNER_SIZE`,
        // `LIMIT_TOTAL_OWNER_COUNT`) are refused with 403 by the upload.
        403 if text.contains("maximum allowed package") => StoreError::Failed(format!(
            "{action}: Gitea answered {shown}; the package quota of owner {owner} is reached: ask \
             the Gitea administrator, or purge older records (imglife app purge)"
        )),
        403 => StoreError::Denied(format!(
            "{action}: Gitea answered {shown}; the token in {VARIABLE} lacks the package scope or \
             permission on the packages of {owner}: it needs read:package to read, write:package \
             and write access to {owner}'s packages (for an organisation, a team with write access \
             to Packages) to publish and delete"
        )),
        404 => StoreError::Failed(format!(
            "{action}: Gitea answered {shown}; check registry.owner ({owner}) and registry.url"
        )),
        413 => StoreError::Failed(format!(
            "{action}: Gitea (or a proxy in front of it) answered {shown}: the record is larger \
             than the server accepts"
        )),
        400 => StoreError::Failed(format!("{action}: Gitea rejected the request: {shown}")),
        _ => StoreError::Failed(format!("{action}: Gitea answered {shown}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token::from_env(&|_| Some("gitea-SECRET-token".to_owned())).expect("token")
    }

    #[test]
    fn messages_name_the_variable_and_never_the_token() {
        let token = token();
        let context = Context {
            action: "reading the record",
            owner: "platform",
            token: Some(&token),
        };
        let e = from_status(
            StatusCode::UNAUTHORIZED,
            br#"{"message":"access token does not exist [sha: gitea-SECRET-token]","url":"x"}"#,
            &context,
        );
        let text = e.to_string();
        assert!(matches!(e, StoreError::Denied(_)));
        assert!(text.contains("401 Unauthorized"), "{text}");
        assert!(
            text.contains("token missing, wrong, or lacking the package scope"),
            "{text}"
        );
        assert!(text.contains("GITEA_TOKEN"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");

        let e = from_status(
            StatusCode::BAD_REQUEST,
            b"invalid package version",
            &context,
        );
        assert!(
            e.to_string()
                .contains("400 Bad Request: invalid package version")
        );
        let e = from_status(
            StatusCode::FORBIDDEN,
            b"maximum allowed package type size exceeded",
            &context,
        );
        assert!(e.to_string().contains("quota"), "{e}");
        let e = from_status(StatusCode::NOT_FOUND, b"Not found.\n", &context);
        assert!(e.to_string().contains("registry.owner (platform)"), "{e}");
    }

    #[test]
    fn plain_text_is_shown_escaped_on_one_line() {
        let context = Context {
            action: "x",
            owner: "o",
            token: None,
        };
        let e = from_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            b"bad\n\x1b[2Jthing\xe2\x80\xae",
            &context,
        );
        let text = e.to_string();
        assert!(
            text.contains("500 Internal Server Error: bad \\u{1b}[2Jthing\\u{202e}"),
            "{text}"
        );
        let e = from_status(StatusCode::UNAUTHORIZED, b"", &context);
        assert!(e.to_string().contains("GITEA_TOKEN is not set"), "{e}");
    }
}
