//! The private Docker Engine started by `scripts/services.sh`, and fixture
//! images built in it `FROM scratch` (nothing can be pulled here).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The daemon at `$IMGLIFE_TEST_DOCKER_HOST`, driven with the `docker` CLI
/// (legacy builder: this daemon has no buildx), with a private client
/// configuration so the machine's `~/.docker` plays no part.
pub struct Docker {
    host: String,
    config: tempfile::TempDir,
}

impl Docker {
    /// `None` outside a services run; under `CI=true` a missing daemon is
    /// a failure, not a skip.
    pub fn from_env() -> Option<Self> {
        match std::env::var("IMGLIFE_TEST_DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
        {
            Some(host) => Some(Self {
                host,
                config: tempfile::tempdir().unwrap(),
            }),
            None => {
                assert!(
                    !crate::in_ci(),
                    "IMGLIFE_TEST_DOCKER_HOST is not set in CI or under scripts/test: the Docker daemon did not start"
                );
                eprintln!("skipping: no Docker daemon (run through scripts/test)");
                None
            }
        }
    }

    /// `unix:///.../docker.sock`
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The same daemon's TLS listener. Under `CI=true` (or `scripts/test`)
    /// its absence is a failure.
    pub fn tls(&self) -> Option<TlsDaemon> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (
            get("IMGLIFE_TEST_DOCKER_TLS_HOST"),
            get("IMGLIFE_TEST_DOCKER_CERT_PATH"),
            get("IMGLIFE_TEST_DOCKER_OTHER_CA"),
        ) {
            (Some(host), Some(cert_path), Some(other_ca)) => Some(TlsDaemon {
                host,
                cert_path: PathBuf::from(cert_path),
                other_ca: PathBuf::from(other_ca),
            }),
            _ => {
                assert!(
                    !crate::in_ci(),
                    "IMGLIFE_TEST_DOCKER_TLS_HOST, _CERT_PATH or _OTHER_CA is not set in CI or \
                     under scripts/test: the daemon's TLS listener did not start"
                );
                eprintln!(
                    "skipping: no TLS listener of the Docker daemon (run through scripts/test)"
                );
                None
            }
        }
    }

    fn docker(&self) -> Command {
        let mut command = Command::new("docker");
        command
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.config.path())
            .env("DOCKER_BUILDKIT", "0");
        command
    }

    fn run(&self, args: &[&str], dir: Option<&Path>) -> String {
        let mut command = self.docker();
        command.args(args);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "docker {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Builds `tag` from scratch with `labels` and one small file (so that
    /// two builds with different labels are different images).
    pub fn build(&self, tag: &str, labels: &[(&str, &str)]) {
        let context = tempfile::tempdir().unwrap();
        std::fs::write(context.path().join("content"), tag).unwrap();
        let mut dockerfile = String::from("FROM scratch\n");
        for (key, value) in labels {
            dockerfile.push_str(&format!("LABEL {key}=\"{value}\"\n"));
        }
        dockerfile.push_str("COPY content /content\n");
        std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
        self.run(&["build", "-q", "-t", tag, "."], Some(context.path()));
    }

    /// The image id (`sha256:…`) `reference` names in the daemon.
    pub fn image_id(&self, reference: &str) -> String {
        self.run(
            &["image", "inspect", "--format", "{{.Id}}", reference],
            None,
        )
        .trim()
        .to_owned()
    }

    /// `docker tag source target`.
    pub fn tag(&self, source: &str, target: &str) {
        self.run(&["tag", source, target], None);
    }

    /// `docker pull reference` (from a loopback registry: no TLS needed).
    pub fn pull(&self, reference: &str) {
        self.run(&["pull", "-q", reference], None);
    }

    /// The `RepoDigests` of `reference` in the daemon.
    pub fn repo_digests(&self, reference: &str) -> Vec<String> {
        let out = self.run(
            &[
                "image",
                "inspect",
                "--format",
                "{{json .RepoDigests}}",
                reference,
            ],
            None,
        );
        serde_json::from_str(out.trim()).unwrap()
    }

    /// Creates the docker context `name` for `host` with the TLS files of
    /// `cert_path`, and makes it current, with the docker CLI itself in
    /// the configuration directory `config`.
    pub fn create_context(&self, config: &Path, name: &str, host: &str, cert_path: &Path) {
        let endpoint = format!(
            "host={host},ca={ca},cert={cert},key={key}",
            ca = cert_path.join("ca.pem").display(),
            cert = cert_path.join("cert.pem").display(),
            key = cert_path.join("key.pem").display(),
        );
        for args in [
            vec!["context", "create", name, "--docker", endpoint.as_str()],
            vec!["context", "use", name],
        ] {
            let output = Command::new("docker")
                .env_remove("DOCKER_HOST")
                .env_remove("DOCKER_CONTEXT")
                .env("DOCKER_CONFIG", config)
                .args(&args)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "docker {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// Pushes `tag` (a loopback registry needs no TLS) and returns the
    /// digest the registry stored it under.
    pub fn push(&self, tag: &str) -> String {
        self.run(&["push", "-q", tag], None);
        let out = self.run(
            &["image", "inspect", "--format", "{{json .RepoDigests}}", tag],
            None,
        );
        let digests: Vec<String> = serde_json::from_str(out.trim()).unwrap();
        let repository = tag.rsplit_once(':').map_or(tag, |(r, _)| r);
        digests
            .into_iter()
            .find_map(|d| d.strip_prefix(&format!("{repository}@")).map(str::to_owned))
            .unwrap()
    }
}

/// The daemon's listener with mutual TLS (`dockerd --tlsverify`), as
/// GitLab's docker:dind offers on `tcp://docker:2376`.
pub struct TlsDaemon {
    /// `tcp://127.0.0.1:PORT`
    pub host: String,
    /// `ca.pem`, `cert.pem`, `key.pem` of a client the daemon accepts (the
    /// `client/` directory of a `DOCKER_TLS_CERTDIR` layout).
    pub cert_path: PathBuf,
    /// The certificate of an unrelated CA.
    pub other_ca: PathBuf,
}

impl TlsDaemon {
    /// `dir` filled with the client's files, `ca.pem` replaced by `ca`
    /// when given.
    pub fn copy_certs(&self, dir: &Path, ca: Option<&Path>) {
        std::fs::create_dir_all(dir).unwrap();
        for name in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::copy(self.cert_path.join(name), dir.join(name)).unwrap();
        }
        if let Some(ca) = ca {
            std::fs::copy(ca, dir.join("ca.pem")).unwrap();
        }
    }
}

/// The size of the manifest `reference` of `repository` in the registry
/// at `addr` (`HOST:PORT`, plain HTTP), as an index entry needs it.
pub fn manifest_size(addr: &str, repository: &str, reference: &str) -> usize {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "HEAD /v2/{repository}/manifests/{reference} HTTP/1.1\r\nHost: {addr}\r\n\
         Accept: application/vnd.docker.distribution.manifest.v2+json, \
         application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap()
}
