//! Reading every record of a store: list, take what the read cache still
//! holds for the listed versions, download the rest concurrently (bounded
//! by the store's parallelism), validate everything alike.

use std::collections::HashMap;

use futures_util::StreamExt;
use imglife_domain::ports::{
    CacheWriter, Cached, RecordCache, RecordReader, Reporter, Step, StoreError, Version,
};
use imglife_domain::{BuildRecord, RecordKey};

/// A record and the document as stored (which may hold keys this version
/// does not know), when the caller asked for documents
/// ([`Options::documents`]).
#[derive(Debug, Clone)]
pub struct Entry {
    pub record: BuildRecord,
    pub document: Option<Vec<u8>>,
}

impl Entry {
    /// The key it is stored under: its image's, which loading checked
    /// (made when asked rather than kept: a tenth of a load's memory).
    pub fn key(&self) -> RecordKey {
        match RecordKey::for_reference(&self.record.image) {
            Ok(key) => key,
            // `check` made this very key before the entry was made.
            Err(e) => unreachable!("a loaded record has a key: {e}"),
        }
    }
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
    /// How many records came from the read cache.
    pub from_cache: usize,
    /// How many records were downloaded.
    pub downloaded: usize,
}

/// How to load.
#[derive(Clone, Copy, Default)]
pub struct Options<'a> {
    /// The read cache, if any: records whose listed version it holds are
    /// taken from it, and it is rewritten with what this load read.
    pub cache: Option<&'a dyn RecordCache>,
    /// Keep each record's document (`app list --output json` prints them,
    /// `app purge` compares them before deleting). Without, only the
    /// parsed records are kept: a document is about half of what a record
    /// costs in memory.
    pub documents: bool,
}

/// `load` without a cache, keeping the documents.
pub async fn load(store: &dyn RecordReader, reporter: &dyn Reporter) -> Result<Loaded, StoreError> {
    load_with(
        store,
        reporter,
        Options {
            cache: None,
            documents: true,
        },
    )
    .await
}

/// An empty store is `Ok` with nothing in it; a store that cannot be listed
/// or read is an error, never an empty answer. Only reads: a read command
/// hands in a reader, which cannot write.
///
/// With a cache, and a store that gives versions and an identity: a listed
/// record whose version the cache holds is taken from the cache (checked
/// as a record exactly like a download, and downloaded after all when it
/// does not pass); the others are downloaded with the version of the bytes
/// received. The cache is then replaced by what this load found valid, so a
/// record no longer listed (deleted) leaves it. Trouble with the cache is
/// logged, never an error.
pub async fn load_with(
    store: &dyn RecordReader,
    reporter: &dyn Reporter,
    options: Options<'_>,
) -> Result<Loaded, StoreError> {
    reporter.step_started(&Step::Listing);
    let listed = store.list_versioned().await;
    reporter.step_finished(&Step::Listing);
    let listed = listed?;

    let mut loaded = Loaded::default();
    // A store without an identity is never cached (see `cache_identity`).
    let cache = options
        .cache
        .and_then(|cache| Some((cache, store.cache_identity()?)));
    let mut writer: Option<Box<dyn CacheWriter>> = None;
    let mut pending: Vec<RecordKey>;
    if let Some((cache, identity)) = &cache {
        writer = match cache.rewrite(identity) {
            Ok(writer) => Some(writer),
            Err(e) => {
                tracing::warn!("the read cache is not updated: {}", escape(&e));
                None
            }
        };
        // Listed keys by version; those the cache answers leave the map.
        let mut wanted: HashMap<RecordKey, Option<Version>> = HashMap::with_capacity(listed.len());
        for l in listed {
            wanted.insert(l.key, l.version);
        }
        cache.read(identity, &mut |cached: Cached| {
            let hit = matches!(wanted.get(&cached.key), Some(Some(v)) if *v == cached.version);
            if !hit {
                return;
            }
            // Checked like a download; a cached document that is not a
            // valid record is downloaded again rather than trusted.
            let Ok(record) = check(&cached.key, &cached.document) else {
                return;
            };
            wanted.remove(&cached.key);
            if let Some(w) = writer.as_mut()
                && let Err(e) = w.write(&cached.key, &cached.version, &cached.document)
            {
                tracing::warn!("the read cache is not updated: {}", escape(&e));
                writer = None;
            }
            loaded.from_cache += 1;
            loaded.entries.push(entry(record, cached.document, options));
        });
        pending = wanted.into_keys().collect();
    } else {
        pending = listed.into_iter().map(|l| l.key).collect();
    }
    pending.shrink_to_fit();

    let step = Step::Reading {
        total: pending.len(),
    };
    reporter.step_started(&step);
    let mut downloads = futures_util::stream::iter(pending)
        .map(|key| async move {
            let fetched = store.get_versioned(&key).await;
            (key, fetched)
        })
        .buffer_unordered(store.parallelism().max(1));
    let mut done = 0;
    while let Some((key, fetched)) = downloads.next().await {
        done += 1;
        reporter.progress(done);
        match fetched {
            // Deleted between listing and reading: not there any more.
            Ok(None) => {}
            Ok(Some(fetched)) => {
                loaded.downloaded += 1;
                match check(&key, &fetched.document) {
                    Ok(record) => {
                        if let (Some(w), Some(version)) = (writer.as_mut(), &fetched.version)
                            && let Err(e) = w.write(&key, version, &fetched.document)
                        {
                            tracing::warn!("the read cache is not updated: {}", escape(&e));
                            writer = None;
                        }
                        loaded
                            .entries
                            .push(entry(record, fetched.document, options));
                    }
                    Err(reason) => loaded.invalid.push(Invalid { key, reason }),
                }
            }
            // This one record could not be read (a file without read
            // permission, a download GitLab refused): named and counted.
            Err(StoreError::Failed(reason)) => loaded.invalid.push(Invalid { key, reason }),
            // The store itself is unreachable or refuses us: no answer,
            // and the cache stays as it was.
            Err(e) => {
                reporter.step_finished(&step);
                return Err(e);
            }
        }
    }
    drop(downloads);
    reporter.step_finished(&step);
    if let Some(w) = writer
        && let Err(e) = w.commit()
    {
        tracing::warn!("the read cache is not updated: {}", escape(&e));
    }
    if cache.is_some() {
        tracing::info!(
            "{} record(s) from the read cache, {} downloaded",
            loaded.from_cache,
            loaded.downloaded
        );
    }
    loaded.entries.shrink_to_fit();
    // Unstable: no scratch copy of the entries (half of them, a quarter of
    // the memory of a load); deterministic all the same, since no two
    // records share an image reference.
    loaded
        .entries
        .sort_unstable_by(|a, b| newest_first(&a.record, &b.record));
    loaded.invalid.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(loaded)
}

fn entry(record: BuildRecord, document: Vec<u8>, options: Options<'_>) -> Entry {
    Entry {
        record,
        document: options.documents.then(|| {
            let mut document = document;
            document.shrink_to_fit();
            document
        }),
    }
}

fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    imglife_domain::text::escape(text)
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
