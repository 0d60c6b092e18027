//! A real S3 server for the tests: s3s-fs 0.14.1 (s3s's file-system
//! backend, which checks SigV4 signatures and answers in S3's words), run
//! inside the test process on 127.0.0.1 with a fresh root per server, like
//! the GitLab emulator: its own thread and tokio runtime, stopped when the
//! [`S3Server`] is dropped.
//!
//! Why in-process rather than `cargo install s3s-fs` from
//! `scripts/services.sh` (measured 2026-12-01 on the 2-core CI machine,
//! other builds running): `cargo install --locked s3s-fs --version 0.14.1
//! --features binary` took 3 min 58 s (335 s of CPU) before the first test
//! could start, building its own tokio, hyper, clap and tracing; as a
//! dependency of this crate, s3s and s3s-fs add 100 s of CPU to a debug
//! build that already has tokio and hyper (136 s of wall time at a load of
//! 4.8; about 50 s on two free cores), compiled alongside the rest of the
//! test build. Nothing then has to be installed, started, exported through
//! `$IMGLIFE_TEST_SERVICES_DIR/env` or stopped, each test gets a fresh root,
//! and nothing can be missing, so no test ever skips for want of it.
//!
//! Buckets are directories of the root and objects are files below them,
//! so tests can seed thousands of records by writing files
//! ([`S3Server::put_file`]) instead of making requests.
//!
//! In front of s3s-fs, where it differs from S3: a PutObject into a bucket
//! that does not exist is answered `404 NoSuchBucket` (s3s-fs would create
//! the bucket), and a GET or HEAD of a key that is a "folder" of other
//! keys `404 NoSuchKey` (s3s-fs answers 500, which rclone retries for a
//! minute). Off by default: honouring `If-Match` on DeleteObject (as AWS
//! answers a conditional delete: 412 when the ETag differs), and a hook
//! that runs just before the next DELETE is handled, to put a write exactly
//! between a checked read and the deletion.
//!
//! ListObjectsV2 answers carry each object's `ETag`, as S3's do (s3s-fs
//! leaves it out): the one a GET of the object answers with, so that the
//! read cache can be tried against this server as against S3. A file put
//! in behind the server's back ([`S3Server::put_file`]) gets the ETag of
//! its new bytes, as any write to S3 would.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use md5::Digest as _;
use tokio::sync::oneshot;

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "imglife-test-access-key";
/// Its secret.
pub const SECRET_KEY: &str = "imglife-test-SECRET-key";

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Request {
    pub method: String,
    /// As sent (percent-encoded): `/bucket/prefix/name/1.0.json`.
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub if_match: Option<String>,
}

type Hook = Box<dyn FnOnce() + Send>;

struct Front {
    record: bool,
    requests: Vec<S3Request>,
    if_match_on_delete: bool,
    before_delete: Option<Hook>,
}

/// The directory that holds the buckets: a fresh temporary one, or one
/// the caller owns.
enum Root {
    Temporary(tempfile::TempDir),
    Given(PathBuf),
}

impl Root {
    fn path(&self) -> &Path {
        match self {
            Self::Temporary(dir) => dir.path(),
            Self::Given(path) => path,
        }
    }
}

pub struct S3Server {
    url: String,
    root: Root,
    front: Arc<Mutex<Front>>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

fn lock(front: &Mutex<Front>) -> std::sync::MutexGuard<'_, Front> {
    front
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl S3Server {
    /// Starts on an ephemeral port of 127.0.0.1 with an empty root; blocks
    /// until it listens.
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().expect("s3 server: root directory");
        Self::serve(Root::Temporary(root), 0)
    }

    /// Starts on 127.0.0.1:`port` (0: ephemeral) with the buckets in
    /// `root`, which must exist and is left in place.
    pub fn start_in(root: PathBuf, port: u16) -> S3Server {
        Self::serve(Root::Given(root), port)
    }

    fn serve(root: Root, port: u16) -> S3Server {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("s3 server: cannot bind 127.0.0.1:{port}: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("s3 server: set_nonblocking: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("s3 server: local_addr: {e}"));
        let front = Arc::new(Mutex::new(Front {
            record: true,
            requests: Vec::new(),
            if_match_on_delete: false,
            before_delete: None,
        }));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let service = {
            let fs = s3s_fs::FileSystem::new(root.path()).unwrap_or_else(|e| {
                panic!("s3 server: s3s-fs on {}: {e:?}", root.path().display())
            });
            let mut builder = s3s::service::S3ServiceBuilder::new(fs);
            builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };
        let root_path = root.path().to_path_buf();
        let state = Arc::clone(&front);
        let thread = std::thread::Builder::new()
            .name("s3-server".into())
            .spawn(move || {
                // Two workers: checking signatures and writing XML take
                // CPU, and a benchmark's 16 parallel reads should not
                // queue behind one thread.
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("s3 server: runtime: {e}"));
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    tokio::select! {
                        () = accept(listener, service, state, root_path) => {}
                        _ = stopped => {}
                    }
                });
            })
            .unwrap_or_else(|e| panic!("s3 server: thread: {e}"));
        S3Server {
            url: format!("http://{address}"),
            root,
            front,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, no trailing slash: the endpoint, for
    /// `registry.url` (path-style requests).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The directory that holds the buckets.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Creates an empty bucket (a directory of the root).
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir_all(self.root.path().join(bucket)).expect("s3 server: bucket");
    }

    /// Puts an object in behind S3's back, as another writer would: the
    /// file `<root>/<bucket>/<key>`.
    pub fn put_file(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.object_path(bucket, key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("s3 server: object directory");
        }
        std::fs::write(&path, bytes).expect("s3 server: object");
        // s3s-fs keeps the ETag of the last PutObject beside the objects;
        // a write behind its back must not keep the old one.
        let _ = std::fs::remove_file(internal_info(self.root.path(), bucket, key));
    }

    /// The bytes of an object, read behind S3's back.
    pub fn file(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.object_path(bucket, key)).ok()
    }

    /// Every object key of a bucket, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let base = self.root.path().join(bucket);
        let mut keys = Vec::new();
        let mut dirs = vec![base.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(relative) = path.strip_prefix(&base) {
                    keys.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        keys.sort();
        keys
    }

    fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.path().join(bucket).join(key)
    }

    /// Whether requests are recorded (on at start): a long-running server
    /// (`s3-server`) turns it off, or they would grow without bound.
    pub fn record_requests(&self, on: bool) {
        let mut front = lock(&self.front);
        front.record = on;
        front.requests.clear();
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<S3Request> {
        lock(&self.front).requests.clone()
    }

    /// Answers DeleteObject with `If-Match` as AWS does: 412
    /// PreconditionFailed when the object's ETag (its MD5, for objects put
    /// in one piece) differs. s3s-fs alone ignores the header.
    pub fn honour_if_match_on_delete(&self, honour: bool) {
        lock(&self.front).if_match_on_delete = honour;
    }

    /// Runs `hook` just before the next DELETE is handled.
    pub fn before_next_delete(&self, hook: impl FnOnce() + Send + 'static) {
        lock(&self.front).before_delete = Some(Box::new(hook));
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(
    listener: tokio::net::TcpListener,
    service: s3s::service::S3Service,
    front: Arc<Mutex<Front>>,
    root: PathBuf,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (service, front, root) = (service.clone(), Arc::clone(&front), root.clone());
        tokio::spawn(async move {
            let handler = service_fn(move |request: Request<Incoming>| {
                let (service, front, root) = (service.clone(), Arc::clone(&front), root.clone());
                async move { Ok::<_, Infallible>(handle(&service, &front, &root, request).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    }
}

type Answer =
    Response<http_body_util::combinators::BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>>;

async fn handle(
    service: &s3s::service::S3Service,
    front: &Mutex<Front>,
    root: &Path,
    request: Request<Incoming>,
) -> Answer {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let recorded = S3Request {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        content_type: header("content-type"),
        if_match: header("if-match"),
    };
    let is_delete = request.method() == hyper::Method::DELETE;
    let (hook, honour) = {
        let mut front = lock(front);
        if front.record {
            front.requests.push(recorded.clone());
        }
        let hook = if is_delete {
            front.before_delete.take()
        } else {
            None
        };
        (hook, front.if_match_on_delete)
    };
    if let Some(hook) = hook {
        hook();
    }
    // s3s-fs answers 500 for a key that names a directory (a "folder" of
    // other keys); S3 has no such object: 404 NoSuchKey.
    if matches!(*request.method(), hyper::Method::GET | hyper::Method::HEAD) {
        let decoded = percent_decode(recorded.path.trim_start_matches('/'));
        if let Some((_, key)) = decoded.split_once('/')
            && !key.is_empty()
            && root.join(&decoded).is_dir()
        {
            return plain(
                404,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code>\
                 <Message>The specified key does not exist.</Message></Error>",
            );
        }
    }
    // s3s-fs creates a missing bucket on the first PutObject; S3 answers
    // NoSuchBucket, and so does this server.
    if request.method() == hyper::Method::PUT {
        let decoded = percent_decode(recorded.path.trim_start_matches('/'));
        if let Some((bucket, key)) = decoded.split_once('/')
            && !key.is_empty()
            && !root.join(bucket).is_dir()
        {
            return plain(
                404,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code>\
                 <Message>The specified bucket does not exist</Message></Error>",
            );
        }
    }
    if is_delete
        && honour
        && let Some(expected) = recorded.if_match.as_deref()
    {
        let decoded = percent_decode(recorded.path.trim_start_matches('/'));
        let current = std::fs::read(root.join(decoded)).ok().map(|bytes| {
            let digest = md5::Md5::digest(&bytes);
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        });
        if let Some(current) = current
            && expected.trim_matches('"') != current
        {
            return plain(
                412,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PreconditionFailed</Code>\
                 <Message>At least one of the pre-conditions you specified did not hold</Message>\
                 </Error>",
            );
        }
    }
    let listing = request.method() == hyper::Method::GET
        && recorded
            .query
            .as_deref()
            .is_some_and(|q| q.split('&').any(|p| p == "list-type=2"));
    match hyper::service::Service::call(service, request).await {
        Ok(response) if listing && response.status() == hyper::StatusCode::OK => {
            let bucket = percent_decode(recorded.path.trim_matches('/'));
            let (parts, body) = response.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) => return plain(500, &format!("s3s: {e:?}")),
            };
            let text = String::from_utf8_lossy(&body);
            let with_etags = add_etags(&text, root, &bucket);
            let mut parts = parts;
            parts.headers.remove(hyper::header::CONTENT_LENGTH);
            Response::from_parts(
                parts,
                Full::new(Bytes::from(with_etags))
                    .map_err(|never| match never {})
                    .boxed(),
            )
        }
        Ok(response) => response.map(|body| body.map_err(Into::into).boxed()),
        Err(e) => plain(500, &format!("s3s: {e:?}")),
    }
}

/// `<ETag>` after each `<Key>` of a ListBucketResult's `<Contents>`.
fn add_etags(xml: &str, root: &Path, bucket: &str) -> String {
    let mut out = String::with_capacity(xml.len() + xml.len() / 2);
    let mut rest = xml;
    while let Some(at) = rest.find("<Contents>") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let Some(end) = tail.find("</Contents>") else {
            rest = tail;
            break;
        };
        let (contents, after) = tail.split_at(end);
        rest = after;
        let key = contents
            .split_once("<Key>")
            .and_then(|(_, k)| k.split_once("</Key>"))
            .map(|(k, _)| xml_unescape(k));
        match key.and_then(|k| etag(root, bucket, &k)) {
            Some(etag) if !contents.contains("<ETag>") => {
                out.push_str(&contents.replacen(
                    "</Key>",
                    &format!("</Key><ETag>&quot;{etag}&quot;</ETag>"),
                    1,
                ));
            }
            _ => out.push_str(contents),
        }
    }
    out.push_str(rest);
    out
}

/// The ETag s3s-fs answers a GET of `key` with (unquoted): the one it kept
/// at the last PutObject, else the MD5 of the file.
fn etag(root: &Path, bucket: &str, key: &str) -> Option<String> {
    if let Ok(info) = std::fs::read(internal_info(root, bucket, key))
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(&info)
        && let Some(serde_json::Value::String(etag)) = map.get("e_tag")
    {
        return Some(etag.clone());
    }
    let bytes = std::fs::read(root.join(bucket).join(key)).ok()?;
    Some(
        md5::Md5::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// Where s3s-fs 0.14.1 keeps what it knows of an object
/// (`.bucket-<b64>.object-<b64>.internal.json` in its root, URL-safe
/// base64 without padding).
fn internal_info(root: &Path, bucket: &str, key: &str) -> PathBuf {
    root.join(format!(
        ".bucket-{}.object-{}.internal.json",
        base64_url(bucket.as_bytes()),
        base64_url(key.as_bytes())
    ))
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn plain(status: u16, body: &str) -> Answer {
    let mut response = Response::new(
        Full::new(Bytes::from(body.to_owned()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    response
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
