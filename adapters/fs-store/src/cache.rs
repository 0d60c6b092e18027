//! The read cache on local disk (`cache.dir`): the records `status`,
//! `app list` and `app purge` downloaded, by store, so that the next run
//! downloads only what changed.
//!
//! One file per store, `records-<first 32 hex digits of the SHA-256 of the
//! store's identity>.jsonl`, in a directory only its owner may enter
//! (created `0700`). JSON lines: a header, then one entry per record.
//!
//! ```text
//! {"imglife_cache":1,"identity":"s3 https://s3.example.com/bucket/ci/"}
//! {"key":"registry.example.com+apps+x/1.0","version":"\"9b2c…\"","sha256":"…","document":"{\n  \"image\": …"}
//! ```
//!
//! The cache is a copy, never a source of truth, and the directory may be
//! one a CI job restores from elsewhere, so reading trusts nothing:
//!
//! * only a regular file is read, never through a link (`O_NOFOLLOW`,
//!   then `fstat`), never more than [`MAX_FILE_BYTES`], no line longer
//!   than [`MAX_LINE_BYTES`], no more lines than `max_records`;
//! * a file whose header is not this format's, or names another identity
//!   (a hash collision, a file copied from elsewhere) gives nothing;
//! * an entry is handed over only when its document hashes to its
//!   `sha256` and its key parses; anything else is skipped, so the record
//!   is downloaded again, and the rewrite at the end of the run replaces
//!   the file.
//!
//! The caller still checks every document as it checks a download.
//!
//! Writing goes to a temporary file (`0600`) in the directory, renamed
//! over the cache only when complete: a concurrent run sees the old or the
//! new file, and of two runs writing at once the last rename wins, whole.
//! The file is not synced: after a crash, a truncated or empty cache is
//! read as "nothing cached" and rebuilt.
//!
//! Nothing secret goes in: the identity is built by the store without
//! credentials, versions are ETags or file metadata, and documents are the
//! records themselves.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use imglife_domain::RecordKey;
use imglife_domain::ports::{CacheWriter, Cached, RecordCache, Version};
use serde::{Deserialize, Serialize};

use crate::read::show;

/// The format this build reads and writes; a file of another is ignored
/// (and replaced).
pub const FORMAT: u32 = 1;
/// The longest line read: an entry holds a record (a few hundred bytes, a
/// few KiB with many custom fields), escaped once more as a JSON string.
/// Longer entries are not written, so such a record is downloaded on each
/// run rather than cached.
pub const MAX_LINE_BYTES: usize = 256 * 1024;
/// The most of a cache file read: 100,000 records of ~1 KiB are ~100 MiB.
/// Reading streams (one line at a time), so this bounds time, not memory.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;

/// The records cache in one directory.
#[derive(Debug, Clone)]
pub struct FsCache {
    dir: PathBuf,
    max_records: usize,
}

#[derive(Serialize, Deserialize)]
struct Header {
    imglife_cache: u32,
    identity: String,
}

#[derive(Deserialize)]
struct Line {
    key: String,
    version: String,
    sha256: String,
    document: String,
}

#[derive(Serialize)]
struct LineRef<'a> {
    key: String,
    version: &'a str,
    sha256: String,
    document: &'a str,
}

impl FsCache {
    /// A cache kept in `dir` (created, `0700`, at the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_records: crate::DEFAULT_MAX_RECORDS,
        }
    }

    /// At most `max` entries are read from one file
    /// (`registry.max_records`: a listing never holds more). At least 1.
    #[must_use]
    pub fn max_records(mut self, max: usize) -> Self {
        self.max_records = max.max(1);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the cache of `identity`.
    pub fn file_of(&self, identity: &str) -> PathBuf {
        let digest = sha256_hex(identity.as_bytes());
        self.dir.join(format!("records-{}.jsonl", &digest[..32]))
    }

    fn read_file(&self, identity: &str, found: &mut dyn FnMut(Cached)) -> io::Result<Tally> {
        let path = self.file_of(identity);
        let file = open_regular(&path)?;
        let mut lines = Lines::new(BufReader::new(file.take(MAX_FILE_BYTES)));
        let mut tally = Tally::default();
        let header = match lines.next()? {
            Some(Some(line)) => serde_json::from_slice::<Header>(&line).ok(),
            _ => None,
        };
        match header {
            Some(h) if h.imglife_cache == FORMAT && h.identity == identity => {}
            _ => {
                tracing::debug!(
                    "ignoring the read cache {}: another format or another store's",
                    show(&path)
                );
                tally.foreign = true;
                return Ok(tally);
            }
        }
        while let Some(line) = lines.next()? {
            if tally.good + tally.bad >= self.max_records {
                tally.bad += 1;
                break;
            }
            match line.as_deref().and_then(entry) {
                Some(cached) => {
                    tally.good += 1;
                    found(cached);
                }
                None => tally.bad += 1,
            }
        }
        if lines.truncated {
            tally.bad += 1;
        }
        Ok(tally)
    }
}

#[derive(Debug, Default)]
struct Tally {
    good: usize,
    bad: usize,
    foreign: bool,
}

/// The entry of one line, when it is whole and its document is the one
/// its checksum was made of.
fn entry(line: &[u8]) -> Option<Cached> {
    let line: Line = serde_json::from_slice(line).ok()?;
    if sha256_hex(line.document.as_bytes()) != line.sha256 {
        return None;
    }
    let (name, version) = line.key.split_once('/')?;
    let key = RecordKey::from_parts(name, version).ok()?;
    if line.version.is_empty() {
        return None;
    }
    Some(Cached {
        key,
        version: Version::new(line.version),
        document: line.document.into_bytes(),
    })
}

impl RecordCache for FsCache {
    fn read(&self, identity: &str, found: &mut dyn FnMut(Cached)) {
        match self.read_file(identity, found) {
            Ok(tally) if tally.bad > 0 => tracing::info!(
                "the read cache {} had {} entries that were not intact; those records are \
                 downloaded again",
                show(&self.file_of(identity)),
                tally.bad
            ),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::info!(
                "not using the read cache {}: {e}",
                show(&self.file_of(identity))
            ),
        }
    }

    fn rewrite(&self, identity: &str) -> Result<Box<dyn CacheWriter>, String> {
        let fail = |what: &str, path: &Path, e: io::Error| {
            format!("cannot {what} {} (cache.dir): {e}", show(path))
        };
        create_private_dir(&self.dir).map_err(|e| fail("create", &self.dir, e))?;
        let target = self.file_of(identity);
        // tempfile creates the file 0600, with O_EXCL: never through a link.
        let temp = tempfile::Builder::new()
            .prefix(".records-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| fail("create a temporary file in", &self.dir, e))?;
        let mut writer = FsCacheWriter {
            out: BufWriter::new(temp),
            target,
        };
        let header = serde_json::to_vec(&Header {
            imglife_cache: FORMAT,
            identity: identity.to_owned(),
        })
        .map_err(|e| e.to_string())?;
        writer
            .line(&header)
            .map_err(|e| fail("write", &writer.target, e))?;
        Ok(Box::new(writer))
    }
}

struct FsCacheWriter {
    out: BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
}

impl FsCacheWriter {
    fn line(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.out.write_all(b"\n")
    }
}

impl CacheWriter for FsCacheWriter {
    fn write(&mut self, key: &RecordKey, version: &Version, document: &[u8]) -> Result<(), String> {
        // A record is UTF-8 JSON; bytes that are not, or an entry too long
        // to be read back, are left out (downloaded on each run).
        let Ok(text) = std::str::from_utf8(document) else {
            return Ok(());
        };
        let line = serde_json::to_vec(&LineRef {
            key: format!("{}/{}", key.name(), key.version()),
            version: version.as_str(),
            sha256: sha256_hex(document),
            document: text,
        })
        .map_err(|e| e.to_string())?;
        if line.len() > MAX_LINE_BYTES {
            return Ok(());
        }
        self.line(&line)
            .map_err(|e| format!("cannot write {}: {e}", show(&self.target)))
    }

    fn commit(self: Box<Self>) -> Result<(), String> {
        let target = self.target;
        let temp = self
            .out
            .into_inner()
            .map_err(|e| format!("cannot write {}: {}", show(&target), e.error()))?;
        temp.persist(&target)
            .map_err(|e| format!("cannot replace {}: {}", show(&target), e.error))?;
        Ok(())
    }
}

/// `dir` and its missing parents; the directory itself `0700` when it is
/// created here (an existing one is left as its owner made it).
fn create_private_dir(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::create_dir_all(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Opens `path` for reading only if it is a regular file, never through a
/// link and never blocking (a FIFO planted in its place).
fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// Lines of at most `MAX_LINE_BYTES`: a longer one is skipped to its end
/// without being held (`Some(None)`), so a file without line breaks
/// cannot make the reader allocate more.
struct Lines<R> {
    reader: R,
    /// The input ended inside a line (a cut-short file).
    truncated: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Self {
            reader,
            truncated: false,
        }
    }

    /// `None` at the end; `Some(None)` for a line that was too long.
    fn next(&mut self) -> io::Result<Option<Option<Vec<u8>>>> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let buffer = match self.reader.fill_buf() {
                Ok(buffer) => buffer,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buffer.is_empty() {
                if line.is_empty() && !too_long {
                    return Ok(None);
                }
                // No final line break: a file cut short; its last line
                // is not trusted.
                self.truncated = true;
                return Ok(None);
            }
            let (chunk, end) = match buffer.iter().position(|b| *b == b'\n') {
                Some(at) => (&buffer[..at], Some(at + 1)),
                None => (buffer, None),
            };
            if !too_long {
                if line.len() + chunk.len() > MAX_LINE_BYTES {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            let used = end.unwrap_or(buffer.len());
            self.reader.consume(used);
            if end.is_some() {
                return Ok(Some((!too_long).then_some(line)));
            }
        }
    }
}

/// The lower-case hex SHA-256 of `bytes` (ring, built for rustls anyway).
fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest.as_ref() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests;
