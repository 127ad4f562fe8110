//! The temporary files harden writes beside a file before renaming them
//! over it. Their names say whose they are (`.harden-<pid>-<nonce>.tmp`),
//! so that a later run recognises the ones a killed run left (older than
//! itself, from a process that is gone) and removes them; and they are
//! removed when harden is interrupted (SIGINT, SIGTERM).

use std::collections::HashSet;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::SystemTime;

const PREFIX: &str = ".harden-";
const SUFFIX: &str = ".tmp";

/// Temporary files that exist now, removed if a signal ends the run.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static HANDLERS: Once = Once::new();
static START: OnceLock<SystemTime> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// When this run started to write: files of the pattern older than this,
/// from a process that has ended, are stale.
fn start() -> SystemTime {
    *START.get_or_init(SystemTime::now)
}

/// A fresh name for a temporary file of this process.
pub fn name() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{PREFIX}{}-{nanos:08x}{n:x}{SUFFIX}", std::process::id())
}

/// The process id a temporary file's name carries, when the name is one
/// harden gives.
fn owner_pid(name: &str) -> Option<u32> {
    let middle = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (pid, nonce) = middle.split_once('-')?;
    if nonce.is_empty() || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Get ready to create temporary files: the signal handlers are installed
/// before the first one exists.
pub fn arm() {
    HANDLERS.call_once(install_handlers);
    start();
}

/// Create the temporary file `path` with `create` and remember it, as one
/// step for the signal handler: it holds the same lock while it removes
/// the files and ends the process, so a signal lands either before the
/// file exists or after it is remembered, never in between. A file that
/// `create` did not make (it failed) is not remembered.
pub fn create_registered<T, E>(path: &Path, create: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    arm();
    let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    let made = create()?;
    live.push(path.to_path_buf());
    Ok(made)
}

/// The file was renamed or removed: nothing left to clean up.
pub fn forget(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|p| p != path);
    }
}

/// On SIGINT or SIGTERM: remove the temporary files, then end the way the
/// signal would have (the lock stays held, so no new file is registered
/// meanwhile).
fn install_handlers() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("harden-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
                for p in live.iter() {
                    let _ = std::fs::remove_file(p);
                }
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                std::process::exit(128 + sig);
            }
        });
}

/// Remove the stale temporary files a killed run left in a folder: names
/// of harden's pattern, regular files, older than this run, from a process
/// that no longer runs.
pub fn sweep<Fd: AsFd>(dir: Fd) {
    // Once per folder and run: a folder of many files is listed once, not
    // once per file written in it.
    static SWEPT: OnceLock<Mutex<HashSet<(u64, u64)>>> = OnceLock::new();
    let Ok(st) = rustix::fs::fstat(&dir) else {
        return;
    };
    let id = (st.st_dev, st.st_ino);
    let first = SWEPT
        .get_or_init(Default::default)
        .lock()
        .is_ok_and(|mut swept| swept.insert(id));
    if !first {
        return;
    }
    let start = start();
    let Ok(mut entries) = rustix::fs::Dir::read_from(&dir) else {
        return;
    };
    let mut stale = Vec::new();
    while let Some(Ok(entry)) = entries.next() {
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        let Some(pid) = owner_pid(name) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        stale.push(name.to_string());
    }
    for name in stale {
        let Ok(st) = rustix::fs::statat(&dir, &name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        let regular =
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile;
        let mtime = SystemTime::UNIX_EPOCH
            + std::time::Duration::new(
                u64::try_from(st.st_mtime).unwrap_or(0),
                u32::try_from(st.st_mtime_nsec).unwrap_or(0),
            );
        if regular && mtime < start {
            let _ = rustix::fs::unlinkat(&dir, &name, rustix::fs::AtFlags::empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_process() {
        let n = name();
        assert_eq!(owner_pid(&n), Some(std::process::id()));
        assert_ne!(name(), n);
        assert_eq!(owner_pid(".harden-12-ab.tmp"), Some(12));
        for other in [".harden-abcdef.tmp", ".harden--ab.tmp", "harden-1-a.tmp"] {
            assert_eq!(owner_pid(other), None, "{other}");
        }
    }
}
