//! `imglife`: parses the command line, loads the configuration, wires the
//! adapters and runs one use case. Exit codes: 0 success, 1 failure, 2
//! usage error.

mod cli;
mod compose;
mod error;
mod filter;
mod input;
mod logging;
mod output;
mod purge;
mod read_commands;
mod records;
mod register;
mod sources;
mod status;
mod status_output;
mod table;
mod tls;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory, Parser};
use imglife_config::{
    ColorChoice, ConfigFile, FileOrigin, LogFormat, LogLevel, Overrides, Settings, SourceChoice,
};

use crate::cli::{
    AppCommand, Cli, ColorArg, Command, LogFormatArg, LogLevelArg, OutputArg, RegisterArgs,
    SourceArg,
};
use crate::compose::Access;
use crate::error::Failure;
use crate::input::Checked;

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    // The flag applies at once, so that even a configuration error is
    // printed as asked; the configured value follows once it is loaded.
    if let Some(color) = cli.color {
        apply_color(color_choice(color));
    }
    match run(cli, started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let style = anstyle::Style::new()
                .bold()
                .fg_color(Some(anstyle::AnsiColor::Red.into()));
            anstream::eprintln!("{style}error:{style:#} {failure}");
            ExitCode::from(failure.code())
        }
    }
}

fn run(cli: Cli, started: Instant) -> Result<(), Failure> {
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::new(format!("cannot read the working directory: {e}")))?;
    let settings = load_settings(&cli, &cwd)?;
    apply_color(settings.color);
    // The same rules as every other output: the choice, then NO_COLOR,
    // TERM=dumb and whether stderr is a terminal.
    let ansi_logs =
        anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    logging::init(settings.log_level, settings.log_format, ansi_logs);

    tracing::debug!(cwd = %cwd.display(), "configuration loaded");
    match &cli.command {
        Command::Register(args) => run_register(args, &settings, &cwd, started),
        Command::Status(args) => read_commands::status(args, &settings, &cwd, is_ci()),
        Command::App(AppCommand::List(args)) => read_commands::list(args, &settings, &cwd, is_ci()),
        Command::App(AppCommand::Purge(args)) => {
            read_commands::purge(args, &settings, &cwd, is_ci(), started)
        }
    }
}

fn load_settings(cli: &Cli, cwd: &std::path::Path) -> Result<Settings, Failure> {
    let file = match (&cli.config, std::env::var_os("IMGLIFE_CONFIG")) {
        (Some(path), _) => Some(ConfigFile {
            path: path.clone(),
            origin: FileOrigin::Flag,
        }),
        (None, Some(path)) if !path.is_empty() => Some(ConfigFile {
            path: PathBuf::from(path),
            origin: FileOrigin::Env,
        }),
        _ => None,
    };
    let overrides = Overrides {
        log_level: cli.log_level.map(|l| match l {
            LogLevelArg::Off => LogLevel::Off,
            LogLevelArg::Error => LogLevel::Error,
            LogLevelArg::Warn => LogLevel::Warn,
            LogLevelArg::Info => LogLevel::Info,
            LogLevelArg::Debug => LogLevel::Debug,
            LogLevelArg::Trace => LogLevel::Trace,
        }),
        log_format: cli.log_format.map(|f| match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }),
        color: cli.color.map(color_choice),
        source: match &cli.command {
            Command::Register(args) => args.source.map(|s| match s {
                SourceArg::Auto => SourceChoice::Auto,
                SourceArg::Registry => SourceChoice::Registry,
                SourceArg::Docker => SourceChoice::Docker,
            }),
            _ => None,
        },
    };
    imglife_config::load(file.as_ref(), cwd, &overrides).map_err(|e| Failure::new(e.to_string()))
}

fn color_choice(arg: ColorArg) -> ColorChoice {
    match arg {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    }
}

/// `auto` leaves the decision to anstream, which turns colour off when the
/// stream is not a terminal, `NO_COLOR` is non-empty or `TERM=dumb`.
fn apply_color(choice: ColorChoice) {
    let global = match choice {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    };
    global.write_global();
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn run_register(
    args: &RegisterArgs,
    settings: &Settings,
    cwd: &std::path::Path,
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
    let access = if request.dry_run {
        Access::ReadOnly
    } else {
        Access::Write
    };
    let store = compose::record_store(settings, cwd, is_ci(), access)?;
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
    let dry_run = request.dry_run;
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

    let bytes = if json {
        registered.document.clone()
    } else {
        output::register_summary(&registered, dry_run, started.elapsed())
            .render(true)
            .into_bytes()
    };
    output::print(&bytes)
}
