//! `tracing` to stderr, at `--log-level`, as text or JSON lines.

use imglife_config::{LogFormat, LogLevel};
use tracing::level_filters::LevelFilter;

pub fn init(level: LogLevel, format: LogFormat, ansi: bool) {
    let filter = match level {
        LogLevel::Off => LevelFilter::OFF,
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second initialisation can only happen in tests; ignoring it is
    // correct there.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(ansi).try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}
