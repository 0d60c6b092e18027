//! The contract every [`RecordStore`] keeps, as cases that run against any
//! store through a [`Harness`].
//!
//! A store's test implements [`Harness`] (how to make an empty store, how to
//! put bytes into it behind the port's back, how to make one that cannot
//! be reached) and calls [`run_all`] inside a tokio runtime with the time
//! driver enabled:
//!
//! ```ignore
//! let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
//! runtime.block_on(imglife_testkit::contract::run_all(&MyHarness::new()));
//! ```
//!
//! Every case is also a public function, so that a failing case can be run
//! alone while it is being fixed. A case returns `Err` with what went wrong;
//! [`run_all`] runs them all and panics naming each case that failed.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Duration;

use async_trait::async_trait;
use imglife_domain::ports::{RecordReader, RecordStore, StoreError};
use imglife_domain::{
    BuildRecord, CustomFields, ImageRef, Platforms, ProjectPath, RecordKey, Revision,
};
use tokio::task::JoinSet;

/// What the contract needs to know about one kind of store.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The store under test.
    type Store: RecordStore + 'static;
    /// What lies behind one fresh store and lets the harness reach it from
    /// outside the port: its directory, its project. Kept for as long as
    /// the case runs.
    type Backing: Send + Sync;

    /// An empty store, isolated from every other case's store.
    async fn fresh(&self) -> (Self::Store, Self::Backing);

    /// Puts `bytes` in as the record of `key` without going through the
    /// store, as another writer or a corrupt upload would.
    async fn plant(
        &self,
        store: &Self::Store,
        backing: &Self::Backing,
        key: &RecordKey,
        bytes: &[u8],
    );

    /// Puts in something that is not a record: a temporary file, an
    /// unrelated package. Stores that cannot hold anything else may do
    /// nothing.
    async fn plant_foreign(&self, store: &Self::Store, backing: &Self::Backing);

    /// A store that cannot be reached or listed (a closed port, a rejected
    /// token, a root that is not a directory).
    fn failing(&self) -> Self::Store;
}

/// What one case found wrong.
pub type Outcome = Result<(), String>;

/// A case that has not finished by then has failed (a hung store).
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs every case against the stores of `harness`, then panics naming
/// each case that failed and why.
pub async fn run_all<H: Harness>(harness: &H) {
    let mut failed = Vec::new();
    macro_rules! run {
        ($($case:ident),+ $(,)?) => {$(
            match tokio::time::timeout(CASE_TIMEOUT, $case(harness)).await {
                Ok(Ok(())) => {}
                Ok(Err(why)) => failed.push(format!("{}: {why}", stringify!($case))),
                Err(_) => failed.push(format!(
                    "{}: did not finish within {}s",
                    stringify!($case),
                    CASE_TIMEOUT.as_secs()
                )),
            }
        )+};
    }
    run!(
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
    if !failed.is_empty() {
        panic!(
            "the store broke {} contract case(s):\n  {}",
            failed.len(),
            failed.join("\n  ")
        );
    }
}

// ------------------------------------------------------------------ cases

/// `get` after `put` returns exactly the bytes written.
pub async fn put_then_get<H: Harness>(harness: &H) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let key = key(X);
    let written = document(X, "a3f8b1c");
    call("put", store.put(&key, &written).await)?;
    let read = call("get", store.get(&key).await)?;
    expect_bytes(&key, read.as_deref(), &written)
}

/// A key that has no record reads as `Ok(None)`, in an empty store and
/// next to records of the same repository.
pub async fn get_of_a_missing_key_is_none<H: Harness>(harness: &H) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let missing = key(X);
    let read = call("get in an empty store", store.get(&missing).await)?;
    expect_none(&missing, read.as_deref())?;
    for neighbour in [
        "registry.example.com/apps/x:2.0",
        "registry.example.com/apps/other:1.0",
    ] {
        call(
            "put",
            store.put(&key(neighbour), &document(neighbour, "1")).await,
        )?;
    }
    let read = call(
        "get next to records of the same repository",
        store.get(&missing).await,
    )?;
    expect_none(&missing, read.as_deref())
}

/// A second `put` of a key replaces the first; the key is listed once.
pub async fn second_put_wins<H: Harness>(harness: &H) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let key = key(X);
    let (first, second) = (document(X, "first"), document(X, "second"));
    call("first put", store.put(&key, &first).await)?;
    call("second put", store.put(&key, &second).await)?;
    let read = call("get", store.get(&key).await)?;
    expect_bytes(&key, read.as_deref(), &second)?;
    let listed = call("list", store.list().await)?;
    expect_keys(listed, std::slice::from_ref(&key))
}

/// `delete_if_unchanged` deletes the record only while it is the document
/// given: a record written again since (purge's race with register) stays
/// whole, and a missing one is not an error.
pub async fn delete_if_unchanged_keeps_a_record_written_again<H: Harness>(harness: &H) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let key = key(X);
    let (read, again) = (document(X, "read"), document(X, "again"));
    call("put", store.put(&key, &read).await)?;
    call("put again", store.put(&key, &again).await)?;
    let deleted = call(
        "delete_if_unchanged of the older document",
        store.delete_if_unchanged(&key, &read).await,
    )?;
    if deleted {
        return Err("deleted a record that had been written again".to_owned());
    }
    let kept = call("get after the refused deletion", store.get(&key).await)?;
    expect_bytes(&key, kept.as_deref(), &again)?;
    let deleted = call(
        "delete_if_unchanged of the current document",
        store.delete_if_unchanged(&key, &again).await,
    )?;
    if !deleted {
        return Err("did not delete the unchanged record".to_owned());
    }
    let gone = call("get after the deletion", store.get(&key).await)?;
    expect_none(&key, gone.as_deref())?;
    let listed = call("list after the deletion", store.list().await)?;
    expect_keys(listed, &[])?;
    match call(
        "delete_if_unchanged of a missing key",
        store.delete_if_unchanged(&key, &again).await,
    )? {
        false => Ok(()),
        true => Err("reported deleting a record that was not there".to_owned()),
    }
}

/// `list` returns each stored key exactly once and leaves out whatever
/// else the store holds.
pub async fn list_returns_every_key_once_and_no_foreign_entry<H: Harness>(harness: &H) -> Outcome {
    let (store, backing) = harness.fresh().await;
    let keys = varied_keys();
    for (reference, key) in &keys {
        call("put", store.put(key, &document(reference, "1")).await)?;
    }
    harness.plant_foreign(&store, &backing).await;
    let listed = call("list", store.list().await)?;
    let expected: Vec<RecordKey> = keys.into_iter().map(|(_, k)| k).collect();
    expect_keys(listed, &expected)
}

/// `delete` removes the record and only it; deleting a key that has no
/// record is `Ok`; a deleted key can be written again; deleting the last
/// record leaves an empty store, not a broken one.
pub async fn delete_removes_and_tolerates_missing_keys<H: Harness>(harness: &H) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    call(
        "delete in an empty store",
        store
            .delete(&key("registry.example.com/apps/never:1.0"))
            .await,
    )?;
    let (a, b) = (key(X), key("registry.example.com/apps/x:2.0"));
    let (doc_a, doc_b) = (
        document(X, "1"),
        document("registry.example.com/apps/x:2.0", "1"),
    );
    call("put", store.put(&a, &doc_a).await)?;
    call("put", store.put(&b, &doc_b).await)?;

    call("delete", store.delete(&a).await)?;
    let read = call("get after delete", store.get(&a).await)?;
    expect_none(&a, read.as_deref())?;
    let read = call("get of the record kept", store.get(&b).await)?;
    expect_bytes(&b, read.as_deref(), &doc_b)?;
    let listed = call("list after delete", store.list().await)?;
    expect_keys(listed, std::slice::from_ref(&b))?;

    call("second delete of the same key", store.delete(&a).await)?;
    call(
        "delete of a key never stored",
        store
            .delete(&key("registry.example.com/apps/never:1.0"))
            .await,
    )?;

    call("put after delete", store.put(&a, &doc_a).await)?;
    let read = call("get after put after delete", store.get(&a).await)?;
    expect_bytes(&a, read.as_deref(), &doc_a)?;

    call("delete", store.delete(&a).await)?;
    call("delete of the last record", store.delete(&b).await)?;
    let listed = call("list after deleting every record", store.list().await)?;
    expect_keys(listed, &[])
}

/// 16 writers of one key at once: every `put` succeeds and the store ends
/// with one whole record, one of the documents written, listed once.
pub async fn concurrent_writers_of_one_key_leave_one_whole_record<H: Harness>(
    harness: &H,
) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let store = Arc::new(store);
    let key = key(X);
    let documents: Vec<Vec<u8>> = (0..16)
        .map(|i| document(X, &format!("writer-{i:02}")))
        .collect();
    let mut writers = JoinSet::new();
    for document in documents.clone() {
        let (store, key) = (Arc::clone(&store), key.clone());
        writers.spawn(async move { store.put(&key, &document).await });
    }
    let mut failures = Vec::new();
    while let Some(joined) = writers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(describe(&e)),
            Err(e) => failures.push(format!("a writer task failed: {e}")),
        }
    }
    let mut problems = Vec::new();
    if !failures.is_empty() {
        problems.push(format!(
            "{} of 16 concurrent puts of {key} failed: {}",
            failures.len(),
            tally(failures)
        ));
    }
    // The state they leave is checked even when some failed.
    match call("get", store.get(&key).await)? {
        Some(bytes) if documents.contains(&bytes) => {}
        other => problems.push(format!(
            "afterwards get {key} returned {}, which is none of the documents written",
            show(other.as_deref())
        )),
    }
    let listed = call("list", store.list().await)?;
    if let Err(e) = expect_keys(listed, std::slice::from_ref(&key)) {
        problems.push(format!("afterwards {e}"));
    }
    verdict(problems)
}

/// 50 writers of 50 keys at once: every record lands, whole.
pub async fn concurrent_writers_of_many_keys_all_land<H: Harness>(harness: &H) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let store = Arc::new(store);
    let records: Vec<(RecordKey, Vec<u8>)> = (0..50)
        .map(|i| {
            let reference = format!("registry.example.com/apps/app-{i:02}:1.{i}");
            (key(&reference), document(&reference, &format!("rev{i}")))
        })
        .collect();
    let mut writers = JoinSet::new();
    for (key, document) in records.clone() {
        let store = Arc::clone(&store);
        writers.spawn(async move { store.put(&key, &document).await });
    }
    let mut failures = Vec::new();
    while let Some(joined) = writers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(describe(&e)),
            Err(e) => failures.push(format!("a writer task failed: {e}")),
        }
    }
    let mut problems = Vec::new();
    if !failures.is_empty() {
        problems.push(format!(
            "{} of 50 concurrent puts failed: {}",
            failures.len(),
            tally(failures)
        ));
    }
    let listed = call("list", store.list().await)?;
    let expected: Vec<RecordKey> = records.iter().map(|(k, _)| k.clone()).collect();
    if let Err(e) = expect_keys(listed, &expected) {
        problems.push(format!("afterwards {e}"));
    }
    for (key, document) in &records {
        let read = call("get", store.get(key).await)?;
        if let Err(e) = expect_bytes(key, read.as_deref(), document) {
            problems.push(format!("afterwards {e}"));
        }
    }
    verdict(problems)
}

/// While one writer replaces a record again and again, readers always see
/// a whole record, the old or the new one: never none, never a mix.
pub async fn readers_see_a_whole_record_during_rewrites<H: Harness>(harness: &H) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let store = Arc::new(store);
    let key = key(X);
    let documents: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..12)
            .map(|i| document(X, &format!("rewrite-{i:02}")))
            .collect(),
    );
    call("first put", store.put(&key, &documents[0]).await)?;
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = JoinSet::new();
    for _ in 0..4 {
        let (store, key) = (Arc::clone(&store), key.clone());
        let (documents, done) = (Arc::clone(&documents), Arc::clone(&done));
        readers.spawn(async move {
            let (mut reads, mut seen) = (0_usize, Vec::new());
            loop {
                let finished = done.load(AtomicOrdering::SeqCst);
                reads += 1;
                match store.get(&key).await {
                    Ok(Some(bytes)) if documents.contains(&bytes) => {}
                    Ok(other) => seen.push(format!("get returned {}", show(other.as_deref()))),
                    Err(e) => seen.push(format!("get failed: {}", describe(&e))),
                }
                if finished {
                    return (reads, seen);
                }
                tokio::task::yield_now().await;
            }
        });
    }
    let mut problems = Vec::new();
    for document in &documents[1..] {
        if let Err(e) = store.put(&key, document).await {
            problems.push(format!("a rewrite failed: {}", describe(&e)));
        }
    }
    done.store(true, AtomicOrdering::SeqCst);
    let (mut reads, mut seen) = (0, Vec::new());
    while let Some(joined) = readers.join_next().await {
        match joined {
            Ok((n, s)) => {
                reads += n;
                seen.extend(s);
            }
            Err(e) => seen.push(format!("a reader task failed: {e}")),
        }
    }
    if !seen.is_empty() {
        problems.push(format!(
            "{} of {reads} reads during 11 rewrites of {key} saw no whole record: {}",
            seen.len(),
            tally(seen)
        ));
    }
    let last = documents.last().map(Vec::as_slice).unwrap_or_default();
    let read = call("get after the rewrites", store.get(&key).await)?;
    if let Err(e) = expect_bytes(&key, read.as_deref(), last) {
        problems.push(format!("afterwards {e}"));
    }
    verdict(problems)
}

/// An empty store lists `Ok(vec![])`; a store that cannot be listed says
/// so with an error, never with an empty list.
pub async fn empty_store_lists_nothing_and_failing_store_errs<H: Harness>(harness: &H) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let listed = call("list of an empty store", store.list().await)?;
    expect_keys(listed, &[])?;
    match harness.failing().list().await {
        Err(_) => Ok(()),
        Ok(keys) => Err(format!(
            "the store that cannot be reached listed Ok({keys:?}) instead of an error"
        )),
    }
}

/// A record whose bytes are not JSON at all is still listed under its key
/// and read back byte for byte, so that a reader can name it.
pub async fn unparsable_record_is_listed_and_read_back_verbatim<H: Harness>(
    harness: &H,
) -> Outcome {
    let (store, backing) = harness.fresh().await;
    let broken = key("registry.example.com/apps/broken:1.0");
    // A truncated upload, ending in bytes that are not even UTF-8.
    let garbage: &[u8] =
        b"{\n  \"image\": \"registry.example.com/apps/broken:1.0\",\n  \"base\": \xff\xfe";
    if serde_json::from_slice::<serde_json::Value>(garbage).is_ok() {
        return Err("the planted garbage parses as JSON: fix the case".to_owned());
    }
    let sound = key(X);
    let document = document(X, "planted");
    harness.plant(&store, &backing, &broken, garbage).await;
    harness.plant(&store, &backing, &sound, &document).await;

    let listed = call("list", store.list().await)?;
    expect_keys(listed, &[broken.clone(), sound.clone()])?;
    let read = call("get of the unparsable record", store.get(&broken).await)?;
    expect_bytes(&broken, read.as_deref(), garbage)?;
    let read = call(
        "get of a record planted by another writer",
        store.get(&sound).await,
    )?;
    expect_bytes(&sound, read.as_deref(), &document)
}

/// Keys written in an order unlike their sorted order come back as the
/// same set, each with its own document; `location` names each key
/// distinctly and does not change once the record exists.
pub async fn order_of_keys_does_not_matter_and_locations_are_distinct<H: Harness>(
    harness: &H,
) -> Outcome {
    let (store, _backing) = harness.fresh().await;
    let keys = varied_keys();
    let inserted: Vec<RecordKey> = keys.iter().map(|(_, k)| k.clone()).collect();
    let mut sorted = inserted.clone();
    sorted.sort();
    if sorted == inserted {
        return Err("the keys are written in sorted order: fix the case".to_owned());
    }

    let before: Vec<String> = inserted.iter().map(|k| store.location(k)).collect();
    let distinct: BTreeSet<&String> = before.iter().collect();
    if distinct.len() != before.len() {
        return Err(format!(
            "location gives {} distinct places for {} keys: {before:?}",
            distinct.len(),
            before.len()
        ));
    }
    for (reference, key) in &keys {
        call("put", store.put(key, &document(reference, reference)).await)?;
    }
    let after: Vec<String> = inserted.iter().map(|k| store.location(k)).collect();
    if after != before {
        return Err(format!(
            "location changed once the records existed: {before:?} became {after:?}"
        ));
    }
    let listed = call("list", store.list().await)?;
    expect_keys(listed, &inserted)?;
    for (reference, key) in &keys {
        let read = call("get", store.get(key).await)?;
        expect_bytes(key, read.as_deref(), &document(reference, reference))?;
    }
    Ok(())
}

/// When a store gives versions (for the read cache), a record's listed
/// version changes whenever it is written again with other bytes, through
/// the port or behind it, and `get_versioned` gives the version of the
/// bytes it returns: the one the listing gives for the unchanged record. A
/// store that gives none passes (its records are never cached).
pub async fn versions_change_on_overwrite_and_match_the_read<H: Harness>(harness: &H) -> Outcome {
    let (store, backing) = harness.fresh().await;
    let other = key("registry.example.com/apps/other:1.0");
    let key = key(X);
    call(
        "put of a neighbour",
        store
            .put(
                &other,
                &document("registry.example.com/apps/other:1.0", "1"),
            )
            .await,
    )?;
    let mut seen = Vec::new();
    for (how, bytes) in [
        ("put", document(X, "first")),
        ("second put", document(X, "second")),
        ("write behind the port", document(X, "planted")),
    ] {
        if how == "write behind the port" {
            harness.plant(&store, &backing, &key, &bytes).await;
        } else {
            call(how, store.put(&key, &bytes).await)?;
        }
        let listed = call("list_versioned", store.list_versioned().await)?;
        let mut versions = listed.iter().filter(|l| l.key == key);
        let Some(listed_version) = versions.next().map(|l| l.version.clone()) else {
            return Err(format!("list_versioned after the {how} left out {key}"));
        };
        if versions.next().is_some() {
            return Err(format!("list_versioned after the {how} gave {key} twice"));
        }
        let fetched = call("get_versioned", store.get_versioned(&key).await)?;
        let Some(fetched) = fetched else {
            return Err(format!("get_versioned after the {how} found no record"));
        };
        expect_bytes(&key, Some(&fetched.document), &bytes)?;
        let Some(version) = listed_version else {
            // No version in the listing: nothing is ever cached.
            return Ok(());
        };
        if let Some(read) = &fetched.version
            && read != &version
        {
            return Err(format!(
                "after the {how}, list_versioned gives {key} version {version} but \
                 get_versioned gives {read} for the same unchanged record"
            ));
        }
        if let Some((before, _)) = seen.iter().find(|(v, _)| *v == version) {
            return Err(format!(
                "the {how} of other bytes left {key} at version {version}, the version it \
                 had after the {before}: a cache would serve the old record"
            ));
        }
        seen.push((version, how));
    }
    Ok(())
}

// --------------------------------------------------------------- fixtures

const X: &str = "registry.example.com/apps/x:1.0";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn key(reference: &str) -> RecordKey {
    let parsed =
        ImageRef::parse(reference).unwrap_or_else(|e| panic!("contract fixture {reference}: {e}"));
    RecordKey::for_reference(&parsed)
        .unwrap_or_else(|e| panic!("contract fixture {reference}: {e}"))
}

/// Keys of every shape, in an order unlike their sorted one: several
/// registries (one with a port), tags that sort differently as text and as
/// versions, a digest alone, a tag with a digest, an escaped `..`.
fn varied_keys() -> Vec<(String, RecordKey)> {
    [
        "registry.example.com/apps/zeta:2.0".to_owned(),
        "registry.example.com/apps/alpha:10.0".to_owned(),
        "registry.example.com/apps/alpha:9.0".to_owned(),
        "localhost:5000/team/mid:1.0".to_owned(),
        format!("registry.example.com/apps/x@{DIGEST}"),
        format!("registry.example.com/apps/x:1.0@{DIGEST}"),
        "registry.example.com/apps/x:1..2".to_owned(),
        "alpine:3.19".to_owned(),
    ]
    .into_iter()
    .map(|reference| {
        let key = key(&reference);
        (reference, key)
    })
    .collect()
}

/// The document `register` would write for `image`.
fn document(image: &str, revision: &str) -> Vec<u8> {
    let fixture =
        |what: &str, e: &dyn fmt::Display| -> ! { panic!("contract fixture {what}: {e}") };
    let platforms = Platforms::parse_lists(["linux/amd64"])
        .unwrap_or_else(|e| fixture("platforms", &e))
        .unwrap_or_else(|| fixture("platforms", &"empty"));
    BuildRecord::new(
        ImageRef::parse(image).unwrap_or_else(|e| fixture(image, &e)),
        ImageRef::parse("registry.example.com/bases/alpine:3.21.3-core1.0.0")
            .unwrap_or_else(|e| fixture("base", &e)),
        Revision::parse(revision).unwrap_or_else(|e| fixture(revision, &e)),
        ProjectPath::parse("myteam/myservice").unwrap_or_else(|e| fixture("project", &e)),
        platforms,
        jiff::Timestamp::from_second(1_775_037_600).unwrap_or_else(|e| fixture("time", &e)),
        CustomFields::default(),
        None,
        None,
    )
    .to_json()
}

// ----------------------------------------------------------------- checks

/// A store call that must succeed.
fn call<T>(what: &str, result: Result<T, StoreError>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {}", describe(&e)))
}

fn describe(error: &StoreError) -> String {
    let kind = match error {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Denied(_) => "denied",
        _ => "failed",
    };
    format!("{kind}: {error}")
}

fn expect_bytes(key: &RecordKey, read: Option<&[u8]>, want: &[u8]) -> Outcome {
    if read == Some(want) {
        Ok(())
    } else {
        Err(format!(
            "get {key} returned {}, expected the {} bytes {}",
            show(read),
            want.len(),
            show(Some(want))
        ))
    }
}

fn expect_none(key: &RecordKey, read: Option<&[u8]>) -> Outcome {
    match read {
        None => Ok(()),
        Some(_) => Err(format!(
            "get {key} returned {} for a key that has no record",
            show(read)
        )),
    }
}

/// `listed` holds exactly `expected`, each once, in any order.
fn expect_keys(mut listed: Vec<RecordKey>, expected: &[RecordKey]) -> Outcome {
    let mut expected = expected.to_vec();
    listed.sort();
    expected.sort();
    if listed == expected {
        return Ok(());
    }
    let show = |keys: Vec<&RecordKey>| {
        keys.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing: Vec<&RecordKey> = expected.iter().filter(|k| !listed.contains(k)).collect();
    let extra: Vec<&RecordKey> = listed.iter().filter(|k| !expected.contains(k)).collect();
    let mut repeated: Vec<&RecordKey> = listed
        .windows(2)
        .filter_map(|w| (w[0] == w[1]).then_some(&w[0]))
        .collect();
    repeated.dedup();
    Err(format!(
        "list returned {} key(s), expected {}; missing [{}]; not expected [{}]; more than once [{}]",
        listed.len(),
        expected.len(),
        show(missing),
        show(extra),
        show(repeated)
    ))
}

/// `Ok` when no problem was found, else all of them.
fn verdict(problems: Vec<String>) -> Outcome {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The distinct messages of `messages`, each with its count.
fn tally(messages: Vec<String>) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for message in messages {
        match counts.iter_mut().find(|(m, _)| *m == message) {
            Some((_, n)) => *n += 1,
            None => counts.push((message, 1)),
        }
    }
    counts
        .into_iter()
        .map(|(m, n)| format!("{n} × {m}"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Bytes for a message: their length and the start of their text.
fn show(bytes: Option<&[u8]>) -> String {
    match bytes {
        None => "None".to_owned(),
        Some(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let start: String = text.chars().take(80).collect();
            let more = if text.chars().count() > 80 { "..." } else { "" };
            format!("{} bytes {start:?}{more}", bytes.len())
        }
    }
}
