//! A client from `imglife_http::client` speaks HTTP/2 to a server that
//! offers it over TLS (ALPN), and HTTP/1.1 to one that does not: against
//! the tests' registries (Debian's `docker-registry`, whose Go server
//! offers `h2` on HTTPS), started by `scripts/services.sh`.
//!
//! The HTTPS registry's certificate is signed by a test CA that only
//! `SSL_CERT_FILE` makes trusted, and the trust roots are read once per
//! process: each check runs in a child process (this test binary, one test
//! selected) with the variables it needs.

use std::process::Command;
use std::time::Duration;

use imglife_http::{ClientOptions, Transport};

/// Set in the child: the URL to request.
const URL: &str = "IMGLIFE_HTTP_TEST_URL";
/// Set in the child: the HTTP version expected, as `reqwest::Version`'s
/// `Debug` prints it.
const EXPECTED: &str = "IMGLIFE_HTTP_TEST_VERSION";

fn in_ci() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    ci || std::env::var_os("IMGLIFE_TEST_SERVICES_DIR").is_some()
}

/// Runs `child_request` in a child process with `env`; panics with its
/// output unless it ran and passed.
fn run_child(url: &str, expected: &str, env: &[(&str, &str)]) {
    let exe = std::env::current_exe().expect("the test binary");
    let output = Command::new(exe)
        .args(["child_request", "--exact", "--test-threads=1"])
        .env(URL, url)
        .env(EXPECTED, expected)
        .env_remove("SSL_CERT_DIR")
        .envs(env.iter().copied())
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{url}: expected {expected}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[test]
fn https_negotiates_http2_with_a_server_that_offers_it() {
    let (Ok(tls), Ok(ca)) = (
        std::env::var("IMGLIFE_TEST_REGISTRY_TLS"),
        std::env::var("IMGLIFE_TEST_REGISTRY_TLS_CA"),
    ) else {
        assert!(
            !in_ci(),
            "IMGLIFE_TEST_REGISTRY_TLS is not set: the HTTPS registry did not start"
        );
        return;
    };
    run_child(
        &format!("https://{tls}/v2/"),
        "HTTP/2.0",
        &[("SSL_CERT_FILE", &ca)],
    );
}

#[test]
fn plain_http_stays_http1() {
    let Ok(open) = std::env::var("IMGLIFE_TEST_REGISTRY") else {
        assert!(
            !in_ci(),
            "IMGLIFE_TEST_REGISTRY is not set: the registry did not start"
        );
        return;
    };
    run_child(&format!("http://{open}/v2/"), "HTTP/1.1", &[]);
}

/// The child's side: does nothing unless `URL` is set.
#[tokio::test]
async fn child_request() {
    let (Some(url), Some(expected)) = (std::env::var_os(URL), std::env::var_os(EXPECTED)) else {
        return;
    };
    let (url, expected) = (url.to_string_lossy(), expected.to_string_lossy());
    let client = imglife_http::client(&ClientOptions::new(
        Transport::Network,
        Duration::from_secs(10),
    ))
    .expect("a client");
    // Two requests at once, then one more: all on the version negotiated.
    let (a, b) = tokio::join!(client.get(&*url).send(), client.get(&*url).send());
    let c = client.get(&*url).send().await;
    for response in [a, b, c] {
        let response = response.expect("an answer");
        assert_eq!(format!("{:?}", response.version()), expected, "{url}");
    }
}
