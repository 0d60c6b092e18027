//! The GitLab CI/CD components in `templates/`: their layout, and their
//! jobs' `script:` run under `sh` as a runner would (one shell, `set -e`),
//! with GitLab's variables and the inputs put in, against the filesystem
//! store. Under `busybox sh` too, the shell of the CI image.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

#[path = "gitlab_components.rs"]
mod gitlab_components;

use std::path::Path;
use std::process::Command;

use gitlab_components::{Component, job, script, variables};
use imglife_testkit::{Run, Sandbox};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const SHA: &str = "a3f8b1c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2";

/// The shells to run the scripts with: `sh`, and Debian's `busybox sh`
/// (the CI image's), which scripts/services.sh installs.
fn shells() -> Vec<Vec<&'static str>> {
    let mut shells = vec![vec!["sh"]];
    if Path::new("/bin/busybox").exists() {
        shells.push(vec!["/bin/busybox", "sh"]);
    } else {
        assert!(
            !imglife_testkit::in_ci(),
            "/bin/busybox is missing: scripts/services.sh installs busybox-static"
        );
        eprintln!("notice: no /bin/busybox; the scripts run under sh only");
    }
    shells
}

/// What a GitLab job's environment holds for a tag pipeline of
/// `myteam/myservice`, with the records in `records/` of the sandbox.
fn gitlab_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CI", "true"),
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_SHA", SHA),
        ("CI_COMMIT_TAG", "1.2.0"),
        ("CI_PROJECT_PATH", "myteam/myservice"),
        ("CI_REGISTRY_IMAGE", "registry.example.com/apps/myservice"),
        ("CI_PIPELINE_ID", "4242"),
        ("CI_PIPELINE_SOURCE", "push"),
        (
            "CI_JOB_URL",
            "https://gitlab.example.com/myteam/myservice/-/jobs/99",
        ),
        ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
        ("IMGLIFE_REGISTRY__PATH", "records"),
    ]
}

/// Runs the job's script in the sandbox under `shell`, with the job's
/// `variables:` and `env`, and imglife first on PATH.
fn run_job(
    sandbox: &Sandbox,
    shell: &[&str],
    job: &serde_yaml::Mapping,
    env: &[(&str, &str)],
) -> Run {
    let bin_dir = Path::new(BIN).parent().unwrap();
    let mut command = Command::new(shell[0]);
    command
        .args(&shell[1..])
        .arg("-e")
        .arg("-c")
        .arg(script(job))
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("HOME", sandbox.path())
        .env("NO_COLOR", "1")
        .current_dir(sandbox.path());
    for (k, v) in variables(job) {
        command.env(k, v);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn components_follow_gitlab_s_layout_and_declare_what_they_use() {
    let mut names: Vec<String> = std::fs::read_dir(gitlab_components::templates_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["register.yml", "status.yml"]);
    for name in ["register", "status"] {
        let component = Component::load(name);
        let declared: Vec<String> = component.inputs.keys().cloned().collect();
        assert_eq!(
            component.used_inputs(),
            declared,
            "{name}: every input used, every used input declared"
        );
        let jobs = component.interpolate(&[]);
        let job = job(&jobs, &format!("imglife-{name}"));
        // The job runs in the imglife image as it is: no entrypoint.
        let image = job.get("image").unwrap();
        assert_eq!(
            image["entrypoint"],
            serde_yaml::Value::Sequence(vec!["".into()])
        );
        assert_eq!(
            image["name"].as_str(),
            Some("registry.example.com/tools/imglife:latest")
        );
        assert!(job.get("stage").unwrap().as_str().is_some());
        assert!(job.get("rules").unwrap().as_sequence().is_some());
    }
    let register = Component::load("register").interpolate(&[]);
    let register = job(&register, "imglife-register");
    let text = script(register);
    for needle in ["$CI_COMMIT_SHA", "$CI_PROJECT_PATH", "imglife register"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert_eq!(
        register["rules"][0]["if"].as_str(),
        Some("$CI_COMMIT_TAG"),
        "register runs in tag pipelines"
    );
    let status = Component::load("status").interpolate(&[("strict", "true")]);
    let status = job(&status, "imglife-status");
    assert_eq!(
        status["rules"][0]["if"].as_str(),
        Some("$CI_PIPELINE_SOURCE == \"schedule\""),
        "status runs on a schedule"
    );
    assert_eq!(
        status["artifacts"]["paths"][0].as_str(),
        Some("imglife-status.md")
    );
    assert_eq!(status["artifacts"]["when"].as_str(), Some("always"));
    assert!(script(status).contains("--strict"));
}

#[test]
fn the_register_component_publishes_the_tag_s_record() {
    let component = Component::load("register");
    for shell in shells() {
        let sandbox = Sandbox::new(BIN);
        std::fs::create_dir(sandbox.path().join("records")).unwrap();
        // The image input left at its default: $CI_REGISTRY_IMAGE:$CI_COMMIT_TAG.
        let jobs = component.interpolate(&[
            ("base", "registry.example.com/bases/alpine:3.21.3-core1.0.0"),
            ("platforms", "linux/amd64 linux/arm64"),
            ("stage", "publish"),
        ]);
        let job = job(&jobs, "imglife-register");
        assert_eq!(job["stage"].as_str(), Some("publish"));
        let run = run_job(&sandbox, &shell, job, &gitlab_env());
        run.expect_code(0);
        assert!(run.stdout.starts_with("imglife "), "{shell:?}: {run:#?}");
        assert!(run.stdout.contains("Register"), "{shell:?}: {run:#?}");
        let path = sandbox
            .path()
            .join("records/registry.example.com+apps+myservice/1.2.0.json");
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(record["image"], "registry.example.com/apps/myservice:1.2.0");
        assert_eq!(
            record["base"],
            "registry.example.com/bases/alpine:3.21.3-core1.0.0"
        );
        assert_eq!(record["revision"], SHA);
        assert_eq!(record["project"], "myteam/myservice");
        assert_eq!(
            record["platforms"],
            serde_json::json!(["linux/amd64", "linux/arm64"])
        );
        assert_eq!(
            record["custom_fields"],
            serde_json::json!({
                "ci_pipeline_id": "4242",
                "ci_job_url": "https://gitlab.example.com/myteam/myservice/-/jobs/99"
            }),
            "{shell:?}"
        );
    }
}

#[test]
fn the_register_component_fails_the_job_when_register_fails() {
    let component = Component::load("register");
    let sandbox = Sandbox::new(BIN);
    // No store configured under CI=true: register refuses, the job fails.
    let jobs =
        component.interpolate(&[("base", "registry.example.com/bases/alpine:3.21.3-core1.0.0")]);
    let env: Vec<(&str, &str)> = gitlab_env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("IMGLIFE_"))
        .collect();
    let run = run_job(&sandbox, &["sh"], job(&jobs, "imglife-register"), &env);
    run.expect_code(1);
    assert!(run.stderr.contains("CI=true"), "{run:#?}");
}

/// Two applications on alpine, one a tag behind.
fn seed(sandbox: &Sandbox) {
    for (app, base) in [
        ("current", "registry.example.com/bases/alpine:3.21.3"),
        ("stale", "registry.example.com/bases/alpine:3.21.2"),
    ] {
        sandbox
            .run(
                [
                    "register",
                    "--image",
                    &format!("registry.example.com/apps/{app}:1.0.0"),
                    "--base",
                    base,
                    "--platform",
                    "linux/amd64",
                    "--revision",
                    "a3f8b1c",
                    "--project",
                    &format!("team/{app}"),
                ],
                &[
                    ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
                    ("IMGLIFE_REGISTRY__PATH", "records"),
                ],
            )
            .expect_code(0);
    }
}

#[test]
fn the_status_component_keeps_the_report_and_fails_only_when_strict() {
    let component = Component::load("status");
    let mut env = gitlab_env();
    env.retain(|(k, _)| *k != "CI_PIPELINE_SOURCE" && *k != "CI_COMMIT_TAG");
    env.push(("CI_PIPELINE_SOURCE", "schedule"));
    for shell in shells() {
        for strict in ["false", "true"] {
            let sandbox = Sandbox::new(BIN);
            std::fs::create_dir(sandbox.path().join("records")).unwrap();
            seed(&sandbox);
            let jobs =
                component.interpolate(&[("strict", strict), ("report", "reports/status.md")]);
            let job = job(&jobs, "imglife-status");
            std::fs::create_dir(sandbox.path().join("reports")).unwrap();
            let run = run_job(&sandbox, &shell, job, &env);
            run.expect_code(if strict == "true" { 3 } else { 0 });
            let report = std::fs::read_to_string(sandbox.path().join("reports/status.md"))
                .unwrap_or_else(|e| panic!("{shell:?} strict={strict}: no report ({e}): {run:#?}"));
            assert!(
                report.contains("registry.example.com/apps/stale"),
                "{report}"
            );
            assert!(report.contains('|'), "a Markdown table: {report}");
            assert!(
                run.stdout.contains(report.trim()),
                "the report is in the job log too: {run:#?}"
            );
            assert_eq!(
                job["artifacts"]["paths"][0].as_str(),
                Some("reports/status.md")
            );
            if strict == "true" {
                assert!(run.stderr.contains("outdated"), "{run:#?}");
            }
        }
    }
}
