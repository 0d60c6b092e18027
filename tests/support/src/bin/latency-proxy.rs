//! A TCP proxy adding latency and counting round trips, in front of one
//! service, for `scripts/bench` (see `imglife_testkit::latency`).
//!
//! ```text
//! latency-proxy --upstream HOST:PORT --one-way-ms N [--stats FILE]
//! ```
//! Prints `127.0.0.1:PORT` (where it listens) on the first line of stdout,
//! then forwards until killed, each chunk `N` ms later in each direction
//! (RTT = 2 × N). With `--stats FILE`, rewrites FILE atomically (temporary
//! file + rename) at start and after every accept and close:
//!
//! ```text
//! connections=3
//! round_trips=7
//! bytes_up=1234
//! bytes_down=5678
//! open=0
//! ```
//! so that a script can snapshot the counters before and after a command
//! (once `open=0`).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use imglife_testkit::latency::{Proxy, Stats};

const USAGE: &str = "usage: latency-proxy --upstream HOST:PORT --one-way-ms N [--stats FILE]";

fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn main() {
    let (mut upstream, mut one_way_ms, mut stats) = (None::<SocketAddr>, None::<u64>, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--upstream" => {
                upstream = value.to_socket_addrs().ok().and_then(|mut a| a.next());
                if upstream.is_none() {
                    eprintln!("latency-proxy: cannot resolve {value}");
                    std::process::exit(2);
                }
            }
            "--one-way-ms" => one_way_ms = Some(value.parse().unwrap_or_else(|_| usage())),
            "--stats" => stats = Some(PathBuf::from(value)),
            _ => usage(),
        }
    }
    let (Some(upstream), Some(one_way_ms)) = (upstream, one_way_ms) else {
        usage()
    };
    // The proxy calls the hook under its lock, one call at a time, in the
    // order of the updates: the file always ends on the current counters.
    let hook = stats.map(|path| {
        write_stats(&path, Stats::default(), 0);
        Box::new(move |stats: Stats, open: u64| write_stats(&path, stats, open))
            as imglife_testkit::latency::Hook
    });
    let proxy = Proxy::start_with_hook(upstream, Duration::from_millis(one_way_ms), hook)
        .unwrap_or_else(|e| {
            eprintln!("latency-proxy: {e}");
            std::process::exit(1);
        });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", proxy.addr());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}

fn write_stats(path: &PathBuf, stats: Stats, open: u64) {
    let text = format!(
        "connections={}\nround_trips={}\nbytes_up={}\nbytes_down={}\nopen={open}\n",
        stats.connections, stats.round_trips, stats.bytes_up, stats.bytes_down
    );
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        eprintln!("latency-proxy: writing {}: {e}", path.display());
    }
}
