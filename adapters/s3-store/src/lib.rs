//! Build records in S3 and every S3-compatible server (MinIO, Garage,
//! Cloudflare R2, Ceph, s3s).
//!
//! The record of key `name`/`version` is the object
//! `<registry.prefix>/<name>/<version>.json` of `registry.bucket`, holding
//! the bytes `register --dry-run --output json` prints, `Content-Type:
//! application/json` (see `docs/storage.md`).
//!
//! # Library: object_store's signer and credential providers
//!
//! The store builds and sends its four requests itself (PutObject,
//! GetObject, ListObjectsV2, DeleteObject) on imglife's HTTP foundation: the
//! one client (`imglife_http::client`, trust roots read once, no
//! certificate-directory scan), the one retry policy, every body read with
//! a stated limit. Apache Arrow's `object_store` 0.14.2 (features
//! `aws-base` and `ring`, without `aws`, which would pull reqwest's default
//! TLS set-up and aws-lc) does the two parts worth a maintained library:
//! SigV4 signing (`AwsAuthorizer`, payload hash included) and the AWS
//! credential providers (STS web identity, ECS/EKS container endpoints,
//! EC2 instance metadata), which reach the network through
//! `connector.rs`, i.e. through the same client. Its `AmazonS3` store is
//! not used for requests: it would retry with its own policy, read bodies
//! without imglife's limits, report S3's error codes inside messages that
//! print request URLs, and has no `If-Match` on DeleteObject (purge's
//! check). object_store does not read the shared `~/.aws` files; those are
//! `profile.rs`.
//!
//! Measured on the project's 2-core CI machine (Debian 12, rustc 1.95,
//! 2026-12-01; other builds were running, so CPU time, user + system, is
//! the figure to compare; wall times with the load average):
//!
//! | | clean release build (CPU) | binary | start-up and one signed PUT to s3s-fs (median of 100) |
//! |---|---|---|---|
//! | scratch bin: imglife-http's client, one unsigned PUT | 184 s | 3.08 MB | 2.6 ms (refused: no write) |
//! | + object_store 0.14.2 (aws-base, ring), our connector | 265 s (+81 s) | 4.57 MB (+1.49 MB) | 4.1 ms (CPU 3.0 ms) |
//! | + aws-sdk-s3 1.157 + aws-config 1.13, no default HTTPS client, our connector | 404 s (+220 s) | 8.19 MB (+5.11 MB) | 6.3 ms (CPU 5.0 ms) |
//! | rust-s3 0.38 | not built: it needs reqwest 0.12, a second HTTP stack, and native-tls by default | | |
//!
//! (Wall times of those builds: 108 s, 170 s and 632 s at a load of 2.5 to
//! 5.5. The PUTs at a load of 1.5, `SSL_CERT_DIR` unset: set, it makes every
//! client that trusts the system roots read the whole directory, about
//! 9 ms here.) In the workspace, `cargo build --release -p imglife` from
//! clean: 291 s of CPU and 6,745,736 bytes without this crate, 371 s (+80 s,
//! +28 %) and 7,521,104 bytes (+775 KB) with it. `imglife register` into the
//! tests' s3s-fs (release `s3-server`, plain HTTP, so no trust roots are
//! loaded at all): 3.7 ms median against 10.8 ms for one `curl --aws-sigv4`
//! PUT of the same bytes (0.34x); `imglife --version` 1.4 ms.
//! `imglife app list` of 10,000 records there: median 3.9 s (s3s-fs's
//! GetObject reads each file twice, for its MD5 ETag; imglife itself used
//! 0.6 s of CPU), against 17.4 s for `rclone copy --transfers 16` of the
//! prefix (0.22x; load 2.6 to 7).
//!
//! aws-sdk-s3 would also bring profiles that assume roles and IAM Identity
//! Center; for that it costs 2.7 times object_store's build time on two
//! cores and 3.4 times its size, where the issue asks for keys, profiles
//! with keys, web identity and the metadata services, all covered here.
//! A hand-written signer would save the 80 s but own SigV4's canonical
//! forms and the credential providers' protocols.

mod api;
mod connector;
mod credentials;
mod errors;
mod profile;
mod settings;
mod store;

pub use credentials::{CredentialSource, Credentials};
pub use imglife_http::RetryPolicy;
pub use settings::{Addressing, DEFAULT_REGION, S3Settings, SettingsError};
pub use store::S3Store;
