//! `S3Store`: the `RecordStore` port over S3's object API.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::key::RECORD_EXTENSION;
use imglife_domain::ports::{Fetched, Listed, RecordReader, RecordStore, StoreError, Version};
use imglife_domain::text::escape;
use imglife_http::{Attempt, BodyError, ClientOptions, Redirects, Transport};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::HttpRequestBody;
use reqwest::header::{HeaderValue, IF_MATCH};

use crate::api::{
    ANSWER_LIMIT, Answer, Call, ErrorDocument, ListPage, PAGE_LIMIT, RECORD_LIMIT, list_url,
};
use crate::connector::Connector;
use crate::credentials::{CredentialSource, Provider};
use crate::errors::{Context, describe_object_store, from_answer};
use crate::settings::{S3Settings, SettingsError};

/// How long the instance metadata service gets to answer each request, as
/// the AWS SDKs allow it (off EC2 nothing answers there).
const METADATA_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct S3Store {
    settings: S3Settings,
    http: reqwest::Client,
    credentials: Provider,
}

impl S3Store {
    /// Builds the HTTP client (through the HTTP foundation, which owns the
    /// trust roots) and the credentials provider on top of it.
    pub fn new(settings: S3Settings) -> Result<Self, SettingsError> {
        let source = settings.credentials.source().clone();
        // STS is asked over HTTPS; a container endpoint may be.
        let fetches_over_https = match &source {
            CredentialSource::WebIdentity { .. } => true,
            CredentialSource::ContainerFull { uri, .. } => uri.starts_with("https:"),
            _ => false,
        };
        // Nothing but plain HTTP will be spoken (an http:// endpoint with
        // keys, as in a local MinIO or Garage): no certificates to load.
        let transport = if settings.bucket_url.scheme() == "http" && !fetches_over_https {
            Transport::PlainOnly
        } else {
            Transport::Network
        };
        let options = ClientOptions::new(transport, settings.http.connect_timeout)
            .request_timeout(settings.http.request_timeout)
            // A redirect is S3 saying the bucket lives elsewhere (another
            // region): the signature is for this host, so it is reported,
            // not followed.
            .redirects(Redirects::Manual);
        let http = imglife_http::client(&options).map_err(|e| SettingsError::new(e.0))?;
        let per_request =
            matches!(source, CredentialSource::Instance { .. }).then_some(METADATA_TIMEOUT);
        let connector = Connector::new(http.clone(), per_request);
        let credentials =
            settings
                .credentials
                .provider(connector, &settings.bucket, &settings.region)?;
        let loopback = match settings.bucket_url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if settings.bucket_url.scheme() == "http" && !loopback {
            tracing::warn!(
                "the S3 URL uses plain http://: records travel unencrypted (credentials are not \
                 sent, only signatures); use https://"
            );
        }
        Ok(Self {
            settings,
            http,
            credentials,
        })
    }

    /// The full object key of a record: `<prefix><name>/<version>.json`.
    fn object_key(&self, key: &RecordKey) -> String {
        format!("{}{}", self.settings.prefix, key.relative_path())
    }

    /// `s3://bucket/key`, for messages.
    fn target(&self, object_key: &str) -> String {
        format!("s3://{}/{}", self.settings.bucket, escape(object_key))
    }

    fn context<'a>(&'a self, action: &'a str, target: String) -> Context<'a> {
        let mut endpoint = self.settings.bucket_url.clone();
        endpoint.set_path("");
        Context {
            action,
            target,
            bucket: &self.settings.bucket,
            region: &self.settings.region,
            endpoint: endpoint.as_str().trim_end_matches('/').to_owned(),
            custom_endpoint: self.settings.custom_endpoint,
            credentials: self.settings.credentials.source(),
        }
    }

    /// Sends `call`, retrying transient faults within the retry policy;
    /// each attempt is signed anew.
    async fn send(&self, call: &Call, action: &str, target: &str) -> Result<Answer, StoreError> {
        imglife_http::retry(&self.settings.http.retry, action, || {
            self.send_once(call, target)
        })
        .await
        .map_err(|gave_up| gave_up.into_store_error(&format!("{action} {target}")))
    }

    async fn send_once(&self, call: &Call, target: &str) -> Result<Answer, Attempt<StoreError>> {
        let credential = self
            .credentials
            .get()
            .await
            .map_err(|e| Attempt::Final(self.credentials_failed(&e)))?;
        // Fetched keys go into headers (`Authorization`,
        // `x-amz-security-token`), where the signer cannot take what a
        // header cannot hold.
        let visible = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
        if !visible(&credential.key_id) || credential.token.as_deref().is_some_and(|t| !visible(t))
        {
            return Err(Attempt::Final(StoreError::Denied(format!(
                "the credentials from {} are malformed (a key id or session token that cannot \
                 be sent in a header)",
                self.settings.credentials.source().describe()
            ))));
        }
        let request = self.sign(call, &credential).map_err(Attempt::Final)?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| self.transport(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        if imglife_http::retry::is_transient_status(status.as_u16()) {
            let body = imglife_http::read_limited(response, ANSWER_LIMIT)
                .await
                .unwrap_or_default();
            let document = ErrorDocument::parse(&body);
            let code = document
                .code
                .map(|c| format!(" {}", escape(&c)))
                .unwrap_or_default();
            return Err(Attempt::from_status(
                status.as_u16(),
                &headers,
                StoreError::Unavailable(format!("S3 answered {status}{code}")),
            ));
        }
        let limit = if status.is_success() {
            call.limit
        } else {
            ANSWER_LIMIT
        };
        let body = imglife_http::read_limited(response, limit)
            .await
            .map_err(|e| match e {
                BodyError::Transport(e) => self.transport(&e),
                too_large @ BodyError::TooLarge { .. } => Attempt::Final(StoreError::Failed(
                    format!("S3's answer to {} {target} is {too_large}", call.method),
                )),
            })?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// The request of `call`, signed with SigV4 (object_store's signer):
    /// `x-amz-date`, `x-amz-content-sha256` (the body's SHA-256),
    /// `x-amz-security-token` for temporary credentials, `Authorization`.
    /// The headers of `call` (Content-Type, If-Match) are signed too.
    fn sign(
        &self,
        call: &Call,
        credential: &AwsCredential,
    ) -> Result<reqwest::Request, StoreError> {
        let body = call.body.clone().unwrap_or_default();
        let mut request = http::Request::builder()
            .method(call.method.clone())
            .uri(call.url.as_str())
            .body(HttpRequestBody::from(body.clone()))
            .map_err(|e| StoreError::Failed(format!("cannot build the request: {e}")))?;
        for (name, value) in &call.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        AwsAuthorizer::new(credential, "s3", &self.settings.region)
            .try_authorize(&mut request, None)
            .map_err(|e| {
                StoreError::Failed(format!(
                    "cannot sign the request: {}",
                    describe_object_store(&e)
                ))
            })?;
        let (parts, _) = request.into_parts();
        let mut signed = reqwest::Request::new(parts.method, call.url.clone());
        *signed.headers_mut() = parts.headers;
        if call.body.is_some() {
            *signed.body_mut() = Some(body.into());
        }
        Ok(signed)
    }

    /// Temporary credentials could not be had (STS refused the token, the
    /// container or metadata endpoint did not answer).
    fn credentials_failed(&self, error: &object_store::Error) -> StoreError {
        let source = self.settings.credentials.source();
        let cause = describe_object_store(error);
        match source {
            CredentialSource::Instance { endpoint } => StoreError::Denied(format!(
                "no AWS credentials: none in the environment or ~/.aws, and the EC2 instance \
                 metadata service at {endpoint} gave none ({cause}); set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or AWS_WEB_IDENTITY_TOKEN_FILE and \
                 AWS_ROLE_ARN"
            )),
            other => StoreError::Denied(format!(
                "cannot get AWS credentials from {}: {cause}",
                other.describe()
            )),
        }
    }

    fn transport(&self, error: &reqwest::Error) -> Attempt<StoreError> {
        let host = self.settings.bucket_url.host_str().unwrap_or_default();
        let reason = imglife_http::cause::no_answer(
            error,
            &format!("S3 at {host}"),
            self.settings.http.request_timeout,
        );
        Attempt::from_transport(error, StoreError::Unavailable(reason))
    }

    /// The record's bytes and ETag; `None` when there is no such object.
    async fn read(
        &self,
        key: &RecordKey,
        action: &str,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, StoreError> {
        let object_key = self.object_key(key);
        let target = self.target(&object_key);
        let call = Call::get(self.settings.object_url(&object_key), RECORD_LIMIT);
        let answer = self.send(&call, action, &target).await?;
        match answer.status.as_u16() {
            200 => {
                let etag = answer.header("etag").map(str::to_owned);
                Ok(Some((answer.body, etag)))
            }
            404 if !is_no_such_bucket(&answer) => Ok(None),
            _ => Err(from_answer(&answer, &self.context(action, target))),
        }
    }

    /// The key of a listed object, when it is a record: exactly
    /// `<prefix><name>/<version>.json` with a name and version that decode.
    fn key_of(&self, object_key: &str) -> Option<RecordKey> {
        let rest = object_key.strip_prefix(&self.settings.prefix)?;
        let (name, file) = rest.split_once('/')?;
        let version = file.strip_suffix(RECORD_EXTENSION)?;
        RecordKey::from_parts(name, version).ok()
    }

    /// The most pages one listing may take: S3 gives 1,000 keys a page;
    /// this allows servers that give as few as 100.
    fn max_pages(&self) -> usize {
        self.settings.max_records.div_ceil(100) + 1
    }
}

fn is_no_such_bucket(answer: &Answer) -> bool {
    ErrorDocument::parse(&answer.body).code.as_deref() == Some("NoSuchBucket")
}

#[async_trait]
impl RecordReader for S3Store {
    fn location(&self, key: &RecordKey) -> String {
        self.target(&self.object_key(key))
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .read(key, "reading the record")
            .await?
            .map(|(body, _)| body))
    }

    /// The object and the `ETag` of exactly the bytes received.
    async fn get_versioned(&self, key: &RecordKey) -> Result<Option<Fetched>, StoreError> {
        Ok(self
            .read(key, "reading the record")
            .await?
            .map(|(document, etag)| Fetched {
                document,
                version: etag.as_deref().and_then(version_of_etag),
            }))
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        Ok(Listed::keys(self.list_versioned().await?))
    }

    /// `s3 <endpoint>/<bucket>/<prefix>` (or the virtual-hosted URL of the
    /// bucket): no credentials, no query; the URL's user information, if
    /// one was written into `registry.url`, is left out.
    fn cache_identity(&self) -> Option<String> {
        let mut url = self.settings.bucket_url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        Some(format!(
            "s3 {}/{}",
            url.as_str().trim_end_matches('/'),
            self.settings.prefix
        ))
    }

    fn parallelism(&self) -> usize {
        self.settings.http.concurrency
    }

    /// ListObjectsV2 under the prefix, 1,000 keys a page, following
    /// continuation tokens. Bounded: more than `max_records` objects, more
    /// pages than those can fill, a truncated page without a next token,
    /// and a token seen before (a listing that would never end) are errors,
    /// never a shortened answer. Each key comes with its object's ETag,
    /// which S3 changes with every PutObject of other bytes.
    async fn list_versioned(&self) -> Result<Vec<Listed>, StoreError> {
        let action = "listing records";
        let target = format!(
            "s3://{}/{}",
            self.settings.bucket,
            escape(&self.settings.prefix)
        );
        let failed = |why: String| StoreError::Failed(format!("{action} {target}: {why}"));
        let mut keys = BTreeMap::new();
        let mut tokens: HashSet<String> = HashSet::new();
        let mut token: Option<String> = None;
        let mut objects = 0_usize;
        for page in 1.. {
            if page > self.max_pages() {
                return Err(failed(format!(
                    "S3 is still offering pages after {} pages; stopped (registry.max_records is \
                     {})",
                    page - 1,
                    self.settings.max_records
                )));
            }
            let url = list_url(
                &self.settings.bucket_url,
                &self.settings.prefix,
                token.as_deref(),
            );
            let answer = self
                .send(&Call::get(url, PAGE_LIMIT), action, &target)
                .await?;
            if !answer.status.is_success() {
                return Err(from_answer(&answer, &self.context(action, target.clone())));
            }
            let listed = ListPage::parse(&answer.body).map_err(|e| {
                failed(format!(
                    "page {page} is not the ListBucketResult S3 sends: {}",
                    escape(&e)
                ))
            })?;
            objects += listed.contents.len();
            if objects > self.settings.max_records {
                return Err(failed(format!(
                    "more than {} objects under the prefix (registry.max_records); raise \
                     registry.max_records or use a prefix of its own",
                    self.settings.max_records
                )));
            }
            for object in listed.contents {
                match self.key_of(&object.key) {
                    Some(key) => {
                        let version = object.e_tag.as_deref().and_then(version_of_etag);
                        keys.insert(key, version);
                    }
                    // Whatever else shares the prefix.
                    None => tracing::debug!("skipping object {}", escape(&object.key)),
                }
            }
            if !listed.is_truncated {
                break;
            }
            let next = listed
                .next_continuation_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    failed(format!(
                        "page {page} says more follow but gives no NextContinuationToken"
                    ))
                })?;
            if !tokens.insert(next.clone()) {
                return Err(failed(format!(
                    "page {page} repeats a continuation token already followed; the listing \
                     would never end"
                )));
            }
            token = Some(next);
        }
        Ok(keys
            .into_iter()
            .map(|(key, version)| Listed { key, version })
            .collect())
    }
}

/// An ETag as a version: as sent, blanks around it dropped; an empty or
/// weak one (`W/…`, which says the bytes may differ) is none.
fn version_of_etag(etag: &str) -> Option<Version> {
    let etag = etag.trim();
    (!etag.is_empty() && !etag.starts_with("W/")).then(|| Version::new(etag))
}

#[async_trait]
impl RecordStore for S3Store {
    /// One PutObject: S3 replaces an object whole, so a reader sees the old
    /// or the new record, never a mix. A PUT whose answer was lost is sent
    /// again; the same bytes twice change nothing.
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        let action = "publishing the record";
        let object_key = self.object_key(key);
        let target = self.target(&object_key);
        if document.len() > RECORD_LIMIT {
            return Err(StoreError::Failed(format!(
                "{action} {target}: the record is {} and could not be read back (the limit is {})",
                imglife_http::body::bytes(document.len() as u64),
                imglife_http::body::bytes(RECORD_LIMIT as u64)
            )));
        }
        let call = Call::put_json(self.settings.object_url(&object_key), document.to_vec());
        let answer = self.send(&call, action, &target).await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(from_answer(&answer, &self.context(action, target)))
        }
    }

    /// DeleteObject; S3 answers 204 whether or not the object was there.
    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        let action = "deleting the record";
        let object_key = self.object_key(key);
        let target = self.target(&object_key);
        let call = Call::delete(self.settings.object_url(&object_key));
        let answer = self.send(&call, action, &target).await?;
        match answer.status.as_u16() {
            200 | 204 => Ok(()),
            404 if !is_no_such_bucket(&answer) => Ok(()),
            _ => Err(from_answer(&answer, &self.context(action, target))),
        }
    }

    /// Reads the record with its ETag, compares the bytes with `expected`,
    /// then deletes with `If-Match: <that ETag>`: a server that honours a
    /// conditional DeleteObject (S3's 412 PreconditionFailed) keeps a
    /// record registered again since the read, atomically. One that ignores
    /// the header deletes unconditionally, so there the check is the read
    /// just before (one round trip earlier): a write landing in between is
    /// the only one that can be lost.
    async fn delete_if_unchanged(
        &self,
        key: &RecordKey,
        expected: &[u8],
    ) -> Result<bool, StoreError> {
        let action = "deleting the record";
        let Some((current, etag)) = self.read(key, action).await? else {
            return Ok(false);
        };
        if current != expected {
            return Ok(false);
        }
        let object_key = self.object_key(key);
        let target = self.target(&object_key);
        let mut call = Call::delete(self.settings.object_url(&object_key));
        if let Some(value) = etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
            call = call.header(IF_MATCH, value);
        }
        let answer = self.send(&call, action, &target).await?;
        match answer.status.as_u16() {
            200 | 204 => Ok(true),
            // Changed since it was read (412), or gone meanwhile.
            412 => Ok(false),
            404 if !is_no_such_bucket(&answer) => Ok(false),
            _ => Err(from_answer(&answer, &self.context(action, target))),
        }
    }
}

#[cfg(test)]
mod s3_tests {
    use super::*;
    use crate::credentials::Credentials;

    #[test]
    fn a_store_shows_no_secret_and_names_its_objects() {
        let settings = S3Settings::new(
            Some("records"),
            None,
            Some("ci"),
            Some("http://127.0.0.1:9"),
            Credentials::from_keys("AKID", "s3cr3t-VALUE"),
        )
        .expect("valid");
        let store = S3Store::new(settings).expect("store");
        let shown = format!("{store:?}");
        assert!(!shown.contains("s3cr3t-VALUE"), "{shown}");
        let key =
            RecordKey::from_parts("r.io+a", "1..2".replace("..", ".+.").as_str()).expect("key");
        assert_eq!(store.location(&key), "s3://records/ci/r.io+a/1.+.2.json");
        assert_eq!(store.key_of("ci/r.io+a/1.+.2.json"), Some(key));
        for foreign in [
            "ci/r.io+a/1.json.bak",
            "ci/r.io+a/x/1.json",
            "ci/stray.json",
            "other/r.io+a/1.json",
            "ci-old/r.io+a/1.json",
        ] {
            assert_eq!(store.key_of(foreign), None, "{foreign}");
        }
    }
}
