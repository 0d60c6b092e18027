//! `imglife register` reading labels from a real Docker Engine (Debian's
//! docker.io, started by scripts/services.sh on its own socket), the
//! `--source` rule that chooses between the registry and the daemon, and
//! which daemon-side digests are recorded (only those the registry
//! confirms). TLS and docker contexts: `docker_tls.rs`.

use imglife_testkit::docker::{Docker, manifest_size};
use imglife_testkit::registry::{Pushed, Pusher};
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
fn docker_labels_give_base_and_platforms() {
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
fn docker_platform_comes_from_the_image_without_a_label() {
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
fn docker_pushed_image_records_its_registry_digest() {
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
    assert_eq!(
        from_daemon["image_digest"],
        digest.as_str(),
        "the registry confirms the daemon's digest"
    );
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
fn docker_answers_auto_for_an_image_the_registry_lacks() {
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
fn docker_daemon_down_image_absent_and_both_sources_failing() {
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
fn docker_is_not_asked_when_flags_say_everything() {
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

#[test]
fn docker_never_pushed_image_records_no_digest_and_says_so() {
    let docker = docker!();
    // Named for the test registry, but never pushed there.
    let image = format!("{}/apps/{}:1.0", registry(), unique("unpushed"));
    docker.build(
        &image,
        &[
            ("org.opencontainers.image.base.name", BASE),
            ("imglife.platforms", "linux/amd64"),
        ],
    );
    let sandbox = Sandbox::new(BIN);
    let run = register(
        &sandbox,
        docker.host(),
        &image,
        &["--source", "docker", "--log-level", "info"],
    );
    let got = record(&run);
    assert!(got.get("image_digest").is_none(), "{got}");
    assert!(
        run.stderr.contains("image_digest left out")
            && run.stderr.contains("never pushed or pulled"),
        "said at info level: {}",
        run.stderr
    );
    // Not a word at the default level.
    let quiet = register(&sandbox, docker.host(), &image, &["--source", "docker"]);
    record(&quiet);
    assert_eq!(quiet.stderr, "");
}

/// A digest the daemon holds that the registry no longer serves for the
/// tag (as podman's local digests, or a tag pushed again from elsewhere)
/// is not recorded.
#[test]
fn docker_digest_the_registry_does_not_confirm_is_left_out() {
    let docker = docker!();
    let image = format!("{}/apps/{}:1.0", registry(), unique("moved"));
    docker.build(&image, &[("org.opencontainers.image.base.name", BASE)]);
    let first = docker.push(&image);
    let first_id = docker.image_id(&image);
    // The tag is pushed again with another image...
    docker.build(
        &image,
        &[
            ("org.opencontainers.image.base.name", BASE),
            ("rebuilt", "yes"),
        ],
    );
    let second = docker.push(&image);
    assert_ne!(first, second);
    // ...while the daemon's tag points at the first one again.
    docker.tag(&first_id, &image);
    let repository = image.rsplit_once(':').map(|(r, _)| r).expect("a tag");
    assert!(
        docker
            .repo_digests(&image)
            .contains(&format!("{repository}@{first}"))
    );

    let sandbox = Sandbox::new(BIN);
    let run = register(
        &sandbox,
        docker.host(),
        &image,
        &[
            "--source",
            "docker",
            "--platform",
            "linux/amd64",
            "--log-level",
            "info",
        ],
    );
    let got = record(&run);
    assert_eq!(got["base"], BASE);
    assert!(got.get("image_digest").is_none(), "{got}");
    assert!(
        run.stderr.contains("image_digest left out") && run.stderr.contains(&second),
        "the registry's digest is named: {}",
        run.stderr
    );
}

/// A pulled multi-platform image: the daemon holds one platform, its
/// RepoDigests name the index. The record gets the index digest with the
/// index's platforms, never the index digest with only the pulled one.
#[test]
fn docker_pulled_index_records_the_index_platforms() {
    let docker = docker!();
    let registry = registry();
    let name = format!("apps/{}", unique("multi"));
    let repository = format!("{registry}/{name}");
    let mut entries = Vec::new();
    for platform in ["linux/amd64", "linux/arm64"] {
        let arch = platform.rsplit('/').next().expect("an arch");
        let tag = format!("{repository}:{arch}");
        // No imglife.platforms label: the platforms must come from the index.
        docker.build(&tag, &[("org.opencontainers.image.base.name", BASE)]);
        let digest = docker.push(&tag);
        let pushed = Pushed {
            media_type: "application/vnd.docker.distribution.manifest.v2+json".to_owned(),
            size: manifest_size(&registry, &name, &digest),
            digest,
        };
        entries.push(pushed.entry(platform));
    }
    let index = Pusher::new(&registry, &name).index(true, &entries, &[], "1.0");
    let image = format!("{repository}:1.0");
    docker.pull(&image);
    assert!(
        docker
            .repo_digests(&image)
            .contains(&format!("{repository}@{}", index.digest)),
        "the daemon names the index"
    );

    let sandbox = Sandbox::new(BIN);
    let got = record(&register(
        &sandbox,
        docker.host(),
        &image,
        &["--source", "docker"],
    ));
    assert_eq!(got["image_digest"], index.digest.as_str());
    assert_eq!(
        got["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );

    // The single-platform tag of the same image: its own manifest digest
    // and its own platform.
    let amd64 = format!("{repository}:amd64");
    let got = record(&register(
        &sandbox,
        docker.host(),
        &amd64,
        &["--source", "docker"],
    ));
    assert_ne!(got["image_digest"], index.digest.as_str());
    assert!(
        got["image_digest"]
            .as_str()
            .expect("a digest")
            .starts_with("sha256:")
    );
    assert_eq!(got["platforms"], serde_json::json!(["linux/amd64"]));
}
