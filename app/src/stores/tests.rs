use imglife_domain::ports::{RecordReader, RecordStore};
use imglife_testkit::MemoryStore;

use super::DryRun;
use crate::testing::{key_of, put_all, record};

#[tokio::test]
async fn writes_nothing_and_reads_through() {
    let inner = MemoryStore::new();
    let kept = record(
        "registry.example.com/apps/a:1",
        "registry.example.com/bases/alpine:3.21",
        "2026-04-01T10:00:00Z",
    );
    put_all(&inner, std::slice::from_ref(&kept)).await;
    let before = inner.records();
    let dry = DryRun::new(Box::new(inner));

    let other = record(
        "registry.example.com/apps/b:1",
        "registry.example.com/bases/alpine:3.21",
        "2026-04-01T10:00:00Z",
    );
    dry.put(&key_of(&other), &other.to_json())
        .await
        .expect("a dry put succeeds");
    dry.delete(&key_of(&kept))
        .await
        .expect("a dry delete succeeds");
    assert_eq!(dry.reader().records(), before, "nothing written or deleted");

    // Reads see the real store, so a dry run plans on real data.
    assert_eq!(dry.list().await, Ok(vec![key_of(&kept)]));
    assert_eq!(dry.get(&key_of(&kept)).await, Ok(Some(kept.to_json())));
    assert_eq!(dry.get(&key_of(&other)).await, Ok(None));
    assert_eq!(
        dry.location(&key_of(&kept)),
        dry.reader().location(&key_of(&kept))
    );
    assert_eq!(dry.parallelism(), dry.reader().parallelism());
}

#[tokio::test]
async fn wraps_a_boxed_reader_of_any_kind() {
    // What the composition root builds: the configured store, typed as a
    // reader only.
    let reader: Box<dyn RecordReader> = Box::new(MemoryStore::new());
    let dry: Box<dyn RecordStore> = Box::new(DryRun::new(reader));
    let r = record(
        "registry.example.com/apps/a:1",
        "registry.example.com/bases/alpine:3.21",
        "2026-04-01T10:00:00Z",
    );
    dry.put(&key_of(&r), &r.to_json()).await.expect("put");
    assert_eq!(dry.list().await, Ok(vec![]), "the put was not stored");
}
