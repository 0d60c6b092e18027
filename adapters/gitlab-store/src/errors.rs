//! GitLab's answers turned into messages that name the cause and the fix.

use imglife_domain::ports::StoreError;
use reqwest::StatusCode;

use crate::token::TokenSource;

/// What was being done, for messages: "publishing the record",
/// "listing packages".
pub(crate) struct Context<'a> {
    pub action: &'a str,
    pub project: &'a str,
    pub token: TokenSource,
}

/// An answer that is neither success nor a transient fault.
pub(crate) fn from_status(status: StatusCode, body: &str, context: &Context<'_>) -> StoreError {
    let Context {
        action,
        project,
        token,
    } = context;
    let variable = token.variable();
    let message = imglife_http::message::error_text(body.as_bytes());
    match status.as_u16() {
        401 => StoreError::Denied(format!(
            "{action}: GitLab rejected the token in {variable} (401 Unauthorized); check that it is \
             valid, not expired or revoked"
        )),
        403 => StoreError::Denied(format!(
            "{action}: GitLab refused (403 Forbidden: {message}); the token in {variable} lacks \
             permission on project {project}: it needs the api scope and at least the Developer \
             role to publish, Maintainer to delete"
        )),
        404 => StoreError::Failed(format!(
            "{action}: GitLab project {project} was not found or is not visible to the token in \
             {variable} (404); check registry.project_id and the token's access"
        )),
        413 => too_large(action),
        400 if message.contains("too large") => too_large(action),
        400 => StoreError::Failed(format!(
            "{action}: GitLab rejected the request (400): {message}"
        )),
        code => StoreError::Failed(format!(
            "{action}: GitLab answered {code} {}: {message}",
            status.canonical_reason().unwrap_or("")
        )),
    }
}

fn too_large(action: &str) -> StoreError {
    StoreError::Failed(format!(
        "{action}: GitLab refused the file as too large; the instance's generic package size \
         limit (plan limit generic_packages_max_file_size) is below the record's size"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_variable_and_never_the_token() {
        let context = Context {
            action: "publishing",
            project: "g/p",
            token: TokenSource::JobToken,
        };
        let e = from_status(
            StatusCode::UNAUTHORIZED,
            r#"{"message":"401 Unauthorized"}"#,
            &context,
        );
        assert!(e.to_string().contains("CI_JOB_TOKEN"));
        let e = from_status(
            StatusCode::BAD_REQUEST,
            r#"{"error":"package_version is invalid"}"#,
            &context,
        );
        assert!(e.to_string().contains("package_version is invalid"));
        let e = from_status(StatusCode::NOT_FOUND, "{}", &context);
        assert!(e.to_string().contains("registry.project_id"));
    }
}
