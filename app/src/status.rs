//! Which applications run on which base image, and which are behind.
//!
//! An application is an image repository; its state is its newest record.
//! The tags of each base repository are read with the tag rule
//! (`version.rs`): for each track of a repository, the *current* tag is
//! the newest release that any record references, or the newest
//! pre-release when the track has no release. An application whose newest
//! record uses an older tag of its track is outdated; one on a newer
//! pre-release is ahead; one on a tag that is no version (`latest`,
//! `edge`, a digest alone) is not versioned and never outdated.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::filter::BaseFilter;
use crate::records::Entry;

mod version;

pub use version::{DEFAULT_TAG_FORMAT, TagRule, Track, Version};

/// Where an application stands against the current tag of its track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppState {
    /// On the current tag of its track.
    Current,
    /// On an older tag: `upgrade_to` is the reference to move to.
    Outdated { upgrade_to: String },
    /// On a pre-release newer than `current`, the current tag of its track.
    Ahead { current: String },
    /// On a tag that is no version (`latest`, `edge`, a branch), or on a
    /// digest alone.
    NotVersioned,
}

impl AppState {
    /// `current`, `outdated`, `ahead`, `not_versioned`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Outdated { .. } => "outdated",
            Self::Ahead { .. } => "ahead",
            Self::NotVersioned => "not_versioned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRow {
    pub image: String,
    pub project: String,
    pub revision: String,
    pub revision_short: String,
    pub built_at: String,
    pub state: AppState,
}

impl AppRow {
    /// The reference to move to, when the application is behind.
    pub fn upgrade_to(&self) -> Option<&str> {
        match &self.state {
            AppState::Outdated { upgrade_to } => Some(upgrade_to),
            _ => None,
        }
    }
}

/// One base image (repository and tag or digest) and its applications,
/// which all share its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseGroup {
    pub reference: String,
    /// The tag, or `@digest` for a digest-only reference.
    pub label: String,
    pub current: bool,
    pub state: AppState,
    pub apps: Vec<AppRow>,
}

/// The current tag of one track of a base repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackCurrent {
    pub track: Track,
    pub tag: String,
    /// The track has no release yet: its newest pre-release is current.
    pub prerelease: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRepository {
    pub repository: String,
    /// The tracks of the applications shown, ordered by track; their
    /// current tags are found over every record.
    pub tracks: Vec<TrackCurrent>,
    pub groups: Vec<BaseGroup>,
}

impl BaseRepository {
    /// The current tag when the applications shown are on one track.
    pub fn current_tag(&self) -> Option<&str> {
        match self.tracks.as_slice() {
            [only] => Some(&only.tag),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusReport {
    pub repositories: Vec<BaseRepository>,
    pub applications: usize,
    pub outdated: usize,
    pub records: usize,
}

/// The candidates of one track: its newest release and newest
/// pre-release.
#[derive(Default)]
struct Candidates {
    release: Option<Version>,
    prerelease: Option<Version>,
}

impl Candidates {
    fn offer(&mut self, version: Version) {
        let slot = if version.is_prerelease() {
            &mut self.prerelease
        } else {
            &mut self.release
        };
        if slot.as_ref().is_none_or(|best| version > *best) {
            *slot = Some(version);
        }
    }

    fn current(&self) -> Option<&Version> {
        self.release.as_ref().or(self.prerelease.as_ref())
    }
}

/// `entries` newest first, as `records::load` returns them.
pub fn report(entries: &[Entry], filter: Option<&BaseFilter>, rule: &TagRule) -> StatusReport {
    // The candidates of each track of each base repository, over every
    // record.
    let mut tracks: BTreeMap<(String, Track), Candidates> = BTreeMap::new();
    for entry in entries {
        if let Some(version) = entry.record.base.tag().and_then(|t| rule.parse(t)) {
            tracks
                .entry((entry.record.base.repository(), version.track().clone()))
                .or_default()
                .offer(version);
        }
    }

    // The newest record of each application repository.
    let mut newest: BTreeMap<String, &Entry> = BTreeMap::new();
    for entry in entries {
        newest
            .entry(entry.record.image.repository())
            .or_insert(entry);
    }

    struct Group {
        version: Option<Version>,
        group: BaseGroup,
    }
    let mut repositories: BTreeMap<String, BTreeMap<String, Group>> = BTreeMap::new();
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
        let version = record.base.tag().and_then(|t| rule.parse(t));
        let state = match &version {
            None => AppState::NotVersioned,
            Some(version) => {
                let current = tracks
                    .get(&(repository.clone(), version.track().clone()))
                    .and_then(Candidates::current);
                match current.map(|c| (c, version.cmp_version(c))) {
                    None | Some((_, Ordering::Equal)) => AppState::Current,
                    Some((c, Ordering::Less)) => AppState::Outdated {
                        upgrade_to: format!("{repository}:{}", c.tag()),
                    },
                    Some((c, Ordering::Greater)) => AppState::Ahead {
                        current: c.tag().to_owned(),
                    },
                }
            }
        };
        let label = match (record.base.tag(), record.base.digest()) {
            (Some(tag), _) => tag.to_owned(),
            (None, Some(d)) => format!("@{d}"),
            (None, None) => String::new(),
        };
        report.applications += 1;
        report.outdated += usize::from(matches!(state, AppState::Outdated { .. }));
        let slot = repositories
            .entry(repository)
            .or_default()
            .entry(record.base.to_string())
            .or_insert_with(|| Group {
                version,
                group: BaseGroup {
                    reference: record.base.to_string(),
                    label,
                    current: state == AppState::Current,
                    state: state.clone(),
                    apps: Vec::new(),
                },
            });
        slot.group.apps.push(AppRow {
            image: record.image.to_string(),
            project: record.project.to_string(),
            revision: record.revision.to_string(),
            revision_short: record.revision.short().to_owned(),
            built_at: record.built_at_text(),
            state,
        });
    }

    report.repositories = repositories
        .into_iter()
        .map(|(repository, groups)| {
            let mut groups: Vec<Group> = groups.into_values().collect();
            // Current first; then versioned tags, track by track, newer
            // before older; then the rest.
            groups.sort_by(|a, b| {
                b.group
                    .current
                    .cmp(&a.group.current)
                    .then_with(|| match (&a.version, &b.version) {
                        (Some(x), Some(y)) => x
                            .track()
                            .cmp(y.track())
                            .then_with(|| y.cmp_version(x))
                            .then_with(|| y.cmp(x)),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => Ordering::Equal,
                    })
                    .then_with(|| a.group.reference.cmp(&b.group.reference))
            });
            let mut shown: Vec<&Track> = groups
                .iter()
                .filter_map(|g| g.version.as_ref().map(Version::track))
                .collect();
            shown.sort();
            shown.dedup();
            let tracks = shown
                .into_iter()
                .filter_map(|track| {
                    let current = tracks
                        .get(&(repository.clone(), track.clone()))?
                        .current()?;
                    Some(TrackCurrent {
                        track: track.clone(),
                        tag: current.tag().to_owned(),
                        prerelease: current.is_prerelease(),
                    })
                })
                .collect();
            let groups = groups
                .into_iter()
                .map(|mut g| {
                    g.group.apps.sort_by(|a, b| a.image.cmp(&b.image));
                    g.group
                })
                .collect();
            BaseRepository {
                repository,
                tracks,
                groups,
            }
        })
        .collect();
    report
}

#[cfg(test)]
mod tests;
