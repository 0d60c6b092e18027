//! What the S3 store needs, checked before any request is made: the
//! bucket, the region, the key prefix, and where requests go (a custom
//! endpoint with path-style addressing, or AWS with virtual-hosted
//! addressing).

use imglife_http::StoreOptions;
use url::Url;

use crate::credentials::Credentials;

/// A configuration problem. `key` names the configuration key at fault,
/// when there is one, so that the caller can say where its value came
/// from; `message` follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub key: Option<String>,
    pub message: String,
}

impl SettingsError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            key: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: Some(key.to_owned()),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{key} {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SettingsError {}

/// How the bucket appears in a request's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// `https://endpoint/<bucket>/<key>`: custom endpoints (MinIO, Garage,
    /// R2, Ceph, s3s), and AWS buckets whose name holds a dot (a dotted
    /// name does not match AWS's wildcard certificate).
    PathStyle,
    /// `https://<bucket>.s3.<region>.amazonaws.com/<key>`: AWS.
    VirtualHosted,
}

/// `registry.region` when not set, as the original's.
pub const DEFAULT_REGION: &str = "us-east-1";
/// `registry.max_records` when not set (the configuration's default).
const DEFAULT_MAX_RECORDS: usize = 100_000;
/// S3's longest object key, in bytes.
const MAX_KEY: usize = 1024;
/// A record's key below the prefix is at most a 255-byte name, `/`, and a
/// 255-byte file name: the prefix gets the rest of S3's 1,024 bytes.
const MAX_PREFIX: usize = MAX_KEY - 2 * 255 - 1;

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub(crate) bucket: String,
    pub(crate) region: String,
    /// `""`, or the configured prefix without leading or trailing `/`
    /// followed by one `/`: `builds/`.
    pub(crate) prefix: String,
    /// The bucket's URL, without a trailing `/`: `http://127.0.0.1:9000/b`
    /// (path-style) or `https://b.s3.eu-west-1.amazonaws.com` (virtual).
    pub(crate) bucket_url: Url,
    pub(crate) addressing: Addressing,
    /// True when `registry.url` named the endpoint.
    pub(crate) custom_endpoint: bool,
    pub(crate) credentials: Credentials,
    /// Timeouts, retries, requests in flight.
    pub(crate) http: StoreOptions,
    /// The most objects one listing may hold (`registry.max_records`):
    /// past it a listing is an error, never a truncated answer.
    pub(crate) max_records: usize,
}

impl S3Settings {
    /// `bucket` is required; `region` defaults to `us-east-1`; `prefix` to
    /// none; `url` (the endpoint override) to AWS.
    pub fn new(
        bucket: Option<&str>,
        region: Option<&str>,
        prefix: Option<&str>,
        url: Option<&str>,
        credentials: Credentials,
    ) -> Result<Self, SettingsError> {
        let bucket = bucket_name(bucket)?;
        let region = region_name(region)?;
        let prefix = normalise_prefix(prefix)?;
        let (bucket_url, addressing) = match url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => (path_style(&endpoint(url)?, &bucket), Addressing::PathStyle),
            None => aws(&bucket, &region),
        };
        Ok(Self {
            bucket,
            region,
            prefix,
            bucket_url,
            addressing,
            custom_endpoint: url.is_some_and(|u| !u.trim().is_empty()),
            credentials,
            http: StoreOptions::default(),
            max_records: DEFAULT_MAX_RECORDS,
        })
    }

    /// Timeouts, retries and requests in flight (`registry.*` keys).
    #[must_use]
    pub fn with_http(mut self, http: StoreOptions) -> Self {
        self.http = StoreOptions {
            concurrency: http.concurrency.max(1),
            ..http
        };
        self
    }

    /// The most objects one listing may hold (`registry.max_records`); at
    /// least 1.
    #[must_use]
    pub fn with_max_records(mut self, max_records: usize) -> Self {
        self.max_records = max_records.max(1);
        self
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn addressing(&self) -> Addressing {
        self.addressing
    }

    /// The bucket's URL (no trailing `/`), for people and tests.
    pub fn bucket_url(&self) -> &Url {
        &self.bucket_url
    }

    /// The URL of the object `key` (a full key, prefix included).
    pub(crate) fn object_url(&self, key: &str) -> Url {
        let mut url = self.bucket_url.clone();
        let path = format!("{}/{}", url.path().trim_end_matches('/'), encode_key(key));
        url.set_path(&path);
        url
    }
}

/// Bucket names as S3 and its imitators accept them: 3 to 63 characters
/// (up to 255 for buckets older than 2018 in us-east-1), letters, digits,
/// `.`, `-` and `_`, starting and ending with a letter or digit. A `/`
/// would change which bucket a path-style URL names, so it is refused.
fn bucket_name(bucket: Option<&str>) -> Result<String, SettingsError> {
    let bucket = bucket
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            SettingsError::new(
                "registry.bucket is missing: set it to the S3 bucket that keeps the records \
             (registry.provider: s3)",
            )
        })?;
    let valid_chars = bucket
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !valid_chars
        || bucket.len() < 3
        || bucket.len() > 255
        || !ends(bucket.chars().next())
        || !ends(bucket.chars().last())
    {
        return Err(SettingsError::at(
            "registry.bucket",
            format!(
                "'{}' is not a bucket name: 3 to 63 letters, digits, '.' and '-', starting and \
                 ending with a letter or digit",
                imglife_domain::text::escape(bucket)
            ),
        ));
    }
    Ok(bucket.to_owned())
}

/// Regions are words (`eu-west-1`, `garage`, `auto` for R2): they end up
/// in the signature's scope, where a `/` or a space would break it.
fn region_name(region: Option<&str>) -> Result<String, SettingsError> {
    let Some(region) = region.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(DEFAULT_REGION.to_owned());
    };
    if region.len() > 64
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(SettingsError::at(
            "registry.region",
            format!(
                "'{}' is not a region: use letters, digits and '-', e.g. eu-west-1 (or what your \
                 S3-compatible server calls its region, e.g. garage)",
                imglife_domain::text::escape(region)
            ),
        ));
    }
    Ok(region.to_owned())
}

/// `builds`, `/builds/`, `team/builds/` → `builds/`, `team/builds/`; none
/// or only slashes → no prefix. The prefix is a folder: records live at
/// `<prefix>/<name>/<version>.json`.
fn normalise_prefix(prefix: Option<&str>) -> Result<String, SettingsError> {
    let Some(raw) = prefix else {
        return Ok(String::new());
    };
    let trimmed = raw.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let shown = imglife_domain::text::escape(raw);
    let refuse = |why: &str| {
        Err(SettingsError::at(
            "registry.prefix",
            format!("'{shown}' {why}"),
        ))
    };
    if trimmed.chars().any(imglife_domain::text::is_unsafe) {
        return refuse("holds control or invisible characters");
    }
    if trimmed != trimmed.trim() {
        return refuse("starts or ends with a blank");
    }
    if trimmed
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return refuse("has an empty, '.' or '..' part; write it as folder names joined by '/'");
    }
    if trimmed.len() + 1 > MAX_PREFIX {
        return refuse(&format!(
            "is {} bytes long; at most {} fit S3's 1,024-byte keys with a record's name and \
             version",
            trimmed.len(),
            MAX_PREFIX - 1
        ));
    }
    Ok(format!("{trimmed}/"))
}

/// The endpoint override: an http:// or https:// URL with a host, perhaps
/// a path (a gateway under `/s3`), no credentials, query or fragment.
fn endpoint(raw: &str) -> Result<Url, SettingsError> {
    let key = "registry.url";
    let shown = imglife_domain::text::escape(raw);
    let parsed = Url::parse(raw).map_err(|e| {
        SettingsError::at(
            key,
            format!("'{shown}' is not a valid URL ({e}); use e.g. http://garage.internal:3900"),
        )
    })?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(SettingsError::at(
            key,
            format!(
                "'{shown}' must be an http:// or https:// URL with a host, e.g. \
                 http://garage.internal:3900"
            ),
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(SettingsError::at(
            key,
            "must not carry credentials; put them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(SettingsError::at(
            key,
            format!("'{shown}' must not have a query or fragment"),
        ));
    }
    Ok(parsed)
}

/// `<endpoint>/<bucket>`.
fn path_style(endpoint: &Url, bucket: &str) -> Url {
    let mut url = endpoint.clone();
    let path = format!(
        "{}/{}",
        endpoint.path().trim_end_matches('/'),
        encode_key(bucket)
    );
    url.set_path(&path);
    url
}

/// AWS: virtual-hosted, except for dotted bucket names (path-style, as
/// the AWS SDKs do, since `a.b.s3.amazonaws.com` fails the certificate
/// check of `*.s3.amazonaws.com`).
fn aws(bucket: &str, region: &str) -> (Url, Addressing) {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let parse = |text: String| Url::parse(&text).expect("an AWS endpoint from checked parts");
    if bucket.contains('.') {
        let endpoint = parse(format!("https://s3.{region}.{domain}"));
        (path_style(&endpoint, bucket), Addressing::PathStyle)
    } else {
        (
            parse(format!("https://{bucket}.s3.{region}.{domain}")),
            Addressing::VirtualHosted,
        )
    }
}

/// An object key as S3 wants it in a path: every byte percent-encoded but
/// letters, digits, `-`, `.`, `_`, `~` and the `/` between parts. `+` must
/// be encoded: S3 reads a bare `+` in a path as a `+`, but the signature
/// is computed over the encoded form, which must then be `%2B` on both
/// sides.
pub(crate) fn encode_key(key: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(key.len() + 8);
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod s3_tests {
    use super::*;

    fn settings(
        bucket: &str,
        region: Option<&str>,
        prefix: Option<&str>,
        url: Option<&str>,
    ) -> Result<S3Settings, SettingsError> {
        S3Settings::new(
            Some(bucket),
            region,
            prefix,
            url,
            Credentials::from_keys("AKID", "secret"),
        )
    }

    #[test]
    fn custom_endpoints_are_path_style_and_aws_is_virtual_hosted() {
        let s = settings("records", None, None, Some("http://127.0.0.1:9000")).expect("valid");
        assert_eq!(s.bucket_url.as_str(), "http://127.0.0.1:9000/records");
        assert_eq!(s.addressing, Addressing::PathStyle);
        assert_eq!(
            s.object_url("a/b+c/1.+.2.json").as_str(),
            "http://127.0.0.1:9000/records/a/b%2Bc/1.%2B.2.json"
        );
        let s = settings("records", Some("eu-west-1"), None, None).expect("valid");
        assert_eq!(
            s.bucket_url.as_str(),
            "https://records.s3.eu-west-1.amazonaws.com/"
        );
        assert_eq!(s.addressing, Addressing::VirtualHosted);
        assert_eq!(
            s.object_url("x/1.json").as_str(),
            "https://records.s3.eu-west-1.amazonaws.com/x/1.json"
        );
        let s = settings("my.records", None, None, None).expect("valid");
        assert_eq!(
            s.bucket_url.as_str(),
            "https://s3.us-east-1.amazonaws.com/my.records"
        );
        let s =
            settings("b", Some("x"), None, Some("https://gw.example.com/s3/")).expect_err("short");
        assert!(s.message.contains("not a bucket name"), "{s}");
        let s = settings("bkt", Some("cn-north-1"), None, None).expect("valid");
        assert_eq!(
            s.bucket_url.host_str(),
            Some("bkt.s3.cn-north-1.amazonaws.com.cn")
        );
        let s = settings("bkt", None, None, Some("https://gw.example.com/s3/")).expect("valid");
        assert_eq!(
            s.object_url("k.json").as_str(),
            "https://gw.example.com/s3/bkt/k.json"
        );
    }

    #[test]
    fn debug_output_never_holds_the_secret() {
        let s = S3Settings::new(
            Some("records"),
            None,
            None,
            None,
            Credentials::from_keys("AKID", "s3cr3t-VALUE"),
        )
        .expect("valid");
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t-VALUE"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn prefixes_are_folders() {
        for (raw, want) in [
            (None, ""),
            (Some(""), ""),
            (Some("/"), ""),
            (Some("builds"), "builds/"),
            (Some("/builds/"), "builds/"),
            (Some("team/builds"), "team/builds/"),
        ] {
            assert_eq!(normalise_prefix(raw).expect("valid"), want, "{raw:?}");
        }
        for bad in ["a//b", "a/../b", "./a", "a\u{1b}b", " a", "a\u{202e}"] {
            let e = normalise_prefix(Some(bad)).expect_err(bad);
            assert_eq!(e.key.as_deref(), Some("registry.prefix"), "{bad}");
            assert!(!e.message.contains('\u{1b}'), "{e}");
        }
        assert!(normalise_prefix(Some(&"p".repeat(600))).is_err());
    }

    #[test]
    fn refuses_incomplete_settings() {
        let credentials = || Credentials::from_keys("AKID", "secret");
        let e = S3Settings::new(None, None, None, None, credentials()).expect_err("no bucket");
        assert!(e.message.contains("registry.bucket is missing"), "{e}");
        for (bucket, region, url, want) in [
            ("a/b", None, None, "not a bucket name"),
            ("-ab", None, None, "not a bucket name"),
            ("abc", Some("eu west"), None, "not a region"),
            (
                "abc",
                None,
                Some("garage.internal:3900"),
                "http:// or https://",
            ),
            ("abc", None, Some("ftp://x"), "http:// or https://"),
            ("abc", None, Some("http://u:p@x"), "credentials"),
            ("abc", None, Some("http://x/?a=b"), "query"),
        ] {
            let e =
                S3Settings::new(Some(bucket), region, None, url, credentials()).expect_err(want);
            assert!(e.to_string().contains(want), "{e} lacks {want}");
        }
    }
}
