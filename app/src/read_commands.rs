//! `imglife status`, `imglife app list` and `imglife app purge`: load the
//! records through the `RecordStore` port, then filter, group or purge.

use std::path::Path;
use std::time::Instant;

use imglife_config::Settings;
use imglife_domain::ports::{RecordStore, Reporter};
use imglife_domain::{ProjectPath, RecordKey};
use imglife_terminal::Summary;
use serde_json::json;

use crate::cli::{ListArgs, OutputArg, PurgeArgs, StatusArgs, StatusOutputArg};
use crate::compose::{self, Access};
use crate::error::Failure;
use crate::filter::BaseFilter;
use crate::output::print;
use crate::purge::{self, Retention};
use crate::records::{self, Invalid, Loaded};
use crate::{status, status_output, table};

/// What every read command needs: the store, a reporter and a runtime.
struct Context {
    store: Box<dyn RecordStore>,
    reporter: Box<dyn Reporter>,
    runtime: tokio::runtime::Runtime,
}

impl Context {
    fn new(
        settings: &Settings,
        cwd: &Path,
        ci: bool,
        access: Access,
        show_progress: bool,
    ) -> Result<Self, Failure> {
        let store = compose::record_store(settings, cwd, ci, access)?;
        Ok(Self {
            store,
            reporter: compose::reporter(show_progress),
            runtime: compose::runtime()?,
        })
    }

    fn load(&self) -> Result<Loaded, Failure> {
        self.runtime
            .block_on(records::load(self.store.as_ref(), self.reporter.as_ref()))
            .map_err(|e| Failure::new(format!("cannot read the records: {e}")))
    }
}

/// Warns about each unreadable record, then fails once for all of them:
/// what could be read has already been printed.
fn finish(invalid: &[Invalid]) -> Result<(), Failure> {
    if invalid.is_empty() {
        return Ok(());
    }
    for i in invalid {
        anstream::eprintln!("warning: record {} is unreadable: {}", i.key, i.reason);
    }
    Err(Failure::new(format!(
        "{} record(s) could not be read (listed above); fix or delete them",
        invalid.len()
    )))
}

fn base_filter(text: Option<&str>) -> Result<Option<BaseFilter>, Failure> {
    text.map(BaseFilter::parse)
        .transpose()
        .map_err(Failure::new)
}

pub fn list(args: &ListArgs, settings: &Settings, cwd: &Path, ci: bool) -> Result<(), Failure> {
    let project = args
        .project
        .as_deref()
        .map(|p| ProjectPath::parse(p).map_err(|e| Failure::new(format!("--project '{p}': {e}"))))
        .transpose()?;
    let base = base_filter(args.base.as_deref())?;
    let loaded = Context::new(
        settings,
        cwd,
        ci,
        Access::ReadOnly,
        args.output == OutputArg::Text,
    )?
    .load()?;
    let selected: Vec<_> = loaded
        .entries
        .iter()
        .filter(|e| project.as_ref().is_none_or(|p| &e.record.project == p))
        .filter(|e| base.as_ref().is_none_or(|b| b.matches(&e.record)))
        .collect();
    let text = match args.output {
        OutputArg::Json => table::json_array(selected.iter().map(|e| e.document.clone())),
        OutputArg::Text if selected.is_empty() => "No records.\n".to_owned(),
        OutputArg::Text => {
            let rows: Vec<Vec<String>> = selected
                .iter()
                .map(|e| {
                    let r = &e.record;
                    vec![
                        r.image.to_string(),
                        r.project.to_string(),
                        r.base.to_string(),
                        r.revision.short().to_owned(),
                        r.built_at_text(),
                        r.platforms.to_string(),
                    ]
                })
                .collect();
            table::render(
                &[
                    "IMAGE",
                    "PROJECT",
                    "BASE",
                    "REVISION",
                    "BUILT AT",
                    "PLATFORMS",
                ],
                &rows,
            )
        }
    };
    print(text.as_bytes())?;
    finish(&loaded.invalid)
}

pub fn status(args: &StatusArgs, settings: &Settings, cwd: &Path, ci: bool) -> Result<(), Failure> {
    let base = base_filter(args.base.as_deref())?;
    let text_output = args.output == StatusOutputArg::Text;
    let loaded = Context::new(settings, cwd, ci, Access::ReadOnly, text_output)?.load()?;
    let report = status::report(&loaded.entries, base.as_ref());
    let text = match args.output {
        StatusOutputArg::Text => status_output::text(&report),
        StatusOutputArg::Json => status_output::json(&report, &loaded.invalid),
        StatusOutputArg::Markdown => status_output::markdown(&report, &loaded.invalid),
    };
    print(text.as_bytes())?;
    finish(&loaded.invalid)
}

pub fn purge(
    args: &PurgeArgs,
    settings: &Settings,
    cwd: &Path,
    ci: bool,
    started: Instant,
) -> Result<(), Failure> {
    let (keep_last, max_age_days) = settings.retention();
    let retention = Retention {
        keep_last: args.keep_last.unwrap_or(keep_last),
        max_age_days: args.max_age_days.unwrap_or(max_age_days),
    };
    let access = if args.dry_run {
        Access::ReadOnly
    } else {
        Access::Write
    };
    let context = Context::new(settings, cwd, ci, access, args.output == OutputArg::Text)?;
    let loaded = context.load()?;
    let examined = loaded.entries.len() + loaded.invalid.len();
    let plan = purge::plan(loaded.entries, retention, jiff::Timestamp::now());

    let mut failed: Vec<(RecordKey, String)> = Vec::new();
    if !args.dry_run && !plan.delete.is_empty() {
        let keys: Vec<RecordKey> = plan.delete.iter().map(|e| e.key.clone()).collect();
        failed = context.runtime.block_on(records::delete_all(
            context.store.as_ref(),
            &keys,
            context.reporter.as_ref(),
        ));
    }
    let deleted: Vec<_> = plan
        .delete
        .iter()
        .filter(|e| !failed.iter().any(|(k, _)| k == &e.key))
        .collect();
    let errors = failed.len() + loaded.invalid.len();

    let text = match args.output {
        OutputArg::Json => {
            let value = json!({
                "dry_run": args.dry_run,
                "keep_last": retention.keep_last,
                "max_age_days": retention.max_age_days,
                "examined": examined,
                "deleted": deleted.iter().map(|e| json!({
                    "image": e.record.image.to_string(),
                    "built_at": e.record.built_at_text(),
                    "key": e.key.to_string(),
                })).collect::<Vec<_>>(),
                "kept": plan.keep.len(),
                "errors": failed.iter().map(|(k, m)| json!({"key": k.to_string(), "error": m}))
                    .chain(loaded.invalid.iter().map(|i| json!({"key": i.key.to_string(), "error": i.reason})))
                    .collect::<Vec<_>>(),
            });
            let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
            text.push('\n');
            text
        }
        OutputArg::Text => {
            let verb = if args.dry_run {
                "Would delete"
            } else {
                "Deleted"
            };
            let mut text = String::new();
            for e in &deleted {
                text.push_str(&format!(
                    "{verb}  {}  (built {})\n",
                    e.record.image,
                    e.record.built_at_text()
                ));
            }
            if !deleted.is_empty() {
                text.push('\n');
            }
            let summary = Summary::new("App Purge Summary", started.elapsed())
                .dry_run(args.dry_run)
                .row("Records examined", examined.to_string())
                .row("├─ Deleted", deleted.len().to_string())
                .row("├─ Kept", plan.keep.len().to_string())
                .row("└─ Errors", errors.to_string());
            text.push_str(&summary.render(true));
            text
        }
    };
    print(text.as_bytes())?;
    for (key, message) in &failed {
        anstream::eprintln!("warning: could not delete {key}: {message}");
    }
    if !failed.is_empty() {
        return Err(Failure::new(format!(
            "{} record(s) could not be deleted (listed above)",
            failed.len()
        )));
    }
    finish(&loaded.invalid)
}
