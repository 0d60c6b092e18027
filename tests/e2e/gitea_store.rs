//! The built binary against the Gitea emulator (`imglife_testkit::gitea`):
//! register (and registering again, the 409 path, a 409 race), the token's
//! errors and its absence from every output, listing over several pages,
//! status and purge (also racing a register held at a gate), redirected
//! downloads, `registry.repo`, configuration errors, and the same answers
//! as the filesystem store for the same fleet.

use std::process::Stdio;
use std::time::Duration;

use imglife_testkit::fixtures::{self, Spec, Stored};
use imglife_testkit::gitea::{Access, Emulator, Fault, Gate, Scope, Visibility};
use imglife_testkit::{Run, Sandbox};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const TOKEN: &str = "gitea-writer-SECRET-0123456789";
const OWNER: &str = "platform";
const FIXED_NEWEST: i64 = 1_775_037_600;
const WEB: &str = "registry.example.com+apps+web";
/// A bound for a broken test, not a synchronisation.
const ARRIVAL: Duration = Duration::from_secs(60);

/// Organisation `platform` (private), whose member `ci` may write its
/// packages with the token `TOKEN` (`write:package`).
fn emulator() -> Emulator {
    let gitea = Emulator::start();
    gitea.add_org(OWNER, Visibility::Private);
    gitea.add_user("ci", Visibility::Public);
    gitea.add_member(OWNER, "ci", Access::Write);
    gitea.add_token(TOKEN, "ci", Scope::WritePackage);
    gitea
}

fn env(gitea: &Emulator) -> Vec<(String, String)> {
    vec![
        ("IMGLIFE_REGISTRY__PROVIDER".to_owned(), "gitea".to_owned()),
        ("IMGLIFE_REGISTRY__URL".to_owned(), gitea.url()),
        ("IMGLIFE_REGISTRY__OWNER".to_owned(), OWNER.to_owned()),
        (
            "IMGLIFE_REGISTRY__RETRY_BUDGET_SECS".to_owned(),
            "10".to_owned(),
        ),
        ("GITEA_TOKEN".to_owned(), TOKEN.to_owned()),
    ]
}

/// Runs the binary with the store's variables, `extra` added or replacing
/// them (an empty value removes the variable).
fn run(sandbox: &Sandbox, gitea: &Emulator, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let mut vars = env(gitea);
    for (name, value) in extra {
        vars.retain(|(n, _)| n != name);
        if !value.is_empty() {
            vars.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sandbox.run(args, &vars)
}

fn register_args(tag: &str, built_at: &str) -> Vec<String> {
    [
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
    ]
    .map(str::to_owned)
    .to_vec()
}

fn register(sandbox: &Sandbox, gitea: &Emulator, tag: &str, built_at: &str) -> Run {
    let args = register_args(tag, built_at);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(sandbox, gitea, &args, &[])
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

fn assert_no_secret(run: &Run) {
    for (what, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains("SECRET"),
            "the token leaked on {what}: {text}"
        );
    }
}

fn ago(days: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days)).to_string()
}

fn fleet(n: usize, newest: i64) -> Vec<Stored> {
    fixtures::fleet(n, newest).iter().map(Spec::store).collect()
}

fn record_file(bytes: &[u8]) -> String {
    imglife_testkit::gitea::record_file_name(bytes)
}

/// Seeds `records` as imglife would have stored them, plus another tool's
/// package.
fn emulator_with(records: &[Stored]) -> Emulator {
    let gitea = emulator();
    for r in records {
        gitea.seed_file(OWNER, &r.name, &r.version, &record_file(&r.bytes), &r.bytes);
    }
    gitea.seed_file(OWNER, "eol-data", "2026.1", "eol.yaml", b"alpine: {}\n");
    gitea
}

// ------------------------------------------------------------- register

#[test]
fn registers_a_record_as_a_generic_package() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    let done = register(&sandbox, &gitea, "1.0", "2026-04-01T10:00:00Z");
    done.expect_code(0);
    assert!(
        done.stdout.contains(&format!(
            "Gitea {}/{OWNER}/-/packages/generic/{WEB}/1.0",
            gitea.url()
        )),
        "{}",
        done.stdout
    );
    let files = gitea.files(OWNER, WEB, "1.0");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        files[0].name,
        record_file(&files[0].bytes),
        "named after its content"
    );
    let record: serde_json::Value = serde_json::from_slice(&files[0].bytes).expect("json");
    assert_eq!(record["image"], "registry.example.com/apps/web:1.0");

    // The bytes are exactly those of `--dry-run --output json`.
    let mut args = register_args("1.0", "2026-04-01T10:00:00Z");
    args.extend(["--dry-run", "--output", "json"].map(str::to_owned));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dry = run(&sandbox, &gitea, &args, &[]);
    dry.expect_code(0);
    assert_eq!(dry.stdout.as_bytes(), files[0].bytes.as_slice());

    let requests = gitea.requests();
    let put = requests.iter().find(|r| r.method == "PUT").expect("a PUT");
    assert_eq!(
        put.path,
        format!("/api/packages/{OWNER}/generic/{WEB}/1.0/{}", files[0].name)
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some(&format!("token {TOKEN}"))),
        "every request carries the token as `Authorization: token`"
    );
    assert_no_secret(&done);
}

#[test]
fn registering_again_replaces_the_record_without_a_gap() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    register(&sandbox, &gitea, "1.0", "2026-04-01T10:00:00Z").expect_code(0);
    let first = gitea.files(OWNER, WEB, "1.0");
    gitea.reset_requests();
    let args = register_args("1.0", "2026-04-02T10:00:00Z");
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--log-level", "info"]);
    let again = run(&sandbox, &gitea, &args, &[]);
    again.expect_code(0);
    assert!(
        again.stderr.contains("replaced the earlier record"),
        "said at info level: {}",
        again.stderr
    );
    let files = gitea.files(OWNER, WEB, "1.0");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_ne!(files[0].id, first[0].id);
    assert!(String::from_utf8_lossy(&files[0].bytes).contains("2026-04-02T10:00:00Z"));
    // The new record was uploaded before the old one was deleted.
    let order: Vec<String> = gitea
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" || r.method == "DELETE")
        .map(|r| {
            format!(
                "{} {}",
                r.method,
                r.path.rsplit('/').next().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            format!("PUT {}", files[0].name),
            format!("DELETE {}", first[0].name)
        ]
    );
    let listed = run(&sandbox, &gitea, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    assert_eq!(json(&listed)[0]["built_at"], "2026-04-02T10:00:00Z");
}

/// Gitea answers 409 only for the very same document: nothing to do when
/// it is the newest record; when it is an older file (a replacement cut
/// short before its clean-up), it is deleted and uploaded again.
#[test]
fn the_same_record_stored_again_takes_the_409_path() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    register(&sandbox, &gitea, "1.0", "2026-04-01T10:00:00Z").expect_code(0);
    let a = gitea.files(OWNER, WEB, "1.0").remove(0);

    // The same again: 409, and it is already the newest record.
    gitea.reset_requests();
    register(&sandbox, &gitea, "1.0", "2026-04-01T10:00:00Z").expect_code(0);
    assert_eq!(gitea.files(OWNER, WEB, "1.0"), vec![a.clone()], "unchanged");
    assert!(gitea.requests().iter().all(|r| r.method != "DELETE"));

    // A newer record B beside it, as a replacement cut short would leave.
    let b = b"{\"image\":\"registry.example.com/apps/web:1.0\"}\n";
    gitea.seed_file(OWNER, WEB, "1.0", &record_file(b), b);
    gitea.reset_requests();
    let args = register_args("1.0", "2026-04-01T10:00:00Z");
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--log-level", "info"]);
    let again = run(&sandbox, &gitea, &args, &[]);
    again.expect_code(0);
    assert!(
        again.stderr.contains("409 Conflict") && again.stderr.contains("uploading it again"),
        "{}",
        again.stderr
    );
    let files = gitea.files(OWNER, WEB, "1.0");
    assert_eq!(
        files.len(),
        1,
        "only the record stored again is left: {files:?}"
    );
    assert_eq!(files[0].bytes, a.bytes);
    assert!(files[0].id > a.id, "uploaded again, so it is the newest");
    let writes: Vec<String> = gitea
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" || r.method == "DELETE")
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(
        writes,
        ["PUT", "DELETE", "PUT", "DELETE"],
        "409, delete, upload, clean-up"
    );
}

#[test]
fn a_409_race_on_the_second_upload_is_retried_once() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    register(&sandbox, &gitea, "1.0", "2026-04-01T10:00:00Z").expect_code(0);
    let b = b"{\"image\":\"registry.example.com/apps/web:1.0\"}\n";
    gitea.seed_file(OWNER, WEB, "1.0", &record_file(b), b);
    // The first PUT meets the real file (409); the second, after the
    // delete, meets another writer's copy (an injected 409); the third
    // goes through.
    gitea.push_faults(
        "PUT",
        "/record-",
        vec![
            Fault::Delay(Duration::ZERO),
            Fault::Status {
                code: 409,
                retry_after: None,
            },
        ],
    );
    gitea.reset_requests();
    let args = register_args("1.0", "2026-04-01T10:00:00Z");
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--log-level", "info"]);
    let done = run(&sandbox, &gitea, &args, &[]);
    done.expect_code(0);
    assert!(done.stderr.contains("retrying once"), "{}", done.stderr);
    let puts = gitea
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 3);
    let files = gitea.files(OWNER, WEB, "1.0");
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(String::from_utf8_lossy(&files[0].bytes).contains("2026-04-01T10:00:00Z"));
}

/// Gitea compares versions case-insensitively: `V1` would land in the
/// version of `v1`. The register is refused and the record of `v1` kept.
#[test]
fn tags_that_differ_only_in_case_are_refused_not_mixed() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    register(&sandbox, &gitea, "v1", "2026-04-01T10:00:00Z").expect_code(0);
    let before = gitea.files(OWNER, WEB, "v1");
    let failed = register(&sandbox, &gitea, "V1", "2026-04-02T10:00:00Z");
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("case-insensitively") && failed.stderr.contains("version v1"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        gitea.files(OWNER, WEB, "v1"),
        before,
        "the record of v1 is untouched"
    );
    assert_eq!(
        gitea.versions(OWNER),
        vec![(WEB.to_owned(), "v1".to_owned())]
    );
}

// ------------------------------------------------------ token and errors

#[test]
fn a_rejected_token_is_a_401_with_the_hint_and_never_shown() {
    let gitea = emulator();
    gitea.add_user("reader", Visibility::Public);
    gitea.add_member(OWNER, "reader", Access::Read);
    gitea.add_token("gitea-reader-SECRET-1", "reader", Scope::ReadPackage);
    gitea.add_token("gitea-norepo-SECRET-2", "ci", Scope::NoPackage);
    let sandbox = Sandbox::new(BIN);
    let hint = "token missing, wrong, or lacking the package scope";
    for token in [
        "gitea-wrong-SECRET-3",
        "gitea-reader-SECRET-1",
        "gitea-norepo-SECRET-2",
    ] {
        let args = register_args("1.0", "2026-04-01T10:00:00Z");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let failed = run(&sandbox, &gitea, &args, &[("GITEA_TOKEN", token)]);
        failed.expect_code(1);
        assert!(
            failed.stderr.contains("401 Unauthorized") && failed.stderr.contains(hint),
            "{token}: {}",
            failed.stderr
        );
        assert_no_secret(&failed);
    }
    // The list API echoes an unknown token in its 401 text; it is masked.
    let listed = run(
        &sandbox,
        &gitea,
        &["app", "list"],
        &[("GITEA_TOKEN", "gitea-wrong-SECRET-3")],
    );
    listed.expect_code(1);
    assert!(
        listed.stderr.contains("access token does not exist"),
        "{}",
        listed.stderr
    );
    assert!(listed.stderr.contains(hint), "{}", listed.stderr);
    assert_no_secret(&listed);
    assert_eq!(listed.stdout, "");
    // A token without the package scope is refused by the list API with 403.
    let scope = run(
        &sandbox,
        &gitea,
        &["status"],
        &[("GITEA_TOKEN", "gitea-norepo-SECRET-2")],
    );
    scope.expect_code(1);
    assert!(scope.stderr.contains("403 Forbidden"), "{}", scope.stderr);
    assert!(scope.stderr.contains("read:package"), "{}", scope.stderr);
    // No token at all.
    let args = register_args("1.0", "2026-04-01T10:00:00Z");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let anonymous = run(&sandbox, &gitea, &args, &[("GITEA_TOKEN", "")]);
    anonymous.expect_code(1);
    assert!(
        anonymous.stderr.contains("GITEA_TOKEN is not set"),
        "{}",
        anonymous.stderr
    );
    assert!(gitea.versions(OWNER).is_empty());
}

#[test]
fn no_token_in_output_even_at_trace_level() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    gitea.push_faults(
        "PUT",
        "/generic/",
        vec![Fault::Status {
            code: 503,
            retry_after: None,
        }],
    );
    gitea.push_faults(
        "GET",
        "/api/v1/packages/",
        vec![Fault::Status {
            code: 502,
            retry_after: None,
        }],
    );
    let args = register_args("1.0", "2026-04-01T10:00:00Z");
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--log-level", "trace"]);
    let done = run(&sandbox, &gitea, &args, &[]);
    done.expect_code(0);
    assert!(
        done.stderr.contains("retrying"),
        "the retry is logged: {}",
        done.stderr
    );
    assert_no_secret(&done);
    let listed = run(
        &sandbox,
        &gitea,
        &["--log-level", "trace", "app", "list", "--output", "json"],
        &[],
    );
    listed.expect_code(0);
    assert_no_secret(&listed);
    assert_eq!(json(&listed).as_array().map(Vec::len), Some(1));
}

#[test]
fn configuration_errors_name_the_key_before_any_request() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    let no_owner = run(
        &sandbox,
        &gitea,
        &["app", "list"],
        &[("IMGLIFE_REGISTRY__OWNER", "")],
    );
    no_owner.expect_code(1);
    assert!(
        no_owner.stderr.contains("registry.owner is missing"),
        "{}",
        no_owner.stderr
    );
    let no_url = run(
        &sandbox,
        &gitea,
        &["status"],
        &[("IMGLIFE_REGISTRY__URL", "")],
    );
    no_url.expect_code(1);
    assert!(
        no_url.stderr.contains("registry.url is missing"),
        "{}",
        no_url.stderr
    );
    let path = run(
        &sandbox,
        &gitea,
        &["app", "list"],
        &[("IMGLIFE_REGISTRY__OWNER", "platform/base-images")],
    );
    path.expect_code(1);
    assert!(
        path.stderr.contains(
            "registry.owner (from variable IMGLIFE_REGISTRY__OWNER) 'platform/base-images' must be"
        ) && path.stderr.contains("registry.repo"),
        "{}",
        path.stderr
    );
    std::fs::write(
        sandbox.path().join("imglife.yaml"),
        "registry:\n  provider: gitea\n  url: https://gitea.example.com\n  owner: platform\n  repo: a/b\n",
    )
    .expect("config");
    let file = sandbox.run(["app", "list"], &[]);
    file.expect_code(1);
    assert!(
        file.stderr.contains("registry.repo (from config file") && file.stderr.contains("line 5"),
        "{}",
        file.stderr
    );
    assert!(gitea.requests().is_empty(), "nothing was asked of Gitea");
}

// ------------------------------------------------------------ read side

#[test]
fn lists_over_several_pages_and_answers_as_the_filesystem_store() {
    let records = fleet(120, FIXED_NEWEST);
    let gitea = emulator_with(&records);
    let sandbox = Sandbox::new(BIN);
    let listed = run(&sandbox, &gitea, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    let listed = json(&listed);
    assert_eq!(listed.as_array().map(Vec::len), Some(120));
    assert_eq!(
        listed[0]["image"],
        records[119].spec.image.as_str(),
        "newest first"
    );
    let pages: Vec<String> = gitea
        .requests()
        .into_iter()
        .filter(|r| r.path == format!("/api/v1/packages/{OWNER}"))
        .map(|r| r.query.unwrap_or_default())
        .collect();
    assert_eq!(
        pages.len(),
        4,
        "121 packages at 50 a page, then the empty page that ends the list: {pages:?}"
    );
    assert!(
        pages
            .iter()
            .all(|q| q.contains("type=generic") && q.contains("limit=50"))
    );

    let fs_sandbox = Sandbox::new(BIN);
    fixtures::write_fs(&fs_sandbox.path().join("records"), &records);
    let on_fs = |args: &[&str]| {
        fs_sandbox.run(
            args,
            &[
                ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
                ("IMGLIFE_REGISTRY__PATH", "records"),
            ],
        )
    };
    for args in [
        vec!["app", "list"],
        vec!["app", "list", "--output", "json"],
        vec!["app", "list", "--project", "team-3/app-003"],
        vec![
            "app",
            "list",
            "--base",
            "registry.example.com/bases/alpine:3.21",
        ],
        vec!["status"],
        vec!["status", "--output", "json"],
        vec!["status", "--output", "markdown"],
        vec!["status", "--base", "registry.example.com/bases/debian"],
    ] {
        let gitea_run = run(&sandbox, &gitea, &args, &[]);
        gitea_run.expect_code(0);
        let fs_run = on_fs(&args);
        fs_run.expect_code(0);
        assert_eq!(gitea_run.stdout, fs_run.stdout, "{args:?}");
        assert!(
            gitea_run.stdout.lines().count() > 2,
            "{args:?} selected something"
        );
    }
}

/// The same fleet registered through the binary into Gitea and into the
/// filesystem store: `app list`, `status` and `app purge` answer the same.
#[test]
fn a_fleet_registered_into_gitea_and_fs_gives_the_same_answers() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    let fs_sandbox = Sandbox::new(BIN);
    let fs_env = [
        ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
        ("IMGLIFE_REGISTRY__PATH", "records"),
    ];
    std::fs::create_dir_all(fs_sandbox.path().join("records")).expect("records");
    let newest = jiff::Timestamp::now().as_second() - 3600;
    for spec in fixtures::fleet(24, newest) {
        let built_at = jiff::Timestamp::from_second(spec.built_at)
            .expect("time")
            .to_string();
        let args = [
            "register",
            "--image",
            &spec.image,
            "--base",
            &spec.base,
            "--platform",
            "linux/amd64",
            "--revision",
            &spec.revision,
            "--project",
            &spec.project,
            "--built-at",
            &built_at,
        ];
        run(&sandbox, &gitea, &args, &[]).expect_code(0);
        fs_sandbox.run(args, &fs_env).expect_code(0);
    }
    let purge = [
        "app",
        "purge",
        "--keep-last",
        "1",
        "--max-age-days",
        "0",
        "--output",
        "json",
    ];
    let mut dry = purge.to_vec();
    dry.push("--dry-run");
    for args in [
        vec!["app", "list", "--output", "json"],
        vec!["status", "--output", "json"],
        vec!["status", "--output", "markdown"],
        dry,
    ] {
        let on_gitea = run(&sandbox, &gitea, &args, &[]);
        on_gitea.expect_code(0);
        let on_fs = fs_sandbox.run(&args, &fs_env);
        on_fs.expect_code(0);
        assert_eq!(on_gitea.stdout, on_fs.stdout, "{args:?}");
    }
    let on_gitea = run(&sandbox, &gitea, &purge, &[]);
    on_gitea.expect_code(0);
    let on_fs = fs_sandbox.run(purge, &fs_env);
    on_fs.expect_code(0);
    assert_eq!(json(&on_gitea)["deleted"], json(&on_fs)["deleted"]);
    assert_eq!(
        json(&on_gitea)["deleted"].as_array().map(Vec::len),
        Some(21),
        "3 apps keep 1 of 8"
    );
    let list = ["app", "list"];
    assert_eq!(
        run(&sandbox, &gitea, &list, &[]).stdout,
        fs_sandbox.run(list, &fs_env).stdout
    );
}

/// An instance whose `[api] MAX_RESPONSE_ITEMS` is below 50 still lists
/// every record: the end is an empty page, never a short one.
#[test]
fn a_smaller_page_size_does_not_cut_the_list_short() {
    let records = fleet(45, FIXED_NEWEST);
    let gitea = emulator_with(&records);
    gitea.set_max_response_items(20);
    let sandbox = Sandbox::new(BIN);
    let listed = run(&sandbox, &gitea, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    assert_eq!(json(&listed).as_array().map(Vec::len), Some(45));
}

#[test]
fn a_store_failing_mid_listing_is_an_error_not_an_empty_list() {
    let records = fleet(120, FIXED_NEWEST);
    let gitea = emulator_with(&records);
    let sandbox = Sandbox::new(BIN);
    gitea.push_faults(
        "GET",
        "/api/v1/packages/platform",
        vec![Fault::Delay(Duration::ZERO)],
    );
    let faults = (0..20)
        .map(|_| Fault::Status {
            code: 502,
            retry_after: None,
        })
        .collect();
    gitea.push_faults("GET", "/api/v1/packages/platform", faults);
    let failed = run(
        &sandbox,
        &gitea,
        &["app", "list"],
        &[("IMGLIFE_REGISTRY__MAX_RETRIES", "2")],
    );
    failed.expect_code(1);
    assert!(failed.stderr.contains("502"), "{}", failed.stderr);
    assert_eq!(failed.stdout, "");
}

#[test]
fn status_and_purge_delete_through_the_api() {
    let newest = jiff::Timestamp::now().as_second() - 1800;
    let records = fleet(200, newest);
    let gitea = emulator_with(&records);
    let sandbox = Sandbox::new(BIN);
    let status = run(&sandbox, &gitea, &["status", "--output", "json"], &[]);
    status.expect_code(0);
    assert_eq!(json(&status)["applications"], 20);

    let purge_args = ["app", "purge", "--keep-last", "2", "--max-age-days", "0"];
    let mut dry_args = purge_args.to_vec();
    dry_args.extend(["--dry-run", "--output", "json"]);
    gitea.reset_requests();
    let dry = run(&sandbox, &gitea, &dry_args, &[]);
    dry.expect_code(0);
    assert_eq!(json(&dry)["deleted"].as_array().map(Vec::len), Some(160));
    assert!(
        gitea.requests().iter().all(|r| r.method == "GET"),
        "a dry run only reads"
    );

    let done = run(&sandbox, &gitea, &purge_args, &[]);
    done.expect_code(0);
    assert!(
        done.stdout.contains("├─ Deleted        160"),
        "{}",
        done.stdout
    );
    let left = run(&sandbox, &gitea, &["app", "list", "--output", "json"], &[]);
    assert_eq!(json(&left).as_array().map(Vec::len), Some(40));
    assert_eq!(
        gitea.versions(OWNER).len(),
        41,
        "each deleted record's version went with its last file; the other package stays"
    );
    assert_eq!(gitea.files(OWNER, "eol-data", "2026.1").len(), 1);
}

/// Without `GITEA_TOKEN`, a public owner's records can still be read.
#[test]
fn a_public_owner_is_readable_without_a_token() {
    let gitea = emulator();
    gitea.add_org("open", Visibility::Public);
    for r in fleet(3, FIXED_NEWEST) {
        gitea.seed_file(
            "open",
            &r.name,
            &r.version,
            &record_file(&r.bytes),
            &r.bytes,
        );
    }
    let sandbox = Sandbox::new(BIN);
    let listed = run(
        &sandbox,
        &gitea,
        &["app", "list", "--output", "json"],
        &[("GITEA_TOKEN", ""), ("IMGLIFE_REGISTRY__OWNER", "open")],
    );
    listed.expect_code(0);
    assert_eq!(json(&listed).as_array().map(Vec::len), Some(3));
    assert!(
        gitea
            .requests()
            .iter()
            .all(|r| r.header("authorization").is_none())
    );
}

#[test]
fn downloads_redirected_to_object_storage_never_carry_the_token() {
    let records = fleet(5, FIXED_NEWEST);
    let gitea = emulator_with(&records);
    gitea.set_download_redirect(true);
    let sandbox = Sandbox::new(BIN);
    let listed = run(&sandbox, &gitea, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    assert_eq!(json(&listed).as_array().map(Vec::len), Some(5));
    let storage = gitea.object_storage_requests();
    assert_eq!(storage.len(), 5, "each record came from object storage");
    for request in &storage {
        assert!(request.header("authorization").is_none(), "{request:?}");
        assert!(request.headers.iter().all(|(_, v)| !v.contains("SECRET")));
    }
}

// ---------------------------------------------------------- registry.repo

#[test]
fn registry_repo_links_each_package_once() {
    let gitea = emulator();
    gitea.add_repository(OWNER, "base-images");
    let sandbox = Sandbox::new(BIN);
    let repo = [("IMGLIFE_REGISTRY__REPO", "base-images")];
    let args = register_args("1.0", "2026-04-01T10:00:00Z");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&sandbox, &gitea, &args, &repo).expect_code(0);
    assert_eq!(
        gitea.linked_repository(OWNER, WEB).as_deref(),
        Some("base-images")
    );
    gitea.reset_requests();
    let args = register_args("2.0", "2026-04-02T10:00:00Z");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let second = run(&sandbox, &gitea, &args, &repo);
    second.expect_code(0);
    assert!(second.stderr.is_empty(), "{}", second.stderr);
    assert!(
        gitea.requests().iter().all(|r| r.method != "POST"),
        "already linked: not linked again"
    );

    // A repository that does not exist: the record is published, and a
    // warning says why the package is not linked.
    let args = register_args("3.0", "2026-04-03T10:00:00Z");
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args[2] = "registry.example.com/apps/api:3.0";
    let missing = run(
        &sandbox,
        &gitea,
        &args,
        &[("IMGLIFE_REGISTRY__REPO", "nope")],
    );
    missing.expect_code(0);
    assert!(
        missing.stderr.contains("no repository nope"),
        "{}",
        missing.stderr
    );
    // A Gitea without the link API: registry.repo is informational.
    gitea.set_link_api(false);
    args[2] = "registry.example.com/apps/worker:3.0";
    let old = run(&sandbox, &gitea, &args, &repo);
    old.expect_code(0);
    assert!(old.stderr.contains("informational"), "{}", old.stderr);
    assert_eq!(gitea.versions(OWNER).len(), 4);
}

// ------------------------------------------------- purge racing register

/// web:3 (a day old), web:2 and web:1 (old): `--keep-last 1` deletes
/// web:2 and web:1.
fn race_fleet(sandbox: &Sandbox, gitea: &Emulator) {
    register(sandbox, gitea, "3", &ago(1)).expect_code(0);
    register(sandbox, gitea, "2", &ago(100)).expect_code(0);
    register(sandbox, gitea, "1", &ago(200)).expect_code(0);
}

/// Runs purge in the background until its request reaches `gate`,
/// registers web:1 again (now the newest record), then releases purge.
fn purge_racing_a_register(sandbox: &Sandbox, gitea: &Emulator, gate: &Gate) -> (String, i32) {
    let mut purge = sandbox.command();
    purge
        .args(["app", "purge", "--keep-last", "1", "--max-age-days", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env(gitea) {
        purge.env(k, v);
    }
    let child = purge.spawn().expect("purge starts");
    assert!(gate.wait_for_arrival(ARRIVAL), "purge reached the gate");
    register(sandbox, gitea, "1", &ago(0)).expect_code(0);
    gate.release();
    let output = child.wait_with_output().expect("purge ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (text, output.status.code().unwrap_or(-1))
}

/// The `built_at` of web:1 as the store serves it now.
fn served_built_at(sandbox: &Sandbox, gitea: &Emulator) -> Option<String> {
    let listed = run(sandbox, gitea, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    json(&listed)
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["image"] == "registry.example.com/apps/web:1")
        .map(|r| r["built_at"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn a_record_registered_again_before_purge_checks_it_is_skipped() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    race_fleet(&sandbox, &gitea);
    // Hold purge's check of web:1: its second listing of the version's
    // files (the first is purge reading the record).
    let gate = Gate::new();
    gitea.push_faults(
        "GET",
        &format!("/generic/{WEB}/1/files"),
        vec![Fault::Delay(Duration::ZERO), Fault::Hold(gate.clone())],
    );
    let (output, code) = purge_racing_a_register(&sandbox, &gitea, &gate);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("Skipped") && output.contains(&format!("{WEB}/1")),
        "the skip is said: {output}"
    );
    assert!(
        output.contains("Deleted  registry.example.com/apps/web:2"),
        "{output}"
    );
    let built_at = served_built_at(&sandbox, &gitea).expect("web:1 survives");
    assert!(
        built_at > ago(1),
        "the new record is the one served: {built_at}"
    );
}

#[test]
fn a_record_registered_again_while_purge_deletes_survives() {
    let gitea = emulator();
    let sandbox = Sandbox::new(BIN);
    race_fleet(&sandbox, &gitea);
    let old = gitea.files(OWNER, WEB, "1").remove(0);
    // Hold purge's deletion of the very file it checked.
    let gate = Gate::new();
    gitea.push_faults(
        "DELETE",
        &format!("/generic/{WEB}/1/{}", old.name),
        vec![Fault::Hold(gate.clone())],
    );
    let (output, code) = purge_racing_a_register(&sandbox, &gitea, &gate);
    assert_eq!(code, 0, "{output}");
    let files = gitea.files(OWNER, WEB, "1");
    assert_eq!(files.len(), 1, "only the new file is left: {files:?}");
    assert_ne!(files[0].name, old.name);
    let built_at = served_built_at(&sandbox, &gitea).expect("web:1 survives");
    assert!(built_at > ago(1), "{built_at}");
}

// ---------------------------------------------------- a hostile server

mod hostile {
    use imglife_testkit::Sandbox;
    use imglife_testkit::hostile::{Body, Hostile, Reply};
    use serde_json::{Value, json};

    use super::{BIN, TOKEN};

    const LIST: &str = "/api/v1/packages/platform";

    fn env(
        server: &Hostile,
        extra: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("IMGLIFE_REGISTRY__PROVIDER", "gitea".to_owned()),
            ("IMGLIFE_REGISTRY__URL", server.url()),
            ("IMGLIFE_REGISTRY__OWNER", "platform".to_owned()),
            ("IMGLIFE_REGISTRY__MAX_RETRIES", "0".to_owned()),
            ("GITEA_TOKEN", TOKEN.to_owned()),
        ];
        vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        vars
    }

    fn app_list(server: &Hostile, extra: &[(&'static str, &'static str)]) -> imglife_testkit::Run {
        let vars = env(server, extra);
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Sandbox::new(BIN).run(["app", "list"], &vars)
    }

    fn package(id: u64) -> Value {
        json!({
            "id": id,
            "name": format!("registry.example.com+apps+a{id}"),
            "version": "1.0",
            "type": "generic",
        })
    }

    fn page(from: u64, n: u64) -> Value {
        Value::Array((from..from + n).map(package).collect())
    }

    fn no_secret(run: &imglife_testkit::Run) {
        assert!(
            !run.stderr.contains("SECRET") && !run.stdout.contains("SECRET"),
            "{run:?}"
        );
    }

    #[test]
    fn a_lying_total_is_refused_before_any_further_page() {
        let server = Hostile::start(|_| {
            Reply::json(200, &page(1, 50)).header("X-Total-Count", "1000000000000000000")
        });
        let run = app_list(&server, &[]);
        run.expect_code(1);
        assert!(
            run.stderr.contains("X-Total-Count") && run.stderr.contains("registry.max_records"),
            "{}",
            run.stderr
        );
        assert_eq!(server.count(LIST), 1, "no page after the first");
        assert_eq!(run.stdout, "");
    }

    #[test]
    fn a_server_ignoring_page_is_refused() {
        let server = Hostile::start(|_| Reply::json(200, &page(1, 50)));
        let run = app_list(&server, &[]);
        run.expect_code(1);
        assert!(run.stderr.contains("page 2 repeats"), "{}", run.stderr);
        assert_eq!(server.count(LIST), 2);
    }

    #[test]
    fn endless_pages_stop_at_registry_max_records() {
        // One new package a page, forever, and no total.
        let server = Hostile::start(|request| {
            let n: u64 = request
                .param("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            Reply::json(200, &page(n, 1))
        });
        let run = app_list(&server, &[("IMGLIFE_REGISTRY__MAX_RECORDS", "20")]);
        run.expect_code(1);
        assert!(
            run.stderr.contains("registry.max_records"),
            "{}",
            run.stderr
        );
        assert!(
            server.count(LIST) <= 22,
            "{} pages asked for",
            server.count(LIST)
        );
    }

    #[test]
    fn a_record_larger_than_the_limit_is_refused_by_its_key() {
        let name = format!("record-{}.json", "0".repeat(64));
        let file = name.clone();
        let server = Hostile::start(move |request| {
            let path = request.path.as_str();
            if path == LIST {
                let n = request.param("page").unwrap_or("1");
                return Reply::json(200, &if n == "1" { page(1, 1) } else { page(1, 0) });
            }
            if path.ends_with("/files") {
                return Reply::json(
                    200,
                    &json!([{"id": 1, "name": file, "sha256": "0".repeat(64)}]),
                );
            }
            Reply::status(200).body(Body::Stream { len: 1 << 30 })
        });
        let run = app_list(&server, &[]);
        run.expect_code(1);
        assert!(
            run.stderr.contains("registry.example.com+apps+a1/1.0") && run.stderr.contains("1 MiB"),
            "{}",
            run.stderr
        );
        no_secret(&run);
    }

    #[test]
    fn server_text_is_escaped_and_the_token_masked() {
        let server = Hostile::start(|_| {
            Reply::bytes(
                400,
                format!("bad \u{1b}[2J request\u{202e} for token {TOKEN}").into_bytes(),
            )
            .header("Content-Type", "text/plain;charset=utf-8")
        });
        let run = app_list(&server, &[]);
        run.expect_code(1);
        assert!(
            run.stderr
                .contains("400 Bad Request: bad \\u{1b}[2J request\\u{202e} for token ***"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains('\u{202e}'));
        no_secret(&run);
    }
}
