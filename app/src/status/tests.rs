use super::{AppState, StatusReport, TagRule, Track, TrackCurrent, report};
use crate::filter::BaseFilter;
use crate::records::{Entry, newest_first};
use crate::testing::entry;

const ALPINE: &str = "registry.example.com/bases/alpine";
const DEBIAN: &str = "registry.example.com/bases/debian";

/// Entries newest first, as `records::load` returns them.
fn loaded(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| newest_first(&a.record, &b.record));
    entries
}

fn app(name: &str, tag: &str) -> String {
    format!("registry.example.com/apps/{name}:{tag}")
}

fn base(repository: &str, tag: &str) -> String {
    format!("{repository}:{tag}")
}

fn status(entries: &[Entry]) -> StatusReport {
    report(entries, None, &TagRule::default())
}

/// (repository, current tag, [(label, current, [(image, upgrade_to)])])
type Shape = Vec<(
    String,
    Option<String>,
    Vec<(String, bool, Vec<(String, Option<String>)>)>,
)>;

fn shape(report: &StatusReport) -> Shape {
    report
        .repositories
        .iter()
        .map(|r| {
            (
                r.repository.clone(),
                r.current_tag().map(str::to_owned),
                r.groups
                    .iter()
                    .map(|g| {
                        (
                            g.label.clone(),
                            g.current,
                            g.apps
                                .iter()
                                .map(|a| (a.image.clone(), a.upgrade_to().map(str::to_owned)))
                                .collect(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Each application's base tag and state, in report order.
fn states(report: &StatusReport) -> Vec<(String, AppState)> {
    report
        .repositories
        .iter()
        .flat_map(|r| &r.groups)
        .flat_map(|g| g.apps.iter().map(|a| (g.label.clone(), a.state.clone())))
        .collect()
}

fn outdated(to: &str) -> AppState {
    AppState::Outdated {
        upgrade_to: to.to_owned(),
    }
}

fn fleet() -> Vec<Entry> {
    loaded(vec![
        entry(
            &app("web", "2.0"),
            &base(ALPINE, "3.21.3"),
            "2026-04-03T10:00:00Z",
        ),
        entry(
            &app("api", "1.0"),
            &base(ALPINE, "3.19.1"),
            "2026-04-02T10:00:00Z",
        ),
        entry(
            &app("batch", "7"),
            &base(ALPINE, "3.21.3"),
            "2026-04-01T10:00:00Z",
        ),
        entry(&app("db", "1"), &base(DEBIAN, "12"), "2026-03-01T10:00:00Z"),
        entry(
            &app("cache", "1"),
            &base(DEBIAN, "11"),
            "2026-03-02T10:00:00Z",
        ),
    ])
}

#[test]
fn groups_applications_by_base_repository_and_tag() {
    let report = status(&fleet());
    let none = None::<String>;
    assert_eq!(
        shape(&report),
        vec![
            (
                ALPINE.to_owned(),
                Some("3.21.3".to_owned()),
                vec![
                    (
                        "3.21.3".to_owned(),
                        true,
                        vec![
                            (app("batch", "7"), none.clone()),
                            (app("web", "2.0"), none.clone())
                        ]
                    ),
                    (
                        "3.19.1".to_owned(),
                        false,
                        vec![(app("api", "1.0"), Some(base(ALPINE, "3.21.3")))]
                    ),
                ]
            ),
            (
                DEBIAN.to_owned(),
                Some("12".to_owned()),
                vec![
                    ("12".to_owned(), true, vec![(app("db", "1"), none.clone())]),
                    (
                        "11".to_owned(),
                        false,
                        vec![(app("cache", "1"), Some(base(DEBIAN, "12")))]
                    ),
                ]
            ),
        ]
    );
    assert_eq!(
        (report.applications, report.outdated, report.records),
        (5, 2, 5)
    );
}

#[test]
fn only_the_newest_record_of_an_application_counts() {
    let entries = loaded(vec![
        entry(
            &app("web", "2.0"),
            &base(ALPINE, "3.21"),
            "2026-04-03T10:00:00Z",
        ),
        entry(
            &app("web", "1.9"),
            &base(ALPINE, "3.19"),
            "2026-04-02T10:00:00Z",
        ),
        entry(
            &app("web", "1.8"),
            &base(DEBIAN, "12"),
            "2026-04-01T10:00:00Z",
        ),
    ]);
    let report = status(&entries);
    assert_eq!(
        shape(&report),
        vec![(
            ALPINE.to_owned(),
            Some("3.21".to_owned()),
            vec![("3.21".to_owned(), true, vec![(app("web", "2.0"), None)])]
        )],
        "web is on 3.21 now; its older records neither list it again nor keep debian alive"
    );
    assert_eq!(
        (report.applications, report.outdated, report.records),
        (1, 0, 3)
    );
}

#[test]
fn the_current_tag_is_the_newest_any_record_references() {
    // api moved back to 3.19; its older record on 3.22 still makes 3.22
    // the newest tag of the repository, so both applications are behind.
    let entries = loaded(vec![
        entry(
            &app("api", "2"),
            &base(ALPINE, "3.19"),
            "2026-04-03T10:00:00Z",
        ),
        entry(
            &app("api", "1"),
            &base(ALPINE, "3.22"),
            "2026-04-01T10:00:00Z",
        ),
        entry(
            &app("web", "1"),
            &base(ALPINE, "3.21"),
            "2026-04-02T10:00:00Z",
        ),
    ]);
    let report = status(&entries);
    assert_eq!(report.repositories[0].current_tag(), Some("3.22"));
    assert_eq!(report.outdated, 2);
    // No group is current (no application is on 3.22 now); newer tags
    // first.
    let labels: Vec<(&str, bool)> = report.repositories[0]
        .groups
        .iter()
        .map(|g| (g.label.as_str(), g.current))
        .collect();
    assert_eq!(labels, [("3.21", false), ("3.19", false)]);
}

#[test]
fn version_order_picks_the_current_tag() {
    let entries = loaded(vec![
        entry(
            &app("a", "1"),
            &base(ALPINE, "3.9.0"),
            "2026-04-03T10:00:00Z",
        ),
        entry(
            &app("b", "1"),
            &base(ALPINE, "3.21.3-core1.0.0"),
            "2026-04-02T10:00:00Z",
        ),
        entry(
            &app("c", "1"),
            &base(ALPINE, "3.21.3"),
            "2026-04-01T10:00:00Z",
        ),
    ]);
    let report = status(&entries);
    assert_eq!(
        report.repositories[0].current_tag(),
        Some("3.21.3-core1.0.0"),
        "3.21.3-core1.0.0 > 3.21.3 > 3.9.0, not by text"
    );
    let outdated: Vec<&str> = report.repositories[0]
        .groups
        .iter()
        .flat_map(|g| &g.apps)
        .filter(|a| a.upgrade_to().is_some())
        .map(|a| a.image.as_str())
        .collect();
    assert_eq!(outdated, [app("c", "1"), app("a", "1")]);
}

#[test]
fn a_base_pinned_by_digest_only_is_not_versioned() {
    let digest = format!("sha256:{}", "a".repeat(64));
    let entries = loaded(vec![
        entry(
            &app("a", "1"),
            &format!("{ALPINE}@{digest}"),
            "2026-04-03T10:00:00Z",
        ),
        entry(
            &app("b", "1"),
            &base(ALPINE, "3.21"),
            "2026-04-02T10:00:00Z",
        ),
    ]);
    let report = status(&entries);
    let groups = &report.repositories[0].groups;
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[0].label.as_str(), groups[0].current),
        ("3.21", true)
    );
    assert_eq!(groups[1].label, format!("@{digest}"));
    assert!(!groups[1].current);
    assert_eq!(groups[1].apps[0].state, AppState::NotVersioned);
    assert_eq!(report.outdated, 0);
}

#[test]
fn a_filter_keeps_matching_applications_and_the_real_current_tag() {
    let filter = BaseFilter::parse(&base(ALPINE, "3.19")).expect("filter");
    let report = report(&fleet(), Some(&filter), &TagRule::default());
    assert_eq!(
        shape(&report),
        vec![(
            ALPINE.to_owned(),
            Some("3.21.3".to_owned()),
            vec![(
                "3.19.1".to_owned(),
                false,
                vec![(app("api", "1.0"), Some(base(ALPINE, "3.21.3")))]
            )]
        )]
    );
    assert_eq!(
        (report.applications, report.outdated, report.records),
        (1, 1, 5),
        "records counts every record read, filtered or not"
    );
}

#[test]
fn nothing_to_report() {
    assert_eq!(status(&[]), StatusReport::default());
}

/// The rule of `status`, one row per sentence: the tags on record in a
/// repository, and the state each application ends up in.
#[test]
fn the_tag_rule_as_a_table() {
    const ALPINE_HUB: &str = "docker.io/library/alpine";
    let hub = |tag: &str| format!("{ALPINE_HUB}:{tag}");
    /// (the sentence, the tags on record, each application's state)
    type Row = (
        &'static str,
        Vec<&'static str>,
        Vec<(&'static str, AppState)>,
    );
    let table: Vec<Row> = vec![
        (
            "the issue's example",
            vec!["3.19.1", "3.21.3-core1.0.0", "3.22.0-rc1", "latest"],
            vec![
                ("3.21.3-core1.0.0", AppState::Current),
                (
                    "3.22.0-rc1",
                    AppState::Ahead {
                        current: "3.21.3-core1.0.0".to_owned(),
                    },
                ),
                ("3.19.1", outdated(&hub("3.21.3-core1.0.0"))),
                ("latest", AppState::NotVersioned),
            ],
        ),
        (
            "latest, stable, edge and branch-like tags are never current nor outdated",
            vec!["latest", "stable", "edge", "main", "feature-x", "3f8b1c0"],
            vec![
                ("3f8b1c0", AppState::NotVersioned),
                ("edge", AppState::NotVersioned),
                ("feature-x", AppState::NotVersioned),
                ("latest", AppState::NotVersioned),
                ("main", AppState::NotVersioned),
                ("stable", AppState::NotVersioned),
            ],
        ),
        (
            "a suffix is a compatibility track",
            vec!["20-alpine", "22-slim", "18-alpine"],
            vec![
                ("20-alpine", AppState::Current),
                ("22-slim", AppState::Current),
                ("18-alpine", outdated(&hub("20-alpine"))),
            ],
        ),
        (
            "tags are compared only with the same number of version parts",
            vec!["3.19", "3.21.3", "3.20", "3.20.1"],
            vec![
                ("3.20", AppState::Current),
                ("3.21.3", AppState::Current),
                ("3.19", outdated(&hub("3.20"))),
                ("3.20.1", outdated(&hub("3.21.3"))),
            ],
        ),
        (
            "-core<version> is part of the version, not a track",
            vec!["3.21.3", "3.21.3-core1.0.0", "3.21.3-core1.2.0"],
            vec![
                ("3.21.3-core1.2.0", AppState::Current),
                ("3.21.3-core1.0.0", outdated(&hub("3.21.3-core1.2.0"))),
                ("3.21.3", outdated(&hub("3.21.3-core1.2.0"))),
            ],
        ),
        (
            "a pre-release ranks below its release",
            vec!["3.22.0-rc1", "3.22.0"],
            vec![
                ("3.22.0", AppState::Current),
                ("3.22.0-rc1", outdated(&hub("3.22.0"))),
            ],
        ),
        (
            "pre-releases become current only in a track with no release",
            vec![
                "1.0.0-alpha.2",
                "1.0.0-beta",
                "1.0.0-rc1-slim",
                "1.0.0-slim",
            ],
            vec![
                ("1.0.0-beta", AppState::Current),
                ("1.0.0-slim", AppState::Current),
                ("1.0.0-alpha.2", outdated(&hub("1.0.0-beta"))),
                ("1.0.0-rc1-slim", outdated(&hub("1.0.0-slim"))),
            ],
        ),
        (
            "an application on a pre-release newer than current is not outdated",
            vec!["3.21.3", "3.22.0-pre", "3.22.0-beta", "3.21.2"],
            vec![
                ("3.21.3", AppState::Current),
                (
                    "3.22.0-pre",
                    AppState::Ahead {
                        current: "3.21.3".to_owned(),
                    },
                ),
                (
                    "3.22.0-beta",
                    AppState::Ahead {
                        current: "3.21.3".to_owned(),
                    },
                ),
                ("3.21.2", outdated(&hub("3.21.3"))),
            ],
        ),
        (
            "the same version spelt otherwise is current too",
            vec!["v3.21.3", "3.21.3"],
            vec![
                ("v3.21.3", AppState::Current),
                ("3.21.3", AppState::Current),
            ],
        ),
    ];
    for (sentence, tags, expected) in table {
        // One application per tag, built in the order given.
        let entries = loaded(
            tags.iter()
                .enumerate()
                .map(|(i, tag)| {
                    entry(
                        &app(&format!("app-{i}"), "1"),
                        &format!("alpine:{tag}"),
                        &format!("2026-04-01T10:{i:02}:00Z"),
                    )
                })
                .collect(),
        );
        let report = status(&entries);
        let expected: Vec<(String, AppState)> = expected
            .into_iter()
            .map(|(tag, state)| (tag.to_owned(), state))
            .collect();
        assert_eq!(states(&report), expected, "{sentence}");
        let outdated = expected
            .iter()
            .filter(|(_, s)| matches!(s, AppState::Outdated { .. }))
            .count();
        assert_eq!(report.outdated, outdated, "{sentence}");
        for group in &report.repositories[0].groups {
            assert_eq!(group.current, group.state == AppState::Current);
            assert!(group.apps.iter().all(|a| a.state == group.state));
        }
    }
}

#[test]
fn each_track_has_its_current_tag() {
    let entries = loaded(vec![
        entry(&app("a", "1"), "alpine:3.19.1", "2026-04-01T10:00:00Z"),
        entry(
            &app("b", "1"),
            "alpine:3.21.3-core1.0.0",
            "2026-04-01T10:01:00Z",
        ),
        entry(&app("c", "1"), "alpine:3.22.0-rc1", "2026-04-01T10:02:00Z"),
        entry(&app("d", "1"), "alpine:latest", "2026-04-01T10:03:00Z"),
        entry(&app("e", "1"), "node:20-alpine", "2026-04-01T10:04:00Z"),
        entry(&app("f", "1"), "node:22-slim", "2026-04-01T10:05:00Z"),
        entry(
            &app("g", "1"),
            "node:23.0.0-rc1-slim",
            "2026-04-01T10:06:00Z",
        ),
    ]);
    let report = status(&entries);
    let track = |suffix: &str, parts| Track {
        suffix: suffix.to_owned(),
        parts,
    };
    let tracks: Vec<(&str, &[TrackCurrent])> = report
        .repositories
        .iter()
        .map(|r| (r.repository.as_str(), r.tracks.as_slice()))
        .collect();
    assert_eq!(
        tracks,
        [
            (
                "docker.io/library/alpine",
                &[TrackCurrent {
                    track: track("", 3),
                    tag: "3.21.3-core1.0.0".to_owned(),
                    prerelease: false,
                }][..]
            ),
            (
                "docker.io/library/node",
                &[
                    TrackCurrent {
                        track: track("alpine", 1),
                        tag: "20-alpine".to_owned(),
                        prerelease: false,
                    },
                    TrackCurrent {
                        track: track("slim", 1),
                        tag: "22-slim".to_owned(),
                        prerelease: false,
                    },
                    TrackCurrent {
                        track: track("slim", 3),
                        tag: "23.0.0-rc1-slim".to_owned(),
                        prerelease: true,
                    },
                ][..]
            ),
        ]
    );
    assert_eq!(
        report.repositories[0].current_tag(),
        Some("3.21.3-core1.0.0")
    );
    assert_eq!(report.repositories[1].current_tag(), None, "three tracks");
    assert_eq!((report.applications, report.outdated), (7, 1));
}

#[test]
fn a_configured_tag_format_is_part_of_the_version() {
    let entries = loaded(vec![
        entry(
            &app("a", "1"),
            "alpine:3.21.3-org1.0.0",
            "2026-04-01T10:00:00Z",
        ),
        entry(
            &app("b", "1"),
            "alpine:3.21.3-org1.2.0",
            "2026-04-01T10:01:00Z",
        ),
    ]);
    let rule = TagRule::new(Some("{{.Version}}-org{{.CoreVersion}}")).expect("valid");
    assert_eq!(
        states(&report(&entries, None, &rule)),
        [
            ("3.21.3-org1.2.0".to_owned(), AppState::Current),
            (
                "3.21.3-org1.0.0".to_owned(),
                outdated("docker.io/library/alpine:3.21.3-org1.2.0")
            ),
        ]
    );
    // Without it, `-org1.0.0` and `-org1.2.0` are two tracks.
    assert_eq!(status(&entries).outdated, 0);
}

proptest::proptest! {
    // The report does not depend on the order records were read in.
    #[test]
    fn the_order_of_records_does_not_matter(
        tags in proptest::collection::vec(
            "(latest|[0-9]{1,2}(\\.[0-9]{1,2}){0,2}(-rc[0-9])?(-core[0-9]\\.[0-9])?(-alpine)?)",
            1..8,
        ),
        seed in 0usize..1000,
    ) {
        let entries: Vec<Entry> = tags
            .iter()
            .enumerate()
            .map(|(i, tag)| {
                entry(
                    &app(&format!("app-{i}"), "1"),
                    &format!("alpine:{tag}"),
                    "2026-04-01T10:00:00Z",
                )
            })
            .collect();
        let mut shuffled = entries.clone();
        shuffled.rotate_left(seed % entries.len());
        shuffled.reverse();
        proptest::prop_assert_eq!(status(&entries), status(&shuffled));
    }
}
