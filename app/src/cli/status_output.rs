//! `imglife status` as text, JSON or Markdown.

use std::fmt::Write as _;

use imglife::records::Invalid;
use imglife::status::StatusReport;
use serde_json::json;

pub fn text(report: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}, {} outdated", overview(report), report.outdated);
    let widths = column_widths(report);
    for repository in &report.repositories {
        let _ = writeln!(out);
        match &repository.current_tag {
            Some(tag) => {
                let _ = writeln!(out, "{} (current: {tag})", repository.repository);
            }
            None => {
                let _ = writeln!(out, "{}", repository.repository);
            }
        }
        for group in &repository.groups {
            let state = if group.current { "current" } else { "" };
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
                if let Some(target) = &app.upgrade_to {
                    let _ = write!(line, "  outdated: move to {target}");
                }
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
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
                "current_tag": r.current_tag,
                "bases": r.groups.iter().map(|g| json!({
                    "base": g.reference,
                    "current": g.current,
                    "applications": g.apps.iter().map(|a| json!({
                        "image": a.image,
                        "project": a.project,
                        "revision": a.revision,
                        "built_at": a.built_at,
                        "outdated": a.upgrade_to.is_some(),
                        "upgrade_to": a.upgrade_to,
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
        if let Some(tag) = &repository.current_tag {
            let _ = writeln!(out, "Current tag: `{tag}`\n");
        }
        out.push_str("| Application | Project | Revision | Built at | Base tag | Status |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for group in &repository.groups {
            for app in &group.apps {
                let status = match &app.upgrade_to {
                    Some(target) => format!("⚠️ outdated: move to `{}`", cell(target)),
                    None if group.current => "✅ current".to_owned(),
                    None => "—".to_owned(),
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
