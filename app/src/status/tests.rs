use super::{StatusReport, report};
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
                r.current_tag.clone(),
                r.groups
                    .iter()
                    .map(|g| {
                        (
                            g.label.clone(),
                            g.current,
                            g.apps
                                .iter()
                                .map(|a| (a.image.clone(), a.upgrade_to.clone()))
                                .collect(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
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
            &base(ALPINE, "3.19"),
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
    let report = report(&fleet(), None);
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
                        "3.19".to_owned(),
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
    let report = report(&entries, None);
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
            &base(ALPINE, "3.21.10"),
            "2026-04-02T10:00:00Z",
        ),
    ]);
    let report = report(&entries, None);
    assert_eq!(report.repositories[0].current_tag.as_deref(), Some("3.22"));
    assert_eq!(report.outdated, 2);
    // No group is current (no application is on 3.22 now); newer tags
    // first.
    let labels: Vec<(&str, bool)> = report.repositories[0]
        .groups
        .iter()
        .map(|g| (g.label.as_str(), g.current))
        .collect();
    assert_eq!(labels, [("3.21.10", false), ("3.19", false)]);
}

#[test]
fn natural_order_picks_the_current_tag() {
    let entries = loaded(vec![
        entry(&app("a", "1"), &base(ALPINE, "3.9"), "2026-04-03T10:00:00Z"),
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
    let report = report(&entries, None);
    assert_eq!(
        report.repositories[0].current_tag.as_deref(),
        Some("3.21.3-core1.0.0"),
        "3.21.3-core1.0.0 > 3.21.3 > 3.9, not by text"
    );
    let outdated: Vec<&str> = report.repositories[0]
        .groups
        .iter()
        .flat_map(|g| &g.apps)
        .filter(|a| a.upgrade_to.is_some())
        .map(|a| a.image.as_str())
        .collect();
    assert_eq!(outdated, [app("c", "1"), app("a", "1")]);
}

#[test]
fn a_base_pinned_by_digest_only_is_never_outdated() {
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
    let report = report(&entries, None);
    let groups = &report.repositories[0].groups;
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[0].label.as_str(), groups[0].current),
        ("3.21", true)
    );
    assert_eq!(groups[1].label, format!("@{digest}"));
    assert!(!groups[1].current);
    assert_eq!(groups[1].apps[0].upgrade_to, None);
    assert_eq!(report.outdated, 0);
}

#[test]
fn a_filter_keeps_matching_applications_and_the_real_current_tag() {
    let filter = BaseFilter::parse(&base(ALPINE, "3.19")).expect("filter");
    let report = report(&fleet(), Some(&filter));
    assert_eq!(
        shape(&report),
        vec![(
            ALPINE.to_owned(),
            Some("3.21.3".to_owned()),
            vec![(
                "3.19".to_owned(),
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
    assert_eq!(report(&[], None), StatusReport::default());
}
