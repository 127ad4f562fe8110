//! Paths and files as harden shows and reads them: the name a user sees,
//! I/O errors in a user's words, and reading text within a size limit.

use crate::error::FileError;
use std::path::{Path, PathBuf};

/// The path shown to a user and in diffs: relative to the working directory.
pub fn display_path(path: &Path) -> String {
    let rel = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    };
    let rel = rel.to_string_lossy();
    // Only Windows separates with `\`; elsewhere it is part of a name, and
    // a patch that changed it would name another file.
    if cfg!(windows) {
        rel.replace('\\', "/")
    } else {
        rel.into_owned()
    }
}

/// The path with symlinks and `..` resolved, or as given when it cannot be.
pub fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `a/./b/../c` → `a/c`, lexically, so paths shown to users stay short.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

pub use crate::fsio::io_message;

/// Read a file as UTF-8 text within the size limit.
pub fn read_text(path: &Path, max_size: u64) -> Result<String, FileError> {
    let bytes = crate::fsio::read_bytes(path, max_size).map_err(FileError::at_start)?;
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = String::from_utf8_lossy(&bytes[..good]);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError {
            line,
            col,
            message: "the file is not valid UTF-8 text".into(),
        }
    })
}
