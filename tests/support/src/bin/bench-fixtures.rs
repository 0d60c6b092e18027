//! Fixtures for `scripts/bench`.
//!
//! ```text
//! bench-fixtures push-image REGISTRY REPOSITORY TAG
//! ```
//! Pushes one single-platform OCI image (linux/amd64) to `REGISTRY`
//! (`host:port`, plain HTTP, no authentication) under `REPOSITORY:TAG`. Its
//! manifest carries the base and the platforms as annotations, and its
//! config the same as labels, so that both `imglife register` (manifest
//! annotations) and `skopeo inspect` (config labels) find them. Prints the
//! manifest digest.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use imglife_testkit::registry::{ImageSpec, Pusher};

/// The base image the fixture declares.
const BASE: &str = "registry.example.com/bases/alpine:3.21.3-core1.0.0";
const BASE_DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn usage() -> ! {
    eprintln!("usage: bench-fixtures push-image REGISTRY REPOSITORY TAG");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [command, registry, repository, tag] if command == "push-image" => {
            let metadata = [
                ("org.opencontainers.image.base.name", BASE),
                ("org.opencontainers.image.base.digest", BASE_DIGEST),
                ("imglife.platforms", "linux/amd64"),
            ];
            let pushed = Pusher::new(registry, repository).image(
                &ImageSpec {
                    platform: "linux/amd64",
                    labels: &metadata,
                    annotations: &metadata,
                    ..ImageSpec::default()
                },
                Some(tag),
            );
            println!("{}", pushed.digest);
        }
        _ => usage(),
    }
}
