//! Printing results: the summary block or the record document on stdout.

use std::io::{self, Write};
use std::time::Duration;

use imglife::register::Registered;
use imglife_terminal::Summary;

use crate::error::Failure;

pub fn register_summary(registered: &Registered, dry_run: bool, elapsed: Duration) -> Summary {
    let record = &registered.record;
    let mut summary = Summary::new("Register", elapsed)
        .dry_run(dry_run)
        .row("Project", record.project.as_str())
        .row("Revision", record.revision.short())
        .row("Image", record.image.to_string())
        .row("Base", record.base.to_string())
        .row("Platforms", record.platforms.to_string());
    if !record.custom_fields.is_empty() {
        let keys: Vec<&str> = record.custom_fields.iter().map(|(k, _)| k).collect();
        summary = summary.row("Fields", keys.join(", "));
    }
    if let Some(digest) = &record.image_digest {
        summary = summary.row("Digest", digest.to_string());
    }
    if let Some(source) = &registered.source {
        // A fallback says why the preferred source did not answer.
        let shown = match &registered.passed_over {
            Some(passed) => format!("{source} ({}: {})", passed.source, passed.error.summary()),
            None => source.clone(),
        };
        summary = summary.row("Source", imglife_domain::text::escape(&shown));
    }
    let stored = if dry_run {
        format!("{} (dry run: nothing written)", registered.location)
    } else {
        registered.location.clone()
    };
    summary.row("Stored", stored)
}

/// Writes to stdout; a closed pipe (`imglife ... | head`) is not an error.
pub fn print(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = anstream::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(format!("cannot write to stdout: {e}"))),
        Ok(()) => Ok(()),
    }
}
