//! `imglife register` reading labels from a Docker daemon over mutual TLS,
//! as in GitLab's Docker-in-Docker (`DOCKER_HOST=tcp://docker:2376`,
//! `DOCKER_TLS_VERIFY=1`, `DOCKER_CERT_PATH=/certs/client`), and through
//! docker contexts. The daemon is the suite's own (scripts/services.sh),
//! listening with `--tlsverify` on a loopback port besides its socket.

use std::path::Path;

use imglife_testkit::docker::{Docker, TlsDaemon};
use imglife_testkit::registry::sha256;
use imglife_testkit::{Run, Sandbox};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const BASE: &str = "registry.example.com/bases/alpine:3.21";

/// The daemon and its TLS listener, or return (skip) outside a services
/// run; under CI or scripts/test their absence fails the test.
macro_rules! daemon {
    () => {
        match Docker::from_env().and_then(|d| d.tls().map(|t| (d, t))) {
            Some(both) => both,
            None => return,
        }
    };
}

/// An image built FROM scratch with the labels register reads.
fn image(docker: &Docker, name: &str) -> String {
    let image = format!("imglife-test/{name}-{}:1.0", std::process::id());
    docker.build(
        &image,
        &[
            ("org.opencontainers.image.base.name", BASE),
            ("imglife.platforms", "linux/amd64 linux/arm64"),
        ],
    );
    image
}

/// `register --source docker` with the text summary, in `sandbox` with
/// only `env` set (no DOCKER_HOST unless given).
fn register(sandbox: &Sandbox, image: &str, env: &[(&str, &str)], output: &str) -> Run {
    let mut all = vec![
        ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
        ("IMGLIFE_REGISTRY__PATH", "records"),
    ];
    all.extend_from_slice(env);
    sandbox.run(
        [
            "register",
            "--image",
            image,
            "--revision",
            "a3f8b1c",
            "--project",
            "team/app",
            "--source",
            "docker",
            "--output",
            output,
        ],
        &all,
    )
}

fn record(run: &Run) -> Value {
    run.expect_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

/// One `error:` line, nothing on stdout, no key material anywhere.
#[track_caller]
fn refused(run: &Run, tls: &TlsDaemon) -> String {
    run.expect_code(1);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    let key = std::fs::read_to_string(tls.cert_path.join("key.pem")).expect("key.pem");
    let body = key.lines().nth(1).expect("a PEM body line");
    assert!(
        !run.stderr.contains("PRIVATE KEY") && !run.stderr.contains(body),
        "{}",
        run.stderr
    );
    run.stderr.clone()
}

#[test]
fn docker_tls_reads_labels_over_mutual_tls() {
    let (docker, tls) = daemon!();
    let image = image(&docker, "tls");
    let sandbox = Sandbox::new(BIN);
    let cert_path = tls.cert_path.display().to_string();
    let env = [
        ("DOCKER_HOST", tls.host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", cert_path.as_str()),
    ];
    let got = record(&register(&sandbox, &image, &env, "json"));
    assert_eq!(got["base"], BASE);
    assert_eq!(
        got["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert!(got.get("image_digest").is_none(), "never pushed: no digest");

    let text = register(&sandbox, &image, &env, "text");
    text.expect_code(0);
    assert!(
        text.stdout
            .contains(&format!("Source     docker daemon {} (TLS)", tls.host)),
        "{}",
        text.stdout
    );
}

#[test]
fn docker_tls_default_cert_path_is_the_docker_config_dir() {
    let (docker, tls) = daemon!();
    let image = image(&docker, "tls-default-dir");
    let sandbox = Sandbox::new(BIN);
    // No DOCKER_CERT_PATH: ~/.docker (HOME is the sandbox).
    tls.copy_certs(&sandbox.path().join(".docker"), None);
    let env = [
        ("DOCKER_HOST", tls.host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
    ];
    assert_eq!(
        record(&register(&sandbox, &image, &env, "json"))["base"],
        BASE
    );
}

#[test]
fn docker_tls_with_another_ca_is_refused() {
    let (docker, tls) = daemon!();
    let image = image(&docker, "tls-wrong-ca");
    let sandbox = Sandbox::new(BIN);
    let wrong = sandbox.path().join("wrong-ca");
    tls.copy_certs(&wrong, Some(&tls.other_ca));
    let wrong_text = wrong.display().to_string();
    let run = register(
        &sandbox,
        &image,
        &[
            ("DOCKER_HOST", tls.host.as_str()),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", wrong_text.as_str()),
        ],
        "json",
    );
    let error = refused(&run, &tls);
    assert!(
        error.contains(&format!(
            "cannot reach the Docker daemon at DOCKER_HOST={}",
            tls.host
        )),
        "{error}"
    );
    assert!(
        error.contains(&format!(
            "the daemon's certificate is not signed by the CA in {wrong_text}/ca.pem"
        )),
        "{error}"
    );
    assert!(!sandbox.path().join("records").exists(), "nothing written");
}

#[test]
fn docker_tls_port_without_tls_settings_says_what_to_set() {
    let (docker, tls) = daemon!();
    let image = image(&docker, "tls-plain");
    let sandbox = Sandbox::new(BIN);
    let run = register(
        &sandbox,
        &image,
        &[("DOCKER_HOST", tls.host.as_str())],
        "json",
    );
    let error = refused(&run, &tls);
    assert!(error.contains("it answers only over TLS"), "{error}");
    assert!(
        error.contains("set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH"),
        "{error}"
    );

    // DOCKER_CERT_PATH alone does not turn TLS on (as with the docker CLI),
    // and the message says so.
    let cert_path = tls.cert_path.display().to_string();
    let run = register(
        &sandbox,
        &image,
        &[
            ("DOCKER_HOST", tls.host.as_str()),
            ("DOCKER_CERT_PATH", cert_path.as_str()),
        ],
        "json",
    );
    let error = refused(&run, &tls);
    assert!(
        error.contains("DOCKER_CERT_PATH alone does not turn TLS on"),
        "{error}"
    );
}

#[test]
fn docker_tls_missing_or_broken_files_are_named() {
    let (docker, tls) = daemon!();
    let image = image(&docker, "tls-files");
    let sandbox = Sandbox::new(BIN);
    let empty = sandbox.path().join("certs/client");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let empty_text = empty.display().to_string();
    let env = [
        ("DOCKER_HOST", tls.host.as_str()),
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_CERT_PATH", empty_text.as_str()),
    ];
    let error = refused(&register(&sandbox, &image, &env, "json"), &tls);
    assert!(
        error.starts_with(&format!(
            "error: DOCKER_CERT_PATH={empty_text}: ca.pem cannot be read: no such file"
        )),
        "{error}"
    );

    // The certificate where the key belongs.
    tls.copy_certs(&empty, None);
    std::fs::copy(tls.cert_path.join("cert.pem"), empty.join("key.pem")).expect("copy");
    let error = refused(&register(&sandbox, &image, &env, "json"), &tls);
    assert!(
        error.starts_with(&format!(
            "error: DOCKER_CERT_PATH={empty_text}: key.pem holds no PEM private key"
        )),
        "{error}"
    );
}

/// `$config/contexts/meta/<id>/meta.json` and `contexts/tls/<id>/docker/`
/// written by hand, as the docker CLI lays them out.
fn write_context(config: &Path, name: &str, host: &str, tls: Option<&TlsDaemon>) {
    let id = sha256(name.as_bytes());
    let id = id.strip_prefix("sha256:").expect("sha256:");
    let meta = config.join("contexts/meta").join(id);
    std::fs::create_dir_all(&meta).expect("mkdir");
    std::fs::write(
        meta.join("meta.json"),
        format!(
            r#"{{"Name":"{name}","Metadata":{{"Description":"imglife test"}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
        ),
    )
    .expect("write");
    if let Some(tls) = tls {
        tls.copy_certs(&config.join("contexts/tls").join(id).join("docker"), None);
    }
}

fn write_current(config: &Path, name: &str) {
    std::fs::create_dir_all(config).expect("mkdir");
    std::fs::write(
        config.join("config.json"),
        format!(r#"{{"auths":{{}},"currentContext":"{name}"}}"#),
    )
    .expect("write");
}

#[test]
fn docker_context_current_in_config_json_reaches_the_tls_daemon() {
    let (docker, tls) = daemon!();
    let image = image(&docker, "context");
    let sandbox = Sandbox::new(BIN);
    let config = sandbox.path().join("docker-config");
    write_context(&config, "imglife-ci", &tls.host, Some(&tls));
    write_current(&config, "imglife-ci");
    let config_text = config.display().to_string();
    let env = [("DOCKER_CONFIG", config_text.as_str())];

    let got = record(&register(&sandbox, &image, &env, "json"));
    assert_eq!(got["base"], BASE);
    let text = register(&sandbox, &image, &env, "text");
    text.expect_code(0);
    assert!(
        text.stdout.contains(&format!(
            "Source     docker daemon {} (docker context \"imglife-ci\", TLS)",
            tls.host
        )),
        "{}",
        text.stdout
    );

    // The TLS variables do not apply to a named context: its own files do.
    let run = register(
        &sandbox,
        &image,
        &[
            ("DOCKER_CONFIG", config_text.as_str()),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/nonexistent"),
        ],
        "json",
    );
    assert_eq!(record(&run)["base"], BASE);
}

#[test]
fn docker_context_precedence_and_missing_contexts() {
    let (docker, tls) = daemon!();
    let image = image(&docker, "context-choice");
    let sandbox = Sandbox::new(BIN);
    // The default configuration directory, ~/.docker (HOME is the sandbox).
    let config = sandbox.path().join(".docker");
    write_context(&config, "imglife-ci", &tls.host, Some(&tls));
    write_current(&config, "gone");

    // currentContext names a context that does not exist.
    let error = refused(&register(&sandbox, &image, &[], "json"), &tls);
    assert!(
        error.starts_with(&format!(
            "error: docker context \"gone\" (currentContext of {}) does not exist",
            config.join("config.json").display()
        )),
        "{error}"
    );

    // DOCKER_CONTEXT comes before currentContext.
    let ok = register(
        &sandbox,
        &image,
        &[("DOCKER_CONTEXT", "imglife-ci")],
        "text",
    );
    ok.expect_code(0);
    assert!(
        ok.stdout.contains("(docker context \"imglife-ci\", TLS)"),
        "{}",
        ok.stdout
    );

    // DOCKER_CONTEXT naming a missing context.
    let error = refused(
        &register(&sandbox, &image, &[("DOCKER_CONTEXT", "nope")], "json"),
        &tls,
    );
    assert!(
        error.starts_with("error: docker context \"nope\" (DOCKER_CONTEXT) does not exist: "),
        "{error}"
    );

    // DOCKER_HOST comes before any context.
    let run = register(
        &sandbox,
        &image,
        &[("DOCKER_CONTEXT", "nope"), ("DOCKER_HOST", docker.host())],
        "text",
    );
    run.expect_code(0);
    assert!(
        run.stdout
            .contains(&format!("Source     docker daemon {}\n", docker.host())),
        "{}",
        run.stdout
    );

    // The context "default" is the default socket, not a stored context.
    let run = register(&sandbox, &image, &[("DOCKER_CONTEXT", "default")], "json");
    let error = refused(&run, &tls);
    assert!(
        error.contains("unix:///var/run/docker.sock (DOCKER_HOST is unset)"),
        "{error}"
    );
}

#[test]
fn docker_context_made_by_the_docker_cli_is_read() {
    let (docker, tls) = daemon!();
    let image = image(&docker, "context-cli");
    let sandbox = Sandbox::new(BIN);
    let config = sandbox.path().join("cli-config");
    docker.create_context(&config, "made-by-docker", &tls.host, &tls.cert_path);
    let config_text = config.display().to_string();
    let run = register(
        &sandbox,
        &image,
        &[("DOCKER_CONFIG", config_text.as_str())],
        "text",
    );
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("(docker context \"made-by-docker\", TLS)"),
        "{}",
        run.stdout
    );
}
