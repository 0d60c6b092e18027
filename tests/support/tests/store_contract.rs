//! The `RecordStore` contract (`imglife_testkit::contract`) against every
//! store: in memory, the filesystem (a configured root and the embedded
//! default whose root does not exist yet), and GitLab and Gitea through
//! their in-process emulators.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::key::RECORD_FILE_NAME;
use imglife_domain::ports::StoreError;
use imglife_fs_store::FsStore;
use imglife_gitlab_store::{GitlabSettings, GitlabStore, Token};
use imglife_s3_store::{S3Settings, S3Store};
use imglife_testkit::MemoryStore;
use imglife_testkit::contract::{Harness, run_all};
use imglife_testkit::gitlab::{Emulator, Role, Scope, Visibility};
use imglife_testkit::s3::S3Server;

fn run<H: Harness>(harness: &H) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run_all(harness));
}

// ---------------------------------------------------------------- memory

struct Memory;

#[async_trait]
impl Harness for Memory {
    type Store = MemoryStore;
    type Backing = ();

    async fn fresh(&self) -> (MemoryStore, ()) {
        (MemoryStore::new(), ())
    }

    async fn plant(&self, store: &MemoryStore, (): &(), key: &RecordKey, bytes: &[u8]) {
        store.plant(key, bytes);
    }

    /// A map of keys holds nothing but records.
    async fn plant_foreign(&self, _: &MemoryStore, (): &()) {}

    fn failing(&self) -> MemoryStore {
        MemoryStore::failing(StoreError::Unavailable("the test said so".to_owned()))
    }
}

#[test]
fn memory_store_keeps_the_contract() {
    run(&Memory);
}

// ------------------------------------------------------------ filesystem

/// Every case gets its own root under one temporary directory.
struct Filesystem {
    dir: tempfile::TempDir,
    cases: AtomicU64,
    /// A configured `registry.path` (the root exists, `must_exist`), or
    /// the embedded default (the root is created by the first write).
    configured: bool,
}

impl Filesystem {
    fn new(configured: bool) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            cases: AtomicU64::new(0),
            configured,
        }
    }

    fn next(&self) -> u64 {
        self.cases.fetch_add(1, Ordering::Relaxed)
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[async_trait]
impl Harness for Filesystem {
    type Store = FsStore;
    /// The root, absolute.
    type Backing = PathBuf;

    async fn fresh(&self) -> (FsStore, PathBuf) {
        // Relative to the working directory, as `registry.path` usually is.
        let relative = PathBuf::from(format!("case-{}/records", self.next()));
        let root = self.dir.path().join(&relative);
        if self.configured {
            std::fs::create_dir_all(&root).unwrap();
        }
        let store = FsStore::new(&relative, self.dir.path()).must_exist(self.configured);
        (store, root)
    }

    async fn plant(&self, _: &FsStore, root: &PathBuf, key: &RecordKey, bytes: &[u8]) {
        write(&root.join(key.relative_path()), bytes);
    }

    async fn plant_foreign(&self, _: &FsStore, root: &PathBuf) {
        let repository = root.join("registry.example.com+apps+x");
        // A write in progress, or left behind by a crash.
        write(&repository.join(".1.0.x.tmp"), b"{\"image\":");
        write(&repository.join(".1.0.json"), b"{}");
        // Files that are not records, beside records and at the root.
        write(&repository.join("1.0.json.bak"), b"{}");
        write(&repository.join("NOTES"), b"not a record\n");
        write(&root.join("README.md"), b"records\n");
        write(&root.join("stray.json"), b"{}");
        // A JSON file whose name decodes to no key, and a hidden directory.
        write(&root.join("registry.example.com+apps+x/v+1.json"), b"{}");
        write(&root.join(".trash/9.9.json"), b"{}");
    }

    fn failing(&self) -> FsStore {
        let case = self.next();
        if self.configured {
            // A configured registry.path that does not exist (a typo).
            FsStore::new(
                &self.dir.path().join(format!("case-{case}/missing")),
                Path::new("/"),
            )
            .must_exist(true)
        } else {
            // A root that is a regular file.
            let file = self.dir.path().join(format!("case-{case}-not-a-directory"));
            write(&file, b"");
            FsStore::new(&file, Path::new("/"))
        }
    }
}

#[test]
fn filesystem_store_keeps_the_contract() {
    run(&Filesystem::new(true));
}

#[test]
fn default_filesystem_store_keeps_the_contract() {
    run(&Filesystem::new(false));
}

// ---------------------------------------------------------------- GitLab

const TOKEN: &str = "glpat-contract-SECRET";
const USER: &str = "maintainer";

/// The one place that builds a `GitlabStore`.
fn gitlab_store(url: &str, project: &str, token: &str) -> GitlabStore {
    let token = Token::from_env(&|name: &str| (name == "GITLAB_TOKEN").then(|| token.to_owned()));
    let settings = GitlabSettings::new("registry.url", Some(url), Some(project), token).unwrap();
    GitlabStore::new(settings).unwrap()
}

/// One emulator; every case gets its own project, where a maintainer's
/// personal token may do everything.
struct Gitlab {
    emulator: Emulator,
    projects: AtomicU64,
}

impl Gitlab {
    /// `duplicates_allowed`: the namespace setting that decides whether a
    /// second `record.json` may be uploaded into a package (GitLab's
    /// default) or the store must delete the older one first.
    fn new(duplicates_allowed: bool) -> Self {
        let emulator = Emulator::start();
        emulator.set_duplicates_allowed("platform", duplicates_allowed);
        emulator.add_user(USER);
        emulator.add_personal_token(TOKEN, USER, Scope::Api);
        Self {
            emulator,
            projects: AtomicU64::new(1),
        }
    }
}

#[async_trait]
impl Harness for Gitlab {
    type Store = GitlabStore;
    /// The project's id.
    type Backing = u64;

    async fn fresh(&self) -> (GitlabStore, u64) {
        let id = self.projects.fetch_add(1, Ordering::Relaxed);
        let path = format!("platform/case-{id}");
        self.emulator.add_project(id, &path, Visibility::Private);
        self.emulator.add_member(id, USER, Role::Maintainer);
        (gitlab_store(&self.emulator.url(), &path, TOKEN), id)
    }

    async fn plant(&self, _: &GitlabStore, project: &u64, key: &RecordKey, bytes: &[u8]) {
        self.emulator
            .seed_file(*project, key.name(), key.version(), RECORD_FILE_NAME, bytes);
    }

    async fn plant_foreign(&self, _: &GitlabStore, project: &u64) {
        // Generic packages of other tools sharing the project.
        self.emulator
            .seed_file(*project, "eol-data", "2026.1", "eol.yaml", b"alpine: {}\n");
        self.emulator.seed_file(
            *project,
            "registry.example.com+apps+x",
            "not+a+key",
            RECORD_FILE_NAME,
            b"{}",
        );
    }

    /// A project the maintainer may use, with a token GitLab does not
    /// know.
    fn failing(&self) -> GitlabStore {
        let id = self.projects.fetch_add(1, Ordering::Relaxed);
        let path = format!("platform/case-{id}");
        self.emulator.add_project(id, &path, Visibility::Private);
        self.emulator.add_member(id, USER, Role::Maintainer);
        gitlab_store(&self.emulator.url(), &path, "glpat-revoked")
    }
}

#[test]
fn gitlab_store_keeps_the_contract() {
    run(&Gitlab::new(true));
}

/// Known to break two cases: with duplicates denied a `put` deletes the
/// older record before uploading, so concurrent writers of one key fail
/// ("GitLab still reports a duplicate ...") and readers see no record
/// between the delete and the upload. Run with `--ignored`.
#[test]
#[ignore = "GitlabStore breaks two cases when duplicates are denied (see the comment)"]
fn gitlab_store_with_duplicates_denied_keeps_the_contract() {
    run(&Gitlab::new(false));
}

// ----------------------------------------------------------------- Gitea

const GITEA_TOKEN: &str = "gitea-contract-SECRET";
const GITEA_USER: &str = "ci";

/// The one place that builds a `GiteaStore`.
fn gitea_store(url: &str, owner: &str, token: &str) -> imglife_gitea_store::GiteaStore {
    use imglife_gitea_store::{GiteaSettings, GiteaStore, Token};
    let token = Token::from_env(&|name: &str| (name == "GITEA_TOKEN").then(|| token.to_owned()));
    let settings = GiteaSettings::new(Some(url), Some(owner), None, token).unwrap();
    GiteaStore::new(settings).unwrap()
}

/// One emulator; every case gets its own organisation, whose packages the
/// user `ci` may write with a `write:package` token.
struct Gitea {
    emulator: imglife_testkit::gitea::Emulator,
    owners: AtomicU64,
}

impl Gitea {
    fn new() -> Self {
        use imglife_testkit::gitea::{Emulator, Scope, Visibility};
        let emulator = Emulator::start();
        emulator.add_user(GITEA_USER, Visibility::Private);
        emulator.add_token(GITEA_TOKEN, GITEA_USER, Scope::WritePackage);
        Self {
            emulator,
            owners: AtomicU64::new(1),
        }
    }

    fn new_owner(&self) -> String {
        use imglife_testkit::gitea::{Access, Visibility};
        let owner = format!("case-{}", self.owners.fetch_add(1, Ordering::Relaxed));
        self.emulator.add_org(&owner, Visibility::Private);
        self.emulator.add_member(&owner, GITEA_USER, Access::Write);
        owner
    }
}

#[async_trait]
impl Harness for Gitea {
    type Store = imglife_gitea_store::GiteaStore;
    /// The organisation's name.
    type Backing = String;

    async fn fresh(&self) -> (Self::Store, String) {
        let owner = self.new_owner();
        (
            gitea_store(&self.emulator.url(), &owner, GITEA_TOKEN),
            owner,
        )
    }

    /// As a hand-written upload would: `record.json` when the version has
    /// none yet, else a file named after the content, as imglife names it.
    async fn plant(&self, _: &Self::Store, owner: &String, key: &RecordKey, bytes: &[u8]) {
        let taken = self
            .emulator
            .files(owner, key.name(), key.version())
            .iter()
            .any(|f| f.name == RECORD_FILE_NAME);
        let file = if taken {
            imglife_testkit::gitea::record_file_name(bytes)
        } else {
            RECORD_FILE_NAME.to_owned()
        };
        self.emulator
            .seed_file(owner, key.name(), key.version(), &file, bytes);
    }

    async fn plant_foreign(&self, _: &Self::Store, owner: &String) {
        // Generic packages of other tools owned by the same organisation,
        // and a file that is not a record beside one.
        self.emulator
            .seed_file(owner, "eol-data", "2026.1", "eol.yaml", b"alpine: {}\n");
        self.emulator.seed_file(
            owner,
            "registry.example.com+apps+x",
            "not+a+key",
            RECORD_FILE_NAME,
            b"{}",
        );
        self.emulator.seed_file(
            owner,
            "registry.example.com+apps+zeta",
            "2.0",
            "notes.txt",
            b"not a record\n",
        );
    }

    /// An organisation the user may write, with a token Gitea does not
    /// know.
    fn failing(&self) -> Self::Store {
        let owner = self.new_owner();
        gitea_store(&self.emulator.url(), &owner, "gitea-revoked-token")
    }
}

#[test]
fn gitea_store_keeps_the_contract() {
    run(&Gitea::new());
}

// -------------------------------------------------------------------- S3

/// The one place that builds an `S3Store` here: path-style requests to the
/// in-process s3s-fs, signed with `secret`.
fn s3_store(server: &S3Server, bucket: &str, prefix: Option<&str>, secret: &str) -> S3Store {
    let credentials =
        imglife_s3_store::Credentials::from_keys(imglife_testkit::s3::ACCESS_KEY, secret);
    let settings =
        S3Settings::new(Some(bucket), None, prefix, Some(&server.url()), credentials).unwrap();
    S3Store::new(settings).unwrap()
}

/// One s3s-fs server (it checks every signature); every case gets its own
/// bucket. Records live under `prefix`, beside objects that are not
/// records, under it and outside it.
struct S3 {
    server: S3Server,
    prefix: Option<&'static str>,
    buckets: AtomicU64,
}

impl S3 {
    fn new(prefix: Option<&'static str>) -> Self {
        Self {
            server: S3Server::start(),
            prefix,
            buckets: AtomicU64::new(1),
        }
    }

    fn new_bucket(&self) -> String {
        let bucket = format!("case-{}", self.buckets.fetch_add(1, Ordering::Relaxed));
        self.server.create_bucket(&bucket);
        bucket
    }

    /// The prefix as the store writes it: `builds/ci/`, or nothing.
    fn key_prefix(&self) -> String {
        self.prefix
            .map(|p| format!("{}/", p.trim_matches('/')))
            .unwrap_or_default()
    }
}

#[async_trait]
impl Harness for S3 {
    type Store = S3Store;
    /// The bucket.
    type Backing = String;

    async fn fresh(&self) -> (S3Store, String) {
        let bucket = self.new_bucket();
        let store = s3_store(
            &self.server,
            &bucket,
            self.prefix,
            imglife_testkit::s3::SECRET_KEY,
        );
        (store, bucket)
    }

    /// Another writer's object, written behind S3's back.
    async fn plant(&self, _: &S3Store, bucket: &String, key: &RecordKey, bytes: &[u8]) {
        let object = format!("{}{}", self.key_prefix(), key.relative_path());
        self.server.put_file(bucket, &object, bytes);
    }

    async fn plant_foreign(&self, _: &S3Store, bucket: &String) {
        let prefix = self.key_prefix();
        let record = "registry.example.com+apps+x/1.0.json";
        for (key, bytes) in [
            // Under the prefix, but not records.
            (format!("{prefix}README.md"), &b"records\n"[..]),
            (format!("{prefix}stray.json"), b"{}"),
            (format!("{prefix}{record}.bak"), b"{}"),
            (
                format!("{prefix}registry.example.com+apps+x/v+1.json"),
                b"{}",
            ),
            (
                format!("{prefix}registry.example.com+apps+x/deeper/1.0.json"),
                b"{}",
            ),
            (format!("{prefix}.trash/9.9.json"), b"{}"),
            // Records outside the prefix: another tool's, another team's.
            (format!("elsewhere/{record}"), b"{}"),
            (
                format!("{}-old/{record}", prefix.trim_end_matches('/')),
                b"{}",
            ),
        ] {
            self.server.put_file(bucket, &key, bytes);
        }
    }

    /// A bucket that exists, with a secret the server does not accept.
    fn failing(&self) -> S3Store {
        let bucket = self.new_bucket();
        s3_store(&self.server, &bucket, self.prefix, "not-the-secret")
    }
}

#[test]
fn s3_store_keeps_the_contract() {
    run(&S3::new(Some("builds/ci")));
}

#[test]
fn s3_store_without_a_prefix_keeps_the_contract() {
    run(&S3::new(None));
}
