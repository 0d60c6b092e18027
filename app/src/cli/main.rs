//! `imglife`: parses the command line, loads the configuration, wires the
//! adapters and runs one use case of the `imglife` library. Exit codes: 0
//! success, 1 failure, 2 usage error, 3 outdated applications under
//! `status --strict`.

mod cli;
mod compose;
mod config_cmd;
mod docs;
mod error;
mod input;
mod logging;
mod meta;
mod output;
mod purge_output;
mod read_commands;
mod status_output;
mod table;
mod write_commands;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use imglife_config::{
    ColorChoice, ConfigFile, FileOrigin, LogFormat, LogLevel, Overrides, Settings, SourceChoice,
};

use crate::cli::{
    AppCommand, Cli, ColorArg, Command, ConfigCommand, LogFormatArg, LogLevelArg, SourceArg,
};
use crate::error::Failure;

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    if cli.command.is_none() && !cli.check {
        meta::missing_command();
    }
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
    // These print from the command-line definition alone: a broken
    // configuration must not stop them.
    match &cli.command {
        Some(Command::Completions(args)) if !cli.check => return meta::completions(args.shell),
        Some(Command::Man) if !cli.check => return meta::man(),
        Some(Command::Docs(args)) if !cli.check => return docs::write(&args.dir),
        _ => {}
    }
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::new(format!("cannot read the working directory: {e}")))?;
    let settings = load_settings(&cli, &cwd)?;
    apply_color(settings.color);
    // The same rules as every other output: the choice, then NO_COLOR,
    // TERM=dumb and whether stderr is a terminal.
    let ansi_logs =
        anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    logging::init(settings.log_level, settings.log_format, ansi_logs);

    config_cmd::warn(&settings);

    tracing::debug!(cwd = %cwd.display(), "configuration loaded");
    if cli.check {
        return config_cmd::check(cli.command.as_ref(), &settings, &cwd, is_ci());
    }
    match &cli.command {
        Some(Command::Register(args)) => {
            write_commands::register(args, &settings, &cwd, is_ci(), started)
        }
        Some(Command::Status(args)) => read_commands::status(args, &settings, &cwd),
        Some(Command::App(AppCommand::List(args))) => read_commands::list(args, &settings, &cwd),
        Some(Command::App(AppCommand::Purge(args))) => {
            write_commands::purge(args, &settings, &cwd, is_ci(), started)
        }
        Some(Command::Config(ConfigCommand::Show)) => {
            config_cmd::show(&cli, config_file(&cli).as_ref(), &settings, &cwd)
        }
        Some(Command::Config(ConfigCommand::Check)) => {
            config_cmd::check(None, &settings, &cwd, is_ci())
        }
        // Handled above, before the configuration.
        Some(Command::Completions(_) | Command::Man | Command::Docs(_)) | None => Ok(()),
    }
}

/// The config file named on the command line or in the environment;
/// `None` leaves `./imglife.yaml` to the loader.
fn config_file(cli: &Cli) -> Option<ConfigFile> {
    match (&cli.config, std::env::var_os("IMGLIFE_CONFIG")) {
        (Some(path), _) => Some(ConfigFile {
            path: path.clone(),
            origin: FileOrigin::Flag,
        }),
        (None, Some(path)) if !path.is_empty() => Some(ConfigFile {
            path: PathBuf::from(path),
            origin: FileOrigin::Env,
        }),
        _ => None,
    }
}

fn load_settings(cli: &Cli, cwd: &std::path::Path) -> Result<Settings, Failure> {
    let file = config_file(cli);
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
            Some(Command::Register(args)) => args.source.map(|s| match s {
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
