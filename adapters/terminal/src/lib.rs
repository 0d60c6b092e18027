//! What imglife shows a person: the summary block printed after a command,
//! and a spinner on stderr while a slow step runs.

mod spinner;
mod summary;

pub use spinner::SpinnerReporter;
pub use summary::Summary;
