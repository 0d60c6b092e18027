//! `--source auto` never falls back silently: when the registry refuses
//! access and the local Docker daemon answers instead, the summary's
//! `Source` line says the registry refused and with which credentials
//! (their source, never their values), and with `--output json` (stdout is
//! the record alone) a `warning:` line on stderr says the same.

use imglife_testkit::Sandbox;
use imglife_testkit::docker::Docker;
use imglife_testkit::registry::Registries;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const BASE: &str = "registry.example.com/bases/alpine:3.21";

fn register(sandbox: &Sandbox, docker: &Docker, image: &str, output: &str) -> imglife_testkit::Run {
    sandbox.run(
        [
            "register",
            "--image",
            image,
            "--revision",
            "a3f8b1c",
            "--project",
            "team/app",
            "--dry-run",
            "--output",
            output,
        ],
        &[
            ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
            ("IMGLIFE_REGISTRY__PATH", "records"),
            ("DOCKER_HOST", docker.host()),
        ],
    )
}

#[test]
fn a_refused_registry_is_named_when_the_daemon_answers() {
    let (Some(registries), Some(docker)) = (Registries::from_env(), Docker::from_env()) else {
        return;
    };
    // The image exists in the daemon under the name of the registry that
    // wants credentials; none are configured, so it refuses.
    let image = format!(
        "{}/apps/fallback-{}:1.0",
        registries.basic,
        std::process::id()
    );
    docker.build(&image, &[("org.opencontainers.image.base.name", BASE)]);
    let sandbox = Sandbox::new(BIN);

    let text = register(&sandbox, &docker, &image, "text");
    text.expect_code(0);
    let source = text
        .stdout
        .lines()
        .find(|l| l.starts_with("Source"))
        .unwrap_or_else(|| panic!("no Source line: {}", text.stdout));
    assert!(source.contains("docker daemon"), "{source}");
    assert!(
        source.contains(&format!("registry {}", registries.basic)) && source.contains("refused"),
        "the Source line says the registry refused: {source}"
    );
    assert!(
        source.contains("anonymous"),
        "and which credentials were tried: {source}"
    );

    let json = register(&sandbox, &docker, &image, "json");
    json.expect_code(0);
    let record: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {json:?}"));
    assert_eq!(record["base"], BASE, "stdout is the record alone");
    let warnings: Vec<&str> = json
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", json.stderr);
    assert!(
        warnings[0].contains("refused") && warnings[0].contains("anonymous"),
        "{}",
        warnings[0]
    );
}
