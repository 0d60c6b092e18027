//! Test fixtures shared by the use-case tests: records built from short
//! strings, and a fake image-metadata source that counts its calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use imglife_domain::metadata::{ImageMetadata, MetadataError, Wanted};
use imglife_domain::ports::{ImageMetadataSource, RecordStore};
use imglife_domain::{
    BuildRecord, CustomFields, ImageRef, Platforms, ProjectPath, RecordKey, Revision,
};
use jiff::Timestamp;

use crate::records::Entry;

pub fn image(text: &str) -> ImageRef {
    ImageRef::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub fn time(text: &str) -> Timestamp {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A record of `image` built on `base` at `built_at` (RFC 3339), project
/// `team/<last path segment of the image>`.
pub fn record(image_text: &str, base: &str, built_at: &str) -> BuildRecord {
    let image = image(image_text);
    let name = image.path().rsplit('/').next().unwrap_or("app").to_owned();
    BuildRecord::new(
        image,
        self::image(base),
        Revision::parse("a3f8b1c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6").expect("revision"),
        ProjectPath::parse(&format!("team/{name}")).expect("project"),
        Platforms::parse_lists(["linux/amd64"])
            .expect("platform")
            .expect("one platform"),
        time(built_at),
        CustomFields::default(),
        None,
        None,
    )
}

pub fn key_of(record: &BuildRecord) -> RecordKey {
    RecordKey::for_reference(&record.image).expect("key")
}

pub fn entry(image: &str, base: &str, built_at: &str) -> Entry {
    let record = record(image, base, built_at);
    Entry {
        document: Some(record.to_json()),
        record,
    }
}

/// Stores each record under its own key, through the port.
pub async fn put_all(store: &dyn RecordStore, records: &[BuildRecord]) {
    for record in records {
        store
            .put(&key_of(record), &record.to_json())
            .await
            .expect("put");
    }
}

/// A source that always gives the same answer and counts how often it was
/// asked; the counter is shared so that it can be read after the source
/// was boxed and handed away.
pub struct FakeSource {
    name: &'static str,
    answer: Result<ImageMetadata, MetadataError>,
    pub calls: Arc<AtomicUsize>,
}

impl FakeSource {
    pub fn new(name: &'static str, answer: Result<ImageMetadata, MetadataError>) -> Self {
        Self {
            name,
            answer,
            calls: Arc::default(),
        }
    }

    /// The counter, to keep before boxing the source.
    pub fn counter(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.calls)
    }
}

pub fn calls(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}

#[async_trait]
impl ImageMetadataSource for FakeSource {
    fn describe(&self, _image: &ImageRef) -> String {
        self.name.to_owned()
    }

    async fn inspect(
        &self,
        _image: &ImageRef,
        _wanted: Wanted,
    ) -> Result<ImageMetadata, MetadataError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answer.clone()
    }
}
