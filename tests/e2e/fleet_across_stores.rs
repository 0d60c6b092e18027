//! One fleet, four stores, the same answers (issue 13, "Both"): the same
//! records are registered through the binary into the filesystem store,
//! the GitLab emulator, S3 (s3s-fs, in this process) and the Gitea
//! emulator; then `app list`, `status` and `app purge` (dry run, then for
//! real, then `app list` again) must print the same bytes on every store,
//! once what legitimately differs (where a record is stored, how long a
//! command took) is normalised.
//!
//! The fleet has what makes stores disagree when one of them is wrong:
//! several applications on several bases, outdated ones, five releases of
//! one application for purge to choose from, a record registered twice
//! (the second must win everywhere), two records built at the same second
//! (the order of ties must not depend on the store's listing), a registry
//! port, nested paths, `_`, a digest, a `..` tag (`1.+.2` in the key),
//! upper case, custom fields, several platforms, a base with a digest.
//! The fleet's answers on the filesystem store are also checked against
//! what is expected, so a fault shared by every store is caught too.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use imglife_domain::{ImageRef, RecordKey};
use imglife_testkit::gitea;
use imglife_testkit::gitlab;
use imglife_testkit::s3::{ACCESS_KEY, S3Server, SECRET_KEY};
use imglife_testkit::{Run, Sandbox};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const GITLAB_TOKEN: &str = "glpat-fleet-SECRET";
const GITEA_TOKEN: &str = "gitea-fleet-SECRET";
const BUCKET: &str = "fleet";
const DIGEST_APP: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const DIGEST_BASE: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// One `register` of the fleet.
struct Release {
    image: &'static str,
    base: String,
    platforms: &'static str,
    revision: &'static str,
    project: &'static str,
    built_at: String,
    fields: &'static [&'static str],
}

/// The fleet, in registration order. `at` turns a date of the fleet's
/// calendar into the time registered (the same string for every store);
/// `recent` is a time within the retention's `max_age_days`.
fn fleet(at: &dyn Fn(&str) -> String, recent: &str) -> Vec<Release> {
    let alpine = |tag: &str| format!("registry.example.com/bases/alpine:{tag}");
    let debian = |tag: &str| format!("registry.example.com/bases/debian:{tag}");
    let r = |image, base: String, revision, project, built_at: &str| Release {
        image,
        base,
        platforms: "linux/amd64",
        revision,
        project,
        built_at: built_at.to_owned(),
        fields: &[],
    };
    vec![
        // web: five releases (purge keeps the two newest and the recent
        // one), one of them registered twice.
        r(
            "registry.example.com/apps/web:1.0",
            alpine("3.20.3"),
            "w10",
            "team/web",
            &at("2026-01-05T08:00:00Z"),
        ),
        r(
            "registry.example.com/apps/web:1.1",
            alpine("3.20.3"),
            "w11",
            "team/web",
            &at("2026-02-01T08:00:00Z"),
        ),
        r(
            "registry.example.com/apps/web:1.2",
            alpine("3.21.3"),
            "w12-first",
            "team/web",
            &at("2026-02-20T08:00:00Z"),
        ),
        r(
            "registry.example.com/apps/web:1..3",
            alpine("3.21.3"),
            "w13",
            "team/web",
            &at("2026-03-01T08:00:00Z"),
        ),
        Release {
            fields: &[
                "ci_pipeline_id=4711",
                "ci_job_url=https://ci.example.com/j/1",
            ],
            ..r(
                "registry.example.com/apps/web:1.4",
                alpine("3.21.3"),
                "w14",
                "team/web",
                recent,
            )
        },
        // Registered again: a new revision replaces the first one.
        r(
            "registry.example.com/apps/web:1.2",
            alpine("3.21.3"),
            "w12-second",
            "team/web",
            &at("2026-02-21T08:00:00Z"),
        ),
        // api: on debian, one outdated; the newest built at the same
        // second as cron's newest.
        r(
            "registry.example.com/apps/api:2.0",
            debian("12.5"),
            "a20",
            "team/api",
            &at("2026-01-10T12:00:00Z"),
        ),
        Release {
            platforms: "linux/amd64 linux/arm64/v8",
            ..r(
                "registry.example.com/apps/api:2.1",
                debian("12.8"),
                "a21",
                "team/api",
                &at("2026-03-10T12:00:00Z"),
            )
        },
        r(
            "registry.example.com/apps/cron:0.9-rc.1",
            alpine("3.21.3-core1.0.0"),
            "c09",
            "ops/cron",
            &at("2026-02-02T00:00:00Z"),
        ),
        r(
            "registry.example.com/apps/cron:1.0",
            alpine("3.21.3-core1.2.0"),
            "c10",
            "ops/cron",
            &at("2026-03-10T12:00:00Z"),
        ),
        // A port, a nested path with `_`, a tag and a digest, a base with
        // a digest.
        Release {
            platforms: "linux/amd64,linux/arm64",
            ..r(
                "registry.example.com:5443/team/sub/worker_x:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111",
                format!("{}@{DIGEST_BASE}", alpine("3.21.3")),
                "k1",
                "team/sub/worker",
                &at("2026-03-05T06:30:00Z"),
            )
        },
        // Docker Hub short names, upper case in the tag.
        r(
            "legacy-tool:V2.0-Final",
            "alpine:3.19.1".to_owned(),
            "l20",
            "legacy/tool",
            &at("2026-01-20T00:00:00Z"),
        ),
    ]
}

/// Where a store says the record of `name`/`version` is.
type Location = Box<dyn Fn(&str, &str) -> String>;

/// One store under test: a sandbox, the variables that select the store,
/// and the server behind it (kept alive for the test).
struct Store {
    name: &'static str,
    sandbox: Sandbox,
    env: Vec<(String, String)>,
    /// Where the store says a record of `name`/`version` is: the one part
    /// of an answer that differs between stores.
    location: Location,
    _server: Option<Box<dyn std::any::Any>>,
}

impl Store {
    fn run(&self, args: &[&str]) -> Run {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.sandbox.run(args, &env)
    }

    /// Runs `args`, which must succeed, and returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{} {args:?} failed: {run:#?}", self.name);
        assert!(
            !run.stdout.contains("SECRET") && !run.stderr.contains("SECRET"),
            "a token leaked on {}: {run:#?}",
            self.name
        );
        run.stdout
    }
}

fn common_env(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    env.push((
        "IMGLIFE_REGISTRY__RETRY_BUDGET_SECS".to_owned(),
        "10".to_owned(),
    ));
    env
}

fn filesystem() -> Store {
    Store {
        name: "filesystem",
        sandbox: Sandbox::new(BIN),
        env: common_env(&[
            ("IMGLIFE_REGISTRY__PROVIDER", "fs".to_owned()),
            ("IMGLIFE_REGISTRY__PATH", "records".to_owned()),
        ]),
        location: Box::new(|name, version| format!("filesystem records/{name}/{version}.json")),
        _server: None,
    }
}

fn gitlab_store() -> Store {
    let server = gitlab::Emulator::start();
    server.add_project(7, "platform/base-images", gitlab::Visibility::Private);
    server.add_user("maintainer");
    server.add_member(7, "maintainer", gitlab::Role::Maintainer);
    server.add_personal_token(GITLAB_TOKEN, "maintainer", gitlab::Scope::Api);
    // Another tool's package in the same project is no record.
    server.seed_file(7, "eol-data", "2026.1", "eol.yaml", b"alpine: {}\n");
    Store {
        name: "GitLab",
        sandbox: Sandbox::new(BIN),
        env: common_env(&[
            ("IMGLIFE_REGISTRY__PROVIDER", "gitlab".to_owned()),
            ("IMGLIFE_REGISTRY__URL", server.url()),
            (
                "IMGLIFE_REGISTRY__PROJECT_ID",
                "platform/base-images".to_owned(),
            ),
            ("GITLAB_TOKEN", GITLAB_TOKEN.to_owned()),
        ]),
        location: Box::new(|name, version| {
            format!(
                "GitLab project platform/base-images packages/generic/{name}/{version}/record.json"
            )
        }),
        _server: Some(Box::new(server)),
    }
}

fn s3_store() -> Store {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    // Not below the prefix, or not a record: not listed.
    server.put_file(BUCKET, "elsewhere/x+y/1.json", b"{}");
    server.put_file(BUCKET, "builds/README.txt", b"not a record");
    Store {
        name: "S3",
        sandbox: Sandbox::new(BIN),
        env: common_env(&[
            ("IMGLIFE_REGISTRY__PROVIDER", "s3".to_owned()),
            ("IMGLIFE_REGISTRY__URL", server.url()),
            ("IMGLIFE_REGISTRY__BUCKET", BUCKET.to_owned()),
            ("IMGLIFE_REGISTRY__PREFIX", "builds".to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ]),
        location: Box::new(|name, version| format!("s3://{BUCKET}/builds/{name}/{version}.json")),
        _server: Some(Box::new(server)),
    }
}

fn gitea_store() -> Store {
    let server = gitea::Emulator::start();
    let url = server.url();
    server.add_org("platform", gitea::Visibility::Private);
    server.add_user("ci", gitea::Visibility::Public);
    server.add_member("platform", "ci", gitea::Access::Write);
    server.add_token(GITEA_TOKEN, "ci", gitea::Scope::WritePackage);
    server.seed_file(
        "platform",
        "eol-data",
        "2026.1",
        "eol.yaml",
        b"alpine: {}\n",
    );
    Store {
        name: "Gitea",
        sandbox: Sandbox::new(BIN),
        env: common_env(&[
            ("IMGLIFE_REGISTRY__PROVIDER", "gitea".to_owned()),
            ("IMGLIFE_REGISTRY__URL", server.url()),
            ("IMGLIFE_REGISTRY__OWNER", "platform".to_owned()),
            ("GITEA_TOKEN", GITEA_TOKEN.to_owned()),
        ]),
        location: Box::new(move |name, version| {
            format!("Gitea {url}/platform/-/packages/generic/{name}/{version}")
        }),
        _server: Some(Box::new(server)),
    }
}

fn register_args(release: &Release) -> Vec<String> {
    let mut args: Vec<String> = [
        "register",
        "--image",
        release.image,
        "--base",
        &release.base,
        "--platform",
        release.platforms,
        "--revision",
        release.revision,
        "--project",
        release.project,
        "--built-at",
        &release.built_at,
        "--output",
        "json",
    ]
    .map(str::to_owned)
    .to_vec();
    for field in release.fields {
        args.extend(["--field".to_owned(), (*field).to_owned()]);
    }
    args
}

/// What may differ between stores: where a record is kept (the location
/// each store names for each key of the fleet) and the time a command took.
fn normalise(store: &Store, keys: &[(String, String)], text: &str) -> String {
    let mut locations: Vec<(String, String)> = keys
        .iter()
        .map(|(name, version)| {
            (
                (store.location)(name, version),
                format!("<location of {name}/{version}>"),
            )
        })
        .collect();
    // The longest first: no location is replaced inside a longer one.
    locations.sort_by_key(|(location, _)| std::cmp::Reverse(location.len()));
    let mut text = text.to_owned();
    for (location, placeholder) in &locations {
        text = text.replace(location.as_str(), placeholder);
    }
    // `Register · 0.0s`, `App Purge Summary · 0.1s`
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.rfind(" · ") {
            Some(at)
                if line[at + " · ".len()..]
                    .trim_end()
                    .strip_suffix('s')
                    .is_some_and(|n| n.parse::<f64>().is_ok()) =>
            {
                out.push_str(&line[..at]);
                out.push_str(" · <elapsed>");
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Runs `args` on every store and asserts that the answers are the same
/// bytes after `normalise`; returns the filesystem store's answer.
fn same_everywhere(stores: &[Store], keys: &[(String, String)], args: &[&str]) -> String {
    let answers: Vec<(&str, String)> = stores
        .iter()
        .map(|s| (s.name, normalise(s, keys, &s.ok(args))))
        .collect();
    let (first_name, first) = &answers[0];
    for (name, answer) in &answers[1..] {
        if answer != first {
            let diff: Vec<String> = first
                .lines()
                .zip(answer.lines())
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .take(5)
                .map(|(i, (a, b))| format!("line {}:\n  {first_name}: {a}\n  {name}: {b}", i + 1))
                .collect();
            panic!(
                "`imglife {}` answers differently on {first_name} and {name} ({} and {} lines); \
                 first differences:\n{}\n--- {first_name} ---\n{first}\n--- {name} ---\n{answer}",
                args.join(" "),
                first.lines().count(),
                answer.lines().count(),
                diff.join("\n")
            );
        }
    }
    first.clone()
}

fn images(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["image"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn one_fleet_gives_the_same_answers_on_every_store() {
    // The fleet's calendar is moved so that its newest date is 60 days
    // ago, whenever the test runs: every record but `recent` is older than
    // max_age_days (30), and none is in the future. Whole seconds, so that
    // every store is given the very same strings.
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    let newest: jiff::Timestamp = "2026-03-10T12:00:00Z".parse().unwrap();
    let shift = (now - jiff::SignedDuration::from_hours(24 * 60)).duration_since(newest);
    let at = move |date: &str| (date.parse::<jiff::Timestamp>().unwrap() + shift).to_string();
    let recent = (now - jiff::SignedDuration::from_hours(24 * 3)).to_string();
    let releases = fleet(&at, &recent);
    let stores = [filesystem(), gitlab_store(), s3_store(), gitea_store()];
    let keys: Vec<(String, String)> = releases
        .iter()
        .map(|r| {
            let key = RecordKey::for_reference(&ImageRef::parse(r.image).unwrap()).unwrap();
            (key.name().to_owned(), key.version().to_owned())
        })
        .collect();

    // Register: every store is given, and prints, the same documents.
    for release in &releases {
        let args = register_args(release);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let document = same_everywhere(&stores, &keys, &args);
        let record: Value = serde_json::from_str(&document).unwrap();
        assert_eq!(record["revision"], release.revision, "{document}");
    }
    // The text summary too, apart from the location.
    let summary = same_everywhere(
        &stores,
        &keys,
        &[
            "register",
            "--image",
            "registry.example.com/apps/api:2.1",
            "--base",
            "registry.example.com/bases/debian:12.8",
            "--platform",
            "linux/amd64 linux/arm64/v8",
            "--revision",
            "a21",
            "--project",
            "team/api",
            "--built-at",
            &at("2026-03-10T12:00:00Z"),
            "--dry-run",
        ],
    );
    assert!(summary.contains("Stored"), "{summary}");

    // app list: every record once, the second web:1.2 in place of the
    // first, newest first, ties in one order.
    let list = same_everywhere(&stores, &keys, &["app", "list", "--output", "json"]);
    let list: Value = serde_json::from_str(&list).unwrap();
    let listed = images(&list);
    let expected: BTreeSet<String> = [
        "registry.example.com/apps/web:1.0",
        "registry.example.com/apps/web:1.1",
        "registry.example.com/apps/web:1.2",
        "registry.example.com/apps/web:1..3",
        "registry.example.com/apps/web:1.4",
        "registry.example.com/apps/api:2.0",
        "registry.example.com/apps/api:2.1",
        "registry.example.com/apps/cron:0.9-rc.1",
        "registry.example.com/apps/cron:1.0",
        &format!("registry.example.com:5443/team/sub/worker_x:v1@{DIGEST_APP}"),
        "docker.io/library/legacy-tool:V2.0-Final",
    ]
    .map(|s| s.to_owned())
    .into_iter()
    .collect();
    assert_eq!(listed.len(), expected.len(), "{listed:#?}");
    assert_eq!(
        listed.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every record listed once"
    );
    assert_eq!(
        listed[0], "registry.example.com/apps/web:1.4",
        "newest first"
    );
    let web_12 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["image"] == "registry.example.com/apps/web:1.2")
        .unwrap();
    assert_eq!(web_12["revision"], "w12-second", "the second register wins");
    let worker = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["project"] == "team/sub/worker")
        .unwrap();
    assert_eq!(worker["image_digest"], DIGEST_APP);
    assert_eq!(worker["base_digest"], DIGEST_BASE);
    let text_list = same_everywhere(&stores, &keys, &["app", "list"]);
    assert_eq!(text_list.lines().count(), 1 + expected.len(), "{text_list}");
    for filter in [
        &["app", "list", "--project", "team/web", "--output", "json"][..],
        &[
            "app",
            "list",
            "--base",
            "registry.example.com/bases/alpine:3.21.3",
        ],
        &["status", "--base", "registry.example.com/bases/debian"],
    ] {
        same_everywhere(&stores, &keys, filter);
    }

    // status: the same report in every format; something is outdated.
    let status = same_everywhere(&stores, &keys, &["status", "--output", "json"]);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["records"], 11, "{status:#}");
    assert!(status["outdated"].as_u64().unwrap() >= 2, "{status:#}");
    assert_eq!(status["invalid_records"], serde_json::json!([]));
    let text = same_everywhere(&stores, &keys, &["status"]);
    assert!(text.contains("outdated: move to"), "{text}");
    same_everywhere(&stores, &keys, &["status", "--output", "markdown"]);

    // purge: the dry run and the real run select the same records.
    let retention = ["--keep-last", "2", "--max-age-days", "30"];
    let dry = same_everywhere(
        &stores,
        &keys,
        &[
            &["app", "purge", "--dry-run", "--output", "json"][..],
            &retention,
        ]
        .concat(),
    );
    same_everywhere(
        &stores,
        &keys,
        &[&["app", "purge", "--dry-run"][..], &retention].concat(),
    );
    let dry: Value = serde_json::from_str(&dry).unwrap();
    let selected: BTreeSet<&str> = dry["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["image"].as_str().unwrap())
        .collect();
    let web_old: BTreeSet<&str> = [
        "registry.example.com/apps/web:1.0",
        "registry.example.com/apps/web:1.1",
        "registry.example.com/apps/web:1.2",
    ]
    .into();
    assert_eq!(selected, web_old, "{dry:#}");
    // A dry run deleted nothing.
    let unchanged = same_everywhere(&stores, &keys, &["app", "list", "--output", "json"]);
    assert_eq!(images(&serde_json::from_str(&unchanged).unwrap()), listed);

    let purged = same_everywhere(
        &stores,
        &keys,
        &[&["app", "purge", "--output", "json"][..], &retention].concat(),
    );
    let purged: Value = serde_json::from_str(&purged).unwrap();
    assert_eq!(purged["deleted"], dry["deleted"], "{purged:#}");
    assert_eq!(purged["errors"], serde_json::json!([]), "{purged:#}");

    // Afterwards: the same survivors everywhere, and nothing left to purge.
    let after = same_everywhere(&stores, &keys, &["app", "list", "--output", "json"]);
    let after = images(&serde_json::from_str(&after).unwrap());
    let survivors: Vec<String> = listed
        .iter()
        .filter(|i| !web_old.contains(i.as_str()))
        .cloned()
        .collect();
    assert_eq!(after, survivors);
    same_everywhere(&stores, &keys, &["app", "list"]);
    same_everywhere(&stores, &keys, &["status"]);
    let again = same_everywhere(
        &stores,
        &keys,
        &[&["app", "purge", "--output", "json"][..], &retention].concat(),
    );
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["deleted"], serde_json::json!([]), "{again:#}");
}
