//! The contract's own check: each case fails against a store with the flaw
//! it is meant to catch (an in-memory store broken on purpose).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use imglife_domain::ports::{Fetched, Listed, RecordReader, RecordStore, StoreError, Version};
use imglife_domain::{ImageRef, RecordKey};
use imglife_testkit::MemoryStore;
use imglife_testkit::contract::{self, Harness, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    ForgetsWrites,
    InventsRecords,
    KeepsFirstWrite,
    ListsTwice,
    ListsForeign,
    IgnoresDelete,
    FailsDeleteOfMissing,
    TearsConcurrentWrites,
    RefusesConcurrentWrites,
    LosesConcurrentWrites,
    DeletesBeforeWriting,
    ListsEmptyWhenDown,
    HidesUnparsable,
    OneLocation,
    UnstableLocation,
    DeletesChangedRecords,
    KeepsVersionOnOverwrite,
}

struct Flawed {
    inner: MemoryStore,
    flaw: Flaw,
    /// What `plant_foreign` put in: listed only by `ListsForeign`.
    foreign: Mutex<Vec<RecordKey>>,
    writing: AtomicUsize,
    locations: AtomicUsize,
}

impl Flawed {
    fn new(inner: MemoryStore, flaw: Flaw) -> Self {
        Self {
            inner,
            flaw,
            foreign: Mutex::default(),
            writing: AtomicUsize::new(0),
            locations: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl RecordReader for Flawed {
    fn location(&self, key: &RecordKey) -> String {
        match self.flaw {
            Flaw::OneLocation => "memory".to_owned(),
            Flaw::UnstableLocation => {
                let n = self.locations.fetch_add(1, Ordering::Relaxed);
                format!("{} #{n}", self.inner.location(key))
            }
            _ => self.inner.location(key),
        }
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        let found = self.inner.get(key).await?;
        Ok(match self.flaw {
            Flaw::ForgetsWrites => None,
            Flaw::InventsRecords => Some(found.unwrap_or_default()),
            Flaw::HidesUnparsable => {
                found.filter(|b| serde_json::from_slice::<serde_json::Value>(b).is_ok())
            }
            _ => found,
        })
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        let mut keys = self.inner.list().await?;
        match self.flaw {
            Flaw::ListsTwice => keys.extend(keys.clone()),
            Flaw::ListsForeign => keys.extend(self.foreign.lock().unwrap().clone()),
            _ => {}
        }
        Ok(keys)
    }

    /// Versions only for the flaw that gets them wrong: one per key, the
    /// same forever (a modification time of too coarse a clock).
    async fn list_versioned(&self) -> Result<Vec<Listed>, StoreError> {
        let version = (self.flaw == Flaw::KeepsVersionOnOverwrite).then(|| Version::new("v1"));
        Ok(self
            .list()
            .await?
            .into_iter()
            .map(|key| Listed {
                key,
                version: version.clone(),
            })
            .collect())
    }

    async fn get_versioned(&self, key: &RecordKey) -> Result<Option<Fetched>, StoreError> {
        let version = (self.flaw == Flaw::KeepsVersionOnOverwrite).then(|| Version::new("v1"));
        Ok(self.get(key).await?.map(|document| Fetched {
            document,
            version: version.clone(),
        }))
    }
}

#[async_trait]
impl RecordStore for Flawed {
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        let concurrent = self.writing.fetch_add(1, Ordering::SeqCst) > 0;
        let result = match self.flaw {
            Flaw::KeepsFirstWrite if self.inner.records().contains_key(key) => Ok(()),
            Flaw::RefusesConcurrentWrites if concurrent => {
                Err(StoreError::Failed("busy".to_owned()))
            }
            Flaw::LosesConcurrentWrites if concurrent => Ok(()),
            Flaw::DeletesBeforeWriting => {
                self.inner.delete(key).await?;
                tokio::time::sleep(Duration::from_millis(5)).await;
                self.inner.put(key, document).await
            }
            Flaw::TearsConcurrentWrites => {
                let (head, tail) = document.split_at(document.len() / 2);
                self.inner.plant(key, head);
                tokio::time::sleep(Duration::from_millis(5)).await;
                let mut torn = self.inner.records().remove(key).unwrap_or_default();
                torn.extend_from_slice(tail);
                self.inner.plant(key, torn);
                Ok(())
            }
            _ => self.inner.put(key, document).await,
        };
        // Keep the writer "in progress" a moment so that others overlap.
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.writing.fetch_sub(1, Ordering::SeqCst);
        result
    }

    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        match self.flaw {
            Flaw::IgnoresDelete => Ok(()),
            Flaw::FailsDeleteOfMissing if !self.inner.records().contains_key(key) => {
                Err(StoreError::Failed("no such record".to_owned()))
            }
            _ => self.inner.delete(key).await,
        }
    }

    async fn delete_if_unchanged(
        &self,
        key: &RecordKey,
        expected: &[u8],
    ) -> Result<bool, StoreError> {
        match self.flaw {
            // Deletes whatever is there: the purge race loses a record.
            Flaw::DeletesChangedRecords => {
                let there = self.inner.records().contains_key(key);
                self.inner.delete(key).await?;
                Ok(there)
            }
            _ => self.inner.delete_if_unchanged(key, expected).await,
        }
    }
}

struct Broken(Flaw);

#[async_trait]
impl Harness for Broken {
    type Store = Flawed;
    type Backing = ();

    async fn fresh(&self) -> (Flawed, ()) {
        (Flawed::new(MemoryStore::new(), self.0), ())
    }

    async fn plant(&self, store: &Flawed, (): &(), key: &RecordKey, bytes: &[u8]) {
        store.inner.plant(key, bytes);
    }

    async fn plant_foreign(&self, store: &Flawed, (): &()) {
        let foreign = ImageRef::parse("registry.example.com/tools/eol-data:2026.1").unwrap();
        store
            .foreign
            .lock()
            .unwrap()
            .push(RecordKey::for_reference(&foreign).unwrap());
    }

    fn failing(&self) -> Flawed {
        if self.0 == Flaw::ListsEmptyWhenDown {
            Flawed::new(MemoryStore::new(), self.0)
        } else {
            Flawed::new(
                MemoryStore::failing(StoreError::Unavailable("down".to_owned())),
                self.0,
            )
        }
    }
}

type Case = for<'a> fn(&'a Broken) -> Pin<Box<dyn Future<Output = Outcome> + 'a>>;

macro_rules! cases {
    ($($case:ident),+ $(,)?) => {
        [$((stringify!($case), (|h| Box::pin(contract::$case(h))) as Case)),+]
    };
}

#[test]
fn every_case_catches_its_flaw() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let cases = cases!(
        put_then_get,
        get_of_a_missing_key_is_none,
        second_put_wins,
        list_returns_every_key_once_and_no_foreign_entry,
        delete_removes_and_tolerates_missing_keys,
        delete_if_unchanged_keeps_a_record_written_again,
        concurrent_writers_of_one_key_leave_one_whole_record,
        concurrent_writers_of_many_keys_all_land,
        readers_see_a_whole_record_during_rewrites,
        empty_store_lists_nothing_and_failing_store_errs,
        unparsable_record_is_listed_and_read_back_verbatim,
        order_of_keys_does_not_matter_and_locations_are_distinct,
        versions_change_on_overwrite_and_match_the_read,
    );
    let expected: &[(Flaw, &str)] = &[
        (Flaw::ForgetsWrites, "put_then_get"),
        (
            Flaw::DeletesChangedRecords,
            "delete_if_unchanged_keeps_a_record_written_again",
        ),
        (Flaw::InventsRecords, "get_of_a_missing_key_is_none"),
        (Flaw::KeepsFirstWrite, "second_put_wins"),
        (
            Flaw::ListsTwice,
            "list_returns_every_key_once_and_no_foreign_entry",
        ),
        (
            Flaw::ListsForeign,
            "list_returns_every_key_once_and_no_foreign_entry",
        ),
        (
            Flaw::IgnoresDelete,
            "delete_removes_and_tolerates_missing_keys",
        ),
        (
            Flaw::FailsDeleteOfMissing,
            "delete_removes_and_tolerates_missing_keys",
        ),
        (
            Flaw::TearsConcurrentWrites,
            "concurrent_writers_of_one_key_leave_one_whole_record",
        ),
        (
            Flaw::RefusesConcurrentWrites,
            "concurrent_writers_of_one_key_leave_one_whole_record",
        ),
        (
            Flaw::LosesConcurrentWrites,
            "concurrent_writers_of_many_keys_all_land",
        ),
        (
            Flaw::DeletesBeforeWriting,
            "readers_see_a_whole_record_during_rewrites",
        ),
        (
            Flaw::ListsEmptyWhenDown,
            "empty_store_lists_nothing_and_failing_store_errs",
        ),
        (
            Flaw::HidesUnparsable,
            "unparsable_record_is_listed_and_read_back_verbatim",
        ),
        (
            Flaw::OneLocation,
            "order_of_keys_does_not_matter_and_locations_are_distinct",
        ),
        (
            Flaw::UnstableLocation,
            "order_of_keys_does_not_matter_and_locations_are_distinct",
        ),
        (
            Flaw::KeepsVersionOnOverwrite,
            "versions_change_on_overwrite_and_match_the_read",
        ),
    ];
    let mut missed = Vec::new();
    let mut covered = BTreeSet::new();
    for (flaw, name) in expected {
        let (_, case) = cases.iter().find(|(n, _)| n == name).unwrap();
        let harness = Broken(*flaw);
        match runtime.block_on(case(&harness)) {
            Err(_) => {
                covered.insert(*name);
            }
            Ok(()) => missed.push(format!("{name} passed a store that {flaw:?}")),
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
    assert_eq!(
        covered.len(),
        cases.len(),
        "every case has a flaw it catches"
    );
}
