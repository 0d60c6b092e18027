//! The four S3 operations the store uses (PutObject, GetObject,
//! ListObjectsV2, DeleteObject), as requests to build and answers read
//! with a stated limit.

use reqwest::Method;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

/// The most of a record read (records are a few hundred bytes; the same
/// limit as every store's).
pub(crate) const RECORD_LIMIT: usize = 1024 * 1024;
/// A ListObjectsV2 page: 1,000 keys of at most 1,024 bytes each, with
/// their ETag, size, date and storage class, stays under 2 MiB.
pub(crate) const PAGE_LIMIT: usize = 4 * 1024 * 1024;
/// Any other answer: confirmations, error documents, credentials.
pub(crate) const ANSWER_LIMIT: usize = 64 * 1024;
/// Keys asked for per ListObjectsV2 page (S3's maximum).
pub(crate) const PAGE_KEYS: usize = 1000;

/// One request to make: method, URL, headers to sign, optional body, and
/// how much of the answer is read at most.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Vec<u8>>,
    pub limit: usize,
}

impl Call {
    pub fn get(url: Url, limit: usize) -> Self {
        Self {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            limit,
        }
    }

    pub fn put_json(url: Url, body: Vec<u8>) -> Self {
        Self {
            method: Method::PUT,
            url,
            headers: vec![(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body: Some(body),
            limit: ANSWER_LIMIT,
        }
    }

    pub fn delete(url: Url) -> Self {
        Self {
            method: Method::DELETE,
            url,
            headers: Vec::new(),
            body: None,
            limit: ANSWER_LIMIT,
        }
    }

    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// A finished answer, body read.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The ListObjectsV2 URL of one page. Values are percent-encoded the way
/// SigV4 canonicalises them (`%20`, `%2B`, `%2F`), not as a form would
/// (`+` for a space), so that signer and server read the same query.
pub(crate) fn list_url(bucket_url: &Url, prefix: &str, token: Option<&str>) -> Url {
    let mut query = format!("list-type=2&max-keys={PAGE_KEYS}");
    if !prefix.is_empty() {
        query.push_str("&prefix=");
        query.push_str(&encode_query(prefix));
    }
    if let Some(token) = token {
        query.push_str("&continuation-token=");
        query.push_str(&encode_query(token));
    }
    let mut url = bucket_url.clone();
    url.set_query(Some(&query));
    url
}

/// Every byte but letters, digits, `-`, `.`, `_` and `~` percent-encoded.
fn encode_query(value: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len() + 8);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A ListObjectsV2 answer (`ListBucketResult`), the fields used.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListPage {
    #[serde(default)]
    pub contents: Vec<Listed>,
    #[serde(default)]
    pub is_truncated: bool,
    #[serde(default)]
    pub next_continuation_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Listed {
    pub key: String,
    /// The object's ETag, quotes included (`"9b2c…"`), as `GetObject`'s
    /// `ETag` header gives it: the record's version for the read cache.
    #[serde(default)]
    pub e_tag: Option<String>,
}

impl ListPage {
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(body).map_err(|_| "not UTF-8 text".to_owned())?;
        quick_xml::de::from_str(text).map_err(|e| e.to_string())
    }
}

/// An S3 error document (`<Error><Code>…</Code>…</Error>`), the fields
/// used.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ErrorDocument {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// Where the bucket is, in region errors (`AuthorizationHeaderMalformed`,
    /// `PermanentRedirect`).
    #[serde(default)]
    pub region: Option<String>,
}

impl ErrorDocument {
    /// The document in `body`; empty when there is none (a `HEAD`, a proxy's
    /// HTML page).
    pub fn parse(body: &[u8]) -> Self {
        std::str::from_utf8(body)
            .ok()
            .filter(|text| text.contains("<Error"))
            .and_then(|text| quick_xml::de::from_str(text).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod s3_tests {
    use super::*;

    #[test]
    fn reads_list_pages_and_error_documents() {
        let page = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>p/a+b/1.json</Key><ETag>&quot;x&quot;</ETag><Size>3</Size></Contents>
<CommonPrefixes><Prefix>p/z/</Prefix></CommonPrefixes>
<Contents><Key>p/a &amp; b/2.json</Key></Contents>
<NextContinuationToken>t/1==</NextContinuationToken></ListBucketResult>"#;
        let page = ListPage::parse(page).expect("parsed");
        let keys: Vec<&str> = page.contents.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["p/a+b/1.json", "p/a & b/2.json"]);
        let etags: Vec<Option<&str>> = page.contents.iter().map(|o| o.e_tag.as_deref()).collect();
        assert_eq!(etags, [Some("\"x\""), None]);
        assert!(page.is_truncated);
        assert_eq!(page.next_continuation_token.as_deref(), Some("t/1=="));
        let empty = ListPage::parse(
            b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
        )
        .expect("parsed");
        assert!(empty.contents.is_empty() && !empty.is_truncated);

        let e = ErrorDocument::parse(
            b"<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><RequestId>1</RequestId></Error>",
        );
        assert_eq!(e.code.as_deref(), Some("SignatureDoesNotMatch"));
        assert!(e.message.is_some_and(|m| m.starts_with("The request")));
        assert!(ErrorDocument::parse(b"<html>502</html>").code.is_none());
        let url = list_url(
            &Url::parse("http://h/b").expect("url"),
            "p q/",
            Some("a+b/="),
        );
        assert_eq!(
            url.as_str(),
            "http://h/b?list-type=2&max-keys=1000&prefix=p%20q%2F&continuation-token=a%2Bb%2F%3D"
        );
    }
}
