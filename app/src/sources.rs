//! `--source auto`: the registry first, then the local Docker daemon.
//!
//! In CI the image was just pushed, so the registry answers; on a
//! developer's machine the image may exist only in the daemon. The daemon
//! is asked only when the registry cannot answer at all (not found,
//! unreachable, unauthorized); a registry that answers with bad metadata
//! is an error of its own, not a reason to look elsewhere.

use async_trait::async_trait;
use imglife_domain::ImageRef;
use imglife_domain::metadata::{ImageMetadata, MetadataError, PassedOver, Wanted};
use imglife_domain::ports::ImageMetadataSource;

pub struct Fallback {
    first: Box<dyn ImageMetadataSource>,
    second: Box<dyn ImageMetadataSource>,
}

impl Fallback {
    pub fn new(first: Box<dyn ImageMetadataSource>, second: Box<dyn ImageMetadataSource>) -> Self {
        Self { first, second }
    }
}

/// A source that could not be set up (say, `DOCKER_HOST` names an
/// unsupported scheme): in `auto` it only matters if the registry cannot
/// answer either, so it fails when asked rather than when built.
pub struct Unavailable {
    name: String,
    reason: String,
}

impl Unavailable {
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

#[async_trait]
impl ImageMetadataSource for Unavailable {
    fn describe(&self, _image: &ImageRef) -> String {
        self.name.clone()
    }

    async fn inspect(
        &self,
        _image: &ImageRef,
        _wanted: Wanted,
    ) -> Result<ImageMetadata, MetadataError> {
        Err(MetadataError::Unreachable(self.reason.clone()))
    }
}

fn may_fall_back(error: &MetadataError) -> bool {
    matches!(
        error,
        MetadataError::NotFound(_) | MetadataError::Unreachable(_) | MetadataError::Unauthorized(_)
    )
}

#[async_trait]
impl ImageMetadataSource for Fallback {
    fn describe(&self, image: &ImageRef) -> String {
        format!(
            "{}, else {}",
            self.first.describe(image),
            self.second.describe(image)
        )
    }

    async fn inspect(
        &self,
        image: &ImageRef,
        wanted: Wanted,
    ) -> Result<ImageMetadata, MetadataError> {
        let first_error = match self.first.inspect(image, wanted).await {
            Ok(mut found) => {
                found
                    .answered_by
                    .get_or_insert_with(|| self.first.describe(image));
                return Ok(found);
            }
            Err(e) if may_fall_back(&e) => e,
            Err(e) => return Err(e),
        };
        tracing::info!(
            "{}: {first_error}; trying {}",
            self.first.describe(image),
            self.second.describe(image)
        );
        match self.second.inspect(image, wanted).await {
            Ok(mut found) => {
                found
                    .answered_by
                    .get_or_insert_with(|| self.second.describe(image));
                found.passed_over = Some(PassedOver {
                    source: self.first.describe(image),
                    error: first_error,
                });
                Ok(found)
            }
            Err(second_error) => {
                let message = format!(
                    "no source could describe {image}: {} said: {first_error}; {} said: {second_error}",
                    self.first.describe(image),
                    self.second.describe(image)
                );
                Err(match second_error {
                    MetadataError::NotFound(_) => MetadataError::NotFound(message),
                    MetadataError::Unauthorized(_) => MetadataError::Unauthorized(message),
                    MetadataError::Invalid(_) => MetadataError::Invalid(message),
                    _ => MetadataError::Unreachable(message),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
