//! Property tests of the record key: it is injective (it decodes back to
//! the reference it came from, so two references can never share one) and
//! every key passes GitLab's package name, version and file-name rules.

use imglife_domain::{ImageRef, RecordKey};
use proptest::prelude::*;

fn alnum_run(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z0-9]{{1,{max}}}")).expect("regex")
}

/// Repository path components, including every separator the grammar
/// allows: `.`, `_`, `__` and runs of `-`.
fn path_component() -> impl Strategy<Value = String> {
    (
        alnum_run(6),
        proptest::option::of((
            prop_oneof![Just("."), Just("_"), Just("__"), Just("-"), Just("---")],
            alnum_run(4),
        )),
    )
        .prop_map(|(a, rest)| match rest {
            Some((sep, b)) => format!("{a}{sep}{b}"),
            None => a,
        })
}

fn domain() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        Just("localhost".to_owned()),
        Just("docker.io".to_owned()),
        proptest::string::string_regex("[a-z0-9]([a-z0-9-]{0,5}[a-z0-9])?(\\.[a-z0-9]{1,5}){1,3}")
            .expect("regex"),
        proptest::string::string_regex("[0-9]{1,3}(\\.[0-9]{1,3}){3}").expect("regex"),
    ];
    (host, proptest::option::of(1u16..=65535)).prop_map(|(h, port)| match port {
        Some(p) => format!("{h}:{p}"),
        None => h,
    })
}

fn tag() -> impl Strategy<Value = String> {
    // Dots are over-represented to exercise the `..` escape.
    proptest::string::string_regex("[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,20}").expect("regex")
}

fn digest() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex("sha256:[a-f0-9]{64}").expect("regex"),
        proptest::string::string_regex("sha512:[a-f0-9]{128}").expect("regex"),
        proptest::string::string_regex("blake3:[a-f0-9]{32,40}").expect("regex"),
    ]
}

prop_compose! {
    fn reference()(
        domain in domain(),
        path in proptest::collection::vec(path_component(), 1..4),
        tag in proptest::option::of(tag()),
        digest in proptest::option::of(digest()),
        dotted in any::<bool>(),
    ) -> String {
        let tag = tag.map(|t| if dotted { format!("{t}..x.") } else { t });
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_owned()),
            (t, _) => t,
        };
        let mut s = format!("{domain}/{}", path.join("/"));
        if let Some(t) = tag { s.push(':'); s.push_str(&t); }
        if let Some(d) = digest { s.push('@'); s.push_str(&d); }
        s
    }
}

fn gitlab_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn key_decodes_to_the_same_reference(text in reference()) {
        let reference = ImageRef::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let key = RecordKey::for_reference(&reference).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(key.reference().map_err(|e| TestCaseError::fail(e.to_string()))?, reference);
        prop_assert_eq!(RecordKey::from_parts(key.name(), key.version()), Ok(key.clone()));
    }

    #[test]
    fn different_references_never_share_a_key(a in reference(), b in reference()) {
        let (ra, rb) = (ImageRef::parse(&a), ImageRef::parse(&b));
        if let (Ok(ra), Ok(rb)) = (ra, rb) {
            let (ka, kb) = (RecordKey::for_reference(&ra), RecordKey::for_reference(&rb));
            if ra != rb {
                prop_assert_ne!(ka, kb);
            } else {
                prop_assert_eq!(ka, kb);
            }
        }
    }

    #[test]
    fn keys_pass_gitlab_rules(text in reference()) {
        let reference = ImageRef::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let key = RecordKey::for_reference(&reference).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Package name: \A[A-Za-z0-9\.\_\-\+]+\z
        prop_assert!(gitlab_name_ok(key.name()), "name {}", key.name());
        // Version: \A(?!.*\.\.)[\w+.-]+\z
        prop_assert!(gitlab_name_ok(key.version()) && !key.version().contains(".."), "version {}", key.version());
        // Path-like stores: one file name of at most 255 bytes per part.
        prop_assert!(key.name().len() <= 255);
        prop_assert!(key.relative_path().split('/').all(|part| !part.is_empty() && part.len() <= 255 && part != "." && part != ".."));
    }
}

/// Near-collisions a careless encoding would merge.
#[test]
fn look_alike_references_get_distinct_keys() {
    let groups = [
        ["r.io/a/b:1", "r.io/a_b:1", "r.io/a+b:1"],
        ["r.io:5000/a:1", "r.io/5000/a:1", "r.io_5000/a:1"],
        ["r.io/a:1..2", "r.io/a:1.+.2", "r.io/a:1.2"],
    ];
    for group in groups {
        let keys: Vec<_> = group
            .iter()
            .filter_map(|t| ImageRef::parse(t).ok())
            .map(|r| RecordKey::for_reference(&r).expect("key"))
            .collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b, "{group:?}");
            }
        }
    }
}
