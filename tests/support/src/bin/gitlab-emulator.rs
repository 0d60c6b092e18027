//! A GitLab generic package registry emulator for trying imglife by hand.
//!
//! ```text
//! gitlab-emulator [--token TOKEN] [--port PORT] [--seed N]
//! ```
//! Serves project 1 `group/project` (private), whose Maintainer `dev` owns
//! the personal access token (scope `api`, default `glpat-emulator`). Runs
//! until interrupted (Ctrl-C).
//!
//! `--seed N` stores `N` build records of `imglife_testkit::fixtures::fleet`
//! (deterministic; the newest built 2026-01-01T00:00:00Z) before serving,
//! as `scripts/bench` needs for reading many records.
//!
//! Nobody can read the recorded requests of this process, so they are
//! forgotten every second: a long benchmark would otherwise grow them
//! without bound.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use imglife_domain::key::RECORD_FILE_NAME;
use imglife_testkit::fixtures;
use imglife_testkit::gitlab::{Emulator, Role, Scope, Visibility};

/// `built_at` of the newest seeded record: 2026-01-01T00:00:00Z.
const SEED_NEWEST: i64 = 1_767_225_600;

fn usage() -> ! {
    eprintln!("usage: gitlab-emulator [--token TOKEN] [--port PORT] [--seed N]");
    std::process::exit(2);
}

fn main() {
    let mut token = String::from("glpat-emulator");
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
                println!("usage: gitlab-emulator [--token TOKEN] [--port PORT] [--seed N]");
                return;
            }
            _ => usage(),
        }
    }

    let emulator = Emulator::start_on_port(port);
    emulator.add_project(1, "group/project", Visibility::Private);
    emulator.add_user("dev");
    emulator.add_member(1, "dev", Role::Maintainer);
    emulator.add_personal_token(&token, "dev", Scope::Api);
    for spec in fixtures::fleet(seed, SEED_NEWEST) {
        let stored = spec.store();
        emulator.seed_file(
            1,
            &stored.name,
            &stored.version,
            RECORD_FILE_NAME,
            &stored.bytes,
        );
    }

    println!("{}", emulator.url());
    eprintln!(
        "GitLab emulator: API {url}/api/v4, project 1 (group/project, private), \
         user dev (Maintainer), PRIVATE-TOKEN {token}; Ctrl-C to stop",
        url = emulator.url()
    );
    eprintln!(
        "  curl -H 'PRIVATE-TOKEN: {token}' --upload-file FILE {url}/api/v4/projects/1/packages/generic/NAME/VERSION/FILE",
        url = emulator.url()
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        emulator.reset_requests();
    }
}
