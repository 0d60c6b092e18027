//! Reading the docker client's small files (`config.json`, a context's
//! `meta.json`, `ca.pem`, `cert.pem`, `key.pem`) with a stated limit: a
//! file that is not regular (a FIFO would block) or larger than its kind
//! can be is refused, not read.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Why a file was not read. The text never holds the file's contents.
#[derive(Debug)]
pub enum ReadError {
    Missing,
    Other(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("does not exist"),
            Self::Other(text) => f.write_str(text),
        }
    }
}

/// The bytes of `path`, at most `limit` of them.
pub fn read_small(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ReadError::Missing
        } else {
            ReadError::Other(format!("cannot be read: {e}"))
        }
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(ReadError::Other("is not a regular file".to_owned()));
    }
    if metadata.len() > limit {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    // It may have grown since it was measured.
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn too_large(limit: u64) -> ReadError {
    ReadError::Other(format!(
        "is larger than {} KiB, more than such a file holds",
        limit / 1024
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_within_the_limit_and_refuses_beyond() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").expect("write");
        assert_eq!(read_small(&path, 5).expect("read"), b"12345");
        let error = read_small(&path, 4).expect_err("too large");
        assert!(error.to_string().contains("larger than"), "{error}");
        assert!(matches!(
            read_small(&dir.path().join("none"), 4),
            Err(ReadError::Missing)
        ));
        let error = read_small(dir.path(), 4).expect_err("a directory");
        assert_eq!(error.to_string(), "is not a regular file");
    }
}
