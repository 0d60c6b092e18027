//! The parts of `GET /images/{name}/json` that imglife reads, and how they
//! become `ImageMetadata`.

use std::collections::HashMap;

use imglife_domain::ImageRef;
use imglife_domain::metadata::{Found, ImageMetadata, Wanted};
use serde::Deserialize;

pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
pub const LEGACY_BASE: &str = "BASE_IMAGE_REF";
pub const PLATFORMS: &str = "imglife.platforms";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    #[serde(default)]
    pub repo_digests: Option<Vec<String>>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<ImageConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default)]
    pub labels: Option<HashMap<String, String>>,
}

/// Labels first (the daemon has no manifest annotations), then the image's
/// own platform; the digest from the `RepoDigests` entry of the same
/// repository, which exists once the image was pushed or pulled.
pub fn metadata(image: &ImageRef, inspect: &ImageInspect, wanted: Wanted) -> ImageMetadata {
    let labels = inspect
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default();
    let label = |name: &str| {
        labels
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| Found::new(v.trim().to_owned(), format!("docker daemon label {name}")))
    };
    let mut metadata = ImageMetadata::default();
    if wanted.base {
        metadata.base = label(BASE_NAME).or_else(|| label(LEGACY_BASE));
        metadata.base_digest = label(BASE_DIGEST);
    }
    if wanted.platforms {
        metadata.platforms = label(PLATFORMS)
            .map(|f| Found::new(vec![f.value], f.origin))
            .or_else(|| own_platform(inspect));
    }
    metadata.image_digest = repo_digest(image, inspect);
    metadata
}

fn own_platform(inspect: &ImageInspect) -> Option<Found<Vec<String>>> {
    let os = inspect.os.as_deref().filter(|s| !s.is_empty())?;
    let arch = inspect.architecture.as_deref().filter(|s| !s.is_empty())?;
    let text = match inspect.variant.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    };
    Some(Found::new(
        vec![text],
        "docker daemon image os/architecture",
    ))
}

fn repo_digest(image: &ImageRef, inspect: &ImageInspect) -> Option<String> {
    inspect.repo_digests.as_ref()?.iter().find_map(|entry| {
        let parsed = ImageRef::parse(entry).ok()?;
        (parsed.repository() == image.repository())
            .then(|| parsed.digest().map(ToString::to_string))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(json: &str) -> ImageInspect {
        serde_json::from_str(json).expect("inspect JSON")
    }

    #[test]
    fn labels_then_own_platform_and_matching_repo_digest() {
        let image = ImageRef::parse("127.0.0.1:5000/apps/x:1").expect("ref");
        let hex = "a".repeat(64);
        let data = inspect(&format!(
            r#"{{"RepoDigests":["other/y@sha256:{b}","127.0.0.1:5000/apps/x@sha256:{hex}"],
                "Os":"linux","Architecture":"arm64","Variant":"v8",
                "Config":{{"Labels":{{"BASE_IMAGE_REF":"r.io/base:1"}}}}}}"#,
            b = "b".repeat(64)
        ));
        let all = Wanted {
            base: true,
            platforms: true,
        };
        let m = metadata(&image, &data, all);
        assert_eq!(m.base.map(|f| f.value), Some("r.io/base:1".to_owned()));
        assert_eq!(
            m.platforms.map(|f| f.value),
            Some(vec!["linux/arm64/v8".to_owned()])
        );
        assert_eq!(m.image_digest, Some(format!("sha256:{hex}")));
    }

    #[test]
    fn nothing_known_is_nothing_found() {
        let image = ImageRef::parse("r.io/x:1").expect("ref");
        let m = metadata(
            &image,
            &inspect(r#"{"Config":null}"#),
            Wanted {
                base: true,
                platforms: true,
            },
        );
        assert_eq!(m, ImageMetadata::default());
    }
}
