//! `imglife register` end to end against the GitLab emulator, which follows
//! GitLab's own source for status codes, auth headers and duplicates.

use std::time::{Duration, Instant};

use imglife_testkit::Sandbox;
use imglife_testkit::gitlab::{Emulator, Fault, Role, Scope, Visibility};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const TOKEN: &str = "glpat-maintainer-SECRET";
const DEV_TOKEN: &str = "glpat-developer-SECRET";
const JOB_TOKEN: &str = "job-token-SECRET";
const NAME: &str = "registry.example.com+apps+myservice";
const VERSION: &str = "1.2.0";
const FILE: &str = "record.json";

/// Project 7 `platform/base-images` (private), a maintainer, a developer
/// and a guest, each with their token.
fn emulator() -> Emulator {
    let gitlab = Emulator::start();
    gitlab.add_project(7, "platform/base-images", Visibility::Private);
    for (user, role, token) in [
        ("maintainer", Role::Maintainer, TOKEN),
        ("developer", Role::Developer, DEV_TOKEN),
        ("guest", Role::Guest, "glpat-guest-SECRET"),
    ] {
        gitlab.add_user(user);
        gitlab.add_member(7, user, role);
        gitlab.add_personal_token(token, user, Scope::Api);
    }
    gitlab.add_job_token(JOB_TOKEN, "developer");
    gitlab
}

fn args(revision: &str) -> Vec<String> {
    [
        "register",
        "--image",
        "registry.example.com/apps/myservice:1.2.0",
        "--base",
        "registry.example.com/bases/alpine:3.21.3-core1.0.0",
        "--platform",
        "linux/amd64",
        "--revision",
        revision,
        "--project",
        "myteam/myservice",
        "--built-at",
        "2026-04-01T10:00:00Z",
    ]
    .iter()
    .map(ToString::to_string)
    .collect()
}

/// The store configuration, as a CI job would give it.
fn env<'a>(
    gitlab: &Emulator,
    project: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(String, String)> {
    let mut env = vec![
        ("IMGLIFE_REGISTRY__URL".to_owned(), gitlab.url()),
        (
            "IMGLIFE_REGISTRY__PROJECT_ID".to_owned(),
            project.to_owned(),
        ),
        ("CI".to_owned(), "true".to_owned()),
        // Keep retry waits short; the budget logic is the same.
        (
            "IMGLIFE_REGISTRY__RETRY_BUDGET_SECS".to_owned(),
            "20".to_owned(),
        ),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

fn run(sandbox: &Sandbox, args: &[String], env: &[(String, String)]) -> imglife_testkit::Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sandbox.run(args, &env)
}

fn stored(gitlab: &Emulator) -> Vec<Vec<u8>> {
    gitlab
        .package_files(7, NAME, VERSION)
        .into_iter()
        .filter(|f| f.file_name == FILE)
        .map(|f| f.bytes)
        .collect()
}

fn assert_no_secret(run: &imglife_testkit::Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains("SECRET"), "a token leaked: {text}");
    }
}

#[test]
fn registers_with_a_personal_token() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let env = env(&gitlab, "7", &[("GITLAB_TOKEN", TOKEN)]);
    let mut json = args("a3f8b1c");
    json.extend(["--output".to_owned(), "json".to_owned()]);
    let done = run(&sandbox, &json, &env);
    done.expect_code(0);
    assert_eq!(
        stored(&gitlab),
        vec![done.stdout.clone().into_bytes()],
        "the bytes printed are the bytes stored"
    );

    let puts: Vec<_> = gitlab
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0].path,
        format!("/api/v4/projects/7/packages/generic/{NAME}/{VERSION}/{FILE}")
    );
    assert!(
        puts[0]
            .headers
            .iter()
            .any(|(k, v)| k == "private-token" && v == TOKEN)
    );
    assert!(sandbox.files().is_empty(), "nothing written locally");

    let text = run(&sandbox, &args("a3f8b1c"), &env);
    text.expect_code(0);
    assert!(
        text.stdout.contains(&format!(
            "Stored     GitLab project 7 packages/generic/{NAME}/{VERSION}/{FILE}"
        )),
        "{}",
        text.stdout
    );
    assert_no_secret(&text);
}

#[test]
fn project_path_is_sent_encoded() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let env = env(&gitlab, "platform/base-images", &[("GITLAB_TOKEN", TOKEN)]);
    run(&sandbox, &args("a"), &env).expect_code(0);
    assert_eq!(stored(&gitlab).len(), 1);
}

#[test]
fn registering_again_serves_the_newest_record() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let env = env(&gitlab, "7", &[("GITLAB_TOKEN", TOKEN)]);
    run(&sandbox, &args("first"), &env).expect_code(0);
    run(&sandbox, &args("second"), &env).expect_code(0);
    let files = stored(&gitlab);
    assert_eq!(
        files.len(),
        2,
        "GitLab keeps both files when duplicates are allowed"
    );
    let newest = String::from_utf8(files[1].clone()).expect("utf8");
    assert!(newest.contains("\"revision\": \"second\""), "{newest}");
}

#[test]
fn job_token_is_used_inside_gitlab_ci() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let env = env(&gitlab, "7", &[("CI_JOB_TOKEN", JOB_TOKEN)]);
    let done = run(&sandbox, &args("a"), &env);
    done.expect_code(0);
    let put = gitlab
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("a PUT");
    assert!(
        put.headers
            .iter()
            .any(|(k, v)| k == "job-token" && v == JOB_TOKEN),
        "{put:?}"
    );
    assert!(!put.headers.iter().any(|(k, _)| k == "private-token"));
}

#[test]
fn denied_duplicates_replace_the_older_record() {
    let gitlab = emulator();
    gitlab.set_duplicates_allowed("platform", false);
    let sandbox = Sandbox::new(BIN);
    let env = env(&gitlab, "7", &[("GITLAB_TOKEN", TOKEN)]);
    run(&sandbox, &args("first"), &env).expect_code(0);
    let second = run(&sandbox, &args("second"), &env);
    second.expect_code(0);
    let files = stored(&gitlab);
    assert_eq!(files.len(), 1, "the older file was deleted");
    assert!(String::from_utf8_lossy(&files[0]).contains("\"revision\": \"second\""));

    // A developer may publish but not delete: say so, and keep the old one.
    let env = self::env(&gitlab, "7", &[("GITLAB_TOKEN", DEV_TOKEN)]);
    let refused = run(&sandbox, &args("third"), &env);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("duplicate") && refused.stderr.contains("Maintainer"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.stdout, "");
    assert!(String::from_utf8_lossy(&stored(&gitlab)[0]).contains("\"revision\": \"second\""));
    assert_no_secret(&refused);
}

#[test]
fn each_error_status_has_its_own_message() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    // (case, extra environment, project, what stderr must say)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "401 rejected token",
            vec![("GITLAB_TOKEN", "glpat-wrong-SECRET")],
            "7",
            vec!["401", "GITLAB_TOKEN"],
        ),
        (
            "401 rejected job token",
            vec![("CI_JOB_TOKEN", "wrong-SECRET")],
            "7",
            vec!["401", "CI_JOB_TOKEN"],
        ),
        (
            "403 guest",
            vec![("GITLAB_TOKEN", "glpat-guest-SECRET")],
            "7",
            vec!["403", "Developer"],
        ),
        (
            "404 unknown project",
            vec![("GITLAB_TOKEN", TOKEN)],
            "999",
            vec!["404", "registry.project_id", "999"],
        ),
        (
            "404 unknown project path",
            vec![("GITLAB_TOKEN", TOKEN)],
            "platform/nope",
            vec!["404", "platform/nope"],
        ),
    ];
    for (name, extra, project, needles) in cases {
        let result = run(&sandbox, &args("a"), &env(&gitlab, project, &extra));
        assert_eq!(result.code, 1, "{name}: {result:?}");
        for needle in needles {
            assert!(
                result.stderr.contains(needle),
                "{name}: {needle:?} not in {}",
                result.stderr
            );
        }
        assert_eq!(result.stdout, "", "{name}");
        assert_no_secret(&result);
    }
    assert!(stored(&gitlab).is_empty());

    gitlab.set_max_file_size(10);
    let too_large = run(
        &sandbox,
        &args("a"),
        &env(&gitlab, "7", &[("GITLAB_TOKEN", TOKEN)]),
    );
    too_large.expect_code(1);
    assert!(
        too_large.stderr.contains("too large"),
        "{}",
        too_large.stderr
    );
    gitlab.set_max_file_size(0);

    gitlab.push_faults(
        "PUT",
        "/packages/generic/",
        vec![Fault::Status {
            code: 400,
            retry_after: None,
        }],
    );
    let bad = run(
        &sandbox,
        &args("a"),
        &env(&gitlab, "7", &[("GITLAB_TOKEN", TOKEN)]),
    );
    bad.expect_code(1);
    assert!(bad.stderr.contains("400"), "{}", bad.stderr);
}

#[test]
fn configuration_errors_come_before_any_request() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "GITLAB_TOKEN"),
        (
            vec![
                ("GITLAB_TOKEN", TOKEN),
                ("IMGLIFE_REGISTRY__PROJECT_ID", ""),
            ],
            "project_id",
        ),
        (
            vec![
                ("GITLAB_TOKEN", TOKEN),
                ("IMGLIFE_REGISTRY__URL", "gitlab.example.com"),
            ],
            "registry.url",
        ),
        (
            vec![
                ("GITLAB_TOKEN", TOKEN),
                ("IMGLIFE_REGISTRY__PROJECT_ID", "nogroup"),
            ],
            "include its group",
        ),
    ];
    for (extra, needle) in cases {
        let mut env = env(&gitlab, "7", &[]);
        for (k, v) in extra {
            env.retain(|(key, _)| key != k);
            env.push((k.to_owned(), v.to_owned()));
        }
        let result = run(&sandbox, &args("a"), &env);
        assert_eq!(result.code, 1, "{needle}: {result:?}");
        assert!(
            result.stderr.contains(needle),
            "{needle} not in {}",
            result.stderr
        );
    }
    assert!(gitlab.requests().is_empty(), "no request was made");
}

#[test]
fn transient_faults_are_retried_within_the_budget() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let env = env(
        &gitlab,
        "7",
        &[
            ("GITLAB_TOKEN", TOKEN),
            ("IMGLIFE_REGISTRY__MAX_RETRIES", "6"),
        ],
    );
    gitlab.push_faults(
        "PUT",
        "/packages/generic/",
        vec![
            Fault::Status {
                code: 503,
                retry_after: None,
            },
            Fault::Drop,
            Fault::Status {
                code: 429,
                retry_after: Some("1".to_owned()),
            },
            Fault::Status {
                code: 429,
                retry_after: None,
            },
            Fault::Status {
                code: 502,
                retry_after: None,
            },
            Fault::Status {
                code: 504,
                retry_after: None,
            },
        ],
    );
    let done = run(&sandbox, &args("a"), &env);
    done.expect_code(0);
    let puts = gitlab
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 7, "six faults, then success");
    assert_eq!(stored(&gitlab).len(), 1);
}

/// `Retry-After: 0` is no licence to hammer the server: the retry still
/// waits the policy's least backoff (250 ms), as the retry notice says.
#[test]
fn retry_after_zero_still_waits_the_least_backoff() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    gitlab.push_faults(
        "PUT",
        "/packages/generic/",
        vec![Fault::Status {
            code: 503,
            retry_after: Some("0".to_owned()),
        }],
    );
    let mut verbose = vec!["--log-level".to_owned(), "info".to_owned()];
    verbose.extend(args("a"));
    let done = run(
        &sandbox,
        &verbose,
        &env(&gitlab, "7", &[("GITLAB_TOKEN", TOKEN)]),
    );
    done.expect_code(0);
    assert!(
        done.stderr.contains("after=250ms"),
        "the retry waited the least backoff: {}",
        done.stderr
    );
    assert_eq!(stored(&gitlab).len(), 1);
}

#[test]
fn persistent_faults_fail_in_bounded_time() {
    let sandbox = Sandbox::new(BIN);
    let limits = [
        ("GITLAB_TOKEN", TOKEN),
        ("IMGLIFE_REGISTRY__MAX_RETRIES", "2"),
        ("IMGLIFE_REGISTRY__TIMEOUT_SECS", "1"),
    ];
    // (fault, what stderr says, PUTs made: 1 + 2 retries, or 1 when the
    // server asks for a wait beyond the budget)
    let cases: Vec<(Fault, &str, usize)> = vec![
        (
            Fault::Status {
                code: 503,
                retry_after: None,
            },
            "503",
            3,
        ),
        (Fault::Drop, "connection", 3),
        (
            Fault::Delay(Duration::from_secs(5)),
            "did not answer within 1s",
            3,
        ),
        (
            Fault::Status {
                code: 429,
                retry_after: Some("3600".to_owned()),
            },
            "retry budget",
            1,
        ),
    ];
    for (fault, needle, puts) in cases {
        // A fresh emulator per case: unconsumed faults must not leak on.
        let gitlab = emulator();
        gitlab.push_faults(
            "PUT",
            "/packages/generic/",
            vec![fault.clone(), fault.clone(), fault.clone(), fault],
        );
        let started = Instant::now();
        let failed = run(&sandbox, &args("a"), &env(&gitlab, "7", &limits));
        let took = started.elapsed();
        failed.expect_code(1);
        assert!(
            failed.stderr.contains(needle),
            "{needle} not in {}",
            failed.stderr
        );
        assert!(failed.stderr.contains("gave up"), "{}", failed.stderr);
        assert!(took < Duration::from_secs(30), "bounded: took {took:?}");
        let made = gitlab
            .requests()
            .iter()
            .filter(|r| r.method == "PUT")
            .count();
        assert_eq!(made, puts, "{needle}: attempts made");
        assert!(stored(&gitlab).is_empty());
    }
}

#[test]
fn no_token_in_logs_even_at_trace_level() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let mut verbose = vec!["--log-level".to_owned(), "trace".to_owned()];
    verbose.extend(args("a"));
    let env = env(&gitlab, "7", &[("GITLAB_TOKEN", TOKEN)]);
    gitlab.push_faults(
        "PUT",
        "/packages/generic/",
        vec![Fault::Status {
            code: 503,
            retry_after: None,
        }],
    );
    let done = run(&sandbox, &verbose, &env);
    done.expect_code(0);
    assert!(
        done.stderr.contains("retrying"),
        "the retry is logged: {}",
        done.stderr
    );
    assert_no_secret(&done);
}
