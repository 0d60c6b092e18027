//! S3's answers turned into messages that name the bucket, the key and the
//! cause in S3's own words (`NoSuchBucket`, `AccessDenied`,
//! `SignatureDoesNotMatch`), with the fix.

use imglife_domain::ports::StoreError;
use imglife_domain::text::escape;
use reqwest::StatusCode;

use crate::api::{Answer, ErrorDocument};
use crate::credentials::CredentialSource;

/// What was being done, for messages.
pub(crate) struct Context<'a> {
    /// "publishing the record", "listing records".
    pub action: &'a str,
    /// `s3://bucket/key` or `s3://bucket/prefix`.
    pub target: String,
    pub bucket: &'a str,
    pub region: &'a str,
    /// Where requests go, for `NoSuchBucket`.
    pub endpoint: String,
    pub custom_endpoint: bool,
    pub credentials: &'a CredentialSource,
}

/// An answer that is neither success nor a transient fault (nor one the
/// caller handles itself, such as a 404 on a read).
pub(crate) fn from_answer(answer: &Answer, context: &Context<'_>) -> StoreError {
    let document = ErrorDocument::parse(&answer.body);
    let status = answer.status;
    let code = document.code.as_deref().map(|c| escape(c).into_owned());
    let said = said(status, code.as_deref(), document.message.as_deref());
    let Context {
        action,
        target,
        bucket,
        region,
        endpoint,
        custom_endpoint,
        credentials,
    } = context;
    let head = format!("{action} {target}: S3 answered {said}");
    // Where S3 says the bucket is, when the region is wrong.
    let elsewhere = document
        .region
        .as_deref()
        .or_else(|| answer.header("x-amz-bucket-region"))
        .map(|r| escape(r).into_owned())
        .filter(|r| r != region);
    match (code.as_deref(), status.as_u16()) {
        (Some("NoSuchBucket"), _) => StoreError::Failed(format!(
            "{head}; there is no bucket {bucket} at {endpoint}: check registry.bucket{}",
            if *custom_endpoint {
                " and registry.url"
            } else {
                " and registry.region"
            }
        )),
        (Some("SignatureDoesNotMatch"), _) => {
            StoreError::Denied(format!("{head}; {}", credentials.check_secret()))
        }
        // s3s says NotSignedUp where AWS says InvalidAccessKeyId.
        (Some("InvalidAccessKeyId" | "NotSignedUp"), _) => {
            StoreError::Denied(format!("{head}; {}", credentials.check_key_id()))
        }
        (Some("ExpiredToken" | "InvalidToken" | "TokenRefreshRequired"), _) => {
            StoreError::Denied(format!("{head}; {}", credentials.check_token()))
        }
        (Some("AccessDenied" | "AllAccessDisabled"), _) | (None, 403) => {
            StoreError::Denied(format!(
                "{head}; the credentials ({}) may not do this: they need s3:GetObject, \
                 s3:PutObject, s3:DeleteObject and s3:ListBucket on bucket {bucket}",
                credentials.describe()
            ))
        }
        (Some("RequestTimeTooSkewed"), _) => StoreError::Failed(format!(
            "{head}; this machine's clock is more than 15 minutes off S3's: set the clock right"
        )),
        (
            Some(
                "AuthorizationHeaderMalformed"
                | "PermanentRedirect"
                | "IllegalLocationConstraintException",
            ),
            _,
        )
        | (None, 301) => match elsewhere {
            Some(there) => StoreError::Failed(format!(
                "{head}; bucket {bucket} is in region {there}, not {region}: set registry.region: \
                 {there}"
            )),
            None => StoreError::Failed(format!(
                "{head}; check registry.region ({region}){}",
                if *custom_endpoint {
                    " and registry.url"
                } else {
                    ""
                }
            )),
        },
        (Some("EntityTooLarge"), _) | (None, 413) => {
            StoreError::Failed(format!("{head}; the server refuses objects this large"))
        }
        _ if status.is_server_error() => StoreError::Unavailable(head),
        _ => StoreError::Failed(head),
    }
}

/// `403 Forbidden SignatureDoesNotMatch: The request signature ...`,
/// escaped and bounded as every server text shown.
fn said(status: StatusCode, code: Option<&str>, message: Option<&str>) -> String {
    let mut out = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_owned();
    if let Some(code) = code {
        out.push(' ');
        out.push_str(code);
    }
    if let Some(message) = message.map(str::trim).filter(|m| !m.is_empty()) {
        out.push_str(": ");
        out.push_str(&imglife_http::message::error_text(message.as_bytes()));
    }
    out
}

/// An object_store error (a credential provider's failure) in words,
/// without its request URLs (STS's holds the web identity token): the
/// cause imglife's connector gave, else the innermost error, reduced to
/// the `Code` and `Message` of an AWS error document when it holds one.
pub(crate) fn describe_object_store(error: &object_store::Error) -> String {
    use std::error::Error as _;
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    let mut innermost: Option<&(dyn std::error::Error + 'static)> = None;
    while let Some(e) = source {
        if let Some(ours) = e.downcast_ref::<crate::connector::Failure>() {
            return ours.0.clone();
        }
        innermost = Some(e);
        source = e.source();
    }
    let Some(innermost) = innermost else {
        return "unknown failure".to_owned();
    };
    let text = innermost.to_string();
    match (tag(&text, "Code"), tag(&text, "Message")) {
        (Some(code), message) => {
            let status = text
                .split("status code: ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .unwrap_or("")
                .trim();
            let mut out = format!("{} {}", status, escape(code)).trim().to_owned();
            if let Some(message) = message {
                out.push_str(": ");
                out.push_str(&imglife_http::message::error_text(message.as_bytes()));
            }
            out
        }
        _ => imglife_http::message::error_text(
            imglife_http::cause::mask_credentials(&text).as_bytes(),
        ),
    }
}

/// The text of the first `<name>…</name>` in `text`.
fn tag<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))?;
    Some(&text[start..start + end])
}

#[cfg(test)]
mod s3_tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn context(source: &CredentialSource) -> Context<'_> {
        Context {
            action: "publishing the record",
            target: "s3://records/x/1.json".to_owned(),
            bucket: "records",
            region: "us-east-1",
            endpoint: "http://127.0.0.1:9000".to_owned(),
            custom_endpoint: true,
            credentials: source,
        }
    }

    #[test]
    fn messages_use_s3s_words_and_say_what_to_fix() {
        let env = CredentialSource::Environment {
            session_token: false,
        };
        let e = from_answer(
            &answer(
                403,
                "<Error><Code>SignatureDoesNotMatch</Code><Message>bad \u{1b}[2J sig</Message></Error>",
            ),
            &context(&env),
        );
        let text = e.to_string();
        assert!(matches!(e, StoreError::Denied(_)));
        assert!(text.contains("s3://records/x/1.json"), "{text}");
        assert!(
            text.contains("403 Forbidden SignatureDoesNotMatch"),
            "{text}"
        );
        assert!(text.contains("check AWS_SECRET_ACCESS_KEY"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");

        let e = from_answer(
            &answer(
                404,
                "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>",
            ),
            &context(&env),
        );
        assert!(e.to_string().contains("NoSuchBucket"), "{e}");
        assert!(e.to_string().contains("there is no bucket records"), "{e}");

        let e = from_answer(
            &answer(
                400,
                "<Error><Code>AuthorizationHeaderMalformed</Code><Message>m</Message><Region>eu-west-1</Region></Error>",
            ),
            &context(&env),
        );
        assert!(
            e.to_string().contains("set registry.region: eu-west-1"),
            "{e}"
        );

        let e = from_answer(&answer(403, ""), &context(&env));
        assert!(e.to_string().contains("s3:PutObject"), "{e}");
        let e = from_answer(
            &answer(503, "<Error><Code>SlowDown</Code></Error>"),
            &context(&env),
        );
        assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    }
}
