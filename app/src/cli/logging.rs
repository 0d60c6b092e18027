//! `tracing` to stderr, at `--log-level`, as text or JSON lines.
//!
//! Log fields carry text from outside (object keys, package names, server
//! messages). Call sites escape what they know is foreign, but one that
//! forgets must not let an ESC sequence or a carriage return reach the CI
//! log raw: the text formatter escapes every field value and message with
//! the same rule as the `error:` line (`imglife_domain::text::escape`).
//! Only values are escaped; the formatter's own colours stay. JSON lines
//! need nothing more: serde_json writes control characters as `\u00XX`.

use std::fmt::Write as _;

use imglife_config::{LogFormat, LogLevel};
use imglife_domain::text::escape;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;

pub fn init(level: LogLevel, format: LogFormat, ansi: bool) {
    // A second initialisation can only happen in tests; ignoring it is
    // correct there.
    let _ = match format {
        LogFormat::Text => {
            tracing::subscriber::set_global_default(text(level, ansi, std::io::stderr))
        }
        LogFormat::Json => tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_max_level(filter(level))
                .with_writer(std::io::stderr)
                .with_target(false)
                .json()
                .with_ansi(false)
                .finish(),
        ),
    };
}

fn filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Off => LevelFilter::OFF,
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}

/// The text subscriber, every field value escaped.
fn text<W>(level: LogLevel, ansi: bool, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let fields = tracing_subscriber::fmt::format::debug_fn(
        |w: &mut Writer<'_>, field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
            let mut text = String::new();
            let _ = write!(text, "{value:?}");
            if field.name() == "message" {
                write!(w, "{}", escape(&text))
            } else {
                write!(w, "{field}={}", escape(&text))
            }
        },
    )
    .delimited(" ");
    tracing_subscriber::fmt()
        .with_max_level(filter(level))
        .with_writer(writer)
        .with_target(false)
        .with_ansi(ansi)
        .fmt_fields(fields)
        .finish()
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("test buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(ansi: bool, emit: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = text(LogLevel::Debug, ansi, move || sink.clone());
        tracing::subscriber::with_default(subscriber, emit);
        String::from_utf8(buffer.0.lock().expect("test buffer").clone()).expect("UTF-8 log")
    }

    #[test]
    fn foreign_text_in_messages_and_fields_is_escaped() {
        let key = "fleet/\u{1b}[2J\rforged: ok\u{202e}";
        let out = logged(false, || {
            tracing::info!(object = key, "skipping {key}");
        });
        assert!(!out.contains('\u{1b}'), "{out:?}");
        assert!(!out.contains('\r'), "{out:?}");
        assert!(!out.contains('\u{202e}'), "{out:?}");
        assert!(
            out.contains("skipping fleet/\\u{1b}[2J\\u{d}forged: ok\\u{202e}"),
            "{out:?}"
        );
        assert!(out.contains("object="), "{out:?}");
        // One event, one line.
        assert_eq!(out.matches('\n').count(), 1, "{out:?}");
    }

    #[test]
    fn colours_stay_but_a_foreign_esc_does_not() {
        let out = logged(true, || tracing::warn!("bad \u{1b}]0;title\u{7}"));
        assert!(out.contains("bad \\u{1b}]0;title\\u{7}"), "{out:?}");
        // The level is still coloured by the formatter itself.
        assert!(out.contains("\u{1b}["), "{out:?}");
    }

    #[test]
    fn plain_text_is_unchanged() {
        let out = logged(false, || tracing::info!(count = 3, "read café records"));
        assert!(out.contains("read café records count=3"), "{out:?}");
    }
}
