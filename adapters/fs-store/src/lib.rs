//! The filesystem store: `<root>/<key name>/<key version>.json`.
//!
//! Writes go to a temporary file in the record's own directory, are synced,
//! then renamed over the record, so a reader (or a concurrent writer) only
//! ever sees a whole record. Key parts never contain `/` or `..` (see
//! `imglife_domain::key`), and the resolved directory is checked to lie
//! under the root, so nothing is written outside it, even through a
//! symbolic link planted inside the store.
//!
//! The store may hold anything a user, a script or an attacker with write
//! access put there, so reading trusts nothing it finds:
//!
//! * a record is read only from a regular file, never through a symbolic
//!   link, never blocking (a FIFO, socket or device is refused before it is
//!   opened), and never more than `MAX_RECORD_BYTES` (see `read.rs`);
//! * listing never follows a link and never opens an entry: a symbolic
//!   link or special file where a repository directory should be is
//!   skipped and named in a warning; an entry named like a record
//!   (`<version>.json`) is listed whatever it is, so that reading it fails
//!   and the read command names it by key instead of hiding it;
//! * a listing holds at most `max_records` keys: past that it is an error,
//!   never a silently truncated answer.

pub mod cache;
mod read;
mod temp;

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::key::RECORD_EXTENSION;
use imglife_domain::ports::{Fetched, Listed, RecordReader, RecordStore, StoreError, Version};

use crate::read::{describe, show};
pub use crate::temp::STALE_AFTER;

/// The largest record file the store reads (and writes): 1 MiB. A record
/// is a few hundred bytes (a few KiB with many custom fields); anything
/// larger is not one, and reading it whole could exhaust memory (a store
/// file that is 1 GiB, or that never ends).
pub const MAX_RECORD_BYTES: u64 = 1024 * 1024;

/// The most keys one listing may hold when `max_records` is not called:
/// the default of `registry.max_records`.
pub const DEFAULT_MAX_RECORDS: usize = 100_000;

#[derive(Debug, Clone)]
pub struct FsStore {
    /// As configured (possibly relative): shown to people.
    shown_root: PathBuf,
    /// Resolved against the working directory: used for I/O.
    root: PathBuf,
    /// A configured root that does not exist is a mistake (a typo in
    /// `registry.path`), not an empty store.
    must_exist: bool,
    /// The most keys one listing may hold (`registry.max_records`).
    max_records: usize,
}

impl FsStore {
    /// `root` may be relative; it is resolved against `cwd` once, here.
    pub fn new(root: &Path, cwd: &Path) -> Self {
        Self {
            shown_root: root.to_path_buf(),
            root: cwd.join(root),
            must_exist: false,
            max_records: DEFAULT_MAX_RECORDS,
        }
    }

    /// Reading a root that does not exist fails instead of finding no
    /// records; for a root the user configured.
    #[must_use]
    pub fn must_exist(mut self, must_exist: bool) -> Self {
        self.must_exist = must_exist;
        self
    }

    /// A listing of more than `max` keys is an error that says so
    /// (`registry.max_records`), not a truncated answer. At least 1.
    #[must_use]
    pub fn max_records(mut self, max: usize) -> Self {
        self.max_records = max.max(1);
        self
    }

    fn path_of(&self, key: &RecordKey) -> PathBuf {
        self.root.join(key.relative_path())
    }

    fn shown_path_of(&self, key: &RecordKey) -> PathBuf {
        self.shown_root.join(key.relative_path())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Self) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| StoreError::Failed(format!("filesystem store task failed: {e}")))?
    }

    fn write(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        if document.len() as u64 > MAX_RECORD_BYTES {
            return Err(StoreError::Failed(format!(
                "refusing to write the record of {key}: it is {} bytes, over the limit of \
                 {MAX_RECORD_BYTES} bytes (1 MiB) a record may have",
                document.len()
            )));
        }
        let dir = self.root.join(key.name());
        let fail = |what: &str, path: &Path, e: io::Error| {
            StoreError::Failed(format!(
                "cannot {what} {}: {e}; check that registry.path ({}) is a writable directory",
                path.display(),
                show(&self.shown_root)
            ))
        };
        fs::create_dir_all(&dir).map_err(|e| fail("create directory", &dir, e))?;
        self.check_inside_root(&dir)?;
        // Leftovers of killed writers go before this write adds its own.
        temp::remove_stale(&dir, key.name(), SystemTime::now());
        let prefix = temp::prefix(key.version());
        let mut builder = tempfile::Builder::new();
        builder
            .prefix(&prefix)
            .rand_bytes(temp::RANDOM_LEN)
            .suffix(temp::SUFFIX);
        // tempfile creates files readable by their owner only; a record is
        // shared data, so it gets the usual 0666 less the umask, like any
        // file a tool writes.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        let mut temp = builder
            .tempfile_in(&dir)
            .map_err(|e| fail("create a temporary file in", &dir, e))?;
        temp.write_all(document)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|e| fail("write", temp.path(), e))?;
        let target = self.path_of(key);
        temp.persist(&target)
            .map_err(|e| fail("replace", &target, e.error))?;
        // The rename is durable only once the directory entry is synced.
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| fail("sync directory", &dir, e))?;
        Ok(())
    }

    fn check_inside_root(&self, dir: &Path) -> Result<(), StoreError> {
        let resolve = |p: &Path| {
            fs::canonicalize(p)
                .map_err(|e| StoreError::Failed(format!("cannot resolve {}: {e}", show(p))))
        };
        let (root, dir_resolved) = (resolve(&self.root)?, resolve(dir)?);
        if dir_resolved.parent() != Some(root.as_path()) {
            return Err(StoreError::Failed(format!(
                "refusing to write: {} resolves to {}, outside the store root {}",
                show(dir),
                show(&dir_resolved),
                show(&root)
            )));
        }
        Ok(())
    }

    /// Refuses a record directory that is a symbolic link: reading or
    /// deleting through it would reach outside the root. `Ok(false)` when
    /// there is no such directory.
    fn real_record_dir(&self, key: &RecordKey) -> Result<bool, StoreError> {
        let dir = self.root.join(key.name());
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => Err(StoreError::Failed(format!(
                "{} is {}: the filesystem store does not follow links out of its root",
                show(&self.shown_root.join(key.name())),
                describe(&dir, meta.file_type())
            ))),
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            // Not a directory, unreadable: the read of the record says so.
            Err(_) => Ok(true),
        }
    }

    /// The record's bytes, with the version of the file actually read.
    fn read(&self, key: &RecordKey) -> Result<Option<Fetched>, StoreError> {
        if !self.real_record_dir(key)? {
            return Ok(None);
        }
        let read = read::regular_file_with_metadata(
            &self.path_of(key),
            &self.shown_path_of(key),
            MAX_RECORD_BYTES,
        )
        .map_err(|e| StoreError::Failed(e.0))?;
        Ok(read.map(|(document, opened)| Fetched {
            document,
            version: version_of(&opened),
        }))
    }

    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        if !self.real_record_dir(key)? {
            return Ok(());
        }
        let path = self.path_of(key);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(StoreError::Failed(format!(
                    "cannot delete {}: {e}",
                    show(&path)
                )));
            }
        }
        // An emptied repository directory is removed too; a concurrent
        // writer that just created a file there keeps it (not empty).
        if let Some(dir) = path.parent() {
            let _ = fs::remove_dir(dir);
        }
        Ok(())
    }

    /// Deletes the record of `key` only while it holds `expected`, with no
    /// window in which a newer record could be lost: the record is first
    /// moved aside (a rename, atomic) under a temporary name of imglife's
    /// own pattern, compared there, and either dropped or linked back. A
    /// link never replaces an existing name, so a record written meanwhile
    /// stays and the moved-aside one is the one dropped. Readers may miss
    /// the record for the moment it is aside; nothing is ever lost.
    fn remove_if_unchanged(&self, key: &RecordKey, expected: &[u8]) -> Result<bool, StoreError> {
        if !self.real_record_dir(key)? {
            return Ok(false);
        }
        let path = self.path_of(key);
        let Some(dir) = path.parent() else {
            return Ok(false);
        };
        let fail = |what: &str, e: io::Error| {
            StoreError::Failed(format!(
                "cannot {what} {}: {e}",
                show(&self.shown_path_of(key))
            ))
        };
        // An empty file of the temporary pattern, replaced by the record.
        let aside = tempfile::Builder::new()
            .prefix(&temp::prefix(key.version()))
            .rand_bytes(temp::RANDOM_LEN)
            .suffix(temp::SUFFIX)
            .tempfile_in(dir)
            .map_err(|e| fail("set aside", e))?;
        match fs::rename(&path, aside.path()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(fail("set aside", e)),
        }
        // A rename keeps the record's age, and a concurrent write's clean-up
        // removes temporary files over an hour old: made young at once, the
        // moved-aside record is never taken for a killed writer's leftover.
        let _ = File::open(aside.path()).and_then(|f| f.set_modified(SystemTime::now()));
        let held = read::regular_file(aside.path(), &self.shown_path_of(key), MAX_RECORD_BYTES);
        if matches!(&held, Ok(Some(bytes)) if bytes == expected) {
            drop(aside); // removes the moved-aside record
            let _ = fs::remove_dir(dir);
            return Ok(true);
        }
        // Changed (or unreadable): back where it was, unless a newer
        // record took the name meanwhile.
        match fs::hard_link(aside.path(), &path) {
            Ok(()) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => {
                // Keep the moved-aside record rather than lose it.
                let kept = aside
                    .into_temp_path()
                    .keep()
                    .map_err(|k| fail("keep", k.error))?;
                Err(StoreError::Failed(format!(
                    "cannot put back {} after checking it ({e}); it is kept as {}",
                    show(&self.shown_path_of(key)),
                    show(&kept)
                )))
            }
        }
    }

    /// Every record file's key, with the version of what the entry is now
    /// (its own metadata, `lstat`: nothing is followed).
    fn scan(&self) -> Result<Vec<Listed>, StoreError> {
        let fail = |path: &Path, e: io::Error| {
            StoreError::Failed(format!(
                "cannot list {}: {e}; check registry.path ({})",
                show(path),
                show(&self.shown_root)
            ))
        };
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.must_exist => {
                return Err(StoreError::Failed(format!(
                    "registry.path {} does not exist; check the path (or register a record \
                     there first)",
                    show(&self.shown_root)
                )));
            }
            // The implicit default store that nobody has written to yet is
            // empty, not broken.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(fail(&self.root, e)),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| fail(&self.root, e))?;
            // The entry's own type: a link is not followed (d_type/lstat).
            let kind = entry.file_type().map_err(|e| fail(&entry.path(), e))?;
            let path = entry.path();
            let Ok(name) = entry.file_name().into_string() else {
                skipped(&path, "its name is not UTF-8, so it is no repository");
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            if kind.is_symlink() {
                skipped(
                    &path,
                    &format!(
                        "it is {}; the filesystem store does not follow links",
                        describe(&path, kind)
                    ),
                );
                continue;
            }
            if !kind.is_dir() {
                if !kind.is_file() {
                    skipped(
                        &path,
                        &format!(
                            "it is {}, where only repository directories belong",
                            describe(&path, kind)
                        ),
                    );
                }
                // A regular file beside the repositories (a README): not
                // a record, nothing to say.
                continue;
            }
            for file in fs::read_dir(&path).map_err(|e| fail(&path, e))? {
                let file = file.map_err(|e| fail(&path, e))?;
                let file_path = file.path();
                let Ok(file_name) = file.file_name().into_string() else {
                    skipped(&file_path, "its name is not UTF-8, so it is no record");
                    continue;
                };
                // Dot files: temporary files of writes (`.<version>.*.tmp`)
                // and anything else hidden.
                if file_name.starts_with('.') {
                    continue;
                }
                let Some(version) = file_name.strip_suffix(RECORD_EXTENSION) else {
                    if let Ok(kind) = file.file_type()
                        && !kind.is_file()
                        && !kind.is_dir()
                    {
                        skipped(
                            &file_path,
                            &format!("it is {} and no record", describe(&file_path, kind)),
                        );
                    }
                    continue;
                };
                // Named like a record: listed whatever it is, so that its
                // read fails and names it (a FIFO, a link) by key.
                match RecordKey::from_parts(&name, version) {
                    Ok(key) => {
                        if keys.len() == self.max_records {
                            return Err(self.too_many());
                        }
                        // DirEntry::metadata does not follow a link; an
                        // entry gone meanwhile has no version (its read
                        // says what happened).
                        let version = file.metadata().ok().and_then(|m| version_of(&m));
                        keys.push(Listed { key, version });
                    }
                    Err(e) => tracing::warn!(
                        "ignoring {}: {}",
                        show(&file_path),
                        imglife_domain::text::escape(&e.to_string())
                    ),
                }
            }
        }
        Ok(keys)
    }

    fn too_many(&self) -> StoreError {
        StoreError::Failed(format!(
            "the filesystem store at {} holds more than {} records, the most one listing may \
             hold (registry.max_records); raise registry.max_records \
             (IMGLIFE_REGISTRY__MAX_RECORDS) if the store really is that large",
            show(&self.shown_root),
            self.max_records
        ))
    }
}

/// The version of a record file: its size, modification time (to the
/// nanosecond), inode and device. Every write of the store is a new file
/// renamed over the record, so an overwrite always brings a new inode; an
/// edit in place (by hand, by another tool) changes the modification time
/// and usually the size. Only a regular file has one.
#[cfg(unix)]
fn version_of(meta: &fs::Metadata) -> Option<Version> {
    use std::os::unix::fs::MetadataExt;
    meta.file_type().is_file().then(|| {
        Version::new(format!(
            "{}:{}.{:09}:{}:{}",
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ino(),
            meta.dev()
        ))
    })
}

/// Without inode numbers, a rename over a record of the same size within
/// the clock's resolution would keep its version: no versions, no cache.
#[cfg(not(unix))]
fn version_of(_: &fs::Metadata) -> Option<Version> {
    None
}

/// A store entry left out of a listing, named for the person reading the
/// log (the path escaped: file names are outside text).
fn skipped(path: &Path, why: &str) {
    tracing::warn!("skipping {}: {why}", show(path));
}

#[async_trait]
impl RecordReader for FsStore {
    fn location(&self, key: &RecordKey) -> String {
        format!("filesystem {}", self.shown_path_of(key).display())
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_versioned(key).await?.map(|f| f.document))
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        Ok(Listed::keys(self.list_versioned().await?))
    }

    async fn list_versioned(&self) -> Result<Vec<Listed>, StoreError> {
        self.blocking(Self::scan).await
    }

    async fn get_versioned(&self, key: &RecordKey) -> Result<Option<Fetched>, StoreError> {
        let key = key.clone();
        self.blocking(move |store| store.read(&key)).await
    }

    /// `fs <root>`, the root resolved (links and `..` included) so that two
    /// spellings of one directory share a cache.
    fn cache_identity(&self) -> Option<String> {
        let root = fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        Some(format!("fs {}", root.display()))
    }

    fn parallelism(&self) -> usize {
        // Reads are blocking-pool tasks; a few at once hide disk latency.
        8
    }
}

#[async_trait]
impl RecordStore for FsStore {
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        let (key, document) = (key.clone(), document.to_vec());
        self.blocking(move |store| store.write(&key, &document))
            .await
    }

    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.blocking(move |store| store.remove(&key)).await
    }

    async fn delete_if_unchanged(
        &self,
        key: &RecordKey,
        expected: &[u8],
    ) -> Result<bool, StoreError> {
        let (key, expected) = (key.clone(), expected.to_vec());
        self.blocking(move |store| store.remove_if_unchanged(&key, &expected))
            .await
    }
}
