//! `app purge`: which records go, and deleting them without losing one.
//!
//! Per application image repository, the newest `keep_last` records and
//! every record younger than `max_age_days` stay, and so does the newest
//! record whatever its age (an application must never vanish from
//! `status`); the rest go.
//!
//! Two rules keep a purge from losing what it should keep:
//! - A record dated in the future (a typo, a skewed clock) is kept but
//!   never counts as newer than the others, so it cannot push the real
//!   newest record out.
//! - A deletion is checked when it is made, not only when it was planned:
//!   the record must still be the document that was read (a record
//!   registered again while the purge ran has become the newest of its
//!   repository) and its repository must still have the newer record the
//!   plan kept. Otherwise the record is skipped, and the output says why.

use std::collections::HashMap;

use futures_util::StreamExt;
use imglife_domain::RecordKey;
use imglife_domain::ports::{RecordCache, RecordStore, Reporter, Step, StoreError};
use jiff::{SignedDuration, Timestamp};

use crate::records::{self, Entry, Invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub keep_last: u32,
    pub max_age_days: u32,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub delete: Vec<Entry>,
    pub keep: Vec<Entry>,
}

/// `entries` newest first (as loaded). Both halves keep that order.
pub fn plan(entries: Vec<Entry>, retention: Retention, now: Timestamp) -> Plan {
    let max_age = SignedDuration::from_hours(24 * i64::from(retention.max_age_days));
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut plan = Plan::default();
    for entry in entries {
        // Dated in the future: kept, and not counted, so that it takes no
        // real record's place among the newest.
        if entry.record.built_at() > now {
            plan.keep.push(entry);
            continue;
        }
        let rank = seen.entry(entry.record.image.repository()).or_insert(0);
        let position = *rank;
        *rank += 1;
        let age = now.duration_since(entry.record.built_at());
        let keep = position == 0 || position < retention.keep_last || age < max_age;
        if keep {
            plan.keep.push(entry);
        } else {
            plan.delete.push(entry);
        }
    }
    plan
}

/// What a purge did (or, through a `stores::DryRun`, would have done).
#[derive(Debug, Default)]
pub struct Purged {
    /// Every record looked at, readable or not.
    pub examined: usize,
    /// Deleted, newest first; those skipped or failed are not here.
    pub deleted: Vec<Entry>,
    pub kept: Vec<Entry>,
    /// Planned deletions left alone because the check at deletion time
    /// said so, with why, in key order.
    pub skipped: Vec<(RecordKey, String)>,
    /// Planned deletions the store refused, with why, in key order.
    pub failed: Vec<(RecordKey, String)>,
    /// Records that could not be read: never deleted, since their age is
    /// unknown.
    pub invalid: Vec<Invalid>,
}

/// How one planned deletion ended.
enum Outcome {
    Deleted,
    Skipped(String),
    Failed(String),
}

/// Loads every record (through the read cache, if any), plans, deletes
/// (checking each deletion). Only a store that cannot be listed or read is
/// an error; a deletion that fails is reported in `failed` and the others
/// still go.
///
/// A record taken from the cache is compared at deletion time like a
/// downloaded one: the cache holds the stored bytes of the version listed,
/// so `delete_if_unchanged` deletes only that record. Deleted records stay
/// in the cache file until the next load, which no longer lists them and
/// leaves them out.
pub async fn purge(
    store: &dyn RecordStore,
    retention: Retention,
    now: Timestamp,
    reporter: &dyn Reporter,
    cache: Option<&dyn RecordCache>,
) -> Result<Purged, StoreError> {
    let options = records::Options {
        cache,
        documents: true,
    };
    let loaded = records::load_with(store, reporter, options).await?;
    let examined = loaded.entries.len() + loaded.invalid.len();
    let plan = plan(loaded.entries, retention, now);
    // The newest record the plan keeps for each repository (never one
    // dated in the future): a deletion goes ahead only while it is there.
    let mut anchors: HashMap<String, Entry> = HashMap::new();
    for entry in plan.keep.iter().filter(|e| e.record.built_at() <= now) {
        anchors
            .entry(entry.record.image.repository())
            .or_insert_with(|| entry.clone());
    }
    let mut purged = Purged {
        examined,
        invalid: loaded.invalid,
        ..Purged::default()
    };
    // Nothing to delete shows no deletion step at all.
    if !plan.delete.is_empty() {
        let step = Step::Deleting {
            total: plan.delete.len(),
        };
        reporter.step_started(&step);
        let mut outcomes = Vec::with_capacity(plan.delete.len());
        {
            let mut deletions = futures_util::stream::iter(plan.delete.iter().enumerate())
                .map(|(index, entry)| {
                    let anchor = anchors.get(&entry.record.image.repository());
                    async move { (index, delete_checked(store, entry, anchor).await) }
                })
                .buffer_unordered(store.parallelism().max(1));
            while let Some(outcome) = deletions.next().await {
                outcomes.push(outcome);
                reporter.progress(outcomes.len());
            }
        }
        reporter.step_finished(&step);
        outcomes.sort_by_key(|(index, _)| *index);
        for ((_, outcome), entry) in outcomes.into_iter().zip(plan.delete) {
            match outcome {
                Outcome::Deleted => purged.deleted.push(entry),
                Outcome::Skipped(why) => purged.skipped.push((entry.key(), why)),
                Outcome::Failed(why) => purged.failed.push((entry.key(), why)),
            }
        }
    }
    purged.kept = plan.keep;
    purged.skipped.sort();
    purged.failed.sort();
    Ok(purged)
}

/// Deletes `entry` if its repository still has the newer record `anchor`
/// and the record is still the document that was read.
async fn delete_checked(store: &dyn RecordStore, entry: &Entry, anchor: Option<&Entry>) -> Outcome {
    let Some(anchor) = anchor else {
        // The plan always keeps a newest record; without one, deleting
        // could empty the repository.
        return Outcome::Skipped("no newer record of its repository is kept".to_owned());
    };
    match store.get(&anchor.key()).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Outcome::Skipped(format!(
                "the newer record {} it would leave behind is gone",
                anchor.record.image
            ));
        }
        Err(e) => return Outcome::Failed(e.to_string()),
    }
    let Some(document) = entry.document.as_deref() else {
        return Outcome::Failed("its document was not loaded".to_owned());
    };
    match store.delete_if_unchanged(&entry.key(), document).await {
        Ok(true) => Outcome::Deleted,
        Ok(false) => Outcome::Skipped(
            "it changed while the purge ran (registered again?), so it may now be the newest"
                .to_owned(),
        ),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

#[cfg(test)]
mod tests;
