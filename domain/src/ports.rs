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

/// Reading build records: all that `status` and `app list` get, so that a
/// read command holds nothing that could write or delete.
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
