//! `imglife register` and `imglife app purge`: the commands that write.
//! Each gets a `RecordStore` from the composition root (a `DryRun` one
//! for `--dry-run`) and runs its use case the same way either way.

use std::ffi::OsString;
use std::path::Path;
use std::time::Instant;

use clap::CommandFactory;
use imglife::purge::{self, Retention};
use imglife::register;
use imglife_config::Settings;
use imglife_domain::metadata::MetadataError;

use crate::cli::{Cli, OutputArg, PurgeArgs, RegisterArgs};
use crate::compose;
use crate::error::Failure;
use crate::input::{self, Checked};
use crate::output::{self, print};
use crate::purge_output;
use crate::read_commands::finish;

pub fn register(
    args: &RegisterArgs,
    settings: &Settings,
    cwd: &Path,
    ci: bool,
    started: Instant,
) -> Result<(), Failure> {
    let env = |name: &str| -> Option<OsString> { std::env::var_os(name) };
    let request = match input::check(args, &env, jiff::Timestamp::now())? {
        Checked::Ok(request) => *request,
        Checked::MissingRequired(flag, value) => {
            let message = format!(
                "the following required argument was not provided: {flag} <{value}> \
                 (in GitLab CI it defaults to ${})",
                if flag == "--revision" {
                    input::REVISION_ENV
                } else {
                    input::PROJECT_ENV
                }
            );
            // Reported like clap's own usage errors (exit 2), with the usage
            // line of `imglife register`.
            let mut command = Cli::command();
            command.build();
            let mut register = command
                .find_subcommand("register")
                .cloned()
                .unwrap_or(command);
            register
                .error(clap::error::ErrorKind::MissingRequiredArgument, message)
                .exit();
        }
    };
    let store = compose::record_store(settings, cwd, ci, args.dry_run)?;
    // Sources are built only when a value is missing: flags that say
    // everything never touch the network or the daemon, nor pay for
    // setting up TLS.
    let source = if request.base.is_none() || request.platforms.is_none() {
        compose::metadata_source(settings)?
    } else {
        None
    };
    let json = args.output == OutputArg::Json;
    let reporter = compose::reporter(!json);
    let runtime = compose::runtime()?;
    let registered = runtime
        .block_on(register::register(
            request,
            source.as_deref(),
            store.as_ref(),
            reporter.as_ref(),
        ))
        .map_err(|e| Failure::new(e.to_string()))?;
    drop(reporter);

    // stdout holds the record alone in JSON: a refused registry that was
    // passed over for the daemon is said on stderr instead.
    if json
        && let Some(passed) = &registered.passed_over
        && matches!(passed.error, MetadataError::Unauthorized(_))
    {
        anstream::eprintln!(
            "warning: {} answered because {} refused access: {}",
            registered.source.as_deref().unwrap_or("another source"),
            passed.source,
            imglife_domain::text::escape(passed.error.summary())
        );
    }
    let bytes = if json {
        registered.document.clone()
    } else {
        output::register_summary(&registered, args.dry_run, started.elapsed())
            .render(true)
            .into_bytes()
    };
    print(&bytes)
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
    let store = compose::record_store(settings, cwd, ci, args.dry_run)?;
    let cache = compose::record_cache(settings, cwd, args.no_cache);
    let reporter = compose::reporter(args.output == OutputArg::Text);
    let runtime = compose::runtime()?;
    let purged = runtime
        .block_on(purge::purge(
            store.as_ref(),
            retention,
            jiff::Timestamp::now(),
            reporter.as_ref(),
            cache
                .as_ref()
                .map(|c| c as &dyn imglife_domain::ports::RecordCache),
        ))
        .map_err(|e| Failure::new(format!("cannot read the records: {e}")))?;

    let text = match args.output {
        OutputArg::Json => purge_output::json(&purged, retention, args.dry_run),
        OutputArg::Text => purge_output::text(&purged, args.dry_run, started.elapsed()),
    };
    print(text.as_bytes())?;
    for (key, message) in &purged.failed {
        anstream::eprintln!(
            "warning: could not delete {key}: {}",
            imglife_domain::text::escape(message)
        );
    }
    if purged.failed.is_empty() {
        return finish(&purged.invalid);
    }
    // Both kinds of trouble are named: every undeletable record above,
    // and every unreadable one too.
    let _ = finish(&purged.invalid);
    let unreadable = if purged.invalid.is_empty() {
        String::new()
    } else {
        format!(", and {} record(s) could not be read", purged.invalid.len())
    };
    Err(Failure::new(format!(
        "{} record(s) could not be deleted{unreadable} (listed above)",
        purged.failed.len()
    )))
}
