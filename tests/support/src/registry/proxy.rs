//! A counting HTTP proxy in front of a registry: records every request it
//! forwards (before the answer goes back, so a finished client run has all
//! its requests recorded) and can answer the first requests with a fault.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use super::http::find;

pub struct CountingProxy {
    pub addr: String,
    requests: Arc<Mutex<Vec<String>>>,
    faults: Arc<Mutex<VecDeque<String>>>,
}

impl CountingProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(Mutex::new(VecDeque::new()));
        let (upstream, log, queue) = (upstream.to_owned(), requests.clone(), faults.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, log, queue) = (upstream.clone(), log.clone(), queue.clone());
                std::thread::spawn(move || serve(client, &upstream, &log, &queue));
            }
        });
        Self {
            addr,
            requests,
            faults,
        }
    }

    /// The next requests get this raw status line and headers, e.g.
    /// `503 Service Unavailable`, instead of being forwarded.
    pub fn fail_next(&self, status_and_headers: &str) {
        self.faults
            .lock()
            .unwrap()
            .push_back(status_and_headers.to_owned());
    }

    /// `METHOD /path` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    log: &Mutex<Vec<String>>,
    faults: &Mutex<VecDeque<String>>,
) {
    // Requests from the client under test have no body (GET, HEAD).
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while find(&head, b"\r\n\r\n").is_none() {
        match client.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    log.lock().unwrap().push(format!("{method} {path}"));
    if let Some(fault) = faults.lock().unwrap().pop_front() {
        let _ = write!(
            client,
            "HTTP/1.1 {fault}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    // One request per connection: the client reconnects for the next one.
    let mut forwarded = String::new();
    for l in text.split("\r\n").filter(|l| !l.is_empty()) {
        if !l.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(l);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    if server.write_all(forwarded.as_bytes()).is_err() {
        return;
    }
    let _ = std::io::copy(&mut server, &mut client);
}
