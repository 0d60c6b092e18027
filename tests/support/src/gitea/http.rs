//! Small HTTP helpers: the request as the routes see it, percent coding,
//! query strings, and Gitea's three kinds of answers (plain text from
//! `ctx.PlainText`, `http.Error` text, and API JSON).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

pub type Resp = Response<Full<Bytes>>;

/// A request with its body already read.
pub struct Req {
    pub method: String,
    /// Raw path, still percent-encoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `ctx.FormInt`: the parameter as a number, 0 when absent or not one.
    pub fn form_int(&self, name: &str) -> i64 {
        self.param(name)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    }

    pub fn is_get(&self) -> bool {
        self.method == "GET" || self.method == "HEAD"
    }

    /// Whether the method writes (`requiredScopeLevel`).
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

/// Decodes `%XX` sequences (invalid ones are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a path segment or query value (everything but unreserved
/// characters).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses `a=1&b=x+y` into decoded pairs.
pub fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

fn with_body(status: u16, body: impl Into<Bytes>, content_type: &'static str) -> Resp {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `ctx.PlainText(status, message)`: the generic handlers' errors.
pub fn plain(status: u16, message: &str) -> Resp {
    let mut resp = with_body(status, message.to_owned(), "text/plain;charset=utf-8");
    set_header(&mut resp, "x-content-type-options", "nosniff");
    resp
}

/// `http.Error(w, message, status)` (`ctx.HTTPError`): the middlewares'
/// errors, with a final newline.
pub fn http_error(status: u16, message: &str) -> Resp {
    let mut resp = with_body(status, format!("{message}\n"), "text/plain; charset=utf-8");
    set_header(&mut resp, "x-content-type-options", "nosniff");
    resp
}

/// JSON (`ctx.JSON`).
pub fn json(status: u16, value: &Value) -> Resp {
    with_body(status, value.to_string(), "application/json;charset=utf-8")
}

pub fn empty(status: u16) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

pub fn set_header(resp: &mut Resp, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// `"<code> <reason>"`, e.g. `"503 Service Unavailable"`.
pub fn status_line(code: u16) -> String {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!("{code} {reason}")
}
