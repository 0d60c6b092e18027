//! `imglife register` end to end on the filesystem store: the built binary,
//! a real directory, no mocks.

use std::path::Path;
use std::process::Stdio;

use imglife_testkit::Sandbox;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const IMAGE: &str = "registry.example.com/apps/myservice:1.2.0";
const BASE: &str = "registry.example.com/bases/alpine:3.21.3-core1.0.0";
const SHA: &str = "a3f8b1c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2";
const RECORD: &str = ".imglife/records/registry.example.com+apps+myservice/1.2.0.json";

fn seed_args() -> Vec<&'static str> {
    vec![
        "register",
        "--image",
        IMAGE,
        "--base",
        BASE,
        "--revision",
        SHA,
        "--project",
        "myteam/myservice",
        "--platform",
        "linux/amd64 linux/arm64",
    ]
}

/// The seed arguments with some flags' values replaced.
fn seed_args_with(replace: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    let mut args = seed_args();
    for (flag, value) in replace {
        match args.iter().position(|a| a == flag) {
            Some(i) => args[i + 1] = value,
            None => args.extend([*flag, *value]),
        }
    }
    args
}

fn read_record(sandbox: &Sandbox, relative: &str) -> serde_json::Value {
    let bytes = std::fs::read(sandbox.path().join(relative)).expect("record written");
    serde_json::from_slice(&bytes).expect("record is JSON")
}

fn elapsed_filter() -> Vec<(&'static str, &'static str)> {
    vec![(r"· \d+(\.\d+)?s", "· [elapsed]")]
}

#[test]
fn registers_with_flags_only_and_prints_the_summary() {
    let sandbox = Sandbox::new(BIN);
    let run = sandbox.run(seed_args(), &[]);
    run.expect_code(0);
    assert_eq!(run.stderr, "", "nothing on stderr when all goes well");
    let labels: Vec<&str> = run
        .stdout
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        labels,
        [
            "Project",
            "Revision",
            "Image",
            "Base",
            "Platforms",
            "Stored"
        ]
    );
    assert!(
        run.stdout.contains("Revision   a3f8b1c\n"),
        "full SHA shown short: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("Stored     filesystem {RECORD}\n")),
        "{}",
        run.stdout
    );

    let text = std::fs::read_to_string(sandbox.path().join(RECORD)).expect("record written");
    let positions: Vec<usize> = [
        "image",
        "base",
        "revision",
        "project",
        "platforms",
        "built_at",
        "custom_fields",
    ]
    .iter()
    .map(|k| {
        text.find(&format!("\n  \"{k}\": "))
            .unwrap_or_else(|| panic!("{k} missing: {text}"))
    })
    .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "keys in the documented order: {text}"
    );
    let record = read_record(&sandbox, RECORD);
    assert_eq!(
        record["revision"], SHA,
        "the record keeps the revision whole"
    );
    assert_eq!(
        record["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    let built_at = record["built_at"].as_str().expect("string");
    assert!(
        built_at.len() == 20 && built_at.ends_with('Z'),
        "UTC, whole seconds: {built_at}"
    );
}

#[test]
fn text_report_snapshot() {
    let sandbox = Sandbox::new(BIN);
    let mut args = seed_args();
    args.extend([
        "--built-at",
        "2026-04-01T12:00:00+02:00",
        "--field",
        "ci_pipeline_id=42",
    ]);
    let run = sandbox.run(&args, &[("NO_COLOR", "1")]);
    run.expect_code(0);
    insta::with_settings!({ filters => elapsed_filter() }, {
        insta::assert_snapshot!("register_text_report", run.stdout);
    });
}

#[test]
fn json_output_is_exactly_the_stored_record() {
    let sandbox = Sandbox::new(BIN);
    let mut args = seed_args();
    args.extend([
        "--built-at",
        "2026-04-01T10:00:00Z",
        "--output",
        "json",
        "--field",
        "ci_job_url=https://gitlab.example.com/jobs/1?a=b",
        "--field",
        "empty=",
        "--platform",
        "linux/amd64,linux/arm/v7",
    ]);
    let run = sandbox.run(&args, &[]);
    run.expect_code(0);
    let stored = std::fs::read_to_string(sandbox.path().join(RECORD)).expect("stored");
    assert_eq!(
        run.stdout, stored,
        "stdout carries the record document and nothing else"
    );
    insta::assert_snapshot!("register_json_record", stored);
}

#[test]
fn registering_the_same_tag_again_replaces_the_record() {
    let sandbox = Sandbox::new(BIN);
    let first = seed_args_with(&[("--built-at", "2026-01-01T00:00:00Z")]);
    sandbox.run(&first, &[]).expect_code(0);
    let second = seed_args_with(&[
        ("--built-at", "2026-02-02T00:00:00Z"),
        ("--revision", "second"),
    ]);
    sandbox.run(&second, &[]).expect_code(0);

    let record = read_record(&sandbox, RECORD);
    assert_eq!(record["revision"], "second");
    assert_eq!(record["built_at"], "2026-02-02T00:00:00Z");
    let dir = sandbox
        .path()
        .join(Path::new(RECORD).parent().expect("dir"));
    assert_eq!(
        std::fs::read_dir(dir).expect("dir").count(),
        1,
        "one record, no leftovers"
    );
}

#[test]
fn thirty_two_concurrent_registers_leave_one_whole_record() {
    let sandbox = Sandbox::new(BIN);
    let children: Vec<_> = (0..32)
        .map(|i| {
            let revision = format!("rev-{i:02}");
            let field = format!("padding={}", "x".repeat(4096 + i));
            let mut command = sandbox.command();
            command
                .args(
                    seed_args()
                        .iter()
                        .filter(|a| !a.starts_with("--revision") && **a != SHA),
                )
                .args(["--revision", &revision, "--field", &field])
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            command.spawn().expect("spawn")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("wait");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let record = read_record(&sandbox, RECORD);
    let revision = record["revision"].as_str().expect("revision");
    let i: usize = revision
        .trim_start_matches("rev-")
        .parse()
        .expect("one writer's revision");
    assert_eq!(
        record["custom_fields"]["padding"].as_str().map(str::len),
        Some(4096 + i),
        "revision and fields come from the same writer"
    );
    let dir = sandbox
        .path()
        .join(Path::new(RECORD).parent().expect("dir"));
    assert_eq!(
        std::fs::read_dir(dir).expect("dir").count(),
        1,
        "no temporary files left"
    );
}

#[test]
fn an_environment_path_that_looks_like_a_number_stays_a_path() {
    for dir in ["007", "true", "1e3"] {
        let sandbox = Sandbox::new(BIN);
        let run = sandbox.run(seed_args(), &[("IMGLIFE_REGISTRY__PATH", dir)]);
        run.expect_code(0);
        let record = format!("{dir}/registry.example.com+apps+myservice/1.2.0.json");
        assert_eq!(read_record(&sandbox, &record)["image"], IMAGE, "{dir}");
        assert!(
            run.stdout
                .contains(&format!("Stored     filesystem {record}\n")),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn dry_run_writes_nothing() {
    let sandbox = Sandbox::new(BIN);
    let mut args = seed_args();
    args.push("--dry-run");
    let run = sandbox.run(&args, &[]);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("[dry-run] Register · "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(dry run: nothing written)"));
    assert!(
        sandbox.files().is_empty(),
        "nothing written: {:?}",
        sandbox.files().keys()
    );

    let mut json = args.clone();
    json.extend(["--output", "json", "--built-at", "2026-04-01T10:00:00Z"]);
    let run = sandbox.run(&json, &[]);
    run.expect_code(0);
    let record: serde_json::Value = serde_json::from_str(&run.stdout).expect("the record");
    assert_eq!(record["image"], IMAGE);
    assert!(sandbox.files().is_empty());
}

#[test]
fn gitlab_ci_variables_fill_in_revision_and_project() {
    let sandbox = Sandbox::new(BIN);
    let env = [("CI_COMMIT_SHA", SHA), ("CI_PROJECT_PATH", "group/from-ci")];
    let args = [
        "register",
        "--image",
        IMAGE,
        "--base",
        BASE,
        "--platform",
        "linux/amd64",
    ];
    sandbox.run(args, &env).expect_code(0);
    let record = read_record(&sandbox, RECORD);
    assert_eq!(record["revision"], SHA);
    assert_eq!(record["project"], "group/from-ci");

    let mut with_flags = args.to_vec();
    with_flags.extend(["--revision", "flag-rev", "--project", "flag/project"]);
    sandbox.run(&with_flags, &env).expect_code(0);
    let record = read_record(&sandbox, RECORD);
    assert_eq!(
        (record["revision"].as_str(), record["project"].as_str()),
        (Some("flag-rev"), Some("flag/project"))
    );
}

#[test]
fn configuration_layers_override_in_order() {
    let sandbox = Sandbox::new(BIN);
    let record_in = |root: &str| format!("{root}/registry.example.com+apps+myservice/1.2.0.json");
    sandbox.write(
        "imglife.yaml",
        "registry:\n  provider: fs\n  path: from-default-file\nsync: {ignored: true}\n",
    );
    sandbox.write("other.yaml", "registry:\n  path: from-env-file\n");
    sandbox.write("flag.yaml", "registry:\n  path: from-flag-file\n");

    sandbox.run(seed_args(), &[]).expect_code(0);
    assert!(
        sandbox
            .path()
            .join(record_in("from-default-file"))
            .is_file(),
        "./imglife.yaml is read"
    );

    sandbox
        .run(seed_args(), &[("IMGLIFE_CONFIG", "other.yaml")])
        .expect_code(0);
    assert!(
        sandbox.path().join(record_in("from-env-file")).is_file(),
        "$IMGLIFE_CONFIG beats ./imglife.yaml"
    );

    let mut with_flag = vec!["--config", "flag.yaml"];
    with_flag.extend(seed_args());
    sandbox
        .run(&with_flag, &[("IMGLIFE_CONFIG", "other.yaml")])
        .expect_code(0);
    assert!(
        sandbox.path().join(record_in("from-flag-file")).is_file(),
        "--config beats $IMGLIFE_CONFIG"
    );

    sandbox
        .run(&with_flag, &[("IMGLIFE_REGISTRY__PATH", "from-env-var")])
        .expect_code(0);
    assert!(
        sandbox.path().join(record_in("from-env-var")).is_file(),
        "IMGLIFE_* beats the file"
    );
}

#[test]
fn ci_refuses_the_implicit_store_but_accepts_an_explicit_one() {
    let sandbox = Sandbox::new(BIN);
    let run = sandbox.run(seed_args(), &[("CI", "true")]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("CI=true") && run.stderr.contains("registry.provider"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    assert!(sandbox.files().is_empty());

    sandbox
        .run(
            seed_args(),
            &[("CI", "true"), ("IMGLIFE_REGISTRY__PROVIDER", "fs")],
        )
        .expect_code(0);
    assert!(sandbox.path().join(RECORD).is_file());
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let sandbox = Sandbox::new(BIN);
    let mut always = vec!["--color", "always"];
    always.extend(seed_args());
    let mut command = sandbox.command();
    command.env_remove("NO_COLOR").args(&always);
    let coloured = String::from_utf8(command.output().expect("run").stdout).expect("utf8");
    assert!(
        coloured.contains("\u{1b}["),
        "--color always colours even a pipe: {coloured:?}"
    );

    let mut command = sandbox.command();
    command.env_remove("NO_COLOR").args(seed_args());
    let piped = String::from_utf8(command.output().expect("run").stdout).expect("utf8");
    assert!(
        !piped.contains('\u{1b}'),
        "no colour into a pipe by default"
    );

    let mut never = vec!["--color", "never"];
    never.extend(seed_args());
    let run = sandbox.run(&never, &[("TERM", "xterm-256color")]);
    assert!(!run.stdout.contains('\u{1b}'));
}

#[test]
fn json_logs_on_stderr_keep_stdout_clean() {
    let sandbox = Sandbox::new(BIN);
    let mut args = vec!["--log-level", "debug", "--log-format", "json"];
    args.extend(seed_args());
    args.extend(["--output", "json"]);
    let run = sandbox.run(&args, &[]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(!lines.is_empty(), "debug logs were written");
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(value.get("level").is_some(), "{line}");
    }
    serde_json::from_str::<serde_json::Value>(&run.stdout).expect("stdout is only the record");
}

#[test]
fn help_shows_the_examples() {
    let sandbox = Sandbox::new(BIN);
    let run = sandbox.run(["register", "--help"], &[]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("--field ci_pipeline_id=\"$CI_PIPELINE_ID\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("--base registry.example.com/bases/alpine:3.21.3-core1.0.0")
    );
    let version = sandbox.run(["--version"], &[]);
    version.expect_code(0);
    assert!(version.stdout.starts_with("imglife "));
}
