//! The command line, as clap types only.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Links application images to the base images they were built on.";

const REGISTER_EXAMPLES: &str = "\
Examples:
  # Basic usage
  imglife register \\
    --image registry.example.com/apps/myservice:1.2.0 \\
    --base registry.example.com/bases/alpine:3.21.3-core1.0.0 \\
    --revision \"$CI_COMMIT_SHA\" \\
    --project \"myteam/myservice\"

  # With custom fields
  imglife register \\
    --image registry.example.com/apps/myservice:1.2.0 \\
    --revision \"$CI_COMMIT_SHA\" \\
    --project \"myteam/myservice\" \\
    --field ci_pipeline_id=\"$CI_PIPELINE_ID\" \\
    --field ci_job_url=\"$CI_JOB_URL\"

  # Check what would be stored, without storing it
  imglife register --dry-run --output json \\
    --image registry.example.com/apps/myservice:1.2.0 \\
    --base registry.example.com/bases/alpine:3.21.3-core1.0.0 \\
    --platform \"linux/amd64 linux/arm64\" \\
    --revision a3f8b1c --project myteam/myservice

Exit codes: 0 published (or dry run done), 1 error, 2 command-line usage error.";

#[derive(Debug, Parser)]
#[command(name = "imglife", version, about = ABOUT, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Configuration file [default: ./imglife.yaml when present] [env: IMGLIFE_CONFIG]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log verbosity on stderr [default: warn]
    #[arg(long, global = true, value_enum, value_name = "LEVEL")]
    pub log_level: Option<LogLevelArg>,

    /// Log line format on stderr [default: text]
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,

    /// When to use colours: auto honours NO_COLOR, TERM=dumb and non-terminals [default: auto]
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorArg>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publish a build record linking an application image to its base image
    #[command(after_help = REGISTER_EXAMPLES)]
    Register(RegisterArgs),
}

/// Values stay `OsString` until validation, so that a value that is not
/// UTF-8 is reported with the flag it was given to.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Fully qualified application image, with a tag or digest
    #[arg(long, value_name = "REF", required = true, value_parser = clap::value_parser!(OsString))]
    pub image: Option<OsString>,

    /// Base image the application was built on [default: read from the image's metadata]
    #[arg(long, value_name = "REF", value_parser = clap::value_parser!(OsString))]
    pub base: Option<OsString>,

    /// Git revision of the application project [default: $CI_COMMIT_SHA]
    #[arg(long, value_name = "REV", value_parser = clap::value_parser!(OsString))]
    pub revision: Option<OsString>,

    /// Project path, e.g. myteam/myservice [default: $CI_PROJECT_PATH]
    #[arg(long, value_name = "PATH", value_parser = clap::value_parser!(OsString))]
    pub project: Option<OsString>,

    /// Platforms, space- or comma-separated, repeatable [default: read from the image's metadata]
    #[arg(long, value_name = "OS/ARCH[/VARIANT] ...", value_parser = clap::value_parser!(OsString))]
    pub platform: Vec<OsString>,

    /// Custom field stored in the record, repeatable
    #[arg(long, value_name = "KEY=VALUE", value_parser = clap::value_parser!(OsString))]
    pub field: Vec<OsString>,

    /// Build time to record, RFC 3339 with an offset [default: now]
    #[arg(long, value_name = "RFC3339", value_parser = clap::value_parser!(OsString))]
    pub built_at: Option<OsString>,

    /// Show what would be stored, without storing it
    #[arg(long)]
    pub dry_run: bool,

    /// Output on stdout: a summary, or exactly the record document
    #[arg(long, value_enum, default_value_t = OutputArg::Text, value_name = "FORMAT")]
    pub output: OutputArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogLevelArg {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
