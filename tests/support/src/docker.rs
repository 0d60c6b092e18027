//! The private Docker Engine started by `scripts/services.sh`, and fixture
//! images built in it `FROM scratch` (nothing can be pulled here).

use std::path::Path;
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
