//! The ports: what the use cases need from the outside world. Adapters
//! implement them; the composition root in `app` picks which.

use async_trait::async_trait;

use crate::key::RecordKey;
use crate::metadata::{ImageMetadata, MetadataError, Wanted};
use crate::reference::ImageRef;

/// Reads labels and annotations of an image (remote registry, Docker
/// daemon).
#[async_trait]
pub trait ImageMetadataSource: Send + Sync {
    /// Shown in the summary's `Source` line and in errors, e.g.
    /// `registry 127.0.0.1:5000`.
    fn describe(&self, image: &ImageRef) -> String;

    async fn inspect(
        &self,
        image: &ImageRef,
        wanted: Wanted,
    ) -> Result<ImageMetadata, MetadataError>;
}

/// Why a store operation failed. The message is complete (cause and fix);
/// the variant lets callers tell "cannot reach or use the store" from "the
/// store refused this one request".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Unreachable, timed out, or failing after retries.
    #[error("{0}")]
    Unavailable(String),
    /// Credentials missing, rejected or insufficient.
    #[error("{0}")]
    Denied(String),
    /// The store answered but refused or failed the operation.
    #[error("{0}")]
    Failed(String),
}

/// A store's token for the content of one record as it is now: an S3
/// ETag, a file's size, modification time and inode. Opaque: it is only
/// ever compared for equality with a token the same store gave earlier.
///
/// A store gives one only when it changes whenever the record is written
/// again (a `put` of other bytes under the same key): the read cache takes
/// an unchanged token as "the bytes cached for it are still the record",
/// so a token that can stay the same across an overwrite would serve a
/// stale record. A store that has no such token gives none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key of a listing, with the version of its record when the store's
/// listing gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: RecordKey,
    pub version: Option<Version>,
}

impl Listed {
    /// The keys of a listing: `list` of a store whose listing has versions.
    pub fn keys(listed: Vec<Listed>) -> Vec<RecordKey> {
        listed.into_iter().map(|l| l.key).collect()
    }
}

/// A downloaded record: its bytes, and the version of exactly those bytes
/// when the store can tell (the ETag of the `GET`, the `fstat` of the file
/// read), so that what is cached is never filed under a newer version than
/// its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub document: Vec<u8>,
    pub version: Option<Version>,
}

/// Reading build records: all that `status` and `app list` get, so that a
/// read command holds nothing that could write or delete.
///
/// The `*_versioned` methods and `cache_identity` serve the read cache;
/// their defaults (no versions, no identity) keep a store that has nothing
/// to offer correct: each of its records is downloaded on every run.
#[async_trait]
pub trait RecordReader: Send + Sync {
    /// Where the record of `key` lives, for people: a path, a package URL.
    fn location(&self, key: &RecordKey) -> String;

    /// The stored document of `key`, or `None` when there is none.
    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every key that has a record, each once, in no particular order.
    /// Whatever in the store is not a record (temporary files, foreign
    /// packages or objects) is left out. An empty store is `Ok(vec![])`; a
    /// store that cannot be listed is an error.
    async fn list(&self) -> Result<Vec<RecordKey>, StoreError>;

    /// How many `get`s a caller may run at once against this store.
    fn parallelism(&self) -> usize {
        1
    }

    /// `list`, each key with the version of its record when the store's
    /// listing gives one (see [`Version`]: it must change on every
    /// overwrite). Default: `list`, without versions.
    async fn list_versioned(&self) -> Result<Vec<Listed>, StoreError> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .map(|key| Listed { key, version: None })
            .collect())
    }

    /// `get`, with the version of the bytes read when the store can tell.
    /// The version must be the one of these very bytes (taken with them,
    /// not looked up again), and equal to what `list_versioned` gives for
    /// the same unchanged record. Default: `get`, without a version.
    async fn get_versioned(&self, key: &RecordKey) -> Result<Option<Fetched>, StoreError> {
        Ok(self.get(key).await?.map(|document| Fetched {
            document,
            version: None,
        }))
    }

    /// Which store this is, for the read cache to keep its records apart
    /// from other stores': `fs /abs/root`, `s3 https://host/bucket/prefix/`.
    /// It is written into the cache in clear, so it must never hold a
    /// credential (no userinfo, no query, no token). `None`: this store's
    /// records are never cached (the default; a store without versions
    /// gains nothing from a cache).
    fn cache_identity(&self) -> Option<String> {
        None
    }
}

/// One record as the read cache holds it: under which key, for which
/// version of the store's, and the document's bytes as the store gave them
/// (`app purge` compares them with the stored record before deleting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    pub key: RecordKey,
    pub version: Version,
    pub document: Vec<u8>,
}

/// A local cache of downloaded records, by store identity (see
/// [`RecordReader::cache_identity`]). Synchronous on purpose: it is a
/// local file read once and written once per command, and a caller never
/// holds every cached document at once (entries are handed over one by
/// one, and written one by one).
///
/// A cache is an optimisation, never a source of truth: whatever it cannot
/// read or vouch for (another store's, damaged, truncated) it leaves out,
/// and the caller downloads that record again. Failing to write it is at
/// most a warning.
pub trait RecordCache: Send + Sync {
    /// Hands each cached entry of `identity` that is intact (checksum,
    /// identity, key all as written) to `found`, in no particular order.
    /// A missing, foreign or unreadable cache finds nothing.
    fn read(&self, identity: &str, found: &mut dyn FnMut(Cached));

    /// Starts replacing the cache of `identity`: the entries written go
    /// to a new cache that replaces the old one whole at
    /// [`CacheWriter::commit`], so that a reader (another imglife run)
    /// sees the old cache or the new one, never a mix. Dropping the writer
    /// without committing leaves the old cache as it was.
    fn rewrite(&self, identity: &str) -> Result<Box<dyn CacheWriter>, String>;
}

/// The new contents of one store's cache, written entry by entry.
pub trait CacheWriter: Send {
    fn write(&mut self, key: &RecordKey, version: &Version, document: &[u8]) -> Result<(), String>;

    /// Makes the entries written the store's cache, replacing the old one.
    fn commit(self: Box<Self>) -> Result<(), String>;
}

/// Where build records are kept. Every store keeps one record per key and
/// writes the bytes it is given unchanged.
#[async_trait]
pub trait RecordStore: RecordReader {
    /// Stores `document` as the record of `key`, replacing any earlier one.
    /// A reader sees the old or the new record, never a mix.
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError>;

    /// Removes the record of `key`; removing a record that is not there is
    /// not an error.
    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError>;

    /// Removes the record of `key` only while it is still `expected` (the
    /// document the caller read and decided on): a record registered again
    /// in the meantime is kept. `Ok(true)` when it was deleted, `Ok(false)`
    /// when it had changed or was gone and nothing was deleted.
    ///
    /// This default compares, then deletes: a write landing between the
    /// two is lost. Stores narrow or close that window with what they can
    /// check at deletion time (a file's identity, a package file's id, an
    /// ETag).
    async fn delete_if_unchanged(
        &self,
        key: &RecordKey,
        expected: &[u8],
    ) -> Result<bool, StoreError> {
        match self.get(key).await? {
            Some(current) if current == expected => {
                self.delete(key).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// A step of a command that may take long enough to show progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Inspecting { image: String, source: String },
    Publishing { location: String },
    Listing,
    Reading { total: usize },
    Deleting { total: usize },
}

/// Progress reporting. Synchronous on purpose: reporting must never wait
/// on I/O of its own, and a spinner lives on its own thread.
pub trait Reporter: Send + Sync {
    fn step_started(&self, step: &Step);
    fn step_finished(&self, step: &Step);
    /// `done` items of the current step's total are finished.
    fn progress(&self, _done: usize) {}
}

/// A reporter that shows nothing (JSON output, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentReporter;

impl Reporter for SilentReporter {
    fn step_started(&self, _: &Step) {}
    fn step_finished(&self, _: &Step) {}
}
