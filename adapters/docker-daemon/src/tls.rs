//! The client side of a daemon's mutual TLS: `ca.pem`, `cert.pem` and
//! `key.pem` of one directory (`DOCKER_CERT_PATH`, or a context's
//! `contexts/tls/<id>/docker/`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::files::{ReadError, read_small};

/// The most read of each PEM file. A certificate or a key is 1-4 KiB; even
/// a `ca.pem` holding a whole system bundle (about 220 KiB) stays below.
pub const PEM_LIMIT: u64 = 256 * 1024;

/// The certificates a TLS daemon is reached with. `Debug` and every message
/// leave the bytes out: the key must never reach a log or a terminal.
#[derive(Clone)]
pub struct TlsFiles {
    /// Where the files were read, for messages.
    pub dir: PathBuf,
    /// How the directory was chosen (`DOCKER_CERT_PATH=/certs/client`,
    /// `docker context "ci"`), for messages.
    pub label: String,
    /// `ca.pem`: the only certificates the daemon's is checked against.
    pub ca: Vec<u8>,
    /// `cert.pem` then `key.pem`: what imglife presents.
    pub identity: Vec<u8>,
}

impl fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsFiles")
            .field("dir", &self.dir)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";

impl TlsFiles {
    /// Reads and checks the three files of `dir`. An error reads
    /// `{label}: {file} {what is wrong}` and holds nothing of the files.
    pub fn read(dir: &Path, label: &str) -> Result<Self, String> {
        let read = |name: &str| match read_small(&dir.join(name), PEM_LIMIT) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(ReadError::Missing) => Ok(None),
            Err(e) => Err(format!("{label}: {name} {e}")),
        };
        let missing = |name: &str| format!("{label}: {name} cannot be read: no such file");
        let ca = read("ca.pem")?.ok_or_else(|| missing("ca.pem"))?;
        let (cert, key) = match (read("cert.pem")?, read("key.pem")?) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) => {
                return Err(format!(
                    "{label}: cert.pem and key.pem are missing: imglife reaches a daemon over \
                     TLS only with a client certificate (a daemon started with --tlsverify asks \
                     for one)"
                ));
            }
            (None, Some(_)) => return Err(missing("cert.pem")),
            (Some(_), None) => return Err(missing("key.pem")),
        };
        if !contains(&ca, CERTIFICATE) {
            return Err(format!("{label}: ca.pem holds no PEM certificate"));
        }
        if !contains(&cert, CERTIFICATE) {
            return Err(format!("{label}: cert.pem holds no PEM certificate"));
        }
        if contains(&key, "ENCRYPTED") {
            return Err(format!(
                "{label}: key.pem is encrypted (protected by a passphrase), which the docker CLI \
                 refuses too: write it decrypted (openssl pkey -in key.pem -out key.pem)"
            ));
        }
        if !contains(&key, "PRIVATE KEY-----") {
            return Err(format!("{label}: key.pem holds no PEM private key"));
        }
        let mut identity = cert;
        identity.push(b'\n');
        identity.extend_from_slice(&key);
        Ok(Self {
            dir: dir.to_owned(),
            label: label.to_owned(),
            ca,
            identity,
        })
    }
}

fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n";

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        dir
    }

    #[test]
    fn reads_the_three_files() {
        let d = dir(&[("ca.pem", CERT), ("cert.pem", CERT), ("key.pem", KEY)]);
        let tls = TlsFiles::read(d.path(), "DOCKER_CERT_PATH=/x").expect("read");
        assert_eq!(tls.ca, CERT.as_bytes());
        assert!(tls.identity.ends_with(KEY.as_bytes()));
        let debug = format!("{tls:?}");
        assert!(
            !debug.contains("SECRET") && !debug.contains("77, 73"),
            "{debug}"
        );
    }

    #[test]
    fn errors_name_the_setting_and_the_file_never_the_key() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("cert.pem", CERT), ("key.pem", KEY)],
                "DOCKER_CERT_PATH=/x: ca.pem cannot be read: no such file",
            ),
            (
                &[("ca.pem", CERT)],
                "DOCKER_CERT_PATH=/x: cert.pem and key.pem are missing",
            ),
            (
                &[("ca.pem", CERT), ("cert.pem", CERT)],
                "DOCKER_CERT_PATH=/x: key.pem cannot be read",
            ),
            (
                &[("ca.pem", "junk"), ("cert.pem", CERT), ("key.pem", KEY)],
                "DOCKER_CERT_PATH=/x: ca.pem holds no PEM certificate",
            ),
            (
                &[("ca.pem", CERT), ("cert.pem", CERT), ("key.pem", CERT)],
                "DOCKER_CERT_PATH=/x: key.pem holds no PEM private key",
            ),
            (
                &[
                    ("ca.pem", CERT),
                    ("cert.pem", CERT),
                    (
                        "key.pem",
                        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nSECRET\n-----END ENCRYPTED PRIVATE KEY-----\n",
                    ),
                ],
                "DOCKER_CERT_PATH=/x: key.pem is encrypted",
            ),
        ];
        for (files, expected) in cases {
            let d = dir(files);
            let error = TlsFiles::read(d.path(), "DOCKER_CERT_PATH=/x").expect_err("refused");
            assert!(error.starts_with(expected), "{error}");
            assert!(!error.contains("SECRET"), "{error}");
        }
    }

    #[test]
    fn an_oversized_file_is_not_read() {
        let big = "x".repeat(usize::try_from(PEM_LIMIT).expect("fits") + 1);
        let d = dir(&[("ca.pem", &big), ("cert.pem", CERT), ("key.pem", KEY)]);
        let error = TlsFiles::read(d.path(), "L").expect_err("too large");
        assert!(
            error.starts_with("L: ca.pem is larger than 256 KiB"),
            "{error}"
        );
    }
}
