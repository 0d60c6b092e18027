//! `app purge` racing `register` on the GitLab store, interleaved at exact
//! points: the emulator holds purge's request at a gate while a register
//! of the record purge is about to delete runs to its end, then lets purge
//! go on. Whichever point, the record registered again survives.

use std::process::Stdio;
use std::time::Duration;

use imglife_testkit::Sandbox;
use imglife_testkit::gitlab::{Emulator, Fault, Gate, Role, Scope, Visibility};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const TOKEN: &str = "glpat-maintainer-SECRET";
const NAME: &str = "registry.example.com+apps+web";
/// A bound for a broken test, not a synchronisation.
const ARRIVAL: Duration = Duration::from_secs(60);

fn emulator() -> Emulator {
    let gitlab = Emulator::start();
    gitlab.add_project(3, "platform/base-images", Visibility::Private);
    gitlab.add_user("maintainer");
    gitlab.add_member(3, "maintainer", Role::Maintainer);
    gitlab.add_personal_token(TOKEN, "maintainer", Scope::Api);
    gitlab
}

fn env(gitlab: &Emulator) -> Vec<(&'static str, String)> {
    vec![
        ("IMGLIFE_REGISTRY__URL", gitlab.url()),
        (
            "IMGLIFE_REGISTRY__PROJECT_ID",
            "platform/base-images".to_owned(),
        ),
        ("GITLAB_TOKEN", TOKEN.to_owned()),
    ]
}

fn register(sandbox: &Sandbox, gitlab: &Emulator, tag: &str, built_at: &str) {
    let env = env(gitlab);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sandbox
        .run(
            [
                "register",
                "--image",
                &format!("registry.example.com/apps/web:{tag}"),
                "--base",
                "registry.example.com/bases/alpine:3.21",
                "--platform",
                "linux/amd64",
                "--revision",
                "a3f8b1c",
                "--project",
                "team/web",
                "--built-at",
                built_at,
            ],
            &env,
        )
        .expect_code(0);
}

fn ago(days: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days)).to_string()
}

/// web:3 (a day old), web:2 and web:1 (old): `--keep-last 1` deletes
/// web:2 and web:1. Returns the package id of web:1.
fn fleet(sandbox: &Sandbox, gitlab: &Emulator) -> u64 {
    register(sandbox, gitlab, "3", &ago(1));
    register(sandbox, gitlab, "2", &ago(100));
    register(sandbox, gitlab, "1", &ago(200));
    gitlab.package_files(3, NAME, "1")[0].package_id
}

/// Runs purge in the background until its request reaches `gate`,
/// registers web:1 again (now the newest record), then releases purge.
fn purge_racing_a_register(sandbox: &Sandbox, gitlab: &Emulator, gate: &Gate) -> (String, i32) {
    let mut purge = sandbox.command();
    purge
        .args(["app", "purge", "--keep-last", "1", "--max-age-days", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env(gitlab) {
        purge.env(k, v);
    }
    let child = purge.spawn().expect("purge starts");
    assert!(gate.wait_for_arrival(ARRIVAL), "purge reached the gate");
    register(sandbox, gitlab, "1", &ago(0));
    gate.release();
    let output = child.wait_with_output().expect("purge ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (text, output.status.code().unwrap_or(-1))
}

/// The record of web:1 as GitLab serves it now (its newest file).
fn served_built_at(sandbox: &Sandbox, gitlab: &Emulator) -> Option<String> {
    let env = env(gitlab);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listed = sandbox.run(["app", "list", "--output", "json"], &env);
    listed.expect_code(0);
    let records: serde_json::Value = serde_json::from_str(&listed.stdout).expect("json");
    records
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["image"] == "registry.example.com/apps/web:1")
        .map(|r| r["built_at"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn a_record_registered_again_before_purge_checks_it_is_skipped() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let package = fleet(&sandbox, &gitlab);
    // Hold purge's check of web:1 (the listing of its package's files).
    let gate = Gate::new();
    gitlab.push_faults(
        "GET",
        &format!("/packages/{package}/package_files"),
        vec![Fault::Hold(gate.clone())],
    );
    let (output, code) = purge_racing_a_register(&sandbox, &gitlab, &gate);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("Skipped") && output.contains(&format!("{NAME}/1")),
        "the skip is said: {output}"
    );
    assert!(
        output.contains("Deleted  registry.example.com/apps/web:2"),
        "{output}"
    );
    let built_at = served_built_at(&sandbox, &gitlab).expect("web:1 survives");
    assert!(
        built_at > ago(1),
        "the new record is the one served: {built_at}"
    );
}

#[test]
fn a_record_registered_again_while_purge_deletes_survives() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let package = fleet(&sandbox, &gitlab);
    let old_file = gitlab.package_files(3, NAME, "1")[0].id;
    // Hold purge's deletion of the very file it checked.
    let gate = Gate::new();
    gitlab.push_faults(
        "DELETE",
        &format!("/packages/{package}/package_files/{old_file}"),
        vec![Fault::Hold(gate.clone())],
    );
    let (output, code) = purge_racing_a_register(&sandbox, &gitlab, &gate);
    assert_eq!(code, 0, "{output}");
    let files = gitlab.package_files(3, NAME, "1");
    assert_eq!(files.len(), 1, "only the new file is left: {files:?}");
    assert_ne!(files[0].id, old_file);
    let built_at = served_built_at(&sandbox, &gitlab).expect("web:1 survives");
    assert!(built_at > ago(1), "{built_at}");
}

/// A purge that both cannot read one record and cannot delete another
/// names both on stderr, and says so in its one `error:` line.
#[test]
fn unreadable_and_undeletable_records_are_both_named() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    fleet(&sandbox, &gitlab);
    gitlab.seed_file(
        3,
        "registry.example.com+apps+broken",
        "1",
        "record.json",
        b"not json",
    );
    // The first deletion is refused (a token without the Maintainer role).
    gitlab.push_faults(
        "DELETE",
        "/package_files/",
        vec![Fault::Status {
            code: 403,
            retry_after: None,
        }],
    );
    let env = env(&gitlab);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = sandbox.run(
        ["app", "purge", "--keep-last", "1", "--max-age-days", "30"],
        &env,
    );
    run.expect_code(1);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("could not delete") && w.contains(NAME)),
        "the undeletable record is named: {}",
        run.stderr
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("registry.example.com+apps+broken/1") && w.contains("unreadable")),
        "the unreadable record is named: {}",
        run.stderr
    );
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("could not be deleted") && errors[0].contains("could not be read"),
        "{}",
        errors[0]
    );
}
