//! What ships around the commands: `--version` with the commit and build
//! date, shell completions driven through bash's own completion machinery,
//! the man page rendered by `man -l`, `config show` / `config check` /
//! `--check`, warnings for unknown top-level keys, and the generated docs.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use imglife_testkit::Sandbox;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");

#[test]
fn version_names_the_commit_and_the_build_date() {
    let run = Sandbox::new(BIN).run(["--version"], &[]);
    run.expect_code(0);
    let line = run.stdout.trim_end();
    let rest = line
        .strip_prefix(&format!("imglife {} (", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{line}"));
    let inner = rest.strip_suffix(')').unwrap_or_else(|| panic!("{line}"));
    let (commit, date) = inner.rsplit_once(' ').unwrap();
    // A checkout has a commit; a source tarball says so instead.
    assert!(
        commit == "unknown commit"
            || (commit.len() == 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{line}"
    );
    assert!(
        date.len() == 10 && jiff::civil::Date::strptime("%Y-%m-%d", date).is_ok(),
        "{line}"
    );
    // The commit is one of the checkout's (HEAD may have moved since the
    // build: the script reruns when it does).
    if commit != "unknown commit" {
        let known = Command::new("git")
            .args(["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status();
        assert!(
            known.is_ok_and(|s| s.success()),
            "{line}: not a commit here"
        );
    }
    // Subcommands print the same version.
    let run = Sandbox::new(BIN).run(["register", "--version"], &[]);
    assert!(run.stdout.contains(inner), "{run:#?}");
}

/// Sources the bash script and asks its completion function, as bash does
/// on TAB, for the words of `line` (the last one being completed).
fn bash_complete(script_dir: &Path, line: &[&str]) -> Vec<String> {
    let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "set -e\n\
         source '{script}'\n\
         spec=$(complete -p imglife)\n\
         fn=$(printf '%s\\n' \"$spec\" | sed -E 's/.* -F ([^ ]+) .*/\\1/')\n\
         COMP_WORDS=({words})\n\
         COMP_CWORD={cword}\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         \"$fn\" imglife \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script_dir.join("imglife.bash").display(),
        words = words.join(" "),
        cword = line.len() - 1,
    );
    let output = Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(program)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_and_flags() {
    let sandbox = Sandbox::new(BIN);
    let run = sandbox.run(["completions", "bash"], &[]);
    run.expect_code(0);
    std::fs::write(sandbox.path().join("imglife.bash"), &run.stdout).unwrap();
    assert_eq!(
        bash_complete(sandbox.path(), &["imglife", "reg"]),
        ["register"]
    );
    assert_eq!(
        bash_complete(sandbox.path(), &["imglife", "app", "pu"]),
        ["purge"]
    );
    assert_eq!(
        bash_complete(sandbox.path(), &["imglife", "register", "--dry"]),
        ["--dry-run"]
    );
    assert_eq!(
        bash_complete(sandbox.path(), &["imglife", "completions", "f"]),
        ["fish"]
    );

    // The other shells get their scripts too; completions need no config,
    // even a broken one.
    std::fs::write(sandbox.path().join("imglife.yaml"), "registry: [\n").unwrap();
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let run = sandbox.run(["completions", shell], &[]);
        run.expect_code(0);
        assert!(run.stdout.contains("register"), "{shell}: {run:#?}");
    }
    sandbox.run(["completions", "tcsh"], &[]).expect_code(2);
}

#[test]
fn man_renders_one_page_with_every_command() {
    let sandbox = Sandbox::new(BIN);
    let run = sandbox.run(["man"], &[]);
    run.expect_code(0);
    let page = sandbox.path().join("imglife.1");
    std::fs::write(&page, &run.stdout).unwrap();
    let output = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("man (man-db) is installed: scripts/services.sh installs it");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "man -l: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for heading in [
        "NAME",
        "SYNOPSIS",
        "COMMANDS",
        "IMGLIFE REGISTER",
        "IMGLIFE STATUS",
        "IMGLIFE APP LIST",
        "IMGLIFE APP PURGE",
        "IMGLIFE CONFIG SHOW",
        "IMGLIFE CONFIG CHECK",
        "IMGLIFE COMPLETIONS",
        "IMGLIFE MAN",
        "EXIT STATUS",
        "ENVIRONMENT",
    ] {
        assert!(
            text.lines().any(|l| l == heading),
            "{heading} missing:\n{text}"
        );
    }
    for needle in ["--image <REF>", "--keep-last <N>", "GITLAB_TOKEN"] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    // No roff warnings (groff's "warning:" lines) on stderr.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn config_show_names_each_value_s_origin_and_hides_secrets() {
    let sandbox = Sandbox::new(BIN);
    std::fs::write(
        sandbox.path().join("imglife.yaml"),
        "# the platform team's config\n\
         registry:\n  url: https://gitlab.example.com\n  project_id: 42\n\
         retention:\n  keep_last: 3\n\
         sync: []\nlifecycle:\n  eol_provider: local\n",
    )
    .unwrap();
    let run = sandbox.run(
        ["--log-format", "json", "config", "show"],
        &[
            ("IMGLIFE_REGISTRY__TIMEOUT_SECS", "45"),
            ("GITLAB_TOKEN", "glpat-never-shown"),
            ("CI_JOB_TOKEN", "job-never-shown"),
            ("AWS_SECRET_ACCESS_KEY", "aws-never-shown"),
        ],
    );
    run.expect_code(0);
    assert_eq!(run.stderr, "", "no warning for the original's sections");
    let text = &run.stdout;
    assert!(!text.contains("never-shown"), "{text}");
    let file = sandbox.path().join("imglife.yaml");
    for (line, origin) in [
        (
            "url: https://gitlab.example.com",
            format!("# config file {} line 3", file.display()),
        ),
        (
            "project_id: 42",
            format!("# config file {} line 4", file.display()),
        ),
        (
            "keep_last: 3",
            format!("# config file {} line 6", file.display()),
        ),
        (
            "timeout_secs: 45",
            "# variable IMGLIFE_REGISTRY__TIMEOUT_SECS".to_owned(),
        ),
        ("log_format: json", "# flag --log-format".to_owned()),
        ("log_level: warn", "# default".to_owned()),
        ("max_age_days: 30", "# default".to_owned()),
        (
            "provider: gitlab",
            "# default: registry.url is set".to_owned(),
        ),
        (
            "GITLAB_TOKEN: <redacted>",
            "# used: the gitlab store's token, sent as PRIVATE-TOKEN".to_owned(),
        ),
        (
            "CI_JOB_TOKEN: <redacted>",
            "# not used: GITLAB_TOKEN comes first".to_owned(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY: <redacted>",
            "# not used: the store is gitlab".to_owned(),
        ),
    ] {
        let found = text
            .lines()
            .find(|l| l.trim_start().starts_with(line))
            .unwrap_or_else(|| panic!("{line} missing:\n{text}"));
        assert!(
            found.trim_end().ends_with(&origin),
            "{line}: {origin} expected, got {found}"
        );
    }
    // It is YAML, with the values as the settings have them.
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    assert_eq!(
        yaml["registry"]["timeout_secs"],
        serde_yaml::Value::from(45)
    );
    assert_eq!(
        yaml["inspection"]["timeout_secs"],
        serde_yaml::Value::from(60)
    );
}

#[test]
fn unknown_top_level_keys_are_warnings_naming_file_line_and_nearest_key() {
    let sandbox = Sandbox::new(BIN);
    std::fs::write(
        sandbox.path().join("imglife.yaml"),
        "registy:\n  url: https://gitlab.example.com\nlog_levl: debug\nstatus: {}\n",
    )
    .unwrap();
    let run = sandbox.run(["config", "check"], &[]);
    run.expect_code(0);
    let file = sandbox.path().join("imglife.yaml");
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        warnings,
        [
            format!(
                "warning: config file {} line 1: unknown key 'registy' is ignored; did you mean 'registry'?",
                file.display()
            ),
            format!(
                "warning: config file {} line 3: unknown key 'log_levl' is ignored; did you mean 'log_level'?",
                file.display()
            ),
        ]
    );
    // Every command warns the same way, and goes on.
    let run = sandbox.run(["app", "list"], &[]);
    run.expect_code(0);
    assert_eq!(run.stderr.lines().count(), 2, "{run:#?}");
}

#[test]
fn config_check_and_global_check_validate_without_running() {
    let sandbox = Sandbox::new(BIN);
    // Valid: the embedded default store.
    let run = sandbox.run(["config", "check"], &[]);
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("configuration is valid; store: filesystem"),
        "{run:#?}"
    );
    let run = sandbox.run(["--check"], &[]);
    run.expect_code(0);

    // --check with a command validates for it and runs nothing: no record
    // is written, not even in the default store.
    let register = [
        "--check",
        "register",
        "--image",
        "registry.example.com/apps/myservice:1.2.0",
        "--base",
        "registry.example.com/bases/alpine:3.21",
        "--platform",
        "linux/amd64",
        "--revision",
        "a3f8b1c",
        "--project",
        "team/app",
    ];
    let run = sandbox.run(register, &[]);
    run.expect_code(0);
    assert!(!sandbox.path().join(".imglife").exists(), "nothing written");
    // ... and refuses what the command would refuse: the implicit default
    // store under CI=true.
    let run = sandbox.run(register, &[("CI", "true")]);
    run.expect_code(1);
    assert!(run.stderr.contains("CI=true"), "{run:#?}");

    // Invalid configurations: exit 1, one error line.
    for (yaml, env, culprit) in [
        ("registry:\n  pathh: x\n", vec![], "pathh"),
        (
            "registry:\n  provider: gitlab\n  url: https://gitlab.example.com\n",
            vec![("GITLAB_TOKEN", "t")],
            "registry.project_id is missing",
        ),
        (
            "build:\n  tag_format: \"{{.Nope}}\"\n",
            vec![],
            "build.tag_format",
        ),
        (
            "inspection:\n  timeout_secs: 0\n",
            vec![],
            "inspection.timeout_secs",
        ),
    ] {
        std::fs::write(sandbox.path().join("imglife.yaml"), yaml).unwrap();
        for args in [vec!["config", "check"], vec!["--check"]] {
            let run = sandbox.run(&args, &env);
            run.expect_code(1);
            assert!(run.stderr.starts_with("error: "), "{yaml}: {run:#?}");
            assert!(run.stderr.contains(culprit), "{yaml}: {run:#?}");
            assert_eq!(run.stdout, "", "{run:#?}");
        }
    }
    std::fs::remove_file(sandbox.path().join("imglife.yaml")).unwrap();
    // A command is required without --check: a usage error.
    sandbox.run(["--log-level", "debug"], &[]).expect_code(2);
}

#[test]
fn the_hidden_docs_command_writes_the_committed_reference() {
    let sandbox = Sandbox::new(BIN);
    let run = sandbox.run(["docs", "out"], &[]);
    run.expect_code(0);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let mut pages = vec!["configuration.md".to_owned()];
    for entry in std::fs::read_dir(sandbox.path().join("out/commands")).unwrap() {
        pages.push(format!(
            "commands/{}",
            entry.unwrap().file_name().to_string_lossy()
        ));
    }
    assert!(pages.len() >= 9, "{pages:?}");
    for page in pages {
        let written = std::fs::read_to_string(sandbox.path().join("out").join(&page)).unwrap();
        let kept = std::fs::read_to_string(committed.join(&page)).unwrap_or_default();
        assert!(
            written == kept,
            "docs/{page} is stale: run `cargo run -q -- docs` and commit the result"
        );
    }
    // Hidden from help and completions.
    let help = sandbox.run(["--help"], &[]);
    assert!(!help.stdout.contains("docs"), "{help:#?}");
}
