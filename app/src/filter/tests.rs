use imglife_domain::{Digest, ProjectPath};

use super::{BaseFilter, ListFilter, tag_continues};
use crate::testing::record;

const ALPINE: &str = "registry.example.com/bases/alpine";

fn on(base: &str) -> imglife_domain::BuildRecord {
    record(
        "registry.example.com/apps/web:1",
        base,
        "2026-04-01T10:00:00Z",
    )
}

fn filter(text: &str) -> BaseFilter {
    BaseFilter::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn tag_prefixes_stop_at_separators() {
    assert!(tag_continues("3.19", "3.19"));
    assert!(tag_continues("3.19.1", "3.19"));
    assert!(tag_continues("3.19-core1.0.0", "3.19"));
    assert!(tag_continues("3.19_x", "3.19"));
    assert!(tag_continues("3.19.1", "3.19."));
    assert!(!tag_continues("3.190", "3.19"));
    assert!(!tag_continues("3.1", "3.19"));
}

#[test]
fn a_repository_matches_every_tag_of_it_and_nothing_else() {
    let alpine = filter(ALPINE);
    assert!(alpine.matches(&on(&format!("{ALPINE}:3.19"))));
    assert!(alpine.matches(&on(&format!("{ALPINE}:3.21.3-core1.0.0"))));
    assert!(!alpine.matches(&on("registry.example.com/bases/alpine-slim:3.19")));
    assert!(!alpine.matches(&on("other.example.com/bases/alpine:3.19")));
}

#[test]
fn a_tag_matches_as_a_prefix_that_stops_at_a_separator() {
    let f = filter(&format!("{ALPINE}:3.19"));
    assert!(f.matches(&on(&format!("{ALPINE}:3.19"))));
    assert!(f.matches(&on(&format!("{ALPINE}:3.19.1"))));
    assert!(f.matches(&on(&format!("{ALPINE}:3.19-core1.0.0"))));
    assert!(!f.matches(&on(&format!("{ALPINE}:3.190"))));
    assert!(!f.matches(&on(&format!("{ALPINE}:3.21"))));
    let digest = format!("sha256:{}", "c".repeat(64));
    assert!(
        !f.matches(&on(&format!("{ALPINE}@{digest}"))),
        "a base without a tag has no tag to match"
    );
}

#[test]
fn references_are_normalised_like_the_records() {
    let f = filter("alpine:3.19");
    assert!(f.matches(&on("docker.io/library/alpine:3.19.2")));
    assert!(filter("Registry.Example.COM/bases/alpine").matches(&on(&format!("{ALPINE}:1"))));
}

#[test]
fn a_digest_matches_the_base_reference_or_the_recorded_base_digest() {
    let digest = format!("sha256:{}", "b".repeat(64));
    let f = filter(&format!("{ALPINE}@{digest}"));
    assert!(f.matches(&on(&format!("{ALPINE}:3.19@{digest}"))));
    let mut by_field = on(&format!("{ALPINE}:3.19"));
    assert!(!f.matches(&by_field));
    by_field.base_digest = Some(Digest::parse(&digest).expect("digest"));
    assert!(f.matches(&by_field));
}

#[test]
fn a_bad_filter_names_the_flag() {
    let error = BaseFilter::parse("UPPER CASE").expect_err("invalid");
    assert!(error.starts_with("--base 'UPPER CASE': "), "{error}");
}

#[test]
fn list_filters_combine() {
    let web = on(&format!("{ALPINE}:3.19"));
    assert!(ListFilter::default().matches(&web));
    let project = |p: &str| Some(ProjectPath::parse(p).expect("project"));
    let mine = ListFilter {
        project: project("team/web"),
        base: None,
    };
    assert!(mine.matches(&web));
    let theirs = ListFilter {
        project: project("team/api"),
        base: None,
    };
    assert!(!theirs.matches(&web));
    let both = ListFilter {
        project: project("team/web"),
        base: Some(filter(&format!("{ALPINE}:3.21"))),
    };
    assert!(
        !both.matches(&web),
        "the project matches, the base does not"
    );
}
