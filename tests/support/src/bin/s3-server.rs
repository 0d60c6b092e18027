//! The tests' S3 server (s3s-fs 0.14.1, signatures checked) for trying
//! imglife by hand and for `scripts/bench`.
//!
//! ```text
//! s3-server --root DIR [--port PORT] [--bucket NAME] [--prefix P] [--seed N]
//! ```
//! Buckets are the directories of `DIR` (created when missing); `--bucket`
//! creates one. `--seed N` writes `N` build records of
//! `imglife_testkit::fixtures::fleet` (deterministic; the newest built
//! 2026-01-01T00:00:00Z) into it under the prefix `P`, as files, before
//! serving. Prints its URL on the first line of stdout, then serves until
//! killed. Credentials: `imglife-test-access-key` /
//! `imglife-test-SECRET-key`, any region.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;

use imglife_testkit::fixtures;
use imglife_testkit::s3::{ACCESS_KEY, S3Server, SECRET_KEY};

/// `built_at` of the newest seeded record: 2026-01-01T00:00:00Z.
const SEED_NEWEST: i64 = 1_767_225_600;
const USAGE: &str =
    "usage: s3-server --root DIR [--port PORT] [--bucket NAME] [--prefix P] [--seed N]";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn main() {
    let (mut root, mut port, mut bucket, mut prefix, mut seed) = (
        None::<PathBuf>,
        0_u16,
        None::<String>,
        String::new(),
        0_usize,
    );
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| usage())
        };
        match flag.as_str() {
            "--root" => root = Some(PathBuf::from(value())),
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--bucket" => bucket = Some(value()),
            "--prefix" => prefix = value().trim_matches('/').to_owned(),
            "--seed" => seed = value().parse().unwrap_or_else(|_| usage()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            _ => usage(),
        }
    }
    let root = root.unwrap_or_else(|| usage());
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("s3-server: {}: {e}", root.display()));
    let server = S3Server::start_in(root, port);
    server.record_requests(false);
    if let Some(bucket) = &bucket {
        server.create_bucket(bucket);
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        for spec in fixtures::fleet(seed, SEED_NEWEST) {
            let stored = spec.store();
            let key = format!("{prefix}{}/{}.json", stored.name, stored.version);
            server.put_file(bucket, &key, &stored.bytes);
        }
    } else if seed > 0 {
        usage();
    }
    println!("{}", server.url());
    eprintln!(
        "S3 server (s3s-fs): {url}, path-style, access key {ACCESS_KEY}, secret {SECRET_KEY}; \
         kill to stop",
        url = server.url()
    );
    loop {
        std::thread::park();
    }
}
