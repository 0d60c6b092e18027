//! The filesystem store against a real directory.

use std::sync::Arc;

use imglife_domain::ports::{RecordReader, RecordStore};
use imglife_domain::{ImageRef, RecordKey};
use imglife_fs_store::FsStore;

fn key(reference: &str) -> RecordKey {
    RecordKey::for_reference(&ImageRef::parse(reference).expect("reference")).expect("key")
}

fn temp_root() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[tokio::test]
async fn put_get_list_and_replace() {
    let dir = temp_root();
    let store = FsStore::new(std::path::Path::new("records"), dir.path());
    assert_eq!(
        store.list().await,
        Ok(vec![]),
        "a store never written is empty"
    );

    let a = key("r.io/apps/a:1.0");
    let b = key("r.io/apps/b:2");
    store.put(&a, b"first\n").await.expect("put a");
    store.put(&a, b"second\n").await.expect("replace a");
    store.put(&b, b"other\n").await.expect("put b");

    assert_eq!(store.get(&a).await, Ok(Some(b"second\n".to_vec())));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("records/r.io+apps+a/1.0.json");
        let mode = std::fs::metadata(path)
            .expect("record")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o644,
            0o644,
            "readable by others in a shared store (umask 022): {mode:o}"
        );
    }
    assert_eq!(store.get(&key("r.io/apps/none:1")).await, Ok(None));
    let mut listed = store.list().await.expect("list");
    listed.sort();
    assert_eq!(listed, vec![a.clone(), b.clone()]);
    assert_eq!(
        store.location(&a),
        "filesystem records/r.io+apps+a/1.0.json",
        "the location is shown relative, as configured"
    );
    store.delete(&b).await.expect("delete b");
    store
        .delete(&b)
        .await
        .expect("deleting again is not an error");
    assert_eq!(store.get(&b).await, Ok(None));
    assert_eq!(store.list().await.map(|l| l.len()), Ok(1));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("records/r.io+apps+a"))
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("1.0.json")],
        "no temporary files left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_leave_one_whole_record() {
    let dir = temp_root();
    let store = Arc::new(FsStore::new(dir.path(), dir.path()));
    let k = key("r.io/apps/a:1.0");
    let documents: Vec<Vec<u8>> = (0..32u8)
        .map(|i| vec![b'a' + (i % 26); 64 * 1024])
        .collect();
    let mut tasks = Vec::new();
    for document in documents.clone() {
        let (store, k) = (Arc::clone(&store), k.clone());
        tasks.push(tokio::spawn(async move { store.put(&k, &document).await }));
    }
    for t in tasks {
        t.await.expect("join").expect("put");
    }
    let stored = store.get(&k).await.expect("get").expect("present");
    assert!(
        documents.contains(&stored),
        "the record is one writer's whole document"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn refuses_to_follow_a_link_out_of_the_root() {
    let dir = temp_root();
    let outside = temp_root();
    let root = dir.path().join("records");
    std::fs::create_dir_all(&root).expect("root");
    std::os::unix::fs::symlink(outside.path(), root.join("r.io+apps+a")).expect("symlink");
    let store = FsStore::new(&root, dir.path());
    let err = store
        .put(&key("r.io/apps/a:1.0"), b"x")
        .await
        .expect_err("must refuse");
    assert!(err.to_string().contains("outside the store root"), "{err}");
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("dir").count(),
        0,
        "nothing written outside"
    );
}
