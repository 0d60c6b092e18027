use std::cmp::Ordering;

use proptest::prelude::*;

use super::{DEFAULT_TAG_FORMAT, TagRule, Token, Track, default_format};

fn rule() -> TagRule {
    TagRule::default()
}

fn parse(tag: &str) -> super::Version {
    rule()
        .parse(tag)
        .unwrap_or_else(|| panic!("{tag} is versioned"))
}

fn track(suffix: &str, parts: usize) -> Track {
    Track {
        suffix: suffix.to_owned(),
        parts,
    }
}

/// The version order of two tags of one track.
fn order(a: &str, b: &str) -> Ordering {
    let (x, y) = (parse(a), parse(b));
    assert_eq!(x.track(), y.track(), "{a} and {b} share a track");
    x.cmp_version(&y)
}

#[test]
fn only_version_like_tags_are_versioned() {
    for tag in [
        "latest",
        "stable",
        "edge",
        "main",
        "master",
        "develop",
        "feature-login",
        "alpine",
        "nightly",
        "sha-3f8b1c0",
        // Commit hashes, as Renovate reads them.
        "3f8b1c0",
        "a3f8b1c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6",
        "v",
        "1.",
        "1..2",
        ".1",
        "",
    ] {
        assert_eq!(rule().parse(tag), None, "{tag} is not versioned");
    }
    for tag in [
        "3",
        "3.19",
        "3.19.1",
        "v3.19.1",
        "20240101",
        "1234567",
        "20-alpine",
        "3.21.3-core1.0.0",
        "3.22.0-rc1",
        "3.8.0b1",
    ] {
        assert!(rule().parse(tag).is_some(), "{tag} is versioned");
    }
}

/// (tag, suffix, number of version parts, pre-release)
#[test]
fn tracks_and_prereleases() {
    for (tag, suffix, parts, prerelease) in [
        ("3.19.1", "", 3, false),
        ("3.19", "", 2, false),
        ("22", "", 1, false),
        ("v1.2.3", "", 3, false),
        ("20-alpine", "alpine", 1, false),
        ("22-slim", "slim", 1, false),
        ("12.8-bookworm", "bookworm", 2, false),
        ("3.12-slim-bookworm", "slim-bookworm", 2, false),
        ("3.21.3-core1.0.0", "", 3, false),
        ("3.21.3-core1.2.0", "", 3, false),
        ("20-alpine-core1.0.0", "alpine", 1, false),
        ("3.21.3-core1.0.0-alpine", "alpine", 3, false),
        ("3.22.0-rc1", "", 3, true),
        ("3.22.0-RC1", "", 3, true),
        ("3.22.0-rc.1", "", 3, true),
        ("1.0.0-alpha.2", "", 3, true),
        ("1.0.0-beta", "", 3, true),
        ("1.0.0-pre", "", 3, true),
        ("1.0.0-preview2", "", 3, true),
        ("3.8.0b1", "", 3, true),
        ("3.8.0b1-alpine", "alpine", 3, true),
        ("1.2.3-rc1-alpine", "alpine", 3, true),
        ("3.22.0-rc1-core1.0.0", "", 3, true),
        ("3.22.0-core1.0.0-rc1", "", 3, true),
        // Not a pre-release word: a track.
        ("8-dev", "dev", 1, false),
        ("1.0-prerelease", "prerelease", 2, false),
        ("1.0-rcx", "rcx", 2, false),
        // `-core` without a version is a suffix like any other.
        ("3.21.3-core", "core", 3, false),
    ] {
        let version = parse(tag);
        assert_eq!(version.track(), &track(suffix, parts), "track of {tag}");
        assert_eq!(version.is_prerelease(), prerelease, "pre-release {tag}");
        assert_eq!(version.tag(), tag);
    }
}

#[test]
fn the_order_within_a_track() {
    // Each row: older < newer.
    for (older, newer) in [
        ("3.19.1", "3.21.3"),
        ("3.9.0", "3.10.0"),
        ("3.21.3", "3.21.10"),
        // The organisation's build is part of the version.
        ("3.21.3", "3.21.3-core1.0.0"),
        ("3.21.3-core1.0.0", "3.21.3-core1.2.0"),
        ("3.21.3-core1.2.0", "3.21.4"),
        ("3.21.3-core1.9.0", "3.21.3-core1.10.0"),
        ("20-alpine", "20-alpine-core1.0.0"),
        // A release outranks its pre-releases, which outrank the release
        // before.
        ("3.22.0-rc1", "3.22.0"),
        ("3.21.3-core1.0.0", "3.22.0-rc1"),
        ("3.22.0-rc1", "3.22.0-rc2"),
        ("3.22.0-rc2", "3.22.0-rc10"),
        ("1.0.0-alpha.2", "1.0.0-alpha.10"),
        ("1.0.0-alpha.2", "1.0.0-beta"),
        ("1.0.0-beta", "1.0.0-beta.2"),
        ("1.0.0-beta", "1.0.0-pre"),
        ("1.0.0-pre", "1.0.0-rc1"),
        ("3.8.0b1", "3.8.0"),
        ("3.8.0a1", "3.8.0b1"),
        ("3.22.0-rc1-core1.0.0", "3.22.0-core1.0.0"),
        ("3.22.0-core1.0.0-rc1", "3.22.0-core1.0.0"),
        ("3.22.0-core0.9.0", "3.22.0-core1.0.0-rc1"),
        // Numbers of any size.
        ("1.99999999999999999999999", "1.100000000000000000000000"),
    ] {
        assert_eq!(order(older, newer), Ordering::Less, "{older} < {newer}");
        assert_eq!(order(newer, older), Ordering::Greater, "{newer} > {older}");
    }
    // Same version, other spelling: equal as versions, still ordered as
    // tags.
    for (a, b) in [
        ("v3.21.3", "3.21.3"),
        ("3.09", "3.9"),
        ("1.0-RC1", "1.0-rc1"),
    ] {
        assert_eq!(order(a, b), Ordering::Equal, "{a} = {b}");
        assert_ne!(parse(a).cmp(&parse(b)), Ordering::Equal);
    }
}

#[test]
fn suffixes_and_part_counts_make_separate_tracks() {
    for (a, b) in [
        ("20-alpine", "22-slim"),
        ("20-alpine", "20"),
        ("3.19", "3.21.3"),
        ("12", "12.8"),
        ("12.8-bookworm", "12.8-slim-bookworm"),
        ("3.21.3-core1.0.0", "3.21-core1.0.0"),
    ] {
        assert_ne!(parse(a).track(), parse(b).track(), "{a} vs {b}");
    }
}

#[test]
fn the_default_format_is_the_original_tools() {
    assert_eq!(
        TagRule::tokens(DEFAULT_TAG_FORMAT).as_deref(),
        Ok(default_format().as_slice())
    );
    assert_eq!(TagRule::new(None), Ok(TagRule::default()));
    assert_eq!(
        TagRule::new(Some(DEFAULT_TAG_FORMAT)),
        Ok(TagRule::default())
    );
    assert_eq!(
        TagRule::new(Some("{{ .Version }}-core{{ .CoreVersion }}")),
        Ok(TagRule::default()),
        "spaces inside a Go template's braces"
    );
}

#[test]
fn a_configured_go_template_makes_its_build_part_of_the_version() {
    let rule = TagRule::new(Some("{{.Version}}-org{{.CoreVersion}}")).expect("valid");
    let org = |tag: &str| rule.parse(tag).expect("versioned");
    assert_eq!(org("3.21.3-org1.2.0").track(), &track("", 3));
    assert_eq!(
        org("3.21.3-org1.0.0").cmp_version(&org("3.21.3-org1.2.0")),
        Ordering::Less
    );
    assert_eq!(
        org("3.21.3").cmp_version(&org("3.21.3-org1.0.0")),
        Ordering::Less
    );
    // The default format still applies to the tags that follow it.
    assert_eq!(org("3.21.3-core1.0.0").track(), &track("", 3));
    // Without the format, `-org1.2.0` is a suffix.
    assert_eq!(parse("3.21.3-org1.2.0").track(), &track("org1.2.0", 3));

    let prefixed = TagRule::new(Some("v{{.Version}}_b{{.CoreVersion}}")).expect("valid");
    let v = prefixed.parse("v2.1_b7").expect("versioned");
    assert_eq!(v.track(), &track("", 2));
    assert_eq!(
        prefixed.parse("2.1").expect("versioned").cmp_version(&v),
        Ordering::Less
    );
}

#[test]
fn a_configured_token_template_counts_from_the_tag_on() {
    let rule = TagRule::new(Some("{registry}/{folder}:{mirror-tag}-{build_name}")).expect("valid");
    let parse = |tag: &str| rule.parse(tag).expect("versioned");
    assert_eq!(
        rule.formats[0],
        vec![
            Token::Upstream,
            Token::Text("-".to_owned()),
            Token::Build { named: true }
        ]
    );
    assert_eq!(
        parse("3.21.3-core1.0.0").cmp_version(&parse("3.21.3-core1.2.0")),
        Ordering::Less
    );
    assert_eq!(parse("3.21.3-core1.2.0").track(), &track("", 3));
    // A pre-release is never taken for a build.
    assert!(parse("3.22.0-rc1").is_prerelease());
    assert_eq!(parse("20-alpine").track(), &track("alpine", 1));
}

#[test]
fn a_bad_tag_format_is_refused_with_the_reason() {
    for (format, says) in [
        (
            "{{.Name}}-core{{.CoreVersion}}",
            "unknown placeholder '{{.Name}}'",
        ),
        ("{mirror-tag}-{arch}", "unknown placeholder '{arch}'"),
        ("{{.Version}}-core{{.CoreVersion", "'{{' without '}}'"),
        ("{mirror-tag", "'{' without '}'"),
        ("core{{.CoreVersion}}", "the upstream version once"),
        ("{{.Version}}-{{.Version}}", "the upstream version once"),
        ("{{.Version}}{{.CoreVersion}}", "text between them"),
        (
            "{{.Version}} core{{.CoreVersion}}",
            "' ' cannot appear in a tag",
        ),
        ("{mirror-tag}-{registry}", "belong to the repository"),
    ] {
        let error = TagRule::new(Some(format)).expect_err(format);
        assert!(error.contains(says), "{format}: {error}");
        assert!(error.starts_with(&format!("'{format}'")), "{error}");
    }
}

/// Tags of `parts` version parts, with or without a pre-release and a
/// build; small numbers, so that equal parts are frequent.
fn version_tag(parts: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(0u32..4, parts),
        proptest::option::of(prop_oneof![
            Just("rc1".to_owned()),
            Just("rc2".to_owned()),
            Just("alpha.2".to_owned()),
            Just("beta".to_owned()),
            Just("pre".to_owned()),
        ]),
        proptest::option::of(proptest::collection::vec(0u32..3, 1..3)),
    )
        .prop_map(|(release, pre, build)| {
            let mut tag = release
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(".");
            if let Some(pre) = pre {
                tag.push('-');
                tag.push_str(&pre);
            }
            if let Some(build) = build {
                tag.push_str("-core");
                tag.push_str(
                    &build
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join("."),
                );
            }
            tag
        })
}

proptest! {
    // A total order over tags, so that the current tag and the order of
    // the report never depend on the order records were read in.
    #[test]
    fn tags_are_totally_ordered(
        a in version_tag(1..4),
        b in version_tag(1..4),
        c in version_tag(1..4),
    ) {
        let (x, y, z) = (parse(&a), parse(&b), parse(&c));
        prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
        prop_assert_eq!(x.cmp(&y) == Ordering::Equal, a == b);
        if x <= y && y <= z {
            prop_assert!(x <= z);
        }
        // Within a track, the version order agrees with the total order.
        if x.track() == y.track() && x.cmp_version(&y) == Ordering::Less {
            prop_assert!(x < y);
        }
    }

    // Within one track, the version order is a total preorder: only
    // spellings of one version are equal, and the tag's text orders them.
    #[test]
    fn the_order_within_a_track_is_total(
        a in version_tag(3..4),
        b in version_tag(3..4),
        c in version_tag(3..4),
    ) {
        let (x, y, z) = (parse(&a), parse(&b), parse(&c));
        prop_assert_eq!(x.track(), y.track());
        prop_assert_eq!(x.cmp_version(&y), y.cmp_version(&x).reverse());
        prop_assert_eq!(x.cmp_version(&y) == Ordering::Equal, a == b);
        if x.cmp_version(&y).is_le() && y.cmp_version(&z).is_le() {
            prop_assert!(x.cmp_version(&z).is_le());
        }
        prop_assert_eq!(x.cmp(&y), x.cmp_version(&y));
    }

    #[test]
    fn a_release_outranks_its_prereleases_and_its_build_outranks_it(
        release in proptest::collection::vec(0u32..1000, 1..5),
        pre in "(alpha|beta|pre|rc|preview)([.]?[0-9]{1,3})?",
        build in proptest::collection::vec(0u32..100, 1..4),
    ) {
        let release = release.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
        let build = build.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
        let prerelease = format!("{release}-{pre}");
        let built = format!("{release}-core{build}");
        let (r, p, b) = (parse(&release), parse(&prerelease), parse(&built));
        prop_assert!(p.is_prerelease() && !r.is_prerelease() && !b.is_prerelease());
        prop_assert_eq!(p.track(), r.track());
        prop_assert_eq!(b.track(), r.track());
        prop_assert_eq!(p.cmp_version(&r), Ordering::Less);
        prop_assert_eq!(r.cmp_version(&b), Ordering::Less);
    }

    // Whatever a tag holds, reading it never panics.
    #[test]
    fn any_tag_parses_or_is_not_versioned(tag in "[A-Za-z0-9_.-]{0,24}") {
        if let Some(version) = rule().parse(&tag) {
            prop_assert_eq!(version.tag(), tag.as_str());
        }
    }
}
