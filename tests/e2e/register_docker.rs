//! `imglife register` reading labels from a real Docker Engine (Debian's
//! docker.io, started by scripts/services.sh on its own socket), and the
//! `--source` rule that chooses between the registry and the daemon.

use imglife_testkit::docker::Docker;
use imglife_testkit::{Run, Sandbox};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const BASE: &str = "registry.example.com/bases/alpine:3.21";

macro_rules! docker {
    () => {
        match Docker::from_env() {
            Some(d) => d,
            None => return,
        }
    };
}

fn registry() -> String {
    std::env::var("IMGLIFE_TEST_REGISTRY").unwrap_or_else(|_| {
        assert!(
            !imglife_testkit::in_ci(),
            "CI=true but IMGLIFE_TEST_REGISTRY is not set"
        );
        "127.0.0.1:1".to_owned()
    })
}

fn register(sandbox: &Sandbox, docker_host: &str, image: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "register",
        "--image",
        image,
        "--revision",
        "a3f8b1c",
        "--project",
        "team/app",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    sandbox.run(
        &args,
        &[
            ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
            ("IMGLIFE_REGISTRY__PATH", "records"),
            ("DOCKER_HOST", docker_host),
        ],
    )
}

/// `register` with the text summary, to read its `Source` line.
fn summary(sandbox: &Sandbox, docker_host: &str, image: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "register",
        "--image",
        image,
        "--revision",
        "a",
        "--project",
        "t/a",
    ];
    args.extend_from_slice(extra);
    let run = sandbox.run(
        &args,
        &[
            ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
            ("DOCKER_HOST", docker_host),
        ],
    );
    run.expect_code(0);
    run
}

fn record(run: &Run) -> Value {
    run.expect_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

fn unique(name: &str) -> String {
    // Tests share one daemon: keep their images apart.
    format!("{name}-{}", std::process::id())
}

#[test]
fn labels_give_base_and_platforms() {
    let docker = docker!();
    let image = format!("imglife-test/{}:1.0", unique("labels"));
    docker.build(
        &image,
        &[
            ("org.opencontainers.image.base.name", BASE),
            ("imglife.platforms", "linux/amd64 linux/arm64"),
        ],
    );
    let sandbox = Sandbox::new(BIN);
    let run = register(&sandbox, docker.host(), &image, &["--source", "docker"]);
    let got = record(&run);
    assert_eq!(got["base"], BASE);
    assert_eq!(
        got["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(got["image"], format!("docker.io/{image}"));
    assert!(got.get("image_digest").is_none(), "never pushed: no digest");

    let text = summary(&sandbox, docker.host(), &image, &["--source", "docker"]);
    assert!(
        text.stdout
            .contains(&format!("Source     docker daemon {}", docker.host())),
        "{}",
        text.stdout
    );
}

#[test]
fn platform_comes_from_the_image_without_a_label() {
    let docker = docker!();
    let image = format!("imglife-test/{}:1.0", unique("nolabel"));
    docker.build(&image, &[("BASE_IMAGE_REF", BASE)]);
    let sandbox = Sandbox::new(BIN);
    let got = record(&register(
        &sandbox,
        docker.host(),
        &image,
        &["--source", "docker"],
    ));
    assert_eq!(got["base"], BASE, "the legacy label is read");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(
        got["platforms"],
        serde_json::json!([format!("linux/{arch}")])
    );
}

#[test]
fn pushed_image_records_its_registry_digest() {
    let docker = docker!();
    let image = format!("{}/apps/{}:2.0", registry(), unique("pushed"));
    docker.build(
        &image,
        &[
            ("org.opencontainers.image.base.name", BASE),
            ("imglife.platforms", "linux/amd64"),
        ],
    );
    let digest = docker.push(&image);
    let sandbox = Sandbox::new(BIN);
    let from_daemon = record(&register(
        &sandbox,
        docker.host(),
        &image,
        &["--source", "docker"],
    ));
    assert_eq!(from_daemon["image_digest"], digest.as_str());
    // The registry, asked about the same image, agrees.
    let from_registry = record(&register(
        &sandbox,
        docker.host(),
        &image,
        &["--source", "registry"],
    ));
    assert_eq!(from_registry["image_digest"], digest.as_str());
    assert_eq!(from_registry["base"], from_daemon["base"]);
}

#[test]
fn auto_falls_back_to_the_daemon_for_an_image_the_registry_lacks() {
    let docker = docker!();
    let image = format!("{}/apps/{}:3.0", registry(), unique("local-only"));
    docker.build(
        &image,
        &[
            ("org.opencontainers.image.base.name", BASE),
            ("imglife.platforms", "linux/arm64"),
        ],
    );
    let sandbox = Sandbox::new(BIN);
    let got = record(&register(&sandbox, docker.host(), &image, &[]));
    assert_eq!(got["platforms"], serde_json::json!(["linux/arm64"]));

    let text = summary(&sandbox, docker.host(), &image, &[]);
    assert!(
        text.stdout.contains("Source     docker daemon"),
        "the summary names who answered: {}",
        text.stdout
    );

    // Pushed: the registry answers, and the daemon is not needed.
    docker.push(&image);
    let text = summary(&sandbox, "unix:///nonexistent/docker.sock", &image, &[]);
    assert!(
        text.stdout.contains("Source     registry"),
        "{}",
        text.stdout
    );
    // Nor does a DOCKER_HOST imglife cannot use stand in the way.
    let text = summary(&sandbox, "ssh://me@host", &image, &[]);
    assert!(
        text.stdout.contains("Source     registry"),
        "{}",
        text.stdout
    );
}

#[test]
fn daemon_down_image_absent_and_both_sources_failing() {
    let docker = docker!();
    let sandbox = Sandbox::new(BIN);
    let absent = format!("imglife-test/{}:9", unique("absent"));

    let down = register(
        &sandbox,
        "unix:///nonexistent/docker.sock",
        &absent,
        &["--source", "docker"],
    );
    down.expect_code(1);
    assert!(
        down.stderr
            .contains("DOCKER_HOST=unix:///nonexistent/docker.sock"),
        "{}",
        down.stderr
    );
    assert!(
        down.stderr.contains("cannot reach the Docker daemon"),
        "{}",
        down.stderr
    );

    let missing = register(&sandbox, docker.host(), &absent, &["--source", "docker"]);
    missing.expect_code(1);
    assert!(
        missing.stderr.contains("not present in the Docker daemon"),
        "{}",
        missing.stderr
    );

    let unknown = format!("{}/apps/{}:1", registry(), unique("nowhere"));
    let both = register(&sandbox, docker.host(), &unknown, &[]);
    both.expect_code(1);
    assert!(
        both.stderr.contains("registry") && both.stderr.contains("docker daemon"),
        "both attempts named: {}",
        both.stderr
    );
    assert!(
        both.stderr.contains("not present in the Docker daemon"),
        "{}",
        both.stderr
    );

    let bad_host = register(&sandbox, "ssh://me@host", &absent, &["--source", "docker"]);
    bad_host.expect_code(1);
    assert!(
        bad_host.stderr.contains("DOCKER_HOST=ssh://me@host"),
        "{}",
        bad_host.stderr
    );

    for run in [&down, &missing, &both, &bad_host] {
        assert_eq!(run.stdout, "");
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
    assert!(sandbox.files().is_empty(), "nothing written");
}

#[test]
fn no_source_is_asked_when_flags_say_everything() {
    let sandbox = Sandbox::new(BIN);
    let run = register(
        &sandbox,
        "unix:///nonexistent/docker.sock",
        "127.0.0.1:1/apps/x:1",
        &[
            "--source",
            "docker",
            "--base",
            BASE,
            "--platform",
            "linux/amd64",
        ],
    );
    assert_eq!(record(&run)["base"], BASE);
}
