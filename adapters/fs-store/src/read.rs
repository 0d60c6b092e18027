//! Reading one record file: only a regular file, never through a link,
//! never blocking, never more than a stated number of bytes.
//!
//! A FIFO opened for reading blocks until a writer comes (forever, in a
//! store nobody writes to), a device such as `/dev/zero` never ends, and a
//! symbolic link can point anywhere outside the store. So the entry is
//! looked at first without following it (`lstat`): anything but a regular
//! file is refused before it is opened. The file is then opened with
//! `O_NOFOLLOW | O_NONBLOCK`, so that an entry swapped for a link or a
//! FIFO in between is refused too (`ELOOP`) or cannot block, and the
//! opened file's own metadata (`fstat`) must again say "regular file".
//! Its size is checked against the limit before anything is read, and the
//! read itself stops one byte past the limit, so a file that grows while
//! it is read cannot make it allocate more.

use std::fs::{self, File, FileType, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use imglife_domain::text::escape;

/// Why a record file could not be read. The text names the file, what it
/// is or how large, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreadable(pub(crate) String);

/// The bytes of the regular file at `path`, `None` when there is no entry
/// there. `shown` is the path as people should read it.
pub(crate) fn regular_file(
    path: &Path,
    shown: &Path,
    limit: u64,
) -> Result<Option<Vec<u8>>, Unreadable> {
    Ok(regular_file_with_metadata(path, shown, limit)?.map(|(bytes, _)| bytes))
}

/// `regular_file`, with the metadata of the file actually opened (its
/// `fstat`, taken before reading): what the read cache files the bytes
/// under (`crate::version_of`).
pub(crate) fn regular_file_with_metadata(
    path: &Path,
    shown: &Path,
    limit: u64,
) -> Result<Option<(Vec<u8>, fs::Metadata)>, Unreadable> {
    let cannot = |e: io::Error| Unreadable(format!("cannot read {}: {e}", show(shown)));
    // Not following the entry: a link, FIFO, socket or device is named
    // without ever being opened.
    let entry = match fs::symlink_metadata(path) {
        Ok(entry) => entry,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    if !entry.file_type().is_file() {
        return Err(not_regular(path, shown, entry.file_type()));
    }
    let file = match open_no_follow(path) {
        Ok(file) => file,
        // Deleted since it was looked at: not there any more.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // Replaced by a link since it was looked at (O_NOFOLLOW).
        Err(e) if is_link_refused(&e) => {
            return Err(match fs::symlink_metadata(path) {
                Ok(now) => not_regular(path, shown, now.file_type()),
                Err(_) => cannot(e),
            });
        }
        Err(e) => return Err(cannot(e)),
    };
    // What was actually opened, whatever the entry is by now.
    let opened = file.metadata().map_err(cannot)?;
    if !opened.file_type().is_file() {
        return Err(not_regular(path, shown, opened.file_type()));
    }
    if opened.len() > limit {
        return Err(too_large(shown, limit, &opened.len().to_string()));
    }
    // The size was checked: the allocation is at most `limit` bytes.
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len()).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        // It grew while it was read: still over the limit, still refused.
        return Err(too_large(shown, limit, &format!("more than {limit}")));
    }
    Ok(Some((bytes, opened)))
}

#[cfg(unix)]
fn open_no_follow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> io::Result<File> {
    // The entry was checked to be a regular file just before.
    OpenOptions::new().read(true).open(path)
}

#[cfg(unix)]
fn is_link_refused(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_link_refused(_: &io::Error) -> bool {
    false
}

fn not_regular(path: &Path, shown: &Path, kind: FileType) -> Unreadable {
    let what = describe(path, kind);
    let advice = if kind.is_symlink() {
        "the filesystem store does not follow links; put the record file itself there, or \
         remove the link"
    } else {
        "a record is a regular file; remove it or put the record file there"
    };
    Unreadable(format!(
        "{} is {what}, not a regular file: {advice}",
        show(shown)
    ))
}

fn too_large(shown: &Path, limit: u64, size: &str) -> Unreadable {
    Unreadable(format!(
        "{} is {size} bytes, over the limit of {limit} bytes{} for a record; imglife \
         writes records of a few hundred bytes, so this is not one: remove it or put the \
         record file there",
        show(shown),
        in_mib(limit)
    ))
}

/// ` (1 MiB)` for a whole number of MiB, else nothing.
fn in_mib(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!(" ({} MiB)", bytes / MIB)
    } else {
        String::new()
    }
}

/// What a directory entry is, for people: `a FIFO (named pipe)`, `a
/// symbolic link to /dev/zero`, ...
pub(crate) fn describe(path: &Path, kind: FileType) -> String {
    if kind.is_symlink() {
        return match fs::read_link(path) {
            Ok(target) => format!("a symbolic link to {}", show(&target)),
            Err(_) => "a symbolic link".to_owned(),
        };
    }
    if kind.is_dir() {
        return "a directory".to_owned();
    }
    if kind.is_file() {
        return "a regular file".to_owned();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)".to_owned();
        }
        if kind.is_socket() {
            return "a socket".to_owned();
        }
        if kind.is_char_device() {
            return "a character device".to_owned();
        }
        if kind.is_block_device() {
            return "a block device".to_owned();
        }
    }
    "a special file".to_owned()
}

/// A path made safe for a terminal or a log line: file names are outside
/// text and may hold control characters.
pub(crate) fn show(path: &Path) -> String {
    escape(&path.display().to_string()).into_owned()
}
