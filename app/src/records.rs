//! Reading every record of a store: list, then download concurrently
//! (bounded by the store's parallelism), then validate; and deleting many
//! records at once, for `app purge`.

use futures_util::StreamExt;
use imglife_domain::ports::{RecordReader, Reporter, Step, StoreError};
use imglife_domain::{BuildRecord, RecordKey};

/// A record, the key it was stored under, and the document as stored
/// (which may hold keys this version does not know).
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: RecordKey,
    pub record: BuildRecord,
    pub document: Vec<u8>,
}

/// A stored document that is not a valid record, named by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: RecordKey,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Loaded {
    /// Newest first; ties broken by image reference.
    pub entries: Vec<Entry>,
    /// Sorted by key.
    pub invalid: Vec<Invalid>,
}

/// An empty store is `Ok` with nothing in it; a store that cannot be listed
/// or read is an error, never an empty answer. Only reads: a read command
/// hands in a reader, which cannot write.
pub async fn load(store: &dyn RecordReader, reporter: &dyn Reporter) -> Result<Loaded, StoreError> {
    reporter.step_started(&Step::Listing);
    let keys = store.list().await;
    reporter.step_finished(&Step::Listing);
    let keys = keys?;

    let step = Step::Reading { total: keys.len() };
    reporter.step_started(&step);
    let mut downloads = futures_util::stream::iter(keys)
        .map(|key| async move {
            let document = store.get(&key).await;
            (key, document)
        })
        .buffer_unordered(store.parallelism().max(1));
    let mut loaded = Loaded::default();
    let mut done = 0;
    while let Some((key, document)) = downloads.next().await {
        done += 1;
        reporter.progress(done);
        match document {
            // Deleted between listing and reading: not there any more.
            Ok(None) => {}
            Ok(Some(bytes)) => match check(&key, &bytes) {
                Ok(record) => loaded.entries.push(Entry {
                    key,
                    record,
                    document: bytes,
                }),
                Err(reason) => loaded.invalid.push(Invalid { key, reason }),
            },
            // This one record could not be read (a file without read
            // permission, a download GitLab refused): named and counted.
            Err(StoreError::Failed(reason)) => loaded.invalid.push(Invalid { key, reason }),
            // The store itself is unreachable or refuses us: no answer.
            Err(e) => {
                reporter.step_finished(&step);
                return Err(e);
            }
        }
    }
    reporter.step_finished(&step);
    loaded
        .entries
        .sort_by(|a, b| newest_first(&a.record, &b.record));
    loaded.invalid.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(loaded)
}

/// Parses a document and checks it is stored under its own key.
fn check(key: &RecordKey, bytes: &[u8]) -> Result<BuildRecord, String> {
    let record = BuildRecord::from_json(bytes).map_err(|e| e.to_string())?;
    match RecordKey::for_reference(&record.image) {
        Ok(own) if &own == key => Ok(record),
        _ => Err(format!(
            "it describes {} but is stored under another image's key",
            record.image
        )),
    }
}

/// Newest `built_at` first, then by image reference: deterministic.
pub fn newest_first(a: &BuildRecord, b: &BuildRecord) -> std::cmp::Ordering {
    b.built_at()
        .cmp(&a.built_at())
        .then_with(|| a.image.to_string().cmp(&b.image.to_string()))
}

#[cfg(test)]
mod tests;
