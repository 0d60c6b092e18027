//! `imglife status` judging tags end to end on the filesystem store: the
//! example of issue 12 (text and JSON), `build.tag_format` from the config
//! file, and the exit codes of `--strict`.

use imglife_testkit::Sandbox;
use imglife_testkit::fixtures::{self, Spec, Stored};

const BIN: &str = env!("CARGO_BIN_EXE_imglife");
const ROOT: &str = "records";
/// 2026-04-01T10:00:00Z
const NOON: i64 = 1_775_037_600;

/// One record per application `app-<letter>`, built a minute apart in the
/// order given, on each `base`.
fn records(bases: &[&str]) -> Vec<Stored> {
    bases
        .iter()
        .enumerate()
        .map(|(i, base)| {
            let name = char::from(b'a' + u8::try_from(i).expect("few"));
            Spec {
                image: format!("registry.example.com/apps/app-{name}:1.0"),
                base: (*base).to_owned(),
                project: format!("team/app-{name}"),
                revision: format!("{:x}{}", 0xa3f8_b1c0_u64 + i as u64, "0".repeat(32)),
                built_at: NOON + 60 * i as i64,
            }
            .store()
        })
        .collect()
}

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
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

/// The example of issue 12.
const EXAMPLE: &[&str] = &[
    "alpine:3.19.1",
    "alpine:3.21.3-core1.0.0",
    "alpine:3.22.0-rc1",
    "alpine:latest",
    "node:20-alpine",
    "node:22-slim",
];

#[test]
fn the_issue_example_as_text() {
    let sandbox = sandbox_with(&records(EXAMPLE));
    let report = run(&sandbox, &["status"]);
    report.expect_code(0);
    assert_eq!(report.stderr, "");
    let app =
        |name: char| format!("registry.example.com/apps/app-{name}:1.0  team/app-{name}  a3f8b1c");
    let expected = format!(
        "\
6 applications on 2 base repositories (6 records), 1 outdated

docker.io/library/alpine (current: 3.21.3-core1.0.0)
  3.21.3-core1.0.0  current
    {b}  2026-04-01T10:01:00Z
  3.22.0-rc1  ahead: pre-release newer than 3.21.3-core1.0.0
    {c}  2026-04-01T10:02:00Z
  3.19.1
    {a}  2026-04-01T10:00:00Z  outdated: move to docker.io/library/alpine:3.21.3-core1.0.0
  latest  not versioned
    {d}  2026-04-01T10:03:00Z

docker.io/library/node (current: 20-alpine, 22-slim)
  20-alpine  current
    {e}  2026-04-01T10:04:00Z
  22-slim  current
    {f}  2026-04-01T10:05:00Z
",
        a = app('a'),
        b = app('b'),
        c = app('c'),
        d = app('d'),
        e = app('e'),
        f = app('f'),
    );
    assert_eq!(report.stdout, expected);
}

#[test]
fn the_issue_example_as_json() {
    let sandbox = sandbox_with(&records(EXAMPLE));
    let report = run(&sandbox, &["status", "--output", "json"]);
    report.expect_code(0);
    let report = json(&report);
    assert_eq!(report["applications"], 6);
    assert_eq!(report["outdated"], 1);

    let alpine = &report["repositories"][0];
    assert_eq!(alpine["repository"], "docker.io/library/alpine");
    assert_eq!(alpine["current_tag"], "3.21.3-core1.0.0");
    assert_eq!(
        alpine["tracks"],
        serde_json::json!([
            {"suffix": null, "parts": 3, "current_tag": "3.21.3-core1.0.0", "prerelease": false}
        ])
    );
    // (base, current, state, outdated, upgrade_to) in report order.
    let rows =
        |repository: &serde_json::Value| -> Vec<(String, bool, String, bool, Option<String>)> {
            repository["bases"]
                .as_array()
                .expect("bases")
                .iter()
                .flat_map(|b| {
                    b["applications"]
                        .as_array()
                        .expect("applications")
                        .iter()
                        .map(move |a| {
                            (
                                b["base"].as_str().expect("base").to_owned(),
                                b["current"].as_bool().expect("current"),
                                a["state"].as_str().expect("state").to_owned(),
                                a["outdated"].as_bool().expect("outdated"),
                                a["upgrade_to"].as_str().map(str::to_owned),
                            )
                        })
                })
                .collect()
        };
    let hub = |tag: &str| format!("docker.io/library/alpine:{tag}");
    assert_eq!(
        rows(alpine),
        [
            (
                hub("3.21.3-core1.0.0"),
                true,
                "current".to_owned(),
                false,
                None
            ),
            (hub("3.22.0-rc1"), false, "ahead".to_owned(), false, None),
            (
                hub("3.19.1"),
                false,
                "outdated".to_owned(),
                true,
                Some(hub("3.21.3-core1.0.0"))
            ),
            (
                hub("latest"),
                false,
                "not_versioned".to_owned(),
                false,
                None
            ),
        ]
    );

    let node = &report["repositories"][1];
    assert_eq!(node["repository"], "docker.io/library/node");
    assert_eq!(node["current_tag"], serde_json::Value::Null, "two tracks");
    assert_eq!(
        node["tracks"],
        serde_json::json!([
            {"suffix": "alpine", "parts": 1, "current_tag": "20-alpine", "prerelease": false},
            {"suffix": "slim", "parts": 1, "current_tag": "22-slim", "prerelease": false}
        ])
    );
    let node_hub = |tag: &str| format!("docker.io/library/node:{tag}");
    assert_eq!(
        rows(node),
        [
            (
                node_hub("20-alpine"),
                true,
                "current".to_owned(),
                false,
                None
            ),
            (node_hub("22-slim"), true, "current".to_owned(), false, None),
        ]
    );

    let markdown = run(&sandbox, &["status", "--output", "markdown"]);
    markdown.expect_code(0);
    for line in [
        "Current tag: `3.21.3-core1.0.0`",
        "Current tags, one per track: `20-alpine`, `22-slim`",
        "| `3.22.0-rc1` | 🧪 ahead: pre-release newer than `3.21.3-core1.0.0` |",
        "| `3.19.1` | ⚠️ outdated: move to `docker.io/library/alpine:3.21.3-core1.0.0` |",
        "| `latest` | ➖ not versioned |",
        "| `22-slim` | ✅ current |",
    ] {
        assert!(
            markdown.stdout.contains(line),
            "{line}\n{}",
            markdown.stdout
        );
    }
}

#[test]
fn the_tag_format_of_the_config_file_is_part_of_the_version() {
    let sandbox = sandbox_with(&records(&[
        "registry.example.com/bases/alpine:3.21.3-org1.0.0",
        "registry.example.com/bases/alpine:3.21.3-org1.2.0",
    ]));
    // Without it, `-org1.0.0` and `-org1.2.0` are two tracks.
    let plain = run(&sandbox, &["status", "--output", "json"]);
    plain.expect_code(0);
    assert_eq!(json(&plain)["outdated"], 0);

    // The original tool's `build:` section, as it is.
    sandbox.write(
        "imglife.yaml",
        "build:\n  core_version: 1.2.0\n  registry: registry.example.com/bases\n  \
         tag_format: \"{{.Version}}-org{{.CoreVersion}}\"\n  images:\n    - name: alpine\n      \
         type: core\n",
    );
    let judged = run(&sandbox, &["status", "--output", "json"]);
    judged.expect_code(0);
    let judged = json(&judged);
    assert_eq!(judged["outdated"], 1);
    assert_eq!(judged["repositories"][0]["current_tag"], "3.21.3-org1.2.0");

    sandbox.write(
        "imglife.yaml",
        "build:\n  tag_format: \"{{.Version}}-org{{.Release}}\"\n",
    );
    let refused = run(&sandbox, &["status"]);
    refused.expect_code(1);
    assert_eq!(refused.stdout, "");
    assert!(
        refused.stderr.starts_with("error: build.tag_format")
            && refused
                .stderr
                .contains("'{{.Version}}-org{{.Release}}': unknown placeholder '{{.Release}}'"),
        "{}",
        refused.stderr
    );
}

#[test]
fn strict_exits_3_when_an_application_is_outdated() {
    // Everyone current (or ahead, or not versioned): 0.
    let fine = sandbox_with(&records(&[
        "alpine:3.21.3-core1.0.0",
        "alpine:3.22.0-rc1",
        "alpine:latest",
        "node:20-alpine",
        "node:22-slim",
    ]));
    for output in ["text", "json", "markdown"] {
        run(&fine, &["status", "--strict", "--output", output]).expect_code(0);
    }

    // The example has one outdated application: 3, after the report.
    let example = sandbox_with(&records(EXAMPLE));
    let plain = run(&example, &["status"]);
    plain.expect_code(0);
    let strict = run(&example, &["status", "--strict"]);
    strict.expect_code(3);
    assert_eq!(
        strict.stdout, plain.stdout,
        "the report is printed as usual"
    );
    assert_eq!(
        strict.stderr,
        "error: --strict: 1 application is outdated (see the report)\n"
    );
    let strict_json = run(&example, &["status", "--strict", "--output", "json"]);
    strict_json.expect_code(3);
    assert_eq!(json(&strict_json)["outdated"], 1);
    run(&example, &["status", "--strict", "--output", "markdown"]).expect_code(3);

    // Only the applications shown count.
    run(&example, &["status", "--strict", "--base", "node"]).expect_code(0);
    run(&example, &["status", "--strict", "--base", "alpine:3.19"]).expect_code(3);

    // A failure is a failure (1), outdated or not.
    example.write(
        &format!("{ROOT}/registry.example.com+apps+broken/1.0.json"),
        "{ not json",
    );
    let broken = run(&example, &["status", "--strict"]);
    broken.expect_code(1);
    assert!(
        broken
            .stderr
            .contains("registry.example.com+apps+broken/1.0"),
        "{}",
        broken.stderr
    );
    let unreachable = Sandbox::new(BIN).run(
        ["status", "--strict"],
        &[
            ("IMGLIFE_REGISTRY__PROVIDER", "gitlab"),
            ("IMGLIFE_REGISTRY__URL", "http://127.0.0.1:9"),
            ("IMGLIFE_REGISTRY__PROJECT_ID", "1"),
            ("IMGLIFE_REGISTRY__MAX_RETRIES", "0"),
        ],
    );
    unreachable.expect_code(1);
}
