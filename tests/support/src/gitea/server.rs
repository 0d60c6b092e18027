//! The emulator's thread, runtime and accept loops, request recording,
//! fault injection and routing.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;

use super::http::{self, Req, Resp};
use super::routes_generic::{self, Target};
use super::state::State;
use super::{Fault, RecordedRequest, faults, lock, objects, routes_api};

pub struct Handle {
    pub api_addr: SocketAddr,
    pub object_addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl Handle {
    /// Stops both accept loops and drops every open connection.
    pub fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.thread.join();
    }
}

#[derive(Clone, Copy)]
enum Origin {
    Api,
    ObjectStorage,
}

/// The error a service returns to make hyper close the connection without
/// writing a response.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injected: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

/// Binds both listeners on the caller's thread (so they are ready when this
/// returns), then serves them from a new thread with its own runtime.
pub fn spawn(state: Arc<Mutex<State>>, port: u16) -> Handle {
    let bind = |port: u16| {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("gitea emulator: cannot bind 127.0.0.1:{port}: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("gitea emulator: set_nonblocking: {e}"));
        listener
    };
    let api = bind(port);
    let objects = bind(0);
    let addr = |l: &std::net::TcpListener| {
        l.local_addr()
            .unwrap_or_else(|e| panic!("gitea emulator: local_addr: {e}"))
    };
    let (api_addr, object_addr) = (addr(&api), addr(&objects));
    let (shutdown, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("gitea-emulator".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("gitea emulator: runtime: {e}"));
            runtime.block_on(async move {
                let api = tokio::net::TcpListener::from_std(api);
                let objects = tokio::net::TcpListener::from_std(objects);
                let (Ok(api), Ok(objects)) = (api, objects) else {
                    return;
                };
                tokio::select! {
                    _ = accept_loop(api, Arc::clone(&state), Origin::Api) => {}
                    _ = accept_loop(objects, state, Origin::ObjectStorage) => {}
                    _ = stopped => {}
                }
            });
            // Dropping the runtime cancels every connection task.
        })
        .unwrap_or_else(|e| panic!("gitea emulator: thread: {e}"));
    Handle {
        api_addr,
        object_addr,
        shutdown,
        thread,
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>, origin: Origin) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&state), origin, req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    origin: Origin,
    req: Request<Incoming>,
) -> Result<Resp, DropConnection> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let raw_query = req.uri().query().map(str::to_owned);
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let recorded = RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: raw_query.clone(),
        headers: headers.clone(),
    };
    let fault = {
        let mut s = lock(&state);
        match origin {
            Origin::Api => {
                s.requests.push(recorded);
                s.faults.take(&method, &path)
            }
            Origin::ObjectStorage => {
                s.object_requests.push(recorded);
                s.object_faults.take(&method, &path)
            }
        }
    };
    // The body is read before a fault is answered so that the client is not
    // cut off mid-upload by a reset: it sees the fault, not a broken pipe.
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(DropConnection),
    };
    match fault {
        Some(Fault::Drop) => return Err(DropConnection),
        Some(Fault::Status { code, retry_after }) => {
            return Ok(faults::status_response(code, retry_after.as_deref()));
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Hold(gate)) => gate.pass().await,
        None => {}
    }
    let req = Req {
        method,
        path,
        query: http::parse_query(raw_query.as_deref()),
        headers,
        body,
    };
    let mut s = lock(&state);
    Ok(match origin {
        Origin::Api => dispatch(&mut s, &req),
        Origin::ObjectStorage => objects::handle(&s, &req),
    })
}

fn method_not_allowed() -> Resp {
    http::http_error(405, "Method Not Allowed")
}

/// Splits the raw path after `prefix` into decoded segments, trailing
/// slashes stripped (Gitea's router strips them).
fn segments(rest: &str) -> Vec<String> {
    rest.trim_end_matches('/')
        .split('/')
        .map(http::percent_decode)
        .collect()
}

fn dispatch(s: &mut State, req: &Req) -> Resp {
    let m = req.method.as_str();
    let get = req.is_get();
    if let Some(rest) = req.path.strip_prefix("/api/packages/") {
        let seg = segments(rest);
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        return match seg.as_slice() {
            [owner, "generic", name, version] => {
                let t = target(owner, name, version);
                match m {
                    "DELETE" => routes_generic::delete_version(s, req, &t),
                    _ => method_not_allowed(),
                }
            }
            [owner, "generic", name, version, file] => {
                let t = target(owner, name, version);
                match m {
                    "PUT" => routes_generic::put(s, req, &t, file),
                    "DELETE" => routes_generic::delete_file(s, req, &t, file),
                    _ if get => routes_generic::get(s, req, &t, file),
                    _ => method_not_allowed(),
                }
            }
            _ => http::plain(404, "Not found.\n"),
        };
    }
    if let Some(rest) = req.path.strip_prefix("/api/v1/") {
        let seg = segments(rest);
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        return match seg.as_slice() {
            ["version"] if get => http::json(200, &serde_json::json!({ "version": "1.24.0" })),
            ["packages", owner] if get => routes_api::list(s, req, owner),
            ["packages", owner, kind, name, version] => match m {
                "DELETE" => routes_api::delete(s, req, owner, kind, name, version),
                _ if get => routes_api::show(s, req, owner, kind, name, version),
                _ => method_not_allowed(),
            },
            ["packages", owner, kind, name, version, "files"] if get => {
                routes_api::files(s, req, owner, kind, name, version)
            }
            ["packages", owner, kind, name, "-", "link", repo] if m == "POST" => {
                routes_api::link(s, req, owner, kind, name, repo)
            }
            _ => routes_api::not_found(s),
        };
    }
    http::http_error(404, "404 page not found")
}

fn target(owner: &str, name: &str, version: &str) -> Target {
    Target {
        owner: owner.to_owned(),
        name: name.to_owned(),
        version: version.to_owned(),
    }
}
