//! `imglife app list`, `imglife status` and `imglife app purge` end to end
//! on the filesystem store, with a fleet of 1,000 records.

use std::collections::BTreeMap;

use imglife_testkit::Sandbox;
use imglife_testkit::fixtures::{self, Spec, Stored};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const ROOT: &str = "records";
/// 2026-04-01T10:00:00Z: a fixed "newest" for deterministic snapshots.
const FIXED_NEWEST: i64 = 1_775_037_600;

fn sandbox_with(records: &[Stored]) -> Sandbox {
    let sandbox = Sandbox::new(BIN);
    fixtures::write_fs(&sandbox.path().join(ROOT), records);
    sandbox
}

fn run(sandbox: &Sandbox, args: &[&str]) -> imglife_testkit::Run {
    sandbox.run(
        args,
        &[
            ("IMGLIFE_REGISTRY__PATH", ROOT),
            ("IMGLIFE_REGISTRY__PROVIDER", "fs"),
        ],
    )
}

fn json(run: &imglife_testkit::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn repo_and_tag(reference: &str) -> (&str, &str) {
    reference.rsplit_once(':').expect("tagged")
}

/// The current tag of each base repository, computed independently of
/// imglife: the fixture's base list is ordered oldest tag first.
fn current_tags() -> BTreeMap<&'static str, &'static str> {
    let mut current = BTreeMap::new();
    for base in fixtures::BASES {
        let (repo, tag) = repo_and_tag(base);
        current.insert(repo, tag);
    }
    current
}

#[test]
fn lists_a_thousand_records_newest_first_and_filters_them() {
    let fleet: Vec<Stored> = fixtures::fleet(1000, FIXED_NEWEST)
        .iter()
        .map(Spec::store)
        .collect();
    let sandbox = sandbox_with(&fleet);

    let all = run(&sandbox, &["app", "list", "--output", "json"]);
    all.expect_code(0);
    let items = json(&all);
    let items = items.as_array().expect("array");
    assert_eq!(items.len(), 1000);
    let built: Vec<&str> = items
        .iter()
        .map(|r| r["built_at"].as_str().expect("built_at"))
        .collect();
    assert!(built.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(items[0]["image"], fleet[999].spec.image.as_str());

    let text = run(&sandbox, &["app", "list"]);
    text.expect_code(0);
    assert_eq!(
        text.stdout.lines().count(),
        1001,
        "a header and one row per record"
    );
    assert!(text.stdout.starts_with("IMAGE "));

    let by_project = run(
        &sandbox,
        &[
            "app",
            "list",
            "--project",
            "team-3/app-003",
            "--output",
            "json",
        ],
    );
    let expected = fleet
        .iter()
        .filter(|r| r.spec.project == "team-3/app-003")
        .count();
    assert_eq!(json(&by_project).as_array().map(Vec::len), Some(expected));

    for (filter, matches) in [
        (
            "registry.example.com/bases/debian",
            Box::new(|b: &str| b.contains("/debian:")) as Box<dyn Fn(&str) -> bool>,
        ),
        (
            "registry.example.com/bases/alpine:3.21",
            Box::new(|b: &str| b.contains("alpine:3.21.")),
        ),
        (
            "registry.example.com/bases/alpine:3.21.3-core1.0.0",
            Box::new(|b: &str| b.ends_with("core1.0.0")),
        ),
        (
            "registry.example.com/bases/alpine:3.2",
            Box::new(|_: &str| false),
        ),
    ] {
        let filtered = run(
            &sandbox,
            &["app", "list", "--base", filter, "--output", "json"],
        );
        filtered.expect_code(0);
        let expected = fleet.iter().filter(|r| matches(&r.spec.base)).count();
        assert_eq!(
            json(&filtered).as_array().map(Vec::len),
            Some(expected),
            "--base {filter}"
        );
    }
}

#[test]
fn status_groups_by_base_and_flags_outdated_applications() {
    let fleet: Vec<Stored> = fixtures::fleet(1000, FIXED_NEWEST)
        .iter()
        .map(Spec::store)
        .collect();
    let sandbox = sandbox_with(&fleet);
    let report = run(&sandbox, &["status", "--output", "json"]);
    report.expect_code(0);
    let report = json(&report);

    // Independent expectation: each app's newest record, against the
    // newest tag of its base repository.
    let current = current_tags();
    let mut newest: BTreeMap<String, &Spec> = BTreeMap::new();
    for r in &fleet {
        let repo = repo_and_tag(&r.spec.image).0.to_owned();
        let slot = newest.entry(repo).or_insert(&r.spec);
        if r.spec.built_at > slot.built_at {
            *slot = &r.spec;
        }
    }
    let outdated: usize = newest
        .values()
        .filter(|s| {
            let (repo, tag) = repo_and_tag(&s.base);
            current[repo] != tag
        })
        .count();
    assert_eq!(report["applications"], 100);
    assert_eq!(report["outdated"], outdated);
    assert!(
        outdated > 0 && outdated < 100,
        "the fleet mixes current and outdated apps"
    );
    for repository in report["repositories"].as_array().expect("repositories") {
        let repo = repository["repository"].as_str().expect("repo");
        assert_eq!(repository["current_tag"], current[repo]);
        for base in repository["bases"].as_array().expect("bases") {
            for app in base["applications"].as_array().expect("apps") {
                let want = newest[repo_and_tag(app["image"].as_str().expect("image")).0];
                assert_eq!(
                    app["image"],
                    want.image.as_str(),
                    "the newest record of each app"
                );
                assert_eq!(base["base"], want.base.as_str());
                let behind = repo_and_tag(&want.base).1 != current[repo];
                assert_eq!(app["outdated"], behind);
                if behind {
                    assert_eq!(app["upgrade_to"], format!("{repo}:{}", current[repo]));
                }
            }
        }
    }

    let old = run(
        &sandbox,
        &[
            "status",
            "--base",
            "registry.example.com/bases/alpine:3.19",
            "--output",
            "json",
        ],
    );
    old.expect_code(0);
    let expected = newest
        .values()
        .filter(|s| s.base.ends_with("alpine:3.19.1"))
        .count();
    assert_eq!(
        json(&old)["applications"],
        expected,
        "which apps still run on alpine 3.19?"
    );
}

#[test]
fn output_snapshots() {
    let fleet: Vec<Stored> = fixtures::fleet(12, FIXED_NEWEST)
        .iter()
        .map(Spec::store)
        .collect();
    let sandbox = sandbox_with(&fleet);
    let elapsed = vec![(r"· \d+(\.\d+)?s", "· [elapsed]")];
    for (name, args) in [
        ("app_list_text", vec!["app", "list"]),
        ("app_list_json", vec!["app", "list", "--output", "json"]),
        ("status_text", vec!["status"]),
        ("status_json", vec!["status", "--output", "json"]),
        ("status_markdown", vec!["status", "--output", "markdown"]),
        // Records from 2026-04 are older than 1 day whenever this runs.
        (
            "purge_dry_run_text",
            vec![
                "app",
                "purge",
                "--dry-run",
                "--keep-last",
                "1",
                "--max-age-days",
                "1",
            ],
        ),
    ] {
        let result = run(&sandbox, &args);
        result.expect_code(0);
        insta::with_settings!({ filters => elapsed.clone() }, {
            insta::assert_snapshot!(name, result.stdout);
        });
    }
}

#[test]
fn purge_keeps_the_newest_and_the_young_and_dry_run_deletes_nothing() {
    // Hourly records ending half an hour ago: no age sits on a day boundary.
    let newest = now() - 1800;
    let fleet: Vec<Stored> = fixtures::fleet(1000, newest)
        .iter()
        .map(Spec::store)
        .collect();
    let sandbox = sandbox_with(&fleet);
    let (keep_last, max_age_days) = (3usize, 20i64);

    // Independent expectation.
    let mut by_app: BTreeMap<&str, Vec<&Spec>> = BTreeMap::new();
    for r in &fleet {
        by_app
            .entry(repo_and_tag(&r.spec.image).0)
            .or_default()
            .push(&r.spec);
    }
    let mut doomed = Vec::new();
    for specs in by_app.values_mut() {
        specs.sort_by_key(|s| std::cmp::Reverse(s.built_at));
        for (rank, spec) in specs.iter().enumerate() {
            let young = newest + 1800 - spec.built_at < max_age_days * 86_400;
            if rank > 0 && rank >= keep_last && !young {
                doomed.push(spec.image.clone());
            }
        }
    }
    assert!(!doomed.is_empty() && doomed.len() < 1000);

    let args = [
        "app",
        "purge",
        "--keep-last",
        "3",
        "--max-age-days",
        "20",
        "--output",
        "json",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let before = sandbox.files();
    let planned = run(&sandbox, &dry);
    planned.expect_code(0);
    let planned = json(&planned);
    let mut would: Vec<String> = planned["deleted"]
        .as_array()
        .expect("deleted")
        .iter()
        .map(|d| d["image"].as_str().expect("image").to_owned())
        .collect();
    would.sort();
    doomed.sort();
    assert_eq!(would, doomed);
    assert_eq!(planned["examined"], 1000);
    assert_eq!(sandbox.files(), before, "a dry run deletes nothing");

    let done = run(&sandbox, &args);
    done.expect_code(0);
    assert_eq!(
        json(&done)["deleted"].as_array().map(Vec::len),
        Some(doomed.len())
    );
    let left = run(&sandbox, &["app", "list", "--output", "json"]);
    let left = json(&left);
    let left: Vec<&str> = left
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["image"].as_str().expect("image"))
        .collect();
    assert_eq!(left.len(), 1000 - doomed.len());
    for specs in by_app.values() {
        assert!(
            left.contains(&specs[0].image.as_str()),
            "the newest record of an app is never deleted"
        );
    }

    let text = run(&sandbox, &["app", "purge", "--dry-run"]);
    text.expect_code(0);
    assert!(
        text.stdout.contains("[dry-run] App Purge Summary · "),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("├─ Deleted") && text.stdout.contains("└─ Errors         0"),
        "{}",
        text.stdout
    );
}

#[test]
fn retention_defaults_come_from_config() {
    let newest = now() - 1800;
    let fleet: Vec<Stored> = fixtures::fleet(100, newest)
        .iter()
        .map(Spec::store)
        .collect();
    let sandbox = sandbox_with(&fleet);
    // 10 apps x 10 releases, 10 hours apart per app: keep_last 2 and a tiny
    // max age leave exactly 2 per app.
    sandbox.write(
        "imglife.yaml",
        "retention:\n  keep_last: 2\n  max_age_days: 0\n  exclude_tags: []\n",
    );
    let planned = run(&sandbox, &["app", "purge", "--dry-run", "--output", "json"]);
    planned.expect_code(0);
    let planned = json(&planned);
    assert_eq!(planned["keep_last"], 2);
    assert_eq!(planned["deleted"].as_array().map(Vec::len), Some(80));
}

#[test]
fn an_unparsable_record_is_named_counted_and_fails_the_command() {
    let fleet: Vec<Stored> = fixtures::fleet(20, FIXED_NEWEST)
        .iter()
        .map(Spec::store)
        .collect();
    let sandbox = sandbox_with(&fleet);
    sandbox.write(
        &format!("{ROOT}/registry.example.com+apps+broken/1.0.json"),
        "{ not json",
    );
    // A valid record stored under another image's key.
    sandbox.write(
        &format!("{ROOT}/registry.example.com+apps+moved/2.0.json"),
        &fleet[0].bytes,
    );
    // A record that cannot be read at all (a directory where the file
    // should be): named and counted like an unparsable one.
    std::fs::create_dir_all(
        sandbox
            .path()
            .join(ROOT)
            .join("registry.example.com+apps+unreadable/3.0.json"),
    )
    .expect("dir");

    for args in [
        vec!["app", "list"],
        vec!["status"],
        vec!["app", "purge", "--dry-run"],
    ] {
        let result = run(&sandbox, &args);
        result.expect_code(1);
        assert!(
            result
                .stderr
                .contains("registry.example.com+apps+broken/1.0"),
            "{args:?}: {}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains("registry.example.com+apps+moved/2.0"),
            "{}",
            result.stderr
        );
        assert!(
            result.stderr.contains("3 record(s) could not be read")
                && result
                    .stderr
                    .contains("registry.example.com+apps+unreadable/3.0"),
            "{}",
            result.stderr
        );
        assert!(
            !result.stdout.is_empty(),
            "{args:?}: what could be read is still printed"
        );
    }
    let list = run(&sandbox, &["app", "list", "--output", "json"]);
    assert_eq!(json(&list).as_array().map(Vec::len), Some(20));
    let purge = run(&sandbox, &["app", "purge", "--dry-run", "--output", "json"]);
    assert_eq!(json(&purge)["errors"].as_array().map(Vec::len), Some(3));
}

#[test]
fn json_list_keeps_records_as_stored() {
    let sandbox = Sandbox::new(BIN);
    // Written by a newer imglife: a key this version does not know, and a
    // time with an offset, both kept as they are.
    let document = r#"{"image": "registry.example.com/apps/new:1.0", "base": "registry.example.com/bases/alpine:3.21", "revision": "abc", "project": "t/new", "platforms": ["linux/amd64"], "built_at": "2026-04-01T12:00:00+02:00", "custom_fields": {}, "sbom_url": "https://sbom.example.com/new"}"#;
    sandbox.write(
        &format!("{ROOT}/registry.example.com+apps+new/1.0.json"),
        document,
    );
    let listed = run(&sandbox, &["app", "list", "--output", "json"]);
    listed.expect_code(0);
    let value = json(&listed);
    assert_eq!(value[0]["sbom_url"], "https://sbom.example.com/new");
    assert_eq!(value[0]["built_at"], "2026-04-01T12:00:00+02:00");
}

#[test]
fn an_empty_store_is_not_an_error_but_a_broken_one_is() {
    let sandbox = Sandbox::new(BIN);
    // A configured root that does not exist is a typo, not an empty store.
    let typo = run(&sandbox, &["app", "list"]);
    typo.expect_code(1);
    assert!(
        typo.stderr.contains("registry.path records does not exist"),
        "{}",
        typo.stderr
    );
    // The implicit default store, never written to, is empty.
    let implicit = sandbox.run(["app", "list"], &[]);
    implicit.expect_code(0);
    assert_eq!(implicit.stdout, "No records.\n");

    std::fs::create_dir(sandbox.path().join(ROOT)).expect("empty store");
    let empty = run(&sandbox, &["app", "list"]);
    empty.expect_code(0);
    assert_eq!(empty.stdout, "No records.\n");
    assert_eq!(
        run(&sandbox, &["app", "list", "--output", "json"]).stdout,
        "[]\n"
    );
    let status = run(&sandbox, &["status"]);
    status.expect_code(0);
    assert!(
        status.stdout.starts_with("0 applications"),
        "{}",
        status.stdout
    );

    std::fs::remove_dir(sandbox.path().join(ROOT)).expect("remove");
    sandbox.write(ROOT, "a file where the store's directory should be");
    for args in [vec!["app", "list"], vec!["status"], vec!["app", "purge"]] {
        let broken = run(&sandbox, &args);
        broken.expect_code(1);
        assert!(
            broken.stderr.contains("cannot read the records"),
            "{}",
            broken.stderr
        );
        assert_eq!(broken.stdout, "", "a failing store is never an empty list");
    }
}

#[test]
fn bad_filters_are_refused() {
    let sandbox = Sandbox::new(BIN);
    let cases: [(&[&str], i32, &str); 4] = [
        (&["app", "list", "--project", "a//b"], 1, "--project"),
        (&["app", "list", "--base", "Not A Ref"], 1, "--base"),
        (&["status", "--output", "yaml"], 2, "--output"),
        (&["app", "purge", "--keep-last", "many"], 2, "--keep-last"),
    ];
    for (args, code, needle) in cases {
        let result = run(&sandbox, args);
        assert_eq!(result.code, code, "{args:?}: {result:?}");
        assert!(
            result.stderr.contains(needle),
            "{args:?}: {}",
            result.stderr
        );
    }
}
