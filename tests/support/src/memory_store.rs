//! [`MemoryStore`]: a [`RecordStore`] kept in memory, for unit tests of the
//! use cases. It passes the same contract as the real stores
//! ([`crate::contract`]).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::ports::{RecordReader, RecordStore, StoreError};

/// An in-memory record store: one document per key, kept as the bytes it
/// was given.
///
/// ```
/// # use imglife_testkit::MemoryStore;
/// # use imglife_domain::ports::StoreError;
/// let store = MemoryStore::new(); // empty, works
/// let down = MemoryStore::failing(StoreError::Unavailable("down".into()));
/// ```
///
/// [`MemoryStore::plant`] puts bytes in behind the port's back (a record
/// written by another tool, a corrupt upload), and
/// [`MemoryStore::records`] shows what a use case left behind.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<RecordKey, Vec<u8>>>,
    /// When set, every call through the port fails with this error.
    failure: Option<StoreError>,
}

impl MemoryStore {
    /// An empty store that works.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose every port call (`get`, `list`, `put`, `delete`) fails
    /// with `error`, as an unreachable or misconfigured store would.
    /// [`MemoryStore::plant`] and [`MemoryStore::records`] still work.
    pub fn failing(error: StoreError) -> Self {
        Self {
            records: Mutex::default(),
            failure: Some(error),
        }
    }

    /// Stores `bytes` as the record of `key` without going through the
    /// port: no check, no failure. Returns `self` so that a test can chain
    /// plants.
    pub fn plant(&self, key: &RecordKey, bytes: impl Into<Vec<u8>>) -> &Self {
        self.lock().insert(key.clone(), bytes.into());
        self
    }

    /// Removes the record of `key` without going through the port, as
    /// another job would.
    pub fn remove(&self, key: &RecordKey) -> &Self {
        self.lock().remove(key);
        self
    }

    /// A copy of every record, by key.
    pub fn records(&self) -> BTreeMap<RecordKey, Vec<u8>> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<RecordKey, Vec<u8>>> {
        // A test that panicked while holding the lock left the map whole
        // (every operation is a single map call).
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The records, unless this store was made to fail.
    fn usable(&self) -> Result<MutexGuard<'_, BTreeMap<RecordKey, Vec<u8>>>, StoreError> {
        match &self.failure {
            Some(error) => Err(error.clone()),
            None => Ok(self.lock()),
        }
    }
}

#[async_trait]
impl RecordReader for MemoryStore {
    /// `memory <name>/<version>`.
    fn location(&self, key: &RecordKey) -> String {
        format!("memory {key}")
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.usable()?.get(key).cloned())
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        Ok(self.usable()?.keys().cloned().collect())
    }

    /// More than one, so that use cases reading concurrently are exercised
    /// as they are against the real stores.
    fn parallelism(&self) -> usize {
        4
    }
}

#[async_trait]
impl RecordStore for MemoryStore {
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        self.usable()?.insert(key.clone(), document.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.usable()?.remove(key);
        Ok(())
    }
}
