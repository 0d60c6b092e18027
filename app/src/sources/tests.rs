use imglife_domain::ImageMetadata;
use imglife_domain::metadata::{Found, MetadataError, Wanted};
use imglife_domain::ports::ImageMetadataSource;

use super::{Fallback, Unavailable};
use crate::testing::{FakeSource, calls, image};

const IMAGE: &str = "registry.example.com/apps/web:1";
const BOTH: Wanted = Wanted {
    base: true,
    platforms: true,
};

fn answer() -> ImageMetadata {
    ImageMetadata {
        base: Some(Found::new(
            "registry.example.com/bases/alpine:3.21".to_owned(),
            "config label org.opencontainers.image.base.name",
        )),
        ..ImageMetadata::default()
    }
}

/// Registry answering `first`, daemon answering `second`; returns the
/// result and how often each was asked.
async fn ask(
    first: Result<ImageMetadata, MetadataError>,
    second: Result<ImageMetadata, MetadataError>,
) -> (Result<ImageMetadata, MetadataError>, usize, usize) {
    let registry = FakeSource::new("registry registry.example.com", first);
    let daemon = FakeSource::new("docker daemon", second);
    let (r, d) = (registry.counter(), daemon.counter());
    let auto = Fallback::new(Box::new(registry), Box::new(daemon));
    let result = auto.inspect(&image(IMAGE), BOTH).await;
    (result, calls(&r), calls(&d))
}

#[tokio::test]
async fn the_registry_answers_first_and_the_daemon_is_not_asked() {
    let (result, registry, daemon) = ask(Ok(answer()), Ok(ImageMetadata::default())).await;
    let found = result.expect("answered");
    assert_eq!((registry, daemon), (1, 0));
    assert_eq!(
        found.answered_by.as_deref(),
        Some("registry registry.example.com")
    );
    assert_eq!(found.base, answer().base);
}

#[tokio::test]
async fn the_daemon_is_asked_when_the_registry_cannot_answer() {
    for error in [
        MetadataError::NotFound("manifest unknown".into()),
        MetadataError::Unreachable("connection refused".into()),
        MetadataError::Unauthorized("401".into()),
    ] {
        let (result, registry, daemon) = ask(Err(error.clone()), Ok(answer())).await;
        assert_eq!((registry, daemon), (1, 1), "{error:?}");
        let found = result.expect("the daemon answered");
        assert_eq!(found.answered_by.as_deref(), Some("docker daemon"));
        assert_eq!(found.base, answer().base);
        // Never silent: who was passed over, and why.
        let passed = found.passed_over.expect("the registry is named");
        assert_eq!(passed.source, "registry registry.example.com");
        assert_eq!(passed.error, error);
    }
}

#[test]
fn a_summary_is_the_first_clause_of_the_message() {
    let refused = MetadataError::Unauthorized(
        "image r.io/a:1: registry r.io refused access (unauthorized) with anonymous; check \
         those credentials"
            .into(),
    );
    assert_eq!(
        refused.summary(),
        "image r.io/a:1: registry r.io refused access (unauthorized) with anonymous"
    );
    assert_eq!(
        MetadataError::NotFound("no such tag".into()).summary(),
        "no such tag"
    );
}

#[tokio::test]
async fn bad_metadata_from_the_registry_is_not_a_reason_to_look_elsewhere() {
    let invalid = MetadataError::Invalid("the manifest is not JSON".into());
    let (result, registry, daemon) = ask(Err(invalid.clone()), Ok(answer())).await;
    assert_eq!((registry, daemon), (1, 0));
    assert_eq!(result.err(), Some(invalid));
}

#[tokio::test]
async fn when_both_fail_the_error_names_both() {
    let (result, _, daemon) = ask(
        Err(MetadataError::NotFound("manifest unknown".into())),
        Err(MetadataError::Unreachable("no such socket".into())),
    )
    .await;
    assert_eq!(daemon, 1);
    assert_eq!(
        result.err(),
        Some(MetadataError::Unreachable(format!(
            "no source could describe {IMAGE}: registry registry.example.com said: \
             manifest unknown; docker daemon said: no such socket"
        )))
    );

    // The kind follows the daemon's answer, the last word.
    let (result, _, _) = ask(
        Err(MetadataError::Unreachable("timed out".into())),
        Err(MetadataError::NotFound("no such image".into())),
    )
    .await;
    assert!(matches!(result, Err(MetadataError::NotFound(m)) if m.contains("timed out")));
}

#[tokio::test]
async fn a_source_answering_for_itself_keeps_its_own_name() {
    let named = ImageMetadata {
        answered_by: Some("registry 127.0.0.1:5000 (index)".into()),
        ..answer()
    };
    let (result, _, _) = ask(Ok(named), Ok(answer())).await;
    assert_eq!(
        result.expect("answered").answered_by.as_deref(),
        Some("registry 127.0.0.1:5000 (index)")
    );
}

#[tokio::test]
async fn an_unavailable_source_fails_only_when_asked() {
    let daemon = Unavailable::new("docker daemon", "DOCKER_HOST=ssh://x: unsupported scheme");
    assert_eq!(daemon.describe(&image(IMAGE)), "docker daemon");
    assert_eq!(
        daemon.inspect(&image(IMAGE), BOTH).await,
        Err(MetadataError::Unreachable(
            "DOCKER_HOST=ssh://x: unsupported scheme".into()
        ))
    );

    let registry = FakeSource::new("registry", Err(MetadataError::NotFound("gone".into())));
    let auto = Fallback::new(Box::new(registry), Box::new(daemon));
    assert_eq!(auto.describe(&image(IMAGE)), "registry, else docker daemon");
    let error = auto
        .inspect(&image(IMAGE), BOTH)
        .await
        .expect_err("both fail");
    assert!(error.to_string().contains("unsupported scheme"), "{error}");
}
