use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::ports::{RecordReader, SilentReporter, StoreError};
use imglife_testkit::MemoryStore;

use super::load;
use crate::testing::{key_of, put_all, record};

const ALPINE: &str = "registry.example.com/bases/alpine:3.21";

/// A store whose `get` of one key fails with `error`; the rest is a
/// `MemoryStore`.
struct FailOneGet {
    inner: MemoryStore,
    key: RecordKey,
    error: StoreError,
}

#[async_trait]
impl RecordReader for FailOneGet {
    fn location(&self, key: &RecordKey) -> String {
        self.inner.location(key)
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        if key == &self.key {
            return Err(self.error.clone());
        }
        self.inner.get(key).await
    }

    async fn list(&self) -> Result<Vec<RecordKey>, StoreError> {
        self.inner.list().await
    }
}

#[tokio::test]
async fn loads_every_record_newest_first() {
    let store = MemoryStore::new();
    let records = [
        record(
            "registry.example.com/apps/b:1",
            ALPINE,
            "2026-04-01T10:00:00Z",
        ),
        record(
            "registry.example.com/apps/a:2",
            ALPINE,
            "2026-04-03T10:00:00Z",
        ),
        // Same time as b:1: the image breaks the tie.
        record(
            "registry.example.com/apps/a:1",
            ALPINE,
            "2026-04-01T10:00:00Z",
        ),
    ];
    put_all(&store, &records).await;

    let loaded = load(&store, &SilentReporter).await.expect("loaded");
    let images: Vec<String> = loaded
        .entries
        .iter()
        .map(|e| e.record.image.to_string())
        .collect();
    assert_eq!(
        images,
        [
            "registry.example.com/apps/a:2",
            "registry.example.com/apps/a:1",
            "registry.example.com/apps/b:1"
        ]
    );
    assert!(loaded.invalid.is_empty());
    // The document is kept as stored, for `app list --output json`.
    assert_eq!(loaded.entries[0].document, records[1].to_json());
}

#[tokio::test]
async fn an_empty_store_is_an_empty_answer() {
    let loaded = load(&MemoryStore::new(), &SilentReporter)
        .await
        .expect("loaded");
    assert!(loaded.entries.is_empty() && loaded.invalid.is_empty());
}

#[tokio::test]
async fn unreadable_records_are_named_by_key_and_the_rest_still_loads() {
    let store = MemoryStore::new();
    let good = record(
        "registry.example.com/apps/good:1",
        ALPINE,
        "2026-04-01T10:00:00Z",
    );
    put_all(&store, std::slice::from_ref(&good)).await;
    let garbage = key_of(&record(
        "registry.example.com/apps/garbage:1",
        ALPINE,
        "2026-04-01T10:00:00Z",
    ));
    store.plant(&garbage, b"{ not json".to_vec());
    // A valid document under another image's key is not that image's
    // record.
    let elsewhere = key_of(&record(
        "registry.example.com/apps/elsewhere:1",
        ALPINE,
        "2026-04-01T10:00:00Z",
    ));
    store.plant(&elsewhere, good.to_json());

    let loaded = load(&store, &SilentReporter).await.expect("loaded");
    assert_eq!(loaded.entries.len(), 1);
    assert_eq!(loaded.entries[0].record, good);
    let named: Vec<&RecordKey> = loaded.invalid.iter().map(|i| &i.key).collect();
    let mut expected = vec![&elsewhere, &garbage];
    expected.sort();
    assert_eq!(named, expected, "sorted by key");
    let reason_of = |key: &RecordKey| {
        loaded
            .invalid
            .iter()
            .find(|i| &i.key == key)
            .map(|i| i.reason.clone())
            .unwrap_or_default()
    };
    assert!(
        reason_of(&garbage).starts_with("not a build record"),
        "{}",
        reason_of(&garbage)
    );
    assert!(
        reason_of(&elsewhere).contains("stored under another image's key"),
        "{}",
        reason_of(&elsewhere)
    );
}

#[tokio::test]
async fn a_record_the_store_refuses_to_hand_out_is_named_not_fatal() {
    let inner = MemoryStore::new();
    let records = [
        record(
            "registry.example.com/apps/a:1",
            ALPINE,
            "2026-04-01T10:00:00Z",
        ),
        record(
            "registry.example.com/apps/b:1",
            ALPINE,
            "2026-04-01T10:00:00Z",
        ),
    ];
    put_all(&inner, &records).await;
    let store = FailOneGet {
        inner,
        key: key_of(&records[0]),
        error: StoreError::Failed("permission denied".into()),
    };
    let loaded = load(&store, &SilentReporter).await.expect("loaded");
    assert_eq!(loaded.entries.len(), 1);
    assert_eq!(loaded.invalid.len(), 1);
    assert_eq!(loaded.invalid[0].key, key_of(&records[0]));
    assert_eq!(loaded.invalid[0].reason, "permission denied");
}

#[tokio::test]
async fn a_store_error_is_an_error_never_an_empty_list() {
    for error in [
        StoreError::Unavailable("connection refused".into()),
        StoreError::Denied("401".into()),
        StoreError::Failed("500".into()),
    ] {
        let store = MemoryStore::failing(error.clone());
        assert_eq!(load(&store, &SilentReporter).await.err(), Some(error));
    }

    // A store that lists but then becomes unreachable or refuses us.
    for error in [
        StoreError::Unavailable("timed out".into()),
        StoreError::Denied("token expired".into()),
    ] {
        let inner = MemoryStore::new();
        let r = record(
            "registry.example.com/apps/a:1",
            ALPINE,
            "2026-04-01T10:00:00Z",
        );
        put_all(&inner, std::slice::from_ref(&r)).await;
        let store = FailOneGet {
            inner,
            key: key_of(&r),
            error: error.clone(),
        };
        assert_eq!(load(&store, &SilentReporter).await.err(), Some(error));
    }
}
