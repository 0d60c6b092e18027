//! Why a request got no answer, in words a person can act on.
//!
//! reqwest's own message ("error sending request for url (...)") says
//! little and carries the URL; the innermost error of its source chain
//! ("Connection refused (os error 111)", "invalid peer certificate:
//! UnknownIssuer") says what happened. URLs are never part of the text, and
//! anything shaped like `scheme://user:password@` is masked, so a message
//! can be printed or logged as it is; control and bidi characters are
//! escaped (`imglife_domain::text`).

use std::error::Error;

/// What kind of failure it was, for the adapter's advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseKind {
    /// The server's certificate is not trusted (or not valid for the name).
    Certificate,
    /// No answer in time.
    Timeout,
    /// No connection: refused, unknown host, unreachable network.
    Connect,
    /// The connection broke during the exchange: reset, closed early, body
    /// cut short.
    Broken,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub kind: CauseKind,
    /// The innermost cause, credentials masked.
    pub text: String,
}

impl Cause {
    pub fn of(error: &reqwest::Error) -> Self {
        let text = innermost(error);
        let lower = text.to_ascii_lowercase();
        let kind = if lower.contains("certificate") {
            CauseKind::Certificate
        } else if error.is_timeout() {
            CauseKind::Timeout
        } else if error.is_connect() {
            CauseKind::Connect
        } else if is_broken(error) {
            CauseKind::Broken
        } else {
            CauseKind::Other
        };
        Self { kind, text }
    }

    /// Whether another attempt may succeed: a connection that broke during
    /// the exchange, or an exchange that timed out. A refused connection
    /// will not be accepted a moment later, a failed handshake or
    /// certificate check will fail again, and a connect timeout already
    /// waited as long as configured.
    pub fn is_transient(error: &reqwest::Error) -> bool {
        if error.is_builder() || error.is_redirect() {
            return false;
        }
        if error.is_connect() {
            return is_reset(error);
        }
        let text = innermost(error).to_ascii_lowercase();
        !text.contains("certificate")
    }
}

/// One sentence for a request that got no answer from `server` (e.g.
/// `GitLab at gitlab.example.com`), with the fix where there is one; the
/// stores share it so that the same failure reads the same everywhere.
pub fn no_answer(error: &reqwest::Error, server: &str, timeout: std::time::Duration) -> String {
    let cause = Cause::of(error);
    match cause.kind {
        CauseKind::Certificate => format!(
            "{server} presented a certificate imglife does not trust ({cause}); add its CA to \
             the PEM file named by SSL_CERT_FILE"
        ),
        CauseKind::Timeout => format!("{server} did not answer within {}s", timeout.as_secs()),
        CauseKind::Connect => format!("cannot connect to {server}: {cause}"),
        CauseKind::Broken | CauseKind::Other => {
            format!("the connection to {server} failed: {cause}")
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The innermost message of the chain; reqwest's own text (without its
/// URL) when the chain is empty.
fn innermost(error: &reqwest::Error) -> String {
    let mut last: &(dyn Error + 'static) = error;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = if std::ptr::addr_eq(last, error as &(dyn Error + 'static)) {
        // No source: reqwest's message, minus the URL it may carry.
        let mut bare = String::new();
        let without = reqwest::Error::to_string(error);
        bare.push_str(without.split(" for url (").next().unwrap_or(&without));
        bare
    } else {
        last.to_string()
    };
    imglife_domain::text::escape(&mask_credentials(&text)).into_owned()
}

fn is_broken(error: &reqwest::Error) -> bool {
    is_reset(error) || error.is_body() || {
        let text = innermost(error).to_ascii_lowercase();
        text.contains("connection closed") || text.contains("incomplete") || text.contains("eof")
    }
}

fn is_reset(error: &(dyn Error + 'static)) -> bool {
    let mut source: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            );
        }
        source = e.source();
    }
    false
}

/// Masks the user information of anything shaped like a URL:
/// `https://user:secret@host` becomes `https://***@host`.
pub fn mask_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | ')' | '"' | '\''))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                out.push_str(&authority[userinfo_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_masked() {
        assert_eq!(
            mask_credentials("failed for https://bob:s3cret@reg.example.com/v2/ (x)"),
            "failed for https://***@reg.example.com/v2/ (x)"
        );
        assert_eq!(
            mask_credentials("http://a@b and ftp://c:d@e"),
            "http://***@b and ftp://***@e"
        );
        assert_eq!(mask_credentials("no url here"), "no url here");
        assert_eq!(
            mask_credentials("https://reg.example.com:5000/x"),
            "https://reg.example.com:5000/x"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_named_and_not_transient() {
        // Port 1 on loopback: nothing listens there.
        let client = crate::client(&crate::ClientOptions::new(
            crate::Transport::PlainOnly,
            std::time::Duration::from_secs(5),
        ))
        .expect("client");
        let error = client
            .get("http://user:pw@127.0.0.1:1/x")
            .send()
            .await
            .expect_err("nothing listens on port 1");
        let cause = Cause::of(&error);
        assert_eq!(cause.kind, CauseKind::Connect, "{cause:?}");
        assert!(
            cause.text.to_ascii_lowercase().contains("refused"),
            "{cause}"
        );
        assert!(!cause.text.contains("pw"), "{cause}");
        assert!(!Cause::is_transient(&error));
    }
}
