//! Bearer tokens from the token service a registry's 401 challenge names
//! (`Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`),
//! as the distribution token specification describes:
//!
//! - anonymously or with a user name and password: `GET <realm>?scope=…&service=…`
//!   (Basic authentication when there are credentials);
//! - with an identity token (`identitytoken` in a Docker config, Azure ACR
//!   and others): the OAuth2 refresh-token grant, `POST <realm>` with the
//!   form `grant_type=refresh_token&refresh_token=…&service=…&scope=…&client_id=imglife`,
//!   as the docker CLI does (distribution's `fetchTokenWithOAuth`). A service
//!   without OAuth2 answers 404, which is reported: the identity token is
//!   never sent as a password instead.
//!
//! The answer's `access_token` (else `token`) is the bearer token. A
//! `refresh_token` in the answer is not kept: imglife writes no file.

use reqwest::StatusCode;
use serde::Deserialize;

use crate::client::{ANSWER_LIMIT, Fault, read};

/// `client_id` of the refresh-token grant: who asks.
pub const CLIENT_ID: &str = "imglife";

/// How a token is asked for.
pub enum Grant<'a> {
    Anonymous,
    Basic(&'a str, &'a str),
    RefreshToken(&'a str),
}

/// The token; `None` when the service refused the credentials (401 or 403;
/// 400 for a refresh token, as OAuth2 answers an `invalid_grant`), so
/// that the registry's own 401 is what is reported.
pub async fn fetch(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    grant: Grant<'_>,
) -> Result<Option<String>, Fault> {
    let request = match grant {
        Grant::Anonymous | Grant::Basic(..) => {
            let mut query = vec![("scope", scope)];
            if let Some(service) = service {
                query.push(("service", service));
            }
            let request = http.get(realm).query(&query);
            match grant {
                Grant::Basic(user, password) => request.basic_auth(user, Some(password)),
                _ => request,
            }
        }
        Grant::RefreshToken(token) => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", token);
            if let Some(service) = service {
                form.append_pair("service", service);
            }
            form.append_pair("scope", scope)
                .append_pair("client_id", CLIENT_ID);
            http.post(realm)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form.finish())
        }
    };
    let refresh = matches!(grant, Grant::RefreshToken(_));
    let response = request.send().await.map_err(Fault::Transport)?;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || (refresh && status == StatusCode::BAD_REQUEST)
    {
        tracing::debug!(realm, status = status.as_u16(), "the token service refused");
        return Ok(None);
    }
    if refresh && matches!(status.as_u16(), 404 | 405) {
        return Err(Fault::Token(format!(
            "the token service {realm} does not take identity tokens (HTTP {} to the OAuth2 \
             refresh-token request)",
            status.as_u16()
        )));
    }
    if !status.is_success() {
        return Err(Fault::Token(format!(
            "the token service {realm} answered HTTP {}",
            status.as_u16()
        )));
    }
    #[derive(Deserialize)]
    struct TokenReply {
        token: Option<String>,
        access_token: Option<String>,
    }
    let bytes = read(
        response,
        ANSWER_LIMIT,
        &format!("the token service {realm}"),
    )
    .await?;
    let reply: TokenReply = serde_json::from_slice(&bytes).map_err(|_| {
        Fault::Token(format!(
            "the token service {realm} answered with something that is not a token"
        ))
    })?;
    let token = reply
        .access_token
        .filter(|t| !t.is_empty())
        .or(reply.token.filter(|t| !t.is_empty()));
    match token {
        Some(token) => Ok(Some(token)),
        None => Err(Fault::Token(format!(
            "the token service {realm} sent no token"
        ))),
    }
}
