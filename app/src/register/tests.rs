use imglife_domain::metadata::{Found, MetadataError};
use imglife_domain::ports::{RecordReader, RecordStore, SilentReporter, StoreError};
use imglife_domain::{CustomFields, ImageMetadata, Platforms, ProjectPath, RecordKey, Revision};
use imglife_testkit::MemoryStore;

use super::{RegisterError, RegisterRequest, register};
use crate::stores::DryRun;
use crate::testing::{FakeSource, calls, image, time};

const IMAGE: &str = "registry.example.com/apps/web:1.2.0";
const BASE: &str = "registry.example.com/bases/alpine:3.21.3-core1.0.0";

fn request(base: Option<&str>, platforms: Option<&str>) -> RegisterRequest {
    RegisterRequest {
        image: image(IMAGE),
        base: base.map(image),
        platforms: platforms.map(|p| {
            Platforms::parse_lists([p])
                .expect("platforms")
                .expect("at least one")
        }),
        revision: Revision::parse("a3f8b1c").expect("revision"),
        project: ProjectPath::parse("team/web").expect("project"),
        fields: CustomFields::default(),
        built_at: time("2026-04-01T10:00:00Z"),
    }
}

fn key() -> RecordKey {
    RecordKey::for_reference(&image(IMAGE)).expect("key")
}

fn metadata(base: &str, platforms: &str) -> ImageMetadata {
    ImageMetadata {
        base: Some(Found::new(
            base.to_owned(),
            "config label org.opencontainers.image.base.name",
        )),
        platforms: Some(Found::new(
            vec![platforms.to_owned()],
            "config label imglife.platforms",
        )),
        image_digest: Some(format!("sha256:{}", "d".repeat(64))),
        ..ImageMetadata::default()
    }
}

#[tokio::test]
async fn stores_the_record_under_its_key() {
    let store = MemoryStore::new();
    let done = register(
        request(Some(BASE), Some("linux/amd64 linux/arm64")),
        None,
        &store,
        &SilentReporter,
    )
    .await
    .expect("registered");
    assert_eq!(done.location, store.location(&key()));
    assert_eq!(done.source, None);
    assert_eq!(done.record.base.to_string(), BASE);
    assert_eq!(done.record.platforms.to_string(), "linux/amd64 linux/arm64");
    let stored = store.records();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored.get(&key()), Some(&done.document));
    assert_eq!(done.document, done.record.to_json());
}

#[tokio::test]
async fn flags_that_say_everything_ask_no_source() {
    let source = FakeSource::new("registry", Ok(metadata("other:1", "linux/s390x")));
    let asked = source.counter();
    let done = register(
        request(Some(BASE), Some("linux/amd64")),
        Some(&source),
        &MemoryStore::new(),
        &SilentReporter,
    )
    .await
    .expect("registered");
    assert_eq!(calls(&asked), 0);
    assert_eq!(done.source, None);
    assert_eq!(done.record.base.to_string(), BASE);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_through_dry_run() {
    let dry = DryRun::new(Box::new(MemoryStore::new()));
    let done = register(
        request(Some(BASE), Some("linux/amd64")),
        None,
        &dry,
        &SilentReporter,
    )
    .await
    .expect("registered");
    assert!(dry.reader().records().is_empty(), "nothing written");
    // The summary still shows where it would have gone.
    assert_eq!(done.location, dry.reader().location(&key()));
}

#[tokio::test]
async fn a_store_failure_is_reported() {
    let store = MemoryStore::failing(StoreError::Denied(
        "GitLab refused the token; it needs the Developer role".into(),
    ));
    let error = register(
        request(Some(BASE), Some("linux/amd64")),
        None,
        &store,
        &SilentReporter,
    )
    .await
    .expect_err("the store refused");
    assert!(matches!(error, RegisterError::Store(StoreError::Denied(_))));
    assert_eq!(
        error.to_string(),
        "record not published: GitLab refused the token; it needs the Developer role"
    );
}

#[tokio::test]
async fn missing_values_come_from_the_source() {
    let source = FakeSource::new(
        "registry registry.example.com",
        Ok(metadata(BASE, "linux/arm64")),
    );
    let asked = source.counter();
    let store = MemoryStore::new();
    let done = register(request(None, None), Some(&source), &store, &SilentReporter)
        .await
        .expect("registered");
    assert_eq!(calls(&asked), 1);
    assert_eq!(
        done.source.as_deref(),
        Some("registry registry.example.com")
    );
    assert_eq!(done.record.base.to_string(), BASE);
    assert_eq!(done.record.platforms.to_string(), "linux/arm64");
    assert_eq!(
        done.record.image_digest.map(|d| d.to_string()),
        Some(format!("sha256:{}", "d".repeat(64)))
    );
    assert_eq!(store.records().len(), 1);
}

#[tokio::test]
async fn a_flag_wins_over_the_source() {
    let source = FakeSource::new(
        "registry",
        Ok(metadata(
            "registry.example.com/bases/debian:12",
            "linux/arm64",
        )),
    );
    let done = register(
        request(Some(BASE), None),
        Some(&source),
        &MemoryStore::new(),
        &SilentReporter,
    )
    .await
    .expect("registered");
    assert_eq!(done.record.base.to_string(), BASE);
    assert_eq!(done.record.platforms.to_string(), "linux/arm64");
}

#[tokio::test]
async fn a_source_error_stores_nothing() {
    let source = FakeSource::new(
        "registry",
        Err(MetadataError::NotFound(
            "web:1.2.0 is not in the registry".into(),
        )),
    );
    let store = MemoryStore::new();
    let error = register(request(None, None), Some(&source), &store, &SilentReporter)
        .await
        .expect_err("no metadata");
    assert_eq!(error.to_string(), "web:1.2.0 is not in the registry");
    assert!(store.records().is_empty());
}

#[tokio::test]
async fn an_invalid_value_is_blamed_on_its_origin() {
    let source = FakeSource::new("registry", Ok(metadata("Not A Reference", "linux/amd64")));
    let store = MemoryStore::new();
    let error = register(request(None, None), Some(&source), &store, &SilentReporter)
        .await
        .expect_err("invalid base");
    let message = error.to_string();
    assert!(
        message.starts_with("config label org.opencontainers.image.base.name: "),
        "{message}"
    );
    assert!(
        message.ends_with("; pass --base to override it"),
        "{message}"
    );
    assert!(store.records().is_empty());
}

#[tokio::test]
async fn without_a_source_a_missing_value_says_how_to_give_it() {
    let store: &dyn RecordStore = &MemoryStore::new();
    let error = register(
        request(None, Some("linux/amd64")),
        None,
        store,
        &SilentReporter,
    )
    .await
    .expect_err("no base");
    assert_eq!(
        error.to_string(),
        "no base image: none was given and no image metadata source is configured; \
         pass --base REF (e.g. --base registry.example.com/bases/alpine:3.21.3-core1.0.0)"
    );

    let silent = FakeSource::new("registry", Ok(ImageMetadata::default()));
    let error = register(
        request(Some(BASE), None),
        Some(&silent),
        store,
        &SilentReporter,
    )
    .await
    .expect_err("no platforms");
    assert!(
        error
            .to_string()
            .starts_with("no platforms: none were given and the image's metadata does not name it"),
        "{error}"
    );
}
