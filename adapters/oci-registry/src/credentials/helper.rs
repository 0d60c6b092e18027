//! Asking a docker credential helper (`docker-credential-<name> get`, the
//! server on stdin, `{"Username": ..., "Secret": ...}` on stdout), as the
//! docker CLI and skopeo do. The helper gets `HELPER_TIMEOUT` to answer and
//! `HELPER_OUTPUT_LIMIT` bytes of output are read at most: a helper waiting
//! for a keychain prompt nobody will answer in CI must not hang the job.

use std::io::{Read, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde::Deserialize;

pub const HELPER_TIMEOUT: Duration = Duration::from_secs(30);
/// A helper's answer is a small JSON object.
pub const HELPER_OUTPUT_LIMIT: u64 = 64 * 1024;

/// What a helper answered.
#[derive(PartialEq, Eq)]
pub enum Answer {
    Basic(String, String),
    /// The user name `<token>` marks an identity token.
    IdentityToken(String),
    /// "credentials not found": nothing stored for the server.
    NotFound,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic(user, _) => write!(f, "Basic({user}, <redacted>)"),
            Self::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
            Self::NotFound => f.write_str("NotFound"),
        }
    }
}

/// Runs `docker-credential-<name> get` for `server`. The error says what
/// went wrong without the helper's output on stdout (which may hold a
/// secret); the first line of its stderr is included, escaped and cut.
pub fn get(name: &str, server: &str) -> Result<Answer, String> {
    run(&format!("docker-credential-{name}"), server, HELPER_TIMEOUT)
}

fn run(program: &str, server: &str, timeout: Duration) -> Result<Answer, String> {
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("{program} is not on PATH")
            } else {
                format!("{program} cannot be started ({e})")
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading closes the pipe: its exit
        // status says more than the write error.
        let _ = stdin.write_all(server.as_bytes());
    }
    let (sender, receiver) = mpsc::channel();
    for (stream, is_stdout) in [
        (
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            true,
        ),
        (
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            false,
        ),
    ] {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(stream) = stream {
                let _ = stream.take(HELPER_OUTPUT_LIMIT + 1).read_to_end(&mut bytes);
            }
            let _ = sender.send((is_stdout, bytes));
        });
    }
    drop(sender);
    let (mut stdout, mut stderr) = (None, None);
    let deadline = std::time::Instant::now() + timeout;
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match receiver.recv_timeout(left) {
            Ok((true, bytes)) => stdout = Some(bytes),
            Ok((false, bytes)) => stderr = Some(bytes),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} did not answer within {} s",
                    timeout.as_secs()
                ));
            }
        }
    }
    let (stdout, stderr) = (stdout.unwrap_or_default(), stderr.unwrap_or_default());
    if stdout.len() as u64 > HELPER_OUTPUT_LIMIT || stderr.len() as u64 > HELPER_OUTPUT_LIMIT {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "{program} wrote more than {} KiB, more than a credential",
            HELPER_OUTPUT_LIMIT / 1024
        ));
    }
    let status = child
        .wait()
        .map_err(|e| format!("{program} failed ({e})"))?;
    if !status.success() {
        // docker-credential-helpers print this on stdout, exit status 1.
        let said = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_ascii_lowercase();
        if said(&stdout).contains("credentials not found")
            || said(&stderr).contains("credentials not found")
        {
            return Ok(Answer::NotFound);
        }
        let first_line: String = String::from_utf8_lossy(&stderr)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let detail = if first_line.is_empty() {
            String::new()
        } else {
            format!(": {}", imglife_domain::text::escape(first_line.trim()))
        };
        return Err(format!("{program} failed ({status}){detail}"));
    }
    #[derive(Deserialize)]
    struct Reply {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let reply: Reply = serde_json::from_slice(&stdout)
        .map_err(|_| format!("{program} answered with something that is not a credential"))?;
    Ok(match (reply.username.as_str(), reply.secret) {
        (_, secret) if secret.is_empty() => Answer::NotFound,
        ("<token>", secret) => Answer::IdentityToken(secret),
        (user, secret) => Answer::Basic(user.to_owned(), secret),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn script(dir: &std::path::Path, body: &str) -> String {
        let path = dir.join(format!("helper-{}", fastrand()));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    fn fastrand() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }

    #[test]
    fn answers_of_a_helper() {
        let _spawning = crate::credentials::tests::SPAWN.lock();
        let dir = tempfile::tempdir().unwrap();
        let t = Duration::from_secs(10);
        let ok = script(
            dir.path(),
            r#"read s; printf '{"ServerURL":"%s","Username":"u","Secret":"p"}' "$s""#,
        );
        assert_eq!(
            run(&ok, "r.io", t).unwrap(),
            Answer::Basic("u".into(), "p".into())
        );
        let token = script(
            dir.path(),
            r#"printf '{"Username":"<token>","Secret":"rt"}'"#,
        );
        assert_eq!(
            run(&token, "r.io", t).unwrap(),
            Answer::IdentityToken("rt".into())
        );
        let none = script(
            dir.path(),
            "echo 'credentials not found in native keychain'; exit 1",
        );
        assert_eq!(run(&none, "r.io", t).unwrap(), Answer::NotFound);
        let broken = script(dir.path(), "echo 'the keyring is locked' >&2; exit 3");
        let err = run(&broken, "r.io", t).unwrap_err();
        assert!(
            err.contains("exit status: 3") && err.contains("keyring is locked"),
            "{err}"
        );
        let err = run("/nonexistent/docker-credential-x", "r.io", t).unwrap_err();
        assert!(err.contains("is not on PATH"), "{err}");
        let junk = script(dir.path(), "echo 'Secret: s3cret'");
        let err = run(&junk, "r.io", t).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn a_helper_that_hangs_is_stopped() {
        let _spawning = crate::credentials::tests::SPAWN.lock();
        let dir = tempfile::tempdir().unwrap();
        let hang = script(dir.path(), "exec sleep 30");
        let started = std::time::Instant::now();
        let err = run(&hang, "r.io", Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("did not answer within"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
