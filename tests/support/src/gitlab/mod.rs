//! An in-process emulator of GitLab's generic package registry and the
//! package API around it, following `shared/reference/gitlab-generic-packages.md`
//! (newest behaviour, GitLab 18.x).
//!
//! It serves two origins on 127.0.0.1: the GitLab API (`{url}/api/v4`) and an
//! "object storage" origin that the API redirects downloads to when
//! [`Emulator::set_download_redirect`] is on. Each runs on the emulator's own
//! thread and tokio runtime, so plain synchronous tests can use it; dropping
//! the [`Emulator`] stops both.
//!
//! Endpoints:
//! - `PUT|GET /api/v4/projects/:id/packages/generic/:name/:version/(*path/):file`
//! - `GET /api/v4/projects/:id/packages` (filters, ordering, offset pagination)
//! - `GET|DELETE /api/v4/projects/:id/packages/:package_id`
//! - `GET /api/v4/projects/:id/packages/:package_id/package_files`
//! - `DELETE /api/v4/projects/:id/packages/:package_id/package_files/:file_id`
//!
//! Simplifications (documented gaps): job tokens act with their user's role
//! (no job-token allowlists or policies); tokens never expire; package
//! protection rules, `If-Unmodified-Since` and moved projects are not modelled.

mod auth;
mod faults;
mod http;
mod objects;
mod routes_generic;
mod routes_packages;
mod server;
mod state;
mod validate;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use state::State;

/// Project visibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Private,
}

/// A member's role in a project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Guest,
    Reporter,
    Developer,
    Maintainer,
}

/// The scope of a personal access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Api,
    ReadApi,
}

/// One injected failure, applied before normal handling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with `{"message":"<code> <reason>"}`, and a
    /// `Retry-After` header when `retry_after` is `Some`. A 429 is answered the
    /// way GitLab's Rack::Attack throttle does: `text/plain` `Retry later\n`
    /// plus `RateLimit-*` headers.
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

/// Where a held request waits. The test waits for a request to arrive,
/// does what must happen in between, then releases it.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    inner: Arc<GateInner>,
}

#[derive(Debug, Default)]
struct GateInner {
    arrived: Mutex<bool>,
    arrival: std::sync::Condvar,
    released: tokio::sync::Notify,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    /// Blocks until a request reached the gate; false if none did within
    /// `timeout` (a bound for a broken test, not a synchronisation).
    pub fn wait_for_arrival(&self, timeout: Duration) -> bool {
        let arrived = self.inner.arrived.lock().unwrap_or_else(|e| e.into_inner());
        let (arrived, _) = self
            .inner
            .arrival
            .wait_timeout_while(arrived, timeout, |arrived| !*arrived)
            .unwrap_or_else(|e| e.into_inner());
        *arrived
    }

    /// Lets the held request go on.
    pub fn release(&self) {
        // A permit is stored if the request has not started waiting yet.
        self.inner.released.notify_one();
    }

    pub(crate) async fn pass(&self) {
        {
            let mut arrived = self.inner.arrived.lock().unwrap_or_else(|e| e.into_inner());
            *arrived = true;
            self.inner.arrival.notify_all();
        }
        self.inner.released.notified().await;
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Gate {}

/// A request as the emulator received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A stored package file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFile {
    pub id: u64,
    pub package_id: u64,
    pub file_name: String,
    pub bytes: Vec<u8>,
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

    /// Like [`Emulator::start`] but binds the API origin to `port` (0 =
    /// ephemeral). Panics when the port cannot be bound.
    pub fn start_on_port(port: u16) -> Emulator {
        let state = Arc::new(Mutex::new(State::default()));
        let handle = server::spawn(Arc::clone(&state), port);
        let url = format!("http://{}", handle.api_addr);
        {
            let mut s = lock(&state);
            s.api_url = url.clone();
            s.object_storage_url = format!("http://{}", handle.object_addr);
        }
        Emulator {
            state,
            url,
            handle: Some(handle),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash; the API is at `{url}/api/v4`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The object-storage origin, `http://127.0.0.1:PORT`.
    pub fn object_storage_url(&self) -> String {
        self.state().object_storage_url.clone()
    }

    /// Adds (or replaces) a project. `full_path` is like `group/project`; its
    /// first segment is the top-level namespace that carries the duplicate
    /// settings.
    pub fn add_project(&self, id: u64, full_path: &str, visibility: Visibility) {
        self.state().add_project(id, full_path, visibility);
    }

    /// `generic_duplicates_allowed` of a top-level namespace (default true).
    pub fn set_duplicates_allowed(&self, namespace: &str, allowed: bool) {
        self.state().namespace_mut(namespace).duplicates_allowed = allowed;
    }

    /// `generic_duplicate_exception_regex` of a top-level namespace. Matched
    /// like GitLab does, anchored (`\A(?:pattern)\z`) against the package name
    /// or the version, and it inverts the duplicates setting (newest GitLab).
    /// GitLab evaluates it with RE2; here the `regex` crate, whose syntax is
    /// RE2's. Panics on a pattern that does not compile (GitLab rejects those
    /// when the setting is saved).
    pub fn set_duplicate_exception_regex(&self, namespace: &str, pattern: &str) {
        let compiled = if pattern.is_empty() {
            None
        } else {
            Some(
                regex::Regex::new(&format!(r"\A(?:{pattern})\z"))
                    .unwrap_or_else(|e| panic!("invalid duplicate exception regex: {e}")),
            )
        };
        self.state().namespace_mut(namespace).exception_regex = compiled;
    }

    /// `generic_packages_max_file_size` in bytes (default 5 GiB; 0 = unlimited).
    pub fn set_max_file_size(&self, bytes: u64) {
        self.state().max_file_size = bytes;
    }

    pub fn add_user(&self, user: &str) {
        self.state().users.insert(user.to_owned());
    }

    /// Adds the user if needed, then makes it a member with `role`.
    pub fn add_member(&self, project_id: u64, user: &str, role: Role) {
        let mut s = self.state();
        s.users.insert(user.to_owned());
        s.members.insert((project_id, user.to_owned()), role);
    }

    /// A personal access token of `user`, accepted as `PRIVATE-TOKEN`,
    /// `?private_token=`, `Authorization: Bearer` and (generic endpoints only)
    /// as the password of Basic auth.
    pub fn add_personal_token(&self, token: &str, user: &str, scope: Scope) {
        let mut s = self.state();
        s.users.insert(user.to_owned());
        s.personal_tokens
            .insert(token.to_owned(), (user.to_owned(), scope));
    }

    /// A CI job token acting as `user`: `JOB-TOKEN` header or `?job_token=`
    /// everywhere, and Basic `gitlab-ci-token:<token>` on the generic GET only
    /// (the PUT route allows only `:request` job tokens in GitLab's source).
    pub fn add_job_token(&self, token: &str, user: &str) {
        let mut s = self.state();
        s.users.insert(user.to_owned());
        s.job_tokens.insert(token.to_owned(), user.to_owned());
    }

    /// A project deploy token with `read_package_registry` and/or
    /// `write_package_registry`: `Deploy-Token` header, Basic (any user name,
    /// the token as password) or `Bearer`, on the generic endpoints only.
    pub fn add_deploy_token(&self, token: &str, project_id: u64, read: bool, write: bool) {
        self.state().deploy_tokens.insert(
            token.to_owned(),
            state::DeployToken {
                project_id,
                read,
                write,
            },
        );
    }

    /// Queues faults for requests whose method equals `method`
    /// (case-insensitive; `"*"` or `""` = any) and whose raw path contains
    /// `path_contains`. Each matching request consumes the next fault, in
    /// order; queues are tried in the order they were pushed. Applies to the
    /// API origin only. Faulted requests are still recorded.
    pub fn push_faults(&self, method: &str, path_contains: &str, faults: Vec<Fault>) {
        self.state().faults.push(method, path_contains, faults);
    }

    /// Like [`Emulator::push_faults`], for the object-storage origin (whose
    /// paths look like `/gitlab-packages/:project/:package/:file/:name`).
    /// API faults never apply there.
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

    /// When on, the generic GET answers 302 to a signed URL on the
    /// object-storage origin, which serves the bytes.
    pub fn set_download_redirect(&self, enabled: bool) {
        self.state().download_redirect = enabled;
    }

    /// Every request the API origin received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Every request the object-storage origin received, in order.
    pub fn object_storage_requests(&self) -> Vec<RecordedRequest> {
        self.state().object_requests.clone()
    }

    /// Files of the package (project, name, version) that are not pending
    /// destruction, ordered by id. Packages pending destruction are skipped.
    pub fn package_files(&self, project_id: u64, name: &str, version: &str) -> Vec<PackageFile> {
        self.state().live_files(project_id, name, version)
    }

    /// Inserts a file directly, as an upload would (duplicates always allowed).
    /// Panics if the project does not exist.
    pub fn seed_file(
        &self,
        project_id: u64,
        name: &str,
        version: &str,
        file_name: &str,
        bytes: &[u8],
    ) {
        let mut s = self.state();
        assert!(
            s.projects.contains_key(&project_id),
            "seed_file: no project {project_id}"
        );
        let package_id = s.find_or_create_package(project_id, name, version);
        s.add_file(package_id, file_name, bytes.to_vec());
    }

    /// Forgets the recorded requests of both origins.
    pub fn reset_requests(&self) {
        let mut s = self.state();
        s.requests.clear();
        s.object_requests.clear();
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
        f.debug_struct("Emulator").field("url", &self.url).finish()
    }
}

/// Locks the state; a panic in another holder does not make it unusable.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}
