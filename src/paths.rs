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

/// The order of `Path::cmp`, found on the bytes: a separator sorts before
/// any other byte, which is what comparing component by component amounts
/// to for paths that start alike (all absolute, or all under one `./` or
/// `../`) and have no `.` components after that, doubled or trailing
/// separators, as a walk yields them. Sorting the thousands of paths of a
/// large tree this way is several times cheaper than splitting every
/// comparison into components.
pub fn order(a: &Path, b: &Path) -> std::cmp::Ordering {
    let (x, y) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    let key = |c: u8| if c == b'/' { 0 } else { c };
    match x.iter().zip(y).position(|(p, q)| p != q) {
        Some(i) => key(x[i]).cmp(&key(y[i])),
        None => x.len().cmp(&y.len()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Two paths as one walk yields them: both relative, absolute, or
    /// under `./` or `../`, with names that sort around the separator
    /// (`-`, `.`, `0`, space).
    fn walked_paths() -> impl Strategy<Value = (PathBuf, PathBuf)> {
        let name = || {
            proptest::string::string_regex("[a.\\-0 ]{1,3}")
                .expect("a valid pattern")
                .prop_filter("no `.` or `..` names", |n| n != "." && n != "..")
        };
        let start = prop_oneof![Just(""), Just("/"), Just("./"), Just("../")];
        let names = || proptest::collection::vec(name(), 1..4);
        (start, names(), names()).prop_map(|(start, a, b)| {
            let path = |names: Vec<String>| PathBuf::from(format!("{start}{}", names.join("/")));
            (path(a), path(b))
        })
    }

    proptest! {
        #[test]
        fn order_is_the_order_of_paths((a, b) in walked_paths()) {
            prop_assert_eq!(order(&a, &b), a.cmp(&b), "{:?} {:?}", a, b);
        }
    }
}
