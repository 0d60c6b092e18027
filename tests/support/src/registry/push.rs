//! Writing fixtures into a registry by hand, byte for byte: blobs, image
//! manifests (OCI and Docker v2), indexes and manifest lists.

use serde_json::{Value, json};

use super::http::{self, Response};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

pub fn sha256(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A content descriptor of pushed bytes.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub media_type: String,
    pub digest: String,
    pub size: usize,
}

impl Pushed {
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }

    /// The descriptor as an index entry for `os/arch[/variant]`.
    pub fn entry(&self, platform: &str) -> Value {
        let mut parts = platform.split('/');
        let mut p = json!({"os": parts.next(), "architecture": parts.next()});
        if let Some(v) = parts.next() {
            p["variant"] = json!(v);
        }
        let mut d = self.descriptor();
        d["platform"] = p;
        d
    }
}

/// Pushes to one repository of a registry without authentication.
pub struct Pusher {
    pub addr: String,
    pub repository: String,
}

impl Pusher {
    pub fn new(addr: &str, repository: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            repository: repository.to_owned(),
        }
    }

    pub fn blob(&self, media_type: &str, data: &[u8]) -> Pushed {
        let digest = sha256(data);
        let start = http::request(
            &self.addr,
            "POST",
            &format!("/v2/{}/blobs/uploads/", self.repository),
            &[],
            b"",
        );
        assert_eq!(start.status, 202, "blob upload start: {}", body(&start));
        let location = start.header("Location").expect("upload location");
        let target = location
            .split_once("://")
            .map_or(location, |(_, rest)| &rest[rest.find('/').unwrap_or(0)..]);
        let sep = if target.contains('?') { '&' } else { '?' };
        let done = http::request(
            &self.addr,
            "PUT",
            &format!("{target}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            data,
        );
        assert_eq!(done.status, 201, "blob upload: {}", body(&done));
        Pushed {
            media_type: media_type.to_owned(),
            digest,
            size: data.len(),
        }
    }

    /// Puts manifest bytes under `reference` (a tag or a digest).
    pub fn manifest(&self, media_type: &str, bytes: &[u8], reference: &str) -> Pushed {
        let response = http::request(
            &self.addr,
            "PUT",
            &format!("/v2/{}/manifests/{reference}", self.repository),
            &[("Content-Type", media_type)],
            bytes,
        );
        assert_eq!(response.status, 201, "manifest push: {}", body(&response));
        Pushed {
            media_type: media_type.to_owned(),
            digest: sha256(bytes),
            size: bytes.len(),
        }
    }

    /// A single-platform image: config blob (with `labels`, or the raw
    /// `config` bytes when given), one small layer, and a manifest with
    /// `annotations`, pushed by digest (and under `tag` when given).
    pub fn image(&self, spec: &ImageSpec<'_>, tag: Option<&str>) -> Pushed {
        let docker = spec.docker;
        let config_bytes = match spec.raw_config {
            Some(raw) => raw.to_vec(),
            None => {
                let mut parts = spec.platform.split('/');
                let mut config = json!({
                    "architecture": "x", "os": "x",
                    "config": {"Labels": labels(spec.labels)},
                    "rootfs": {"type": "layers", "diff_ids": []},
                });
                config["os"] = json!(parts.next());
                config["architecture"] = json!(parts.next());
                if let Some(v) = parts.next() {
                    config["variant"] = json!(v);
                }
                serde_json::to_vec(&config).unwrap()
            }
        };
        let config = self.blob(
            if docker { DOCKER_CONFIG } else { OCI_CONFIG },
            &config_bytes,
        );
        let layer = self.blob(
            if docker { DOCKER_LAYER } else { OCI_LAYER },
            format!("layer of {} {}", self.repository, spec.platform).as_bytes(),
        );
        let media_type = if docker {
            DOCKER_MANIFEST
        } else {
            OCI_MANIFEST
        };
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": config.descriptor(),
            "layers": [layer.descriptor()],
        });
        if !spec.annotations.is_empty() {
            manifest["annotations"] = labels(spec.annotations);
        }
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let pushed = self.manifest(media_type, &bytes, &sha256(&bytes));
        if let Some(tag) = tag {
            self.manifest(media_type, &bytes, tag);
        }
        pushed
    }

    /// An index (OCI) or manifest list (Docker) of `entries` under `tag`.
    pub fn index(
        &self,
        docker: bool,
        entries: &[Value],
        annotations: &[(&str, &str)],
        tag: &str,
    ) -> Pushed {
        let media_type = if docker { DOCKER_LIST } else { OCI_INDEX };
        let mut index = json!({"schemaVersion": 2, "mediaType": media_type, "manifests": entries});
        if !annotations.is_empty() {
            index["annotations"] = labels(annotations);
        }
        let bytes = serde_json::to_vec(&index).unwrap();
        self.manifest(media_type, &bytes, tag)
    }
}

/// What goes into one pushed image.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageSpec<'a> {
    pub docker: bool,
    /// `os/arch[/variant]` written into the config.
    pub platform: &'a str,
    pub labels: &'a [(&'a str, &'a str)],
    pub annotations: &'a [(&'a str, &'a str)],
    /// Config bytes pushed as they are (e.g. garbage).
    pub raw_config: Option<&'a [u8]>,
}

fn labels(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect(),
    )
}

fn body(r: &Response) -> String {
    format!("HTTP {} {}", r.status, String::from_utf8_lossy(&r.body))
}
