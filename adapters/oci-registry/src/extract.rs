//! Pure part of the inspection: parsing manifests, indexes and configs, and
//! the platform lists they imply. Which values they yield is the domain's
//! rule (`imglife_domain::metadata::Findings`). No I/O here.

use std::collections::BTreeMap;

use imglife_domain::metadata::platform_text;
use serde::Deserialize;

/// Media types asked for: without an Accept header, distribution answers
/// 404 (it falls back to schema 1).
pub const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// An image manifest or an index, as far as imglife reads them.
#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub manifests: Option<Vec<Entry>>,
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    pub digest: String,
    pub platform: Option<PlatformSpec>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Descriptor {
    pub digest: String,
}

/// The image configuration (OCI and Docker share these fields).
#[derive(Debug, Deserialize)]
pub struct Config {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    pub config: Option<ContainerConfig>,
}

#[derive(Debug, Deserialize)]
pub struct ContainerConfig {
    #[serde(rename = "Labels")]
    pub labels: Option<BTreeMap<String, String>>,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if manifest.manifests.is_none() && manifest.config.is_none() {
            return Err(
                "neither an image index (no \"manifests\") nor an image manifest \
                        (no \"config\")"
                    .to_owned(),
            );
        }
        Ok(manifest)
    }

    pub fn is_index(&self) -> bool {
        self.manifests.is_some()
    }

    /// The entries that are images: attestations (BuildKit stores them as
    /// `unknown/unknown` entries) are skipped.
    pub fn image_entries(&self) -> Vec<&Entry> {
        self.manifests
            .iter()
            .flatten()
            .filter(|e| !e.is_attestation())
            .collect()
    }

    /// The entry whose manifest is read: `linux/amd64` when listed, else
    /// the first image entry. Never the host's platform: the answer must
    /// not depend on where imglife runs.
    pub fn chosen_entry(&self) -> Option<&Entry> {
        let entries = self.image_entries();
        entries
            .iter()
            .find(|e| {
                e.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
            })
            .or_else(|| entries.first())
            .copied()
    }

    /// `os/arch[/variant]` of every image entry, in index order.
    pub fn entry_platforms(&self) -> Vec<String> {
        self.image_entries()
            .iter()
            .filter_map(|e| e.platform.as_ref())
            .map(|p| platform_text(&p.os, &p.architecture, p.variant.as_deref()))
            .collect()
    }
}

impl Entry {
    fn is_attestation(&self) -> bool {
        let unknown = self
            .platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown");
        let annotated = self
            .annotations
            .as_ref()
            .and_then(|a| a.get("vnd.docker.reference.type"))
            .is_some_and(|t| t == "attestation-manifest");
        unknown || annotated
    }
}

impl Config {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    pub fn platform(&self) -> Option<String> {
        match (&self.os, &self.architecture) {
            (Some(os), Some(arch)) if !os.is_empty() && !arch.is_empty() => {
                Some(platform_text(os, arch, self.variant.as_deref()))
            }
            _ => None,
        }
    }

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.config.as_ref().and_then(|c| c.labels.as_ref())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn index_entries_skip_attestations_and_prefer_amd64() {
        let index = Manifest::parse(
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
              {"mediaType":"m","digest":"sha256:arm","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
              {"mediaType":"m","digest":"sha256:att","size":1,"platform":{"os":"unknown","architecture":"unknown"}},
              {"mediaType":"m","digest":"sha256:amd","size":1,"platform":{"os":"linux","architecture":"amd64"}}]}"#,
        )
        .unwrap();
        assert!(index.is_index());
        assert_eq!(index.chosen_entry().unwrap().digest, "sha256:amd");
        assert_eq!(index.entry_platforms(), ["linux/arm64/v8", "linux/amd64"]);
    }

    #[test]
    fn without_amd64_the_first_image_entry_is_chosen() {
        let index = Manifest::parse(
            br#"{"manifests":[
              {"digest":"sha256:att","size":1,"platform":{"os":"unknown","architecture":"unknown"}},
              {"digest":"sha256:arm","size":1,"platform":{"os":"linux","architecture":"arm64"}}]}"#,
        )
        .unwrap();
        assert_eq!(index.chosen_entry().unwrap().digest, "sha256:arm");
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        assert!(Manifest::parse(b"{}").unwrap_err().contains("neither"));
        assert!(Manifest::parse(b"not json").is_err());
        assert!(Config::parse(b"[1]").is_err());
    }

    #[test]
    fn config_platform_includes_the_variant() {
        let c = Config::parse(
            br#"{"os":"linux","architecture":"arm","variant":"v7","config":{"Labels":null}}"#,
        )
        .unwrap();
        assert_eq!(c.platform().unwrap(), "linux/arm/v7");
        assert!(c.labels().is_none());
    }
}
