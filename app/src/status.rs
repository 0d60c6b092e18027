//! Which applications run on which base image, and which are behind.
//!
//! An application is an image repository; its state is its newest record.
//! For each base repository, the *current* tag is the newest tag (in
//! natural version order) that any record references; an application
//! whose newest record uses an older tag of that repository is outdated.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::filter::BaseFilter;
use crate::records::Entry;

mod tag_order;

pub use tag_order::compare_tags;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRow {
    pub image: String,
    pub project: String,
    pub revision: String,
    pub revision_short: String,
    pub built_at: String,
    /// The reference to move to, when the application is behind.
    pub upgrade_to: Option<String>,
}

/// One base image (repository and tag or digest) and its applications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseGroup {
    pub reference: String,
    /// The tag, or `@digest` for a digest-only reference.
    pub label: String,
    pub current: bool,
    pub apps: Vec<AppRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRepository {
    pub repository: String,
    pub current_tag: Option<String>,
    pub groups: Vec<BaseGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusReport {
    pub repositories: Vec<BaseRepository>,
    pub applications: usize,
    pub outdated: usize,
    pub records: usize,
}

/// `entries` newest first, as `records::load` returns them.
pub fn report(entries: &[Entry], filter: Option<&BaseFilter>) -> StatusReport {
    // The current tag of each base repository, over every record.
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    for entry in entries {
        if let Some(tag) = entry.record.base.tag() {
            let slot = current
                .entry(entry.record.base.repository())
                .or_insert_with(|| tag.to_owned());
            if compare_tags(tag, slot) == Ordering::Greater {
                *slot = tag.to_owned();
            }
        }
    }

    // The newest record of each application repository.
    let mut newest: BTreeMap<String, &Entry> = BTreeMap::new();
    for entry in entries {
        newest
            .entry(entry.record.image.repository())
            .or_insert(entry);
    }

    let mut repositories: BTreeMap<String, BTreeMap<String, BaseGroup>> = BTreeMap::new();
    let mut report = StatusReport {
        records: entries.len(),
        ..StatusReport::default()
    };
    for entry in newest.values() {
        let record = &entry.record;
        if filter.is_some_and(|f| !f.matches(record)) {
            continue;
        }
        let repository = record.base.repository();
        let current_tag = current.get(&repository);
        let behind = match (record.base.tag(), current_tag) {
            (Some(tag), Some(cur)) => tag != cur,
            _ => false,
        };
        let label = match (record.base.tag(), record.base.digest()) {
            (Some(tag), _) => tag.to_owned(),
            (None, Some(d)) => format!("@{d}"),
            (None, None) => String::new(),
        };
        let group = repositories
            .entry(repository.clone())
            .or_default()
            .entry(record.base.to_string())
            .or_insert_with(|| BaseGroup {
                reference: record.base.to_string(),
                current: record.base.tag().is_some()
                    && record.base.tag() == current_tag.map(String::as_str),
                label,
                apps: Vec::new(),
            });
        group.apps.push(AppRow {
            image: record.image.to_string(),
            project: record.project.to_string(),
            revision: record.revision.to_string(),
            revision_short: record.revision.short().to_owned(),
            built_at: record.built_at_text(),
            upgrade_to: behind.then(|| format!("{repository}:{}", current_tag.map_or("", |s| s))),
        });
        report.applications += 1;
        report.outdated += usize::from(behind);
    }

    report.repositories = repositories
        .into_iter()
        .map(|(repository, groups)| {
            let mut groups: Vec<BaseGroup> = groups.into_values().collect();
            // Current first, then newer tags before older ones.
            groups.sort_by(|a, b| {
                b.current
                    .cmp(&a.current)
                    .then_with(|| compare_tags(&b.label, &a.label))
                    .then_with(|| a.reference.cmp(&b.reference))
            });
            for group in &mut groups {
                group.apps.sort_by(|a, b| a.image.cmp(&b.image));
            }
            BaseRepository {
                current_tag: current.get(&repository).cloned(),
                repository,
                groups,
            }
        })
        .collect();
    report
}

#[cfg(test)]
mod tests;
