//! What `imglife register` costs on the network, counted at the latency
//! proxy (`imglife_testkit::latency`): connections, and round trips (1 per
//! TCP handshake, 1 per turn of the client), per registry flow and per
//! store. A round trip is what a CI runner 20–80 ms away from its registry
//! pays, so every count here is exact: one more is a regression.
//!
//! - Open registry, annotations answering everything: the manifest, nothing
//!   else (no `/v2/` ping, no config blob).
//! - Token authentication: the 401, one token request, the manifest; the
//!   token serves every further request of the run, on the same connection.
//! - Basic authentication (htpasswd): the 401, then the request with
//!   credentials (never sent before the registry asks for Basic); further
//!   requests carry them at once. A 401 whose body comes after its head
//!   still leaves its connection for the retry.
//! - Flags that say everything: no request at all.
//! - Stores: GitLab and S3 publish with one `PUT`; Gitea with the upload and
//!   one listing (what the listing is for: docs/storage.md).

#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use imglife_testkit::latency::{Proxy, Stats};
use imglife_testkit::registry::{
    ImageSpec, PASSWORD, Pusher, Registries, USER, ensure_token_server, sha256, token_requests,
};
use imglife_testkit::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use imglife_testkit::{Run, Sandbox, gitea, gitlab};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const BASE_NAME: &str = "org.opencontainers.image.base.name";
const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";
const PLATFORMS: &str = "imglife.platforms";
const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// A little latency, so that what the counts rely on (a body arriving in
/// its own packet, a connection closed late) happens as on a network.
const ONE_WAY: Duration = Duration::from_millis(5);
/// A bound for a broken run, not a synchronisation.
const SETTLE: Duration = Duration::from_secs(20);

/// The registries, or return from the test (only allowed outside CI).
macro_rules! registries {
    () => {
        match Registries::from_env() {
            Some(r) => r,
            None => return,
        }
    };
}

/// `connections` connections and `round_trips` round trips in all.
fn cost(connections: u64, round_trips: u64) -> (u64, u64) {
    (connections, round_trips)
}

fn counted(stats: Stats) -> (u64, u64) {
    (stats.connections, stats.round_trips)
}

fn proxy_to(host_port: &str) -> Proxy {
    let upstream: SocketAddr = host_port
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    Proxy::start(upstream, ONE_WAY).unwrap()
}

/// `IMGLIFE_<HOST>_USERNAME` and `_PASSWORD` of the test user for `host`.
fn credentials(host: &str) -> [(String, String); 2] {
    let prefix = format!("IMGLIFE_{}_", host.replace(['.', ':'], "_"));
    [
        (format!("{prefix}USERNAME"), USER.to_owned()),
        (format!("{prefix}PASSWORD"), PASSWORD.to_owned()),
    ]
}

/// `register` of `image` into a filesystem store, JSON output; must succeed.
fn register(sandbox: &Sandbox, image: &str, extra: &[&str], env: &[(String, String)]) -> Value {
    let mut args = vec![
        "register",
        "--image",
        image,
        "--revision",
        "a3f8b1c",
        "--project",
        "team/app",
        "--source",
        "registry",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let mut vars = vec![
        ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
        ("IMGLIFE_REGISTRY__PATH", "records"),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let run = sandbox.run(&args, &vars);
    run.expect_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

/// Token requests for `repository` so far (the token server records every
/// request of this process; tests run in parallel).
fn tokens_for(repository: &str) -> Vec<String> {
    token_requests()
        .into_iter()
        .filter(|t| t.scopes.iter().any(|s| s.contains(repository)))
        .map(|t| format!("{} {} {:?} {}", t.method, t.path, t.scopes, t.status))
        .collect()
}

// ------------------------------------------------------------ registry

#[test]
fn an_open_registry_answers_an_annotated_image_with_one_request() {
    let r = registries!();
    let pusher = Pusher::new(&r.open, "rt/open-annotated");
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
    let proxy = proxy_to(&r.open);
    let image = format!("{}/rt/open-annotated:v1", proxy.addr());
    let sandbox = Sandbox::new(BIN);
    let record = register(&sandbox, &image, &[], &[]);
    assert_eq!(record["base"], "docker.io/library/alpine:3.21");
    assert_eq!(record["base_digest"], DIGEST_A);
    assert_eq!(record["image_digest"], pushed.digest.as_str());
    // The TCP handshake and the manifest.
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 2));

    // Base name and digest annotated, platforms by flag: the same.
    let only_base = Pusher::new(&r.open, "rt/open-base-only");
    only_base.image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[(BASE_NAME, "alpine:3.21"), (BASE_DIGEST, DIGEST_A)],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    proxy.reset();
    let image = format!("{}/rt/open-base-only:v1", proxy.addr());
    let record = register(&sandbox, &image, &["--platform", "linux/amd64"], &[]);
    assert_eq!(record["base_digest"], DIGEST_A);
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 2));

    // Without the platforms, the config is read (its labels come before
    // its os/architecture): one more request on the same connection.
    proxy.reset();
    let record = register(&sandbox, &image, &[], &[]);
    assert_eq!(record["platforms"], serde_json::json!(["linux/amd64"]));
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 3));
}

#[test]
fn flags_that_say_everything_cost_no_request() {
    let r = registries!();
    let proxy = proxy_to(&r.open);
    let image = format!("{}/rt/never-asked:v1", proxy.addr());
    let sandbox = Sandbox::new(BIN);
    let base = format!("registry.example.com/bases/alpine:3.21@{DIGEST_A}");
    let record = register(
        &sandbox,
        &image,
        &["--base", &base, "--platform", "linux/amd64"],
        &[],
    );
    assert_eq!(record["base_digest"], DIGEST_A);
    assert!(record.get("image_digest").is_none(), "{record}");
    // Without a digest in --base too: nothing else is looked up.
    let record = register(
        &sandbox,
        &image,
        &[
            "--base",
            "registry.example.com/bases/alpine:3.21",
            "--platform",
            "linux/amd64",
        ],
        &[],
    );
    assert!(record.get("base_digest").is_none(), "{record}");
    assert_eq!(proxy.settled(SETTLE), Stats::default());
}

#[test]
fn token_auth_is_the_401_one_token_and_the_manifest_then_the_token_is_reused() {
    let r = registries!();
    assert!(ensure_token_server(), "scripts/services.sh set it up");
    let repository = "rt/token-annotated";
    Pusher::new(&r.open, repository).image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[
                (BASE_NAME, "alpine:3.21"),
                (BASE_DIGEST, DIGEST_A),
                (PLATFORMS, "linux/amd64"),
            ],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let proxy = proxy_to(&r.token);
    let host = proxy.addr().to_string();
    let env = credentials(&host);
    let sandbox = Sandbox::new(BIN);
    let record = register(&sandbox, &format!("{host}/{repository}:v1"), &[], &env);
    assert_eq!(record["base_digest"], DIGEST_A);
    // Handshake, the anonymous manifest request (401), the manifest with
    // the token: one connection.
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 3));
    let tokens = tokens_for(repository);
    assert_eq!(tokens.len(), 1, "one token request: {tokens:?}");

    // An index without annotations: index, the linux/amd64 manifest, its
    // config, all with the one token.
    let repository = "rt/token-index";
    let pusher = Pusher::new(&r.open, repository);
    let spec = |platform| ImageSpec {
        platform,
        labels: &[(BASE_NAME, "registry.example.com/bases/alpine:3.21")],
        ..ImageSpec::default()
    };
    let arm = pusher.image(&spec("linux/arm64"), None);
    let amd = pusher.image(&spec("linux/amd64"), None);
    pusher.index(
        false,
        &[arm.entry("linux/arm64"), amd.entry("linux/amd64")],
        &[],
        "v1",
    );
    proxy.reset();
    let record = register(&sandbox, &format!("{host}/{repository}:v1"), &[], &env);
    assert_eq!(
        record["platforms"],
        serde_json::json!(["linux/arm64", "linux/amd64"])
    );
    // Handshake, 401, index, manifest, config.
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 5));
    let tokens = tokens_for(repository);
    assert_eq!(tokens.len(), 1, "the token is reused: {tokens:?}");
}

#[test]
fn basic_auth_is_the_401_then_the_request_with_credentials() {
    let r = registries!();
    let repository = "rt/basic";
    Pusher::new(&r.open, repository).image(
        &ImageSpec {
            platform: "linux/amd64",
            annotations: &[(BASE_NAME, "alpine:3.21"), (BASE_DIGEST, DIGEST_A)],
            ..ImageSpec::default()
        },
        Some("v1"),
    );
    let proxy = proxy_to(&r.basic);
    let host = proxy.addr().to_string();
    let env = credentials(&host);
    let image = format!("{host}/{repository}:v1");
    let sandbox = Sandbox::new(BIN);
    register(&sandbox, &image, &["--platform", "linux/amd64"], &env);
    // Handshake, 401 (Basic asked for), the manifest with credentials.
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 3));
    // The config too: sent with credentials at once, no second 401.
    proxy.reset();
    register(&sandbox, &image, &[], &env);
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 4));
}

/// A registry that asks for Basic credentials and sends its 401's body
/// `delay` after the head, as a server streaming its error page would;
/// with credentials it serves one annotated manifest. Every connection is
/// kept alive.
fn slow_401_registry(delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for connection in listener.incoming().flatten() {
            std::thread::spawn(move || serve_slow_401(connection, delay));
        }
    });
    addr
}

fn serve_slow_401(mut connection: TcpStream, delay: Duration) {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": DIGEST_A, "size": 2},
        "layers": [],
        "annotations": {BASE_NAME: "alpine:3.21", PLATFORMS: "linux/amd64"},
    })
    .to_string();
    let mut pending = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            match connection.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
        pending.drain(..end + 4);
        if head.contains("\r\nauthorization: basic ") {
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n\
                 Docker-Content-Digest: {}\r\nContent-Length: {}\r\n\r\n{manifest}",
                sha256(manifest.as_bytes()),
                manifest.len()
            );
            if connection.write_all(answer.as_bytes()).is_err() {
                return;
            }
        } else {
            let body =
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
            let head = format!(
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"slow\"\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if connection.write_all(head.as_bytes()).is_err() {
                return;
            }
            std::thread::sleep(delay);
            if connection.write_all(body.as_bytes()).is_err() {
                return;
            }
        }
    }
}

#[test]
fn a_401_whose_body_comes_late_keeps_its_connection_for_the_retry() {
    let registry = slow_401_registry(Duration::from_millis(100));
    let proxy = Proxy::start(registry, ONE_WAY).unwrap();
    let host = proxy.addr().to_string();
    let sandbox = Sandbox::new(BIN);
    let record = register(
        &sandbox,
        &format!("{host}/team/slow:v1"),
        &[],
        &credentials(&host),
    );
    assert_eq!(record["base"], "docker.io/library/alpine:3.21");
    // Handshake, 401, manifest: the 401's body is read before the retry,
    // so its connection serves the retry.
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 3));

    // A body that does not come within a second is given up with its
    // connection (waiting for it would have kept one connection): a new
    // one serves the retry.
    let registry = slow_401_registry(Duration::from_secs(3));
    let proxy = Proxy::start(registry, ONE_WAY).unwrap();
    let host = proxy.addr().to_string();
    register(
        &sandbox,
        &format!("{host}/team/slow:v1"),
        &[],
        &credentials(&host),
    );
    assert_eq!(counted(proxy.settled(SETTLE)), cost(2, 4));
}

// ------------------------------------------------------------- stores

const RECORD_ARGS: [&str; 13] = [
    "register",
    "--image",
    "registry.example.com/apps/web:1.0",
    "--base",
    "registry.example.com/bases/alpine:3.21",
    "--platform",
    "linux/amd64",
    "--revision",
    "a3f8b1c",
    "--project",
    "team/web",
    "--built-at",
    "2026-04-01T10:00:00Z",
];

fn publish(sandbox: &Sandbox, env: &[(&str, &str)]) -> Run {
    let run = sandbox.run(RECORD_ARGS, env);
    run.expect_code(0);
    run
}

#[test]
fn gitlab_publishes_with_one_put() {
    let server = gitlab::Emulator::start();
    server.add_project(7, "platform/base-images", gitlab::Visibility::Private);
    server.add_user("maintainer");
    server.add_member(7, "maintainer", gitlab::Role::Maintainer);
    server.add_personal_token("glpat-rt-SECRET", "maintainer", gitlab::Scope::Api);
    let proxy = proxy_to(&server.url());
    let url = format!("http://{}", proxy.addr());
    let env = [
        ("IMGLIFE_REGISTRY__PROVIDER", "gitlab"),
        ("IMGLIFE_REGISTRY__URL", url.as_str()),
        ("IMGLIFE_REGISTRY__PROJECT_ID", "platform/base-images"),
        ("GITLAB_TOKEN", "glpat-rt-SECRET"),
    ];
    let sandbox = Sandbox::new(BIN);
    publish(&sandbox, &env);
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 2));
    let requests: Vec<String> = server.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(requests, ["PUT"]);
    // Registering again (duplicates allowed, GitLab's default): the same.
    proxy.reset();
    publish(&sandbox, &env);
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 2));
}

#[test]
fn s3_publishes_with_one_put() {
    let server = S3Server::start();
    server.create_bucket("records");
    let proxy = proxy_to(&server.url());
    let url = format!("http://{}", proxy.addr());
    let env = [
        ("IMGLIFE_REGISTRY__PROVIDER", "s3"),
        ("IMGLIFE_REGISTRY__URL", url.as_str()),
        ("IMGLIFE_REGISTRY__BUCKET", "records"),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
    ];
    let sandbox = Sandbox::new(BIN);
    publish(&sandbox, &env);
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 2));
    let requests: Vec<String> = server.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(requests, ["PUT"]);
}

#[test]
fn gitea_publishes_with_the_upload_and_one_listing() {
    let server = gitea::Emulator::start();
    server.add_org("platform", gitea::Visibility::Private);
    server.add_user("ci", gitea::Visibility::Public);
    server.add_member("platform", "ci", gitea::Access::Write);
    server.add_token("gitea-rt-SECRET", "ci", gitea::Scope::WritePackage);
    let proxy = proxy_to(&server.url());
    let url = format!("http://{}", proxy.addr());
    let env = [
        ("IMGLIFE_REGISTRY__PROVIDER", "gitea"),
        ("IMGLIFE_REGISTRY__URL", url.as_str()),
        ("IMGLIFE_REGISTRY__OWNER", "platform"),
        ("GITEA_TOKEN", "gitea-rt-SECRET"),
    ];
    let sandbox = Sandbox::new(BIN);
    let requests = || -> Vec<String> {
        server
            .requests()
            .iter()
            .map(|r| {
                let last = r.path.rsplit('/').next().unwrap_or_default();
                let last = if last.starts_with("record-") {
                    "<file>"
                } else {
                    last
                };
                format!("{} {last}", r.method)
            })
            .collect()
    };
    // A new record: the upload, then the listing that finds nothing older.
    publish(&sandbox, &env);
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 3));
    assert_eq!(requests(), ["PUT <file>", "GET files"]);
    // The same document again: 409, then one listing shows it is the
    // newest record already.
    server.reset_requests();
    proxy.reset();
    publish(&sandbox, &env);
    assert_eq!(requests(), ["PUT <file>", "GET files"]);
    assert_eq!(counted(proxy.settled(SETTLE)), cost(1, 3));
}
