//! A Gitea generic package registry emulator for trying imglife by hand.
//!
//! ```text
//! gitea-emulator [--token TOKEN] [--port PORT] [--seed N]
//! ```
//! Serves the organisation `platform` (private), whose member `ci` may
//! write its packages with the access token (scope `write:package`,
//! default `gitea-emulator`), and its repository `base-images`. Runs until
//! interrupted (Ctrl-C).
//!
//! `--seed N` stores `N` build records of `imglife_testkit::fixtures::fleet`
//! (deterministic; the newest built 2026-01-01T00:00:00Z) as imglife's Gitea
//! store names them, before serving, as `scripts/bench` needs for reading
//! many records.
//!
//! Nobody can read the recorded requests of this process, so they are
//! forgotten every second: a long benchmark would otherwise grow them
//! without bound.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use imglife_testkit::fixtures;
use imglife_testkit::gitea::{Access, Emulator, Scope, Visibility, record_file_name};

/// `built_at` of the newest seeded record: 2026-01-01T00:00:00Z.
const SEED_NEWEST: i64 = 1_767_225_600;
const USAGE: &str = "usage: gitea-emulator [--token TOKEN] [--port PORT] [--seed N]";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn main() {
    let mut token = String::from("gitea-emulator");
    let mut port: u16 = 0;
    let mut seed: usize = 0;
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
            "--token" => token = value(),
            "--port" => port = value().parse().unwrap_or_else(|_| usage()),
            "--seed" => seed = value().parse().unwrap_or_else(|_| usage()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            _ => usage(),
        }
    }

    let emulator = Emulator::start_on_port(port);
    emulator.add_org("platform", Visibility::Private);
    emulator.add_user("ci", Visibility::Public);
    emulator.add_member("platform", "ci", Access::Write);
    emulator.add_token(&token, "ci", Scope::WritePackage);
    emulator.add_repository("platform", "base-images");
    for spec in fixtures::fleet(seed, SEED_NEWEST) {
        let stored = spec.store();
        emulator.seed_file(
            "platform",
            &stored.name,
            &stored.version,
            &record_file_name(&stored.bytes),
            &stored.bytes,
        );
    }

    println!("{}", emulator.url());
    eprintln!(
        "Gitea emulator: {url}, organisation platform (private), user ci (write access to \
         packages), token {token} (write:package); Ctrl-C to stop",
        url = emulator.url()
    );
    eprintln!(
        "  curl -H 'Authorization: token {token}' --upload-file FILE {url}/api/packages/platform/generic/NAME/VERSION/FILE",
        url = emulator.url()
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        emulator.reset_requests();
    }
}
