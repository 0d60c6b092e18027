//! Which records `app purge` deletes: per application image repository,
//! the newest `keep_last` records and every record younger than
//! `max_age_days` stay, and so does the newest record whatever its age;
//! the rest go.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use crate::records::Entry;

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

/// `entries` newest first (as loaded).
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
