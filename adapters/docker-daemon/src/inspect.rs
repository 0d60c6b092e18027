//! The parts of `GET /images/{name}/json` that imglife reads, and how they
//! become `ImageMetadata`.

use std::collections::BTreeMap;

use imglife_domain::ImageRef;
use imglife_domain::metadata::{Findings, ImageMetadata, Wanted, platform_text};
use serde::Deserialize;

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
    pub labels: Option<BTreeMap<String, String>>,
}

/// Labels first (the daemon has no manifest annotations), read with the
/// same rule as the registry's levels, then the image's own platform; the
/// digest from the `RepoDigests` entry of the same repository, which exists
/// once the image was pushed or pulled.
pub fn metadata(image: &ImageRef, inspect: &ImageInspect, wanted: Wanted) -> ImageMetadata {
    let mut findings = Findings::default();
    let labels = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
    findings.absorb("docker daemon label", labels, wanted);
    if let Some(own) = own_platform(inspect) {
        findings.fallback_platforms(wanted, vec![own], "docker daemon image os/architecture");
    }
    findings.into_metadata(repo_digest(image, inspect))
}

fn own_platform(inspect: &ImageInspect) -> Option<String> {
    let os = inspect.os.as_deref().filter(|s| !s.is_empty())?;
    let arch = inspect.architecture.as_deref().filter(|s| !s.is_empty())?;
    Some(platform_text(os, arch, inspect.variant.as_deref()))
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
