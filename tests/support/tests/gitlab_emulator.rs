//! Self-tests of the GitLab generic package registry emulator, over plain
//! HTTP/1.1 on `std::net::TcpStream` (one connection per request).

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use imglife_testkit::gitlab::{Emulator, Fault, Role, Scope, Visibility};
use serde_json::{Value, json};

// ---------------------------------------------------------------- client

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request; `Err` when the connection closed without a response.
fn try_send(
    base: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Resp, String> {
    let host = base.strip_prefix("http://").unwrap();
    let host = host.split('/').next().unwrap();
    let mut stream = TcpStream::connect(host).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    stream.write_all(body).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    if raw.is_empty() {
        return Err("connection closed without a response".into());
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("incomplete response head")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

fn send(base: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    try_send(base, method, target, headers, body).unwrap()
}

fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}");
    let mut out = String::new();
    for chunk in input.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

// ---------------------------------------------------------------- fixture

/// Request headers of one row of a status matrix.
type Headers<'a> = Vec<(&'a str, &'a str)>;

const PAT: &str = "glpat-maintainer";
const DEV: (&str, &str) = ("PRIVATE-TOKEN", PAT);
const GENERIC: &str = "/api/v4/projects/1/packages/generic";

/// Project 1 `group/project` (private) with a Maintainer `dev` (PAT `PAT`),
/// a Developer `devel`, a Guest `guest`, an outsider and project 2
/// `other/public` (public).
fn emulator() -> Emulator {
    let e = Emulator::start();
    e.add_project(1, "group/project", Visibility::Private);
    e.add_project(2, "other/public", Visibility::Public);
    e.add_member(1, "dev", Role::Maintainer);
    e.add_member(2, "dev", Role::Maintainer);
    e.add_member(1, "devel", Role::Developer);
    e.add_member(1, "guest", Role::Guest);
    e.add_member(2, "guest", Role::Guest);
    e.add_user("outsider");
    e.add_personal_token(PAT, "dev", Scope::Api);
    e.add_personal_token("glpat-readonly", "dev", Scope::ReadApi);
    e.add_personal_token("glpat-developer", "devel", Scope::Api);
    e.add_personal_token("glpat-guest", "guest", Scope::Api);
    e.add_personal_token("glpat-outsider", "outsider", Scope::Api);
    e
}

fn put(e: &Emulator, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    send(&e.url(), "PUT", path, headers, body)
}

fn get(e: &Emulator, path: &str, headers: &[(&str, &str)]) -> Resp {
    send(&e.url(), "GET", path, headers, b"")
}

fn assert_json(resp: &Resp, status: u16, body: Value) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(resp.json(), body);
    assert_eq!(resp.header("content-type"), Some("application/json"));
}

// ---------------------------------------------------------------- upload/download

#[test]
fn emulator_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Emulator>();
}

#[test]
fn upload_then_download() {
    let e = emulator();
    let r = put(
        &e,
        &format!("{GENERIC}/imglife/1.0.0/record.json"),
        &[DEV],
        b"hello",
    );
    assert_json(&r, 201, json!({"message": "201 Created"}));

    let r = get(&e, &format!("{GENERIC}/imglife/1.0.0/record.json"), &[DEV]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"record.json\"; filename*=UTF-8''record.json")
    );
    assert_eq!(r.header("content-transfer-encoding"), Some("binary"));
    assert_eq!(
        r.header("x-checksum-sha256"),
        Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    );

    // By URL-encoded full path; a bare path without '/' finds nothing.
    let r = get(
        &e,
        "/api/v4/projects/group%2Fproject/packages/generic/imglife/1.0.0/record.json",
        &[DEV],
    );
    assert_eq!(r.body, b"hello");
    let r = get(
        &e,
        "/api/v4/projects/project/packages/generic/imglife/1.0.0/record.json",
        &[DEV],
    );
    assert_json(&r, 404, json!({"message": "404 Not Found"}));

    // A 0-byte file is fine.
    let r = put(
        &e,
        &format!("{GENERIC}/imglife/1.0.0/empty.json"),
        &[DEV],
        b"",
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        get(&e, &format!("{GENERIC}/imglife/1.0.0/empty.json"), &[DEV]).body,
        b""
    );

    // Missing package or file.
    for path in [
        "imglife/2.0.0/record.json",
        "imglife/1.0.0/other.json",
        "Imglife/1.0.0/record.json",
    ] {
        let r = get(&e, &format!("{GENERIC}/{path}"), &[DEV]);
        assert_json(&r, 404, json!({"message": "404 Not found"}));
    }

    let files = e.package_files(1, "imglife", "1.0.0");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].file_name, "record.json");
    assert_eq!(files[0].bytes, b"hello");
    assert_eq!(files[0].package_id, files[1].package_id);
}

#[test]
fn duplicates_allowed_by_default_and_newest_wins() {
    let e = emulator();
    let path = format!("{GENERIC}/imglife/1.0.0/record.json");
    assert_eq!(put(&e, &path, &[DEV], b"first").status, 201);
    assert_eq!(put(&e, &path, &[DEV], b"second").status, 201);
    assert_eq!(get(&e, &path, &[DEV]).body, b"second");

    let files = e.package_files(1, "imglife", "1.0.0");
    assert_eq!(files.len(), 2);
    assert!(files[0].id < files[1].id);
    assert_eq!(files[1].bytes, b"second");

    // The package-files listing has both rows, by id.
    let list = get(
        &e,
        &format!(
            "/api/v4/projects/1/packages/{}/package_files",
            files[0].package_id
        ),
        &[DEV],
    );
    assert_eq!(list.status, 200);
    let rows = list.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["file_name"], "record.json");
    assert_eq!(rows[0]["size"], 5);
    assert_eq!(rows[0]["file_md5"], Value::Null);
    assert_eq!(
        rows[1]["file_sha256"],
        "16367aacb67a4a017c8da8ab95682ccb390863780f7114dda0a0e0c55644c7c4"
    );

    // Deleting the newest serves the previous one again.
    let r = send(
        &e.url(),
        "DELETE",
        &format!(
            "/api/v4/projects/1/packages/{}/package_files/{}",
            files[1].package_id, files[1].id
        ),
        &[DEV],
        b"",
    );
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(get(&e, &path, &[DEV]).body, b"first");
    assert_eq!(e.package_files(1, "imglife", "1.0.0").len(), 1);
}

#[test]
fn duplicates_denied_per_namespace() {
    let e = emulator();
    e.set_duplicates_allowed("group", false);
    let path = format!("{GENERIC}/imglife/1.0.0/record.json");
    assert_eq!(put(&e, &path, &[DEV], b"first").status, 201);
    let r = put(&e, &path, &[DEV], b"second");
    assert_json(
        &r,
        400,
        json!({"message": "400 Bad request - Duplicate package is not allowed"}),
    );
    // Another file in the same package, or another version, is fine.
    assert_eq!(
        put(
            &e,
            &format!("{GENERIC}/imglife/1.0.0/other.json"),
            &[DEV],
            b"x"
        )
        .status,
        201
    );
    assert_eq!(
        put(
            &e,
            &format!("{GENERIC}/imglife/1.0.1/record.json"),
            &[DEV],
            b"x"
        )
        .status,
        201
    );
    // Another namespace keeps the default.
    let public = "/api/v4/projects/2/packages/generic/imglife/1.0.0/record.json";
    assert_eq!(put(&e, public, &[DEV], b"a").status, 201);
    assert_eq!(put(&e, public, &[DEV], b"b").status, 201);

    // A file pending destruction is not a duplicate.
    let files = e.package_files(1, "imglife", "1.0.0");
    let record = files.iter().find(|f| f.file_name == "record.json").unwrap();
    let r = send(
        &e.url(),
        "DELETE",
        &format!(
            "/api/v4/projects/1/packages/{}/package_files/{}",
            record.package_id, record.id
        ),
        &[DEV],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(put(&e, &path, &[DEV], b"third").status, 201);
    assert_eq!(get(&e, &path, &[DEV]).body, b"third");
}

#[test]
fn duplicate_exception_regex_inverts_the_setting() {
    let e = emulator();
    let twice = |name: &str, version: &str| {
        let path = format!("{GENERIC}/{name}/{version}/f.json");
        assert_eq!(put(&e, &path, &[DEV], b"1").status, 201);
        put(&e, &path, &[DEV], b"2").status
    };
    e.set_duplicates_allowed("group", false);
    e.set_duplicate_exception_regex("group", "snap.*");
    assert_eq!(twice("snapshots", "1.0"), 201); // disallowed + name matches
    assert_eq!(twice("release", "snap-1"), 201); // disallowed + version matches
    assert_eq!(twice("release", "1.0"), 400); // disallowed + no match
    assert_eq!(twice("xsnap", "2.0"), 400); // anchored
    e.set_duplicates_allowed("group", true);
    assert_eq!(twice("snapper", "1.0"), 400); // allowed + matches
    assert_eq!(twice("other", "1.0"), 201); // allowed + no match
    e.set_duplicate_exception_regex("group", "");
    assert_eq!(twice("snapper", "2.0"), 201);
}

#[test]
fn sub_path_is_stored_encoded() {
    let e = emulator();
    let r = put(
        &e,
        &format!("{GENERIC}/imglife/1.0.0/sub/dir/file.txt"),
        &[DEV],
        b"x",
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        e.package_files(1, "imglife", "1.0.0")[0].file_name,
        "sub%2Fdir%2Ffile.txt"
    );
    assert_eq!(
        get(
            &e,
            &format!("{GENERIC}/imglife/1.0.0/sub/dir/file.txt"),
            &[DEV]
        )
        .body,
        b"x"
    );
}

// ---------------------------------------------------------------- validation

#[test]
fn invalid_names_versions_and_files_are_400() {
    let e = emulator();
    let cases = [
        ("my%20package/1.0.0/f.json", "package_name is invalid"),
        ("my~pkg/1.0.0/f.json", "package_name is invalid"),
        (
            "my-package%2f%2e%2e%2f/1.0.0/f.json",
            "package_name is invalid",
        ),
        ("pkg/..1.2.3/f.json", "package_version is invalid"),
        ("pkg/%2e%2e%2f1.2.3/f.json", "package_version is invalid"),
        ("pkg/1.2%203/f.json", "package_version is invalid"),
        ("pkg/1.0.0/~f.json", "file_name is invalid"),
        ("pkg/1.0.0/f.json~", "file_name is invalid"),
        ("pkg/1.0.0/@f.json", "file_name is invalid"),
        ("pkg/1.0.0/f.json@", "file_name is invalid"),
        ("pkg/1.0.0/my%20file", "file_name is invalid"),
        (
            "pkg/1.0.0/..%2F.ssh%2Fauthorized_keys",
            "file_name is invalid",
        ),
        (
            "pkg/1.0.0/sub/../f.json",
            "path should be a valid file path",
        ),
        (
            "b%20d/1..0/f.json",
            "package_name is invalid, package_version is invalid",
        ),
    ];
    for (path, error) in cases {
        let r = put(&e, &format!("{GENERIC}/{path}"), &[DEV], b"x");
        assert_json(&r, 400, json!({ "error": error }));
        if !path.contains("/sub/") {
            let r = get(&e, &format!("{GENERIC}/{path}"), &[DEV]);
            assert_eq!(r.status, 400, "GET {path}");
        }
    }
    for ok in [
        "pkg/1.3.350-20201230123456/my+file.tar.gz",
        "pkg/v1.2.4-build/my~file.tar.gz",
        "pkg/d50d836eb3de6177ce6c7a5482f27f9c2c84b672/myfile@1.1.tar.gz",
        "pkg/1.2.bananas/f",
    ] {
        assert_eq!(
            put(&e, &format!("{GENERIC}/{ok}"), &[DEV], b"x").status,
            201,
            "{ok}"
        );
    }
    // Anonymous PUT: authentication comes before validation.
    assert_eq!(
        put(&e, &format!("{GENERIC}/b%20d/1.0/f"), &[], b"x").status,
        401
    );

    let r = put(
        &e,
        &format!("{GENERIC}/pkg/1.0.0/f.json?status=processing"),
        &[DEV],
        b"x",
    );
    assert_json(
        &r,
        400,
        json!({"error": "status does not have a valid value"}),
    );
    let r = put(
        &e,
        &format!("{GENERIC}/pkg/1.0.0/f.json?select=bogus"),
        &[DEV],
        b"x",
    );
    assert_json(
        &r,
        400,
        json!({"error": "select does not have a valid value"}),
    );
}

#[test]
fn select_package_file_returns_the_row() {
    let e = emulator();
    let r = put(
        &e,
        &format!("{GENERIC}/pkg/1.0.0/f.json?select=package_file"),
        &[DEV],
        b"abc",
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    let file = &e.package_files(1, "pkg", "1.0.0")[0];
    assert_eq!(v["id"], file.id);
    assert_eq!(v["package_id"], file.package_id);
    assert_eq!(v["size"], 3);
    assert_eq!(v["file_name"], "f.json");
    assert_eq!(v["file_md5"], Value::Null);
    assert_eq!(
        v["file_sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn file_too_large() {
    let e = emulator();
    e.set_max_file_size(4);
    assert_eq!(
        put(&e, &format!("{GENERIC}/pkg/1/ok"), &[DEV], b"1234").status,
        201
    );
    let r = put(&e, &format!("{GENERIC}/pkg/1/big"), &[DEV], b"12345");
    assert_json(
        &r,
        400,
        json!({"message": "400 Bad request - File is too large"}),
    );
    e.set_max_file_size(0);
    assert_eq!(
        put(&e, &format!("{GENERIC}/pkg/1/big"), &[DEV], &[0u8; 100_000]).status,
        201
    );
}

// ---------------------------------------------------------------- auth

#[test]
fn put_auth_matrix() {
    let e = emulator();
    e.add_deploy_token("gldt-rw", 1, true, true);
    e.add_deploy_token("gldt-wo", 1, false, true);
    e.add_deploy_token("gldt-ro", 1, true, false);
    e.add_deploy_token("gldt-public-rw", 2, true, true);
    e.add_job_token("glcbt-job", "devel");
    let private = format!("{GENERIC}/pkg/1.0.0/f.json");
    let public = "/api/v4/projects/2/packages/generic/pkg/1.0.0/f.json".to_owned();
    let basic_pat = basic("anyone", "glpat-developer");
    let basic_bad = basic("anyone", "nope");
    let basic_deploy = basic("deploy-user", "gldt-rw");
    let bearer = format!("Bearer {PAT}");
    let bearer_deploy = "Bearer gldt-rw".to_owned();
    let basic_job = basic("gitlab-ci-token", "glcbt-job");

    let rows: Vec<(&str, Headers, &str, u16, u16)> = vec![
        ("anonymous", vec![], "", 401, 401),
        (
            "invalid PRIVATE-TOKEN",
            vec![("PRIVATE-TOKEN", "bad")],
            "",
            401,
            401,
        ),
        (
            "invalid JOB-TOKEN",
            vec![("JOB-TOKEN", "bad")],
            "",
            401,
            401,
        ),
        (
            "invalid basic",
            vec![("Authorization", &basic_bad)],
            "",
            401,
            401,
        ),
        (
            "invalid deploy token",
            vec![("Deploy-Token", "bad")],
            "",
            401,
            401,
        ),
        (
            "invalid bearer",
            vec![("Authorization", "Bearer bad")],
            "",
            401,
            401,
        ),
        ("maintainer PAT", vec![DEV], "", 201, 201),
        (
            "developer PAT",
            vec![("PRIVATE-TOKEN", "glpat-developer")],
            "",
            201,
            403,
        ),
        (
            "guest PAT",
            vec![("PRIVATE-TOKEN", "glpat-guest")],
            "",
            403,
            403,
        ),
        (
            "non-member PAT",
            vec![("PRIVATE-TOKEN", "glpat-outsider")],
            "",
            404,
            403,
        ),
        (
            "?private_token",
            vec![],
            "?private_token=glpat-developer",
            201,
            403,
        ),
        ("bearer PAT", vec![("Authorization", &bearer)], "", 201, 201),
        (
            "basic PAT",
            vec![("Authorization", &basic_pat)],
            "",
            201,
            403,
        ),
        ("JOB-TOKEN", vec![("JOB-TOKEN", "glcbt-job")], "", 201, 403),
        ("?job_token", vec![], "?job_token=glcbt-job", 201, 403),
        (
            "basic gitlab-ci-token (not on PUT)",
            vec![("Authorization", &basic_job)],
            "",
            401,
            401,
        ),
        ("deploy rw", vec![("Deploy-Token", "gldt-rw")], "", 201, 403),
        ("deploy wo", vec![("Deploy-Token", "gldt-wo")], "", 201, 403),
        ("deploy ro", vec![("Deploy-Token", "gldt-ro")], "", 403, 403),
        (
            "deploy basic",
            vec![("Authorization", &basic_deploy)],
            "",
            201,
            403,
        ),
        (
            "deploy bearer",
            vec![("Authorization", &bearer_deploy)],
            "",
            201,
            403,
        ),
        (
            "other project's deploy token",
            vec![("Deploy-Token", "gldt-public-rw")],
            "",
            404,
            201,
        ),
    ];
    for (what, headers, query, on_private, on_public) in rows {
        let r = put(&e, &format!("{private}{query}"), &headers, b"x");
        assert_eq!(r.status, on_private, "{what} on private: {}", r.text());
        let r2 = put(&e, &format!("{public}{query}"), &headers, b"x");
        assert_eq!(r2.status, on_public, "{what} on public: {}", r2.text());
        for r in [&r, &r2] {
            match r.status {
                401 => {
                    assert_json(r, 401, json!({"message": "401 Unauthorized"}));
                    assert_eq!(
                        r.header("www-authenticate"),
                        Some("Basic realm=\"GitLab Packages Registry\"")
                    );
                }
                403 => assert_json(r, 403, json!({"message": "403 Forbidden"})),
                404 => assert_json(r, 404, json!({"message": "404 Not Found"})),
                _ => {}
            }
        }
    }

    // A read_api token may not write.
    let r = put(&e, &private, &[("PRIVATE-TOKEN", "glpat-readonly")], b"x");
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "insufficient_scope");
    // ...but may read.
    assert_eq!(
        get(&e, &private, &[("PRIVATE-TOKEN", "glpat-readonly")]).status,
        200
    );

    // Unknown project: 401 anonymous, 404 authenticated.
    let unknown = "/api/v4/projects/99/packages/generic/pkg/1.0.0/f.json";
    assert_eq!(put(&e, unknown, &[], b"x").status, 401);
    assert_json(
        &put(&e, unknown, &[DEV], b"x"),
        404,
        json!({"message": "404 Not Found"}),
    );
}

#[test]
fn get_auth_matrix() {
    let e = emulator();
    e.add_deploy_token("gldt-ro", 1, true, false);
    e.add_deploy_token("gldt-wo", 1, false, true);
    e.add_job_token("glcbt-job", "guest");
    e.seed_file(1, "pkg", "1.0.0", "f.json", b"private");
    e.seed_file(2, "pkg", "1.0.0", "f.json", b"public");
    let private = format!("{GENERIC}/pkg/1.0.0/f.json");
    let public = "/api/v4/projects/2/packages/generic/pkg/1.0.0/f.json";
    let basic_bad = basic("anyone", "nope");
    let basic_pat = basic("anyone", "glpat-guest");
    let basic_job = basic("gitlab-ci-token", "glcbt-job");
    let basic_job_bad = basic("gitlab-ci-token", "bad");
    let basic_deploy = basic("x", "gldt-ro");

    let rows: Vec<(&str, Headers, u16, u16)> = vec![
        ("anonymous", vec![], 401, 200),
        (
            "invalid PRIVATE-TOKEN",
            vec![("PRIVATE-TOKEN", "bad")],
            401,
            401,
        ),
        ("invalid JOB-TOKEN", vec![("JOB-TOKEN", "bad")], 401, 401),
        (
            "invalid basic",
            vec![("Authorization", &basic_bad)],
            401,
            200,
        ),
        (
            "guest PAT",
            vec![("PRIVATE-TOKEN", "glpat-guest")],
            200,
            200,
        ),
        (
            "developer PAT",
            vec![("PRIVATE-TOKEN", "glpat-developer")],
            200,
            200,
        ),
        (
            "non-member PAT",
            vec![("PRIVATE-TOKEN", "glpat-outsider")],
            404,
            200,
        ),
        ("basic PAT", vec![("Authorization", &basic_pat)], 200, 200),
        ("JOB-TOKEN", vec![("JOB-TOKEN", "glcbt-job")], 200, 200),
        (
            "basic gitlab-ci-token",
            vec![("Authorization", &basic_job)],
            200,
            200,
        ),
        (
            "invalid basic gitlab-ci-token",
            vec![("Authorization", &basic_job_bad)],
            401,
            401,
        ),
        ("deploy ro", vec![("Deploy-Token", "gldt-ro")], 200, 200),
        ("deploy wo", vec![("Deploy-Token", "gldt-wo")], 200, 200),
        (
            "deploy basic",
            vec![("Authorization", &basic_deploy)],
            200,
            200,
        ),
        (
            "invalid deploy token",
            vec![("Deploy-Token", "bad")],
            401,
            401,
        ),
    ];
    for (what, headers, on_private, on_public) in rows {
        let r = get(&e, &private, &headers);
        assert_eq!(r.status, on_private, "{what} on private: {}", r.text());
        if r.status == 200 {
            assert_eq!(r.body, b"private");
        }
        if r.status == 401 {
            assert!(r.header("www-authenticate").is_some());
        }
        let r = get(&e, public, &headers);
        assert_eq!(r.status, on_public, "{what} on public: {}", r.text());
    }
}

#[test]
fn list_endpoints_auth() {
    let e = emulator();
    e.add_deploy_token("gldt-rw", 1, true, true);
    e.add_job_token("glcbt-job", "dev");
    e.seed_file(1, "pkg", "1.0.0", "f.json", b"x");
    e.seed_file(2, "pkg", "1.0.0", "f.json", b"x");
    let list = "/api/v4/projects/1/packages";
    let not_found = json!({"message": "404 Project Not Found"});

    assert_json(&get(&e, list, &[]), 404, not_found.clone());
    assert_json(
        &get(&e, list, &[("PRIVATE-TOKEN", "glpat-outsider")]),
        404,
        not_found.clone(),
    );
    // Basic and deploy tokens are not accepted here: anonymous.
    assert_json(
        &get(&e, list, &[("Authorization", &basic("u", PAT))]),
        404,
        not_found.clone(),
    );
    assert_json(
        &get(&e, list, &[("Deploy-Token", "gldt-rw")]),
        404,
        not_found.clone(),
    );
    // An invalid token: 401 without the Basic realm.
    let r = get(&e, list, &[("PRIVATE-TOKEN", "bad")]);
    assert_json(&r, 401, json!({"message": "401 Unauthorized"}));
    assert_eq!(r.header("www-authenticate"), None);
    assert_eq!(
        get(&e, list, &[("Authorization", "Bearer gldt-rw")]).status,
        401
    );

    for headers in [
        vec![DEV],
        vec![("JOB-TOKEN", "glcbt-job")],
        vec![("PRIVATE-TOKEN", "glpat-guest")],
    ] {
        let r = get(&e, list, &headers);
        assert_eq!(r.status, 200, "{headers:?}");
        assert_eq!(r.json().as_array().unwrap().len(), 1);
    }
    assert_eq!(
        get(&e, &format!("{list}?job_token=glcbt-job"), &[]).status,
        200
    );
    assert_eq!(
        get(&e, &format!("{list}?private_token={PAT}"), &[]).status,
        200
    );
    assert_eq!(get(&e, "/api/v4/projects/2/packages", &[]).status, 200);
    assert_eq!(
        get(&e, "/api/v4/projects/other%2Fpublic/packages", &[]).status,
        200
    );
    assert_json(
        &get(&e, "/api/v4/projects/98/packages", &[DEV]),
        404,
        not_found,
    );
}

// ---------------------------------------------------------------- listing

#[test]
fn list_entity_and_filters() {
    let e = emulator();
    for (name, version) in [
        ("imglife", "1.0.0"),
        ("ImgLife-extra", "1.0.0"),
        ("other", "1.0.0"),
        ("imglife", "2.0.0"),
    ] {
        assert_eq!(
            put(
                &e,
                &format!("{GENERIC}/{name}/{version}/f.json"),
                &[DEV],
                b"x"
            )
            .status,
            201
        );
    }
    assert_eq!(
        put(
            &e,
            &format!("{GENERIC}/hidden/1.0.0/f.json?status=hidden"),
            &[DEV],
            b"x"
        )
        .status,
        201
    );

    let r = get(
        &e,
        "/api/v4/projects/1/packages?package_type=generic&package_name=imgLIFE",
        &[DEV],
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    let rows = v.as_array().unwrap();
    let names: Vec<(&str, &str)> = rows
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("imglife", "1.0.0"),
            ("ImgLife-extra", "1.0.0"),
            ("imglife", "2.0.0")
        ]
    );
    let first = &rows[0];
    assert_eq!(first["package_type"], "generic");
    assert_eq!(first["status"], "default");
    assert_eq!(first["tags"], json!([]));
    assert_eq!(first["last_downloaded_at"], Value::Null);
    assert_eq!(
        first["_links"]["web_path"],
        format!("/group/project/-/packages/{}", first["id"])
    );
    assert_eq!(
        first["_links"]["delete_api_path"],
        format!("{}/api/v4/projects/1/packages/{}", e.url(), first["id"])
    );
    let created = first["created_at"].as_str().unwrap();
    assert_eq!(created.len(), "2024-01-01T00:00:00.000Z".len(), "{created}");

    // A guest cannot delete: no delete_api_path.
    let r = get(
        &e,
        "/api/v4/projects/1/packages",
        &[("PRIVATE-TOKEN", "glpat-guest")],
    );
    assert!(r.json()[0]["_links"].get("delete_api_path").is_none());

    let r = get(
        &e,
        "/api/v4/projects/1/packages?package_name=imglife&package_version=2.0.0",
        &[DEV],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = get(
        &e,
        "/api/v4/projects/1/packages?package_version=2.0",
        &[DEV],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 0);
    let r = get(&e, "/api/v4/projects/1/packages?package_type=maven", &[DEV]);
    assert_eq!(r.json(), json!([]));
    let r = get(&e, "/api/v4/projects/1/packages?status=hidden", &[DEV]);
    assert_eq!(r.json()[0]["name"], "hidden");
    assert!(r.json()[0]["_links"].get("web_path").is_none());

    let r = get(
        &e,
        "/api/v4/projects/1/packages?order_by=name&sort=desc",
        &[DEV],
    );
    let names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["other", "imglife", "imglife", "ImgLife-extra"]);

    for (query, error) in [
        ("order_by=size", "order_by does not have a valid value"),
        ("sort=up", "sort does not have a valid value"),
        (
            "package_type=zip",
            "package_type does not have a valid value",
        ),
        ("status=gone", "status does not have a valid value"),
        ("per_page=0", "per_page has a value not allowed"),
        ("page=-1", "page does not have a valid value"),
        ("page=x", "page is invalid"),
    ] {
        let r = get(&e, &format!("/api/v4/projects/1/packages?{query}"), &[DEV]);
        assert_json(&r, 400, json!({ "error": error }));
    }

    // A single package, with its other versions.
    let id = rows[0]["id"].as_u64().unwrap();
    let r = get(&e, &format!("/api/v4/projects/1/packages/{id}"), &[DEV]);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["versions"][0]["version"], "2.0.0");
    assert_json(
        &get(&e, "/api/v4/projects/1/packages/999", &[DEV]),
        404,
        json!({"message": "404 Not found"}),
    );
}

#[test]
fn pagination_headers() {
    let e = emulator();
    for i in 0..45 {
        e.seed_file(1, &format!("pkg-{i:02}"), "1.0.0", "f.json", b"x");
    }
    let r = get(
        &e,
        "/api/v4/projects/1/packages?package_type=generic",
        &[DEV],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 20);
    assert_eq!(r.header("x-page"), Some("1"));
    assert_eq!(r.header("x-per-page"), Some("20"));
    assert_eq!(r.header("x-next-page"), Some("2"));
    assert_eq!(r.header("x-prev-page"), Some(""));
    assert_eq!(r.header("x-total"), Some("45"));
    assert_eq!(r.header("x-total-pages"), Some("3"));
    let base = format!("{}/api/v4/projects/1/packages", e.url());
    assert_eq!(
        r.header("link").unwrap(),
        format!(
            "<{base}?package_type=generic&page=2&per_page=20>; rel=\"next\", \
             <{base}?package_type=generic&page=1&per_page=20>; rel=\"first\", \
             <{base}?package_type=generic&page=3&per_page=20>; rel=\"last\""
        )
    );

    let r = get(&e, "/api/v4/projects/1/packages?page=3", &[DEV]);
    let rows = r.json();
    assert_eq!(rows.as_array().unwrap().len(), 5);
    assert_eq!(rows[0]["name"], "pkg-40");
    assert_eq!(r.header("x-next-page"), Some(""));
    assert_eq!(r.header("x-prev-page"), Some("2"));
    assert!(
        r.header("link")
            .unwrap()
            .starts_with(&format!("<{base}?page=2&per_page=20>; rel=\"prev\", <"))
    );

    let r = get(&e, "/api/v4/projects/1/packages?page=9", &[DEV]);
    assert_eq!(r.json(), json!([]));
    assert_eq!(r.header("x-next-page"), Some(""));

    // per_page is clamped to 100.
    let r = get(&e, "/api/v4/projects/1/packages?per_page=500", &[DEV]);
    assert_eq!(r.header("x-per-page"), Some("100"));
    assert_eq!(r.header("x-total-pages"), Some("1"));
    assert_eq!(r.json().as_array().unwrap().len(), 45);

    // Package files are paginated too.
    for i in 0..3 {
        e.seed_file(1, "many", "1", &format!("f{i}"), b"x");
    }
    let id = e.package_files(1, "many", "1")[0].package_id;
    let r = get(
        &e,
        &format!("/api/v4/projects/1/packages/{id}/package_files?per_page=2&sort=desc"),
        &[DEV],
    );
    assert_eq!(r.header("x-total"), Some("3"));
    assert_eq!(r.header("x-next-page"), Some("2"));
    assert_eq!(r.json()[0]["file_name"], "f2");
}

#[test]
fn pagination_omits_totals_above_ten_thousand() {
    let e = emulator();
    for i in 0..10_001 {
        e.seed_file(1, &format!("rec-{i:05}"), "1", "r.json", b"{}");
    }
    let r = get(
        &e,
        "/api/v4/projects/1/packages?per_page=100&page=100",
        &[DEV],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-total"), None);
    assert_eq!(r.header("x-total-pages"), None);
    assert_eq!(r.header("x-next-page"), Some("101"));
    assert!(!r.header("link").unwrap().contains("rel=\"last\""));
    let r = get(
        &e,
        "/api/v4/projects/1/packages?per_page=100&page=101",
        &[DEV],
    );
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert_eq!(r.header("x-next-page"), Some(""));

    // Exactly 10,000 still counts.
    let e2 = emulator();
    for i in 0..10_000 {
        e2.seed_file(1, "one", "1", &format!("f{i}"), b"");
    }
    let id = e2.package_files(1, "one", "1")[0].package_id;
    let r = get(
        &e2,
        &format!("/api/v4/projects/1/packages/{id}/package_files?per_page=100"),
        &[DEV],
    );
    assert_eq!(r.header("x-total"), Some("10000"));
    assert_eq!(r.header("x-total-pages"), Some("100"));
}

// ---------------------------------------------------------------- deletes

#[test]
fn deletes() {
    let e = emulator();
    let path = format!("{GENERIC}/pkg/1.0.0/f.json");
    assert_eq!(put(&e, &path, &[DEV], b"old").status, 201);
    let old = e.package_files(1, "pkg", "1.0.0")[0].clone();
    let url = format!("/api/v4/projects/1/packages/{}", old.package_id);

    // Below Maintainer: 403; read_api: insufficient scope; outsider: 404.
    let r = send(
        &e.url(),
        "DELETE",
        &url,
        &[("PRIVATE-TOKEN", "glpat-developer")],
        b"",
    );
    assert_json(&r, 403, json!({"message": "403 Forbidden"}));
    let r = send(
        &e.url(),
        "DELETE",
        &url,
        &[("PRIVATE-TOKEN", "glpat-readonly")],
        b"",
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"], "insufficient_scope");
    let r = send(
        &e.url(),
        "DELETE",
        &url,
        &[("PRIVATE-TOKEN", "glpat-outsider")],
        b"",
    );
    assert_json(&r, 404, json!({"message": "404 Project Not Found"}));
    let file_url = format!("{url}/package_files/{}", old.id);
    let r = send(
        &e.url(),
        "DELETE",
        &file_url,
        &[("PRIVATE-TOKEN", "glpat-developer")],
        b"",
    );
    assert_eq!(r.status, 403);

    let r = send(&e.url(), "DELETE", &url, &[DEV], b"");
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_json(
        &get(&e, &path, &[DEV]),
        404,
        json!({"message": "404 Not found"}),
    );
    assert_eq!(
        get(&e, "/api/v4/projects/1/packages", &[DEV]).json(),
        json!([])
    );
    let r = get(
        &e,
        "/api/v4/projects/1/packages?status=pending_destruction",
        &[DEV],
    );
    assert_eq!(r.json()[0]["id"], old.package_id);
    assert!(e.package_files(1, "pkg", "1.0.0").is_empty());
    // Deleting again: 404.
    assert_json(
        &send(&e.url(), "DELETE", &url, &[DEV], b""),
        404,
        json!({"message": "404 Not found"}),
    );
    assert_json(
        &get(&e, &format!("{url}/package_files"), &[DEV]),
        404,
        json!({"message": "404 Not found"}),
    );

    // A new upload creates a new package.
    assert_eq!(put(&e, &path, &[DEV], b"new").status, 201);
    let new = e.package_files(1, "pkg", "1.0.0")[0].clone();
    assert_ne!(new.package_id, old.package_id);
    assert_eq!(get(&e, &path, &[DEV]).body, b"new");

    // Missing file in an existing package: "404 Not Found".
    let r = send(
        &e.url(),
        "DELETE",
        &format!(
            "/api/v4/projects/1/packages/{}/package_files/999",
            new.package_id
        ),
        &[DEV],
        b"",
    );
    assert_json(&r, 404, json!({"message": "404 Not Found"}));
    let r = send(
        &e.url(),
        "DELETE",
        &format!(
            "/api/v4/projects/1/packages/{}/package_files/{}",
            new.package_id, new.id
        ),
        &[DEV],
        b"",
    );
    assert_eq!(r.status, 204);
    // GitLab keeps the package when its last file goes.
    assert_eq!(
        get(&e, "/api/v4/projects/1/packages", &[DEV])
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_json(
        &get(&e, &path, &[DEV]),
        404,
        json!({"message": "404 Not found"}),
    );
}

// ---------------------------------------------------------------- faults

#[test]
fn status_faults_in_order() {
    let e = emulator();
    let path = format!("{GENERIC}/pkg/1.0.0/f.json");
    e.push_faults(
        "put",
        "/packages/generic/",
        vec![
            Fault::Status {
                code: 503,
                retry_after: None,
            },
            Fault::Status {
                code: 500,
                retry_after: Some("7".into()),
            },
            Fault::Status {
                code: 429,
                retry_after: Some("2".into()),
            },
        ],
    );
    // A GET does not match the PUT queue.
    assert_eq!(get(&e, &path, &[DEV]).status, 404);

    let r = put(&e, &path, &[DEV], b"x");
    assert_json(&r, 503, json!({"message": "503 Service Unavailable"}));
    assert_eq!(r.header("retry-after"), None);
    let r = put(&e, &path, &[DEV], b"x");
    assert_json(&r, 500, json!({"message": "500 Internal Server Error"}));
    assert_eq!(r.header("retry-after"), Some("7"));
    let r = put(&e, &path, &[DEV], b"x");
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), "Retry later\n");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("retry-after"), Some("2"));
    assert!(r.header("ratelimit-reset").is_some());
    // The queue is used up; nothing was stored meanwhile.
    assert!(e.package_files(1, "pkg", "1.0.0").is_empty());
    assert_eq!(put(&e, &path, &[DEV], b"x").status, 201);
    // Faulted requests are recorded too.
    assert_eq!(e.requests().iter().filter(|r| r.method == "PUT").count(), 4);
}

#[test]
fn drop_fault_closes_the_connection() {
    let e = emulator();
    let path = format!("{GENERIC}/pkg/1.0.0/f.json");
    e.push_faults("*", "f.json", vec![Fault::Drop]);
    let err = try_send(&e.url(), "PUT", &path, &[DEV], b"x").unwrap_err();
    assert!(
        err.contains("without a response") || err.contains("reset"),
        "{err}"
    );
    assert!(e.package_files(1, "pkg", "1.0.0").is_empty());
    assert_eq!(put(&e, &path, &[DEV], b"x").status, 201);
}

#[test]
fn delay_fault_answers_late() {
    let e = emulator();
    let path = format!("{GENERIC}/pkg/1.0.0/f.json");
    e.seed_file(1, "pkg", "1.0.0", "f.json", b"x");
    e.push_faults("GET", "pkg", vec![Fault::Delay(Duration::from_millis(300))]);
    let started = Instant::now();
    let r = get(&e, &path, &[DEV]);
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Other requests are not held up by a delayed one.
    e.push_faults("GET", "pkg", vec![Fault::Delay(Duration::from_secs(2))]);
    let url = e.url();
    let slow = std::thread::spawn(move || {
        let started = Instant::now();
        let r = send(
            &url,
            "GET",
            &format!("{GENERIC}/pkg/1.0.0/f.json"),
            &[DEV],
            b"",
        );
        (r.status, started.elapsed())
    });
    // Wait until the slow request has been received (it is recorded first).
    while e.requests().len() < 2 {
        std::thread::yield_now();
    }
    assert_eq!(get(&e, &path, &[DEV]).status, 200);
    assert!(
        !slow.is_finished(),
        "answered while the delayed request still waits"
    );
    let (status, elapsed) = slow.join().unwrap();
    assert_eq!(status, 200);
    assert!(elapsed >= Duration::from_secs(2));
}

// ---------------------------------------------------------------- redirect

#[test]
fn download_redirect_to_object_storage() {
    let e = emulator();
    let path = format!("{GENERIC}/pkg/1.0.0/f.json");
    assert_eq!(put(&e, &path, &[DEV], b"stored bytes").status, 201);
    e.set_download_redirect(true);
    let r = get(&e, &path, &[DEV]);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("x-checksum-sha256"), None);
    let location = r.header("location").unwrap().to_owned();
    let origin = e.object_storage_url();
    assert!(location.starts_with(&origin), "{location}");
    assert_ne!(origin, e.url());
    assert!(location.contains("X-Amz-Signature="));

    // The client follows without credentials.
    let target = &location[origin.len()..];
    let r = send(
        &origin,
        "GET",
        target,
        &[("User-Agent", "imglife-test")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"stored bytes");
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"f.json\"; filename*=UTF-8''f.json")
    );

    // A forwarded Authorization header is refused, like S3 does; a tampered
    // signature too. Every request is recorded with its headers.
    let r = send(
        &origin,
        "GET",
        target,
        &[("Authorization", "Bearer leaked")],
        b"",
    );
    assert_eq!(r.status, 400);
    let tampered = target.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(send(&origin, "GET", &tampered, &[], b"").status, 403);

    let seen = e.object_storage_requests();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].method, "GET");
    assert!(target.starts_with(&seen[0].path));
    assert!(
        seen[0]
            .query
            .as_deref()
            .unwrap()
            .contains("X-Amz-Signature")
    );
    assert_eq!(seen[0].header("user-agent"), Some("imglife-test"));
    assert!(seen[0].header("private-token").is_none());
    assert_eq!(seen[1].header("authorization"), Some("Bearer leaked"));
    // The API origin saw only its own requests.
    assert!(e.requests().iter().all(|r| r.path.starts_with("/api/v4/")));

    e.reset_requests();
    assert!(e.requests().is_empty());
    assert!(e.object_storage_requests().is_empty());
}

#[test]
fn requests_are_recorded_with_lower_case_headers() {
    let e = emulator();
    let _ = get(
        &e,
        "/api/v4/projects/group%2Fproject/packages?per_page=5",
        &[("PRIVATE-TOKEN", PAT)],
    );
    let seen = e.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/api/v4/projects/group%2Fproject/packages");
    assert_eq!(seen[0].query.as_deref(), Some("per_page=5"));
    assert!(
        seen[0]
            .headers
            .contains(&("private-token".to_owned(), PAT.to_owned()))
    );
}

#[test]
fn unknown_routes_and_methods() {
    let e = emulator();
    assert_json(
        &get(&e, "/api/v4/nothing", &[DEV]),
        404,
        json!({"error": "404 Not Found"}),
    );
    let r = send(&e.url(), "POST", &format!("{GENERIC}/pkg/1/f"), &[DEV], b"");
    assert_json(&r, 405, json!({"error": "405 Not Allowed"}));
}

#[test]
fn drop_stops_the_server() {
    let e = emulator();
    let url = e.url();
    drop(e);
    assert!(try_send(&url, "GET", "/api/v4/projects/1/packages", &[], b"").is_err());
}

#[test]
fn object_storage_faults_are_separate() {
    let e = emulator();
    let path = format!("{GENERIC}/pkg/1.0.0/f.json");
    e.seed_file(1, "pkg", "1.0.0", "f.json", b"bytes");
    e.set_download_redirect(true);
    // An API fault queue never matches object-storage requests.
    e.push_faults("GET", "/api/v4/none", vec![Fault::Drop]);
    e.push_object_storage_faults(
        "GET",
        "f.json",
        vec![
            Fault::Status {
                code: 503,
                retry_after: Some("1".into()),
            },
            Fault::Drop,
        ],
    );
    let location = get(&e, &path, &[DEV])
        .header("location")
        .unwrap()
        .to_owned();
    let origin = e.object_storage_url();
    let target = &location[origin.len()..];
    let r = send(&origin, "GET", target, &[], b"");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(try_send(&origin, "GET", target, &[], b"").is_err());
    assert_eq!(send(&origin, "GET", target, &[], b"").body, b"bytes");
    assert_eq!(e.object_storage_requests().len(), 3);
}
