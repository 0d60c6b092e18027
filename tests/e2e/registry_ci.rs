//! `imglife register` against registries set up as CI jobs really have
//! them, on real servers started by `scripts/services.sh`:
//!
//! - Docker Hub: `docker.io` references (every short form) read at
//!   `registry-1.docker.io` with tokens from `auth.docker.io`, both served
//!   locally under those names (test CA, `/etc/hosts` lines for the run);
//! - podman's and skopeo's `auth.json` files, in skopeo's order, before the
//!   Docker config; namespaced keys;
//! - identity tokens exchanged at the token service (OAuth2 refresh-token
//!   grant).
//!
//! Every test name holds `registry`, so `scripts/test -- registry` runs
//! them all (`scripts/test -- docker_hub` the Docker Hub ones).

#![allow(clippy::unwrap_used)]

use imglife_testkit::registry::{
    DockerHub, ImageSpec, PASSWORD, Pushed, Pusher, REFRESH_TOKEN, Registries, TokenRequest, USER,
    ensure_token_server, token_requests,
};
use imglife_testkit::{Run, Sandbox};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const BASE_NAME: &str = "org.opencontainers.image.base.name";
const PLATFORMS: &str = "imglife.platforms";
const BASE: &str = "registry.example.com/bases/os:1.0";
const HUB_KEY: &str = "https://index.docker.io/v1/";

/// The registries, or return from the test (only allowed outside CI).
macro_rules! registries {
    () => {
        match Registries::from_env() {
            Some(r) => r,
            None => return,
        }
    };
}

/// Docker Hub's stand-in, or return from the test (only outside CI).
macro_rules! docker_hub {
    () => {
        match DockerHub::from_env() {
            Some(hub) => hub,
            None => return,
        }
    };
}

/// `register --image IMAGE --dry-run --output json` plus `extra`, in a
/// sandbox whose `XDG_RUNTIME_DIR` is its own `run/` (so that no
/// `/run/containers/<uid>/auth.json` of the machine is read).
fn register(sandbox: &Sandbox, image: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let runtime = sandbox.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let runtime = runtime.display().to_string();
    let mut args = vec![
        "register",
        "--image",
        image,
        "--revision",
        "a3f8b1c",
        "--project",
        "team/app",
        "--dry-run",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let mut all_env = vec![("XDG_RUNTIME_DIR", runtime.as_str())];
    all_env.extend_from_slice(env);
    sandbox.run(&args, &all_env)
}

fn record(run: &Run) -> Value {
    run.expect_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

/// A failure with the registry alone asked (no fallback to a Docker
/// daemon): exit 1, one `error:` line naming every `culprit` and none of
/// `secrets`.
fn fails(
    sandbox: &Sandbox,
    image: &str,
    env: &[(&str, &str)],
    culprit: &[&str],
    secrets: &[&str],
) -> String {
    let run = register(sandbox, image, &["--source", "registry"], env);
    run.expect_code(1);
    assert_eq!(run.stdout, "", "nothing on stdout: {run:#?}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {run:#?}");
    for c in culprit {
        assert!(errors[0].contains(c), "the error names {c:?}: {run:#?}");
    }
    for s in secrets {
        assert!(!run.stderr.contains(s), "a secret is shown: {run:#?}");
    }
    errors[0].to_owned()
}

fn platforms(record: &Value) -> Vec<&str> {
    record["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

/// A two-platform image (OCI index) whose configs name `BASE`, pushed to
/// `repository:tag` through the open registry (all test registries, Docker
/// Hub's included, share its storage).
fn push_index(r: &Registries, repository: &str, tag: &str) -> Pushed {
    let pusher = Pusher::new(&r.open, repository);
    let spec = |platform| ImageSpec {
        platform,
        labels: &[(BASE_NAME, BASE)],
        ..ImageSpec::default()
    };
    let amd = pusher.image(&spec("linux/amd64"), None);
    let arm = pusher.image(&spec("linux/arm64/v8"), None);
    pusher.index(
        false,
        &[amd.entry("linux/amd64"), arm.entry("linux/arm64/v8")],
        &[],
        tag,
    )
}

/// A one-platform image whose manifest annotations answer everything.
fn push_image(r: &Registries, repository: &str, tag: &str) -> Pushed {
    Pusher::new(&r.open, repository).image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[(BASE_NAME, BASE), (PLATFORMS, "linux/amd64")],
            ..ImageSpec::default()
        },
        Some(tag),
    )
}

/// `{"auths":{KEY:{"auth":base64(USER:PASS)}}}` for each entry.
fn auths(entries: &[(&str, &str, &str)]) -> String {
    let inner: Vec<String> = entries
        .iter()
        .map(|(key, user, pass)| {
            format!(
                r#""{key}":{{"auth":"{}"}}"#,
                base64_std(format!("{user}:{pass}").as_bytes())
            )
        })
        .collect();
    format!(r#"{{"auths":{{{}}}}}"#, inner.join(","))
}

/// The token requests with `scope` for `repository`.
fn requests_for(repository: &str) -> Vec<TokenRequest> {
    let scope = format!("repository:{repository}:pull");
    token_requests()
        .into_iter()
        .filter(|r| r.scopes.contains(&scope))
        .collect()
}

fn path_of(sandbox: &Sandbox, relative: &str) -> String {
    sandbox.path().join(relative).display().to_string()
}

/// `alpine:<tag>` and every other spelling of a Docker Hub official image
/// is read at registry-1.docker.io, with an anonymous token from
/// auth.docker.io (the service and realm its challenge names), trusting the
/// test CA through `SSL_CERT_FILE`; messages name `docker.io`.
#[test]
fn docker_hub_registry_short_names_read_through_the_token_flow() {
    let r = registries!();
    let hub = docker_hub!();
    let index = push_index(&r, "library/alpine", "3.19.1-e2e");
    let sandbox = Sandbox::new(BIN);
    let trust = [("SSL_CERT_FILE", hub.ca.as_str())];
    for image in [
        "alpine:3.19.1-e2e",
        "library/alpine:3.19.1-e2e",
        "docker.io/alpine:3.19.1-e2e",
        "docker.io/library/alpine:3.19.1-e2e",
        "index.docker.io/library/alpine:3.19.1-e2e",
    ] {
        let rec = record(&register(&sandbox, image, &[], &trust));
        assert_eq!(
            rec["image"], "docker.io/library/alpine:3.19.1-e2e",
            "{image}"
        );
        assert_eq!(rec["base"], BASE, "{image}");
        assert_eq!(
            platforms(&rec),
            ["linux/amd64", "linux/arm64/v8"],
            "{image}"
        );
        assert_eq!(rec["image_digest"], index.digest.as_str(), "{image}");
    }
    let asked = requests_for("library/alpine");
    assert!(
        asked.iter().any(|q| q.server == "docker-hub"
            && q.method == "GET"
            && q.path == "/token"
            && q.service.as_deref() == Some("registry.docker.io")
            && q.basic_user.is_none()
            && q.status == 200),
        "an anonymous token from auth.docker.io for registry.docker.io: {asked:#?}"
    );

    // The summary's Source line and the messages name docker.io.
    let text = sandbox.run(
        [
            "register",
            "--image",
            "alpine:3.19.1-e2e",
            "--revision",
            "a3f8b1c",
            "--project",
            "team/app",
            "--dry-run",
        ],
        &trust,
    );
    text.expect_code(0);
    assert!(
        text.stdout.contains("Source     registry docker.io\n"),
        "{}",
        text.stdout
    );
    let missing = fails(
        &sandbox,
        "alpine:no-such-tag",
        &trust,
        &["tag no-such-tag not found", "registry docker.io"],
        &[],
    );
    assert!(!missing.contains("registry-1"), "{missing}");
    // Without the test CA the certificate is refused, naming both hosts.
    fails(
        &sandbox,
        "alpine:3.19.1-e2e",
        &[],
        &[
            "registry docker.io (API host registry-1.docker.io)",
            "certificate",
            "SSL_CERT_FILE",
        ],
        &[],
    );
}

/// A private Docker Hub repository: anonymous pulls are refused; the
/// credentials are found under every name Docker Hub has in each source.
#[test]
fn docker_hub_registry_private_repository_takes_credentials_from_every_source() {
    let r = registries!();
    let hub = docker_hub!();
    let repository = "imglifetest/private";
    push_image(&r, repository, "1.0");
    let image = format!("{repository}:1.0");
    let trust = ("SSL_CERT_FILE", hub.ca.as_str());
    let ok = |sandbox: &Sandbox, env: &[(&str, &str)]| {
        let mut all = vec![trust];
        all.extend_from_slice(env);
        let rec = record(&register(sandbox, &image, &[], &all));
        assert_eq!(rec["image"], "docker.io/imglifetest/private:1.0");
        assert_eq!(rec["base"], BASE);
    };

    // Anonymous: refused, and the fix names docker.io's variables.
    fails(
        &Sandbox::new(BIN),
        &image,
        &[trust],
        &[
            "registry docker.io refused access",
            "no credentials (anonymous)",
            "IMGLIFE_DOCKER_IO_USERNAME",
        ],
        &[],
    );

    // 1. The docker CLI's key in ~/.docker/config.json.
    let sandbox = Sandbox::new(BIN);
    sandbox.write(".docker/config.json", auths(&[(HUB_KEY, USER, PASSWORD)]));
    ok(&sandbox, &[]);
    assert!(
        requests_for(repository)
            .iter()
            .any(|q| q.server == "docker-hub" && q.basic_user.as_deref() == Some(USER)),
        "the credentials went to auth.docker.io: {:#?}",
        requests_for(repository)
    );
    // Wrong ones name the file and key, never the password.
    let sandbox = Sandbox::new(BIN);
    let config = sandbox.write(
        ".docker/config.json",
        auths(&[(HUB_KEY, USER, "hunter2-wrong")]),
    );
    fails(
        &sandbox,
        &image,
        &[trust],
        &[
            "registry docker.io refused access",
            &format!("Docker config {} (auths \"{HUB_KEY}\")", config.display()),
        ],
        &["hunter2-wrong"],
    );

    // 2. IMGLIFE_DOCKER_IO_USERNAME/PASSWORD, before the Docker config.
    ok(
        &sandbox,
        &[
            ("IMGLIFE_DOCKER_IO_USERNAME", USER),
            ("IMGLIFE_DOCKER_IO_PASSWORD", PASSWORD),
        ],
    );

    // 3. podman's key, docker.io, in $REGISTRY_AUTH_FILE.
    let sandbox = Sandbox::new(BIN);
    let file = sandbox.write("podman/auth.json", auths(&[("docker.io", USER, PASSWORD)]));
    ok(&sandbox, &[("REGISTRY_AUTH_FILE", file.to_str().unwrap())]);

    // 4. An identity token under the docker CLI's key.
    let sandbox = Sandbox::new(BIN);
    sandbox.write(
        ".docker/config.json",
        format!(
            r#"{{"auths":{{"{HUB_KEY}":{{"auth":"{}","identitytoken":"{REFRESH_TOKEN}"}}}}}}"#,
            base64_std(format!("{USER}:").as_bytes())
        ),
    );
    ok(&sandbox, &[]);
    assert!(
        requests_for(repository)
            .iter()
            .any(|q| q.server == "docker-hub"
                && q.method == "POST"
                && q.grant_type.as_deref() == Some("refresh_token")
                && q.client_id.as_deref() == Some("imglife")
                && q.service.as_deref() == Some("registry.docker.io")
                && q.refresh_token_valid
                && q.status == 200),
        "the identity token was exchanged at auth.docker.io: {:#?}",
        requests_for(repository)
    );
}

/// Credentials only in a podman/skopeo `auth.json`, in each place skopeo
/// reads, against the htpasswd registry; the earliest file wins, the most
/// specific key wins, and messages name the file.
#[test]
fn podman_auth_file_registry_credentials_in_skopeos_order() {
    let r = registries!();
    push_image(&r, "e2e/podman", "v1");
    let host = r.basic.as_str();
    let image = format!("{host}/e2e/podman:v1");
    let right = auths(&[(host, USER, PASSWORD)]);
    let wrong = auths(&[(host, USER, "wrong-secret")]);
    let ok = |sandbox: &Sandbox, env: &[(&str, &str)]| {
        let rec = record(&register(sandbox, &image, &[], env));
        assert_eq!(rec["base"], BASE);
    };

    // $REGISTRY_AUTH_FILE.
    let sandbox = Sandbox::new(BIN);
    let named = sandbox.write("elsewhere/auth.json", &right);
    let named = named.to_str().unwrap();
    ok(&sandbox, &[("REGISTRY_AUTH_FILE", named)]);
    // ... the only file read: right credentials in the Docker config and
    // $XDG_RUNTIME_DIR/containers/auth.json are not used.
    let sandbox = Sandbox::new(BIN);
    let other = sandbox.write(
        "elsewhere/auth.json",
        auths(&[("other.example", USER, PASSWORD)]),
    );
    sandbox.write(".docker/config.json", &right);
    sandbox.write("run/containers/auth.json", &right);
    fails(
        &sandbox,
        &image,
        &[("REGISTRY_AUTH_FILE", other.to_str().unwrap())],
        &["no credentials (anonymous)"],
        &[],
    );

    // $XDG_RUNTIME_DIR/containers/auth.json (podman login's file).
    let sandbox = Sandbox::new(BIN);
    sandbox.write("run/containers/auth.json", &right);
    ok(&sandbox, &[]);
    // ~/.config/containers/auth.json, and $XDG_CONFIG_HOME's.
    let sandbox = Sandbox::new(BIN);
    sandbox.write(".config/containers/auth.json", &right);
    ok(&sandbox, &[]);
    let sandbox = Sandbox::new(BIN);
    sandbox.write("xdg/containers/auth.json", &right);
    ok(&sandbox, &[("XDG_CONFIG_HOME", &path_of(&sandbox, "xdg"))]);

    // Before the Docker config: the first file holding the registry wins,
    // and wrong credentials there are reported, not passed over.
    let sandbox = Sandbox::new(BIN);
    sandbox.write("run/containers/auth.json", &right);
    sandbox.write(".docker/config.json", &wrong);
    ok(&sandbox, &[]);
    let sandbox = Sandbox::new(BIN);
    let runtime_file = sandbox.write("run/containers/auth.json", &wrong);
    sandbox.write(".config/containers/auth.json", &right);
    fails(
        &sandbox,
        &image,
        &[],
        &[
            "refused access",
            &format!(
                "containers auth file {} (auths \"{host}\")",
                runtime_file.display()
            ),
        ],
        &["wrong-secret"],
    );
    // A file without the registry lets the next one answer.
    let sandbox = Sandbox::new(BIN);
    sandbox.write(
        "run/containers/auth.json",
        auths(&[("other.example", USER, "x")]),
    );
    sandbox.write(".docker/config.json", &right);
    ok(&sandbox, &[]);

    // Namespaced keys: the most specific wins, in either direction.
    let sandbox = Sandbox::new(BIN);
    sandbox.write(
        "run/containers/auth.json",
        auths(&[
            (host, USER, "wrong-secret"),
            (&format!("{host}/e2e"), USER, PASSWORD),
        ]),
    );
    ok(&sandbox, &[]);
    let sandbox = Sandbox::new(BIN);
    let file = sandbox.write(
        "run/containers/auth.json",
        auths(&[
            (host, USER, PASSWORD),
            (&format!("{host}/e2e/podman"), USER, "wrong-secret"),
        ]),
    );
    fails(
        &sandbox,
        &image,
        &[],
        &[&format!(
            "containers auth file {} (auths \"{host}/e2e/podman\")",
            file.display()
        )],
        &["wrong-secret"],
    );
}

/// A broken auth file is an error naming it (as skopeo fails on it), not
/// an anonymous attempt; a missing one is passed over.
#[test]
fn broken_auth_file_registry_error_names_the_file() {
    let r = registries!();
    push_image(&r, "e2e/broken-auth", "v1");
    let image = format!("{}/e2e/broken-auth:v1", r.basic);
    let sandbox = Sandbox::new(BIN);
    let file = sandbox.write("run/containers/auth.json", r#"{"auths": {"#);
    fails(
        &sandbox,
        &image,
        &[],
        &[
            &format!("containers auth file {}", file.display()),
            "is not valid JSON",
        ],
        &[],
    );
    // An entry that is not base64: named by its key; its value never shown.
    let sandbox = Sandbox::new(BIN);
    let file = sandbox.write(
        ".docker/config.json",
        format!(r#"{{"auths":{{"{}":{{"auth":"c2VjcmV0!!"}}}}}}"#, r.basic),
    );
    fails(
        &sandbox,
        &image,
        &[],
        &[
            &format!("\"{}\" in Docker config {}", r.basic, file.display()),
            "not base64",
        ],
        &["c2VjcmV0"],
    );
    // Not a regular file.
    let sandbox = Sandbox::new(BIN);
    let dir = path_of(&sandbox, "run");
    fails(
        &sandbox,
        &image,
        &[("REGISTRY_AUTH_FILE", &dir)],
        &[&format!("REGISTRY_AUTH_FILE={dir}"), "not a regular file"],
        &[],
    );
    // A missing $REGISTRY_AUTH_FILE: no credentials, with a warning.
    let sandbox = Sandbox::new(BIN);
    let absent = path_of(&sandbox, "absent.json");
    let run = register(
        &sandbox,
        &image,
        &["--source", "registry"],
        &[("REGISTRY_AUTH_FILE", &absent)],
    );
    run.expect_code(1);
    assert!(
        run.stderr.contains("no credentials (anonymous)")
            && run
                .stderr
                .contains(&format!("REGISTRY_AUTH_FILE={absent} does not exist")),
        "{run:#?}"
    );
}

/// A Docker config `identitytoken` (Azure ACR's kind) is exchanged at the
/// token service with the OAuth2 refresh-token grant, and the registry
/// answers to the token it gives; a credential helper's `<token>` user is
/// one too. A refused identity token names its source, never its value.
#[test]
fn identity_token_registry_exchanged_at_the_token_server() {
    let r = registries!();
    assert!(
        ensure_token_server(),
        "token server configured by scripts/services.sh"
    );
    let repository = "e2e/identity";
    push_image(&r, repository, "v1");
    let host = r.token.as_str();
    let image = format!("{host}/{repository}:v1");
    let with_token = |token: &str| {
        format!(
            r#"{{"auths":{{"{host}":{{"auth":"{}","identitytoken":"{token}"}}}}}}"#,
            base64_std(b"00000000-0000-0000-0000-000000000000:")
        )
    };

    let sandbox = Sandbox::new(BIN);
    sandbox.write(".docker/config.json", with_token(REFRESH_TOKEN));
    let rec = record(&register(&sandbox, &image, &[], &[]));
    assert_eq!(rec["base"], BASE);
    let exchanged: Vec<TokenRequest> = requests_for(repository)
        .into_iter()
        .filter(|q| q.method == "POST")
        .collect();
    assert!(
        exchanged.iter().any(|q| q.server == "token"
            && q.grant_type.as_deref() == Some("refresh_token")
            && q.client_id.as_deref() == Some("imglife")
            && q.service.as_deref() == Some("imglife-registry")
            && q.refresh_token_valid
            && q.basic_user.is_none()
            && q.status == 200),
        "{exchanged:#?}"
    );

    // Trace logs never show the identity token.
    let run = register(&sandbox, &image, &["--log-level", "trace"], &[]);
    run.expect_code(0);
    assert!(
        !run.stderr.contains(REFRESH_TOKEN),
        "identity token in logs: {}",
        run.stderr
    );

    // A refused identity token: unauthorized, naming where it came from.
    let sandbox = Sandbox::new(BIN);
    let config = sandbox.write(".docker/config.json", with_token("revoked-refresh-token"));
    fails(
        &sandbox,
        &image,
        &[],
        &[
            "refused access",
            &format!(
                "the identity token of Docker config {} (auths \"{host}\")",
                config.display()
            ),
        ],
        &["revoked-refresh-token"],
    );

    // A credential helper answering with the user `<token>`.
    let sandbox = Sandbox::new(BIN);
    sandbox.write(
        ".docker/config.json",
        format!(r#"{{"credHelpers":{{"{host}":"imglifetoken"}}}}"#),
    );
    let helper = sandbox.write(
        "bin/docker-credential-imglifetoken",
        format!(
            "#!/bin/sh\nread server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"<token>\",\"Secret\":\"{REFRESH_TOKEN}\"}}' \"$server\"\n"
        ),
    );
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        sandbox.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let rec = record(&register(&sandbox, &image, &[], &[("PATH", &path)]));
    assert_eq!(rec["base"], BASE);
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
