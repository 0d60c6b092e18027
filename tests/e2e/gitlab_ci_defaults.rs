//! Inside GitLab CI the job already says which GitLab it runs for:
//! `registry.provider: gitlab` with no `registry.url` publishes to
//! `$CI_SERVER_URL` with `$CI_JOB_TOKEN`, against the GitLab emulator.

use imglife_testkit::Sandbox;
use imglife_testkit::gitlab::{Emulator, Role, Visibility};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const JOB_TOKEN: &str = "job-token-SECRET";

fn emulator() -> Emulator {
    let gitlab = Emulator::start();
    gitlab.add_project(7, "platform/base-images", Visibility::Private);
    gitlab.add_user("developer");
    gitlab.add_member(7, "developer", Role::Developer);
    gitlab.add_job_token(JOB_TOKEN, "developer");
    gitlab
}

const ARGS: [&str; 9] = [
    "register",
    "--image",
    "registry.example.com/apps/myservice:1.2.0",
    "--base",
    "registry.example.com/bases/alpine:3.21",
    "--platform",
    "linux/amd64",
    "--output",
    "json",
];

/// A GitLab CI job's variables: the instance, the job token, the commit
/// and project (which `--revision` and `--project` default to).
fn job_env<'a>(server: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_SERVER_URL", server),
        ("CI_JOB_TOKEN", JOB_TOKEN),
        ("CI_COMMIT_SHA", "a3f8b1c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"),
        ("CI_PROJECT_PATH", "myteam/myservice"),
        ("IMGLIFE_REGISTRY__PROVIDER", "gitlab"),
        ("IMGLIFE_REGISTRY__PROJECT_ID", "platform/base-images"),
    ];
    env.extend_from_slice(extra);
    env
}

#[test]
fn without_registry_url_the_job_publishes_to_its_own_gitlab() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let url = gitlab.url();
    let run = sandbox.run(ARGS, &job_env(&url, &[]));
    run.expect_code(0);
    let files = gitlab.package_files(7, "registry.example.com+apps+myservice", "1.2.0");
    assert_eq!(files.len(), 1, "the record went to $CI_SERVER_URL");
    let puts: Vec<_> = gitlab
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0].header("job-token"),
        Some(JOB_TOKEN),
        "with the job's token"
    );
    assert!(!run.stderr.contains(JOB_TOKEN) && !run.stdout.contains(JOB_TOKEN));
}

#[test]
fn a_configured_url_wins_and_a_bad_ci_server_url_is_named() {
    let gitlab = emulator();
    let sandbox = Sandbox::new(BIN);
    let url = gitlab.url();
    // registry.url set: CI_SERVER_URL (here pointing nowhere) is not used.
    let run = sandbox.run(
        ARGS,
        &job_env("http://127.0.0.1:1", &[("IMGLIFE_REGISTRY__URL", &url)]),
    );
    run.expect_code(0);
    assert_eq!(
        gitlab
            .package_files(7, "registry.example.com+apps+myservice", "1.2.0")
            .len(),
        1
    );

    let bad = sandbox.run(ARGS, &job_env("not a url", &[]));
    bad.expect_code(1);
    assert!(
        bad.stderr.contains("CI_SERVER_URL") && bad.stderr.starts_with("error:"),
        "{}",
        bad.stderr
    );
    assert_eq!(bad.stdout, "");
}

/// A private GitLab's container registry, with a certificate from the
/// instance's own CA: inside GitLab CI the runner names that CA in
/// `CI_SERVER_TLS_CA_FILE`, and imglife trusts it for `$CI_REGISTRY` (and
/// only there) without `SSL_CERT_FILE`.
#[test]
fn ci_registry_trusts_the_ci_server_ca() {
    use imglife_testkit::registry::{ImageSpec, Pusher, Registries};
    let Some(r) = Registries::from_env() else {
        return;
    };
    let (Ok(tls), Ok(ca)) = (
        std::env::var("IMGLIFE_TEST_REGISTRY_TLS"),
        std::env::var("IMGLIFE_TEST_REGISTRY_TLS_CA"),
    ) else {
        assert!(
            !imglife_testkit::in_ci(),
            "IMGLIFE_TEST_REGISTRY_TLS is not set: the HTTPS registry did not start"
        );
        return;
    };
    // The registries share their storage: push to the open one.
    Pusher::new(&r.open, "e2e/ci-ca").image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[
                (
                    "org.opencontainers.image.base.name",
                    "registry.example.com/bases/alpine:3.21",
                ),
                ("imglife.platforms", "linux/amd64"),
            ],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let image = format!("{tls}/e2e/ci-ca:v1");
    let sandbox = Sandbox::new(BIN);
    let args = [
        "register",
        "--image",
        &image,
        "--dry-run",
        "--output",
        "json",
    ];
    let base_env = [
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_SHA", "a3f8b1c"),
        ("CI_PROJECT_PATH", "myteam/myservice"),
        ("CI_SERVER_TLS_CA_FILE", ca.as_str()),
    ];

    let mut env = base_env.to_vec();
    env.push(("CI_REGISTRY", tls.as_str()));
    let trusted = sandbox.run(args, &env);
    trusted.expect_code(0);
    let record: serde_json::Value = serde_json::from_str(&trusted.stdout).expect("record");
    assert_eq!(record["base"], "registry.example.com/bases/alpine:3.21");

    // Another registry than $CI_REGISTRY: the CA is not trusted there.
    let mut env = base_env.to_vec();
    env.push(("CI_REGISTRY", "registry.gitlab.example.com"));
    let refused = sandbox.run(args, &env);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("SSL_CERT_FILE"),
        "{}",
        refused.stderr
    );
}
