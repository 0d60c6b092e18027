//! `imglife status` and `imglife app list`: load the records through a
//! `RecordReader` (these commands hold nothing that could write), then
//! filter or group them.

use std::path::Path;

use imglife::filter::{BaseFilter, ListFilter};
use imglife::records::{self, Invalid, Loaded};
use imglife::status;
use imglife_config::Settings;
use imglife_domain::ProjectPath;
use imglife_domain::ports::RecordCache;

use crate::cli::{ListArgs, OutputArg, StatusArgs, StatusOutputArg};
use crate::compose;
use crate::error::Failure;
use crate::output::print;
use crate::{status_output, table};

/// How a read command loads.
struct Load {
    show_progress: bool,
    /// The documents as stored are printed (`app list --output json`).
    documents: bool,
    no_cache: bool,
}

/// Every record of the configured store (through the read cache unless
/// `--no-cache`), with progress on stderr when asked for.
fn load(settings: &Settings, cwd: &Path, how: &Load) -> Result<Loaded, Failure> {
    let reader = compose::record_reader(settings, cwd)?;
    let cache = compose::record_cache(settings, cwd, how.no_cache);
    let reporter = compose::reporter(how.show_progress);
    let options = records::Options {
        cache: cache.as_ref().map(|c| c as &dyn RecordCache),
        documents: how.documents,
    };
    compose::runtime()?
        .block_on(records::load_with(
            reader.as_ref(),
            reporter.as_ref(),
            options,
        ))
        .map_err(|e| Failure::new(format!("cannot read the records: {e}")))
}

/// Warns about each unreadable record, then fails once for all of them:
/// what could be read has already been printed.
pub fn finish(invalid: &[Invalid]) -> Result<(), Failure> {
    if invalid.is_empty() {
        return Ok(());
    }
    for i in invalid {
        anstream::eprintln!(
            "warning: record {} is unreadable: {}",
            i.key,
            imglife_domain::text::escape(&i.reason)
        );
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

pub fn list(args: &ListArgs, settings: &Settings, cwd: &Path) -> Result<(), Failure> {
    let filter = ListFilter {
        project: args
            .project
            .as_deref()
            .map(|p| {
                ProjectPath::parse(p).map_err(|e| Failure::new(format!("--project '{p}': {e}")))
            })
            .transpose()?,
        base: base_filter(args.base.as_deref())?,
    };
    let loaded = load(
        settings,
        cwd,
        &Load {
            show_progress: args.output == OutputArg::Text,
            documents: args.output == OutputArg::Json,
            no_cache: args.no_cache,
        },
    )?;
    let selected: Vec<_> = loaded
        .entries
        .iter()
        .filter(|e| filter.matches(&e.record))
        .collect();
    let text = match args.output {
        OutputArg::Json => table::json_array(
            selected
                .iter()
                .map(|e| e.document.clone().unwrap_or_default()),
        ),
        OutputArg::Text if selected.is_empty() => "No records.\n".to_owned(),
        OutputArg::Text => table::render_from(
            &[
                "IMAGE",
                "PROJECT",
                "BASE",
                "REVISION",
                "BUILT AT",
                "PLATFORMS",
            ],
            selected.len(),
            |i| {
                let r = &selected[i].record;
                vec![
                    r.image.to_string(),
                    r.project.to_string(),
                    r.base.to_string(),
                    r.revision.short().to_owned(),
                    r.built_at_text(),
                    r.platforms.to_string(),
                ]
            },
        ),
    };
    print(text.as_bytes())?;
    finish(&loaded.invalid)
}

/// Exit code 3 under `--strict` when an application is outdated, once the
/// report is printed; an unreadable record (exit 1) comes first.
pub fn status(args: &StatusArgs, settings: &Settings, cwd: &Path) -> Result<(), Failure> {
    let base = base_filter(args.base.as_deref())?;
    let tag_format = settings
        .build
        .as_ref()
        .and_then(|b| b.tag_format.as_deref());
    let rule = status::TagRule::new(tag_format)
        .map_err(|e| Failure::new(format!("{} {e}", settings.origin("build.tag_format"))))?;
    let loaded = load(
        settings,
        cwd,
        &Load {
            show_progress: args.output == StatusOutputArg::Text,
            documents: false,
            no_cache: args.no_cache,
        },
    )?;
    let report = status::report(&loaded.entries, base.as_ref(), &rule);
    let text = match args.output {
        StatusOutputArg::Text => status_output::text(&report),
        StatusOutputArg::Json => status_output::json(&report, &loaded.invalid),
        StatusOutputArg::Markdown => status_output::markdown(&report, &loaded.invalid),
    };
    print(text.as_bytes())?;
    finish(&loaded.invalid)?;
    if args.strict && report.outdated > 0 {
        return Err(Failure::outdated(format!(
            "--strict: {} outdated (see the report)",
            match report.outdated {
                1 => "1 application is".to_owned(),
                n => format!("{n} applications are"),
            }
        )));
    }
    Ok(())
}
