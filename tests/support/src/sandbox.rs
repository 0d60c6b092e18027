//! A temporary working directory and a clean environment for one run of
//! the binary, so that nothing on the test machine (an `imglife.yaml`, a
//! `CI` variable, Docker credentials) leaks into a test.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Sandbox {
    dir: tempfile::TempDir,
    /// `XDG_CACHE_HOME` of every run: the read cache lives outside the
    /// working directory, so that `files()` shows what a run did to the
    /// sandbox, not what it cached.
    cache: tempfile::TempDir,
    bin: PathBuf,
}

/// The outcome of one run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// What `Sandbox::run_measured` measured.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Peak resident set size of the binary, in KiB (GNU time's `%M`).
    pub max_rss_kib: u64,
    pub elapsed: std::time::Duration,
    /// It outlived its deadline and was killed.
    pub killed: bool,
}

impl Measured {
    /// Panics unless the run finished by itself within its deadline and
    /// under `max_mib` MiB of resident memory.
    #[track_caller]
    pub fn assert_bounded(&self, max_mib: u64) {
        assert!(!self.killed, "still running at its deadline: {self:?}");
        assert!(
            self.max_rss_kib > 0,
            "no memory figure from GNU time: {self:?}"
        );
        assert!(
            self.max_rss_kib < max_mib * 1024,
            "peak RSS {} KiB is over {max_mib} MiB",
            self.max_rss_kib
        );
    }
}

impl Run {
    fn from_output(output: &Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with the whole run when the exit code differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code; run: {self:#?}");
        self
    }
}

impl Sandbox {
    /// `bin` is the binary under test (`env!("CARGO_BIN_EXE_imglife")`).
    pub fn new(bin: &str) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            bin: PathBuf::from(bin),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `XDG_CACHE_HOME` of the runs (the read cache is `<it>/imglife`
    /// unless `cache.dir` says otherwise).
    pub fn cache_home(&self) -> &Path {
        self.cache.path()
    }

    /// A command with the sandbox as working directory and only `PATH`,
    /// `HOME` (pointing into the sandbox), `XDG_CACHE_HOME` (see
    /// `cache_home`) and `NO_COLOR` set.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CACHE_HOME", self.cache_home())
            .env("NO_COLOR", "1")
            .current_dir(self.path());
        command
    }

    /// Runs the binary with `args` and extra environment variables.
    pub fn run<I, S>(&self, args: I, env: &[(&str, &str)]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.command();
        command.args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        Run::from_output(&command.output().unwrap())
    }

    /// Runs the binary like `run`, under GNU time (`/usr/bin/time`, which
    /// `scripts/services.sh` installs), killed if it outlives `deadline`.
    /// Returns the run, its peak resident memory and its wall time, so
    /// that a test can assert both are bounded.
    pub fn run_measured<I, S>(
        &self,
        args: I,
        env: &[(&str, &str)],
        deadline: std::time::Duration,
    ) -> (Run, Measured)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let report = self.path().join(".imglife-time");
        let mut command = Command::new("/usr/bin/time");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CACHE_HOME", self.cache_home())
            .env("NO_COLOR", "1")
            .current_dir(self.path())
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&report)
            .arg(&self.bin)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let started = std::time::Instant::now();
        let child = command
            .spawn()
            .expect("/usr/bin/time runs (install GNU time: apt-get install time)");
        let id = child.id();
        // The deadline: a watcher kills the child if it is still running
        // then; the output is collected as usual either way.
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let watcher = std::thread::spawn(move || {
            if done_rx.recv_timeout(deadline).is_err() {
                let _ = Command::new("pkill")
                    .arg("-KILL")
                    .arg("-P")
                    .arg(id.to_string())
                    .status();
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(id.to_string())
                    .status();
                return true;
            }
            false
        });
        let output = child.wait_with_output().unwrap();
        let _ = done_tx.send(());
        let killed = watcher.join().unwrap_or(false);
        let elapsed = started.elapsed();
        let max_rss_kib = std::fs::read_to_string(&report)
            .ok()
            .and_then(|text| text.lines().last().and_then(|l| l.trim().parse().ok()))
            .unwrap_or(0);
        let _ = std::fs::remove_file(&report);
        (
            Run::from_output(&output),
            Measured {
                max_rss_kib,
                elapsed,
                killed,
            },
        )
    }

    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Every file below the sandbox with its bytes: compare two of these to
    /// prove that a run wrote nothing.
    pub fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        collect(self.path(), self.path(), &mut files);
        files
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // Only directories and regular files: a FIFO or device planted by a
        // test must not block the comparison.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(root, &path, files);
        } else if !kind.is_file() {
            files.insert(
                path.strip_prefix(root).unwrap().to_path_buf(),
                b"<special>".to_vec(),
            );
        } else if let Ok(bytes) = std::fs::read(&path) {
            files.insert(path.strip_prefix(root).unwrap().to_path_buf(), bytes);
        }
    }
}
