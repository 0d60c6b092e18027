//! The read side against the GitLab emulator: 1,000 records, paginated
//! listing, concurrent downloads, purge through the packages API, a
//! download redirected to object storage, and a store failing mid-listing.

use imglife_testkit::Sandbox;
use imglife_testkit::fixtures::{self, Spec, Stored};
use imglife_testkit::gitlab::{Emulator, Fault, Role, Scope, Visibility};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const TOKEN: &str = "glpat-reader-SECRET";
const FIXED_NEWEST: i64 = 1_775_037_600;

fn emulator_with(records: &[Stored]) -> Emulator {
    let gitlab = Emulator::start();
    gitlab.add_project(3, "platform/base-images", Visibility::Private);
    gitlab.add_user("maintainer");
    gitlab.add_member(3, "maintainer", Role::Maintainer);
    gitlab.add_personal_token(TOKEN, "maintainer", Scope::Api);
    for r in records {
        gitlab.seed_file(3, &r.name, &r.version, "record.json", &r.bytes);
    }
    // An unrelated generic package in the same project is not a record.
    gitlab.seed_file(3, "eol-data", "2026.1", "eol.yaml", b"alpine: {}\n");
    gitlab
}

fn run(
    sandbox: &Sandbox,
    gitlab: &Emulator,
    args: &[&str],
    extra: &[(&str, &str)],
) -> imglife_testkit::Run {
    let url = gitlab.url();
    let mut env = vec![
        ("IMGLIFE_REGISTRY__URL", url.as_str()),
        ("IMGLIFE_REGISTRY__PROJECT_ID", "platform/base-images"),
        ("GITLAB_TOKEN", TOKEN),
        ("IMGLIFE_REGISTRY__RETRY_BUDGET_SECS", "10"),
    ];
    env.extend_from_slice(extra);
    sandbox.run(args, &env)
}

fn json(run: &imglife_testkit::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

fn fleet(n: usize, newest: i64) -> Vec<Stored> {
    fixtures::fleet(n, newest).iter().map(Spec::store).collect()
}

#[test]
fn lists_and_reports_a_thousand_records() {
    let records = fleet(1000, FIXED_NEWEST);
    let gitlab = emulator_with(&records);
    let sandbox = Sandbox::new(BIN);

    let listed = run(&sandbox, &gitlab, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    let listed = json(&listed);
    assert_eq!(listed.as_array().map(Vec::len), Some(1000));
    assert_eq!(
        listed[0]["image"],
        records[999].spec.image.as_str(),
        "newest first"
    );

    let requests = gitlab.requests();
    let pages = requests
        .iter()
        .filter(|r| r.path.ends_with("/packages") && r.method == "GET")
        .count();
    assert_eq!(
        pages, 11,
        "1,001 packages at 100 a page, following X-Next-Page"
    );
    let downloads = requests
        .iter()
        .filter(|r| r.path.ends_with("/record.json"))
        .count();
    assert_eq!(
        downloads, 1000,
        "one download per record, none for the other package"
    );

    let status = run(&sandbox, &gitlab, &["status", "--output", "json"], &[]);
    status.expect_code(0);
    assert_eq!(json(&status)["applications"], 100);

    let fs_sandbox = Sandbox::new(BIN);
    fixtures::write_fs(&fs_sandbox.path().join("records"), &records);
    let fs_status = fs_sandbox.run(
        ["status", "--output", "markdown"],
        &[
            ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
            ("IMGLIFE_REGISTRY__PATH", "records"),
        ],
    );
    let gitlab_status = run(&sandbox, &gitlab, &["status", "--output", "markdown"], &[]);
    assert_eq!(
        gitlab_status.stdout, fs_status.stdout,
        "every store gives the same answer"
    );

    // Filters and grouping answer the same on both stores.
    for args in [
        vec!["app", "list", "--project", "team-3/app-003"],
        vec![
            "app",
            "list",
            "--base",
            "registry.example.com/bases/alpine:3.21",
            "--output",
            "json",
        ],
        vec!["status", "--base", "registry.example.com/bases/debian"],
        vec!["status", "--output", "json"],
    ] {
        let on_gitlab = run(&sandbox, &gitlab, &args, &[]);
        on_gitlab.expect_code(0);
        let on_fs = fs_sandbox.run(
            &args,
            &[
                ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
                ("IMGLIFE_REGISTRY__PATH", "records"),
            ],
        );
        assert_eq!(on_gitlab.stdout, on_fs.stdout, "{args:?}");
        assert!(
            on_gitlab.stdout.lines().count() > 2,
            "{args:?} selected something"
        );
    }
}

/// Past 10,000 packages GitLab sends no totals, so pages cannot be
/// fetched at once: the listing follows `X-Next-Page` to the end.
#[test]
fn lists_past_ten_thousand_packages_by_following_next_page() {
    let records = fleet(10_001, FIXED_NEWEST);
    let gitlab = emulator_with(&records);
    let sandbox = Sandbox::new(BIN);
    let listed = run(&sandbox, &gitlab, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    assert_eq!(json(&listed).as_array().map(Vec::len), Some(10_001));
    let pages: Vec<String> = gitlab
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/packages") && r.method == "GET")
        .map(|r| r.query.unwrap_or_default())
        .collect();
    assert_eq!(pages.len(), 101, "10,002 packages at 100 a page");
    let page_numbers: Vec<String> = pages
        .iter()
        .filter_map(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("page=").map(str::to_owned))
        })
        .collect();
    let expected: Vec<String> = (1..=101).map(|p| p.to_string()).collect();
    assert_eq!(page_numbers, expected, "one page after the other, in order");
}

#[test]
fn purge_deletes_through_the_packages_api() {
    let newest = jiff::Timestamp::now().as_second() - 1800;
    let records = fleet(1000, newest);
    let gitlab = emulator_with(&records);
    let sandbox = Sandbox::new(BIN);

    let dry = run(
        &sandbox,
        &gitlab,
        &[
            "app",
            "purge",
            "--keep-last",
            "2",
            "--max-age-days",
            "0",
            "--dry-run",
            "--output",
            "json",
        ],
        &[],
    );
    dry.expect_code(0);
    assert_eq!(json(&dry)["deleted"].as_array().map(Vec::len), Some(800));
    assert!(
        gitlab.requests().iter().all(|r| r.method == "GET"),
        "a dry run only reads"
    );

    let done = run(
        &sandbox,
        &gitlab,
        &["app", "purge", "--keep-last", "2", "--max-age-days", "0"],
        &[],
    );
    done.expect_code(0);
    assert!(
        done.stdout.contains("├─ Deleted        800"),
        "{}",
        done.stdout
    );
    let left = run(&sandbox, &gitlab, &["app", "list", "--output", "json"], &[]);
    assert_eq!(json(&left).as_array().map(Vec::len), Some(200));
    assert!(
        gitlab.package_files(3, "eol-data", "2026.1").len() == 1,
        "other packages are left alone"
    );
}

#[test]
fn downloads_redirected_to_object_storage_never_carry_the_token() {
    let records = fleet(5, FIXED_NEWEST);
    let gitlab = emulator_with(&records);
    gitlab.set_download_redirect(true);
    let sandbox = Sandbox::new(BIN);
    let listed = run(&sandbox, &gitlab, &["app", "list", "--output", "json"], &[]);
    listed.expect_code(0);
    assert_eq!(json(&listed).as_array().map(Vec::len), Some(5));

    let storage = gitlab.object_storage_requests();
    assert_eq!(storage.len(), 5, "each record came from object storage");
    for request in &storage {
        for (name, value) in &request.headers {
            assert!(
                !value.contains(TOKEN),
                "the token reached another origin in {name}"
            );
            assert!(
                !["private-token", "job-token", "authorization"].contains(&name.as_str()),
                "{name} sent to object storage"
            );
        }
    }
    let api_downloads: Vec<_> = gitlab
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/record.json"))
        .collect();
    assert!(api_downloads.iter().all(|r| {
        r.headers
            .iter()
            .any(|(k, v)| k == "private-token" && v == TOKEN)
    }));
}

#[test]
fn a_store_failing_mid_listing_is_an_error_not_an_empty_list() {
    let records = fleet(250, FIXED_NEWEST);
    let gitlab = emulator_with(&records);
    let sandbox = Sandbox::new(BIN);
    // Page 1 answers; every later listing request fails.
    gitlab.push_faults(
        "GET",
        "/packages",
        vec![Fault::Delay(std::time::Duration::ZERO)],
    );
    let faults = (0..20)
        .map(|_| Fault::Status {
            code: 502,
            retry_after: None,
        })
        .collect();
    gitlab.push_faults("GET", "/packages", faults);
    let failed = run(
        &sandbox,
        &gitlab,
        &["app", "list"],
        &[("IMGLIFE_REGISTRY__MAX_RETRIES", "2")],
    );
    failed.expect_code(1);
    assert!(
        failed.stderr.contains("cannot read the records") && failed.stderr.contains("502"),
        "{}",
        failed.stderr
    );
    assert_eq!(failed.stdout, "");

    let fresh = emulator_with(&records);
    let denied = run(
        &Sandbox::new(BIN),
        &fresh,
        &["status"],
        &[("GITLAB_TOKEN", "glpat-wrong-SECRET")],
    );
    denied.expect_code(1);
    assert!(denied.stderr.contains("401"), "{}", denied.stderr);
    assert!(!denied.stderr.contains("SECRET"));
}

#[test]
fn an_unparsable_record_in_gitlab_is_named() {
    let records = fleet(10, FIXED_NEWEST);
    let gitlab = emulator_with(&records);
    gitlab.seed_file(
        3,
        "registry.example.com+apps+broken",
        "1.0",
        "record.json",
        b"{ nope",
    );
    let sandbox = Sandbox::new(BIN);
    let result = run(&sandbox, &gitlab, &["app", "list", "--output", "json"], &[]);
    result.expect_code(1);
    assert!(
        result
            .stderr
            .contains("registry.example.com+apps+broken/1.0"),
        "{}",
        result.stderr
    );
    assert_eq!(json(&result).as_array().map(Vec::len), Some(10));
}
