//! The CI image: `scripts/ci-image` builds it (a static release binary
//! installed with `cargo install --locked --path app`, busybox as the
//! shell, the CA bundle, FROM scratch) in the suite's private Docker Engine
//! (`$IMGLIFE_TEST_DOCKER_HOST`), offline; then containers run it as a
//! GitLab job would: `imglife --version`, the register component's script
//! against the GitLab emulator, and a dry run reading base and platforms
//! from the test registry under a name only the container's /etc/hosts
//! knows.
//!
//! The suite's dockerd runs with `--bridge=none --iptables=false`, so the
//! containers share the host's network (`--network host`): the emulator and
//! the registry listen on 127.0.0.1.
//!
//! The image is built once per run (the first test to need it builds it,
//! the others wait): the release build is the slow part, a few minutes on
//! two cores from scratch and seconds when `target/` already holds it.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

#[path = "gitlab_components.rs"]
mod gitlab_components;

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use gitlab_components::{Component, job, script};
use imglife_testkit::gitlab::{Emulator, Role, Scope, Visibility};
use imglife_testkit::registry::{ImageSpec, Pusher, Registries};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const BASE: &str = "registry.example.com/bases/alpine:3.21.3-core1.0.0";
const SHA: &str = "a3f8b1c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2";
/// The image's size limit.
const MAX_BYTES: u64 = 20_000_000;

/// The docker CLI against the suite's daemon, with a private client
/// configuration.
struct Docker {
    host: String,
    config: tempfile::TempDir,
}

impl Docker {
    fn command(&self) -> Command {
        let mut command = Command::new("docker");
        command
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.config.path())
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH");
        command
    }

    fn output(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    fn stdout(&self, args: &[&str]) -> String {
        let output = self.output(args);
        assert!(
            output.status.success(),
            "docker {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

struct Built {
    docker: Docker,
    tags: Vec<String>,
    size: u64,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the image once; `None` outside a services run (a failure under
/// `scripts/test` or CI).
fn image() -> Option<&'static Built> {
    static BUILT: OnceLock<Option<Built>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let Some(host) = std::env::var("IMGLIFE_TEST_DOCKER_HOST")
                .ok()
                .filter(|h| !h.is_empty())
            else {
                assert!(
                    !imglife_testkit::in_ci(),
                    "IMGLIFE_TEST_DOCKER_HOST is not set under scripts/test or CI: the Docker \
                     daemon did not start"
                );
                eprintln!("skipping: no Docker daemon (run through scripts/test)");
                return None;
            };
            let docker = Docker {
                host,
                config: tempfile::tempdir().unwrap(),
            };
            let started = Instant::now();
            let output = Command::new(workspace().join("scripts/ci-image"))
                .env("DOCKER_HOST", &docker.host)
                .env("DOCKER_CONFIG", docker.config.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success(),
                "scripts/ci-image failed:\n{stderr}"
            );
            let stdout = String::from_utf8_lossy(&output.stdout);
            let last: Vec<&str> = stdout.lines().last().unwrap().split(' ').collect();
            let size: u64 = last[2].parse().unwrap();
            eprintln!(
                "ci-image: built in {:.0?}, {size} bytes\n{stderr}",
                started.elapsed()
            );
            Some(Built {
                docker,
                tags: last[..2].iter().map(|t| (*t).to_owned()).collect(),
                size,
            })
        })
        .as_ref()
}

macro_rules! image {
    () => {
        match image() {
            Some(built) => built,
            None => return,
        }
    };
}

#[test]
fn ci_image_is_tagged_small_and_has_no_entrypoint() {
    let built = image!();
    assert_eq!(
        built.tags,
        [format!("imglife:{VERSION}"), "imglife:latest".to_owned()]
    );
    assert!(
        built.size < MAX_BYTES,
        "the image is {} bytes, over {MAX_BYTES}",
        built.size
    );
    let docker = &built.docker;
    let inspect = |format: &str| {
        docker
            .stdout(&["image", "inspect", "--format", format, "imglife:latest"])
            .trim()
            .to_owned()
    };
    assert_eq!(inspect("{{json .Config.Entrypoint}}"), "null");
    assert_eq!(inspect("{{json .Config.Cmd}}"), r#"["imglife","--help"]"#);
    assert_eq!(
        inspect("{{index .Config.Labels \"org.opencontainers.image.version\"}}"),
        VERSION
    );
    assert_eq!(
        inspect("{{.Id}}"),
        docker
            .stdout(&[
                "image",
                "inspect",
                "--format",
                "{{.Id}}",
                &format!("imglife:{VERSION}")
            ])
            .trim(),
        "both tags name one image"
    );
}

#[test]
fn ci_image_runs_imglife_and_the_shell_a_job_needs() {
    let built = image!();
    let docker = &built.docker;
    let version = docker.stdout(&[
        "run",
        "--rm",
        "--network",
        "host",
        "imglife:latest",
        "imglife",
        "--version",
    ]);
    assert!(
        version.starts_with(&format!("imglife {VERSION} (")),
        "{version}"
    );
    // What GitLab's runner does in a job container: sh -c with ordinary
    // commands; the binary is static and TLS roots are there.
    let out = docker.stdout(&[
        "run",
        "--rm",
        "--network",
        "host",
        "imglife:latest",
        "sh",
        "-c",
        "set -e; command -v imglife; [ -s /etc/ssl/certs/ca-certificates.crt ]; \
         echo ok | grep -q ok; mkdir -p /tmp/a && cd /tmp/a && printf 'x' > f && cat f; \
         test \"$(id -u)\" = 0; env | grep -q '^PATH='",
    ]);
    assert_eq!(out, "/usr/local/bin/imglife\nx");
}

#[test]
fn ci_image_runs_the_register_component_against_the_gitlab_emulator() {
    let built = image!();
    let gitlab = Emulator::start();
    gitlab.add_project(7, "platform/base-images", Visibility::Private);
    gitlab.add_user("developer");
    gitlab.add_member(7, "developer", Role::Developer);
    gitlab.add_personal_token("glpat-unused", "developer", Scope::Api);
    gitlab.add_job_token("job-token-ci", "developer");

    let component = Component::load("register");
    let jobs = component.interpolate(&[("base", BASE), ("platforms", "linux/amd64 linux/arm64")]);
    let job = job(&jobs, "imglife-register");
    // As inside GitLab CI: the instance from CI_SERVER_URL, the job token.
    let server = gitlab.url();
    let env = [
        "CI=true".to_owned(),
        "GITLAB_CI=true".to_owned(),
        format!("CI_SERVER_URL={server}"),
        "CI_JOB_TOKEN=job-token-ci".to_owned(),
        format!("CI_COMMIT_SHA={SHA}"),
        "CI_COMMIT_TAG=1.2.0".to_owned(),
        "CI_PROJECT_PATH=myteam/myservice".to_owned(),
        "CI_REGISTRY_IMAGE=registry.example.com/apps/myservice".to_owned(),
        "CI_PIPELINE_ID=4242".to_owned(),
        "CI_JOB_URL=https://gitlab.example.com/myteam/myservice/-/jobs/99".to_owned(),
        "IMGLIFE_REGISTRY__PROVIDER=gitlab".to_owned(),
        "IMGLIFE_REGISTRY__PROJECT_ID=7".to_owned(),
        "IMGLIFE_CONFIG=".to_owned(),
        "NO_COLOR=1".to_owned(),
    ];
    let mut args = vec!["run", "--rm", "--network", "host"];
    for e in &env {
        args.extend(["-e", e.as_str()]);
    }
    let text = script(job);
    args.extend(["imglife:latest", "sh", "-e", "-c", text.as_str()]);
    let output = built.docker.output(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Stored     GitLab project 7 "), "{stdout}");

    let files = gitlab.package_files(7, "registry.example.com+apps+myservice", "1.2.0");
    assert_eq!(files.len(), 1, "one record published");
    let record: serde_json::Value = serde_json::from_slice(&files[0].bytes).unwrap();
    assert_eq!(record["image"], "registry.example.com/apps/myservice:1.2.0");
    assert_eq!(record["base"], BASE);
    assert_eq!(record["revision"], SHA);
    assert_eq!(record["custom_fields"]["ci_pipeline_id"], "4242");
    let put = gitlab
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.header("job-token"), Some("job-token-ci"));
}

#[test]
fn ci_image_reads_base_and_platforms_from_a_registry_named_in_etc_hosts_only() {
    let built = image!();
    let Some(registries) = Registries::from_env() else {
        return;
    };
    let pusher = Pusher::new(&registries.open, "ci-image/app");
    let pushed = pusher.image(
        &ImageSpec {
            platform: "linux/amd64",
            labels: &[
                ("org.opencontainers.image.base.name", BASE),
                ("imglife.platforms", "linux/amd64 linux/arm64/v8"),
            ],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    // A name the host cannot resolve: only --add-host puts it in the
    // container's /etc/hosts.
    let name = "imglife-ci-image.test";
    assert!(
        (name, 80).to_socket_addrs().is_err(),
        "{name} must not resolve on the host"
    );
    let port = registries.open.rsplit(':').next().unwrap();
    let registry = format!("{name}:{port}");
    let image = format!("{registry}/ci-image/app:v1");
    let add_host = format!("{name}:127.0.0.1");
    let insecure = format!("IMGLIFE_REGISTRY__INSECURE_REGISTRIES=[{registry}]");
    let output = built.docker.output(&[
        "run",
        "--rm",
        "--network",
        "host",
        "--add-host",
        &add_host,
        "-e",
        &insecure,
        "imglife:latest",
        "imglife",
        "register",
        "--dry-run",
        "--output",
        "json",
        "--source",
        "registry",
        "--image",
        &image,
        "--revision",
        "a3f8b1c",
        "--project",
        "team/app",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(record["image"], image.as_str());
    assert_eq!(record["base"], BASE);
    assert_eq!(
        record["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64/v8"])
    );
    assert_eq!(record["image_digest"], pushed.digest.as_str());
}
