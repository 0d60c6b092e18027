//! What is made from the command-line definition alone, without the
//! configuration: shell completion scripts and the manual page.

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;
use crate::error::Failure;
use crate::output::print;

/// `imglife` alone, or with global flags only: a usage error (exit 2), as
/// when clap requires a subcommand; `--check` needs none.
pub fn missing_command() -> ! {
    Cli::command()
        .error(
            clap::error::ErrorKind::MissingSubcommand,
            "a command is required (or --check, to validate the configuration)",
        )
        .exit()
}

/// `imglife completions SHELL`.
pub fn completions(shell: Shell) -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "imglife", &mut out);
    print(&out)
}

/// `imglife man`.
pub fn man() -> Result<(), Failure> {
    print(man_page().as_bytes())
}

/// Global flags, shown once at the top of the page rather than under
/// every command.
fn is_global(arg: &clap::Arg) -> bool {
    arg.is_global_set() || matches!(arg.get_id().as_str(), "help" | "version")
}

/// The whole manual: the top-level sections clap_mangen renders, then one
/// section per command (synopsis, options, examples), then exit status,
/// environment and files.
pub fn man_page() -> String {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    // The build date closes the version line: `0.1.0 (82d686b 2026-12-01)`.
    let date = crate::cli::VERSION
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .unwrap_or_default();
    let man = Man::new(root.clone())
        .title("IMGLIFE")
        .date(date)
        .manual("imglife manual");
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);

    let mut text = format!("{}\n{}\n", PREAMBLE[0], PREAMBLE[1]);
    text.push_str(&without_preamble(&String::from_utf8_lossy(&out)));
    let mut heading = Roff::new();
    heading.control("SH", ["COMMANDS"]);
    for command in leaf_commands(&root) {
        heading.control("TP", []);
        heading.text([bold(command.get_bin_name().unwrap_or(command.get_name()))]);
        if let Some(about) = command.get_about() {
            heading.text([roman(format!("{about}; see below."))]);
        }
    }
    text.push_str(&without_preamble(&heading.render()));
    for command in leaf_commands(&root) {
        text.push_str(&command_section(command));
    }
    let mut tail = Roff::new();
    exit_status(&mut tail);
    environment(&mut tail);
    files(&mut tail);
    text.push_str(&without_preamble(&tail.render()));
    text
}

/// Every command that runs something (`register`, `app list`, ...), not
/// the groups (`app`) nor the hidden ones, in definition order.
pub fn leaf_commands(root: &clap::Command) -> Vec<clap::Command> {
    let mut out = Vec::new();
    for sub in root
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        if sub.has_subcommands() {
            out.extend(leaf_commands(sub));
        } else {
            out.push(sub.clone());
        }
    }
    out
}

/// The roff preamble every rendering starts with (it defines `\*(Aq`,
/// the straight apostrophe); the page needs it once, at the top.
const PREAMBLE: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];

fn without_preamble(text: &str) -> String {
    text.lines()
        .filter(|l| !PREAMBLE.contains(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `.SH SYNOPSIS` → `.SS Synopsis`, so that the command's own sections sit
/// under its heading.
fn demote(section: &str, title: &str) -> String {
    let body = without_preamble(section);
    match body.split_once('\n') {
        Some((first, rest)) if first.starts_with(".SH") => format!(".SS {title}\n{rest}"),
        _ => body,
    }
}

/// One command: its name and description, clap_mangen's synopsis and
/// options (global flags left to the top of the page), its examples.
fn command_section(command: clap::Command) -> String {
    let name = command
        .get_bin_name()
        .unwrap_or(command.get_name())
        .to_owned();
    let mut head = Roff::new();
    head.control("SH", [name.to_uppercase().as_str()]);
    if let Some(about) = command.get_long_about().or_else(|| command.get_about()) {
        head.text([roman(about.to_string())]);
    }
    let globals: Vec<clap::Id> = command
        .get_arguments()
        .filter(|a| is_global(a))
        .map(|a| a.get_id().clone())
        .collect();
    let mut command = command;
    for id in globals {
        command = command.mut_arg(id, |a| a.hide(true));
    }
    let has_options = command.get_arguments().any(|a| !a.is_hide_set());
    let man = Man::new(command.clone());
    // Writing to a Vec cannot fail.
    let mut synopsis = Vec::new();
    let _ = man.render_synopsis_section(&mut synopsis);
    let mut options = Vec::new();
    if has_options {
        let _ = man.render_options_section(&mut options);
    }
    let mut examples = Roff::new();
    if let Some(after) = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
    {
        examples.control("PP", []);
        examples.control("nf", []);
        for line in after.to_string().lines() {
            examples.text([roman(line)]);
        }
        examples.control("fi", []);
    }
    format!(
        "{}{}{}{}",
        without_preamble(&head.render()),
        demote(&String::from_utf8_lossy(&synopsis), "Synopsis"),
        demote(&String::from_utf8_lossy(&options), "Options"),
        without_preamble(&examples.render())
    )
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        (
            "0",
            "Success: record published (or dry run done), list or report printed, configuration valid.",
        ),
        (
            "1",
            "Any failure: invalid value, configuration error, store or source failure; a single error line on stderr names the culprit.",
        ),
        (
            "2",
            "Command-line usage error (unknown flag, missing value).",
        ),
        (
            "3",
            "status --strict: at least one application shown is outdated (after the report).",
        ),
    ] {
        roff.control("TP", []);
        roff.text([bold(code)]);
        roff.text([roman(meaning)]);
    }
}

/// The variables imglife reads besides its `IMGLIFE_<KEY>` settings: the
/// man page's ENVIRONMENT and the configuration reference list them.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "IMGLIFE_CONFIG",
        "The config file when --config is not given.",
    ),
    (
        "IMGLIFE_<KEY>",
        "Any configuration key, nested keys joined by __ (IMGLIFE_REGISTRY__URL, IMGLIFE_LOG_LEVEL); imglife config show tells where each value came from.",
    ),
    (
        "GITLAB_TOKEN, CI_JOB_TOKEN",
        "The gitlab store's token, sent as PRIVATE-TOKEN; inside GitLab CI, CI_JOB_TOKEN (sent as JOB-TOKEN) when GITLAB_TOKEN is unset.",
    ),
    ("GITEA_TOKEN", "The gitea store's token."),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN",
        "The s3 store's credentials, found as the AWS SDKs find them.",
    ),
    (
        "IMGLIFE_<HOST>_USERNAME, IMGLIFE_<HOST>_PASSWORD, IMGLIFE_<HOST>_TOKEN",
        "register: credentials of the OCI registry HOST (upper-cased, other characters as _).",
    ),
    (
        "CI_REGISTRY, CI_REGISTRY_USER, CI_REGISTRY_PASSWORD",
        "register, inside GitLab CI: credentials of the project's container registry.",
    ),
    (
        "CI_COMMIT_SHA, CI_PROJECT_PATH",
        "Defaults of register --revision and --project.",
    ),
    (
        "CI_SERVER_URL, CI_SERVER_TLS_CA_FILE",
        "Inside GitLab CI: the gitlab store's URL when registry.url is unset, and its CA.",
    ),
    (
        "DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_CONTEXT, DOCKER_CONFIG",
        "The Docker daemon register --source docker reads, found as the docker CLI finds it.",
    ),
    (
        "SSL_CERT_FILE, SSL_CERT_DIR",
        "Certificates HTTPS trusts besides the system's.",
    ),
    (
        "CI",
        "true or 1: register refuses the implicit default store, whose records would vanish with the job.",
    ),
    (
        "NO_COLOR, TERM",
        "NO_COLOR (non-empty) or TERM=dumb turn colours off.",
    ),
];

fn environment(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in ENVIRONMENT {
        roff.control("TP", []);
        roff.text([bold(*name)]);
        roff.text([roman(*meaning)]);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    roff.control("TP", []);
    roff.text([italic("./imglife.yaml")]);
    roff.text([roman(
        "The configuration, when neither --config nor IMGLIFE_CONFIG names another file.",
    )]);
    roff.control("TP", []);
    roff.text([italic(".imglife/records/")]);
    roff.text([roman(
        "The embedded filesystem store, when no store is configured.",
    )]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_every_command_with_its_options() {
        let page = man_page();
        assert!(page.contains("\n.TH IMGLIFE 1"), "{page}");
        for needle in [
            ".SH \"IMGLIFE REGISTER\"",
            ".SH \"IMGLIFE APP PURGE\"",
            ".SH \"IMGLIFE CONFIG SHOW\"",
            "\\-\\-keep\\-last",
            "\\-\\-image",
            ".SH \"EXIT STATUS\"",
        ] {
            assert!(page.contains(needle), "{needle} missing:\n{page}");
        }
        assert!(!page.contains("command imglife"), "every marker replaced");
        assert!(!page.contains("imglife docs"), "hidden commands stay out");
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_commands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "imglife", &mut out);
            let text = String::from_utf8(out).expect("UTF-8");
            for word in ["register", "status", "purge", "completions"] {
                assert!(text.contains(word), "{shell}: {word}");
            }
        }
    }
}
