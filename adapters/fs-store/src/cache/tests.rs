#![allow(clippy::unwrap_used)]

use super::*;

const IDENTITY: &str = "s3 http://127.0.0.1:9000/records/ci/";

fn key(name: &str, version: &str) -> RecordKey {
    RecordKey::from_parts(name, version).unwrap()
}

fn doc(n: u32) -> Vec<u8> {
    format!("{{\n  \"image\": \"r.io/app:{n}\"\n}}\n").into_bytes()
}

/// Writes `n` entries (`r.io+app/<i>`, version `"v<i>"`) and commits.
fn fill(cache: &FsCache, n: u32) {
    let mut writer = cache.rewrite(IDENTITY).unwrap();
    for i in 0..n {
        writer
            .write(
                &key("r.io+app", &i.to_string()),
                &Version::new(format!("\"v{i}\"")),
                &doc(i),
            )
            .unwrap();
    }
    writer.commit().unwrap();
}

fn read_all(cache: &FsCache, identity: &str) -> Vec<Cached> {
    let mut found = Vec::new();
    cache.read(identity, &mut |c| found.push(c));
    found.sort_by(|a, b| a.key.cmp(&b.key));
    found
}

#[test]
fn entries_written_are_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path().join("deep/cache"));
    assert!(read_all(&cache, IDENTITY).is_empty(), "no file yet");
    fill(&cache, 3);
    let found = read_all(&cache, IDENTITY);
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].key, key("r.io+app", "0"));
    assert_eq!(found[0].version, Version::new("\"v0\""));
    assert_eq!(found[0].document, doc(0));
    // Another identity has its own file, and finds nothing here.
    assert_ne!(cache.file_of(IDENTITY), cache.file_of("fs /srv/records"));
    assert!(read_all(&cache, "fs /srv/records").is_empty());
}

#[cfg(unix)]
#[test]
fn the_directory_is_private_and_the_file_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path().join("cache"));
    fill(&cache, 1);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(cache.dir()), 0o700);
    assert_eq!(mode(&cache.file_of(IDENTITY)), 0o600);
    // Nothing but the cache file is left behind (no temporary file).
    let names: Vec<_> = fs::read_dir(cache.dir()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn a_damaged_entry_is_skipped_and_the_others_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path());
    fill(&cache, 3);
    let path = cache.file_of(IDENTITY);
    let text = fs::read_to_string(&path).unwrap();
    // The document of entry 1 altered, its checksum left as it was.
    let damaged = text.replacen("r.io/app:1", "r.io/app:9", 1);
    assert_ne!(damaged, text);
    fs::write(&path, damaged).unwrap();
    let found = read_all(&cache, IDENTITY);
    let keys: Vec<&str> = found.iter().map(|c| c.key.version()).collect();
    assert_eq!(keys, ["0", "2"]);
    // A line of garbage and a key that does not parse: skipped too.
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("not json at all\n");
    let bad_key = format!(
        "{{\"key\":\"no-slash\",\"version\":\"v\",\"sha256\":\"{}\",\"document\":\"x\"}}\n",
        sha256_hex(b"x")
    );
    text.push_str(&bad_key);
    fs::write(&path, text).unwrap();
    assert_eq!(read_all(&cache, IDENTITY).len(), 2);
}

#[test]
fn a_foreign_or_unknown_file_gives_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path());
    fill(&cache, 2);
    let path = cache.file_of(IDENTITY);
    let text = fs::read_to_string(&path).unwrap();
    // The same entries under another store's header (a copied file).
    let foreign = text.replacen(IDENTITY, "s3 http://elsewhere/records/", 1);
    fs::write(&path, foreign).unwrap();
    assert!(read_all(&cache, IDENTITY).is_empty());
    // Another format version.
    let newer = text.replacen("\"imglife_cache\":1", "\"imglife_cache\":2", 1);
    fs::write(&path, newer).unwrap();
    assert!(read_all(&cache, IDENTITY).is_empty());
    // Garbage, an empty file, binary noise.
    for junk in [
        &b""[..],
        b"\n\n",
        b"\xff\xfe\x00garbage",
        b"{\"imglife_cache\":1",
    ] {
        fs::write(&path, junk).unwrap();
        assert!(read_all(&cache, IDENTITY).is_empty(), "{junk:?}");
    }
}

#[test]
fn a_file_cut_short_loses_only_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path());
    fill(&cache, 3);
    let path = cache.file_of(IDENTITY);
    let bytes = fs::read(&path).unwrap();
    // Cut just before the final line break: the last entry is whole
    // JSON, but the file ended early, so it is not trusted.
    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    assert_eq!(read_all(&cache, IDENTITY).len(), 2);
    fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
    assert_eq!(read_all(&cache, IDENTITY).len(), 2);
}

#[test]
fn reading_is_bounded_by_lines_and_entries() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path()).max_records(2);
    fill(&cache, 5);
    assert_eq!(read_all(&cache, IDENTITY).len(), 2, "max_records");

    let cache = FsCache::new(dir.path());
    let path = cache.file_of(IDENTITY);
    let mut text = fs::read_to_string(&path).unwrap();
    // A line far over the limit, without a line break for a long while.
    text.push_str(&"x".repeat(MAX_LINE_BYTES * 3));
    text.push('\n');
    fs::write(&path, text).unwrap();
    assert_eq!(read_all(&cache, IDENTITY).len(), 5);

    // An entry too long to be read back is not written.
    let mut writer = cache.rewrite(IDENTITY).unwrap();
    let big = vec![b'a'; MAX_LINE_BYTES];
    writer
        .write(&key("r.io+app", "big"), &Version::new("v"), &big)
        .unwrap();
    writer
        .write(&key("r.io+app", "small"), &Version::new("v"), &doc(1))
        .unwrap();
    writer.commit().unwrap();
    let found = read_all(&cache, IDENTITY);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key.version(), "small");
}

#[cfg(unix)]
#[test]
fn a_link_or_fifo_in_place_of_the_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path().join("cache"));
    fill(&cache, 2);
    let path = cache.file_of(IDENTITY);
    let elsewhere = dir.path().join("elsewhere.jsonl");
    fs::rename(&path, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    assert!(read_all(&cache, IDENTITY).is_empty(), "link not followed");
    // The next write replaces the link, not its target.
    fill(&cache, 1);
    assert!(
        !fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(read_all(&cache, IDENTITY).len(), 1);
    assert_eq!(read_all_at(&elsewhere), 2);

    fs::remove_file(&path).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(read_all(&cache, IDENTITY).is_empty(), "FIFO: no hang");
}

/// Entries of the file at `path` (a copy of a cache file).
fn read_all_at(path: &Path) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path());
    fs::copy(path, cache.file_of(IDENTITY)).unwrap();
    read_all(&cache, IDENTITY).len()
}

#[test]
fn a_rewrite_not_committed_leaves_the_old_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FsCache::new(dir.path());
    fill(&cache, 3);
    let mut writer = cache.rewrite(IDENTITY).unwrap();
    writer
        .write(&key("r.io+app", "new"), &Version::new("v"), &doc(7))
        .unwrap();
    // Two rewrites at once: each whole, the last commit wins.
    let mut other = cache.rewrite(IDENTITY).unwrap();
    other
        .write(&key("r.io+app", "other"), &Version::new("v"), &doc(8))
        .unwrap();
    drop(writer);
    assert_eq!(read_all(&cache, IDENTITY).len(), 3, "old cache kept");
    other.commit().unwrap();
    let found = read_all(&cache, IDENTITY);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key.version(), "other");
    let left: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "temporary files removed: {left:?}");
}
