//! `--base` and `--project` filters of the read side.

use imglife_domain::{BuildRecord, ImageRef, ProjectPath};

/// Matches a record's base image against a repository
/// (`registry.example.com/bases/alpine`), a repository and tag
/// (`...alpine:3.19`: that tag, and tags that continue it after a `.`,
/// `-` or `_`, such as `3.19.1` or `3.19-core1.0.0`), or a digest.
#[derive(Debug, Clone)]
pub struct BaseFilter {
    wanted: ImageRef,
}

impl BaseFilter {
    pub fn parse(text: &str) -> Result<Self, String> {
        ImageRef::parse_name_only(text)
            .map(|wanted| Self { wanted })
            .map_err(|e| format!("--base '{text}': {e}"))
    }

    pub fn matches(&self, record: &BuildRecord) -> bool {
        let base = &record.base;
        if base.repository() != self.wanted.repository() {
            return false;
        }
        if let Some(digest) = self.wanted.digest() {
            let has = base.digest() == Some(digest) || record.base_digest.as_ref() == Some(digest);
            if !has {
                return false;
            }
        }
        match (self.wanted.tag(), base.tag()) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(prefix), Some(tag)) => tag_continues(tag, prefix),
        }
    }
}

/// `app list`'s filters together: a record is listed when it passes every
/// filter given.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub project: Option<ProjectPath>,
    pub base: Option<BaseFilter>,
}

impl ListFilter {
    pub fn matches(&self, record: &BuildRecord) -> bool {
        self.project.as_ref().is_none_or(|p| &record.project == p)
            && self.base.as_ref().is_none_or(|b| b.matches(record))
    }
}

/// `3.19` matches `3.19`, `3.19.1`, `3.19-core1`, but not `3.190`.
fn tag_continues(tag: &str, prefix: &str) -> bool {
    match tag.strip_prefix(prefix) {
        Some("") => true,
        Some(rest) => rest.starts_with(['.', '-', '_']) || prefix.ends_with(['.', '-', '_']),
        None => false,
    }
}

#[cfg(test)]
mod tests;
