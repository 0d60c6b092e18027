//! Which auth files are read, in which order, and reading one of them.
//!
//! The order is skopeo's and podman's (containers-auth.json(5), as
//! containers/image's `getAuthFilePaths` implements it on Linux), whose last
//! file is the docker CLI's own:
//!
//! 1. `$REGISTRY_AUTH_FILE`: when set, the only file read, as with
//!    `--authfile`;
//! 2. `$XDG_RUNTIME_DIR/containers/auth.json`, or
//!    `/run/containers/<uid>/auth.json` when `XDG_RUNTIME_DIR` is unset (a
//!    `XDG_RUNTIME_DIR` naming a missing directory is warned about and the
//!    step passed over, as skopeo does);
//! 3. `${XDG_CONFIG_HOME:-$HOME/.config}/containers/auth.json`;
//! 4. the Docker config: `$DOCKER_CONFIG/config.json`, else
//!    `~/.docker/config.json`.
//!
//! A missing file is passed over. One that cannot be read, is not a regular
//! file, is larger than `AUTH_FILE_LIMIT` or does not parse is an error
//! naming it (skopeo fails on it too), never silently anonymous.

use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use imglife_domain::text::escape;

/// The most of an auth file read. `docker login` and `podman login` write
/// a few hundred bytes per registry; a megabyte is thousands of logins.
pub const AUTH_FILE_LIMIT: u64 = 1024 * 1024;

/// Which kind of file, for what is honoured in it and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `$REGISTRY_AUTH_FILE`.
    Named,
    /// A containers auth file (podman, skopeo, buildah).
    Containers,
    /// The docker CLI's `config.json`: the only kind whose `credsStore` is
    /// used (containers/image ignores it).
    Docker,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFile {
    pub path: PathBuf,
    pub kind: Kind,
}

impl AuthFile {
    /// How messages name the file: its kind and path, never its contents.
    pub fn label(&self) -> String {
        let path = self.path.display();
        match self.kind {
            Kind::Named => format!("REGISTRY_AUTH_FILE={path}"),
            Kind::Containers => format!("containers auth file {path}"),
            Kind::Docker => format!("Docker config {path}"),
        }
    }
}

/// The files to read, in order. `uid` names `/run/containers/<uid>`;
/// `is_dir` tells whether `XDG_RUNTIME_DIR` exists (injected for tests).
pub fn auth_files(
    env: &dyn Fn(&str) -> Option<String>,
    uid: Option<u32>,
    is_dir: &dyn Fn(&Path) -> bool,
) -> Vec<AuthFile> {
    if let Some(named) = env("REGISTRY_AUTH_FILE") {
        return vec![AuthFile {
            path: PathBuf::from(named),
            kind: Kind::Named,
        }];
    }
    let mut files = Vec::new();
    let containers = |path: PathBuf| AuthFile {
        path,
        kind: Kind::Containers,
    };
    match env("XDG_RUNTIME_DIR") {
        Some(runtime) if is_dir(Path::new(&runtime)) => {
            files.push(containers(Path::new(&runtime).join("containers/auth.json")));
        }
        Some(runtime) => tracing::warn!(
            "XDG_RUNTIME_DIR names {}, which is not a directory: its containers/auth.json is not \
             read (create the directory or unset XDG_RUNTIME_DIR)",
            escape(&runtime)
        ),
        None => {
            if let Some(uid) = uid {
                files.push(containers(PathBuf::from(format!(
                    "/run/containers/{uid}/auth.json"
                ))));
            }
        }
    }
    let home = env("HOME");
    let config_home = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| Path::new(h).join(".config")));
    if let Some(config_home) = config_home {
        files.push(containers(config_home.join("containers/auth.json")));
    }
    let docker = env("DOCKER_CONFIG")
        .map(|dir| Path::new(&dir).join("config.json"))
        .or_else(|| home.map(|h| Path::new(&h).join(".docker/config.json")));
    if let Some(path) = docker {
        files.push(AuthFile {
            path,
            kind: Kind::Docker,
        });
    }
    files
}

/// The uid of this process, for `/run/containers/<uid>`: the owner of
/// `/proc/self` (no `unsafe` call to `getuid`).
pub fn process_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// The bytes of `file`; `None` when it does not exist. Symbolic links are
/// followed (mounted secrets are links), but only a regular file of at
/// most `AUTH_FILE_LIMIT` bytes is read; the open never blocks on a FIFO.
pub fn read(file: &AuthFile) -> Result<Option<Vec<u8>>, String> {
    let label = file.label();
    let opened = match open_nonblocking(&file.path) {
        Ok(opened) => opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if file.kind == Kind::Named {
                tracing::warn!("{} does not exist: no credentials from it", escape(&label));
            }
            return Ok(None);
        }
        Err(e) => return Err(format!("{label} cannot be read ({e})")),
    };
    let metadata = opened
        .metadata()
        .map_err(|e| format!("{label} cannot be read ({e})"))?;
    if !metadata.is_file() {
        return Err(format!(
            "{label} is not a regular file; point the variable elsewhere or remove it"
        ));
    }
    let too_large = || {
        format!(
            "{label} is larger than {} KiB, more than an auth file holds",
            AUTH_FILE_LIMIT / 1024
        )
    };
    if metadata.len() > AUTH_FILE_LIMIT {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    opened
        .take(AUTH_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{label} cannot be read ({e})"))?;
    if bytes.len() as u64 > AUTH_FILE_LIMIT {
        return Err(too_large()); // it grew while it was read
    }
    Ok(Some(bytes))
}

fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn paths(files: &[AuthFile]) -> Vec<(String, Kind)> {
        files
            .iter()
            .map(|f| (f.path.display().to_string(), f.kind))
            .collect()
    }

    #[test]
    fn skopeos_order_then_the_docker_config() {
        let yes = |_: &Path| true;
        let files = auth_files(
            &env(&[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/1000")]),
            Some(1000),
            &yes,
        );
        assert_eq!(
            paths(&files),
            [
                (
                    "/run/user/1000/containers/auth.json".to_owned(),
                    Kind::Containers
                ),
                (
                    "/home/u/.config/containers/auth.json".to_owned(),
                    Kind::Containers
                ),
                ("/home/u/.docker/config.json".to_owned(), Kind::Docker),
            ]
        );
        // Without XDG_RUNTIME_DIR: /run/containers/<uid>; XDG_CONFIG_HOME
        // and DOCKER_CONFIG move their files.
        let files = auth_files(
            &env(&[
                ("HOME", "/home/u"),
                ("XDG_CONFIG_HOME", "/cfg"),
                ("DOCKER_CONFIG", "/dc"),
            ]),
            Some(0),
            &yes,
        );
        assert_eq!(
            paths(&files),
            [
                ("/run/containers/0/auth.json".to_owned(), Kind::Containers),
                ("/cfg/containers/auth.json".to_owned(), Kind::Containers),
                ("/dc/config.json".to_owned(), Kind::Docker),
            ]
        );
    }

    #[test]
    fn registry_auth_file_is_the_only_file_read() {
        let files = auth_files(
            &env(&[
                ("REGISTRY_AUTH_FILE", "/x/auth.json"),
                ("XDG_RUNTIME_DIR", "/run/user/0"),
                ("HOME", "/root"),
            ]),
            Some(0),
            &|_| true,
        );
        assert_eq!(paths(&files), [("/x/auth.json".to_owned(), Kind::Named)]);
        assert_eq!(files[0].label(), "REGISTRY_AUTH_FILE=/x/auth.json");
    }

    #[test]
    fn a_missing_runtime_dir_is_passed_over_not_replaced() {
        let files = auth_files(
            &env(&[("XDG_RUNTIME_DIR", "/nonexistent"), ("HOME", "/h")]),
            Some(7),
            &|_| false,
        );
        assert_eq!(
            paths(&files),
            [
                (
                    "/h/.config/containers/auth.json".to_owned(),
                    Kind::Containers
                ),
                ("/h/.docker/config.json".to_owned(), Kind::Docker),
            ]
        );
        assert!(auth_files(&env(&[]), None, &|_| true).is_empty());
    }

    #[test]
    fn reads_regular_files_within_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str| AuthFile {
            path: dir.path().join(name),
            kind: Kind::Containers,
        };
        std::fs::write(dir.path().join("ok.json"), b"{}").unwrap();
        assert_eq!(read(&file("ok.json")).unwrap(), Some(b"{}".to_vec()));
        assert_eq!(read(&file("absent.json")).unwrap(), None);
        let err = read(&file("")).unwrap_err();
        assert!(err.contains("is not a regular file"), "{err}");
        let big = vec![b' '; AUTH_FILE_LIMIT as usize + 1];
        std::fs::write(dir.path().join("big.json"), big).unwrap();
        let err = read(&file("big.json")).unwrap_err();
        assert!(
            err.contains("larger than 1024 KiB") && err.contains("big.json"),
            "{err}"
        );
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let _spawning = crate::credentials::tests::SPAWN.lock();
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("auth.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here: nothing to test
        }
        let err = read(&AuthFile {
            path: fifo,
            kind: Kind::Docker,
        })
        .unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn the_process_uid_is_known_on_linux() {
        assert!(process_uid().is_some());
    }
}
