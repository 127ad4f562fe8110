//! Reading the files harden is given, safely: every file is opened without
//! blocking (a FIFO must not hang the run), checked to be a regular file
//! (`/dev/zero` is a device), and read only up to `--max-file-size` (a
//! sparse file of gigabytes is refused from its size, before anything is
//! allocated). Every read of an input goes through [`read_bytes`].

use rustix::fs::{FileType, OFlags};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The bound of this run (`--max-file-size`), shared by every reader, so
/// that manifests read deep inside the planner are bounded like the
/// compose files themselves.
static MAX_FILE_SIZE: AtomicU64 = AtomicU64::new(crate::limits::DEFAULT_MAX_FILE_SIZE);

/// An I/O error in words a user recognises, without Rust's `(os error N)`.
pub fn io_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Set the bound for the rest of the run.
pub fn set_max_file_size(bytes: u64) {
    MAX_FILE_SIZE.store(bytes, Ordering::Relaxed);
}

/// The bound in force.
pub fn max_file_size() -> u64 {
    MAX_FILE_SIZE.load(Ordering::Relaxed)
}

/// Whether `path` is a regular file (following symbolic links), asked of
/// the file system once per run: the project model and the entry-module
/// search ask the same few paths of every project many times over (a base
/// file beside each compose file, each `COPY` source), and on a tree of
/// ten thousand files those questions were a third of all system calls.
/// The answer only decides what is read: a file harden goes on to read is
/// opened and checked then, and one it writes is checked again before.
pub fn is_file(path: &Path) -> bool {
    entry_kind(path) == Some(Entry::File)
}

/// [`is_file`] for a directory.
pub fn is_dir(path: &Path) -> bool {
    entry_kind(path) == Some(Entry::Dir)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    File,
    Dir,
    Other,
}

fn entry_kind(path: &Path) -> Option<Entry> {
    type Seen = std::sync::Mutex<crate::hash::Map<std::ffi::OsString, Option<Entry>>>;
    static SEEN: std::sync::OnceLock<Seen> = std::sync::OnceLock::new();
    let seen = SEEN.get_or_init(Seen::default);
    if let Some(known) = seen
        .lock()
        .ok()
        .and_then(|m| m.get(path.as_os_str()).copied())
    {
        return known;
    }
    let kind = std::fs::metadata(path).ok().map(|m| {
        if m.is_file() {
            Entry::File
        } else if m.is_dir() {
            Entry::Dir
        } else {
            Entry::Other
        }
    });
    if let Ok(mut m) = seen.lock() {
        m.insert(path.as_os_str().to_os_string(), kind);
    }
    kind
}

/// What kind of thing a file type is, in words, for "not a regular file".
fn kind_of(t: FileType) -> Option<&'static str> {
    Some(match t {
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::CharacterDevice | FileType::BlockDevice => "a device",
        FileType::Directory => "a directory",
        FileType::Socket => "a socket",
        FileType::Symlink => "a symbolic link",
        _ => return None,
    })
}

/// Open `path` for reading without blocking and make sure it is a regular
/// file of at most `max` bytes; the open file and its size. `nofollow`
/// refuses a symbolic link as the last component.
pub fn open_regular(
    path: &Path,
    max: u64,
    nofollow: bool,
) -> Result<(std::fs::File, rustix::fs::Stat), String> {
    let mut flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    if nofollow {
        flags |= OFlags::NOFOLLOW;
    }
    let fd = rustix::fs::open(path, flags, rustix::fs::Mode::empty()).map_err(|e| {
        if nofollow && e == rustix::io::Errno::LOOP {
            "the file is a symbolic link here; it was not followed".to_string()
        } else {
            io_message(&e.into())
        }
    })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| io_message(&e.into()))?;
    check_regular(&st, max)?;
    Ok((std::fs::File::from(fd), st))
}

/// A regular file within the bound, or why not.
pub fn check_regular(st: &rustix::fs::Stat, max: u64) -> Result<(), String> {
    let t = FileType::from_raw_mode(st.st_mode);
    if t != FileType::RegularFile {
        return Err(match kind_of(t) {
            Some(kind) => format!("not a regular file: it is {kind}"),
            None => "not a regular file".to_string(),
        });
    }
    let len = u64::try_from(st.st_size).unwrap_or(0);
    if len > max {
        return Err(format!(
            "the file is {len} bytes, more than the limit of {max} (--max-file-size)"
        ));
    }
    Ok(())
}

/// The whole content of a regular file of at most `max` bytes, read from an
/// open file whose size was checked: at most one byte past the bound is
/// read, since the file may grow while it is read.
pub fn read_open(file: std::fs::File, len: u64, max: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(usize::try_from(len.min(max)).unwrap_or(0) + 1);
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_message(&e))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "the file grew past the limit of {max} bytes while it was read (--max-file-size)"
        ));
    }
    Ok(bytes)
}

/// The bytes of the regular file at `path` (links followed), bounded by
/// `max`: the one read function for every input.
pub fn read_bytes(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let (file, st) = open_regular(path, max, false)?;
    read_open(file, u64::try_from(st.st_size).unwrap_or(0), max)
}

/// A manifest or other file read beside the inputs (requirements,
/// pyproject.toml, package.json, ...): its text when it is a readable
/// regular UTF-8 file within the run's bound, else nothing (a file harden
/// cannot use is simply not evidence).
pub fn read_utf8(path: &Path) -> Option<String> {
    String::from_utf8(read_bytes(path, max_file_size()).ok()?).ok()
}

/// A source file's text (invalid UTF-8 replaced) within a bound of its
/// own, or nothing.
pub fn read_lossy_within(path: &Path, max: u64) -> Option<String> {
    let bytes = read_bytes(path, max).ok()?;
    Some(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("requirements.txt");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let e = read_bytes(&fifo, 100).unwrap_err();
        assert!(e.contains("FIFO"), "{e}");
        let e = read_bytes(Path::new("/dev/zero"), 100).unwrap_err();
        assert!(e.contains("a device"), "{e}");
        let big = dir.path().join("pyproject.toml");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(5 << 30)
            .unwrap();
        let e = read_bytes(&big, 100).unwrap_err();
        assert!(e.contains("more than the limit of 100"), "{e}");
        let ok = dir.path().join("ok");
        std::fs::write(&ok, "flask\n").unwrap();
        assert_eq!(read_bytes(&ok, 6).unwrap(), b"flask\n");
        assert!(read_bytes(&ok, 5).is_err());
    }
}
