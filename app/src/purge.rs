//! `app purge`: which records go, and deleting them.
//!
//! Per application image repository, the newest `keep_last` records and
//! every record younger than `max_age_days` stay, and so does the newest
//! record whatever its age (an application must never vanish from
//! `status`); the rest go.

use std::collections::HashMap;

use imglife_domain::RecordKey;
use imglife_domain::ports::{RecordStore, Reporter, StoreError};
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
    /// Deleted, newest first; those that failed are in `failed` instead.
    pub deleted: Vec<Entry>,
    pub kept: Vec<Entry>,
    /// Planned deletions the store refused, with why, in key order.
    pub failed: Vec<(RecordKey, String)>,
    /// Records that could not be read: never deleted, since their age is
    /// unknown.
    pub invalid: Vec<Invalid>,
}

/// Loads every record, plans, deletes. Only a store that cannot be listed
/// or read is an error; a deletion that fails is reported in `failed` and
/// the others still go.
pub async fn purge(
    store: &dyn RecordStore,
    retention: Retention,
    now: Timestamp,
    reporter: &dyn Reporter,
) -> Result<Purged, StoreError> {
    let loaded = records::load(store, reporter).await?;
    let examined = loaded.entries.len() + loaded.invalid.len();
    let plan = plan(loaded.entries, retention, now);
    let keys: Vec<RecordKey> = plan.delete.iter().map(|e| e.key.clone()).collect();
    // Nothing to delete shows no deletion step at all.
    let failed = if keys.is_empty() {
        Vec::new()
    } else {
        records::delete_all(store, &keys, reporter).await
    };
    let deleted = plan
        .delete
        .into_iter()
        .filter(|e| !failed.iter().any(|(k, _)| k == &e.key))
        .collect();
    Ok(Purged {
        examined,
        deleted,
        kept: plan.keep,
        failed,
        invalid: loaded.invalid,
    })
}

#[cfg(test)]
mod tests;
