//! The summary block, in the original tool's layout:
//!
//! ```text
//! Register · 0.4s
//! ───────────────────────────────────
//! Project    myteam/myservice
//! Revision   a3f8b1c
//! ```

use std::fmt::Write as _;
use std::time::Duration;

use anstyle::{AnsiColor, Style};

/// The rule under the title: 35 box-drawing characters, as the original.
const RULE_WIDTH: usize = 35;
/// Labels are padded to at least this width (`Platforms` plus two spaces,
/// as the original lays out the register summary); longer labels widen the
/// column for the whole block.
const LABEL_WIDTH: usize = 11;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    title: String,
    dry_run: bool,
    elapsed: Duration,
    rows: Vec<(String, String)>,
}

impl Summary {
    pub fn new(title: impl Into<String>, elapsed: Duration) -> Self {
        Self {
            title: title.into(),
            dry_run: false,
            elapsed,
            rows: Vec::new(),
        }
    }

    /// Prefixes the title with `[dry-run]`.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    #[must_use]
    pub fn row(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.rows.push((label.into(), value.into()));
        self
    }

    /// The block as text, ANSI-styled when `styled`; ends with a newline.
    pub fn render(&self, styled: bool) -> String {
        let pick = |s: Style| if styled { s } else { Style::new() };
        let title = pick(Style::new().bold());
        let rule = pick(Style::new().dimmed());
        let label = pick(Style::new().fg_color(Some(AnsiColor::Cyan.into())));
        let dry = pick(Style::new().bold().fg_color(Some(AnsiColor::Yellow.into())));

        let mut out = String::new();
        if self.dry_run {
            let _ = write!(out, "{dry}[dry-run]{dry:#} ");
        }
        let _ = writeln!(
            out,
            "{title}{} · {}{title:#}",
            self.title,
            format_elapsed(self.elapsed)
        );
        let _ = writeln!(out, "{rule}{}{rule:#}", "─".repeat(RULE_WIDTH));
        let width = self
            .rows
            .iter()
            .map(|(name, _)| name.chars().count() + 2)
            .max()
            .unwrap_or(0)
            .max(LABEL_WIDTH);
        for (name, value) in &self.rows {
            // Tree branches (`├─ `) are drawn plain; the label after them is styled.
            let (branch, name_only) = match name.char_indices().find(|(_, c)| c.is_alphanumeric()) {
                Some((i, _)) => name.split_at(i),
                None => ("", name.as_str()),
            };
            let pad = width.saturating_sub(name.chars().count());
            let _ = writeln!(out, "{branch}{label}{name_only}{label:#}{:pad$}{value}", "");
        }
        out
    }
}

/// `0.4s`, `12.3s`, `2m05s`.
fn format_elapsed(elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = elapsed.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_layout_matches_the_original() {
        let text = Summary::new("Register", Duration::from_millis(420))
            .row("Project", "myteam/myservice")
            .row("Revision", "a3f8b1c")
            .render(false);
        assert_eq!(
            text,
            "Register · 0.4s\n───────────────────────────────────\nProject    myteam/myservice\nRevision   a3f8b1c\n"
        );
        let dry = Summary::new("Register", Duration::from_secs(125))
            .dry_run(true)
            .render(false);
        assert!(dry.starts_with("[dry-run] Register · 2m05s\n"), "{dry}");
    }

    #[test]
    fn styling_only_adds_escape_codes() {
        let summary = Summary::new("Register", Duration::ZERO).row("Image", "x");
        let styled = summary.render(true);
        assert!(styled.contains('\u{1b}'));
        let stripped: String = {
            let mut out = String::new();
            let mut in_escape = false;
            for c in styled.chars() {
                match (in_escape, c) {
                    (false, '\u{1b}') => in_escape = true,
                    (true, 'm') => in_escape = false,
                    (true, _) => {}
                    (false, c) => out.push(c),
                }
            }
            out
        };
        assert_eq!(stripped, summary.render(false));
    }
}
