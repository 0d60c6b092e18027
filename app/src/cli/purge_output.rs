//! `imglife app purge` as text or JSON.

use std::time::Duration;

use imglife::purge::{Purged, Retention};
use imglife_terminal::Summary;
use serde_json::json;

pub fn json(purged: &Purged, retention: Retention, dry_run: bool) -> String {
    let value = json!({
        "dry_run": dry_run,
        "keep_last": retention.keep_last,
        "max_age_days": retention.max_age_days,
        "examined": purged.examined,
        "deleted": purged.deleted.iter().map(|e| json!({
            "image": e.record.image.to_string(),
            "built_at": e.record.built_at_text(),
            "key": e.key().to_string(),
        })).collect::<Vec<_>>(),
        "kept": purged.kept.len(),
        "skipped": purged.skipped.iter().map(|(k, why)| json!({"key": k.to_string(), "reason": why}))
            .collect::<Vec<_>>(),
        "errors": purged.failed.iter().map(|(k, m)| json!({"key": k.to_string(), "error": m}))
            .chain(purged.invalid.iter().map(|i| json!({"key": i.key.to_string(), "error": i.reason})))
            .collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// One line per deleted record, then the summary block.
pub fn text(purged: &Purged, dry_run: bool, elapsed: Duration) -> String {
    let verb = if dry_run { "Would delete" } else { "Deleted" };
    let mut text = String::new();
    for e in &purged.deleted {
        text.push_str(&format!(
            "{verb}  {}  (built {})\n",
            e.record.image,
            e.record.built_at_text()
        ));
    }
    for (key, why) in &purged.skipped {
        text.push_str(&format!(
            "Skipped  {key}: {}\n",
            imglife_domain::text::escape(why)
        ));
    }
    if !purged.deleted.is_empty() || !purged.skipped.is_empty() {
        text.push('\n');
    }
    let errors = purged.failed.len() + purged.invalid.len();
    let summary = Summary::new("App Purge Summary", elapsed)
        .dry_run(dry_run)
        .row("Records examined", purged.examined.to_string())
        .row("├─ Deleted", purged.deleted.len().to_string())
        .row("├─ Kept", purged.kept.len().to_string());
    // Shown only when it happened: a skip is rare and worth a line.
    let summary = if purged.skipped.is_empty() {
        summary
    } else {
        summary.row("├─ Skipped", purged.skipped.len().to_string())
    };
    let summary = summary.row("└─ Errors", errors.to_string());
    text.push_str(&summary.render(true));
    text
}
