//! The built binary against a real S3 server that checks every signature
//! (s3s-fs 0.14.1, in this process: `imglife_testkit::s3`): register,
//! overwrite, a prefix, 2,500 records in three list pages, concurrent
//! registers, purge (and purge racing a register), the answers of
//! `app list` and `status` against the filesystem store's for the same
//! fleet, and the errors: a wrong secret, a missing bucket, no credentials,
//! a closed port. Credentials from a profile and from web identity (STS
//! answered by a small fake) are covered too; no secret ever reaches the
//! output.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use imglife_testkit::fixtures::{self, Spec, Stored};
use imglife_testkit::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use imglife_testkit::{Run, Sandbox};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const BUCKET: &str = "records";
const FIXED_NEWEST: i64 = 1_775_037_600;
const IMAGE: &str = "registry.example.com/apps/myservice:1.2.0";
const KEY: &str = "registry.example.com+apps+myservice/1.2.0.json";

/// The variables that select the S3 store on `server`.
fn s3_env(server: &S3Server, bucket: &str, prefix: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        ("IMGLIFE_REGISTRY__PROVIDER", "s3".to_owned()),
        ("IMGLIFE_REGISTRY__URL", server.url()),
        ("IMGLIFE_REGISTRY__BUCKET", bucket.to_owned()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ("IMGLIFE_REGISTRY__RETRY_BUDGET_SECS", "5".to_owned()),
    ];
    if let Some(prefix) = prefix {
        env.push(("IMGLIFE_REGISTRY__PREFIX", prefix.to_owned()));
    }
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn run(sandbox: &Sandbox, args: &[&str], env: &[(String, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sandbox.run(args, &env)
}

/// `env` with `name` set to `value` (replaced when present).
fn with(env: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = env.iter().filter(|(k, _)| k != name).cloned().collect();
    env.push((name.to_owned(), value.to_owned()));
    env
}

fn without(env: &[(String, String)], names: &[&str]) -> Vec<(String, String)> {
    env.iter()
        .filter(|(k, _)| !names.contains(&k.as_str()))
        .cloned()
        .collect()
}

fn register_args(revision: &str) -> Vec<&str> {
    vec![
        "register",
        "--image",
        IMAGE,
        "--base",
        "registry.example.com/bases/alpine:3.21.3-core1.0.0",
        "--platform",
        "linux/amd64",
        "--revision",
        revision,
        "--project",
        "myteam/myservice",
        "--built-at",
        "2026-04-01T10:00:00Z",
    ]
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

fn fleet(n: usize) -> Vec<Stored> {
    fixtures::fleet(n, FIXED_NEWEST)
        .iter()
        .map(Spec::store)
        .collect()
}

/// Writes `records` into the bucket behind S3's back (as files of
/// s3s-fs), under `prefix`.
fn seed(server: &S3Server, prefix: &str, records: &[Stored]) {
    for r in records {
        server.put_file(
            BUCKET,
            &format!("{prefix}{}/{}.json", r.name, r.version),
            &r.bytes,
        );
    }
}

fn assert_no_secret(run: &Run, secret: &str) {
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "the secret leaked: {run:#?}"
    );
}

#[test]
fn s3_register_stores_the_dry_run_bytes_under_the_prefix_and_overwrites() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server, BUCKET, Some("/ci/builds/"));

    let dry = run(
        &sandbox,
        &[
            &register_args("a3f8b1c")[..],
            &["--dry-run", "--output", "json"],
        ]
        .concat(),
        &env,
    );
    dry.expect_code(0);
    let registered = run(&sandbox, &register_args("a3f8b1c"), &env);
    registered.expect_code(0);
    let object = format!("ci/builds/{KEY}");
    assert_eq!(
        server.file(BUCKET, &object).as_deref(),
        Some(dry.stdout.as_bytes()),
        "the object holds exactly the dry run's document"
    );
    assert!(
        registered
            .stdout
            .contains(&format!("Stored     s3://{BUCKET}/{object}")),
        "{registered:#?}"
    );
    let puts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 1, "one object per record: {puts:#?}");
    assert_eq!(
        puts[0].path,
        format!("/{BUCKET}/ci/builds/registry.example.com%2Bapps%2Bmyservice/1.2.0.json")
    );
    assert_eq!(puts[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        server.keys(BUCKET),
        std::slice::from_ref(&object),
        "nothing else was written"
    );

    // Registering again replaces the record.
    run(&sandbox, &register_args("b4c9d2e"), &env).expect_code(0);
    let listed = run(&sandbox, &["app", "list", "--output", "json"], &env);
    listed.expect_code(0);
    let listed = json(&listed);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["revision"], "b4c9d2e");
    assert_eq!(server.keys(BUCKET), [object]);

    // Another prefix of the same bucket holds none of it.
    let elsewhere = with(&env, "IMGLIFE_REGISTRY__PREFIX", "ci/other");
    let listed = run(&sandbox, &["app", "list", "--output", "json"], &elsewhere);
    listed.expect_code(0);
    assert_eq!(json(&listed), serde_json::json!([]));
}

#[test]
fn s3_wrong_secret_is_signature_does_not_match_and_the_secret_is_never_shown() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let sandbox = Sandbox::new(BIN);
    let secret = "wr0ng-SECRET-never-printed";
    let env = with(
        &s3_env(&server, BUCKET, None),
        "AWS_SECRET_ACCESS_KEY",
        secret,
    );
    for args in [
        register_args("a3f8b1c"),
        vec!["app", "list"],
        vec!["status"],
        vec!["app", "purge"],
    ] {
        let failed = run(
            &sandbox,
            &[&["--log-level", "trace"][..], &args].concat(),
            &env,
        );
        failed.expect_code(1);
        assert!(failed.stdout.is_empty(), "{failed:#?}");
        assert!(
            failed.stderr.contains("SignatureDoesNotMatch")
                && failed.stderr.contains("check AWS_SECRET_ACCESS_KEY")
                && failed.stderr.contains(&format!("s3://{BUCKET}/")),
            "{failed:#?}"
        );
        assert_no_secret(&failed, secret);
    }
    assert!(server.keys(BUCKET).is_empty());

    // An unknown key id is named as such.
    let env = with(
        &s3_env(&server, BUCKET, None),
        "AWS_ACCESS_KEY_ID",
        "AKIAUNKNOWN",
    );
    let failed = run(&sandbox, &["app", "list"], &env);
    failed.expect_code(1);
    assert!(failed.stderr.contains("AWS_ACCESS_KEY_ID"), "{failed:#?}");
}

#[test]
fn s3_missing_bucket_is_no_such_bucket_and_names_it() {
    let server = S3Server::start();
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server, "no-such-bucket", Some("builds"));
    for args in [register_args("a3f8b1c"), vec!["app", "list"]] {
        let failed = run(&sandbox, &args, &env);
        failed.expect_code(1);
        assert!(
            failed.stderr.contains("NoSuchBucket") && failed.stderr.contains("no-such-bucket"),
            "{failed:#?}"
        );
        assert!(failed.stderr.contains("registry.bucket"), "{failed:#?}");
        assert_eq!(
            failed.stderr.lines().count(),
            1,
            "one error line: {failed:#?}"
        );
    }
}

#[test]
fn s3_configuration_and_connection_errors_say_what_to_fix() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server, BUCKET, None);

    let failed = run(
        &sandbox,
        &["app", "list"],
        &without(&env, &["IMGLIFE_REGISTRY__BUCKET"]),
    );
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("registry.bucket is missing"),
        "{failed:#?}"
    );

    // No credentials anywhere, and no instance metadata service answers.
    let bare = with(
        &without(&env, &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]),
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "http://127.0.0.1:1",
    );
    let failed = run(&sandbox, &["app", "list"], &bare);
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("no AWS credentials") && failed.stderr.contains("AWS_PROFILE"),
        "{failed:#?}"
    );

    // Without registry.region, the environment's region, named when wrong;
    // registry.region wins over it.
    let failed = run(
        &sandbox,
        &["app", "list"],
        &with(&env, "AWS_REGION", "eu west"),
    );
    failed.expect_code(1);
    assert!(
        failed
            .stderr
            .contains("AWS_REGION (the region, as registry.region is not set)")
            && failed.stderr.contains("'eu west' is not a region"),
        "{failed:#?}"
    );
    let failed = run(
        &sandbox,
        &["app", "list"],
        &with(&env, "AWS_DEFAULT_REGION", "eu/west"),
    );
    failed.expect_code(1);
    assert!(failed.stderr.contains("AWS_DEFAULT_REGION"), "{failed:#?}");
    let chosen = with(
        &with(&env, "AWS_REGION", "eu west"),
        "IMGLIFE_REGISTRY__REGION",
        "garage",
    );
    run(&sandbox, &["app", "list"], &chosen).expect_code(0);

    // A closed port: unreachable, said once, not retried for long.
    let closed = with(&env, "IMGLIFE_REGISTRY__URL", "http://127.0.0.1:1");
    let failed = run(&sandbox, &["app", "list"], &closed);
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("cannot connect to S3 at 127.0.0.1"),
        "{failed:#?}"
    );
}

fn fs_env() -> [(&'static str, &'static str); 2] {
    [
        ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
        ("IMGLIFE_REGISTRY__PATH", "records"),
    ]
}

#[test]
fn s3_lists_2500_records_in_three_pages() {
    let records = fleet(2500);
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    seed(&server, "fleet/", &records);
    // Not records: beside them, and outside the prefix.
    server.put_file(BUCKET, "fleet/README.md", b"records\n");
    server.put_file(BUCKET, "other/registry.example.com+apps+x/1.0.json", b"{}");
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server, BUCKET, Some("fleet"));

    let listed = run(&sandbox, &["app", "list", "--output", "json"], &env);
    listed.expect_code(0);
    assert_eq!(json(&listed).as_array().map(Vec::len), Some(2500));
    let requests = server.requests();
    let pages: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.query
                .as_deref()
                .is_some_and(|q| q.contains("list-type=2"))
        })
        .collect();
    assert_eq!(pages.len(), 3, "2,501 objects at 1,000 a page: {pages:#?}");
    assert!(
        pages[1..].iter().all(|p| p
            .query
            .as_deref()
            .is_some_and(|q| q.contains("continuation-token="))),
        "{pages:#?}"
    );
    let downloads = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(".json"))
        .count();
    assert_eq!(
        downloads, 2500,
        "one download per record, none for the others"
    );

    let fs_sandbox = Sandbox::new(BIN);
    fixtures::write_fs(&fs_sandbox.path().join("records"), &records);
    let on_fs = fs_sandbox.run(["app", "list", "--output", "json"], &fs_env());
    assert_eq!(
        listed.stdout, on_fs.stdout,
        "the same answer as the filesystem store"
    );

    // registry.max_records bounds the listing: an error, never a cut list.
    let capped = with(&env, "IMGLIFE_REGISTRY__MAX_RECORDS", "1500");
    let failed = run(&sandbox, &["app", "list"], &capped);
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("more than 1500 objects") && failed.stdout.is_empty(),
        "{failed:#?}"
    );
}

#[test]
fn s3_list_and_status_answer_as_the_filesystem_store() {
    let records = fleet(300);
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    seed(&server, "", &records);
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server, BUCKET, None);
    let fs_sandbox = Sandbox::new(BIN);
    fixtures::write_fs(&fs_sandbox.path().join("records"), &records);
    for args in [
        vec!["app", "list"],
        vec!["app", "list", "--project", "team-3/app-003"],
        vec![
            "app",
            "list",
            "--base",
            "registry.example.com/bases/alpine:3.21",
            "--output",
            "json",
        ],
        vec!["status", "--output", "json"],
        vec!["status", "--output", "markdown"],
        vec!["status", "--base", "registry.example.com/bases/debian"],
    ] {
        let on_s3 = run(&sandbox, &args, &env);
        on_s3.expect_code(0);
        let on_fs = fs_sandbox.run(&args, &fs_env());
        on_fs.expect_code(0);
        assert_eq!(on_s3.stdout, on_fs.stdout, "{args:?}");
        assert!(
            on_s3.stdout.lines().count() > 2,
            "{args:?} selected something"
        );
    }
}

#[test]
fn s3_concurrent_registers_all_land() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server, BUCKET, Some("builds"));
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut command = sandbox.command();
            // Four apps, two writers each: the same key written at once.
            command.args([
                "register",
                "--image",
                &format!("registry.example.com/apps/app-{}:1.0", i % 4),
                "--base",
                "registry.example.com/bases/alpine:3.21",
                "--platform",
                "linux/amd64",
                "--revision",
                &format!("rev{i}"),
                "--project",
                "team/app",
            ]);
            for (k, v) in &env {
                command.env(k, v);
            }
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("register starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("register ends");
        assert!(output.status.success(), "{output:?}");
    }
    let listed = run(&sandbox, &["app", "list", "--output", "json"], &env);
    listed.expect_code(0);
    let listed = json(&listed);
    let images: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["image"].as_str())
        .collect();
    assert_eq!(images.len(), 4, "{listed}");
    for record in listed.as_array().expect("array") {
        let app: usize = record["image"]
            .as_str()
            .and_then(|i| i.strip_prefix("registry.example.com/apps/app-"))
            .and_then(|i| i.strip_suffix(":1.0"))
            .and_then(|i| i.parse().ok())
            .expect("an app of the test");
        let revision = record["revision"].as_str().expect("revision");
        assert!(
            revision == format!("rev{app}") || revision == format!("rev{}", app + 4),
            "one of the two writers' whole record: {record}"
        );
    }
}

#[test]
fn s3_purge_deletes_what_the_filesystem_store_deletes() {
    let records = fleet(60);
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    seed(&server, "", &records);
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server, BUCKET, None);
    let fs_sandbox = Sandbox::new(BIN);
    fixtures::write_fs(&fs_sandbox.path().join("records"), &records);
    let fs_env = fs_env();
    let args = [
        "app",
        "purge",
        "--keep-last",
        "2",
        "--max-age-days",
        "1",
        "--output",
        "json",
    ];

    let planned = run(&sandbox, &[&args[..], &["--dry-run"]].concat(), &env);
    planned.expect_code(0);
    assert_eq!(server.keys(BUCKET).len(), 60, "a dry run deletes nothing");
    let purged = run(&sandbox, &args, &env);
    purged.expect_code(0);
    let on_fs = fs_sandbox.run(args, &fs_env);
    on_fs.expect_code(0);
    assert_eq!(purged.stdout, on_fs.stdout, "the same records go");
    let deleted = json(&purged)["deleted"].as_array().map_or(0, Vec::len);
    assert!(deleted > 0, "{}", purged.stdout);
    assert_eq!(server.keys(BUCKET).len(), 60 - deleted);
    let listed = run(&sandbox, &["app", "list"], &env);
    let listed_fs = fs_sandbox.run(["app", "list"], &fs_env);
    assert_eq!(listed.stdout, listed_fs.stdout);
    // Each deletion carried the ETag of the record it checked.
    assert!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .all(|r| r.if_match.is_some()),
        "{:#?}",
        server.requests()
    );
}

/// The record web:1 is rewritten exactly between purge's check (its read
/// of the record and ETag) and its DeleteObject. A server that honours
/// If-Match on DeleteObject (as AWS's conditional deletes) refuses the
/// deletion, and purge says it skipped the record.
#[test]
fn s3_purge_keeps_a_record_rewritten_between_its_check_and_its_delete() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    server.honour_if_match_on_delete(true);
    let sandbox = Sandbox::new(BIN);
    let env = s3_env(&server, BUCKET, None);
    let ago = |days: i64| {
        (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days)).to_string()
    };
    let register = |tag: &str, built_at: &str| {
        run(
            &sandbox,
            &[
                "register",
                "--image",
                &format!("registry.example.com/apps/web:{tag}"),
                "--base",
                "registry.example.com/bases/alpine:3.21",
                "--platform",
                "linux/amd64",
                "--revision",
                "a3f8b1c",
                "--project",
                "team/web",
                "--built-at",
                built_at,
            ],
            &env,
        )
    };
    register("2", &ago(1)).expect_code(0);
    register("1", &ago(200)).expect_code(0);
    let key = "registry.example.com+apps+web/1.json";
    let newer = register("1", &ago(0));
    newer.expect_code(0);
    let rewritten = server.file(BUCKET, key).expect("web:1");
    register("1", &ago(200)).expect_code(0);
    {
        let root = server.root().join(BUCKET).join(key);
        server.before_next_delete(move || {
            std::fs::write(&root, &rewritten).expect("rewrite");
        });
    }
    let purged = run(
        &sandbox,
        &[
            "app",
            "purge",
            "--keep-last",
            "1",
            "--max-age-days",
            "30",
            "--output",
            "json",
        ],
        &env,
    );
    purged.expect_code(0);
    let report = json(&purged);
    assert_eq!(report["deleted"], serde_json::json!([]), "{report}");
    assert_eq!(
        report["skipped"][0]["key"], "registry.example.com+apps+web/1",
        "{report}"
    );
    assert!(
        server.file(BUCKET, key).is_some(),
        "the record registered again survives"
    );
}

#[test]
fn s3_credentials_from_a_profile() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let sandbox = Sandbox::new(BIN);
    sandbox.write(
        ".aws/credentials",
        format!(
            "[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n\n\
             [ci]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        ),
    );
    let env = without(
        &s3_env(&server, BUCKET, None),
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    run(
        &sandbox,
        &register_args("a3f8b1c"),
        &with(&env, "AWS_PROFILE", "ci"),
    )
    .expect_code(0);
    let failed = run(&sandbox, &["app", "list"], &env);
    failed.expect_code(1);
    assert!(
        failed
            .stderr
            .contains("aws_access_key_id of profile 'default'"),
        "the default profile's unknown key is named: {failed:#?}"
    );
    let missing = run(
        &sandbox,
        &["app", "list"],
        &with(&env, "AWS_PROFILE", "nope"),
    );
    missing.expect_code(1);
    assert!(missing.stderr.contains("AWS_PROFILE=nope"), "{missing:#?}");
}

/// A fake STS: answers `AssumeRoleWithWebIdentity` with `answer` (status
/// and body) and records each request line and body.
fn fake_sts(answer: (u16, String)) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buffer = [0u8; 8192];
            // Headers, then as much body as Content-Length says.
            while let Ok(n) = stream.read(&mut buffer)
                && n > 0
            {
                request.extend_from_slice(&buffer[..n]);
                let text = String::from_utf8_lossy(&request).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            log.lock()
                .expect("log")
                .push(String::from_utf8_lossy(&request).into_owned());
            let (status, body) = &answer;
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

#[test]
fn s3_credentials_from_web_identity() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let sandbox = Sandbox::new(BIN);
    let token = "eyJ-web-identity-TOKEN-secret";
    let token_file = sandbox.write("oidc-token", token);
    let expiration = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    let granted = format!(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <AssumeRoleWithWebIdentityResult><Credentials>\
         <AccessKeyId>{ACCESS_KEY}</AccessKeyId><SecretAccessKey>{SECRET_KEY}</SecretAccessKey>\
         <SessionToken>session-TOKEN</SessionToken><Expiration>{expiration}</Expiration>\
         </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
    );
    let (sts, seen) = fake_sts((200, granted));
    let env = without(
        &s3_env(&server, BUCKET, None),
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    let env = with(
        &env,
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        token_file.to_str().expect("utf-8"),
    );
    let env = with(
        &env,
        "AWS_ROLE_ARN",
        "arn:aws:iam::123456789012:role/imglife-ci",
    );
    let env = with(&env, "AWS_ENDPOINT_URL_STS", &sts);
    let registered = run(
        &sandbox,
        &[&["--log-level", "trace"][..], &register_args("a3f8b1c")].concat(),
        &env,
    );
    registered.expect_code(0);
    // Neither the web identity token nor the temporary credentials show,
    // even in trace logs.
    for secret in [token, "session-TOKEN", SECRET_KEY] {
        assert_no_secret(&registered, secret);
    }
    let asked = seen.lock().expect("log").join("\n");
    assert!(
        asked.contains("AssumeRoleWithWebIdentity")
            && asked.contains(token)
            && asked.contains("imglife-ci"),
        "{asked}"
    );
    assert!(server.file(BUCKET, KEY).is_some());

    // STS refusing the token: its words, never the token.
    let refused = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>\
                   <Message>Couldn't retrieve verification key from your identity provider</Message>\
                   </Error></ErrorResponse>";
    let (sts, _) = fake_sts((400, refused.to_owned()));
    let failed = run(
        &sandbox,
        &["--log-level", "trace", "app", "list"],
        &with(&env, "AWS_ENDPOINT_URL_STS", &sts),
    );
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("InvalidIdentityToken") && failed.stderr.contains("web identity"),
        "{failed:#?}"
    );
    assert_no_secret(&failed, token);
}
