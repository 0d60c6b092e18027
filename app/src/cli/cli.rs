//! The command line, as clap types only.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Links application images to the base images they were built on.";

/// `0.1.0 (82d686b 2026-12-01)`: the version, the commit and the build
/// date, from `app/build.rs`.
pub const VERSION: &str = env!("IMGLIFE_VERSION_LINE");

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
#[command(
    name = "imglife",
    version = VERSION,
    about = ABOUT,
    propagate_version = true,
    max_term_width = 100
)]
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

    /// Validate the configuration (and the command line), then exit 0 or 1 without running anything
    #[arg(long, global = true)]
    pub check: bool,

    /// Required unless --check is given.
    #[command(subcommand)]
    pub command: Option<Command>,
}

const STATUS_EXAMPLES: &str = "\
Examples:
  # Every base image and the applications built on it
  imglife status

  # Which applications still run on alpine 3.19 (3.19, 3.19.1, 3.19-core1.0.0, ...)?
  imglife status --base registry.example.com/bases/alpine:3.19

  # A report to commit into the base-images project
  imglife status --output markdown > STATUS.md

  # A CI gate: fail the job when an application is behind its base image
  imglife status --strict

Exit codes: 0 report printed, 1 error, 2 command-line usage error,
3 (with --strict) an application is outdated, after the report.";

const LIST_EXAMPLES: &str = "\
Examples:
  imglife app list
  imglife app list --project myteam/myservice
  imglife app list --base registry.example.com/bases/alpine --output json";

const PURGE_EXAMPLES: &str = "\
Examples:
  # See what the retention policy would delete
  imglife app purge --dry-run

  # Keep the 3 newest records of each application and all from the last 14 days
  imglife app purge --keep-last 3 --max-age-days 14";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Publish a build record linking an application image to its base image
    #[command(after_help = REGISTER_EXAMPLES)]
    Register(RegisterArgs),

    /// Show which applications use which base image, and which are outdated
    #[command(after_help = STATUS_EXAMPLES)]
    Status(StatusArgs),

    /// List or purge application build records
    #[command(subcommand)]
    App(AppCommand),

    /// Show or check the configuration in effect
    #[command(subcommand)]
    Config(ConfigCommand),

    /// Print a shell completion script on stdout
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),

    /// Print the manual page (roff, every command on one page) on stdout
    #[command(after_help = MAN_EXAMPLES)]
    Man,

    /// Write the Markdown reference (commands/*.md, configuration.md) into DIR
    #[command(hide = true)]
    Docs(DocsArgs),
}

const CONFIG_SHOW_EXAMPLES: &str = "\
Examples:
  imglife config show
  IMGLIFE_REGISTRY__URL=https://gitlab.example.com imglife --log-level debug config show

Each value is followed by where it came from: default, config file and line,
variable or flag. Tokens read from the environment are named, never shown.";

const CONFIG_CHECK_EXAMPLES: &str = "\
Examples:
  imglife config check
  imglife --config ci/imglife.yaml config check
  imglife --check register --image registry.example.com/apps/myservice:1.2.0

Exit codes: 0 valid, 1 invalid (one error: line names the culprit).";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  # bash: now, then in every new shell
  source <(imglife completions bash)
  imglife completions bash > ~/.local/share/bash-completion/completions/imglife

  # zsh: a directory on $fpath
  imglife completions zsh > ~/.zfunc/_imglife

  # fish
  imglife completions fish > ~/.config/fish/completions/imglife.fish";

const MAN_EXAMPLES: &str = "\
Examples:
  imglife man | man -l -
  imglife man > ~/.local/share/man/man1/imglife.1";

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the configuration in effect as YAML, each value with where it came from
    #[command(after_help = CONFIG_SHOW_EXAMPLES)]
    Show,

    /// Validate the configuration and the store it selects; contacts nothing
    #[command(after_help = CONFIG_CHECK_EXAMPLES)]
    Check,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// The documentation directory
    #[arg(value_name = "DIR", default_value = "docs")]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// List build records, newest first
    #[command(after_help = LIST_EXAMPLES)]
    List(ListArgs),

    /// Delete old build records according to a retention policy
    #[command(after_help = PURGE_EXAMPLES)]
    Purge(PurgeArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only bases matching a repository, a repository:tag, or a tag prefix
    #[arg(long, value_name = "REF-OR-REPO")]
    pub base: Option<String>,

    /// Output on stdout
    #[arg(long, value_enum, default_value_t = StatusOutputArg::Text, value_name = "FORMAT")]
    pub output: StatusOutputArg,

    /// Exit with code 3 when an application is outdated, after printing the report
    #[arg(long)]
    pub strict: bool,

    /// Neither read nor write the read cache (cache.dir): download every record
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only records of this project
    #[arg(long, value_name = "PATH")]
    pub project: Option<String>,

    /// Only records whose base matches a repository, a repository:tag, or a tag prefix
    #[arg(long, value_name = "REF-OR-REPO")]
    pub base: Option<String>,

    /// Output on stdout: a table, or a JSON array of the records as stored
    #[arg(long, value_enum, default_value_t = OutputArg::Text, value_name = "FORMAT")]
    pub output: OutputArg,

    /// Neither read nor write the read cache (cache.dir): download every record
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Records to keep per application image repository, newest first [default: retention.keep_last, else 5]
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,

    /// Keep every record younger than this [default: retention.max_age_days, else 30]
    #[arg(long, value_name = "DAYS")]
    pub max_age_days: Option<u32>,

    /// Show what would be deleted, without deleting
    #[arg(long)]
    pub dry_run: bool,

    /// Neither read nor write the read cache (cache.dir): download every record
    #[arg(long)]
    pub no_cache: bool,

    /// Output on stdout
    #[arg(long, value_enum, default_value_t = OutputArg::Text, value_name = "FORMAT")]
    pub output: OutputArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusOutputArg {
    Text,
    Json,
    Markdown,
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

    /// Where to read missing values: the registry, else the local Docker daemon (auto) [default: auto] [config: source] [env: IMGLIFE_SOURCE]
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub source: Option<SourceArg>,

    /// Show what would be stored, without storing it
    #[arg(long)]
    pub dry_run: bool,

    /// Output on stdout: a summary, or exactly the record document
    #[arg(long, value_enum, default_value_t = OutputArg::Text, value_name = "FORMAT")]
    pub output: OutputArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    Auto,
    Registry,
    Docker,
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
