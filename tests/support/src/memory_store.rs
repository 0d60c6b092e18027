//! [`MemoryStore`]: a [`RecordStore`] kept in memory, for unit tests of the
//! use cases. It passes the same contract as the real stores
//! ([`crate::contract`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::ports::{Fetched, Listed, RecordReader, RecordStore, StoreError, Version};

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
///
/// Every write (through the port or planted) gives the record a new
/// version, a number no earlier write of the store had, as a store's
/// ETag or file identity would; [`MemoryStore::gets`] counts downloads.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// When set, every call through the port fails with this error.
    failure: Option<StoreError>,
    gets: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    records: BTreeMap<RecordKey, (Vec<u8>, u64)>,
    /// The last version given.
    writes: u64,
}

impl State {
    fn insert(&mut self, key: &RecordKey, bytes: Vec<u8>) {
        self.writes += 1;
        self.records.insert(key.clone(), (bytes, self.writes));
    }
}

fn version(n: u64) -> Version {
    Version::new(format!("w{n}"))
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
            failure: Some(error),
            ..Self::default()
        }
    }

    /// Stores `bytes` as the record of `key` without going through the
    /// port: no check, no failure. Returns `self` so that a test can chain
    /// plants.
    pub fn plant(&self, key: &RecordKey, bytes: impl Into<Vec<u8>>) -> &Self {
        self.lock().insert(key, bytes.into());
        self
    }

    /// Removes the record of `key` without going through the port, as
    /// another job would.
    pub fn remove(&self, key: &RecordKey) -> &Self {
        self.lock().records.remove(key);
        self
    }

    /// A copy of every record, by key.
    pub fn records(&self) -> BTreeMap<RecordKey, Vec<u8>> {
        self.lock()
            .records
            .iter()
            .map(|(k, (bytes, _))| (k.clone(), bytes.clone()))
            .collect()
    }

    /// How many `get`s (plain or versioned) were made through the port.
    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock left the map whole
        // (every operation is a single map call).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The records, unless this store was made to fail.
    fn usable(&self) -> Result<MutexGuard<'_, State>, StoreError> {
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
        Ok(self.get_versioned(key).await?.map(|f| f.document))
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        Ok(self.usable()?.records.keys().cloned().collect())
    }

    async fn list_versioned(&self) -> Result<Vec<Listed>, StoreError> {
        Ok(self
            .usable()?
            .records
            .iter()
            .map(|(key, (_, n))| Listed {
                key: key.clone(),
                version: Some(version(*n)),
            })
            .collect())
    }

    async fn get_versioned(&self, key: &RecordKey) -> Result<Option<Fetched>, StoreError> {
        let state = self.usable()?;
        self.gets.fetch_add(1, Ordering::SeqCst);
        Ok(state.records.get(key).map(|(bytes, n)| Fetched {
            document: bytes.clone(),
            version: Some(version(*n)),
        }))
    }

    /// `memory`: tests give each store its own cache directory.
    fn cache_identity(&self) -> Option<String> {
        Some("memory".to_owned())
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
        self.usable()?.insert(key, document.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.usable()?.records.remove(key);
        Ok(())
    }
}
