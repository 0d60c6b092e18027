//! Self-tests of the Gitea package registry emulator, over plain HTTP/1.1
//! on `std::net::TcpStream` (one connection per request). Each expectation
//! is Gitea's, from its source (see `imglife_testkit::gitea`).

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use imglife_testkit::gitea::{Access, Emulator, Fault, Gate, Scope, Visibility};
use serde_json::Value;

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
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `message` of an API error.
    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
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

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---------------------------------------------------------------- fixture

const WRITER: &str = "gitea-writer";
const READER: &str = "gitea-reader";
const NO_PACKAGE: &str = "gitea-repo-only";
const OUTSIDER: &str = "gitea-outsider";
const OWNER_TOKEN: &str = "gitea-alice";

fn auth(token: &str) -> String {
    format!("token {token}")
}

/// Organisation `platform` (private) where `ci` may write and `viewer` may
/// read packages; `public-org` (public), `limited-org` (limited); the user
/// `alice` owning her packages; `outsider`, in no organisation.
fn emulator() -> Emulator {
    let e = Emulator::start();
    e.add_org("platform", Visibility::Private);
    e.add_org("public-org", Visibility::Public);
    e.add_org("limited-org", Visibility::Limited);
    for user in ["ci", "viewer", "outsider", "alice"] {
        e.add_user(user, Visibility::Public);
    }
    e.add_member("platform", "ci", Access::Write);
    e.add_member("public-org", "ci", Access::Write);
    e.add_member("limited-org", "ci", Access::Write);
    e.add_member("platform", "viewer", Access::Read);
    e.add_token(WRITER, "ci", Scope::WritePackage);
    e.add_token(READER, "viewer", Scope::ReadPackage);
    e.add_token(NO_PACKAGE, "ci", Scope::NoPackage);
    e.add_token(OUTSIDER, "outsider", Scope::WritePackage);
    e.add_token(OWNER_TOKEN, "alice", Scope::WritePackage);
    e
}

const FILE: &str = "/api/packages/platform/generic/pkg/1.0/file.bin";

fn put(e: &Emulator, path: &str, token: &str, body: &[u8]) -> Resp {
    send(
        &e.url(),
        "PUT",
        path,
        &[("Authorization", &auth(token))],
        body,
    )
}

fn get(e: &Emulator, path: &str, token: &str) -> Resp {
    send(
        &e.url(),
        "GET",
        path,
        &[("Authorization", &auth(token))],
        b"",
    )
}

fn delete(e: &Emulator, path: &str, token: &str) -> Resp {
    send(
        &e.url(),
        "DELETE",
        path,
        &[("Authorization", &auth(token))],
        b"",
    )
}

fn anonymous(e: &Emulator, method: &str, path: &str) -> Resp {
    send(&e.url(), method, path, &[], b"")
}

fn assert_text(resp: &Resp, status: u16, text: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(resp.text(), text);
    assert!(
        resp.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        resp.headers
    );
}

fn assert_unauthorized(resp: &Resp) {
    assert_text(
        resp,
        401,
        "user should have specific permission or be a site admin\n",
    );
    assert_eq!(
        resp.header("www-authenticate"),
        Some("Basic realm=\"Gitea Package API\"")
    );
}

fn assert_api(resp: &Resp, status: u16, message: &str) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(resp.message(), message);
    assert!(
        resp.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        resp.headers
    );
}

// --------------------------------------------------- upload and download

#[test]
fn emulator_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Emulator>();
}

#[test]
fn upload_then_download() {
    let e = emulator();
    let r = put(&e, FILE, WRITER, b"hello");
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.body.is_empty(), "Gitea answers an upload with no body");
    let r = get(&e, FILE, WRITER);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let r = send(
        &e.url(),
        "HEAD",
        FILE,
        &[("Authorization", &auth(WRITER))],
        b"",
    );
    assert_eq!(r.status, 200);
    let files = e.files("platform", "pkg", "1.0");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].sha256, sha256_hex(b"hello"));
}

#[test]
fn the_same_file_name_twice_is_409_case_insensitively() {
    let e = emulator();
    assert_eq!(put(&e, FILE, WRITER, b"one").status, 201);
    let r = put(&e, FILE, WRITER, b"two");
    assert_text(&r, 409, "package file already exists");
    let r = put(
        &e,
        "/api/packages/platform/generic/PKG/1.0/FILE.BIN",
        WRITER,
        b"three",
    );
    assert_text(&r, 409, "package file already exists");
    assert_eq!(e.files("platform", "pkg", "1.0").len(), 1, "nothing added");
    // Another name in the same version is fine.
    let r = put(
        &e,
        "/api/packages/platform/generic/pkg/1.0/other.bin",
        WRITER,
        b"x",
    );
    assert_eq!(r.status, 201);
    assert_eq!(get(&e, FILE, WRITER).body, b"one");
}

#[test]
fn names_and_versions_are_compared_case_insensitively() {
    let e = emulator();
    assert_eq!(
        put(
            &e,
            "/api/packages/platform/generic/Pkg/V1/a.bin",
            WRITER,
            b"a"
        )
        .status,
        201
    );
    let r = get(&e, "/api/packages/Platform/generic/pkg/v1/A.BIN", WRITER);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"a");
    // One version, stored as first spelled.
    assert_eq!(
        put(
            &e,
            "/api/packages/platform/generic/pkg/v1/b.bin",
            WRITER,
            b"b"
        )
        .status,
        201
    );
    assert_eq!(
        e.versions("platform"),
        vec![("Pkg".to_owned(), "V1".to_owned())]
    );
}

#[test]
fn invalid_names_files_and_versions_are_400_in_plain_text() {
    let e = emulator();
    for (path, text) in [
        (
            "/api/packages/platform/generic/./1.0/f",
            "invalid package name",
        ),
        (
            "/api/packages/platform/generic/a%20b/1.0/f",
            "invalid package name",
        ),
        (
            "/api/packages/platform/generic/../1.0/f",
            "invalid package name",
        ),
        (
            "/api/packages/platform/generic/p/1.0/%20f",
            "invalid filename",
        ),
        (
            "/api/packages/platform/generic/p/1.0/a%3Fb",
            "invalid filename",
        ),
        (
            "/api/packages/platform/generic/p/%201.0/f",
            "invalid package version",
        ),
    ] {
        let r = put(&e, path, WRITER, b"x");
        assert_text(&r, 400, text);
    }
    // What Gitea accepts beyond GitLab's set.
    for path in [
        "/api/packages/platform/generic/r.io+a/1.+.2/record-0.json",
        "/api/packages/platform/generic/p/1.0%20beta/a%20b(1).txt",
    ] {
        assert_eq!(put(&e, path, WRITER, b"x").status, 201, "{path}");
    }
    assert!(e.versions("platform").len() == 2);
}

#[test]
fn the_generic_size_limit_is_a_403_quota_error() {
    let e = emulator();
    e.set_generic_size_limit(Some(4));
    assert_text(
        &put(&e, FILE, WRITER, b"hello"),
        403,
        "maximum allowed package type size exceeded",
    );
    assert!(e.versions("platform").is_empty(), "nothing created");
    assert_eq!(put(&e, FILE, WRITER, b"hell").status, 201);
}

#[test]
fn a_missing_package_or_file_is_404() {
    let e = emulator();
    assert_text(&get(&e, FILE, WRITER), 404, "package does not exist");
    put(&e, FILE, WRITER, b"x");
    assert_text(
        &get(
            &e,
            "/api/packages/platform/generic/pkg/1.0/other.bin",
            WRITER,
        ),
        404,
        "package file does not exist",
    );
    assert_text(
        &get(&e, "/api/packages/nobody/generic/pkg/1.0/f", WRITER),
        404,
        "Not found.\n",
    );
}

// ------------------------------------------------------------------ auth

#[test]
fn package_routes_answer_401_for_every_refusal() {
    let e = emulator();
    put(&e, FILE, WRITER, b"x");
    // An unknown token fails authentication before anything else, even for
    // an unknown owner.
    for path in [FILE, "/api/packages/nobody/generic/p/1/f"] {
        let r = get(&e, path, "gitea-unknown");
        assert_text(&r, 401, "Failed to authenticate user\n");
    }
    // Too little access or scope: 401, never 403.
    assert_unauthorized(&anonymous(&e, "GET", FILE));
    assert_unauthorized(&get(&e, FILE, OUTSIDER));
    assert_unauthorized(&get(&e, FILE, NO_PACKAGE));
    assert_unauthorized(&put(&e, FILE, READER, b"y"));
    assert_unauthorized(&delete(&e, FILE, READER));
    assert_unauthorized(&put(
        &e,
        "/api/packages/platform/generic/pkg/1.0/new.bin",
        NO_PACKAGE,
        b"y",
    ));
    assert_eq!(get(&e, FILE, READER).status, 200);

    // A public owner is readable by everyone, writable by its writers.
    let public = "/api/packages/public-org/generic/pkg/1.0/f";
    assert_eq!(put(&e, public, WRITER, b"p").status, 201);
    assert_eq!(anonymous(&e, "GET", public).status, 200);
    assert_eq!(get(&e, public, OUTSIDER).status, 200);
    assert_unauthorized(&put(
        &e,
        "/api/packages/public-org/generic/pkg/1.0/g",
        OUTSIDER,
        b"",
    ));
    // A limited owner only by signed-in users.
    let limited = "/api/packages/limited-org/generic/pkg/1.0/f";
    assert_eq!(put(&e, limited, WRITER, b"l").status, 201);
    assert_unauthorized(&anonymous(&e, "GET", limited));
    assert_eq!(get(&e, limited, OUTSIDER).status, 200);
    // A user owns her packages.
    let own = "/api/packages/alice/generic/pkg/1.0/f";
    assert_eq!(put(&e, own, OWNER_TOKEN, b"a").status, 201);
    assert_eq!(get(&e, own, OUTSIDER).status, 200, "alice is public");
    assert_unauthorized(&put(
        &e,
        "/api/packages/alice/generic/pkg/1.0/g",
        WRITER,
        b"",
    ));
}

#[test]
fn tokens_are_read_from_every_place_gitea_reads_them() {
    let e = emulator();
    put(&e, FILE, WRITER, b"x");
    let url = e.url();
    for headers in [
        vec![("Authorization", format!("token {READER}"))],
        vec![("Authorization", format!("Bearer {READER}"))],
        vec![("Authorization", basic("viewer", READER))],
        vec![("Authorization", basic(READER, ""))],
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            send(&url, "GET", FILE, &headers, b"").status,
            200,
            "{headers:?}"
        );
    }
    for query in ["token", "access_token"] {
        let r = anonymous(&e, "GET", &format!("{FILE}?{query}={READER}"));
        assert_eq!(r.status, 200, "{query}");
    }
}

// ------------------------------------------------------------- deletions

#[test]
fn the_version_goes_with_its_last_file() {
    let e = emulator();
    put(&e, FILE, WRITER, b"x");
    put(
        &e,
        "/api/packages/platform/generic/pkg/1.0/second.bin",
        WRITER,
        b"y",
    );
    assert_eq!(delete(&e, FILE, WRITER).status, 204);
    assert_eq!(e.versions("platform").len(), 1, "another file is left");
    assert_text(
        &delete(&e, FILE, WRITER),
        404,
        "package file does not exist",
    );
    assert_eq!(
        delete(
            &e,
            "/api/packages/platform/generic/pkg/1.0/second.bin",
            WRITER
        )
        .status,
        204
    );
    assert!(
        e.versions("platform").is_empty(),
        "the last file took the version"
    );
    assert_text(&delete(&e, FILE, WRITER), 404, "package does not exist");
}

#[test]
fn deleting_a_version_deletes_its_files() {
    let e = emulator();
    put(&e, FILE, WRITER, b"x");
    put(
        &e,
        "/api/packages/platform/generic/pkg/1.0/second.bin",
        WRITER,
        b"y",
    );
    let version = "/api/packages/platform/generic/pkg/1.0";
    assert_unauthorized(&delete(&e, version, READER));
    assert_eq!(delete(&e, version, WRITER).status, 204);
    assert!(e.files("platform", "pkg", "1.0").is_empty());
    assert_text(&delete(&e, version, WRITER), 404, "package does not exist");
    // The API's deletion does the same.
    put(&e, FILE, WRITER, b"x");
    let api = "/api/v1/packages/platform/generic/pkg/1.0";
    assert_eq!(delete(&e, api, WRITER).status, 204);
    assert!(e.versions("platform").is_empty());
}

// ------------------------------------------------------------------ list

fn seed(e: &Emulator, n: usize) {
    for i in 0..n {
        e.seed_file(
            "platform",
            &format!("app-{i:03}"),
            "1.0",
            "record.json",
            b"{}",
        );
    }
}

fn list(e: &Emulator, query: &str) -> Resp {
    get(e, &format!("/api/v1/packages/platform?{query}"), WRITER)
}

/// `Link` as (rel, URL) pairs.
fn links(resp: &Resp) -> Vec<(String, String)> {
    resp.header("link")
        .unwrap_or_default()
        .split(',')
        .filter_map(|part| {
            let (url, rel) = part.split_once(">; rel=\"")?;
            Some((
                rel.trim_end_matches('"').to_owned(),
                url.trim_start_matches('<').to_owned(),
            ))
        })
        .collect()
}

fn ids(resp: &Resp) -> Vec<u64> {
    resp.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_list_pages_by_offset_with_gitea_caps_and_headers() {
    let e = emulator();
    seed(&e, 120);
    let first = list(&e, "type=generic&limit=50&page=1");
    assert_eq!(first.status, 200);
    assert_eq!(first.header("x-total-count"), Some("120"));
    let link = links(&first);
    assert!(
        link.iter()
            .any(|(rel, url)| rel == "next" && url.contains("page=2&")),
        "{link:?}"
    );
    assert!(
        link.iter()
            .any(|(rel, url)| rel == "last" && url.contains("page=3&")),
        "{link:?}"
    );
    assert!(
        link.iter().all(|(rel, _)| rel != "prev" && rel != "first"),
        "{link:?}"
    );
    let mut all = ids(&first);
    for page in 2..=3 {
        all.extend(ids(&list(
            &e,
            &format!("type=generic&limit=50&page={page}"),
        )));
    }
    assert_eq!(all.len(), 120);
    let mut unique = all.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 120, "no page repeats another");
    let last = list(&e, "type=generic&limit=50&page=3");
    assert_eq!(ids(&last).len(), 20);
    let rels: Vec<String> = links(&last).into_iter().map(|(rel, _)| rel).collect();
    assert_eq!(rels, ["first", "prev"]);
    assert_eq!(
        ids(&list(&e, "type=generic&limit=50&page=4")),
        Vec::<u64>::new()
    );

    // `limit` is capped at MAX_RESPONSE_ITEMS and defaults to 30; `page`
    // below 1 or not a number is page 1.
    assert_eq!(ids(&list(&e, "limit=1000")).len(), 50);
    assert_eq!(ids(&list(&e, "")).len(), 30);
    assert_eq!(ids(&list(&e, "limit=0")).len(), 30);
    assert_eq!(
        ids(&list(&e, "limit=5&page=0")),
        ids(&list(&e, "limit=5&page=1"))
    );
    assert_eq!(
        ids(&list(&e, "limit=5&page=abc")),
        ids(&list(&e, "limit=5"))
    );
    e.set_max_response_items(20);
    assert_eq!(ids(&list(&e, "limit=50")).len(), 20);
}

#[test]
fn the_list_is_newest_first_and_filters_by_type_and_name() {
    let e = emulator();
    seed(&e, 5);
    let all = list(&e, "type=generic").json();
    let items = all.as_array().unwrap();
    let keys: Vec<(String, u64)> = items
        .iter()
        .map(|p| {
            (
                p["created_at"].as_str().unwrap().to_owned(),
                p["id"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    // created_unix descending, then id ascending.
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(keys, sorted);
    let p = &items[0];
    assert_eq!(p["type"], "generic");
    assert_eq!(p["version"], "1.0");
    assert_eq!(p["owner"]["login"], "platform");
    assert_eq!(p["creator"]["login"], "platform");
    assert!(p["repository"].is_null());
    assert!(
        p["html_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/platform/-/packages/generic/app-", e.url()))
    );
    assert_eq!(ids(&list(&e, "type=npm")), Vec::<u64>::new());
    assert_eq!(ids(&list(&e, "q=APP-00")).len(), 5);
    assert_eq!(ids(&list(&e, "q=app-003")).len(), 1);
}

// ------------------------------------------------------------------- API

#[test]
fn api_routes_answer_in_json_with_403_for_too_little_access() {
    let e = emulator();
    put(&e, FILE, WRITER, b"x");
    let list = "/api/v1/packages/platform";
    // An unknown token: 401, and Gitea's text echoes it.
    assert_api(
        &get(&e, list, "gitea-unknown"),
        401,
        "access token does not exist [sha: gitea-unknown]",
    );
    assert_api(
        &get(&e, list, NO_PACKAGE),
        403,
        "token does not have at least one of required scope(s): [read:package]",
    );
    assert_api(
        &delete(&e, "/api/v1/packages/platform/generic/pkg/1.0", READER),
        403,
        "token does not have at least one of required scope(s): [write:package]",
    );
    let denied = "user should have specific permission or be a site admin";
    assert_api(&anonymous(&e, "GET", list), 403, denied);
    assert_api(&get(&e, list, OUTSIDER), 403, denied);
    assert_eq!(get(&e, list, READER).status, 200);
    let r = get(&e, "/api/v1/packages/nobody", WRITER);
    assert_api(&r, 404, "The target couldn't be found.");
    assert_api(
        &get(&e, "/api/v1/packages/platform/generic/pkg/9.9", WRITER),
        404,
        "package does not exist",
    );
    // Deleting needs a token even where reading needs none.
    put(
        &e,
        "/api/packages/public-org/generic/pkg/1.0/f",
        WRITER,
        b"x",
    );
    assert_api(
        &anonymous(&e, "DELETE", "/api/v1/packages/public-org/generic/pkg/1.0"),
        401,
        "token is required",
    );
    assert_eq!(
        anonymous(&e, "GET", "/api/v1/packages/public-org/generic/pkg/1.0").status,
        200
    );
    e.add_token("gitea-viewer-write", "viewer", Scope::WritePackage);
    assert_api(
        &delete(
            &e,
            "/api/v1/packages/platform/generic/pkg/1.0",
            "gitea-viewer-write",
        ),
        403,
        denied,
    );
}

#[test]
fn a_version_and_its_files_are_described() {
    let e = emulator();
    put(&e, FILE, WRITER, b"hello");
    put(
        &e,
        "/api/packages/platform/generic/pkg/1.0/b.bin",
        WRITER,
        b"world",
    );
    let v = get(&e, "/api/v1/packages/platform/generic/PKG/1.0", WRITER).json();
    assert_eq!(v["name"], "pkg");
    assert_eq!(v["version"], "1.0");
    assert_eq!(v["creator"]["login"], "ci");
    let files = get(
        &e,
        "/api/v1/packages/platform/generic/pkg/1.0/files",
        WRITER,
    )
    .json();
    let files = files.as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["name"], "file.bin");
    assert_eq!(files[0]["size"], 5);
    assert_eq!(files[0]["sha256"], sha256_hex(b"hello"));
    assert!(files[0]["id"].as_u64() < files[1]["id"].as_u64(), "by id");
    assert_eq!(files[1]["sha512"].as_str().map(str::len), Some(128));
    assert_api(
        &get(&e, "/api/v1/packages/platform/npm/pkg/1.0/files", WRITER),
        404,
        "package does not exist",
    );
}

#[test]
fn packages_are_linked_to_a_repository_once() {
    let e = emulator();
    e.add_repository("platform", "base-images");
    put(&e, FILE, WRITER, b"x");
    let link = "/api/v1/packages/platform/generic/pkg/-/link/base-images";
    let post = |path: &str, token: &str| {
        send(
            &e.url(),
            "POST",
            path,
            &[("Authorization", &auth(token))],
            b"",
        )
    };
    assert_api(
        &post(link, READER),
        403,
        "token does not have at least one of required scope(s): [write:package]",
    );
    let r = post(link, WRITER);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        e.linked_repository("platform", "pkg").as_deref(),
        Some("base-images")
    );
    let v = get(&e, "/api/v1/packages/platform/generic/pkg/1.0", WRITER).json();
    assert_eq!(v["repository"]["name"], "base-images");
    assert_eq!(v["repository"]["full_name"], "platform/base-images");
    assert_api(&post(link, WRITER), 400, "invalid argument");
    let r = post("/api/v1/packages/platform/generic/pkg/-/link/nope", WRITER);
    assert_eq!(r.status, 404);
    assert!(
        r.message().starts_with("repository does not exist"),
        "{}",
        r.text()
    );
    assert_api(
        &post(
            "/api/v1/packages/platform/generic/other/-/link/base-images",
            WRITER,
        ),
        404,
        "package does not exist",
    );
    e.set_link_api(false);
    assert_api(&post(link, WRITER), 404, "The target couldn't be found.");
}

// ------------------------------------------------- redirects and faults

#[test]
fn downloads_can_be_redirected_to_object_storage() {
    let e = emulator();
    put(&e, FILE, WRITER, b"stored");
    e.set_download_redirect(true);
    let r = get(&e, FILE, WRITER);
    assert_eq!(r.status, 303);
    let location = r.header("location").unwrap().to_owned();
    assert!(location.starts_with(&e.object_storage_url()), "{location}");
    let target = location.strip_prefix(&e.object_storage_url()).unwrap();
    let fetched = send(&e.object_storage_url(), "GET", target, &[], b"");
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, b"stored");
    // A credential next to the signature is refused, as S3 does.
    let with_auth = send(
        &e.object_storage_url(),
        "GET",
        target,
        &[("Authorization", &auth(WRITER))],
        b"",
    );
    assert_eq!(with_auth.status, 400);
    let forged = target.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert_eq!(
        send(&e.object_storage_url(), "GET", &forged, &[], b"").status,
        403
    );
    assert_eq!(e.object_storage_requests().len(), 3);
}

#[test]
fn status_faults_apply_in_order_and_are_recorded() {
    let e = emulator();
    e.push_faults(
        "PUT",
        "/generic/",
        vec![
            Fault::Status {
                code: 503,
                retry_after: Some("2".to_owned()),
            },
            Fault::Status {
                code: 500,
                retry_after: None,
            },
        ],
    );
    let r = put(&e, FILE, WRITER, b"x");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.text(), "503 Service Unavailable\n");
    assert_eq!(put(&e, FILE, WRITER, b"x").status, 500);
    assert_eq!(put(&e, FILE, WRITER, b"x").status, 201);
    assert_eq!(get(&e, FILE, WRITER).status, 200, "GET was never faulted");
    let requests = e.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].method, "PUT");
    assert_eq!(requests[0].header("authorization"), Some(&*auth(WRITER)));
    assert!(
        requests
            .iter()
            .all(|r| r.headers.iter().all(|(n, _)| *n == n.to_ascii_lowercase()))
    );
}

#[test]
fn drop_delay_and_hold_faults() {
    let e = emulator();
    e.push_faults("GET", "/api/v1/", vec![Fault::Drop]);
    assert!(try_send(&e.url(), "GET", "/api/v1/packages/platform", &[], b"").is_err());

    e.push_faults(
        "GET",
        "/api/v1/",
        vec![Fault::Delay(Duration::from_millis(300))],
    );
    let started = Instant::now();
    assert_eq!(get(&e, "/api/v1/packages/platform", WRITER).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let gate = Gate::new();
    e.push_faults("PUT", "/generic/", vec![Fault::Hold(gate.clone())]);
    let url = e.url();
    let held = std::thread::spawn(move || {
        send(
            &url,
            "PUT",
            FILE,
            &[("Authorization", &auth(WRITER))],
            b"late",
        )
    });
    assert!(gate.wait_for_arrival(Duration::from_secs(10)));
    // While it is held, another request goes through.
    assert_eq!(
        put(
            &e,
            "/api/packages/platform/generic/pkg/1.0/first.bin",
            WRITER,
            b"x"
        )
        .status,
        201
    );
    assert!(
        e.files("platform", "pkg", "1.0")
            .iter()
            .all(|f| f.name != "file.bin")
    );
    gate.release();
    assert_eq!(held.join().unwrap().status, 201);
    assert_eq!(e.files("platform", "pkg", "1.0").len(), 2);
}

#[test]
fn unknown_routes_and_methods() {
    let e = emulator();
    assert_eq!(get(&e, "/api/v4/projects", WRITER).status, 404);
    assert_api(
        &get(&e, "/api/v1/nothing", WRITER),
        404,
        "The target couldn't be found.",
    );
    assert_eq!(send(&e.url(), "POST", FILE, &[], b"").status, 405);
    let version = get(&e, "/api/v1/version", WRITER).json();
    assert!(version["version"].is_string());
}

#[test]
fn dropping_the_emulator_stops_it() {
    let e = emulator();
    let url = e.url();
    drop(e);
    assert!(try_send(&url, "GET", "/api/v1/version", &[], b"").is_err());
}
