//! `GitlabStore`: the `RecordStore` port over GitLab's packages API.

use std::collections::BTreeSet;

use async_trait::async_trait;
use futures_util::StreamExt;
use imglife_domain::RecordKey;
use imglife_domain::key::RECORD_FILE_NAME;
use imglife_domain::ports::{RecordReader, RecordStore, StoreError};
use imglife_http::message::error_text;
use imglife_http::{Attempt, BodyError, ClientOptions, Redirects, Transport};
use reqwest::header::{HeaderName, HeaderValue};

use crate::api::{
    Answer, Call, Endpoints, Listed, PAGE_LIMIT, Package, PackageFile, RECORD_LIMIT, sha256_hex,
};
use crate::errors::{Context, from_status};
use crate::pages::Listing;
use crate::settings::{GitlabSettings, SettingsError};

/// Redirect hops followed on a download (object storage answers with one).
const MAX_REDIRECTS: usize = 5;

/// Listing pages read at once: each answer may be up to `PAGE_LIMIT`
/// (4 MiB), so this bounds what a hostile server can make a listing hold
/// while reading (32 MiB).
const MAX_PAGES_IN_FLIGHT: usize = 8;

#[derive(Debug)]
pub struct GitlabStore {
    settings: GitlabSettings,
    http: reqwest::Client,
    endpoints: Endpoints,
    token_header: (HeaderName, HeaderValue),
}

/// The result of one upload attempt sequence.
enum Upload {
    Created,
    DuplicateDenied,
}

impl GitlabStore {
    /// Builds the HTTP client (through the HTTP foundation, which owns the
    /// trust roots).
    pub fn new(settings: GitlabSettings) -> Result<Self, SettingsError> {
        // Inside GitLab CI, a self-signed or private instance's CA comes
        // from the runner (`CI_SERVER_TLS_CA_FILE`); elsewhere it is unset.
        let options = ClientOptions::new(Transport::Network, settings.http.connect_timeout)
            .trust_gitlab_ci_server()
            .request_timeout(settings.http.request_timeout)
            // Redirects are followed by hand: the token must never travel
            // to another origin, and PRIVATE-TOKEN is not a header reqwest
            // strips on its own.
            .redirects(Redirects::Manual);
        let http = imglife_http::client(&options).map_err(|e| SettingsError::new(e.0))?;
        let mut value = HeaderValue::from_str(settings.token.secret()).map_err(|_| {
            SettingsError::new(format!(
                "{} holds characters that cannot be sent in an HTTP header; check its value",
                settings.token.source().variable()
            ))
        })?;
        value.set_sensitive(true);
        let token_header = (
            HeaderName::from_static(settings.token.source().header()),
            value,
        );
        // Plain HTTP is allowed because the user wrote http:// (the issue's
        // rule), but off this machine it sends the token in the clear.
        let loopback = match settings.api.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if settings.api.scheme() == "http" && !loopback {
            tracing::warn!(
                "the GitLab URL uses plain http://: the token in {} travels unencrypted; use https://",
                settings.token.source().variable()
            );
        }
        let endpoints = Endpoints::new(&settings.api, &settings.project);
        Ok(Self {
            settings,
            http,
            endpoints,
            token_header,
        })
    }

    fn context<'a>(&'a self, action: &'a str) -> Context<'a> {
        Context {
            action,
            project: &self.settings.project,
            token: self.settings.token.source(),
        }
    }

    /// Sends `call`, retrying transient faults within the retry policy.
    /// The token is attached only when `with_token` (same origin as the
    /// configured API).
    async fn send(
        &self,
        call: &Call,
        action: &str,
        with_token: bool,
    ) -> Result<Answer, StoreError> {
        imglife_http::retry(&self.settings.http.retry, action, || {
            self.send_once(call, with_token)
        })
        .await
        .map_err(|gave_up| gave_up.into_store_error(action))
    }

    async fn send_once(
        &self,
        call: &Call,
        with_token: bool,
    ) -> Result<Answer, Attempt<StoreError>> {
        let mut request = self.http.request(call.method.clone(), call.url.clone());
        if with_token {
            request = request.header(self.token_header.0.clone(), self.token_header.1.clone());
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if imglife_http::retry::is_transient_status(status.as_u16()) {
            let reason = if status.as_u16() == 429 {
                "GitLab is rate limiting requests (429 Too Many Requests)".to_owned()
            } else {
                // GitLab documents 500 for concurrent uploads into one package.
                format!("GitLab answered {status}")
            };
            return Err(Attempt::from_status(
                status.as_u16(),
                response.headers(),
                StoreError::Unavailable(reason),
            ));
        }
        let header = |name: &str| imglife_http::header(&response, name);
        let next_page = header("x-next-page");
        let total_pages = header("x-total-pages").and_then(|v| v.trim().parse().ok());
        let location = header("location");
        let body = imglife_http::read_limited(response, call.limit)
            .await
            .map_err(|e| match e {
                BodyError::Transport(e) => self.transport(&e),
                too_large @ BodyError::TooLarge { .. } => {
                    Attempt::Final(StoreError::Failed(format!(
                        "GitLab's answer to {} {} is {too_large}",
                        call.method,
                        call.url.path()
                    )))
                }
            })?;
        Ok(Answer {
            status,
            next_page,
            total_pages,
            location,
            body,
        })
    }

    fn transport(&self, error: &reqwest::Error) -> Attempt<StoreError> {
        let host = self.settings.api.host_str().unwrap_or_default();
        let reason = imglife_http::cause::no_answer(
            error,
            &format!("GitLab at {host}"),
            self.settings.http.request_timeout,
        );
        Attempt::from_transport(error, StoreError::Unavailable(reason))
    }

    /// `DELETE`s `url`; gone already (404) is as good as deleted.
    async fn delete_at(&self, url: url::Url, action: &str) -> Result<(), StoreError> {
        let answer = self.send(&Call::delete(url), action, true).await?;
        match answer.status.as_u16() {
            200 | 204 | 404 => Ok(()),
            _ => Err(from_status(
                answer.status,
                &answer.text(),
                &self.context(action),
            )),
        }
    }

    /// `PUT`s the record once; `DuplicateDenied` when the namespace forbids
    /// a second file of the same name.
    ///
    /// A `PUT` whose answer was lost (reset, timeout) is retried by `send`:
    /// that is safe because GitLab serves the newest file of a name, so a
    /// second copy of the same bytes changes nothing a reader sees; with
    /// duplicates denied, the retry answers "duplicate" and is handled
    /// like any other duplicate.
    async fn upload(&self, key: &RecordKey, document: &[u8]) -> Result<Upload, StoreError> {
        let url = self
            .endpoints
            .generic_file(key.name(), key.version(), RECORD_FILE_NAME);
        let action = "publishing the record";
        let answer = self
            .send(&Call::put(url, document.to_vec()), action, true)
            .await?;
        match answer.status.as_u16() {
            200 | 201 => Ok(Upload::Created),
            400 if error_text(&answer.body).contains("Duplicate package is not allowed") => {
                Ok(Upload::DuplicateDenied)
            }
            _ => Err(from_status(
                answer.status,
                &answer.text(),
                &self.context(action),
            )),
        }
    }

    /// Deletes every `record.json` of the key's package, so that a
    /// namespace that denies duplicates accepts the new record.
    async fn delete_older(&self, key: &RecordKey) -> Result<usize, StoreError> {
        let action = "replacing the older record";
        let packages = self
            .packages(Some((key.name(), key.version())), action)
            .await?;
        let mut deleted = 0;
        for package in packages
            .iter()
            .filter(|p| p.name == key.name() && p.version == key.version())
        {
            for file in self.files(package.id, action).await? {
                if file.file_name != RECORD_FILE_NAME {
                    continue;
                }
                let url = self.endpoints.package_file(package.id, file.id);
                let answer = self.send(&Call::delete(url), action, true).await?;
                match answer.status.as_u16() {
                    204 | 200 | 404 => deleted += 1,
                    403 => {
                        return Err(StoreError::Denied(format!(
                            "publishing the record: project {}'s namespace does not allow duplicate \
                             generic packages, and the token in {} may not delete the older record \
                             (403); allow duplicates in the group's package registry settings, or use \
                             a token with the Maintainer role",
                            self.settings.project,
                            self.settings.token.source().variable()
                        )));
                    }
                    _ => {
                        return Err(from_status(
                            answer.status,
                            &answer.text(),
                            &self.context(action),
                        ));
                    }
                }
            }
        }
        Ok(deleted)
    }

    /// Every generic package (optionally filtered by name and version on
    /// GitLab's side).
    async fn packages(
        &self,
        exact: Option<(&str, &str)>,
        action: &str,
    ) -> Result<Vec<Package>, StoreError> {
        self.all_pages(
            |page| self.endpoints.packages(page, exact),
            "packages",
            action,
        )
        .await
    }

    async fn files(&self, package_id: u64, action: &str) -> Result<Vec<PackageFile>, StoreError> {
        self.all_pages(
            |page| self.endpoints.package_files(package_id, page),
            &format!("files of package {package_id}"),
            action,
        )
        .await
    }

    /// Reads a paginated list to its end (see `pages` for what is not
    /// trusted): every page at once while GitLab announces how many there
    /// are, else following `X-Next-Page`, since GitLab stops sending totals
    /// past 10,000 items.
    async fn all_pages<T: serde::de::DeserializeOwned + Listed>(
        &self,
        url_of: impl Fn(&str) -> url::Url,
        what: &str,
        action: &str,
    ) -> Result<Vec<T>, StoreError> {
        let mut listing = Listing::new(action, what, self.settings.max_records);
        let first = self.page(&url_of("1"), action).await?;
        listing.add("1", parse_page(&first, "1", what, action)?)?;
        // While GitLab still counts (at most 10,000 items), every page is
        // known from the first answer: once the total is within the caps,
        // fetch the rest at once, a bounded number at a time.
        if let Some(total) = first
            .total_pages
            .filter(|total| *total >= 2 && first.next_page.is_some())
        {
            listing.check_total(total)?;
            // Each page is parsed as soon as it is read, so a page waiting
            // for its turn holds its items, not its body.
            let mut pages = futures_util::stream::iter(2..=total)
                .map(|page| {
                    let url = url_of(&page.to_string());
                    async move {
                        let number = page.to_string();
                        let items = self
                            .page(&url, action)
                            .await
                            .and_then(|answer| parse_page(&answer, &number, what, action));
                        (number, items)
                    }
                })
                .buffered(self.settings.http.concurrency.min(MAX_PAGES_IN_FLIGHT));
            while let Some((page, items)) = pages.next().await {
                listing.add(&page, items?)?;
            }
            return Ok(listing.into_items());
        }
        // Past 10,000 GitLab sends no totals: follow X-Next-Page.
        let mut page = "1".to_owned();
        let mut answer = first;
        loop {
            match listing.next(&page, answer.next_page.as_deref())? {
                Some(next) => page = next,
                None => return Ok(listing.into_items()),
            }
            listing.may_request_another()?;
            answer = self.page(&url_of(&page), action).await?;
            listing.add(&page, parse_page(&answer, &page, what, action)?)?;
        }
    }

    /// One page of a list, which must be a success.
    async fn page(&self, url: &url::Url, action: &str) -> Result<Answer, StoreError> {
        let answer = self
            .send(&Call::get(url.clone()).limit(PAGE_LIMIT), action, true)
            .await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(from_status(
                answer.status,
                &answer.text(),
                &self.context(action),
            ))
        }
    }

    /// Downloads the record, following redirects to object storage without
    /// the token.
    async fn download(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        let action = "reading the record";
        let mut url = self
            .endpoints
            .generic_file(key.name(), key.version(), RECORD_FILE_NAME);
        let api_origin = self.settings.api.origin();
        for _ in 0..=MAX_REDIRECTS {
            let same_origin = url.origin() == api_origin;
            let answer = self
                .send(
                    &Call::get(url.clone()).limit(RECORD_LIMIT),
                    action,
                    same_origin,
                )
                .await?;
            match answer.status.as_u16() {
                200 => return Ok(Some(answer.body)),
                301 | 302 | 303 | 307 | 308 => {
                    let location = answer.location.as_deref().unwrap_or_default();
                    url = url.join(location).map_err(|e| {
                        StoreError::Failed(format!(
                            "{action}: GitLab redirected to an invalid location '{location}': {e}"
                        ))
                    })?;
                }
                404 if same_origin => return self.missing_or_no_project(action).await,
                _ => {
                    return Err(from_status(
                        answer.status,
                        &answer.text(),
                        &self.context(action),
                    ));
                }
            }
        }
        Err(StoreError::Failed(format!(
            "{action}: more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// A 404 on a download means "no such record" only if the project
    /// exists; otherwise the configuration is wrong and must be said so.
    async fn missing_or_no_project(&self, action: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let probe = self.endpoints.probe();
        let answer = self.send(&Call::get(probe), action, true).await?;
        if answer.status.is_success() {
            Ok(None)
        } else {
            Err(from_status(
                answer.status,
                &answer.text(),
                &self.context(action),
            ))
        }
    }
}

/// The items of one listing page.
fn parse_page<T: serde::de::DeserializeOwned>(
    answer: &Answer,
    page: &str,
    what: &str,
    action: &str,
) -> Result<Vec<T>, StoreError> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        StoreError::Failed(format!(
            "{action}: page {page} of {what} is not the JSON list GitLab sends: {e}"
        ))
    })
}

#[async_trait]
impl RecordReader for GitlabStore {
    fn location(&self, key: &RecordKey) -> String {
        format!(
            "GitLab project {} packages/generic/{}/{}/{RECORD_FILE_NAME}",
            self.settings.project,
            key.name(),
            key.version()
        )
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.download(key).await
    }

    fn parallelism(&self) -> usize {
        self.settings.http.concurrency
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        let packages = self.packages(None, "listing records").await?;
        let mut keys = BTreeSet::new();
        for package in packages {
            match RecordKey::from_parts(&package.name, &package.version) {
                Ok(key) => {
                    keys.insert(key);
                }
                // Other generic packages may share the project.
                Err(e) => tracing::debug!("skipping package {}: {e}", package.id),
            }
        }
        Ok(keys.into_iter().collect())
    }
}

#[async_trait]
impl RecordStore for GitlabStore {
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        match self.upload(key, document).await? {
            Upload::Created => Ok(()),
            Upload::DuplicateDenied => {
                let deleted = self.delete_older(key).await?;
                tracing::info!(
                    deleted,
                    "duplicates are denied: deleted the older record, uploading again"
                );
                match self.upload(key, document).await? {
                    Upload::Created => Ok(()),
                    Upload::DuplicateDenied => Err(StoreError::Failed(format!(
                        "publishing the record: GitLab still reports a duplicate after the older \
                         record was deleted (project {}); another job may be registering the same \
                         image at the same time — run register again",
                        self.settings.project
                    ))),
                }
            }
        }
    }

    /// Deletes exactly the package file that holds `expected`: GitLab
    /// serves the newest `record.json` of a package, so that file (and the
    /// older ones it hides) goes only while its listed SHA-256 is that of
    /// `expected`. A record registered again meanwhile is a newer file with
    /// a higher id, and is never among those deleted; the package itself
    /// goes only once no file is left in it.
    async fn delete_if_unchanged(
        &self,
        key: &RecordKey,
        expected: &[u8],
    ) -> Result<bool, StoreError> {
        let action = "deleting the record";
        let want = sha256_hex(expected);
        let packages = self
            .packages(Some((key.name(), key.version())), action)
            .await?;
        let mut deleted = false;
        for package in packages
            .iter()
            .filter(|p| p.name == key.name() && p.version == key.version())
        {
            let files = self.files(package.id, action).await?;
            let records = files.iter().filter(|f| f.file_name == RECORD_FILE_NAME);
            let Some(current) = records.clone().max_by_key(|f| f.id) else {
                continue;
            };
            if current.file_sha256.as_deref() != Some(want.as_str()) {
                return Ok(false);
            }
            for file in records.filter(|f| f.id <= current.id) {
                let url = self.endpoints.package_file(package.id, file.id);
                self.delete_at(url, action).await?;
            }
            deleted = true;
            // An emptied package would still be listed: it goes too, unless
            // a file arrived meanwhile.
            if self.files(package.id, action).await?.is_empty() {
                let url = self.endpoints.package(package.id);
                self.delete_at(url, action).await?;
            }
        }
        Ok(deleted)
    }

    /// Deletes the key's whole package: it holds nothing but the record,
    /// and GitLab keeps a package whose last file was deleted, which would
    /// still be listed.
    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        let action = "deleting the record";
        let packages = self
            .packages(Some((key.name(), key.version())), action)
            .await?;
        for package in packages
            .iter()
            .filter(|p| p.name == key.name() && p.version == key.version())
        {
            self.delete_at(self.endpoints.package(package.id), action)
                .await?;
        }
        Ok(())
    }
}
