//! `imglife register` reading base and platforms from the image in a real
//! registry (Debian's docker-registry, started by scripts/services.sh).
//! Every test pushes its own fixtures, byte for byte.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use imglife_testkit::registry::{
    CountingProxy, ImageSpec, PASSWORD, Pusher, Registries, TokenIssuer, USER, ensure_token_server,
};
use imglife_testkit::{Run, Sandbox};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
const PLATFORMS: &str = "imglife.platforms";
const ALPINE: &str = "registry.example.com/bases/alpine:3.21";
const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// The registries, or return from the test (only allowed outside CI).
macro_rules! registries {
    () => {
        match Registries::from_env() {
            Some(r) => r,
            None => return,
        }
    };
}

/// `register` of `image` with no --base/--platform unless in `extra`,
/// JSON output, into the sandbox's filesystem store.
fn register(sandbox: &Sandbox, image: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec![
        "register",
        "--image",
        image,
        "--revision",
        "a3f8b1c",
        "--project",
        "team/app",
    ];
    args.extend_from_slice(extra);
    let mut all_env = vec![
        ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
        ("IMGLIFE_REGISTRY__PATH", "records"),
    ];
    all_env.extend_from_slice(env);
    sandbox.run(&args, &all_env)
}

fn record(run: &Run) -> Value {
    run.expect_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

/// Runs and checks a failure: exit 1, one `error:` line naming every
/// `culprit`, nothing on stdout, nothing written.
fn fails(sandbox: &Sandbox, image: &str, env: &[(&str, &str)], culprit: &[&str]) -> String {
    let before: BTreeMap<PathBuf, Vec<u8>> = sandbox.files();
    let run = register(sandbox, image, &["--output", "json"], env);
    run.expect_code(1);
    assert_eq!(run.stdout, "", "nothing on stdout: {run:#?}");
    assert!(run.stderr.starts_with("error: "), "{run:#?}");
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "one line: {run:#?}"
    );
    for c in culprit {
        assert!(run.stderr.contains(c), "stderr names {c:?}: {run:#?}");
    }
    assert_eq!(sandbox.files(), before, "nothing written");
    run.stderr
}

fn platforms(record: &Value) -> Vec<&str> {
    record["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

#[test]
fn oci_image_annotations_answer_without_fetching_the_config() {
    let r = registries!();
    let pusher = Pusher::new(&r.open, "e2e/oci-annotations");
    let pushed = pusher.image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[
                (BASE_NAME, "alpine:3.21"),
                (BASE_DIGEST, DIGEST_A),
                (PLATFORMS, "linux/amd64 linux/arm64"),
            ],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let proxy = CountingProxy::start(&r.open);
    let sandbox = Sandbox::new(BIN);
    let image = format!("{}/e2e/oci-annotations:v1", proxy.addr);
    let rec = record(&register(&sandbox, &image, &["--output", "json"], &[]));
    assert_eq!(rec["base"], "docker.io/library/alpine:3.21");
    assert_eq!(rec["base_digest"], DIGEST_A);
    assert_eq!(platforms(&rec), ["linux/amd64", "linux/arm64"]);
    assert_eq!(rec["image_digest"], pushed.digest.as_str());
    // Anonymous registry: no ping, no config blob, just the manifest.
    let all = proxy.requests();
    assert_eq!(all.len(), 1, "one request, the manifest: {all:?}");
    assert!(
        all.iter().all(|r| !r.contains("/blobs/")),
        "the config blob is not fetched: {all:?}"
    );

    // The summary names the source.
    let text = register(&sandbox, &image, &[], &[]);
    text.expect_code(0);
    assert!(
        text.stdout
            .contains(&format!("Source     registry {}\n", proxy.addr)),
        "{}",
        text.stdout
    );
}

#[test]
fn docker_v2_image_config_labels() {
    let r = registries!();
    let pusher = Pusher::new(&r.open, "e2e/docker-labels");
    let pushed = pusher.image(
        &ImageSpec {
            docker: true,
            platform: "linux/arm64/v8",
            labels: &[
                (BASE_NAME, ALPINE),
                (PLATFORMS, "linux/amd64,linux/arm64/v8"),
            ],
            ..ImageSpec::default()
        },
        Some("2.0"),
    );
    let proxy = CountingProxy::start(&r.open);
    let sandbox = Sandbox::new(BIN);
    let image = format!("{}/e2e/docker-labels:2.0", proxy.addr);
    let rec = record(&register(&sandbox, &image, &["--output", "json"], &[]));
    assert_eq!(rec["base"], ALPINE);
    assert!(rec.get("base_digest").is_none(), "{rec}");
    assert_eq!(platforms(&rec), ["linux/amd64", "linux/arm64/v8"]);
    assert_eq!(rec["image_digest"], pushed.digest.as_str());
    let all = proxy.requests();
    assert_eq!(all.len(), 2, "manifest and config: {all:?}");
}

#[test]
fn legacy_label_and_config_platform_as_last_resorts() {
    let r = registries!();
    Pusher::new(&r.open, "e2e/legacy").image(
        &ImageSpec {
            docker: true,
            platform: "linux/arm/v7",
            labels: &[("BASE_IMAGE_REF", ALPINE)],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let sandbox = Sandbox::new(BIN);
    let rec = record(&register(
        &sandbox,
        &format!("{}/e2e/legacy:v1", r.open),
        &["--output", "json"],
        &[],
    ));
    assert_eq!(rec["base"], ALPINE);
    assert_eq!(platforms(&rec), ["linux/arm/v7"]);
}

#[test]
fn annotations_win_over_labels_and_flags_win_over_both() {
    let r = registries!();
    Pusher::new(&r.open, "e2e/both").image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[
                (BASE_NAME, "r.io/from/annotation:1"),
                (PLATFORMS, "linux/amd64"),
            ],
            labels: &[(BASE_NAME, "r.io/from/label:1"), (PLATFORMS, "linux/s390x")],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let sandbox = Sandbox::new(BIN);
    let image = format!("{}/e2e/both:v1", r.open);
    let rec = record(&register(&sandbox, &image, &["--output", "json"], &[]));
    assert_eq!(rec["base"], "r.io/from/annotation:1");
    assert_eq!(platforms(&rec), ["linux/amd64"]);
    let rec = record(&register(
        &sandbox,
        &image,
        &["--output", "json", "--base", "r.io/from/flag:1"],
        &[],
    ));
    assert_eq!(rec["base"], "r.io/from/flag:1");
    assert_eq!(platforms(&rec), ["linux/amd64"]);
}

#[test]
fn oci_index_with_attestation_reads_one_platform_and_lists_the_others() {
    let r = registries!();
    let pusher = Pusher::new(&r.open, "e2e/oci-index");
    let spec = |platform| ImageSpec {
        platform,
        labels: &[(BASE_NAME, ALPINE)],
        ..ImageSpec::default()
    };
    let arm = pusher.image(&spec("linux/arm64/v8"), None);
    let amd = pusher.image(&spec("linux/amd64"), None);
    let attestation = pusher.image(&spec("unknown/unknown"), None);
    let mut attestation_entry = attestation.entry("unknown/unknown");
    attestation_entry["annotations"] = serde_json::json!({
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": amd.digest,
    });
    let index = pusher.index(
        false,
        &[
            arm.entry("linux/arm64/v8"),
            amd.entry("linux/amd64"),
            attestation_entry,
        ],
        &[],
        "v1",
    );
    let proxy = CountingProxy::start(&r.open);
    let sandbox = Sandbox::new(BIN);
    let image = format!("{}/e2e/oci-index:v1", proxy.addr);
    let rec = record(&register(&sandbox, &image, &["--output", "json"], &[]));
    assert_eq!(rec["base"], ALPINE);
    assert_eq!(platforms(&rec), ["linux/arm64/v8", "linux/amd64"]);
    assert_eq!(rec["image_digest"], index.digest.as_str());
    let all = proxy.requests();
    assert_eq!(all.len(), 3, "index, one manifest, its config: {all:?}");
    assert!(
        all.iter().any(|r| r.ends_with(&amd.digest)),
        "the linux/amd64 manifest is read, never the host's: {all:?}"
    );

    // Index annotations that answer everything: one request.
    let annotated = pusher.index(
        false,
        &[arm.entry("linux/arm64/v8"), amd.entry("linux/amd64")],
        &[(BASE_NAME, "r.io/index/base:1"), (PLATFORMS, "linux/amd64")],
        "annotated",
    );
    let proxy = CountingProxy::start(&r.open);
    let image = format!("{}/e2e/oci-index:annotated", proxy.addr);
    let rec = record(&register(&sandbox, &image, &["--output", "json"], &[]));
    assert_eq!(rec["base"], "r.io/index/base:1");
    assert_eq!(platforms(&rec), ["linux/amd64"]);
    assert_eq!(rec["image_digest"], annotated.digest.as_str());
    assert_eq!(proxy.requests().len(), 1, "{:?}", proxy.requests());
}

#[test]
fn docker_manifest_list_platforms_come_from_the_list() {
    let r = registries!();
    let pusher = Pusher::new(&r.open, "e2e/docker-list");
    let spec = |platform| ImageSpec {
        docker: true,
        platform,
        labels: &[(BASE_NAME, ALPINE)],
        ..ImageSpec::default()
    };
    let arm = pusher.image(&spec("linux/arm64"), None);
    let ppc = pusher.image(&spec("linux/ppc64le"), None);
    let list = pusher.index(
        true,
        &[arm.entry("linux/arm64"), ppc.entry("linux/ppc64le")],
        &[],
        "v3",
    );
    let sandbox = Sandbox::new(BIN);
    let rec = record(&register(
        &sandbox,
        &format!("{}/e2e/docker-list:v3", r.open),
        &["--output", "json"],
        &[],
    ));
    assert_eq!(rec["base"], ALPINE);
    assert_eq!(platforms(&rec), ["linux/arm64", "linux/ppc64le"]);
    assert_eq!(rec["image_digest"], list.digest.as_str());
}

#[test]
fn an_image_without_base_needs_the_flag() {
    let r = registries!();
    Pusher::new(&r.open, "e2e/no-base").image(
        &ImageSpec {
            platform: "linux/amd64",
            labels: &[("maintainer", "me")],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let sandbox = Sandbox::new(BIN);
    let image = format!("{}/e2e/no-base:v1", r.open);
    fails(
        &sandbox,
        &image,
        &[],
        &["no base image", "does not name it", "--base"],
    );
    let rec = record(&register(
        &sandbox,
        &image,
        &["--output", "json", "--base", ALPINE],
        &[],
    ));
    assert_eq!(rec["base"], ALPINE);
    assert_eq!(platforms(&rec), ["linux/amd64"]);
}

#[test]
fn unknown_tag_and_unknown_repository() {
    let r = registries!();
    Pusher::new(&r.open, "e2e/known").image(
        &ImageSpec {
            platform: "linux/amd64",
            labels: &[(BASE_NAME, ALPINE)],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let sandbox = Sandbox::new(BIN);
    fails(
        &sandbox,
        &format!("{}/e2e/known:v404", r.open),
        &[],
        &["tag v404 not found", "e2e/known"],
    );
    fails(
        &sandbox,
        &format!("{}/e2e/never-pushed:v1", r.open),
        &[],
        &["repository", "e2e/never-pushed", "does not exist"],
    );
}

#[test]
fn a_config_that_does_not_parse_is_reported() {
    let r = registries!();
    Pusher::new(&r.open, "e2e/bad-config").image(
        &ImageSpec {
            platform: "linux/amd64",
            raw_config: Some(b"this is not JSON"),
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let sandbox = Sandbox::new(BIN);
    fails(
        &sandbox,
        &format!("{}/e2e/bad-config:v1", r.open),
        &[],
        &["config blob sha256:", "does not parse as an image config"],
    );
}

/// HTTPS with a certificate from a CA that only `SSL_CERT_FILE` trusts:
/// refused without it, read with it (the system's roots stay trusted too).
#[test]
fn https_trusts_ssl_cert_file() {
    let r = registries!();
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
    Pusher::new(&r.open, "e2e/tls").image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[(BASE_NAME, ALPINE), (PLATFORMS, "linux/amd64")],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let sandbox = Sandbox::new(BIN);
    let image = format!("{tls}/e2e/tls:v1");
    let refused = register(&sandbox, &image, &["--output", "json"], &[]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("imglife-tls.test") && refused.stderr.contains("SSL_CERT_FILE"),
        "an untrusted certificate is refused, saying so: {}",
        refused.stderr
    );
    let trusted = register(
        &sandbox,
        &image,
        &["--output", "json"],
        &[("SSL_CERT_FILE", &ca)],
    );
    let rec = record(&trusted);
    assert_eq!(rec["base"], ALPINE);
    assert_eq!(rec["image"], image.as_str());
}

#[test]
fn unreachable_registry_and_timeout() {
    let sandbox = Sandbox::new(BIN);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    fails(
        &sandbox,
        &format!("{closed}/e2e/app:v1"),
        &[],
        &[&closed, "unreachable"],
    );
    // A server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    fails(
        &sandbox,
        &format!("{addr}/e2e/app:v1"),
        &[("IMGLIFE_INSPECTION__TIMEOUT_SECS", "1")],
        &[
            &addr,
            "did not answer within 1 s",
            "inspection.timeout_secs",
        ],
    );
}

#[test]
fn transient_faults_are_retried_a_bounded_number_of_times() {
    let r = registries!();
    Pusher::new(&r.open, "e2e/flaky").image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[(BASE_NAME, ALPINE), (PLATFORMS, "linux/amd64")],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let sandbox = Sandbox::new(BIN);
    let proxy = CountingProxy::start(&r.open);
    proxy.fail_next("503 Service Unavailable");
    proxy.fail_next("502 Bad Gateway");
    // A rate limit with Retry-After: the wait it asks for replaces the
    // backoff step (the retry notice, logged at info, says how long).
    proxy.fail_next("429 Too Many Requests\r\nRetry-After: 1");
    let image = format!("{}/e2e/flaky:v1", proxy.addr);
    let run = register(
        &sandbox,
        &image,
        &["--output", "json", "--log-level", "info"],
        &[],
    );
    let rec = record(&run);
    assert_eq!(rec["base"], ALPINE);
    assert!(
        run.stderr.contains("after=1s"),
        "Retry-After honoured: {}",
        run.stderr
    );
    assert_eq!(
        proxy.requests().len(),
        4,
        "three faults, then the manifest: {:?}",
        proxy.requests()
    );

    let proxy = CountingProxy::start(&r.open);
    for _ in 0..10 {
        proxy.fail_next("503 Service Unavailable");
    }
    let image = format!("{}/e2e/flaky:v1", proxy.addr);
    fails(
        &sandbox,
        &image,
        &[("IMGLIFE_INSPECTION__MAX_RETRIES", "1")],
        &["HTTP 503", "try again later"],
    );
    let manifest_gets = proxy
        .requests()
        .iter()
        .filter(|r| r.contains("/manifests/"))
        .count();
    assert_eq!(
        manifest_gets,
        2,
        "one try and one retry: {:?}",
        proxy.requests()
    );
}

fn basic_fixture(r: &Registries, repository: &str) -> String {
    Pusher::new(&r.open, repository).image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[(BASE_NAME, ALPINE), (PLATFORMS, "linux/amd64")],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    repository.to_owned()
}

/// `IMGLIFE_<HOST>_` for a test registry.
fn prefix(host: &str) -> String {
    format!("IMGLIFE_{}_", host.replace(['.', ':'], "_"))
}

#[test]
fn basic_auth_with_credentials_from_each_source() {
    let r = registries!();
    let repo = basic_fixture(&r, "e2e/basic");
    let image = format!("{}/{repo}:v1", r.basic);
    let host = r.basic.as_str();
    let p = prefix(host);
    let (user_var, pass_var) = (format!("{p}USERNAME"), format!("{p}PASSWORD"));

    let ok = |sandbox: &Sandbox, env: &[(&str, &str)]| {
        let rec = record(&register(sandbox, &image, &["--output", "json"], env));
        assert_eq!(rec["base"], ALPINE);
    };
    // 1. IMGLIFE_<HOST>_USERNAME/PASSWORD
    ok(
        &Sandbox::new(BIN),
        &[(&user_var, USER), (&pass_var, PASSWORD)],
    );
    // 2. GitLab CI: CI_REGISTRY_USER/PASSWORD, then gitlab-ci-token
    ok(
        &Sandbox::new(BIN),
        &[
            ("CI_REGISTRY", host),
            ("CI_REGISTRY_USER", USER),
            ("CI_REGISTRY_PASSWORD", PASSWORD),
        ],
    );
    ok(
        &Sandbox::new(BIN),
        &[("CI_REGISTRY", host), ("CI_JOB_TOKEN", "jobtoken")],
    );
    // 3. Docker config: ~/.docker/config.json auths, $DOCKER_CONFIG,
    //    credHelpers (a helper program on PATH).
    let auth = format!("{USER}:{PASSWORD}");
    let auths = format!(
        r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
        base64_std(auth.as_bytes())
    );
    let sandbox = Sandbox::new(BIN);
    sandbox.write(".docker/config.json", &auths);
    ok(&sandbox, &[]);
    let sandbox = Sandbox::new(BIN);
    sandbox.write("dockercfg/config.json", &auths);
    let dir = sandbox.path().join("dockercfg");
    ok(&sandbox, &[("DOCKER_CONFIG", dir.to_str().unwrap())]);
    let sandbox = Sandbox::new(BIN);
    sandbox.write(
        ".docker/config.json",
        format!(r#"{{"credHelpers":{{"{host}":"imglifetest"}}}}"#),
    );
    let helper = sandbox.write(
        "bin/docker-credential-imglifetest",
        format!(
            "#!/bin/sh\nread server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n"
        ),
    );
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        sandbox.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    ok(&sandbox, &[("PATH", &path)]);

    // Trace logs never show the secret.
    let run = register(
        &Sandbox::new(BIN),
        &image,
        &["--output", "json", "--log-level", "trace"],
        &[(&user_var, USER), (&pass_var, PASSWORD)],
    );
    run.expect_code(0);
    let basic = base64_std(format!("{USER}:{PASSWORD}").as_bytes());
    assert!(
        !run.stderr.contains(PASSWORD) && !run.stderr.contains(&basic),
        "secret in logs: {}",
        run.stderr
    );

    // Wrong credentials name their source and never the secret.
    let sandbox = Sandbox::new(BIN);
    let err = fails(
        &sandbox,
        &image,
        &[(&user_var, USER), (&pass_var, "hunter2-wrong")],
        &["unauthorized", &format!("{user_var}/{pass_var}")],
    );
    assert!(!err.contains("hunter2-wrong"), "{err}");
    // None at all.
    fails(
        &sandbox,
        &image,
        &[],
        &["unauthorized", "no credentials (anonymous)", &user_var],
    );
}

#[test]
fn token_auth_with_the_token_server() {
    let r = registries!();
    assert!(
        ensure_token_server(),
        "token server configured by scripts/services.sh"
    );
    let repo = basic_fixture(&r, "e2e/token");
    let image = format!("{}/{repo}:v1", r.token);
    let p = prefix(&r.token);
    let (user_var, pass_var, token_var) = (
        format!("{p}USERNAME"),
        format!("{p}PASSWORD"),
        format!("{p}TOKEN"),
    );

    let sandbox = Sandbox::new(BIN);
    let rec = record(&register(
        &sandbox,
        &image,
        &["--output", "json"],
        &[(&user_var, USER), (&pass_var, PASSWORD)],
    ));
    assert_eq!(rec["base"], ALPINE);
    // A bearer token handed over directly.
    let token = TokenIssuer::from_env().unwrap().token(&repo, &["pull"]);
    let rec = record(&register(
        &sandbox,
        &image,
        &["--output", "json"],
        &[(&token_var, &token)],
    ));
    assert_eq!(rec["base"], ALPINE);
    let run = register(
        &sandbox,
        &image,
        &["--output", "json", "--log-level", "trace"],
        &[(&token_var, &token)],
    );
    run.expect_code(0);
    let signature = token.rsplit('.').next().unwrap();
    assert!(
        !run.stderr.contains(signature),
        "token in logs: {}",
        run.stderr
    );

    let err = fails(
        &sandbox,
        &image,
        &[(&user_var, USER), (&pass_var, "wrong-secret")],
        &["unauthorized", &user_var],
    );
    assert!(!err.contains("wrong-secret"), "{err}");
    fails(
        &sandbox,
        &image,
        &[],
        &["unauthorized", "no credentials (anonymous)"],
    );
}

fn base64_std(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
