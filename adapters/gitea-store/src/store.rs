//! `GiteaStore`: the `RecordStore` port over Gitea's generic package
//! registry.
//!
//! # Layout, and why the file is named after its content
//!
//! The record of `name`/`version` lives in the generic package `name`,
//! version `version`, of the owner, as the file `record-<sha256>.json`
//! (the SHA-256 of the document). Gitea
//! - never accepts a second file of the same name in a version (`409
//!   package file already exists`), and
//! - deletes files only by name (`DELETE
//!   /api/packages/{owner}/generic/{name}/{version}/{file}`), never by id.
//!
//! With one fixed name, replacing a record would be "delete, then upload":
//! readers would find no record in between, and a purge that checked the
//! old record could delete the new one by its (shared) name. Named after
//! their content, a new record is uploaded *beside* the old one, which is
//! deleted only once the new one is there, and a checked deletion deletes
//! exactly the content it checked. Readers take the record file with the
//! highest id (Gitea's ids only grow), so they always see one whole record,
//! the old or the new.
//!
//! Gitea answers `409` only when the very same document is stored again:
//! if that file is already the newest record nothing changes; if it is an
//! older one (a replacement interrupted before its clean-up), it is deleted
//! and uploaded again to become the newest, and a `409` on that second
//! upload (another writer storing the same document at the same moment) is
//! retried once.

use std::collections::BTreeSet;

use async_trait::async_trait;
use futures_util::StreamExt;
use imglife_domain::RecordKey;
use imglife_domain::ports::{RecordReader, RecordStore, StoreError};
use imglife_http::{Attempt, BodyError, ClientOptions, Redirects, Transport};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use url::Url;

use crate::api::{
    Answer, ApiMessage, Call, Endpoints, FILES_LIMIT, PAGE_LIMIT, PLAIN_FILE_NAME, Package,
    PackageFile, RECORD_LIMIT, is_record_file, record_file_name, sha256_hex,
};
use crate::errors::{Context, from_status};
use crate::pages::Listing;
use crate::settings::{GiteaSettings, SettingsError};
use crate::token::VARIABLE;

/// Redirect hops followed on a download (storage serving files directly,
/// `SERVE_DIRECT`, answers with one).
const MAX_REDIRECTS: usize = 5;

/// Listing pages read at once: each answer may be up to `PAGE_LIMIT`
/// (4 MiB), so this bounds what a hostile server can make a listing hold
/// while reading (32 MiB).
const MAX_PAGES_IN_FLIGHT: usize = 8;

/// Times a read lists the version's files and downloads the newest
/// record: a download finds nothing when a writer replaced the record
/// between the two requests, and the next listing shows the new one.
const READ_ATTEMPTS: usize = 4;

#[derive(Debug)]
pub struct GiteaStore {
    settings: GiteaSettings,
    http: reqwest::Client,
    endpoints: Endpoints,
    /// `Authorization: token <secret>`, marked sensitive.
    authorization: Option<HeaderValue>,
    /// The configured instance's origin: the only one the token goes to.
    origin: url::Origin,
}

/// The result of one upload.
enum Upload {
    Created,
    /// `409`: a file of that name, the same document, is already there.
    Exists,
}

impl GiteaStore {
    /// Builds the HTTP client (through the HTTP foundation, which owns the
    /// trust roots).
    pub fn new(settings: GiteaSettings) -> Result<Self, SettingsError> {
        let options = ClientOptions::new(Transport::Network, settings.http.connect_timeout)
            .request_timeout(settings.http.request_timeout)
            // Redirects are followed by hand: the token must never travel
            // to another origin (a download may be redirected to object
            // storage).
            .redirects(Redirects::Manual);
        let http = imglife_http::client(&options).map_err(|e| SettingsError::new(e.0))?;
        let authorization = match &settings.token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("token {}", token.secret()))
                    .map_err(|_| {
                        SettingsError::new(format!(
                            "{VARIABLE} holds characters that cannot be sent in an HTTP header; \
                             check its value"
                        ))
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let loopback = match settings.base.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if settings.base.scheme() == "http" && !loopback && settings.token.is_some() {
            tracing::warn!(
                "the Gitea URL uses plain http://: the token in {VARIABLE} travels unencrypted; \
                 use https://"
            );
        }
        let endpoints = Endpoints::new(&settings.base, &settings.owner);
        let origin = settings.base.origin();
        Ok(Self {
            settings,
            http,
            endpoints,
            authorization,
            origin,
        })
    }

    fn context<'a>(&'a self, action: &'a str) -> Context<'a> {
        Context {
            action,
            owner: &self.settings.owner,
            token: self.settings.token.as_ref(),
        }
    }

    fn fail(&self, answer: &Answer, action: &str) -> StoreError {
        from_status(answer.status, &answer.body, &self.context(action))
    }

    /// Sends `call`, retrying transient faults within the retry policy.
    /// The token goes only to the configured instance's origin.
    async fn send(&self, call: &Call, action: &str) -> Result<Answer, StoreError> {
        let with_token = call.url.origin() == self.origin;
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
        if with_token && let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if imglife_http::retry::is_transient_status(status.as_u16()) {
            let reason = if status.as_u16() == 429 {
                "Gitea is rate limiting requests (429 Too Many Requests)".to_owned()
            } else {
                // Gitea on SQLite answers 500 ("database is locked") to
                // concurrent writes; a moment later the write goes through.
                format!("Gitea answered {status}")
            };
            return Err(Attempt::from_status(
                status.as_u16(),
                response.headers(),
                StoreError::Unavailable(reason),
            ));
        }
        let header = |name: &str| imglife_http::header(&response, name);
        let total_count = header("x-total-count").and_then(|v| v.trim().parse().ok());
        let location = header("location");
        let body = imglife_http::read_limited(response, call.limit)
            .await
            .map_err(|e| match e {
                BodyError::Transport(e) => self.transport(&e),
                too_large @ BodyError::TooLarge { .. } => {
                    Attempt::Final(StoreError::Failed(format!(
                        "Gitea's answer to {} {} is {too_large}",
                        call.method,
                        call.url.path()
                    )))
                }
            })?;
        Ok(Answer {
            status,
            total_count,
            location,
            body,
        })
    }

    fn transport(&self, error: &reqwest::Error) -> Attempt<StoreError> {
        let host = self.settings.base.host_str().unwrap_or_default();
        let reason = imglife_http::cause::no_answer(
            error,
            &format!("Gitea at {host}"),
            self.settings.http.request_timeout,
        );
        Attempt::from_transport(error, StoreError::Unavailable(reason))
    }

    /// The files of the key's package version; `None` when Gitea has no
    /// such version (404).
    async fn files(
        &self,
        key: &RecordKey,
        action: &str,
    ) -> Result<Option<Vec<PackageFile>>, StoreError> {
        let url = self.endpoints.files(key.name(), key.version());
        let answer = self
            .send(&Call::get(url).limit(FILES_LIMIT), action)
            .await?;
        match answer.status.as_u16() {
            200 => serde_json::from_slice(&answer.body).map(Some).map_err(|e| {
                StoreError::Failed(format!(
                    "{action}: the file list of {key} is not the JSON list Gitea sends: {e}"
                ))
            }),
            404 => Ok(None),
            _ => Err(self.fail(&answer, action)),
        }
    }

    /// Downloads one file, following redirects without the token; `None`
    /// when it is not there (any more).
    async fn download(
        &self,
        key: &RecordKey,
        file: &str,
        action: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut url = self.endpoints.generic_file(key.name(), key.version(), file);
        for _ in 0..=MAX_REDIRECTS {
            let answer = self
                .send(&Call::get(url.clone()).limit(RECORD_LIMIT), action)
                .await?;
            match answer.status.as_u16() {
                200 => return Ok(Some(answer.body)),
                301 | 302 | 303 | 307 | 308 => {
                    let location = answer.location.as_deref().unwrap_or_default();
                    url = url.join(location).map_err(|e| {
                        StoreError::Failed(format!(
                            "{action}: Gitea redirected to an invalid location '{}': {e}",
                            imglife_domain::text::escape(location)
                        ))
                    })?;
                }
                404 => return Ok(None),
                _ => return Err(self.fail(&answer, action)),
            }
        }
        Err(StoreError::Failed(format!(
            "{action}: more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// A missing version means "no such record" only if the owner's
    /// packages can be listed; otherwise the configuration is wrong and
    /// must be said so.
    async fn missing_or_no_owner(&self, action: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let answer = self
            .send(&Call::get(self.endpoints.probe()), action)
            .await?;
        if answer.status.is_success() {
            Ok(None)
        } else {
            Err(self.fail(&answer, action))
        }
    }

    /// The newest record of the key: the record file with the highest id.
    async fn read(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        let action = "reading the record";
        for _ in 0..READ_ATTEMPTS {
            let Some(files) = self.files(key, action).await? else {
                return self.missing_or_no_owner(action).await;
            };
            let Some(newest) = newest_record(&files) else {
                return Ok(None);
            };
            match self.download(key, &newest.name, action).await? {
                // A file named after its content cannot change, but
                // `record.json` (written by hand) can, and a redirect may
                // serve something else: the bytes must be the ones listed.
                Some(bytes)
                    if newest.sha256.is_empty()
                        || sha256_hex(&bytes).eq_ignore_ascii_case(&newest.sha256) =>
                {
                    return Ok(Some(bytes));
                }
                // Replaced between the listing and the download.
                _ => continue,
            }
        }
        Err(StoreError::Failed(format!(
            "{action} {key}: it changed {READ_ATTEMPTS} times while being read (a file listed by \
             Gitea was gone or different when downloaded); try again"
        )))
    }

    /// Uploads `document` as the file `file` of the key's version.
    async fn upload(
        &self,
        key: &RecordKey,
        file: &str,
        document: &[u8],
        action: &str,
    ) -> Result<Upload, StoreError> {
        let url = self.endpoints.generic_file(key.name(), key.version(), file);
        let answer = self
            .send(&Call::put(url, document.to_vec()), action)
            .await?;
        match answer.status.as_u16() {
            200 | 201 => Ok(Upload::Created),
            409 => Ok(Upload::Exists),
            _ => Err(self.fail(&answer, action)),
        }
    }

    /// Deletes one file of the key's version by name; `false` when it was
    /// not there. Gitea removes the version with its last file.
    async fn delete_file(
        &self,
        key: &RecordKey,
        file: &str,
        action: &str,
    ) -> Result<bool, StoreError> {
        let url = self.endpoints.generic_file(key.name(), key.version(), file);
        let answer = self.send(&Call::delete(url), action).await?;
        match answer.status.as_u16() {
            200 | 204 => Ok(true),
            404 => Ok(false),
            _ => Err(self.fail(&answer, action)),
        }
    }

    /// `409` on upload: the same document is stored already. Nothing to do
    /// when it is the newest record; else it is deleted and uploaded again
    /// so that it becomes the newest, and a `409` on that upload (another
    /// writer storing the very same document meanwhile) is retried once.
    ///
    /// Returns the version's files when they were listed after the last
    /// upload (the document was already the newest record), so that
    /// `settle` does not list them a second time.
    async fn store_again(
        &self,
        key: &RecordKey,
        file: &str,
        document: &[u8],
        action: &str,
    ) -> Result<Option<Vec<PackageFile>>, StoreError> {
        let files = self.files(key, action).await?.unwrap_or_default();
        let newest = newest_record(&files);
        if newest.is_some_and(|f| f.name.eq_ignore_ascii_case(file)) {
            tracing::debug!("{key}: the same record is already stored ({file})");
            return Ok(Some(files));
        }
        tracing::info!(
            "{key}: Gitea already holds this record as an older file ({file}, 409 Conflict): \
             deleting it and uploading it again"
        );
        for attempt in 0..2 {
            self.delete_file(key, file, action).await?;
            match self.upload(key, file, document, action).await? {
                Upload::Created => return Ok(None),
                Upload::Exists if attempt == 0 => {
                    tracing::info!(
                        "{key}: another writer stored the same record meanwhile (409 Conflict); \
                         retrying once"
                    );
                }
                // The same document, uploaded by another writer after this
                // one deleted the older copy: it is newer than every record
                // this write replaces.
                Upload::Exists => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Once `file` is uploaded: deletes the record files older than it,
    /// after checking that the version is the key's and not another
    /// spelling of it (Gitea compares names and versions
    /// case-insensitively: `V1` and `v1` are one version). `listed`: the
    /// version's files, when they were listed after the upload already.
    async fn settle(
        &self,
        key: &RecordKey,
        file: &str,
        listed: Option<Vec<PackageFile>>,
        action: &str,
    ) -> Result<(), StoreError> {
        let files = match listed {
            Some(files) => files,
            None => match self.files(key, action).await? {
                Some(files) => files,
                None => return Ok(()),
            },
        };
        // A newer writer may have replaced this record already.
        let Some(ours) = files.iter().find(|f| f.name.eq_ignore_ascii_case(file)) else {
            return Ok(());
        };
        let older: Vec<&PackageFile> = files
            .iter()
            .filter(|f| is_record_file(&f.name) && f.id < ours.id)
            .collect();
        if older.is_empty() {
            return Ok(());
        }
        let stored = self.version_of(key, action).await?;
        if let Some(stored) = stored
            && (stored.name != key.name() || stored.version != key.version())
        {
            // Undo: the record belongs to another key.
            self.delete_file(key, file, action).await?;
            return Err(StoreError::Failed(format!(
                "{action}: Gitea already keeps package {} version {}, which it does not tell apart \
                 from {key} (Gitea compares package names and versions case-insensitively); \
                 imglife cannot keep both records in Gitea",
                imglife_domain::text::escape(&stored.name),
                imglife_domain::text::escape(&stored.version)
            )));
        }
        let mut deleted = 0;
        for old in &older {
            if self.delete_file(key, &old.name, action).await? {
                deleted += 1;
            }
        }
        tracing::info!(
            deleted,
            "{key}: replaced the earlier record: uploaded {file}, then deleted the older file(s)"
        );
        Ok(())
    }

    /// The key's package version as Gitea describes it (stored spelling,
    /// linked repository); `None` when it is gone.
    async fn version_of(
        &self,
        key: &RecordKey,
        action: &str,
    ) -> Result<Option<Package>, StoreError> {
        let url = self.endpoints.version(key.name(), key.version());
        let answer = self.send(&Call::get(url), action).await?;
        match answer.status.as_u16() {
            200 => serde_json::from_slice(&answer.body).map(Some).map_err(|e| {
                StoreError::Failed(format!(
                    "{action}: Gitea's description of {key} is not the JSON it sends: {e}"
                ))
            }),
            404 => Ok(None),
            _ => Err(self.fail(&answer, action)),
        }
    }

    /// `registry.repo`: links the key's package to the repository with
    /// `POST /api/v1/packages/{owner}/{type}/{name}/-/link/{repo}` (Gitea's
    /// `LinkPackage`, newer Gitea only). The record is stored whatever
    /// happens here, so problems are warnings, not errors.
    async fn link(&self, key: &RecordKey, repo: &str) {
        let action = "linking the package to registry.repo";
        let name = key.name();
        // Gitea refuses to link a package twice (400 "invalid argument"),
        // so look first: only a package that is not linked yet is linked.
        match self.version_of(key, action).await {
            Ok(Some(package)) => match package.repository {
                Some(linked) if linked.name.eq_ignore_ascii_case(repo) => return,
                Some(linked) => {
                    tracing::warn!(
                        "package {name} is linked to repository {}, not to registry.repo ({repo}); \
                         imglife leaves the link as it is",
                        imglife_domain::text::escape(&linked.name)
                    );
                    return;
                }
                None => {}
            },
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("{e}");
                return;
            }
        }
        let answer = match self
            .send(&Call::post(self.endpoints.link(name, repo)), action)
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!("{e}");
                return;
            }
        };
        let text = self.context(action).server_text(&answer.body);
        match answer.status.as_u16() {
            200 | 201 | 204 => {
                tracing::info!("linked package {name} to repository {repo}");
            }
            // Linked meanwhile by another writer, or to a repository the
            // token may not see.
            400 => tracing::debug!("package {name} is already linked ({text})"),
            404 => {
                let message = serde_json::from_slice::<ApiMessage>(&answer.body)
                    .map(|m| m.message.to_ascii_lowercase())
                    .unwrap_or_default();
                if message.contains("repository") {
                    tracing::warn!(
                        "registry.repo: Gitea has no repository {repo} owned by {} ({text}); the \
                         package is not linked",
                        self.settings.owner
                    );
                } else {
                    tracing::warn!(
                        "registry.repo: this Gitea cannot link packages to repositories through \
                         its API (POST .../-/link/{{repo}} answered 404); registry.repo is \
                         informational here"
                    );
                }
            }
            _ => tracing::warn!(
                "{}; the record itself is published",
                self.fail(&answer, action)
            ),
        }
    }

    /// Every generic package version of the owner (see `pages` for what is
    /// not trusted): page 1, then the pages its `X-Total-Count` announces a
    /// bounded number at a time, then on, one by one, to an empty page.
    async fn all_packages(&self, action: &str) -> Result<Vec<Package>, StoreError> {
        let mut listing = Listing::new(action, self.settings.max_records);
        let (first, total) = self.page(1, action).await?;
        let mut more = listing.add(1, first)?;
        let mut next = 2;
        if more && let Some(total) = total {
            let last = listing.announced_pages(total)?;
            if last >= next {
                let mut pages = futures_util::stream::iter(next..=last)
                    .map(|page| async move { (page, self.page(page, action).await) })
                    .buffered(self.settings.http.concurrency.min(MAX_PAGES_IN_FLIGHT));
                while let Some((page, items)) = pages.next().await {
                    more = listing.add(page, items?.0)?;
                }
                next = last + 1;
            }
        }
        while more {
            listing.may_request(next)?;
            let (items, _) = self.page(next, action).await?;
            more = listing.add(next, items)?;
            next += 1;
        }
        Ok(listing.into_items())
    }

    /// One page of the owner's generic packages, parsed, with its
    /// announced total.
    async fn page(
        &self,
        page: usize,
        action: &str,
    ) -> Result<(Vec<Package>, Option<u64>), StoreError> {
        let url = self.endpoints.packages(page);
        let answer = self.send(&Call::get(url).limit(PAGE_LIMIT), action).await?;
        if !answer.status.is_success() {
            return Err(self.fail(&answer, action));
        }
        let items = serde_json::from_slice(&answer.body).map_err(|e| {
            StoreError::Failed(format!(
                "{action}: page {page} of Gitea's package list is not the JSON list Gitea sends: {e}"
            ))
        })?;
        Ok((items, answer.total_count))
    }

    /// The package's page in Gitea's web interface, for people.
    fn web_url(&self, key: &RecordKey) -> Url {
        let mut url = self.settings.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend([
                self.settings.owner.as_str(),
                "-",
                "packages",
                "generic",
                key.name(),
                key.version(),
            ]);
        }
        url
    }
}

/// The record file with the highest id: the newest upload.
fn newest_record(files: &[PackageFile]) -> Option<&PackageFile> {
    files
        .iter()
        .filter(|f| is_record_file(&f.name))
        .max_by_key(|f| f.id)
}

#[async_trait]
impl RecordReader for GiteaStore {
    fn location(&self, key: &RecordKey) -> String {
        format!("Gitea {}", self.web_url(key))
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(key).await
    }

    fn parallelism(&self) -> usize {
        self.settings.http.concurrency
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        let packages = self.all_packages("listing records").await?;
        let mut keys = BTreeSet::new();
        for package in packages {
            match RecordKey::from_parts(&package.name, &package.version) {
                Ok(key) => {
                    keys.insert(key);
                }
                // Other generic packages may belong to the same owner.
                Err(e) => tracing::debug!("skipping package version {}: {e}", package.id),
            }
        }
        Ok(keys.into_iter().collect())
    }
}

#[async_trait]
impl RecordStore for GiteaStore {
    /// Uploads the document beside the record it replaces, then deletes
    /// the older one (see the module's documentation).
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        let action = "publishing the record";
        let file = record_file_name(document);
        // A new record costs the upload and one listing (which `settle`
        // needs to find an older record, or another spelling of the
        // version); a record stored already, the 409 and one listing.
        let listed = match self.upload(key, &file, document, action).await? {
            Upload::Created => None,
            Upload::Exists => self.store_again(key, &file, document, action).await?,
        };
        self.settle(key, &file, listed, action).await?;
        if let Some(repo) = &self.settings.repo {
            self.link(key, repo).await;
        }
        Ok(())
    }

    /// Deletes exactly the file that holds `expected`. What is compared is
    /// what Gitea lists without a download: the newest record file of the
    /// version must be named after `expected`'s SHA-256 and, where Gitea
    /// lists one (it always does), have that `sha256`. The deletion is by
    /// that name, so a record registered again meanwhile, a file of another
    /// name (its own content's hash), is never the one deleted. Older
    /// record files (left by an interrupted replacement) go first, so none
    /// of them resurfaces as the record.
    async fn delete_if_unchanged(
        &self,
        key: &RecordKey,
        expected: &[u8],
    ) -> Result<bool, StoreError> {
        let action = "deleting the record";
        let Some(files) = self.files(key, action).await? else {
            return Ok(false);
        };
        let Some(current) = newest_record(&files) else {
            return Ok(false);
        };
        let want = sha256_hex(expected);
        let listed_matches =
            current.sha256.is_empty() || current.sha256.eq_ignore_ascii_case(&want);
        let named_after = current
            .name
            .eq_ignore_ascii_case(&record_file_name(expected));
        // `record.json` (written by hand) is not named after its content:
        // it is the record only if Gitea lists its hash.
        let plain = current.name.eq_ignore_ascii_case(PLAIN_FILE_NAME)
            && current.sha256.eq_ignore_ascii_case(&want);
        if !(named_after && listed_matches || plain) {
            return Ok(false);
        }
        for old in files
            .iter()
            .filter(|f| is_record_file(&f.name) && f.id < current.id)
        {
            self.delete_file(key, &old.name, action).await?;
        }
        self.delete_file(key, &current.name, action).await
    }

    /// Deletes the key's whole version (`DELETE
    /// /api/packages/{owner}/generic/{name}/{version}`): it holds nothing
    /// but the record.
    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        let action = "deleting the record";
        let url = self.endpoints.generic_version(key.name(), key.version());
        let answer = self.send(&Call::delete(url), action).await?;
        match answer.status.as_u16() {
            200 | 204 | 404 => Ok(()),
            _ => Err(self.fail(&answer, action)),
        }
    }
}
