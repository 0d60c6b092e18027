//! The endpoints used, one function each. Every request goes through
//! `Client::send`, which retries transient faults.

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use url::Url;

/// A package as the packages API lists it (only the fields used).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Package {
    pub id: u64,
    pub name: String,
    pub version: String,
}

/// A file of a package.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PackageFile {
    pub id: u64,
    pub file_name: String,
    /// Hex SHA-256 of the file, as GitLab lists it.
    #[serde(default)]
    pub file_sha256: Option<String>,
}

/// An item of a paginated list, known by its id: a page whose items were
/// all read before is a page that repeats.
pub(crate) trait Listed {
    fn id(&self) -> u64;

    /// Whether its texts are within GitLab's own limits; a listing keeps
    /// only items that are, so that what it holds stays bounded by the
    /// number of items.
    fn fits(&self) -> bool;
}

/// GitLab's longest package name, version and file name.
pub(crate) const MAX_NAME: usize = 255;

impl Listed for Package {
    fn id(&self) -> u64 {
        self.id
    }

    fn fits(&self) -> bool {
        self.name.len() <= MAX_NAME && self.version.len() <= MAX_NAME
    }
}

impl Listed for PackageFile {
    fn id(&self) -> u64 {
        self.id
    }

    fn fits(&self) -> bool {
        self.file_name.len() <= MAX_NAME
    }
}

/// Items asked for per page (GitLab's maximum).
pub(crate) const PER_PAGE: u64 = 100;

/// Builds URLs below `/api/v4/projects/:id`; the project path is one
/// segment, so its `/` is sent as `%2F` as GitLab requires.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    project_base: Url,
}

impl Endpoints {
    pub fn new(api: &Url, project: &str) -> Self {
        let mut project_base = api.clone();
        if let Ok(mut segments) = project_base.path_segments_mut() {
            segments.push("projects").push(project);
        }
        Self { project_base }
    }

    fn with(&self, segments: &[&str]) -> Url {
        let mut url = self.project_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        url
    }

    pub fn generic_file(&self, name: &str, version: &str, file: &str) -> Url {
        self.with(&["packages", "generic", name, version, file])
    }

    /// Generic packages, 100 a page (GitLab's maximum).
    pub fn packages(&self, page: &str, exact: Option<(&str, &str)>) -> Url {
        let mut url = self.with(&["packages"]);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("package_type", "generic")
                .append_pair("per_page", &PER_PAGE.to_string())
                .append_pair("page", page)
                .append_pair("order_by", "created_at")
                .append_pair("sort", "asc");
            if let Some((name, version)) = exact {
                query
                    .append_pair("package_name", name)
                    .append_pair("package_version", version);
            }
        }
        url
    }

    /// The cheapest request that tells whether the project exists and is
    /// visible to the token.
    pub fn probe(&self) -> Url {
        let mut url = self.with(&["packages"]);
        url.query_pairs_mut()
            .append_pair("package_type", "generic")
            .append_pair("per_page", "1");
        url
    }

    pub fn package_files(&self, package_id: u64, page: &str) -> Url {
        let mut url = self.with(&["packages", &package_id.to_string(), "package_files"]);
        url.query_pairs_mut()
            .append_pair("per_page", &PER_PAGE.to_string())
            .append_pair("page", page);
        url
    }

    pub fn package(&self, package_id: u64) -> Url {
        self.with(&["packages", &package_id.to_string()])
    }

    pub fn package_file(&self, package_id: u64, file_id: u64) -> Url {
        self.with(&[
            "packages",
            &package_id.to_string(),
            "package_files",
            &file_id.to_string(),
        ])
    }
}

/// The most of an answer read: a record (records are a few hundred
/// bytes; 1 MiB leaves room for many custom fields).
pub(crate) const RECORD_LIMIT: usize = 1024 * 1024;
/// A listing page of 100 packages (about 1 KiB each in GitLab's JSON).
pub(crate) const PAGE_LIMIT: usize = 4 * 1024 * 1024;
/// Any other answer: upload and delete confirmations, probes, errors.
pub(crate) const ANSWER_LIMIT: usize = 64 * 1024;

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
    pub next_page: Option<String>,
    /// `X-Total-Pages`: sent only while the total is at most 10,000.
    pub total_pages: Option<u64>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Lower-case hex SHA-256, as GitLab lists `file_sha256`.
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
