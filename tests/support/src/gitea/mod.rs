//! An in-process emulator of Gitea's generic package registry and the
//! package API around it, written from Gitea's own source (newest versions
//! in the stored `go-gitea/gitea` mirror, 2025; Forgejo behaves the same
//! for everything here):
//!
//! - `routers/api/packages/api.go`: the routes under `/api/packages`,
//!   `verifyAuth` (an unknown token is `401 Failed to authenticate user`)
//!   and `reqPackageAccess` (too little access, or a token without
//!   `read:package`/`write:package`, is `401 user should have specific
//!   permission or be a site admin` with `WWW-Authenticate: Basic
//!   realm="Gitea Package API"`);
//! - `routers/api/packages/generic/generic.go`: upload (`201`, `409 package
//!   file already exists`, `400 invalid package name|invalid filename|invalid
//!   package version`, `403` on quota), download (or a `303` to object
//!   storage when files are served directly), deletion of a file (the
//!   version goes with its last file) or of a version; errors in plain text;
//! - `routers/api/v1/api.go` and `routers/api/v1/packages/package.go`: the
//!   list (`type`, `q`, `page` from 1, `limit` defaulting to 30 and capped at
//!   `MAX_RESPONSE_ITEMS`, 50; newest first; `X-Total-Count` and `Link`), a
//!   version, its files, its deletion, and linking a package to a
//!   repository; errors in JSON (`{"message":...,"url":...}`), `403` for too
//!   little access or a token scope, `401` for an unknown token (whose text
//!   echoes the token, as Gitea's does) or a missing one where required;
//! - `services/context/package.go`: who may do what (`determineAccessMode`);
//! - `models/packages`: names and versions are compared case-insensitively
//!   (`lower_name`, `lower_version`), file names too.
//!
//! It serves two origins on 127.0.0.1: the instance (`{url}/api/...`) and
//! an "object storage" origin that downloads are redirected to when
//! [`Emulator::set_download_redirect`] is on. Both run on the emulator's
//! own thread and tokio runtime, so plain synchronous tests can use it;
//! dropping the [`Emulator`] stops both.
//!
//! Simplifications (documented gaps): no passwords (Basic auth takes a
//! token as password or user name), no site administrators, no
//! `REQUIRE_SIGNIN_VIEW`, no public-only tokens, no package cleanup rules;
//! a repository's packages may be written by whoever may write the owner's
//! packages; files list `md5` and `sha1` empty (Gitea fills them; imglife
//! reads `sha256` only).

mod auth;
mod faults;
mod http;
mod objects;
mod routes_api;
mod routes_generic;
mod server;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use crate::gitlab::{Gate, RecordedRequest};
use state::State;

/// A user's or organisation's visibility (`structs.VisibleType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Public,
    /// Visible to every signed-in user.
    Limited,
    Private,
}

/// What an organisation member may do with its packages: the highest
/// access of the member's teams to the Packages unit (an owner of the
/// organisation has `Owner`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
    Owner,
}

/// The package scope of an access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `read:package`.
    ReadPackage,
    /// `write:package` (implies `read:package`).
    WritePackage,
    /// A token without a package scope (e.g. only `read:repository`).
    NoPackage,
}

/// One injected failure, applied before normal handling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with a plain-text `<code> <reason>` body, and a
    /// `Retry-After` header when `retry_after` is `Some` (as a reverse
    /// proxy in front of Gitea would).
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    /// Close the connection without any response.
    Drop,
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Hold the request at the gate until the test releases it, then handle
    /// it normally: a test can interleave another client's requests at an
    /// exact point, with no timing involved.
    Hold(Gate),
}

/// A stored package file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFile {
    pub id: u64,
    pub name: String,
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// The name imglife's Gitea store gives the file of a record:
/// `record-<sha256 of the document>.json` (see `docs/storage.md`), for
/// tests that plant records as imglife would have stored them.
pub fn record_file_name(document: &[u8]) -> String {
    use sha2::Digest as _;
    format!(
        "record-{}.json",
        state::hex(&sha2::Sha256::digest(document))
    )
}

/// The running emulator. Stops on drop.
pub struct Emulator {
    state: Arc<Mutex<State>>,
    url: String,
    handle: Option<server::Handle>,
}

impl Emulator {
    /// Starts on 127.0.0.1 with an ephemeral port (and another for the
    /// object-storage origin). Blocks until both listeners are bound.
    pub fn start() -> Emulator {
        Self::start_on_port(0)
    }

    /// Like [`Emulator::start`] but binds the instance to `port` (0 =
    /// ephemeral). Panics when the port cannot be bound.
    pub fn start_on_port(port: u16) -> Emulator {
        let state = Arc::new(Mutex::new(State::default()));
        let handle = server::spawn(Arc::clone(&state), port);
        let url = format!("http://{}", handle.api_addr);
        {
            let mut s = lock(&state);
            s.url = url.clone();
            s.object_storage_url = format!("http://{}", handle.object_addr);
        }
        Emulator {
            state,
            url,
            handle: Some(handle),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash (Gitea's `ROOT_URL`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The object-storage origin, `http://127.0.0.1:PORT`.
    pub fn object_storage_url(&self) -> String {
        self.state().object_storage_url.clone()
    }

    /// Adds a user (names are unique case-insensitively). Panics if the
    /// name is taken.
    pub fn add_user(&self, name: &str, visibility: Visibility) {
        self.state().add_owner(name, false, visibility);
    }

    /// Adds an organisation. Panics if the name is taken.
    pub fn add_org(&self, name: &str, visibility: Visibility) {
        self.state().add_owner(name, true, visibility);
    }

    /// Makes `user` a member of `org` whose teams give `access` to
    /// Packages. Panics when either is unknown.
    pub fn add_member(&self, org: &str, user: &str, access: Access) {
        let mut s = self.state();
        let org = s
            .owner_id(org)
            .unwrap_or_else(|| panic!("no organisation {org}"));
        let user = s.owner_id(user).unwrap_or_else(|| panic!("no user {user}"));
        s.members.insert((org, user), access);
    }

    /// An access token of `user`, accepted as `Authorization: token <t>`,
    /// `Authorization: bearer <t>`, Basic auth (as password, or as user
    /// name with an empty password) and `?token=`/`?access_token=`.
    pub fn add_token(&self, token: &str, user: &str, scope: Scope) {
        let mut s = self.state();
        let user = s.owner_id(user).unwrap_or_else(|| panic!("no user {user}"));
        s.tokens.insert(token.to_owned(), (user, scope));
    }

    /// A repository of `owner`, to link packages to.
    pub fn add_repository(&self, owner: &str, name: &str) {
        let mut s = self.state();
        let owner = s
            .owner_id(owner)
            .unwrap_or_else(|| panic!("no owner {owner}"));
        s.add_repository(owner, name);
    }

    /// Whether `POST /api/v1/packages/{owner}/{type}/{name}/-/link/{repo}`
    /// exists (default true; Gitea before 2025 answers 404).
    pub fn set_link_api(&self, enabled: bool) {
        self.state().link_api = enabled;
    }

    /// `[packages] LIMIT_SIZE_GENERIC` in bytes (default: none); a larger
    /// upload is `403 maximum allowed package type size exceeded`.
    pub fn set_generic_size_limit(&self, bytes: Option<u64>) {
        self.state().size_limit = bytes;
    }

    /// `[api] MAX_RESPONSE_ITEMS` (default 50): the largest page.
    pub fn set_max_response_items(&self, items: usize) {
        self.state().max_response_items = items.max(1);
    }

    /// When on, downloads answer `303 See Other` to a signed URL on the
    /// object-storage origin, which serves the bytes (`SERVE_DIRECT`).
    pub fn set_download_redirect(&self, enabled: bool) {
        self.state().download_redirect = enabled;
    }

    /// Queues faults for requests whose method equals `method`
    /// (case-insensitive; `"*"` or `""` = any) and whose raw path contains
    /// `path_contains`. Each matching request consumes the next fault, in
    /// order; queues are tried in the order they were pushed. Applies to the
    /// instance only. Faulted requests are still recorded.
    pub fn push_faults(&self, method: &str, path_contains: &str, faults: Vec<Fault>) {
        self.state().faults.push(method, path_contains, faults);
    }

    /// Like [`Emulator::push_faults`], for the object-storage origin.
    pub fn push_object_storage_faults(
        &self,
        method: &str,
        path_contains: &str,
        faults: Vec<Fault>,
    ) {
        self.state()
            .object_faults
            .push(method, path_contains, faults);
    }

    /// Every request the instance received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Every request the object-storage origin received, in order.
    pub fn object_storage_requests(&self) -> Vec<RecordedRequest> {
        self.state().object_requests.clone()
    }

    /// Forgets the recorded requests of both origins.
    pub fn reset_requests(&self) {
        let mut s = self.state();
        s.requests.clear();
        s.object_requests.clear();
    }

    /// Stores a file as an upload by the owner would, without the checks
    /// of the upload route. Panics for an unknown owner or a file name the
    /// version already holds.
    pub fn seed_file(&self, owner: &str, name: &str, version: &str, file: &str, bytes: &[u8]) {
        let mut s = self.state();
        let owner_id = s
            .owner_id(owner)
            .unwrap_or_else(|| panic!("no owner {owner}"));
        if let Err(e) = s.add_file(owner_id, owner_id, name, version, file, bytes.to_vec()) {
            panic!("seed_file {owner}/{name}/{version}/{file}: {e}");
        }
    }

    /// The files of a version (names compared case-insensitively), by id.
    pub fn files(&self, owner: &str, name: &str, version: &str) -> Vec<PackageFile> {
        let s = self.state();
        let Some(owner) = s.owner_id(owner) else {
            return Vec::new();
        };
        let Some(version) = s.find_version(owner, name, version) else {
            return Vec::new();
        };
        s.files_of(version)
            .into_iter()
            .map(|f| PackageFile {
                id: f.id,
                name: f.name.clone(),
                bytes: f.bytes.clone(),
                sha256: f.sha256.clone(),
            })
            .collect()
    }

    /// Every `(name, version)` of the owner's generic packages, as stored.
    pub fn versions(&self, owner: &str) -> Vec<(String, String)> {
        let s = self.state();
        let Some(owner) = s.owner_id(owner) else {
            return Vec::new();
        };
        s.versions_of(owner)
            .into_iter()
            .map(|(p, v)| (p.name.clone(), v.version.clone()))
            .collect()
    }

    /// The repository a package is linked to.
    pub fn linked_repository(&self, owner: &str, name: &str) -> Option<String> {
        let s = self.state();
        let owner = s.owner_id(owner)?;
        let package = s.find_package(owner, name)?;
        let repo = s.packages.get(&package)?.repo?;
        s.repos.get(&repo).map(|r| r.name.clone())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop();
        }
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("gitea::Emulator")
            .field("url", &self.url)
            .finish()
    }
}

/// Locks the state; a panic in another holder does not make it unusable.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}
