use async_trait::async_trait;
use imglife_domain::RecordKey;
use imglife_domain::ports::{Fetched, Listed, RecordReader, SilentReporter, StoreError};
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

    async fn list_versioned(&self) -> Result<Vec<Listed>, StoreError> {
        self.inner.list_versioned().await
    }

    async fn get_versioned(&self, key: &RecordKey) -> Result<Option<Fetched>, StoreError> {
        if key == &self.key {
            return Err(self.error.clone());
        }
        self.inner.get_versioned(key).await
    }

    fn cache_identity(&self) -> Option<String> {
        self.inner.cache_identity()
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
    assert_eq!(loaded.entries[0].document, Some(records[1].to_json()));
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

// ------------------------------------------------------------ read cache

mod cache {
    use std::path::PathBuf;

    use imglife_domain::ports::{RecordCache, RecordReader as _, Version};
    use imglife_fs_store::cache::FsCache;
    use imglife_testkit::MemoryStore;

    use super::ALPINE;
    use crate::purge::{Retention, purge};
    use crate::records::{Loaded, Options, load_with};
    use crate::testing::{key_of, put_all, record, time};
    use imglife_domain::BuildRecord;
    use imglife_domain::ports::SilentReporter;

    struct Fixture {
        store: MemoryStore,
        cache: FsCache,
        _dir: tempfile::TempDir,
        records: Vec<BuildRecord>,
    }

    impl Fixture {
        async fn new() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = MemoryStore::new();
            let records: Vec<BuildRecord> = ["a", "b", "c"]
                .iter()
                .enumerate()
                .map(|(i, app)| {
                    record(
                        &format!("registry.example.com/apps/{app}:1"),
                        ALPINE,
                        &format!("2026-04-0{}T10:00:00Z", i + 1),
                    )
                })
                .collect();
            put_all(&store, &records).await;
            Self {
                store,
                cache: FsCache::new(dir.path().join("cache")),
                _dir: dir,
                records,
            }
        }

        async fn load(&self) -> Loaded {
            self.load_with(true).await
        }

        async fn load_with(&self, documents: bool) -> Loaded {
            load_with(
                &self.store,
                &SilentReporter,
                Options {
                    cache: Some(&self.cache),
                    documents,
                },
            )
            .await
            .expect("loaded")
        }

        fn file(&self) -> PathBuf {
            self.cache.file_of("memory")
        }

        /// Keys (as `name/version`) the cache holds now.
        fn cached(&self) -> Vec<String> {
            let mut keys = Vec::new();
            self.cache
                .read("memory", &mut |c| keys.push(c.key.to_string()));
            keys.sort();
            keys
        }
    }

    fn images(loaded: &Loaded) -> Vec<String> {
        loaded
            .entries
            .iter()
            .map(|e| e.record.image.to_string())
            .collect()
    }

    #[tokio::test]
    async fn an_unchanged_store_is_read_from_the_cache_without_downloads() {
        let f = Fixture::new().await;
        let cold = f.load().await;
        assert_eq!((cold.from_cache, cold.downloaded), (0, 3));
        assert_eq!(f.store.gets(), 3);
        assert_eq!(f.cached().len(), 3);

        let warm = f.load().await;
        assert_eq!((warm.from_cache, warm.downloaded), (3, 0));
        assert_eq!(f.store.gets(), 3, "no download on the warm load");
        assert_eq!(images(&warm), images(&cold));
        let documents = |l: &Loaded| -> Vec<Option<Vec<u8>>> {
            l.entries.iter().map(|e| e.document.clone()).collect()
        };
        assert_eq!(documents(&warm), documents(&cold), "the bytes as stored");
        assert!(warm.invalid.is_empty());

        // Without documents asked for, none are kept, cached or not.
        let lean = f.load_with(false).await;
        assert!(lean.entries.iter().all(|e| e.document.is_none()));
        assert_eq!(lean.from_cache, 3);
    }

    #[tokio::test]
    async fn a_changed_record_is_downloaded_again() {
        let f = Fixture::new().await;
        f.load().await;
        let changed = record(
            "registry.example.com/apps/a:1",
            ALPINE,
            "2026-04-09T10:00:00Z",
        );
        put_all(&f.store, std::slice::from_ref(&changed)).await;
        let gets = f.store.gets();
        let loaded = f.load().await;
        assert_eq!((loaded.from_cache, loaded.downloaded), (2, 1));
        assert_eq!(f.store.gets(), gets + 1);
        let a = loaded
            .entries
            .iter()
            .find(|e| e.key() == key_of(&changed))
            .expect("a");
        assert_eq!(a.record, changed, "the new record, not the cached one");
        assert_eq!(a.document.as_deref(), Some(changed.to_json().as_slice()));
        // And the cache now holds the new one.
        let again = f.load().await;
        assert_eq!((again.from_cache, again.downloaded), (3, 0));
        assert!(again.entries.iter().any(|e| e.record == changed));
    }

    #[tokio::test]
    async fn a_deleted_record_disappears_from_the_answer_and_the_cache() {
        let f = Fixture::new().await;
        f.load().await;
        f.store.remove(&key_of(&f.records[1]));
        let loaded = f.load().await;
        assert_eq!(
            images(&loaded),
            [
                "registry.example.com/apps/c:1",
                "registry.example.com/apps/a:1"
            ]
        );
        assert_eq!((loaded.from_cache, loaded.downloaded), (2, 0));
        assert_eq!(
            f.cached(),
            [
                key_of(&f.records[0]).to_string(),
                key_of(&f.records[2]).to_string()
            ]
        );
    }

    #[tokio::test]
    async fn a_corrupt_entry_is_ignored_downloaded_again_and_replaced() {
        let f = Fixture::new().await;
        f.load().await;
        let text = std::fs::read_to_string(f.file()).expect("cache file");
        // b's cached document says another revision; its checksum does not.
        let b = key_of(&f.records[1]).to_string();
        let damaged: Vec<String> = text
            .lines()
            .map(|line| {
                if line.contains(&format!("\"key\":\"{b}\"")) {
                    line.replace("a3f8b1c0", "deadbeef")
                } else {
                    line.to_owned()
                }
            })
            .collect();
        assert_ne!(damaged.join("\n") + "\n", text, "the entry was altered");
        std::fs::write(f.file(), damaged.join("\n") + "\n").expect("write");
        let gets = f.store.gets();
        let loaded = f.load().await;
        assert_eq!((loaded.from_cache, loaded.downloaded), (2, 1));
        assert_eq!(f.store.gets(), gets + 1);
        assert!(
            loaded
                .entries
                .iter()
                .all(|e| e.record.revision.short() == "a3f8b1c"),
            "nothing of the damaged entry was used"
        );
        // Replaced: the next load needs no download.
        let again = f.load().await;
        assert_eq!((again.from_cache, again.downloaded), (3, 0));
    }

    #[tokio::test]
    async fn a_cached_document_that_is_not_the_key_s_record_is_not_trusted() {
        let f = Fixture::new().await;
        f.load().await;
        // An intact entry (right checksum, right version) whose document
        // is another image's record: checked like a download, not used.
        let a = key_of(&f.records[0]);
        let listed = f.store.list_versioned().await.expect("listed");
        let version: Version = listed
            .iter()
            .find(|l| l.key == a)
            .and_then(|l| l.version.clone())
            .expect("version");
        let mut writer = f.cache.rewrite("memory").expect("writer");
        writer
            .write(&a, &version, &f.records[1].to_json())
            .expect("write");
        writer.commit().expect("commit");
        let loaded = f.load().await;
        assert_eq!((loaded.from_cache, loaded.downloaded), (0, 3));
        assert!(loaded.invalid.is_empty());
        assert!(loaded.entries.iter().any(|e| e.record == f.records[0]));
    }

    #[tokio::test]
    async fn another_store_s_cache_file_is_ignored_and_replaced() {
        let f = Fixture::new().await;
        f.load().await;
        let text = std::fs::read_to_string(f.file()).expect("cache file");
        let foreign = text.replacen(
            "\"identity\":\"memory\"",
            "\"identity\":\"s3 http://elsewhere/b/\"",
            1,
        );
        assert_ne!(foreign, text);
        std::fs::write(f.file(), foreign).expect("write");
        let gets = f.store.gets();
        let loaded = f.load().await;
        assert_eq!((loaded.from_cache, loaded.downloaded), (0, 3));
        assert_eq!(f.store.gets(), gets + 3);
        let again = f.load().await;
        assert_eq!((again.from_cache, again.downloaded), (3, 0));
    }

    #[tokio::test]
    async fn a_store_unreachable_after_listing_leaves_the_cache_as_it_was() {
        let f = Fixture::new().await;
        f.load().await;
        let file = f.file();
        let before = std::fs::read(&file).expect("cache file");
        put_all(
            &f.store,
            &[record(
                "registry.example.com/apps/d:1",
                ALPINE,
                "2026-04-09T10:00:00Z",
            )],
        )
        .await;
        let failing = super::FailOneGet {
            inner: f.store,
            key: key_of(&record(
                "registry.example.com/apps/d:1",
                ALPINE,
                "2026-04-09T10:00:00Z",
            )),
            error: imglife_domain::ports::StoreError::Unavailable("down".into()),
        };
        let result = load_with(
            &failing,
            &SilentReporter,
            Options {
                cache: Some(&f.cache),
                documents: false,
            },
        )
        .await;
        assert!(result.is_err());
        assert_eq!(std::fs::read(&file).expect("cache file"), before);
    }

    #[tokio::test]
    async fn purge_through_the_cache_deletes_only_what_it_read_and_the_cache_forgets_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = FsCache::new(dir.path());
        let store = MemoryStore::new();
        let old = record(
            "registry.example.com/apps/a:1",
            ALPINE,
            "2026-01-01T10:00:00Z",
        );
        let new = record(
            "registry.example.com/apps/a:2",
            ALPINE,
            "2026-04-01T10:00:00Z",
        );
        put_all(&store, &[old.clone(), new.clone()]).await;
        let retention = Retention {
            keep_last: 1,
            max_age_days: 1,
        };
        let now = time("2026-04-02T10:00:00Z");
        // A dry run first fills the cache.
        let dry = crate::stores::DryRun::new(Box::new(MemoryStoreView(&store)));
        let planned = purge(&dry, retention, now, &SilentReporter, Some(&cache))
            .await
            .expect("dry run");
        assert_eq!(planned.deleted.len(), 1);
        let gets = store.gets();
        let purged = purge(&store, retention, now, &SilentReporter, Some(&cache))
            .await
            .expect("purged");
        assert_eq!(purged.deleted.len(), 1);
        assert_eq!(purged.deleted[0].record, old);
        assert!(!store.records().contains_key(&key_of(&old)));
        // Records came from the cache: the only reads were the checked
        // deletion's (the kept record still there, the deleted one unchanged).
        assert_eq!(store.gets() - gets, 2);
        let loaded = load_with(
            &store,
            &SilentReporter,
            Options {
                cache: Some(&cache),
                documents: false,
            },
        )
        .await
        .expect("loaded");
        assert_eq!(loaded.entries.len(), 1);
        assert_eq!(loaded.entries[0].record, new);
        let mut cached = Vec::new();
        cache.read("memory", &mut |c| cached.push(c.key));
        assert_eq!(cached, [key_of(&new)]);
    }

    /// A store that gives no versions and no identity (the port's
    /// defaults), as the GitLab and Gitea stores.
    struct Anonymous(MemoryStore);

    #[async_trait::async_trait]
    impl imglife_domain::ports::RecordReader for Anonymous {
        fn location(&self, key: &imglife_domain::RecordKey) -> String {
            self.0.location(key)
        }
        async fn get(
            &self,
            key: &imglife_domain::RecordKey,
        ) -> Result<Option<Vec<u8>>, imglife_domain::ports::StoreError> {
            self.0.get(key).await
        }
        async fn list(
            &self,
        ) -> Result<Vec<imglife_domain::RecordKey>, imglife_domain::ports::StoreError> {
            self.0.list().await
        }
    }

    #[tokio::test]
    async fn a_store_without_identity_is_never_cached() {
        let f = Fixture::new().await;
        let store = Anonymous(MemoryStore::new());
        put_all(&store.0, &f.records).await;
        for _ in 0..2 {
            let loaded = load_with(
                &store,
                &SilentReporter,
                Options {
                    cache: Some(&f.cache),
                    documents: false,
                },
            )
            .await
            .expect("loaded");
            assert_eq!(loaded.entries.len(), 3);
            assert_eq!((loaded.from_cache, loaded.downloaded), (0, 3));
        }
        assert_eq!(store.0.gets(), 6, "everything downloaded each time");
        assert!(!f.cache.dir().exists(), "no cache written");
    }

    /// A reader over a borrowed `MemoryStore` (`DryRun` takes a box).
    struct MemoryStoreView<'a>(&'a MemoryStore);

    #[async_trait::async_trait]
    impl imglife_domain::ports::RecordReader for MemoryStoreView<'_> {
        fn location(&self, key: &imglife_domain::RecordKey) -> String {
            self.0.location(key)
        }
        async fn get(
            &self,
            key: &imglife_domain::RecordKey,
        ) -> Result<Option<Vec<u8>>, imglife_domain::ports::StoreError> {
            self.0.get(key).await
        }
        async fn list(
            &self,
        ) -> Result<Vec<imglife_domain::RecordKey>, imglife_domain::ports::StoreError> {
            self.0.list().await
        }
        async fn list_versioned(
            &self,
        ) -> Result<Vec<imglife_domain::ports::Listed>, imglife_domain::ports::StoreError> {
            self.0.list_versioned().await
        }
        async fn get_versioned(
            &self,
            key: &imglife_domain::RecordKey,
        ) -> Result<Option<imglife_domain::ports::Fetched>, imglife_domain::ports::StoreError>
        {
            self.0.get_versioned(key).await
        }
        fn cache_identity(&self) -> Option<String> {
            self.0.cache_identity()
        }
    }
}
