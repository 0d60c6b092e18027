//! Wrappers around record stores that change what a command may do with
//! them, so that the use cases never have to ask "is this a dry run?".

use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::ports::{Fetched, Listed, RecordReader, RecordStore, StoreError};

/// A store that reads through to `S` and writes nothing: `put` and `delete`
/// succeed without touching `S` and only log, at debug level, what they
/// would have done. `register --dry-run` and `app purge --dry-run` hand it
/// to the same use cases as a real run, so a dry run takes exactly the
/// real run's path up to the store and cannot write by mistake.
///
/// It wraps a reader, not a store: the value inside has no write methods
/// at all. `S` may be unsized (`DryRun<dyn RecordReader>`), which is what
/// the composition root builds around whichever store is configured.
pub struct DryRun<S: RecordReader + ?Sized> {
    reader: Box<S>,
}

impl<S: RecordReader + ?Sized> DryRun<S> {
    pub fn new(reader: Box<S>) -> Self {
        Self { reader }
    }

    /// The wrapped reader (tests look at it to check nothing was written).
    pub fn reader(&self) -> &S {
        &self.reader
    }
}

#[async_trait]
impl<S: RecordReader + ?Sized> RecordReader for DryRun<S> {
    fn location(&self, key: &RecordKey) -> String {
        self.reader.location(key)
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.reader.get(key).await
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        self.reader.list().await
    }

    fn parallelism(&self) -> usize {
        self.reader.parallelism()
    }

    async fn list_versioned(&self) -> Result<Vec<Listed>, StoreError> {
        self.reader.list_versioned().await
    }

    async fn get_versioned(&self, key: &RecordKey) -> Result<Option<Fetched>, StoreError> {
        self.reader.get_versioned(key).await
    }

    fn cache_identity(&self) -> Option<String> {
        self.reader.cache_identity()
    }
}

#[async_trait]
impl<S: RecordReader + ?Sized> RecordStore for DryRun<S> {
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        tracing::debug!(
            %key,
            location = %self.reader.location(key),
            bytes = document.len(),
            "dry run: the record would be stored here; nothing written"
        );
        Ok(())
    }

    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        tracing::debug!(
            %key,
            location = %self.reader.location(key),
            "dry run: the record would be deleted; nothing deleted"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;
