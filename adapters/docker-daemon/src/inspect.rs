//! The parts of `GET /images/{name}/json` and `GET /distribution/{name}/json`
//! that imglife reads, and how they become `ImageMetadata`.
//!
//! The digest rule: a daemon's `RepoDigests` entry is recorded as
//! `image_digest` only when the registry confirms it, that is when the
//! daemon, asked to resolve the reference at the registry
//! (`/distribution/{name}/json`), gets that same digest back. A never-pushed
//! image has no entry; podman's entry for a local build is a digest of its
//! local manifest, which the registry does not serve (or serves another
//! after a push); an entry of a pulled image whose tag has moved on names a
//! manifest the tag no longer points to. All of those are left out, and
//! the reason is logged at info level. When the confirmed digest names a
//! multi-platform index, the platforms recorded next to it are the index's
//! (unless a label or the user names them), never only the platform the
//! daemon happened to pull.

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

/// The daemon's answer to `/distribution/{name}/json`: what the registry
/// serves for the reference.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DistributionInspect {
    pub descriptor: Descriptor,
    #[serde(default)]
    pub platforms: Option<Vec<DistributionPlatform>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DistributionPlatform {
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
}

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

impl DistributionInspect {
    fn is_index(&self) -> bool {
        self.descriptor
            .media_type
            .as_deref()
            .is_some_and(|t| INDEX_TYPES.contains(&t))
    }

    /// The index's platforms, without attestation entries (`unknown/unknown`).
    fn platforms(&self) -> Vec<String> {
        let mut list: Vec<String> = Vec::new();
        for p in self.platforms.iter().flatten() {
            let (Some(os), Some(arch)) = (p.os.as_deref(), p.architecture.as_deref()) else {
                continue;
            };
            if os.is_empty() || arch.is_empty() || os == "unknown" || arch == "unknown" {
                continue;
            }
            let text = platform_text(os, arch, p.variant.as_deref());
            if !list.contains(&text) {
                list.push(text);
            }
        }
        list
    }
}

/// What is known about the registry's view of the image's digest.
#[derive(Debug, Clone)]
pub enum DigestCheck {
    /// The reference carries its digest: the register use case takes it.
    ByReference,
    /// No `RepoDigests` entry of the image's repository.
    NoCandidate,
    /// Candidates that could not be checked, and why (the daemon's API is
    /// too old, the registry refused or did not answer).
    Unchecked {
        candidates: Vec<String>,
        why: String,
    },
    /// The registry's answer, relayed by the daemon.
    Answered {
        candidates: Vec<String>,
        answer: DistributionInspect,
    },
}

/// The metadata, and a note for the log when a digest was left out.
#[derive(Debug)]
pub struct Outcome {
    pub metadata: ImageMetadata,
    pub note: Option<String>,
}

/// Labels first (the daemon has no manifest annotations), read with the
/// same rule as the registry's levels; then, for platforms, the confirmed
/// index's, then the image's own os/architecture.
pub fn metadata(
    image: &ImageRef,
    inspect: &ImageInspect,
    wanted: Wanted,
    check: &DigestCheck,
) -> Outcome {
    let mut findings = Findings::default();
    let labels = inspect.config.as_ref().and_then(|c| c.labels.as_ref());
    findings.absorb("docker daemon label", labels, wanted);
    let repository = image.repository();
    let (digest, note) = match check {
        DigestCheck::ByReference => (None, None),
        DigestCheck::NoCandidate => (
            None,
            Some(format!(
                "image_digest left out: the Docker daemon holds no registry digest of {repository} \
                 for {image} (never pushed or pulled)"
            )),
        ),
        DigestCheck::Unchecked { candidates, why } => (
            None,
            Some(format!(
                "image_digest left out: the daemon's digest {} of {repository} could not be \
                 checked with the registry: {why}",
                candidates.join(", ")
            )),
        ),
        DigestCheck::Answered { candidates, answer } => {
            let served = &answer.descriptor.digest;
            if !candidates.contains(served) {
                (
                    None,
                    Some(format!(
                        "image_digest left out: the daemon's digest {} of {repository} is not the \
                         one the registry serves for {image} ({served}): a local digest (podman's \
                         changes on push), or the tag moved",
                        candidates.join(", ")
                    )),
                )
            } else if answer.is_index() && wanted.platforms && findings.platforms.is_none() {
                // The daemon pulled one platform of the index; the digest
                // stands for all of them.
                let list = answer.platforms();
                if list.is_empty() {
                    (
                        None,
                        Some(format!(
                            "image_digest left out: {served} is a multi-platform index whose \
                             platforms the registry did not list"
                        )),
                    )
                } else {
                    findings.fallback_platforms(
                        wanted,
                        list,
                        &format!("registry index {served} (through the docker daemon)"),
                    );
                    (Some(served.clone()), None)
                }
            } else {
                (Some(served.clone()), None)
            }
        }
    };
    if let Some(own) = own_platform(inspect) {
        findings.fallback_platforms(wanted, vec![own], "docker daemon image os/architecture");
    }
    Outcome {
        metadata: findings.into_metadata(digest),
        note,
    }
}

fn own_platform(inspect: &ImageInspect) -> Option<String> {
    let os = inspect.os.as_deref().filter(|s| !s.is_empty())?;
    let arch = inspect.architecture.as_deref().filter(|s| !s.is_empty())?;
    Some(platform_text(os, arch, inspect.variant.as_deref()))
}

/// The digests of the `RepoDigests` entries of the image's repository: a
/// digest of another repository says nothing about this one.
pub fn repo_digests(image: &ImageRef, inspect: &ImageInspect) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for entry in inspect.repo_digests.iter().flatten() {
        let Ok(parsed) = ImageRef::parse(entry) else {
            continue;
        };
        if parsed.repository() != image.repository() {
            continue;
        }
        if let Some(digest) = parsed.digest().map(ToString::to_string)
            && !found.contains(&digest)
        {
            found.push(digest);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Wanted = Wanted {
        base: true,
        platforms: true,
    };
    const LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

    fn inspect(json: &str) -> ImageInspect {
        serde_json::from_str(json).expect("inspect JSON")
    }

    fn answer(media_type: &str, digest: &str, platforms: &str) -> DistributionInspect {
        serde_json::from_str(&format!(
            r#"{{"Descriptor":{{"mediaType":"{media_type}","digest":"{digest}","size":1}},"Platforms":{platforms}}}"#
        ))
        .expect("distribution JSON")
    }

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn pulled(labels: &str) -> ImageInspect {
        inspect(&format!(
            r#"{{"RepoDigests":["other/y@{b}","127.0.0.1:5000/apps/x@{a}"],
                "Os":"linux","Architecture":"arm64","Variant":"v8",
                "Config":{{"Labels":{{"BASE_IMAGE_REF":"r.io/base:1"{labels}}}}}}}"#,
            a = digest('a'),
            b = digest('b'),
        ))
    }

    fn image() -> ImageRef {
        ImageRef::parse("127.0.0.1:5000/apps/x:1").expect("ref")
    }

    #[test]
    fn only_the_repository_s_own_digests_are_candidates() {
        assert_eq!(repo_digests(&image(), &pulled("")), vec![digest('a')]);
    }

    #[test]
    fn a_confirmed_manifest_digest_is_recorded() {
        let check = DigestCheck::Answered {
            candidates: vec![digest('a')],
            answer: answer(
                MANIFEST,
                &digest('a'),
                r#"[{"os":"linux","architecture":"arm64"}]"#,
            ),
        };
        let out = metadata(&image(), &pulled(""), ALL, &check);
        let m = out.metadata;
        assert_eq!(m.base.map(|f| f.value), Some("r.io/base:1".to_owned()));
        assert_eq!(
            m.platforms.map(|f| f.value),
            Some(vec!["linux/arm64/v8".to_owned()])
        );
        assert_eq!(m.image_digest, Some(digest('a')));
        assert_eq!(out.note, None);
    }

    #[test]
    fn an_unconfirmed_digest_is_left_out_with_a_note() {
        for check in [
            DigestCheck::Answered {
                candidates: vec![digest('a')],
                answer: answer(MANIFEST, &digest('c'), "[]"),
            },
            DigestCheck::Unchecked {
                candidates: vec![digest('a')],
                why: "the daemon answered 404: manifest unknown".to_owned(),
            },
            DigestCheck::NoCandidate,
        ] {
            let out = metadata(&image(), &pulled(""), ALL, &check);
            assert_eq!(out.metadata.image_digest, None, "{check:?}");
            let note = out.note.expect("a note");
            assert!(note.starts_with("image_digest left out: "), "{note}");
            assert_eq!(
                out.metadata.platforms.map(|f| f.value),
                Some(vec!["linux/arm64/v8".to_owned()])
            );
        }
    }

    #[test]
    fn a_confirmed_index_brings_its_platforms_not_only_the_pulled_one() {
        let check = DigestCheck::Answered {
            candidates: vec![digest('a')],
            answer: answer(
                LIST,
                &digest('a'),
                r#"[{"os":"linux","architecture":"amd64"},{"os":"linux","architecture":"arm64","variant":"v8"},
                    {"os":"unknown","architecture":"unknown"}]"#,
            ),
        };
        let m = metadata(&image(), &pulled(""), ALL, &check).metadata;
        assert_eq!(m.image_digest, Some(digest('a')));
        let platforms = m.platforms.expect("platforms");
        assert_eq!(platforms.value, vec!["linux/amd64", "linux/arm64/v8"]);
        assert!(platforms.origin.starts_with("registry index sha256:aaa"));

        // A label names the build's platforms: it stays, next to the index.
        let labelled = pulled(r#","imglife.platforms":"linux/amd64 linux/arm64""#);
        let m = metadata(&image(), &labelled, ALL, &check).metadata;
        assert_eq!(m.image_digest, Some(digest('a')));
        assert_eq!(
            m.platforms.map(|f| f.value),
            Some(vec!["linux/amd64 linux/arm64".to_owned()])
        );

        // An index whose platforms are unknown: no index digest.
        let bare = DigestCheck::Answered {
            candidates: vec![digest('a')],
            answer: answer(LIST, &digest('a'), "[]"),
        };
        let out = metadata(&image(), &pulled(""), ALL, &bare);
        assert_eq!(out.metadata.image_digest, None);
        assert!(out.note.is_some());
    }

    #[test]
    fn nothing_known_is_nothing_found() {
        let image = ImageRef::parse("r.io/x:1").expect("ref");
        let out = metadata(
            &image,
            &inspect(r#"{"Config":null}"#),
            ALL,
            &DigestCheck::ByReference,
        );
        assert_eq!(out.metadata, ImageMetadata::default());
        assert_eq!(out.note, None);
    }
}
