//! A GitLab generic package registry emulator for trying imglife by hand.
//!
//! ```text
//! gitlab-emulator [--token TOKEN] [--port PORT]
//! ```
//! Serves project 1 `group/project` (private), whose Maintainer `dev` owns
//! the personal access token (scope `api`, default `glpat-emulator`). Runs
//! until interrupted (Ctrl-C).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use imglife_testkit::gitlab::{Emulator, Role, Scope, Visibility};

fn usage() -> ! {
    eprintln!("usage: gitlab-emulator [--token TOKEN] [--port PORT]");
    std::process::exit(2);
}

fn main() {
    let mut token = String::from("glpat-emulator");
    let mut port: u16 = 0;
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
            "-h" | "--help" => {
                println!("usage: gitlab-emulator [--token TOKEN] [--port PORT]");
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
        std::thread::park();
    }
}
