use std::collections::{BTreeMap, BTreeSet};

use imglife_domain::RecordKey;
use imglife_domain::ports::{SilentReporter, StoreError};
use imglife_testkit::MemoryStore;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::{Plan, Retention, plan, purge};
use crate::records::{Entry, newest_first};
use crate::stores::DryRun;
use crate::testing::{entry, key_of, put_all, time};

const ALPINE: &str = "registry.example.com/bases/alpine:3.21";
const NOW: &str = "2026-04-30T12:00:00Z";

/// A record of `repository` (`registry.example.com/apps/<repository>`)
/// built `days` days before `NOW`.
fn aged(repository: &str, tag: &str, days: i64) -> Entry {
    let built = time(NOW) - SignedDuration::from_hours(24 * days);
    entry(
        &format!("registry.example.com/apps/{repository}:{tag}"),
        ALPINE,
        &built.to_string(),
    )
}

fn loaded(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| newest_first(&a.record, &b.record));
    entries
}

fn tags(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.record.image.to_string()).collect()
}

fn app(repository: &str, tag: &str) -> String {
    format!("registry.example.com/apps/{repository}:{tag}")
}

const RETENTION: Retention = Retention {
    keep_last: 2,
    max_age_days: 30,
};

#[test]
fn keeps_the_newest_keep_last_and_the_young() {
    let entries = loaded(vec![
        aged("web", "5", 1),
        aged("web", "4", 10),
        aged("web", "3", 40),
        aged("web", "2", 50),
        aged("web", "1", 60),
    ]);
    let Plan { keep, delete } = plan(entries, RETENTION, time(NOW));
    assert_eq!(tags(&keep), [app("web", "5"), app("web", "4")]);
    assert_eq!(
        tags(&delete),
        [app("web", "3"), app("web", "2"), app("web", "1")]
    );

    // Young records stay beyond keep_last.
    let entries = loaded(vec![
        aged("web", "3", 1),
        aged("web", "2", 2),
        aged("web", "1", 29),
        aged("web", "0", 31),
    ]);
    let Plan { keep, delete } = plan(
        entries,
        Retention {
            keep_last: 1,
            max_age_days: 30,
        },
        time(NOW),
    );
    assert_eq!(keep.len(), 3);
    assert_eq!(tags(&delete), [app("web", "0")]);
}

#[test]
fn the_newest_record_stays_whatever_its_age_and_keep_last() {
    let entries = loaded(vec![aged("web", "2", 400), aged("web", "1", 500)]);
    let Plan { keep, delete } = plan(
        entries,
        Retention {
            keep_last: 0,
            max_age_days: 0,
        },
        time(NOW),
    );
    assert_eq!(tags(&keep), [app("web", "2")]);
    assert_eq!(tags(&delete), [app("web", "1")]);
}

#[test]
fn each_repository_is_counted_on_its_own() {
    let entries = loaded(vec![
        aged("web", "3", 100),
        aged("api", "9", 100),
        aged("web", "2", 200),
        aged("api", "8", 200),
        aged("web", "1", 300),
        aged("api", "7", 300),
    ]);
    let Plan { keep, delete } = plan(entries, RETENTION, time(NOW));
    let kept: BTreeSet<String> = tags(&keep).into_iter().collect();
    let expected: BTreeSet<String> = [
        app("web", "3"),
        app("web", "2"),
        app("api", "9"),
        app("api", "8"),
    ]
    .into_iter()
    .collect();
    assert_eq!(kept, expected);
    assert_eq!(tags(&delete), [app("api", "7"), app("web", "1")]);
}

#[test]
fn a_record_exactly_max_age_old_goes() {
    let entries = loaded(vec![aged("web", "2", 0), aged("web", "1", 30)]);
    let Plan { delete, .. } = plan(
        entries,
        Retention {
            keep_last: 1,
            max_age_days: 30,
        },
        time(NOW),
    );
    assert_eq!(tags(&delete), [app("web", "1")]);
}

async fn store_with(entries: &[Entry]) -> MemoryStore {
    let store = MemoryStore::new();
    let records: Vec<_> = entries.iter().map(|e| e.record.clone()).collect();
    put_all(&store, &records).await;
    store
}

fn fleet() -> Vec<Entry> {
    vec![
        aged("web", "3", 1),
        aged("web", "2", 100),
        aged("web", "1", 200),
    ]
}

#[tokio::test]
async fn purge_deletes_the_planned_records() {
    let store = store_with(&fleet()).await;
    let retention = Retention {
        keep_last: 1,
        max_age_days: 30,
    };
    let purged = purge(&store, retention, time(NOW), &SilentReporter, None)
        .await
        .expect("purged");
    assert_eq!(purged.examined, 3);
    assert_eq!(tags(&purged.deleted), [app("web", "2"), app("web", "1")]);
    assert_eq!(tags(&purged.kept), [app("web", "3")]);
    assert!(purged.failed.is_empty() && purged.invalid.is_empty());
    let left: Vec<RecordKey> = store.records().into_keys().collect();
    assert_eq!(left, [key_of(&fleet()[0].record)]);
}

#[tokio::test]
async fn a_dry_run_plans_the_same_and_deletes_nothing() {
    let store = store_with(&fleet()).await;
    let before = store.records();
    let dry = DryRun::new(Box::new(store));
    let retention = Retention {
        keep_last: 1,
        max_age_days: 30,
    };
    let purged = purge(&dry, retention, time(NOW), &SilentReporter, None)
        .await
        .expect("purged");
    assert_eq!(tags(&purged.deleted), [app("web", "2"), app("web", "1")]);
    assert_eq!(dry.reader().records(), before);
}

#[tokio::test]
async fn unreadable_records_are_counted_and_never_deleted() {
    let store = store_with(&fleet()).await;
    let broken = key_of(&aged("old", "1", 999).record);
    store.plant(&broken, b"not json".to_vec());
    let purged = purge(
        &store,
        Retention {
            keep_last: 0,
            max_age_days: 0,
        },
        time(NOW),
        &SilentReporter,
        None,
    )
    .await
    .expect("purged");
    assert_eq!(purged.examined, 4);
    assert_eq!(purged.invalid.len(), 1);
    assert_eq!(purged.invalid[0].key, broken);
    assert!(store.records().contains_key(&broken));
}

#[test]
fn a_record_dated_in_the_future_never_pushes_the_newest_out() {
    // A typo: built_at ten days ahead. It is kept, and web:2 (the real
    // newest) stays the one record keep_last = 1 keeps.
    let entries = loaded(vec![
        aged("web", "typo", -10),
        aged("web", "2", 40),
        aged("web", "1", 50),
    ]);
    let retention = Retention {
        keep_last: 1,
        max_age_days: 30,
    };
    let Plan { keep, delete } = plan(entries, retention, time(NOW));
    assert_eq!(tags(&keep), [app("web", "typo"), app("web", "2")]);
    assert_eq!(tags(&delete), [app("web", "1")]);
}

/// A store that, once `watched` has been read, lets `then` happen to the
/// store behind it: another job's register or purge landing between
/// purge's reading and its deleting.
struct Interleaved {
    inner: MemoryStore,
    watched: RecordKey,
    then: std::sync::Mutex<Option<Happening>>,
}

/// What happens to the store once the watched record was read.
type Happening = Box<dyn FnOnce(&MemoryStore) + Send>;

#[async_trait::async_trait]
impl imglife_domain::ports::RecordReader for Interleaved {
    fn location(&self, key: &RecordKey) -> String {
        self.inner.location(key)
    }
    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        let read = self.inner.get(key).await;
        if key == &self.watched {
            let then = self.then.lock().ok().and_then(|mut slot| slot.take());
            if let Some(then) = then {
                then(&self.inner);
            }
        }
        read
    }
    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        self.inner.list().await
    }
}

#[async_trait::async_trait]
impl imglife_domain::ports::RecordStore for Interleaved {
    async fn put(&self, key: &RecordKey, document: &[u8]) -> Result<(), StoreError> {
        self.inner.put(key, document).await
    }
    async fn delete(&self, key: &RecordKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
}

const KEEP_ONE: Retention = Retention {
    keep_last: 1,
    max_age_days: 30,
};

#[tokio::test]
async fn a_record_registered_again_while_purge_runs_is_kept() {
    let old = aged("web", "1", 200);
    let store = Interleaved {
        inner: store_with(&fleet()).await,
        watched: old.key(),
        // Registered again right after purge read it: now the newest.
        then: std::sync::Mutex::new(Some(Box::new(|inner: &MemoryStore| {
            let again = aged("web", "1", 0);
            inner.plant(&again.key(), again.document.expect("document"));
        }))),
    };
    let purged = purge(&store, KEEP_ONE, time(NOW), &SilentReporter, None)
        .await
        .expect("purged");
    assert_eq!(tags(&purged.deleted), [app("web", "2")]);
    assert_eq!(purged.skipped.len(), 1, "{:?}", purged.skipped);
    assert_eq!(purged.skipped[0].0, old.key());
    assert!(
        purged.skipped[0].1.contains("changed"),
        "{:?}",
        purged.skipped
    );
    assert_eq!(
        store.inner.records().get(&old.key()),
        aged("web", "1", 0).document.as_ref(),
        "the new record survives"
    );
}

#[tokio::test]
async fn nothing_is_deleted_once_the_newer_record_is_gone() {
    let newest = aged("web", "3", 1);
    let store = Interleaved {
        inner: store_with(&fleet()).await,
        watched: newest.key(),
        // Another purge (or a person) deleted the newest record.
        then: std::sync::Mutex::new(Some(Box::new(move |inner: &MemoryStore| {
            inner.remove(&newest.key());
        }))),
    };
    let purged = purge(&store, KEEP_ONE, time(NOW), &SilentReporter, None)
        .await
        .expect("purged");
    assert!(purged.deleted.is_empty(), "{:?}", tags(&purged.deleted));
    assert_eq!(purged.skipped.len(), 2);
    assert!(
        purged
            .skipped
            .iter()
            .all(|(_, why)| why.contains("is gone"))
    );
    assert_eq!(store.inner.records().len(), 2, "web:2 and web:1 stay");
}

#[tokio::test]
async fn a_store_that_cannot_be_read_is_an_error() {
    let store = MemoryStore::failing(StoreError::Unavailable("connection refused".into()));
    let result = purge(&store, RETENTION, time(NOW), &SilentReporter, None).await;
    assert_eq!(
        result.err(),
        Some(StoreError::Unavailable("connection refused".into()))
    );
}

/// Records of up to 4 repositories, each up to 8 records with ages in
/// hours (distinct within a repository, so that "newest" is unambiguous).
fn fleets() -> impl Strategy<Value = Vec<Entry>> {
    proptest::collection::vec(proptest::collection::btree_set(0_i64..24 * 120, 1..8), 1..4)
        .prop_map(|repositories| {
            let mut entries = Vec::new();
            for (r, ages) in repositories.iter().enumerate() {
                for (i, hours) in ages.iter().enumerate() {
                    let built = time(NOW) - SignedDuration::from_hours(*hours);
                    entries.push(entry(
                        &format!("registry.example.com/apps/r{r}:v{i}"),
                        ALPINE,
                        &built.to_string(),
                    ));
                }
            }
            loaded(entries)
        })
}

fn by_repository(entries: &[Entry]) -> BTreeMap<String, Vec<&Entry>> {
    let mut map: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        map.entry(e.record.image.repository()).or_default().push(e);
    }
    map
}

proptest! {
    #[test]
    fn retention_properties(
        entries in fleets(),
        keep_last in 0_u32..6,
        max_age_days in 0_u32..100,
    ) {
        let now: Timestamp = time(NOW);
        let retention = Retention { keep_last, max_age_days };
        let Plan { keep, delete } = plan(entries.clone(), retention, now);
        let max_age = SignedDuration::from_hours(24 * i64::from(max_age_days));
        let all = by_repository(&entries);
        let kept = by_repository(&keep);

        // keep + delete is a partition of the input.
        let mut split: Vec<RecordKey> = keep.iter().chain(&delete).map(Entry::key).collect();
        let mut input: Vec<RecordKey> = entries.iter().map(Entry::key).collect();
        split.sort();
        input.sort();
        prop_assert_eq!(split, input);

        for (repository, records) in &all {
            let newest = &records[0].key();
            // The newest record of each repository is never deleted.
            prop_assert!(keep.iter().any(|e| &e.key() == newest), "{repository}: newest deleted");
            // At least min(keep_last, n) records per repository are kept.
            let n = kept.get(repository).map_or(0, Vec::len);
            prop_assert!(n >= records.len().min(keep_last as usize));
        }

        // Every deleted record is old enough and beyond keep_last.
        for e in &delete {
            prop_assert!(now.duration_since(e.record.built_at()) >= max_age);
            let records = &all[&e.record.image.repository()];
            let position = records.iter().position(|r| r.key() == e.key()).unwrap_or(0);
            prop_assert!(position >= keep_last.max(1) as usize);
        }
    }
}
