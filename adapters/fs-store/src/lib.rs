//! The filesystem store: `<root>/<key name>/<key version>.json`.
//!
//! Writes go to a temporary file in the record's own directory, are synced,
//! then renamed over the record, so a reader (or a concurrent writer) only
//! ever sees a whole record. Key parts never contain `/` or `..` (see
//! `imglife_domain::key`), and the resolved directory is checked to lie
//! under the root, so nothing is written outside it, even through a
//! symbolic link planted inside the store.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::key::RECORD_EXTENSION;
use imglife_domain::ports::{RecordReader, RecordStore, StoreError};

#[derive(Debug, Clone)]
pub struct FsStore {
    /// As configured (possibly relative): shown to people.
    shown_root: PathBuf,
    /// Resolved against the working directory: used for I/O.
    root: PathBuf,
    /// A configured root that does not exist is a mistake (a typo in
    /// `registry.path`), not an empty store.
    must_exist: bool,
}

impl FsStore {
    /// `root` may be relative; it is resolved against `cwd` once, here.
    pub fn new(root: &Path, cwd: &Path) -> Self {
        Self {
            shown_root: root.to_path_buf(),
            root: cwd.join(root),
            must_exist: false,
        }
    }

    /// Reading a root that does not exist fails instead of finding no
    /// records; for a root the user configured.
    #[must_use]
    pub fn must_exist(mut self, must_exist: bool) -> Self {
        self.must_exist = must_exist;
        self
    }

    fn path_of(&self, key: &RecordKey) -> PathBuf {
        self.root.join(key.relative_path())
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
        let dir = self.root.join(key.name());
        let fail = |what: &str, path: &Path, e: io::Error| {
            StoreError::Failed(format!(
                "cannot {what} {}: {e}; check that registry.path ({}) is a writable directory",
                path.display(),
                self.shown_root.display()
            ))
        };
        fs::create_dir_all(&dir).map_err(|e| fail("create directory", &dir, e))?;
        self.check_inside_root(&dir)?;
        let prefix = format!(".{}.", key.version());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
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
                .map_err(|e| StoreError::Failed(format!("cannot resolve {}: {e}", p.display())))
        };
        let (root, dir_resolved) = (resolve(&self.root)?, resolve(dir)?);
        if dir_resolved.parent() != Some(root.as_path()) {
            return Err(StoreError::Failed(format!(
                "refusing to write: {} resolves to {}, outside the store root {}",
                dir.display(),
                dir_resolved.display(),
                root.display()
            )));
        }
        Ok(())
    }

    fn read(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path_of(key);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Failed(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    fn remove(&self, key: &RecordKey) -> Result<(), StoreError> {
        let path = self.path_of(key);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(StoreError::Failed(format!(
                    "cannot delete {}: {e}",
                    path.display()
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

    fn scan(&self) -> Result<Vec<RecordKey>, StoreError> {
        let fail = |path: &Path, e: io::Error| {
            StoreError::Failed(format!(
                "cannot list {}: {e}; check registry.path ({})",
                path.display(),
                self.shown_root.display()
            ))
        };
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.must_exist => {
                return Err(StoreError::Failed(format!(
                    "registry.path {} does not exist; check the path (or register a record \
                     there first)",
                    self.shown_root.display()
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
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let dir = entry.path();
            for file in fs::read_dir(&dir).map_err(|e| fail(&dir, e))? {
                let file = file.map_err(|e| fail(&dir, e))?;
                let Ok(file_name) = file.file_name().into_string() else {
                    continue;
                };
                let Some(version) = file_name.strip_suffix(RECORD_EXTENSION) else {
                    continue;
                };
                if file_name.starts_with('.') {
                    continue; // a temporary file of a write in progress
                }
                match RecordKey::from_parts(&name, version) {
                    Ok(key) => keys.push(key),
                    Err(e) => tracing::warn!("ignoring {}: {e}", file.path().display()),
                }
            }
        }
        Ok(keys)
    }
}

#[async_trait]
impl RecordReader for FsStore {
    fn location(&self, key: &RecordKey) -> String {
        let path = self.shown_root.join(key.relative_path());
        format!("filesystem {}", path.display())
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.clone();
        self.blocking(move |store| store.read(&key)).await
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        self.blocking(Self::scan).await
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
}
