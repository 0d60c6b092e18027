//! A spinner on stderr for slow steps. indicatif draws nothing when stderr
//! is not a terminal (or `TERM` is dumb), so CI logs stay clean.

use std::sync::Mutex;
use std::time::Duration;

use imglife_domain::ports::{Reporter, Step};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Hidden whenever stderr is not a terminal; for machine-readable output
/// use `SilentReporter` instead.
#[derive(Default)]
pub struct SpinnerReporter {
    bar: Mutex<Option<ProgressBar>>,
}

impl SpinnerReporter {
    pub fn new() -> Self {
        Self::default()
    }
}

fn describe(step: &Step) -> String {
    match step {
        Step::Inspecting { image, source } => format!("Inspecting {image} ({source})"),
        Step::Publishing { location } => format!("Publishing to {location}"),
        Step::Listing => "Listing records".to_owned(),
        Step::Reading { total } => format!("Reading {total} records"),
        Step::Deleting { total } => format!("Deleting {total} records"),
    }
}

impl Reporter for SpinnerReporter {
    fn step_started(&self, step: &Step) {
        let total = match step {
            Step::Reading { total } | Step::Deleting { total } => Some(*total as u64),
            _ => None,
        };
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        if bar.is_hidden() {
            return;
        }
        let template = if total.is_some() {
            "{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}"
        } else {
            "{spinner} {msg} {elapsed}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(describe(step));
        bar.enable_steady_tick(Duration::from_millis(100));
        self.swap(Some(bar));
    }

    fn step_finished(&self, _: &Step) {
        self.swap(None);
    }

    fn progress(&self, done: usize) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.set_position(done as u64);
        }
    }
}

impl SpinnerReporter {
    /// Installs `next` (or nothing) and clears the spinner it replaces.
    fn swap(&self, next: Option<ProgressBar>) {
        let previous = match self.bar.lock() {
            Ok(mut slot) => std::mem::replace(&mut *slot, next),
            Err(_) => None,
        };
        if let Some(bar) = previous {
            bar.finish_and_clear();
        }
    }
}

impl Drop for SpinnerReporter {
    fn drop(&mut self) {
        self.swap(None);
    }
}
