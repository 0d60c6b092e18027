//! The inspection: top manifest (or index), then, only while values are
//! missing, one platform's manifest, then its config.

use imglife_domain::ImageRef;
use imglife_domain::metadata::{Findings, ImageMetadata, MetadataError, Wanted};

use crate::client::RegistryClient;
use crate::credentials::{self, Credential};
use crate::errors::{self, Context};
use crate::extract::{Config, Descriptor, MANIFEST_TYPES, Manifest};
use crate::{EnvLookup, RegistryOptions, transport};

pub async fn inspect(
    image: &ImageRef,
    wanted: Wanted,
    options: &RegistryOptions,
    env: &EnvLookup,
) -> Result<ImageMetadata, MetadataError> {
    // Messages and credentials use the host as the reference names it
    // (`docker.io`); requests go to its API host (`registry-1.docker.io`).
    let host = image.domain();
    let credential = credentials::resolve(host, image.path(), env.as_ref())?;
    let api_host = transport::api_host(host);
    tracing::debug!(%image, api_host, ?credential, "inspecting");
    let ci_registry = env("CI_REGISTRY").is_some_and(|r| r.eq_ignore_ascii_case(host));
    let (http, base) = transport::client(api_host, options, ci_registry)?;
    let session = Session {
        image,
        reference: reference(image),
        client: RegistryClient::new(
            http,
            base,
            image.path().to_owned(),
            credential.auth.clone(),
            options.insecure_registries.clone(),
        ),
        credential,
        options,
    };
    let timeout = options.timeout;
    let run = session.run(wanted);
    match tokio::time::timeout(timeout, run).await {
        Ok(result) => result,
        Err(_) => Err(MetadataError::Unreachable(format!(
            "image {image}: registry {host} did not answer within {} s; try again, or raise \
             inspection.timeout_secs (IMGLIFE_INSPECTION__TIMEOUT_SECS)",
            timeout.as_secs()
        ))),
    }
}

/// What the manifest request names: the digest when there is one (it
/// pins the content), else the tag.
fn reference(image: &ImageRef) -> String {
    match (image.tag(), image.digest()) {
        (_, Some(digest)) => digest.to_string(),
        (Some(tag), None) => tag.to_owned(),
        // Parsing guarantees a tag or a digest.
        (None, None) => "latest".to_owned(),
    }
}

struct Session<'a> {
    image: &'a ImageRef,
    reference: String,
    client: RegistryClient,
    credential: Credential,
    options: &'a RegistryOptions,
}

impl Session<'_> {
    async fn run(&self, wanted: Wanted) -> Result<ImageMetadata, MetadataError> {
        let (bytes, digest) = match self.manifest(&self.reference, errors::TOP_MANIFEST).await {
            Err(MetadataError::NotFound(tag_missing)) => {
                return Err(self.repository_or_tag_missing(tag_missing).await);
            }
            other => other?,
        };
        let top = parse_manifest(&bytes, &self.what(errors::TOP_MANIFEST))?;
        let mut findings = Findings::default();
        let mut config_descriptor = top.config.clone();
        if top.is_index() {
            findings.absorb("index annotation", top.annotations.as_ref(), wanted);
            if !findings.complete(wanted)
                && let Some(entry) = top.chosen_entry()
            {
                let what = format!("the manifest {} (from the index)", entry.digest);
                self.named_digest(&entry.digest, &what)?;
                let (bytes, _) = self.manifest(&entry.digest, &what).await?;
                let manifest = parse_manifest(&bytes, &self.what(&what))?;
                if manifest.is_index() {
                    return Err(MetadataError::Invalid(format!(
                        "{}: is an index inside an index, which imglife does not follow; \
                         pass --base and --platform",
                        self.what(&what)
                    )));
                }
                findings.absorb("manifest annotation", manifest.annotations.as_ref(), wanted);
                config_descriptor = manifest.config;
            }
        } else {
            findings.absorb("manifest annotation", top.annotations.as_ref(), wanted);
        }
        let mut config = None;
        if !findings.complete(wanted)
            && let Some(descriptor) = &config_descriptor
        {
            let parsed = self.config(descriptor).await?;
            findings.absorb("config label", parsed.labels(), wanted);
            config = Some(parsed);
        }
        if top.is_index() {
            // The index's entries list the platforms; the one config read
            // describes only one of them.
            findings.fallback_platforms(
                wanted,
                top.entry_platforms(),
                "the platforms of the image index",
            );
        } else if let Some(platform) = config.as_ref().and_then(Config::platform) {
            findings.fallback_platforms(
                wanted,
                vec![platform],
                "the image config's os/architecture",
            );
        }
        Ok(findings.into_metadata(Some(digest)))
    }

    /// Distribution answers MANIFEST_UNKNOWN for a tag of a repository that
    /// does not exist either; the tag list tells the two apart, so the
    /// message can point at the right part of `--image`. Only asked on
    /// this failure path.
    async fn repository_or_tag_missing(&self, tag_missing: String) -> MetadataError {
        match self.client.probe_tags().await {
            Err(e) if errors::is_name_unknown(&e) => self.error(&e, "the tag list"),
            _ => MetadataError::NotFound(tag_missing),
        }
    }

    async fn manifest(
        &self,
        reference: &str,
        what: &str,
    ) -> Result<(Vec<u8>, String), MetadataError> {
        transport::retrying(self.options, what, || {
            self.client.manifest(reference, &MANIFEST_TYPES)
        })
        .await
        .map(|reply| {
            let digest = reply.digest.unwrap_or_default();
            (reply.bytes, digest)
        })
        .map_err(|e| self.error(&e, what))
    }

    async fn config(&self, descriptor: &Descriptor) -> Result<Config, MetadataError> {
        let what = format!("the config blob {}", descriptor.digest);
        self.named_digest(&descriptor.digest, &what)?;
        let bytes =
            transport::retrying(self.options, &what, || self.client.blob(&descriptor.digest))
                .await
                .map_err(|e| self.error(&e, &what))?;
        Config::parse(&bytes).map_err(|e| {
            MetadataError::Invalid(format!(
                "{}: does not parse as an image config ({e}); rebuild and push the image, or \
                 pass --base and --platform",
                self.what(&what)
            ))
        })
    }

    /// A digest the image's own content names (an index entry, a config
    /// descriptor) must be one before it is asked for: it is the only
    /// check of what comes back.
    fn named_digest(&self, digest: &str, what: &str) -> Result<(), MetadataError> {
        imglife_domain::Digest::parse(digest)
            .map(|_| ())
            .map_err(|e| {
                MetadataError::Invalid(format!(
                    "{}: {e}; check what was pushed, or pass --base and --platform",
                    self.what(what)
                ))
            })
    }

    fn what(&self, what: &str) -> String {
        format!(
            "image {}: {what} from registry {}",
            self.image,
            self.image.domain()
        )
    }

    fn error(&self, error: &crate::client::Fault, fetching: &str) -> MetadataError {
        // What the manifest request named (see `reference`): the digest
        // when there is one, also for `repo:tag@digest`.
        let tag_or_digest = match (self.image.tag(), self.image.digest()) {
            (_, Some(d)) => format!("digest {d}"),
            (Some(tag), None) => format!("tag {tag}"),
            (None, None) => "the image".to_owned(),
        };
        let repository = self.image.repository();
        errors::map(
            error,
            &Context {
                image: &self.image.to_string(),
                host: self.image.domain(),
                api_host: transport::api_host(self.image.domain()),
                repository: &repository,
                tag_or_digest: &tag_or_digest,
                credential: &self.credential.source,
                fetching,
            },
        )
    }
}

fn parse_manifest(bytes: &[u8], what: &str) -> Result<Manifest, MetadataError> {
    Manifest::parse(bytes).map_err(|e| {
        MetadataError::Invalid(format!(
            "{what}: does not parse as an image manifest or index ({e}); check what was pushed, \
             or pass --base and --platform"
        ))
    })
}
