//! Failures of a command and their exit codes.

use std::fmt;

/// One failure, shown as a single `error: ...` line on stderr.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// Exit code 1: bad input, bad configuration, a source or store
    /// failing.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }

    /// Exit code 3: `status --strict` found outdated applications (the
    /// report is printed all the same).
    pub fn outdated(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 3,
        }
    }

    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for Failure {
    /// Always one line that a terminal shows as it is: a message may hold
    /// text from outside (a server's answer, an echoed flag, a file name),
    /// so line breaks, ESC sequences, bidi and invisible characters are
    /// shown escaped (`\u{1b}`), never sent raw.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&imglife_domain::text::escape(&self.message))
    }
}
