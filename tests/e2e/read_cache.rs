//! The read cache of `status`, `app list` and `app purge`, through the
//! built binary: against the filesystem store and against a real S3 server
//! (s3s-fs in this process, whose listings carry ETags as S3's do). A
//! changed record is read again, a deleted one disappears, a damaged cache
//! (garbage, a damaged entry, another store's file) is ignored and
//! replaced, `--no-cache` neither reads nor writes it, the directory is
//! private and nothing secret is written into it.
//!
//! What came from the cache is told by the `--log-level info` line
//! `N record(s) from the read cache, M downloaded`, and for S3 by the
//! requests the server received.

use std::path::{Path, PathBuf};

use imglife_testkit::fixtures::{self, Spec, Stored};
use imglife_testkit::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use imglife_testkit::{Run, Sandbox};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const NEWEST: i64 = 1_775_037_600;
const BUCKET: &str = "records";
const PREFIX: &str = "ci";

fn fleet(n: usize) -> Vec<Stored> {
    fixtures::fleet(n, NEWEST).iter().map(Spec::store).collect()
}

/// `spec` registered again with another revision: the same key, other
/// bytes of the same length.
fn changed(record: &Stored) -> Stored {
    let mut spec = record.spec.clone();
    spec.revision = spec.revision.chars().rev().collect();
    assert_ne!(spec.revision, record.spec.revision);
    spec.store()
}

fn run(sandbox: &Sandbox, args: &[&str], env: &[(String, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut all = vec!["--log-level", "info"];
    all.extend_from_slice(args);
    sandbox.run(all, &env)
}

/// The records `app list --output json` printed, as (image, revision).
fn listed(run: &Run) -> Vec<(String, String)> {
    let value: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
    let mut out: Vec<(String, String)> = value
        .as_array()
        .unwrap_or_else(|| panic!("an array: {run:#?}"))
        .iter()
        .map(|r| {
            (
                r["image"].as_str().unwrap_or_default().to_owned(),
                r["revision"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn expected(records: &[Stored]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = records
        .iter()
        .map(|r| (r.spec.image.clone(), r.spec.revision.clone()))
        .collect();
    out.sort();
    out
}

/// `(from the cache, downloaded)` as the info line says.
fn counts(run: &Run) -> (usize, usize) {
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("record(s) from the read cache"))
        .unwrap_or_else(|| panic!("no cache line: {run:#?}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let n = numbers.len();
    assert!(n >= 2, "{line}");
    (numbers[n - 2], numbers[n - 1])
}

/// The files of the cache directory.
fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// The one cache file, and how many entries it holds.
fn the_cache_file(dir: &Path) -> (PathBuf, usize) {
    let files = cache_files(dir);
    assert_eq!(files.len(), 1, "one cache file: {files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("cache file");
    (files[0].clone(), text.lines().count() - 1)
}

// -------------------------------------------------------------- filesystem

struct FsCase {
    sandbox: Sandbox,
    env: Vec<(String, String)>,
    store: PathBuf,
    cache: PathBuf,
}

fn fs_case(records: &[Stored]) -> FsCase {
    let sandbox = Sandbox::new(BIN);
    let store = sandbox.path().join("store");
    fixtures::write_fs(&store, records);
    let env = vec![
        ("IMGLIFE_REGISTRY__PROVIDER".to_owned(), "fs".to_owned()),
        ("IMGLIFE_REGISTRY__PATH".to_owned(), "store".to_owned()),
        ("IMGLIFE_CACHE__DIR".to_owned(), "cache/imglife".to_owned()),
    ];
    let cache = sandbox.path().join("cache/imglife");
    FsCase {
        sandbox,
        env,
        store,
        cache,
    }
}

#[test]
fn fs_a_changed_record_is_read_again_and_a_deleted_one_disappears() {
    let mut records = fleet(30);
    let case = fs_case(&records);
    let list = ["app", "list", "--output", "json"];

    let cold = run(&case.sandbox, &list, &case.env);
    cold.expect_code(0);
    assert_eq!(listed(&cold), expected(&records));
    assert_eq!(counts(&cold), (0, 30));
    assert_eq!(the_cache_file(&case.cache).1, 30);

    let warm = run(&case.sandbox, &list, &case.env);
    warm.expect_code(0);
    assert_eq!(warm.stdout, cold.stdout, "the same answer");
    assert_eq!(counts(&warm), (30, 0));

    // Rewritten in place (same size, same inode), and replaced by a new
    // file as imglife's own writes do.
    let size = records[3].bytes.len();
    records[3] = changed(&records[3]);
    records[7] = changed(&records[7]);
    assert_eq!(
        records[3].bytes.len(),
        size,
        "same size: only the time tells"
    );
    let in_place = case
        .store
        .join(&records[3].name)
        .join(format!("{}.json", records[3].version));
    std::fs::write(&in_place, &records[3].bytes).expect("rewrite");
    let renamed = case
        .store
        .join(&records[7].name)
        .join(format!("{}.json", records[7].version));
    let temp = renamed.with_extension("new");
    std::fs::write(&temp, &records[7].bytes).expect("write");
    std::fs::rename(&temp, &renamed).expect("rename");
    // Deleted behind imglife's back.
    let gone = records.remove(11);
    std::fs::remove_file(
        case.store
            .join(&gone.name)
            .join(format!("{}.json", gone.version)),
    )
    .expect("delete");

    let after = run(&case.sandbox, &list, &case.env);
    after.expect_code(0);
    assert_eq!(
        listed(&after),
        expected(&records),
        "new records, none deleted"
    );
    assert_eq!(counts(&after), (27, 2));
    assert_eq!(the_cache_file(&case.cache).1, 29, "the deleted record left");

    // status reads the same cache.
    let status = run(&case.sandbox, &["status", "--output", "json"], &case.env);
    status.expect_code(0);
    assert_eq!(counts(&status), (29, 0));
}

#[cfg(unix)]
#[test]
fn fs_the_cache_is_private_and_holds_only_records() {
    use std::os::unix::fs::PermissionsExt;
    let records = fleet(5);
    let case = fs_case(&records);
    run(&case.sandbox, &["status"], &case.env).expect_code(0);
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&case.cache), 0o700, "the directory");
    let (file, entries) = the_cache_file(&case.cache);
    assert_eq!(mode(&file), 0o600, "the file");
    assert_eq!(entries, 5);
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    assert!(
        name.starts_with("records-") && name.ends_with(".jsonl"),
        "{name}"
    );
}

#[test]
fn fs_a_damaged_cache_is_ignored_and_replaced() {
    let records = fleet(12);
    let case = fs_case(&records);
    let list = ["app", "list", "--output", "json"];
    let cold = run(&case.sandbox, &list, &case.env);
    cold.expect_code(0);
    let (file, _) = the_cache_file(&case.cache);
    let good = std::fs::read_to_string(&file).expect("cache file");

    // One entry's document altered (its checksum no longer matches): that
    // record is downloaded again, never taken from the damaged entry.
    let victim = &records[4];
    let lines: Vec<String> = good
        .lines()
        .map(|l| {
            if l.contains(&format!("\"key\":\"{}/{}\"", victim.name, victim.version)) {
                l.replacen(&victim.spec.revision, &"0".repeat(40), 1)
            } else {
                l.to_owned()
            }
        })
        .collect();
    let damaged = lines.join("\n") + "\n";
    assert_ne!(damaged, good);
    std::fs::write(&file, &damaged).expect("damage");
    let after = run(&case.sandbox, &list, &case.env);
    after.expect_code(0);
    assert_eq!(after.stdout, cold.stdout);
    assert_eq!(counts(&after), (11, 1));
    let again = run(&case.sandbox, &list, &case.env);
    assert_eq!(counts(&again), (12, 0), "replaced by a sound entry");

    // Garbage, a file cut short, another store's file: all ignored, and
    // the run succeeds with the right answer, then the file is rebuilt.
    let foreign = good.replacen("\"identity\":\"fs ", "\"identity\":\"fs /elsewhere", 1);
    assert_ne!(foreign, good);
    for junk in [
        b"\x00\xff garbage, not JSON lines".to_vec(),
        good.as_bytes()[..good.len() / 2].to_vec(),
        foreign.into_bytes(),
    ] {
        std::fs::write(&file, &junk).expect("junk");
        let run1 = run(&case.sandbox, &list, &case.env);
        run1.expect_code(0);
        assert_eq!(run1.stdout, cold.stdout);
        assert!(counts(&run1).1 >= 6, "{:?}", counts(&run1));
        let run2 = run(&case.sandbox, &list, &case.env);
        assert_eq!(counts(&run2), (12, 0));
    }
}

#[test]
fn fs_no_cache_neither_reads_nor_writes_it() {
    let records = fleet(6);
    let case = fs_case(&records);
    for args in [
        vec!["status", "--no-cache"],
        vec!["app", "list", "--no-cache"],
        vec!["app", "purge", "--dry-run", "--no-cache"],
    ] {
        let done = run(&case.sandbox, &args, &case.env);
        done.expect_code(0);
        assert!(
            !done.stderr.contains("from the read cache"),
            "{args:?}: {done:#?}"
        );
        assert!(!case.cache.exists(), "{args:?} wrote the cache");
    }
    // A cache that would answer wrongly is not read under --no-cache.
    run(&case.sandbox, &["app", "list"], &case.env).expect_code(0);
    let (file, _) = the_cache_file(&case.cache);
    std::fs::write(&file, b"garbage").expect("write");
    let bypass = run(&case.sandbox, &["app", "list", "--no-cache"], &case.env);
    bypass.expect_code(0);
    assert_eq!(
        std::fs::read(&file).expect("file"),
        b"garbage",
        "not rewritten"
    );
}

#[test]
fn fs_the_default_cache_is_under_xdg_cache_home() {
    let records = fleet(4);
    let case = fs_case(&records);
    let env: Vec<(String, String)> = case
        .env
        .iter()
        .filter(|(k, _)| k != "IMGLIFE_CACHE__DIR")
        .cloned()
        .collect();
    run(&case.sandbox, &["status"], &env).expect_code(0);
    let dir = case.sandbox.cache_home().join("imglife");
    assert_eq!(the_cache_file(&dir).1, 4);
    let warm = run(&case.sandbox, &["status"], &env);
    assert_eq!(counts(&warm), (4, 0));
}

#[test]
fn fs_purge_uses_the_cache_and_the_next_read_forgets_what_it_deleted() {
    let records = fleet(40);
    let case = fs_case(&records);
    run(&case.sandbox, &["app", "list"], &case.env).expect_code(0);
    let purge = [
        "app",
        "purge",
        "--keep-last",
        "2",
        "--max-age-days",
        "1",
        "--output",
        "json",
    ];
    let done = run(&case.sandbox, &purge, &case.env);
    done.expect_code(0);
    assert_eq!(counts(&done), (40, 0));
    let report: serde_json::Value = serde_json::from_str(&done.stdout).expect("JSON");
    let deleted = report["deleted"].as_array().map(Vec::len).unwrap_or(0);
    assert!(deleted > 0, "{report}");
    let after = run(
        &case.sandbox,
        &["app", "list", "--output", "json"],
        &case.env,
    );
    after.expect_code(0);
    assert_eq!(listed(&after).len(), 40 - deleted);
    assert_eq!(counts(&after), (40 - deleted, 0));
    assert_eq!(the_cache_file(&case.cache).1, 40 - deleted);
}

// ---------------------------------------------------------------------- S3

fn s3_env(server: &S3Server) -> Vec<(String, String)> {
    [
        ("IMGLIFE_REGISTRY__PROVIDER", "s3".to_owned()),
        ("IMGLIFE_REGISTRY__URL", server.url()),
        ("IMGLIFE_REGISTRY__BUCKET", BUCKET.to_owned()),
        ("IMGLIFE_REGISTRY__PREFIX", PREFIX.to_owned()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ("IMGLIFE_REGISTRY__RETRY_BUDGET_SECS", "5".to_owned()),
        ("IMGLIFE_CACHE__DIR", "cache".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn object(record: &Stored) -> String {
    format!("{PREFIX}/{}/{}.json", record.name, record.version)
}

/// Object GETs (not listings) the server received since the last call.
fn downloads(server: &S3Server) -> usize {
    let n = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.query.is_none())
        .count();
    server.record_requests(true);
    n
}

#[test]
fn s3_only_new_or_changed_objects_are_downloaded() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let mut records = fleet(25);
    for r in &records {
        server.put_file(BUCKET, &object(r), &r.bytes);
    }
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server);
    let list = ["app", "list", "--output", "json"];

    server.record_requests(true);
    let cold = run(&sandbox, &list, &env);
    cold.expect_code(0);
    assert_eq!(listed(&cold), expected(&records));
    assert_eq!(counts(&cold), (0, 25));
    assert_eq!(downloads(&server), 25);

    let warm = run(&sandbox, &list, &env);
    warm.expect_code(0);
    assert_eq!(warm.stdout, cold.stdout);
    assert_eq!(counts(&warm), (25, 0));
    assert_eq!(
        downloads(&server),
        0,
        "nothing downloaded when nothing changed"
    );

    // One object rewritten behind imglife's back, one deleted, one added.
    records[2] = changed(&records[2]);
    server.put_file(BUCKET, &object(&records[2]), &records[2].bytes);
    let gone = records.remove(9);
    std::fs::remove_file(server.root().join(BUCKET).join(object(&gone))).expect("delete");
    let added = fixtures::fleet(26, NEWEST)[25].store();
    server.put_file(BUCKET, &object(&added), &added.bytes);
    records.push(added);

    let after = run(&sandbox, &list, &env);
    after.expect_code(0);
    assert_eq!(listed(&after), expected(&records));
    assert_eq!(counts(&after), (23, 2));
    assert_eq!(downloads(&server), 2, "the changed and the new object only");
    let cache = sandbox.path().join("cache");
    assert_eq!(the_cache_file(&cache).1, 25);

    // A record registered again through imglife is read again too.
    let again = run(
        &sandbox,
        &[
            "register",
            "--image",
            &records[0].spec.image,
            "--base",
            &records[0].spec.base,
            "--platform",
            "linux/amd64",
            "--revision",
            "b4c9d2e",
            "--project",
            &records[0].spec.project,
        ],
        &env,
    );
    again.expect_code(0);
    downloads(&server);
    let status = run(&sandbox, &["status", "--output", "json"], &env);
    status.expect_code(0);
    assert_eq!(counts(&status), (24, 1));
    assert_eq!(downloads(&server), 1);
    let list = run(&sandbox, &list, &env);
    assert!(
        listed(&list).iter().any(|(_, rev)| rev == "b4c9d2e"),
        "{list:#?}"
    );
}

#[test]
fn s3_the_cache_holds_no_secret_and_a_foreign_file_is_replaced() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let records = fleet(8);
    for r in &records {
        server.put_file(BUCKET, &object(r), &r.bytes);
    }
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server);
    let run1 = run(&sandbox, &["app", "list"], &env);
    run1.expect_code(0);
    let cache = sandbox.path().join("cache");
    let (file, entries) = the_cache_file(&cache);
    assert_eq!(entries, 8);
    let text = std::fs::read_to_string(&file).expect("cache file");
    for secret in [SECRET_KEY, ACCESS_KEY, "Authorization", "Signature"] {
        assert!(!text.contains(secret), "{secret} in the cache: {text}");
    }
    assert!(
        text.lines()
            .next()
            .is_some_and(|h| h.contains(&format!("/{BUCKET}/{PREFIX}/"))),
        "the header names the bucket and prefix: {text}"
    );

    // Another store's file under this name: ignored, then replaced.
    let foreign = text.replacen("\"identity\":\"s3 ", "\"identity\":\"s3 http://other", 1);
    assert_ne!(foreign, text);
    std::fs::write(&file, foreign).expect("write");
    server.record_requests(true);
    let run2 = run(&sandbox, &["app", "list"], &env);
    run2.expect_code(0);
    assert_eq!(counts(&run2), (0, 8));
    assert_eq!(downloads(&server), 8);
    let run3 = run(&sandbox, &["app", "list"], &env);
    assert_eq!(counts(&run3), (8, 0));
    assert_eq!(downloads(&server), 0);
}
