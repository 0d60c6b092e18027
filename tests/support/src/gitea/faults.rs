//! Queued faults, matched by method and path substring.

use std::collections::VecDeque;

use super::Fault;
use super::http::{self, Resp};

struct Queue {
    method: String,
    path_contains: String,
    faults: VecDeque<Fault>,
}

#[derive(Default)]
pub struct FaultQueues {
    queues: Vec<Queue>,
}

impl FaultQueues {
    pub fn push(&mut self, method: &str, path_contains: &str, faults: Vec<Fault>) {
        self.queues.push(Queue {
            method: method.to_ascii_uppercase(),
            path_contains: path_contains.to_owned(),
            faults: faults.into(),
        });
    }

    /// The next fault for this request, consumed from the first matching
    /// queue that still has one.
    pub fn take(&mut self, method: &str, path: &str) -> Option<Fault> {
        let method = method.to_ascii_uppercase();
        let queue = self.queues.iter_mut().find(|q| {
            !q.faults.is_empty()
                && (q.method.is_empty() || q.method == "*" || q.method == method)
                && path.contains(&q.path_contains)
        })?;
        let fault = queue.faults.pop_front();
        self.queues.retain(|q| !q.faults.is_empty());
        fault
    }
}

/// The response of a `Fault::Status`: plain text, as a reverse proxy or
/// Gitea's own 500 page for API clients would send.
pub fn status_response(code: u16, retry_after: Option<&str>) -> Resp {
    let mut resp = http::http_error(code, &http::status_line(code));
    if let Some(value) = retry_after {
        http::set_header(&mut resp, "retry-after", value);
    }
    resp
}
