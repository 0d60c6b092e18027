//! `imglife status` as text, JSON or Markdown.

use std::fmt::Write as _;

use imglife::records::Invalid;
use imglife::status::{AppState, BaseRepository, StatusReport};
use serde_json::json;

pub fn text(report: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}, {} outdated", overview(report), report.outdated);
    let widths = column_widths(report);
    for repository in &report.repositories {
        let _ = writeln!(out);
        if repository.tracks.is_empty() {
            let _ = writeln!(out, "{}", repository.repository);
        } else {
            let _ = writeln!(
                out,
                "{} (current: {})",
                repository.repository,
                current_tags(repository, "")
            );
        }
        for group in &repository.groups {
            let state = match &group.state {
                AppState::Current => "current".to_owned(),
                AppState::Ahead { current } => format!("ahead: pre-release newer than {current}"),
                AppState::NotVersioned => "not versioned".to_owned(),
                // Said on each application's line.
                AppState::Outdated { .. } => String::new(),
            };
            let _ = writeln!(
                out,
                "  {}{}",
                group.label,
                if state.is_empty() {
                    String::new()
                } else {
                    format!("  {state}")
                }
            );
            for app in &group.apps {
                let mut line = format!(
                    "    {:<w0$}  {:<w1$}  {:<w2$}  {}",
                    app.image,
                    app.project,
                    app.revision_short,
                    app.built_at,
                    w0 = widths.0,
                    w1 = widths.1,
                    w2 = widths.2
                );
                if let Some(target) = app.upgrade_to() {
                    let _ = write!(line, "  outdated: move to {target}");
                }
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}

/// The current tag of each track shown, comma-separated, each between
/// `quote`s.
fn current_tags(repository: &BaseRepository, quote: &str) -> String {
    repository
        .tracks
        .iter()
        .map(|t| format!("{quote}{}{quote}", t.tag))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `3 applications on 2 base repositories (5 records)`
fn overview(report: &StatusReport) -> String {
    format!(
        "{} on {} ({})",
        plural(report.applications, "application", "applications"),
        plural(
            report.repositories.len(),
            "base repository",
            "base repositories"
        ),
        plural(report.records, "record", "records")
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn column_widths(report: &StatusReport) -> (usize, usize, usize) {
    let apps = report
        .repositories
        .iter()
        .flat_map(|r| &r.groups)
        .flat_map(|g| &g.apps);
    apps.fold((0, 0, 0), |(a, b, c), app| {
        (
            a.max(app.image.len()),
            b.max(app.project.len()),
            c.max(app.revision_short.len()),
        )
    })
}

pub fn json(report: &StatusReport, invalid: &[Invalid]) -> String {
    let repositories: Vec<_> = report
        .repositories
        .iter()
        .map(|r| {
            json!({
                "repository": r.repository,
                "current_tag": r.current_tag(),
                "tracks": r.tracks.iter().map(|t| json!({
                    "suffix": (!t.track.suffix.is_empty()).then_some(&t.track.suffix),
                    "parts": t.track.parts,
                    "current_tag": t.tag,
                    "prerelease": t.prerelease,
                })).collect::<Vec<_>>(),
                "bases": r.groups.iter().map(|g| json!({
                    "base": g.reference,
                    "current": g.current,
                    "applications": g.apps.iter().map(|a| json!({
                        "image": a.image,
                        "project": a.project,
                        "revision": a.revision,
                        "built_at": a.built_at,
                        "state": a.state.name(),
                        "outdated": a.upgrade_to().is_some(),
                        "upgrade_to": a.upgrade_to(),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let value = json!({
        "applications": report.applications,
        "outdated": report.outdated,
        "records": report.records,
        "repositories": repositories,
        "invalid_records": invalid.iter().map(|i| json!({"key": i.key.to_string(), "error": i.reason})).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// A report a CI job can commit (e.g. as the base-images project's
/// README). Deterministic: no generation time, sorted throughout.
pub fn markdown(report: &StatusReport, invalid: &[Invalid]) -> String {
    let mut out = String::from("# Base image status\n\n");
    let _ = writeln!(
        out,
        "{}; **{} outdated**. Made by `imglife status`.",
        overview(report),
        report.outdated
    );
    for repository in &report.repositories {
        let _ = writeln!(out, "\n## `{}`\n", repository.repository);
        match repository.tracks.as_slice() {
            [] => {}
            [only] => {
                let _ = writeln!(out, "Current tag: `{}`\n", cell(&only.tag));
            }
            _ => {
                let _ = writeln!(
                    out,
                    "Current tags, one per track: {}\n",
                    current_tags(repository, "`")
                );
            }
        }
        out.push_str("| Application | Project | Revision | Built at | Base tag | Status |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for group in &repository.groups {
            for app in &group.apps {
                let status = match &app.state {
                    AppState::Outdated { upgrade_to } => {
                        format!("⚠️ outdated: move to `{}`", cell(upgrade_to))
                    }
                    AppState::Current => "✅ current".to_owned(),
                    AppState::Ahead { current } => {
                        format!("🧪 ahead: pre-release newer than `{}`", cell(current))
                    }
                    AppState::NotVersioned => "➖ not versioned".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "| `{}` | {} | `{}` | {} | `{}` | {} |",
                    cell(&app.image),
                    cell(&app.project),
                    cell(&app.revision_short),
                    app.built_at,
                    cell(&group.label),
                    status
                );
            }
        }
    }
    if !invalid.is_empty() {
        out.push_str("\n## Unreadable records\n\n");
        for i in invalid {
            let _ = writeln!(out, "- `{}`: {}", cell(&i.key.to_string()), cell(&i.reason));
        }
    }
    out
}

/// Keeps a value from breaking the table.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('`', "'")
        .replace(['\n', '\r'], " ")
}
