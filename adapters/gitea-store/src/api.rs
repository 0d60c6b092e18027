//! The endpoints used, the shapes of Gitea's answers, and the limits on
//! what is read. Every request goes through `GiteaStore::send`, which
//! retries transient faults.

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use url::Url;

/// A package version as `GET /api/v1/packages/{owner}` lists it
/// (`modules/structs/package.go`; only the fields used). Its `id` is the
/// version's id.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Package {
    pub id: u64,
    pub name: String,
    pub version: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The linked repository, when there is one and the caller may see it.
    #[serde(default)]
    pub repository: Option<Repository>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Repository {
    pub name: String,
}

/// A file of a package version
/// (`GET /api/v1/packages/{owner}/{type}/{name}/{version}/files`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PackageFile {
    pub id: u64,
    pub name: String,
    /// Hex SHA-256 of the file's blob, as Gitea computed it on upload.
    #[serde(default)]
    pub sha256: String,
}

/// Gitea's error body on `/api/v1` (`services/context/api.go` `APIError`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiMessage {
    #[serde(default)]
    pub message: String,
}

/// Items asked for per listing page: Gitea's `[api] MAX_RESPONSE_ITEMS`
/// default, the cap `ToCorrectPageSize` applies to `limit`.
pub(crate) const PER_PAGE: usize = 50;

/// The longest package name or version a listing keeps (Gitea stores them
/// in `VARCHAR(255)` columns; a key is never longer).
pub(crate) const MAX_TEXT: usize = 255;

/// The most of an answer read: a record (records are a few hundred
/// bytes; 1 MiB leaves room for many custom fields).
pub(crate) const RECORD_LIMIT: usize = 1024 * 1024;
/// A listing page of 50 package versions: each carries its owner, creator
/// and linked repository as whole JSON objects (a few KiB at most).
pub(crate) const PAGE_LIMIT: usize = 4 * 1024 * 1024;
/// The file list of one package version: a record's version holds one
/// file, two while it is being replaced; Gitea does not paginate it.
pub(crate) const FILES_LIMIT: usize = 1024 * 1024;
/// Any other answer: confirmations, errors, a package's description.
pub(crate) const ANSWER_LIMIT: usize = 64 * 1024;

/// The prefix and suffix of a record's file name:
/// `record-<sha256 of the document>.json`.
const FILE_PREFIX: &str = "record-";
const FILE_SUFFIX: &str = ".json";
/// The GitLab store's file name, also read as a record here, so that a
/// version filled by hand (`curl --upload-file record.json`) is readable.
pub(crate) const PLAIN_FILE_NAME: &str = imglife_domain::key::RECORD_FILE_NAME;

/// The file name a document is stored under.
pub(crate) fn record_file_name(document: &[u8]) -> String {
    format!("{FILE_PREFIX}{}{FILE_SUFFIX}", sha256_hex(document))
}

/// Whether a file of a version holds a record: `record-<64 hex>.json` or
/// `record.json`. Gitea compares file names case-insensitively.
pub(crate) fn is_record_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == PLAIN_FILE_NAME {
        return true;
    }
    lower
        .strip_prefix(FILE_PREFIX)
        .and_then(|rest| rest.strip_suffix(FILE_SUFFIX))
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Lower-case hex SHA-256, as Gitea lists `sha256`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

/// Builds the URLs of the two API families: the package registry
/// (`/api/packages/{owner}/generic/...`, plain-text errors) and the
/// package management API (`/api/v1/packages/{owner}/...`, JSON).
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    base: Url,
    owner: String,
}

impl Endpoints {
    pub fn new(base: &Url, owner: &str) -> Self {
        Self {
            base: base.clone(),
            owner: owner.to_owned(),
        }
    }

    fn with(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `/api/packages/{owner}/generic/{name}/{version}/{file}`: upload,
    /// download, delete one file.
    pub fn generic_file(&self, name: &str, version: &str, file: &str) -> Url {
        self.with(&[
            "api",
            "packages",
            &self.owner,
            "generic",
            name,
            version,
            file,
        ])
    }

    /// `/api/packages/{owner}/generic/{name}/{version}`: delete the version.
    pub fn generic_version(&self, name: &str, version: &str) -> Url {
        self.with(&["api", "packages", &self.owner, "generic", name, version])
    }

    /// `/api/v1/packages/{owner}?type=generic&limit=50&page=N`.
    pub fn packages(&self, page: usize) -> Url {
        let mut url = self.with(&["api", "v1", "packages", &self.owner]);
        url.query_pairs_mut()
            .append_pair("type", "generic")
            .append_pair("limit", &PER_PAGE.to_string())
            .append_pair("page", &page.to_string());
        url
    }

    /// The cheapest request that tells whether the owner exists and its
    /// packages are visible to the token.
    pub fn probe(&self) -> Url {
        let mut url = self.with(&["api", "v1", "packages", &self.owner]);
        url.query_pairs_mut()
            .append_pair("type", "generic")
            .append_pair("limit", "1");
        url
    }

    /// `/api/v1/packages/{owner}/generic/{name}/{version}`.
    pub fn version(&self, name: &str, version: &str) -> Url {
        self.with(&[
            "api",
            "v1",
            "packages",
            &self.owner,
            "generic",
            name,
            version,
        ])
    }

    /// `/api/v1/packages/{owner}/generic/{name}/{version}/files`.
    pub fn files(&self, name: &str, version: &str) -> Url {
        self.with(&[
            "api",
            "v1",
            "packages",
            &self.owner,
            "generic",
            name,
            version,
            "files",
        ])
    }

    /// `/api/v1/packages/{owner}/generic/{name}/-/link/{repo}`.
    pub fn link(&self, name: &str, repo: &str) -> Url {
        self.with(&[
            "api",
            "v1",
            "packages",
            &self.owner,
            "generic",
            name,
            "-",
            "link",
            repo,
        ])
    }
}

/// One request to make: method, URL, optional body, and how much of the
/// answer is read at most.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub body: Option<Vec<u8>>,
    pub limit: usize,
}

impl Call {
    pub fn get(url: Url) -> Self {
        Self {
            method: Method::GET,
            url,
            body: None,
            limit: ANSWER_LIMIT,
        }
    }

    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    pub fn put(url: Url, body: Vec<u8>) -> Self {
        Self {
            method: Method::PUT,
            url,
            body: Some(body),
            limit: ANSWER_LIMIT,
        }
    }

    pub fn post(url: Url) -> Self {
        Self {
            method: Method::POST,
            url,
            body: None,
            limit: ANSWER_LIMIT,
        }
    }

    pub fn delete(url: Url) -> Self {
        Self {
            method: Method::DELETE,
            url,
            body: None,
            limit: ANSWER_LIMIT,
        }
    }
}

/// A finished answer, body read.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    /// `X-Total-Count`, when present and a number.
    pub total_count: Option<u64>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_files_are_named_after_their_content() {
        let name = record_file_name(b"{}\n");
        assert_eq!(name.len(), "record-".len() + 64 + ".json".len());
        assert!(is_record_file(&name));
        assert!(is_record_file(&name.to_ascii_uppercase()));
        assert!(is_record_file("record.json"));
        for other in [
            "record-.json",
            "record-abc.json",
            "eol.yaml",
            "record.json.bak",
            &format!("record-{}.json", "g".repeat(64)),
        ] {
            assert!(!is_record_file(other), "{other}");
        }
    }

    #[test]
    fn urls_keep_the_instance_path_and_encode_segments() {
        let base = Url::parse("https://example.com/gitea").expect("url");
        let e = Endpoints::new(&base, "platform");
        assert_eq!(
            e.generic_file("r.io+a", "1.+.2", "record.json").as_str(),
            "https://example.com/gitea/api/packages/platform/generic/r.io+a/1.+.2/record.json"
        );
        assert_eq!(
            e.packages(3).as_str(),
            "https://example.com/gitea/api/v1/packages/platform?type=generic&limit=50&page=3"
        );
        let root = Url::parse("https://example.com/").expect("url");
        assert_eq!(
            Endpoints::new(&root, "o").link("n", "repo").as_str(),
            "https://example.com/api/v1/packages/o/generic/n/-/link/repo"
        );
    }
}
