//! A misbehaving HTTP/1.1 server on 127.0.0.1, scripted by the test: what
//! an attacker or a broken proxy could answer in place of GitLab or a
//! registry.
//!
//! The test hands [`Hostile::start`] a function from the request to the
//! [`Reply`]: any status, any headers (a lying `Content-Length`,
//! `X-Total-Pages: 1000000000000000000`, an `X-Next-Page` that always points
//! on, a `Docker-Content-Digest` that does not match), and a [`Body`] that
//! may be huge (streamed, never held in memory), endless (chunks until the
//! client hangs up) or full of control characters. Every request is
//! recorded before it is answered, so once the client has exited the test
//! can assert how many requests were made, per path.
//!
//! One thread per connection, plain `std::net`; every answer closes its
//! connection (`Connection: close`). Dropping the server stops accepting
//! and ends the bodies still streaming.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path, still percent-encoded, without the query.
    pub path: String,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The value of query parameter `name` (not percent-decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }

    /// The first value of a header (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What follows the head of an answer. A reply that sets `Content-Length`
/// or `Transfer-Encoding` itself gets no framing of ours: its body is
/// written as it is, whatever the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// These bytes, with a `Content-Length` of their length.
    Bytes(Vec<u8>),
    /// `len` bytes of `x`, written 64 KiB at a time (never held in
    /// memory), chunked.
    Stream { len: u64 },
    /// Chunks of `x`, 64 KiB each, until the client hangs up.
    Endless,
}

/// One answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    /// `status` with an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::status(status)
            .header("Content-Type", "application/json")
            .body(Body::Bytes(value.to_string().into_bytes()))
    }

    /// `status` with these bytes as the body.
    pub fn bytes(status: u16, bytes: impl Into<Vec<u8>>) -> Self {
        Self::status(status).body(Body::Bytes(bytes.into()))
    }

    /// Adds a header, sent as is (after the status line, in order).
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    #[must_use]
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    fn sets(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// The running server; stops on drop.
pub struct Hostile {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

/// Bytes written per chunk of a streamed or endless body.
const CHUNK: usize = 64 * 1024;
/// The longest request head read.
const MAX_HEAD: usize = 64 * 1024;

impl Hostile {
    /// Listens on a free port of 127.0.0.1 and answers every request with
    /// `handler`'s reply.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (log, stopping) = (Arc::clone(&requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (handler, log, stopping) = (
                    Arc::clone(&handler),
                    Arc::clone(&log),
                    Arc::clone(&stopping),
                );
                std::thread::spawn(move || {
                    let _ = serve(stream, handler.as_ref(), &log, &stopping);
                });
            }
        });
        Self {
            addr,
            requests,
            stop,
        }
    }

    /// `127.0.0.1:PORT`, as an image reference's registry host.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`, as a store URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many requests had exactly this path (query aside).
    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    /// How many requests used a method other than GET (or HEAD): what
    /// could have changed a store.
    pub fn writes(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method != "GET" && r.method != "HEAD")
            .count()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one request, records it, writes the reply, closes.
fn serve(
    stream: TcpStream,
    handler: &Handler,
    log: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let reply = handler(&request);
    log.lock().unwrap_or_else(|e| e.into_inner()).push(request);
    let mut out = std::io::BufWriter::with_capacity(CHUNK + 32, stream);
    write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        reply.status,
        reason(reply.status)
    )?;
    for (name, value) in &reply.headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    let declared = reply.sets("content-length") || reply.sets("transfer-encoding");
    let chunked = !declared && !matches!(reply.body, Body::Bytes(_));
    match &reply.body {
        Body::Bytes(bytes) if !declared => write!(out, "Content-Length: {}\r\n", bytes.len())?,
        _ if chunked => out.write_all(b"Transfer-Encoding: chunked\r\n")?,
        _ => {}
    }
    out.write_all(b"Connection: close\r\n\r\n")?;
    let filler = [b'x'; CHUNK];
    let piece = |out: &mut std::io::BufWriter<TcpStream>, bytes: &[u8]| {
        if chunked {
            write!(out, "{:x}\r\n", bytes.len())?;
            out.write_all(bytes)?;
            out.write_all(b"\r\n")
        } else {
            out.write_all(bytes)
        }
    };
    match &reply.body {
        Body::Bytes(bytes) => out.write_all(bytes)?,
        Body::Stream { len } => {
            let mut left = *len;
            while left > 0 && !stop.load(Ordering::SeqCst) {
                let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                piece(&mut out, &filler[..n])?;
                left -= n as u64;
            }
        }
        Body::Endless => {
            // Until a write fails: the client hung up.
            while !stop.load(Ordering::SeqCst) {
                piece(&mut out, &filler)?;
            }
        }
    }
    if chunked {
        out.write_all(b"0\r\n\r\n")?;
    }
    out.flush()
}

/// The request head (and its body, read and dropped); `None` when the
/// client closed without sending one.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = reader
            .by_ref()
            .take((MAX_HEAD - head.len()) as u64)
            .read_until(b'\n', &mut head)?;
        if n == 0 || head.len() >= MAX_HEAD {
            return Ok(None);
        }
        if &head[before..] == b"\r\n" || &head[before..] == b"\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let method = first.next().unwrap_or_default().to_owned();
    let target = first.next().unwrap_or_default();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let request = Request {
        method,
        path,
        query,
        headers,
    };
    let length: u64 = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink())?;
    Ok(Some(request))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// `sha512:<hex>` of `data`, as a registry would name it.
pub fn sha512(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA512, data);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha512:{hex}")
}
