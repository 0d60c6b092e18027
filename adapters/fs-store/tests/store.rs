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

// ---------------------------------------------------------------------------
// A store nobody can trust: special files, huge files, links, killed writers.
// ---------------------------------------------------------------------------

#[cfg(unix)]
mod hostile {
    use std::future::Future;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, OnceLock, mpsc};
    use std::time::{Duration, SystemTime};

    use imglife_domain::ports::{RecordReader, RecordStore, StoreError};
    use imglife_fs_store::{FsStore, MAX_RECORD_BYTES, STALE_AFTER};

    use super::{key, temp_root};

    /// How long any store call here may take before the test fails: every
    /// call below is expected to return at once, so this bound only turns
    /// a hang into a failure.
    const DEADLINE: Duration = Duration::from_secs(10);

    /// Runs `work` on its own thread and runtime and returns its result,
    /// or fails the test if it is still running at the deadline (a read
    /// blocked on a FIFO would otherwise hang the test forever).
    fn within<T: Send + 'static>(what: &str, work: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            let _ = tx.send(runtime.block_on(work));
        });
        rx.recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("{what}: still running after {DEADLINE:?}"))
    }

    fn get(store: &FsStore, reference: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (store, k) = (store.clone(), key(reference));
        within(
            &format!("get {reference}"),
            async move { store.get(&k).await },
        )
    }

    fn list(store: &FsStore) -> Result<Vec<imglife_domain::RecordKey>, StoreError> {
        let store = store.clone();
        let mut listed = within("list", async move { store.list().await })?;
        listed.sort();
        Ok(listed)
    }

    fn put(store: &FsStore, reference: &str, document: &[u8]) -> Result<(), StoreError> {
        let (store, k, document) = (store.clone(), key(reference), document.to_vec());
        within(&format!("put {reference}"), async move {
            store.put(&k, &document).await
        })
    }

    fn mkfifo(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo runs");
        assert!(status.success(), "mkfifo {}", path.display());
    }

    fn symlink(target: &Path, link: &Path) {
        std::fs::create_dir_all(link.parent().expect("parent")).expect("dir");
        std::os::unix::fs::symlink(target, link).expect("symlink");
    }

    fn write(path: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, bytes).expect("write");
    }

    /// A store rooted at `<dir>/records`, created.
    fn store_in(dir: &Path) -> (FsStore, PathBuf) {
        let root = dir.join("records");
        std::fs::create_dir_all(&root).expect("root");
        (FsStore::new(&root, dir).must_exist(true), root)
    }

    /// Everything `tracing` logs in this test binary. The warnings are
    /// emitted on the blocking pool's threads, so the subscriber is global;
    /// each test looks for the paths of its own temporary directory.
    fn logged() -> String {
        static LOG: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
        let log = LOG.get_or_init(|| {
            let log: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
            struct Capture(&'static Mutex<Vec<u8>>);
            impl std::io::Write for Capture {
                fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                    self.0.lock().expect("log").extend_from_slice(bytes);
                    Ok(bytes.len())
                }
                fn flush(&mut self) -> std::io::Result<()> {
                    Ok(())
                }
            }
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_ansi(false)
                .with_writer(move || Capture(log))
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
            log
        });
        String::from_utf8_lossy(&log.lock().expect("log")).into_owned()
    }

    /// Installs the capturing subscriber before the test logs anything.
    fn capture_logs() {
        let _ = logged();
    }

    fn age(path: &Path, by: Duration) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .expect("open")
            .set_modified(SystemTime::now() - by)
            .expect("set mtime");
    }

    #[test]
    fn a_fifo_named_like_a_record_is_listed_and_refused_at_once() {
        let dir = temp_root();
        let (store, root) = store_in(dir.path());
        put(&store, "r.io/apps/a:1.0", b"valid\n").expect("put");
        mkfifo(&root.join("r.io+apps+a/2.0.json"));

        assert_eq!(
            list(&store),
            Ok(vec![key("r.io/apps/a:1.0"), key("r.io/apps/a:2.0")]),
            "listed, so that a read command names it"
        );
        let err = get(&store, "r.io/apps/a:2.0").expect_err("a FIFO is no record");
        let text = err.to_string();
        assert!(
            text.contains("r.io+apps+a/2.0.json") && text.contains("FIFO"),
            "{text}"
        );
        assert_eq!(
            get(&store, "r.io/apps/a:1.0"),
            Ok(Some(b"valid\n".to_vec()))
        );
    }

    #[test]
    fn a_link_to_dev_zero_named_like_a_record_is_refused_at_once() {
        let dir = temp_root();
        let (store, root) = store_in(dir.path());
        symlink(Path::new("/dev/zero"), &root.join("r.io+apps+a/1.0.json"));
        let err = get(&store, "r.io/apps/a:1.0").expect_err("never followed");
        let text = err.to_string();
        assert!(
            text.contains("symbolic link") && text.contains("/dev/zero"),
            "{text}"
        );
        assert!(text.contains("r.io+apps+a/1.0.json"), "{text}");
    }

    #[test]
    fn a_link_to_a_valid_record_outside_the_root_is_not_followed() {
        let dir = temp_root();
        let outside = temp_root();
        let (store, root) = store_in(dir.path());
        let target = outside.path().join("1.0.json");
        write(&target, b"a record outside\n");
        symlink(&target, &root.join("r.io+apps+a/1.0.json"));
        let err = get(&store, "r.io/apps/a:1.0").expect_err("never followed");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn a_record_over_the_limit_is_refused_naming_limit_and_size() {
        let dir = temp_root();
        let (store, root) = store_in(dir.path());
        assert_eq!(MAX_RECORD_BYTES, 1024 * 1024);
        write(
            &root.join("r.io+apps+a/1.0.json"),
            &vec![b' '; 2 * 1024 * 1024],
        );
        let err = get(&store, "r.io/apps/a:1.0").expect_err("2 MiB");
        let text = err.to_string();
        assert!(
            text.contains("r.io+apps+a/1.0.json")
                && text.contains("2097152 bytes")
                && text.contains("limit of 1048576 bytes"),
            "{text}"
        );

        // Exactly at the limit is still a (badly formed, but readable) record.
        let at_limit = vec![b' '; 1024 * 1024];
        write(&root.join("r.io+apps+b/1.0.json"), &at_limit);
        assert_eq!(get(&store, "r.io/apps/b:1.0"), Ok(Some(at_limit)));

        // And the store never writes what it would refuse to read.
        let err = put(&store, "r.io/apps/c:1.0", &vec![b' '; 1024 * 1024 + 1])
            .expect_err("over the limit");
        assert!(err.to_string().contains("1048576"), "{err}");
        assert!(!root.join("r.io+apps+c/1.0.json").exists());
    }

    #[test]
    fn listing_skips_and_names_links_and_special_files() {
        capture_logs();
        let dir = temp_root();
        let outside = temp_root();
        let (store, root) = store_in(dir.path());
        put(&store, "r.io/apps/a:1.0", b"valid\n").expect("put");
        // A repository directory elsewhere, linked into the store.
        write(
            &outside.path().join("r.io+apps+out/1.0.json"),
            b"a record outside\n",
        );
        symlink(
            &outside.path().join("r.io+apps+out"),
            &root.join("r.io+apps+out"),
        );
        // A link to a directory inside the root: not followed either.
        symlink(&root.join("r.io+apps+a"), &root.join("r.io+apps+alias"));
        // Special files where repository directories belong.
        mkfifo(&root.join("r.io+apps+fifo"));
        symlink(Path::new("/dev/zero"), &root.join("r.io+apps+zero"));
        // A special file beside records that is not named like one.
        mkfifo(&root.join("r.io+apps+a/notes"));

        assert_eq!(
            list(&store),
            Ok(vec![key("r.io/apps/a:1.0")]),
            "nothing behind a link or in a special file"
        );
        let log = logged();
        for (name, what) in [
            ("r.io+apps+out", "symbolic link"),
            ("r.io+apps+alias", "symbolic link"),
            ("r.io+apps+fifo", "FIFO"),
            ("r.io+apps+zero", "symbolic link to /dev/zero"),
            ("r.io+apps+a/notes", "FIFO"),
        ] {
            let path = root.join(name).display().to_string();
            assert!(
                log.lines()
                    .any(|l| l.contains("WARN") && l.contains(&path) && l.contains(what)),
                "{name} named as {what} in the log:\n{log}"
            );
        }

        // Reading or deleting through the linked directory is refused too.
        let err = get(&store, "r.io/apps/out:1.0").expect_err("not followed");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let (s, k) = (store.clone(), key("r.io/apps/out:1.0"));
        within("delete", async move { s.delete(&k).await }).expect_err("not followed");
        assert!(
            outside.path().join("r.io+apps+out/1.0.json").exists(),
            "nothing deleted outside the root"
        );
    }

    #[test]
    fn file_names_are_escaped_in_the_log() {
        capture_logs();
        let dir = temp_root();
        let (store, root) = store_in(dir.path());
        mkfifo(&root.join("evil\u{1b}[31m\u{202e}"));
        assert_eq!(list(&store), Ok(vec![]));
        let log = logged();
        let shown = root.join("evil\\u{1b}[31m\\u{202e}").display().to_string();
        assert!(log.contains(&shown), "escaped name in the log:\n{log}");
        assert!(
            !log.contains('\u{1b}') && !log.contains('\u{202e}'),
            "{log}"
        );
    }

    #[test]
    fn a_write_removes_only_stale_temporary_files_of_its_own_directory() {
        let dir = temp_root();
        let outside = temp_root();
        let (store, root) = store_in(dir.path());
        let repo = root.join("r.io+apps+a");
        let two_hours = Duration::from_secs(2 * 60 * 60);
        assert!(two_hours > STALE_AFTER);
        let planted = |name: &str, old: bool| {
            let path = repo.join(name);
            write(&path, b"{\"image\":");
            if old {
                age(&path, two_hours);
            }
            path
        };
        let stale = planted(".1.0.AbC123.tmp", true);
        let stale_other_version = planted(".2.0.OlD999.tmp", true);
        let fresh = planted(".1.0.XyZ789.tmp", false);
        let foreign = planted(".notes.tmp", true);
        let not_hidden = planted("1.0.AbC123.tmp", true);
        // An old file of another repository: not this write's directory.
        let elsewhere = root.join("r.io+apps+b/.1.0.AbC123.tmp");
        write(&elsewhere, b"{");
        age(&elsewhere, two_hours);
        // A link named like a temporary file, to an old file outside.
        let target = outside.path().join("precious");
        write(&target, b"precious");
        age(&target, two_hours);
        let link = repo.join(".1.0.LnK000.tmp");
        symlink(&target, &link);

        put(&store, "r.io/apps/a:1.0", b"record\n").expect("put");

        assert!(
            !stale.exists(),
            "a killed writer's old temp file is removed"
        );
        assert!(!stale_other_version.exists(), "whatever its version");
        for kept in [&fresh, &foreign, &not_hidden, &elsewhere] {
            assert!(kept.exists(), "{} is kept", kept.display());
        }
        assert!(
            std::fs::symlink_metadata(&link).is_ok() && target.exists(),
            "a link is neither followed nor removed"
        );
        assert_eq!(
            get(&store, "r.io/apps/a:1.0"),
            Ok(Some(b"record\n".to_vec()))
        );
        assert_eq!(
            list(&store),
            Ok(vec![key("r.io/apps/a:1.0")]),
            "temp files are never listed"
        );
    }

    #[test]
    fn a_listing_over_max_records_is_an_error_not_a_truncated_answer() {
        let dir = temp_root();
        let (store, _) = store_in(dir.path());
        for reference in ["r.io/apps/a:1", "r.io/apps/a:2", "r.io/apps/b:1"] {
            put(&store, reference, b"x\n").expect("put");
        }
        let err = list(&store.clone().max_records(2)).expect_err("3 > 2");
        let text = err.to_string();
        assert!(
            text.contains("more than 2 records") && text.contains("registry.max_records"),
            "{text}"
        );
        assert_eq!(list(&store.max_records(3)).map(|l| l.len()), Ok(3));
    }

    #[test]
    fn a_record_directory_that_is_a_fifo_or_file_is_no_repository() {
        let dir = temp_root();
        let (store, root) = store_in(dir.path());
        write(&root.join("r.io+apps+file"), b"not a directory");
        // A record looked up under a repository that is a regular file:
        // an error, not a hang nor a panic.
        get(&store, "r.io/apps/file:1.0").expect_err("not a directory");
        mkfifo(&root.join("r.io+apps+fifo"));
        get(&store, "r.io/apps/fifo:1.0").expect_err("not a directory");
        assert_eq!(list(&store), Ok(vec![]));
    }
}

/// Purge's deletion: only the document that was read goes; a record
/// written again since is kept whole, and nothing is left aside.
#[tokio::test]
async fn delete_if_unchanged_deletes_only_what_was_read() {
    let dir = temp_root();
    let store = FsStore::new(std::path::Path::new("records"), dir.path());
    let a = key("r.io/apps/a:1.0");
    store.put(&a, b"old\n").await.expect("put");
    store.put(&a, b"new\n").await.expect("registered again");
    assert_eq!(store.delete_if_unchanged(&a, b"old\n").await, Ok(false));
    assert_eq!(store.get(&a).await, Ok(Some(b"new\n".to_vec())), "kept");

    assert_eq!(store.delete_if_unchanged(&a, b"new\n").await, Ok(true));
    assert_eq!(store.get(&a).await, Ok(None), "deleted");
    assert_eq!(
        store.delete_if_unchanged(&a, b"new\n").await,
        Ok(false),
        "gone: nothing to delete"
    );
    // No moved-aside file is left behind, and the emptied directory went.
    assert!(
        !dir.path().join("records/r.io+apps+a").exists(),
        "{:?}",
        std::fs::read_dir(dir.path().join("records/r.io+apps+a"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );

    let b = key("r.io/apps/b:2");
    store.put(&b, b"kept\n").await.expect("put b");
    store.put(&a, b"other\n").await.expect("put a");
    assert_eq!(store.delete_if_unchanged(&b, b"changed\n").await, Ok(false));
    let files: Vec<_> = std::fs::read_dir(dir.path().join("records/r.io+apps+b"))
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(files, ["2.json"], "put back, nothing aside");
}
