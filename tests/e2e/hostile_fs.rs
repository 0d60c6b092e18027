//! The filesystem store against what a user, a script or an attacker with
//! write access can leave in it: a FIFO, a link to `/dev/zero`, a 2 MiB
//! file, a repository directory linked from outside the root, the
//! temporary file of a killed writer. Each read command must finish at
//! once with bounded memory, name the culprit, still print what it could
//! read, and leave the store as it was.

use std::path::Path;
use std::time::{Duration, SystemTime};

use imglife_testkit::fixtures::{self, Spec, Stored};
use imglife_testkit::{Run, Sandbox};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const ROOT: &str = "records";
/// 2026-04-01T10:00:00Z.
const FIXED_NEWEST: i64 = 1_775_037_600;
/// Far beyond what any of these runs needs; only turns a hang into a failure.
const DEADLINE: Duration = Duration::from_secs(30);
/// Peak resident memory allowed to one run, in MiB.
const MAX_MIB: u64 = 64;
const ENV: &[(&str, &str)] = &[
    ("IMGLIFE_REGISTRY__PATH", ROOT),
    ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
];

fn fleet() -> Vec<Stored> {
    fixtures::fleet(20, FIXED_NEWEST)
        .iter()
        .map(Spec::store)
        .collect()
}

fn sandbox_with(records: &[Stored]) -> Sandbox {
    let sandbox = Sandbox::new(BIN);
    fixtures::write_fs(&sandbox.path().join(ROOT), records);
    sandbox
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn symlink(target: &Path, link: &Path) {
    std::fs::create_dir_all(link.parent().expect("parent")).expect("dir");
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// Runs the binary with the store configured, bounded in time and memory.
fn run_bounded(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = ENV.to_vec();
    all.extend_from_slice(env);
    let (run, measured) = sandbox.run_measured(args, &all, DEADLINE);
    measured.assert_bounded(MAX_MIB);
    run
}

fn warning_lines(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect()
}

/// `app list`, `status` and `app purge --dry-run` each finish, exit 1,
/// name `key` in a `warning:` line with every one of `needles`, still
/// print the valid records, and leave the store byte for byte as it was.
fn read_commands_name(sandbox: &Sandbox, fleet: &[Stored], key: &str, needles: &[&str]) {
    let before = sandbox.files();
    for args in [
        vec!["app", "list"],
        vec!["status"],
        vec!["app", "purge", "--dry-run"],
    ] {
        let run = run_bounded(sandbox, &args, &[]);
        run.expect_code(1);
        let warnings = warning_lines(&run);
        assert!(
            warnings
                .iter()
                .any(|l| l.contains(key) && needles.iter().all(|n| l.contains(n))),
            "{args:?}: a warning names {key} with {needles:?}; stderr:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("1 record(s) could not be read"),
            "{args:?}: {}",
            run.stderr
        );
        let printed = match args[..] {
            ["app", "list"] => fleet
                .iter()
                .all(|r| run.stdout.contains(r.spec.image.as_str())),
            ["status"] => run.stdout.contains("registry.example.com/apps/app-001"),
            _ => run.stdout.contains("App Purge Summary"),
        };
        assert!(
            printed,
            "{args:?}: what could be read is still printed:\n{}",
            run.stdout
        );
    }
    let json = run_bounded(sandbox, &["app", "list", "--output", "json"], &[]);
    json.expect_code(1);
    let listed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(fleet.len()));
    assert_eq!(
        sandbox.files(),
        before,
        "the read commands touched the store"
    );
}

#[test]
fn a_fifo_named_like_a_record_is_named_and_never_blocks() {
    let fleet = fleet();
    let sandbox = sandbox_with(&fleet);
    mkfifo(
        &sandbox
            .path()
            .join(ROOT)
            .join("registry.example.com+apps+fifo/1.0.json"),
    );
    read_commands_name(
        &sandbox,
        &fleet,
        "registry.example.com+apps+fifo/1.0",
        &["FIFO"],
    );
}

#[test]
fn a_link_to_dev_zero_named_like_a_record_is_named_and_never_read() {
    let fleet = fleet();
    let sandbox = sandbox_with(&fleet);
    symlink(
        Path::new("/dev/zero"),
        &sandbox
            .path()
            .join(ROOT)
            .join("registry.example.com+apps+zero/1.0.json"),
    );
    read_commands_name(
        &sandbox,
        &fleet,
        "registry.example.com+apps+zero/1.0",
        &["symbolic link to /dev/zero"],
    );
}

#[test]
fn a_record_over_the_limit_is_named_with_limit_and_size() {
    let fleet = fleet();
    let sandbox = sandbox_with(&fleet);
    sandbox.write(
        &format!("{ROOT}/registry.example.com+apps+huge/1.0.json"),
        vec![b' '; 2 * 1024 * 1024],
    );
    read_commands_name(
        &sandbox,
        &fleet,
        "registry.example.com+apps+huge/1.0",
        &["2097152 bytes", "limit of 1048576 bytes"],
    );
}

#[test]
fn a_repository_linked_from_outside_the_root_is_not_followed_and_named() {
    let fleet = fleet();
    let sandbox = sandbox_with(&fleet);
    // A valid record in a directory outside the store, linked into it.
    let outside = Spec {
        image: "registry.example.com/apps/elsewhere:1.0".to_owned(),
        built_at: FIXED_NEWEST - 400 * 86_400,
        ..fixtures::fleet(1, FIXED_NEWEST)[0].clone()
    }
    .store();
    let elsewhere = sandbox.path().join("elsewhere");
    fixtures::write_fs(&elsewhere, std::slice::from_ref(&outside));
    symlink(
        &elsewhere.join(&outside.name),
        &sandbox.path().join(ROOT).join(&outside.name),
    );
    let before = sandbox.files();
    for args in [
        vec!["app", "list", "--output", "json"],
        vec!["status", "--output", "json"],
        vec!["app", "purge", "--dry-run", "--output", "json"],
    ] {
        let run = run_bounded(&sandbox, &args, &[]);
        run.expect_code(0);
        assert!(
            !run.stdout.contains("elsewhere"),
            "{args:?}: a record behind a link is never read: {}",
            run.stdout
        );
        assert!(
            run.stderr.lines().any(|l| l.contains("WARN")
                && l.contains(&format!("{ROOT}/{}", outside.name))
                && l.contains("symbolic link")),
            "{args:?}: the link is named: {}",
            run.stderr
        );
    }
    let listed = run_bounded(&sandbox, &["app", "list", "--output", "json"], &[]);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(fleet.len()));
    assert_eq!(
        sandbox.files(),
        before,
        "the read commands touched the store"
    );

    // A real purge deletes old records of the store, never the one behind
    // the link (the oldest of all).
    let purge = run_bounded(
        &sandbox,
        &["app", "purge", "--keep-last", "1", "--max-age-days", "0"],
        &[],
    );
    purge.expect_code(0);
    let kept = elsewhere
        .join(&outside.name)
        .join(format!("{}.json", outside.version));
    assert_eq!(
        std::fs::read(&kept).ok(),
        Some(outside.bytes.clone()),
        "nothing outside the root is deleted"
    );
}

#[test]
fn register_removes_the_old_temporary_file_of_a_killed_writer() {
    let sandbox = Sandbox::new(BIN);
    let repository = format!("{ROOT}/registry.example.com+apps+myservice");
    let stale = sandbox.write(&format!("{repository}/.1.2.0.AbC123.tmp"), "{\"image\":");
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .expect("open")
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 60 * 60))
        .expect("mtime two hours ago");
    // A write that may still be in progress: left alone.
    let fresh = sandbox.write(&format!("{repository}/.1.2.0.XyZ789.tmp"), "{\"image\":");
    let listed = run_bounded(&sandbox, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    assert_eq!(listed.stdout, "[]\n", "temporary files are never listed");

    let run = run_bounded(
        &sandbox,
        &[
            "register",
            "--image",
            "registry.example.com/apps/myservice:1.2.0",
            "--base",
            "registry.example.com/bases/alpine:3.21.3-core1.0.0",
            "--revision",
            "a3f8b1c",
            "--project",
            "myteam/myservice",
            "--platform",
            "linux/amd64",
        ],
        &[],
    );
    run.expect_code(0);
    assert_eq!(
        run.stderr, "",
        "cleaning up says nothing at the default level"
    );
    assert!(
        !stale.exists(),
        "the killed writer's temporary file is removed"
    );
    assert!(fresh.exists(), "a fresh temporary file is left alone");
    assert!(
        sandbox
            .path()
            .join(&repository)
            .join("1.2.0.json")
            .is_file()
    );
}

#[test]
fn a_store_over_max_records_is_an_error_not_a_truncated_list() {
    let fleet = fleet();
    let sandbox = sandbox_with(&fleet);
    let before = sandbox.files();
    for args in [
        vec!["app", "list"],
        vec!["status"],
        vec!["app", "purge", "--dry-run"],
    ] {
        let run = run_bounded(&sandbox, &args, &[("IMGLIFE_REGISTRY__MAX_RECORDS", "5")]);
        run.expect_code(1);
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert!(
            errors.len() == 1
                && errors[0].contains("more than 5 records")
                && errors[0].contains("registry.max_records"),
            "{args:?}: one error line naming the limit: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{args:?}: never a truncated answer");
    }
    let all = run_bounded(
        &sandbox,
        &["app", "list", "--output", "json"],
        &[("IMGLIFE_REGISTRY__MAX_RECORDS", "20")],
    );
    all.expect_code(0);
    assert_eq!(sandbox.files(), before);
}
