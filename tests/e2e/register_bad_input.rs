//! Bad input of every kind: each case must exit with the right code, name
//! the culprit on stderr in one line, print nothing on stdout and leave the
//! store exactly as it was.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use imglife_testkit::Sandbox;

const BIN: &str = env!("CARGO_BIN_EXE_imglife");

struct Case {
    name: &'static str,
    args: Vec<OsString>,
    env: Vec<(&'static str, &'static str)>,
    files: Vec<(&'static str, Vec<u8>)>,
    code: i32,
    /// Every one of these must appear on stderr.
    culprit: Vec<&'static str>,
}

/// A valid invocation with one flag's value replaced (or the flag removed
/// when `value` is None).
fn with(flag: &str, value: Option<&[u8]>) -> Vec<OsString> {
    let mut base: Vec<(&str, Vec<u8>)> = vec![
        (
            "--image",
            b"registry.example.com/apps/myservice:1.2.0".to_vec(),
        ),
        ("--base", b"registry.example.com/bases/alpine:3.21".to_vec()),
        ("--revision", b"a3f8b1c".to_vec()),
        ("--project", b"myteam/myservice".to_vec()),
        ("--platform", b"linux/amd64".to_vec()),
    ];
    match value {
        Some(v) => match base.iter_mut().find(|(f, _)| *f == flag) {
            Some(slot) => slot.1 = v.to_vec(),
            None => base.push((flag, v.to_vec())),
        },
        None => base.retain(|(f, _)| *f != flag),
    }
    let mut args = vec![OsString::from("register")];
    for (f, v) in base {
        args.push(f.into());
        args.push(OsString::from_vec(v));
    }
    args
}

/// `args` with the image moved to a registry that refuses connections.
fn unreachable_image(mut args: Vec<OsString>) -> Vec<OsString> {
    if let Some(i) = args.iter().position(|a| a == "--image") {
        args[i + 1] = OsString::from("127.0.0.1:1/apps/myservice:1.2.0");
    }
    args
}

fn case(name: &'static str, args: Vec<OsString>, code: i32, culprit: &[&'static str]) -> Case {
    Case {
        name,
        args,
        env: vec![],
        files: vec![],
        code,
        culprit: culprit.to_vec(),
    }
}

fn cases() -> Vec<Case> {
    let long_revision = "r".repeat(257);
    let long_key = format!("{}=v", "k".repeat(129));
    let huge_project = "a".repeat(100_000);
    let three_days_ahead = format!(
        "{:.0}",
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(72)
    );
    let mut cases = vec![
        // --image
        case(
            "image without tag",
            with("--image", Some(b"registry.example.com/apps/myservice")),
            1,
            &["--image", "no tag or digest"],
        ),
        case(
            "image upper-case path",
            with("--image", Some(b"r.io/Apps/x:1")),
            1,
            &["--image", "lower case"],
        ),
        case(
            "image empty",
            with("--image", Some(b"")),
            1,
            &["--image", "empty"],
        ),
        case(
            "image bad digest",
            with("--image", Some(b"r.io/a@sha256:abc")),
            1,
            &["--image", "64 lower-case hex"],
        ),
        case(
            "image bad tag",
            with("--image", Some(b"r.io/a:-x")),
            1,
            &["--image", "tag"],
        ),
        case(
            "image with space",
            with("--image", Some(b"r.io/a b:1")),
            1,
            &["--image", "space"],
        ),
        case(
            "image bad port",
            with("--image", Some(b"r.io:http/a:1")),
            1,
            &["--image", "port"],
        ),
        case(
            "image port of 20 digits",
            with("--image", Some(b"r.io:12345678901234567890/a:1")),
            1,
            &["--image", "a port is a number from 1 to 65535"],
        ),
        case(
            "image port 0",
            with("--image", Some(b"r.io:0/a:1")),
            1,
            &["--image", "from 1 to 65535"],
        ),
        case(
            "image not UTF-8",
            with("--image", Some(b"r.io/\xff:1")),
            1,
            &["--image", "UTF-8"],
        ),
        // --base
        case(
            "base without tag",
            with("--base", Some(b"registry.example.com/bases/alpine")),
            1,
            &["--base", "no tag or digest"],
        ),
        case(
            "base bad host",
            with("--base", Some(b"bad_host.io/a:1")),
            1,
            &["--base", "host"],
        ),
        // --revision
        case(
            "revision empty",
            with("--revision", Some(b"")),
            1,
            &["--revision", "empty"],
        ),
        case(
            "revision with space",
            with("--revision", Some(b"a b")),
            1,
            &["--revision", "whitespace"],
        ),
        case(
            "revision too long",
            with("--revision", Some(long_revision.as_bytes())),
            1,
            &["--revision", "257"],
        ),
        case(
            "revision control char",
            with("--revision", Some(b"a\x07b")),
            1,
            &["--revision", "control"],
        ),
        case(
            "revision bidi override",
            with("--revision", Some("abc\u{202e}fed".as_bytes())),
            1,
            &["--revision", "bidi", "U+202E"],
        ),
        case(
            "revision zero-width space",
            with("--revision", Some("a3f8\u{200b}b1c".as_bytes())),
            1,
            &["--revision", "zero-width", "U+200B"],
        ),
        // --project
        case(
            "project double slash",
            with("--project", Some(b"a//b")),
            1,
            &["--project", "empty segment"],
        ),
        case(
            "project dot-dot",
            with("--project", Some(b"../x")),
            1,
            &["--project", "'..'"],
        ),
        case(
            "project dot",
            with("--project", Some(b"a/./b")),
            1,
            &["--project", "'.'"],
        ),
        case(
            "project bad char",
            with("--project", Some(b"a/b:c")),
            1,
            &["--project", "':'"],
        ),
        case(
            "project of 100,000 characters",
            with("--project", Some(huge_project.as_bytes())),
            1,
            &["--project", "100000 characters", "at most 255"],
        ),
        case(
            "project trailing slash",
            with("--project", Some(b"a/b/")),
            1,
            &["--project"],
        ),
        // --platform
        case(
            "platform without arch",
            with("--platform", Some(b"linux")),
            1,
            &["--platform", "os/arch"],
        ),
        case(
            "platform upper case",
            with("--platform", Some(b"Linux/amd64")),
            1,
            &["--platform", "lower case"],
        ),
        case(
            "platform too deep",
            with("--platform", Some(b"linux/arm/v7/x")),
            1,
            &["--platform"],
        ),
        case(
            "platform empty",
            with("--platform", Some(b" , ")),
            1,
            &["--platform", "no platform"],
        ),
        // --field
        case(
            "field without equals",
            with("--field", Some(b"novalue")),
            1,
            &["--field", "no '='"],
        ),
        case(
            "field bad key",
            with("--field", Some(b"1st=x")),
            1,
            &["--field", "1st"],
        ),
        case(
            "field key too long",
            with("--field", Some(long_key.as_bytes())),
            1,
            &["--field", "129"],
        ),
        case(
            "field value not UTF-8",
            with("--field", Some(b"k=\xfe")),
            1,
            &["--field", "UTF-8"],
        ),
        // --built-at
        case(
            "built-at without offset",
            with("--built-at", Some(b"2026-04-01T10:00:00")),
            1,
            &["--built-at", "offset"],
        ),
        case(
            "built-at garbage",
            with("--built-at", Some(b"yesterday")),
            1,
            &["--built-at", "RFC 3339"],
        ),
        case(
            "built-at offset +24:00",
            with("--built-at", Some(b"2026-04-01T10:00:00+24:00")),
            1,
            &["--built-at", "offset +24:00", "at most 23:59"],
        ),
        case(
            "built-at year 0000",
            with("--built-at", Some(b"0000-01-01T00:00:00Z")),
            1,
            &["--built-at '0000-01-01T00:00:00Z'", "1970"],
        ),
        case(
            "built-at 3 days in the future",
            with("--built-at", Some(three_days_ahead.as_bytes())),
            1,
            &["--built-at", "3 days ahead", "at most 24 hours"],
        ),
        // nothing to detect from
        // nothing given and the registry cannot be asked (port 1 is closed)
        case(
            "base missing, registry unreachable",
            unreachable_image(with("--base", None)),
            1,
            &["127.0.0.1:1", "unreachable", "--base"],
        ),
        case(
            "platform missing, registry unreachable",
            unreachable_image(with("--platform", None)),
            1,
            &["127.0.0.1:1", "unreachable", "--platform"],
        ),
        // usage errors: exit 2
        case(
            "unknown flag",
            with("--imagee", Some(b"x")),
            2,
            &["--imagee"],
        ),
        case("image missing", with("--image", None), 2, &["--image"]),
        case(
            "revision missing",
            with("--revision", None),
            2,
            &["--revision", "CI_COMMIT_SHA"],
        ),
        case(
            "project missing",
            with("--project", None),
            2,
            &["--project", "CI_PROJECT_PATH"],
        ),
        case(
            "output unknown",
            with("--output", Some(b"xml")),
            2,
            &["--output", "xml"],
        ),
        case(
            "log level unknown",
            [
                vec![OsString::from("--log-level"), "loud".into()],
                with("--image", Some(b"r.io/a:1")),
            ]
            .concat(),
            2,
            &["--log-level", "loud"],
        ),
    ];
    let mut dup = with("--field", Some(b"k=1"));
    dup.extend([OsString::from("--field"), OsString::from("k=2")]);
    cases.push(case(
        "field repeated key",
        dup,
        1,
        &["--field", "more than once"],
    ));

    // Values from GitLab CI variables are blamed on the variable.
    let mut from_env = case(
        "revision from CI_COMMIT_SHA",
        with("--revision", None),
        1,
        &["--revision", "$CI_COMMIT_SHA", "whitespace"],
    );
    from_env.env = vec![("CI_COMMIT_SHA", "a b")];
    cases.push(from_env);
    let mut from_env = case(
        "project from CI_PROJECT_PATH",
        with("--project", None),
        1,
        &["--project", "$CI_PROJECT_PATH"],
    );
    from_env.env = vec![("CI_PROJECT_PATH", "/abs")];
    cases.push(from_env);

    // Configuration: files, variables, and the CI guard.
    let config =
        |name: &'static str, file: &'static str, contents: &[u8], culprit: &[&'static str]| Case {
            name,
            args: with(
                "--image",
                Some(b"registry.example.com/apps/myservice:1.2.0"),
            ),
            env: vec![],
            files: vec![(file, contents.to_vec())],
            code: 1,
            culprit: culprit.to_vec(),
        };
    cases.push(config(
        "malformed config",
        "imglife.yaml",
        b"registry:\n  path: [\n",
        &["imglife.yaml", "line"],
    ));
    cases.push(config(
        "unknown registry key",
        "imglife.yaml",
        b"registry:\n  provider: fs\n  pathh: x\n",
        &["imglife.yaml", "line 3", "registry.pathh"],
    ));
    cases.push(config(
        "GitLab project without its group",
        "imglife.yaml",
        b"registry:\n  url: https://gitlab.example.com\n  project_id: base-images\n",
        &["imglife.yaml line 3", "registry.project_id", "group"],
    ));
    cases.push(config(
        "bad provider",
        "imglife.yaml",
        b"registry:\n  provider: ftp\n",
        &["imglife.yaml", "registry.provider", "ftp"],
    ));
    cases.push(config(
        "registry not a mapping",
        "imglife.yaml",
        b"registry: 5\n",
        &["imglife.yaml", "registry"],
    ));
    cases.push(config(
        "unknown inspection key",
        "imglife.yaml",
        b"inspection:\n  timeout_secs: 5\n  retries: 2\n",
        &["imglife.yaml", "inspection.retries"],
    ));
    cases.push(config(
        "zero inspection timeout",
        "imglife.yaml",
        b"inspection:\n  timeout_secs: 0\n",
        &[
            "inspection.timeout_secs",
            "imglife.yaml line 2",
            "at least 1",
        ],
    ));
    cases.push(config(
        "key given twice",
        "imglife.yaml",
        b"registry:\n  path: a\n  provider: fs\n  path: b\n",
        &[
            "registry.path is set twice in",
            "imglife.yaml (lines 2 and 4)",
            "keep one",
        ],
    ));
    cases.push(config(
        "top-level key given twice, flow style",
        "imglife.yaml",
        b"registry: {provider: fs}\nretention: {keep_last: 3}\nregistry: {path: x}\n",
        &["registry is set twice", "imglife.yaml (lines 1 and 3)"],
    ));
    cases.push(config(
        "registry.path of spaces",
        "imglife.yaml",
        b"registry:\n  provider: fs\n  path: '   '\n",
        &["registry.path", "imglife.yaml line 3", "only blanks"],
    ));
    cases.push(config(
        "registry.path with a newline",
        "imglife.yaml",
        b"registry:\n  provider: fs\n  path: \"records\\nmore\"\n",
        &["registry.path", "imglife.yaml line 3", "line break"],
    ));
    cases.push(config(
        "config not UTF-8",
        "imglife.yaml",
        b"registry:\n  path: \xff\n",
        &["imglife.yaml", "UTF-8"],
    ));

    let mut missing = case(
        "--config missing",
        [
            vec![OsString::from("--config"), "nope.yaml".into()],
            with("--image", Some(b"r.io/a:1")),
        ]
        .concat(),
        1,
        &["--config nope.yaml", "no such file"],
    );
    missing.files = vec![];
    cases.push(missing);
    let mut unreadable = case(
        "--config unreadable (a directory)",
        [
            vec![OsString::from("--config"), "confdir".into()],
            with("--image", Some(b"r.io/a:1")),
        ]
        .concat(),
        1,
        &["--config confdir", "directory"],
    );
    unreadable.files = vec![("confdir/placeholder", b"x".to_vec())];
    cases.push(unreadable);
    let mut env_file = case(
        "IMGLIFE_CONFIG missing",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["IMGLIFE_CONFIG=gone.yaml", "no such file"],
    );
    env_file.env = vec![("IMGLIFE_CONFIG", "gone.yaml")];
    cases.push(env_file);
    let mut bad_env = case(
        "bad env value",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["IMGLIFE_REGISTRY__PROVIDER", "ftp"],
    );
    bad_env.env = vec![("IMGLIFE_REGISTRY__PROVIDER", "ftp")];
    cases.push(bad_env);
    let mut bad_env = case(
        "bad env inspection timeout",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["IMGLIFE_INSPECTION__TIMEOUT_SECS", "soon"],
    );
    bad_env.env = vec![("IMGLIFE_INSPECTION__TIMEOUT_SECS", "soon")];
    cases.push(bad_env);
    let mut bad_env = case(
        "bad env log level",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["IMGLIFE_LOG_LEVEL", "loud"],
    );
    bad_env.env = vec![("IMGLIFE_LOG_LEVEL", "loud")];
    cases.push(bad_env);
    let mut bad_env = case(
        "unknown env key",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["IMGLIFE_REGISTRY__PATHH", "registry.pathh"],
    );
    bad_env.env = vec![("IMGLIFE_REGISTRY__PATHH", "x")];
    cases.push(bad_env);
    let mut bad_env = case(
        "registry.path with a newline from a variable",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["variable IMGLIFE_REGISTRY__PATH", "line break"],
    );
    bad_env.env = vec![("IMGLIFE_REGISTRY__PATH", "existing-store\nother")];
    cases.push(bad_env);
    let mut bad_env = case(
        "registry.path of spaces from a variable",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["variable IMGLIFE_REGISTRY__PATH", "only blanks"],
    );
    bad_env.env = vec![("IMGLIFE_REGISTRY__PATH", "   ")];
    cases.push(bad_env);
    let mut bad_url = case(
        "GitLab URL from a variable",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["registry.url", "variable IMGLIFE_REGISTRY__URL", "notaurl"],
    );
    bad_url.env = vec![
        ("IMGLIFE_REGISTRY__URL", "notaurl"),
        ("IMGLIFE_REGISTRY__PROVIDER", "gitlab"),
        ("IMGLIFE_REGISTRY__PROJECT_ID", "1"),
        ("GITLAB_TOKEN", "t"),
    ];
    cases.push(bad_url);
    let mut ci = case(
        "CI without a store",
        with("--image", Some(b"r.io/a:1")),
        1,
        &["CI=true", "registry.provider"],
    );
    ci.env = vec![("CI", "true")];
    cases.push(ci);
    cases
}

#[test]
fn bad_input_is_refused_with_a_clear_line_and_nothing_written() {
    let cases = cases();
    assert!(cases.len() >= 30, "the table covers every rule");
    let mut failures = Vec::new();
    for case in cases {
        let sandbox = Sandbox::new(BIN);
        // A record that must survive every bad run untouched.
        let existing = "existing-store/registry.example.com+apps+myservice/1.2.0.json";
        sandbox.write(existing, b"{\"sentinel\": true}\n");
        for (path, contents) in &case.files {
            sandbox.write(path, contents);
        }
        let before = sandbox.files();
        let mut env: Vec<(&str, &str)> = vec![("IMGLIFE_REGISTRY__PATH", "existing-store")];
        if case.env.iter().any(|(k, _)| *k == "CI") || !case.files.is_empty() {
            // The CI guard is about the implicit store, and a variable would
            // override the broken config file under test.
            env.clear();
        }
        env.extend(case.env.iter().copied());
        let run = sandbox.run(&case.args, &env);

        let mut problems = Vec::new();
        if run.code != case.code {
            problems.push(format!("exit code {} (want {})", run.code, case.code));
        }
        for needle in &case.culprit {
            if !run.stderr.contains(needle) {
                problems.push(format!("stderr lacks {needle:?}"));
            }
        }
        if case.code == 1 && run.stderr.trim_end().lines().count() != 1 {
            problems.push("stderr is not exactly one line".to_owned());
        }
        if !run.stdout.is_empty() {
            problems.push("stdout is not empty".to_owned());
        }
        if sandbox.files() != before {
            problems.push("the store or sandbox changed".to_owned());
        }
        if run.stderr.contains("panicked") {
            problems.push("panic".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {}",
                case.name,
                problems.join(", "),
                run.stderr.trim_end()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
