//! imglife against HTTP servers that misbehave on purpose
//! (`imglife_testkit::hostile`): huge and endless bodies, lying headers,
//! endless or repeating pages, digests that do not match, control
//! characters in error text. Every failure must be one `error:` line that
//! names what (a URL path or a record key), the limit and the size seen;
//! exit 1; nothing on stdout; nothing written; and the run must stay
//! bounded in memory (peak RSS under 64 MiB, measured with GNU time) and
//! in time (killed at 60 s).
//!
//! The last tests use the real registry `scripts/test` starts. The tests sit
//! in a module named after the file, so that `scripts/test -- hostile_http`
//! selects them.

#![allow(clippy::unwrap_used)]

mod hostile_http {
    use std::time::Duration;

    use imglife_testkit::hostile::{Body, Hostile, Reply, Request, sha512};
    use imglife_testkit::registry::{ImageSpec, Pusher, Registries, sha256};
    use imglife_testkit::{Measured, Run, Sandbox};
    use serde_json::{Value, json};

    const BIN: &str = env!("CARGO_BIN_EXE_imglife");
    const TOKEN: &str = "glpat-hostile-SECRET";
    const DEADLINE: Duration = Duration::from_secs(60);
    const MAX_MIB: u64 = 64;
    const GIB: u64 = 1 << 30;

    /// The packages API of project 3 on the hostile server.
    const PACKAGES: &str = "/api/v4/projects/3/packages";
    /// ESC [2J (clear screen), BEL, vertical tab, U+2028 (line separator),
    /// U+202E (right-to-left override).
    const NASTY: &str = "\u{1b}[2J\u{7}\u{b}\u{2028}\u{202e}";
    const NASTY_SHOWN: &str = "\\u{1b}[2J\\u{7}\\u{b}\\u{2028}\\u{202e}";

    const BASE_NAME: &str = "org.opencontainers.image.base.name";
    const PLATFORMS: &str = "imglife.platforms";
    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

    // ---------------------------------------------------------------------------
    // Checks shared by every test

    /// Whether a terminal would act on `c` (what must never reach stderr raw).
    fn acts_on_terminal(c: char) -> bool {
        (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{200b}'..='\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}'
            )
    }

    /// Exit 1, nothing on stdout, exactly one line on stderr starting with
    /// `error: ` and naming every culprit, no raw control character, finished
    /// in time and in bounded memory. Returns the line.
    #[track_caller]
    fn one_error(run: &Run, measured: &Measured, culprits: &[&str]) -> String {
        run.expect_code(1);
        measured.assert_bounded(MAX_MIB);
        assert_eq!(run.stdout, "", "nothing on stdout: {run:#?}");
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {run:#?}");
        assert!(lines[0].starts_with("error: "), "{run:#?}");
        for culprit in culprits {
            assert!(
                lines[0].contains(culprit),
                "stderr names {culprit:?}: {run:#?}"
            );
        }
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
        no_raw_controls(run);
        lines[0].to_owned()
    }

    #[track_caller]
    fn no_raw_controls(run: &Run) {
        assert!(
            !run.stderr.chars().any(acts_on_terminal),
            "a raw control character reached stderr: {:?}",
            run.stderr
        );
    }

    // ---------------------------------------------------------------------------
    // The GitLab store against the hostile server

    /// `args` against a GitLab store at the hostile server (project 3).
    fn gitlab(server: &Hostile, args: &[&str], extra: &[(&str, &str)]) -> (Run, Measured) {
        let url = server.url();
        let mut env = vec![
            ("IMGLIFE_REGISTRY__PROVIDER", "gitlab"),
            ("IMGLIFE_REGISTRY__URL", url.as_str()),
            ("IMGLIFE_REGISTRY__PROJECT_ID", "3"),
            ("GITLAB_TOKEN", TOKEN),
            ("IMGLIFE_REGISTRY__RETRY_BUDGET_SECS", "10"),
        ];
        env.extend_from_slice(extra);
        Sandbox::new(BIN).run_measured(args, &env, DEADLINE)
    }

    fn app_list(server: &Hostile, extra: &[(&str, &str)]) -> (Run, Measured) {
        gitlab(server, &["app", "list", "--output", "json"], extra)
    }

    /// A generic package as the packages API lists it.
    fn package(id: u64, name: &str, version: &str) -> Value {
        json!({"id": id, "name": name, "version": version, "package_type": "generic",
           "status": "default", "created_at": "2026-04-01T10:00:00.000Z"})
    }

    /// 100 packages with the ids `first..first + 100`, all valid record keys.
    fn hundred(first: u64) -> Value {
        Value::Array(
            (first..first + 100)
                .map(|id| package(id, &format!("registry.example.com+apps+app{id}"), "1.0.0"))
                .collect(),
        )
    }

    /// The page a listing request asks for.
    fn page_of(request: &Request) -> u64 {
        request
            .param("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
    }

    fn download_path(name: &str, version: &str) -> String {
        format!("{PACKAGES}/generic/{name}/{version}/record.json")
    }

    const OK_RECORD: &str = r#"{"image":"registry.example.com/apps/ok:1.0.0","base":"registry.example.com/bases/alpine:3.21","revision":"a3f8b1c","project":"team/ok","platforms":["linux/amd64"],"built_at":"2026-04-01T10:00:00Z","custom_fields":{}}"#;

    /// A 1 GiB `record.json` (any Developer can upload one), streamed and
    /// announced: each is named as unreadable by its key with the 1 MiB limit,
    /// the valid record is still listed, memory stays bounded.
    #[test]
    fn a_huge_record_is_named_by_key_and_memory_stays_bounded() {
        let streamed = download_path("registry.example.com+apps+streamed", "1.0.0");
        let announced = download_path("registry.example.com+apps+announced", "1.0.0");
        let ok = download_path("registry.example.com+apps+ok", "1.0.0");
        let server = {
            let (streamed, announced, ok) = (streamed.clone(), announced.clone(), ok.clone());
            Hostile::start(move |request| match request.path.as_str() {
                PACKAGES => Reply::json(
                    200,
                    &json!([
                        package(1, "registry.example.com+apps+streamed", "1.0.0"),
                        package(2, "registry.example.com+apps+announced", "1.0.0"),
                        package(3, "registry.example.com+apps+ok", "1.0.0"),
                    ]),
                ),
                p if p == streamed => Reply::status(200).body(Body::Stream { len: GIB }),
                p if p == announced => Reply::status(200)
                    .header("Content-Length", GIB.to_string())
                    .body(Body::Stream { len: GIB }),
                p if p == ok => Reply::bytes(200, OK_RECORD),
                _ => Reply::json(404, &json!({"message": "404 Not Found"})),
            })
        };
        let (run, measured) = app_list(&server, &[]);
        run.expect_code(1);
        measured.assert_bounded(MAX_MIB);
        let listed: Value =
            serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
        assert_eq!(
            listed,
            json!([serde_json::from_str::<Value>(OK_RECORD).unwrap()])
        );
        for (key, path) in [
            ("registry.example.com+apps+streamed/1.0.0", &streamed),
            ("registry.example.com+apps+announced/1.0.0", &announced),
        ] {
            let warning = run
                .stderr
                .lines()
                .find(|l| l.contains(key))
                .unwrap_or_else(|| panic!("{key} is named: {run:#?}"));
            assert!(
                warning.starts_with("warning: record ")
                    && warning.contains("unreadable")
                    && warning.contains(path.as_str())
                    && warning.contains("limit of 1 MiB"),
                "{warning}"
            );
            assert_eq!(server.count(path), 1, "read once, never retried");
        }
        assert!(
            run.stderr.contains("(1024 MiB or more)"),
            "the announced size: {}",
            run.stderr
        );
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{run:#?}");
        assert!(
            errors[0].contains("2 record(s) could not be read"),
            "{run:#?}"
        );
        no_raw_controls(&run);

        // The other commands that read every record hold as well.
        for args in [
            &["status", "--output", "json"][..],
            &["app", "purge", "--dry-run", "--output", "json"][..],
        ] {
            let (run, measured) = gitlab(&server, args, &[]);
            run.expect_code(1);
            measured.assert_bounded(MAX_MIB);
            assert!(
                run.stderr
                    .contains("registry.example.com+apps+streamed/1.0.0")
                    && run.stderr.contains("limit of 1 MiB"),
                "{args:?}: {run:#?}"
            );
            no_raw_controls(&run);
        }
        assert_eq!(server.writes(), 0, "the store is untouched");
    }

    /// A listing page that never ends is cut at the page limit.
    #[test]
    fn an_endless_listing_page_is_refused_at_four_mib() {
        let server = Hostile::start(|_| Reply::status(200).body(Body::Endless));
        let (run, measured) = app_list(&server, &[]);
        one_error(
            &run,
            &measured,
            &["listing records", PACKAGES, "limit of 4 MiB"],
        );
        assert_eq!(server.count(PACKAGES), 1);
    }

    /// `X-Total-Pages: 10^18` once panicked ("capacity overflow") or sent
    /// tens of thousands of requests: now it is refused before any other
    /// request.
    #[test]
    fn x_total_pages_of_ten_to_the_eighteenth_is_refused() {
        let server = Hostile::start(|request| {
            Reply::json(200, &hundred(page_of(request) * 100))
                .header("X-Next-Page", (page_of(request) + 1).to_string())
                .header("X-Total-Pages", "1000000000000000000")
                .header("X-Total", "100000000000000000000")
        });
        let (run, measured) = app_list(&server, &[]);
        one_error(
            &run,
            &measured,
            &[
                "X-Total-Pages",
                "1000000000000000000 pages",
                "registry.max_records",
            ],
        );
        assert_eq!(server.count(PACKAGES), 1, "{:?}", server.requests());
    }

    /// A server that always offers a next page of new packages: the listing
    /// stops at `registry.max_records` with an error, whether pages are full
    /// or hold one package each.
    #[test]
    fn an_endless_next_page_stops_at_max_records() {
        for per_page in [100, 1] {
            let server = Hostile::start(move |request| {
                let page = page_of(request);
                let items: Vec<Value> = (0..per_page)
                    .map(|i| {
                        let id = page * 1000 + i;
                        package(id, &format!("registry.example.com+apps+app{id}"), "1.0.0")
                    })
                    .collect();
                Reply::json(200, &Value::Array(items)).header("X-Next-Page", (page + 1).to_string())
            });
            let (run, measured) = app_list(&server, &[("IMGLIFE_REGISTRY__MAX_RECORDS", "500")]);
            let line = one_error(&run, &measured, &["registry.max_records", "500"]);
            // 500 records need 5 pages of 100: the sixth is one too many.
            assert_eq!(server.count(PACKAGES), 6, "{per_page} a page: {line}");
            assert_eq!(server.writes(), 0);
        }
    }

    /// A page that repeats one already read (the next page number moves on,
    /// the packages do not), and a next page that goes back: both refused.
    #[test]
    fn a_repeating_page_is_refused() {
        let repeating = Hostile::start(|request| {
            Reply::json(200, &hundred(1)).header("X-Next-Page", (page_of(request) + 1).to_string())
        });
        let (run, measured) = app_list(&repeating, &[]);
        one_error(
            &run,
            &measured,
            &["pagination is inconsistent", "page 2 repeats packages"],
        );
        assert_eq!(repeating.count(PACKAGES), 2);

        let backwards = Hostile::start(|request| {
            Reply::json(200, &hundred(page_of(request) * 100)).header("X-Next-Page", "1")
        });
        let (run, measured) = app_list(&backwards, &[]);
        one_error(
            &run,
            &measured,
            &["pagination is inconsistent", "page 1 points to page '1'"],
        );
        assert_eq!(backwards.count(PACKAGES), 1);
    }

    /// An empty page that still offers a next one ends the listing with an
    /// error instead of asking for pages forever.
    #[test]
    fn an_empty_page_with_a_next_page_stops() {
        let server = Hostile::start(|request| {
            let page = page_of(request);
            let items = if page == 1 { hundred(1) } else { json!([]) };
            Reply::json(200, &items).header("X-Next-Page", (page + 1).to_string())
        });
        let (run, measured) = app_list(&server, &[]);
        one_error(
            &run,
            &measured,
            &[
                "pagination is inconsistent",
                "page 2 is empty but points to page '3'",
            ],
        );
        assert_eq!(server.count(PACKAGES), 2);
    }

    /// GitLab's error text reaches stderr with its control characters shown
    /// escaped: in the one `error:` line and in a record's warning.
    #[test]
    fn gitlab_error_text_with_control_characters_is_escaped() {
        let forbidden = Hostile::start(|_| {
            Reply::json(
                403,
                &json!({"message": format!("403 Forbidden {NASTY} you are root")}),
            )
        });
        let (run, measured) = app_list(&forbidden, &[]);
        one_error(&run, &measured, &[NASTY_SHOWN, "403 Forbidden"]);

        let bad_record = Hostile::start(|request| match request.path.as_str() {
            PACKAGES => Reply::json(
                200,
                &json!([package(1, "registry.example.com+apps+bad", "1.0.0")]),
            ),
            _ => Reply::json(400, &json!({"error": format!("no {NASTY} way")})),
        });
        let (run, measured) = app_list(&bad_record, &[]);
        run.expect_code(1);
        measured.assert_bounded(MAX_MIB);
        let warning = run
            .stderr
            .lines()
            .find(|l| l.starts_with("warning: record registry.example.com+apps+bad/1.0.0"))
            .unwrap_or_else(|| panic!("the record is named: {run:#?}"));
        assert!(
            warning.contains(&format!("no {NASTY_SHOWN} way")),
            "{warning}"
        );
        no_raw_controls(&run);
    }

    // ---------------------------------------------------------------------------
    // The registry source against the hostile server

    const REPOSITORY: &str = "hostile/app";
    const MANIFEST_PATH: &str = "/v2/hostile/app/manifests/v1";

    /// `register` of `{server}/hostile/app:v1` (a dry run, JSON output), the
    /// base and platforms read from the registry; asserts nothing was written.
    fn register(server: &Hostile) -> (Run, Measured) {
        register_image(&format!("{}/{REPOSITORY}:v1", server.addr()))
    }

    fn register_image(image: &str) -> (Run, Measured) {
        let sandbox = Sandbox::new(BIN);
        let before = sandbox.files();
        let measured = sandbox.run_measured(
            [
                "register",
                "--image",
                image,
                "--project",
                "g/p",
                "--revision",
                "a3f8b1c",
                "--source",
                "registry",
                "--dry-run",
                "--output",
                "json",
            ],
            &[],
            DEADLINE,
        );
        assert_eq!(sandbox.files(), before, "a dry run writes nothing");
        measured
    }

    /// A small valid image manifest whose annotations answer everything (no
    /// config read), or, without them, that points at `config`.
    fn manifest(config: &str, annotated: bool) -> Vec<u8> {
        let mut m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 1234},
            "layers": [],
        });
        if annotated {
            m["annotations"] = json!({BASE_NAME: "alpine:3.21", PLATFORMS: "linux/amd64"});
        }
        serde_json::to_vec(&m).unwrap()
    }

    /// Answers the manifest path with `reply`, 404 elsewhere.
    fn registry_serving(reply: Reply) -> Hostile {
        Hostile::start(move |request| {
            if request.path == MANIFEST_PATH {
                reply.clone()
            } else {
                Reply::json(
                    404,
                    &json!({"errors": [{"code": "NOT_FOUND", "message": "no"}]}),
                )
            }
        })
    }

    #[test]
    fn a_huge_manifest_is_refused_at_four_mib() {
        for (reply, seen) in [
            (
                Reply::status(200).body(Body::Stream { len: GIB }),
                "MiB or more",
            ),
            (
                Reply::status(200)
                    .header("Content-Length", GIB.to_string())
                    .body(Body::Stream { len: GIB }),
                "(1024 MiB or more)",
            ),
        ] {
            let server = registry_serving(reply);
            let (run, measured) = register(&server);
            one_error(&run, &measured, &[MANIFEST_PATH, "limit of 4 MiB", seen]);
            assert_eq!(server.count(MANIFEST_PATH), 1, "never retried");
        }
    }

    #[test]
    fn an_endless_manifest_is_refused_at_four_mib() {
        let server = registry_serving(Reply::status(200).body(Body::Endless));
        let (run, measured) = register(&server);
        one_error(
            &run,
            &measured,
            &[MANIFEST_PATH, "limit of 4 MiB", "MiB or more"],
        );
        assert_eq!(server.count(MANIFEST_PATH), 1);
    }

    #[test]
    fn a_huge_config_blob_is_refused_at_eight_mib() {
        let config = sha256(b"a config that is never sent");
        let blob_path = format!("/v2/{REPOSITORY}/blobs/{config}");
        let bytes = manifest(&config, false);
        let server = {
            let blob_path = blob_path.clone();
            Hostile::start(move |request| {
                if request.path == MANIFEST_PATH {
                    Reply::bytes(200, bytes.clone()).header("Content-Type", OCI_MANIFEST)
                } else if request.path == blob_path {
                    Reply::status(200).body(Body::Stream { len: GIB })
                } else {
                    Reply::status(404)
                }
            })
        };
        let (run, measured) = register(&server);
        one_error(
            &run,
            &measured,
            &[
                &format!("the config blob {config}"),
                &blob_path,
                "limit of 8 MiB",
            ],
        );
        assert_eq!(server.count(&blob_path), 1);
    }

    /// A `Docker-Content-Digest` that does not match the manifest's bytes is
    /// an error naming both digests, in sha256 and in sha512.
    #[test]
    fn a_lying_docker_content_digest_is_an_error_naming_both() {
        let bytes = manifest(&sha256(b"config"), true);
        for (lie, truth) in [
            (format!("sha256:{}", "0".repeat(64)), sha256(&bytes)),
            (format!("sha512:{}", "0".repeat(128)), sha512(&bytes)),
        ] {
            let server = registry_serving(
                Reply::bytes(200, bytes.clone())
                    .header("Content-Type", OCI_MANIFEST)
                    .header("Docker-Content-Digest", lie.clone()),
            );
            let (run, measured) = register(&server);
            one_error(
                &run,
                &measured,
                &["Docker-Content-Digest", &lie, &truth, "does not match"],
            );
        }
    }

    /// The control: a digest header that matches, or none, gives a record
    /// whose `image_digest` is computed from the bytes read (in the header's
    /// algorithm when it names one).
    #[test]
    fn the_recorded_digest_is_computed_from_the_bytes_read() {
        let bytes = manifest(&sha256(b"config"), true);
        for (header, want) in [
            (None, sha256(&bytes)),
            (Some(sha256(&bytes)), sha256(&bytes)),
            (Some(sha512(&bytes)), sha512(&bytes)),
        ] {
            let mut reply = Reply::bytes(200, bytes.clone()).header("Content-Type", OCI_MANIFEST);
            if let Some(digest) = &header {
                reply = reply.header("Docker-Content-Digest", digest.clone());
            }
            let server = registry_serving(reply);
            let (run, measured) = register(&server);
            run.expect_code(0);
            measured.assert_bounded(MAX_MIB);
            let record: Value = serde_json::from_str(&run.stdout).unwrap();
            assert_eq!(record["image_digest"], want.as_str(), "header {header:?}");
            assert_eq!(record["base"], "docker.io/library/alpine:3.21");
        }
    }

    /// A platform manifest fetched by the digest its index names must hash
    /// to it: other bytes at that digest are refused, naming both.
    #[test]
    fn an_index_entry_that_does_not_hash_to_its_digest_is_refused() {
        let platform = manifest(&sha256(b"config"), true);
        let claimed = sha256(b"what the index promises");
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": claimed, "size": 350,
                           "platform": {"os": "linux", "architecture": "amd64"}}],
        }))
        .unwrap();
        let entry_path = format!("/v2/{REPOSITORY}/manifests/{claimed}");
        let server = {
            let entry_path = entry_path.clone();
            Hostile::start(move |request| {
                if request.path == MANIFEST_PATH {
                    Reply::bytes(200, index.clone())
                } else if request.path == entry_path {
                    Reply::bytes(200, platform.clone())
                        .header("Docker-Content-Digest", claimed_of(request))
                } else {
                    Reply::status(404)
                }
            })
        };
        let (run, measured) = register(&server);
        one_error(
            &run,
            &measured,
            &[
                &format!("the manifest {claimed} (from the index)"),
                &format!(
                    "has the digest {}",
                    sha256(&manifest(&sha256(b"config"), true))
                ),
                "does not match",
            ],
        );
        assert_eq!(server.count(&entry_path), 1);
    }

    /// The digest a request asks for, echoed as a lying registry would.
    fn claimed_of(request: &Request) -> String {
        request
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn registry_error_text_with_control_characters_is_escaped() {
        let server = registry_serving(Reply::json(
            400,
            &json!({"errors": [{"code": format!("UNSUPPORTED{NASTY}"),
                            "message": format!("bad {NASTY} manifest")}]}),
        ));
        let (run, measured) = register(&server);
        one_error(
            &run,
            &measured,
            &[
                &format!("UNSUPPORTED{NASTY_SHOWN}"),
                &format!("bad {NASTY_SHOWN} manifest"),
                "HTTP 400",
            ],
        );
    }

    // ---------------------------------------------------------------------------
    // The real registry (scripts/test starts it)

    /// The registries, or return from the test (only allowed outside CI).
    macro_rules! registries {
        () => {
            match Registries::from_env() {
                Some(r) => r,
                None => return,
            }
        };
    }

    /// `image_digest` is the sha256 of the manifest bytes pushed, for an image
    /// and for a multi-platform index (the index's own digest).
    #[test]
    fn the_recorded_digest_is_the_sha256_of_the_bytes_pushed() {
        let r = registries!();
        let pusher = Pusher::new(&r.open, "e2e/hostile-digest");
        let image = pusher.image(
            &ImageSpec {
                platform: "linux/amd64",
                annotations: &[(BASE_NAME, "alpine:3.21"), (PLATFORMS, "linux/amd64")],
                ..ImageSpec::default()
            },
            Some("single"),
        );
        let arm = pusher.image(
            &ImageSpec {
                platform: "linux/arm64",
                labels: &[(BASE_NAME, "alpine:3.21")],
                ..ImageSpec::default()
            },
            None,
        );
        let index = pusher.index(
            false,
            &[image.entry("linux/amd64"), arm.entry("linux/arm64")],
            &[(BASE_NAME, "alpine:3.21")],
            "multi",
        );
        for (tag, pushed) in [("single", &image), ("multi", &index)] {
            let (run, measured) = register_image(&format!("{}/e2e/hostile-digest:{tag}", r.open));
            run.expect_code(0);
            measured.assert_bounded(MAX_MIB);
            let record: Value = serde_json::from_str(&run.stdout).unwrap();
            assert!(pushed.digest.starts_with("sha256:"));
            assert_eq!(record["image_digest"], pushed.digest.as_str(), "{tag}");
        }
    }

    /// `repo:tag@digest` whose digest is absent names the digest, not the tag.
    #[test]
    fn tag_at_an_absent_digest_names_the_digest() {
        let r = registries!();
        Pusher::new(&r.open, "e2e/hostile-absent").image(
            &ImageSpec {
                platform: "linux/amd64",
                annotations: &[(BASE_NAME, "alpine:3.21"), (PLATFORMS, "linux/amd64")],
                ..ImageSpec::default()
            },
            Some("v1"),
        );
        let absent = sha256(b"no manifest has these bytes");
        let (run, measured) = register_image(&format!("{}/e2e/hostile-absent:v1@{absent}", r.open));
        let line = one_error(
            &run,
            &measured,
            &[
                &format!("digest {absent} not found"),
                "check the digest in --image",
            ],
        );
        assert!(!line.contains("tag v1 not found"), "{line}");
    }
}
