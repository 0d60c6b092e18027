//! object_store's HTTP hook, on imglife's client.
//!
//! The credential providers object_store brings (STS web identity, the
//! container endpoints, the instance metadata service) make their requests
//! through `HttpConnector`. Left alone, object_store would build its own
//! `reqwest::Client` there, with its own TLS set-up; this connector hands
//! them imglife's one client instead (built by `imglife_http::client`:
//! trust roots read once, no certificate-directory scan), and reads every
//! answer with `imglife_http::read_limited` and the limit for small
//! answers. Errors carry the cause's words (`imglife_http::Cause`), never
//! the request's URL, which for STS holds the web identity token.

use std::time::Duration;

use async_trait::async_trait;
use http_body_util::BodyExt as _;
use imglife_http::{BodyError, Cause};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService,
};

use crate::api::ANSWER_LIMIT;

#[derive(Debug, Clone)]
pub(crate) struct Connector {
    http: reqwest::Client,
    /// A bound on each request, when the provider asks a service that is
    /// absent off its platform (the instance metadata service): there the
    /// AWS SDKs wait one second, not the store's connect timeout.
    per_request: Option<Duration>,
}

impl Connector {
    pub(crate) fn new(http: reqwest::Client, per_request: Option<Duration>) -> Self {
        Self { http, per_request }
    }
}

impl HttpConnector for Connector {
    fn connect(&self, _options: &object_store::ClientOptions) -> object_store::Result<HttpClient> {
        Ok(HttpClient::new(self.clone()))
    }
}

/// Why a request made for object_store got no answer, in words.
#[derive(Debug)]
pub(crate) struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

fn failed(kind: HttpErrorKind, why: String) -> HttpError {
    HttpError::new(kind, Failure(why))
}

fn transport(error: &reqwest::Error) -> HttpError {
    let kind = if error.is_timeout() {
        HttpErrorKind::Timeout
    } else if error.is_connect() {
        HttpErrorKind::Connect
    } else {
        HttpErrorKind::Request
    };
    failed(kind, Cause::of(error).text)
}

#[async_trait]
impl HttpService for Connector {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| failed(HttpErrorKind::Request, e.to_string()))?
            .to_bytes();
        let url = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|e| failed(HttpErrorKind::Request, format!("not a URL: {e}")))?;
        let mut builder = self
            .http
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body);
        if let Some(bound) = self.per_request {
            builder = builder.timeout(bound);
        }
        let response = builder.send().await.map_err(|e| transport(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = imglife_http::read_limited(response, ANSWER_LIMIT)
            .await
            .map_err(|e| match e {
                BodyError::Transport(e) => transport(&e),
                too_large @ BodyError::TooLarge { .. } => {
                    failed(HttpErrorKind::Decode, format!("the answer is {too_large}"))
                }
            })?;
        let mut answer = http::Response::new(HttpResponseBody::from(bytes));
        *answer.status_mut() = status;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}
