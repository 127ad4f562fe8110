//! Writing a fixed file: atomically (a temporary file in the same folder,
//! then a rename), only inside the roots of the run, keeping the original's
//! owner, group, mode and extended attributes, and never over content that
//! changed since harden read it.
//!
//! The path is resolved once; from then on everything happens relative to
//! the open folder (openat-style), the file is opened without following a
//! link, and right before the rename the file in place must still be the
//! one that was read (same device and inode), so swapping a link or a
//! folder while harden works cannot redirect the write.

use crate::confine::Roots;
use rustix::fs::{AtFlags, Mode, OFlags};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

fn io(e: rustix::io::Errno) -> String {
    crate::paths::io_message(&e.into())
}

/// Write `new_text` over the file at `path`, whose content harden read as
/// `original`.
pub fn write_atomic(
    path: &Path,
    original: &str,
    new_text: &str,
    roots: &Roots,
) -> Result<(), String> {
    // Resolve once: a link inside the tree is written at its target.
    let target = std::fs::canonicalize(path).map_err(|e| crate::paths::io_message(&e))?;
    if !roots.contains(&target) {
        return Err("the file lies outside the paths harden was given; it was not written".into());
    }
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return Err("the file has no parent folder".into());
    };
    let dirfd = open_dir(dir, roots)?;
    crate::tmpfiles::sweep(&dirfd);

    // The file as it is now: a regular file, not a link, with the content
    // that was read.
    let (file, st) = {
        let fd = rustix::fs::openat(
            &dirfd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(|e| {
            if e == rustix::io::Errno::LOOP {
                "the file was replaced by a symbolic link since harden read it; it was not \
                 overwritten"
                    .to_string()
            } else {
                io(e)
            }
        })?;
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        (std::fs::File::from(fd), st)
    };
    let len = original.len() as u64;
    let regular =
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile;
    let now = match file.try_clone() {
        Ok(f) if regular => crate::fsio::read_open(f, len, len).ok(),
        _ => None,
    };
    if now.as_deref() != Some(original.as_bytes()) {
        return Err("the file changed since harden read it; it was not overwritten".into());
    }
    if st.st_nlink > 1 {
        return Err(format!(
            "the file has {} hard links; replacing it would split them (the other names would \
             keep the old text), so it was not written: fix it through a copy, or remove the \
             other links first",
            st.st_nlink
        ));
    }

    let (tmp_name, tmp_path, tmp) = create_tmp(&dirfd, dir)?;
    let result = fill_tmp(tmp, &file, &st, new_text).and_then(|()| {
        // Right before the rename: the file in place is still the one read.
        let now = rustix::fs::statat(&dirfd, name, AtFlags::SYMLINK_NOFOLLOW).map_err(io)?;
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
            return Err(
                "the file was replaced since harden read it; it was not overwritten".into(),
            );
        }
        rustix::fs::renameat(&dirfd, &tmp_name, &dirfd, name)
            .map_err(|e| format!("cannot replace the file: {}", io(e)))
    });
    if result.is_err() {
        let _ = rustix::fs::unlinkat(&dirfd, &tmp_name, AtFlags::empty());
    } else {
        // Best effort: the rename is durable once the folder is synced.
        let _ = rustix::fs::fsync(&dirfd);
    }
    crate::tmpfiles::forget(&tmp_path);
    result
}

/// Open the folder the file is in without following a link at its last
/// component, and make sure the folder opened is the one resolved (inside
/// the roots), even if a link in its path was swapped meanwhile.
fn open_dir(dir: &Path, roots: &Roots) -> Result<OwnedFd, String> {
    let fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot open the folder {}: {}", dir.display(), io(e)))?;
    let opened: Option<PathBuf> = std::fs::read_link(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&fd)
    ))
    .ok();
    let same = match opened {
        Some(p) => p == dir && roots.contains(&p),
        // Without /proc: the folder at that path now is the one opened.
        None => {
            let a = rustix::fs::fstat(&fd).map_err(io)?;
            let b = rustix::fs::stat(dir).map_err(io)?;
            (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
        }
    };
    if !same {
        return Err(
            "the folder was moved or replaced since harden read the file; it was not written"
                .into(),
        );
    }
    Ok(fd)
}

/// Create a temporary file of a fresh name in the folder, remembered for
/// removal on a signal; a name that exists already (a file someone put
/// there) is left alone and another tried.
fn create_tmp(dirfd: &OwnedFd, dir: &Path) -> Result<(String, PathBuf, std::fs::File), String> {
    crate::tmpfiles::arm();
    let mut tries = 0;
    loop {
        let name = crate::tmpfiles::name();
        let path = dir.join(&name);
        // Remembered once it is ours (a signal never removes a file
        // harden did not create), in the same step as it is created.
        let created = crate::tmpfiles::create_registered(&path, || {
            rustix::fs::openat(
                dirfd,
                &name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
        });
        match created {
            Ok(fd) => {
                return Ok((name, path, std::fs::File::from(fd)));
            }
            Err(e) => {
                tries += 1;
                if e != rustix::io::Errno::EXIST || tries == 8 {
                    return Err(format!(
                        "cannot create a temporary file in the folder: {}",
                        io(e)
                    ));
                }
            }
        }
    }
}

/// Write the new text to the temporary file, with the original's owner,
/// group, mode and extended attributes.
fn fill_tmp(
    mut tmp: std::fs::File,
    original: &std::fs::File,
    st: &rustix::fs::Stat,
    new_text: &str,
) -> Result<(), String> {
    tmp.write_all(new_text.as_bytes()).map_err(|e| {
        format!(
            "cannot write the temporary file: {}",
            crate::paths::io_message(&e)
        )
    })?;
    copy_metadata(original.as_fd(), tmp.as_fd(), st)?;
    tmp.sync_all().map_err(|e| {
        format!(
            "cannot write the temporary file: {}",
            crate::paths::io_message(&e)
        )
    })
}

/// Owner and group first (a change of owner clears set-id bits), then the
/// mode, then every extended attribute.
fn copy_metadata(from: impl AsFd, to: impl AsFd, st: &rustix::fs::Stat) -> Result<(), String> {
    let mine = rustix::fs::fstat(&to).map_err(io)?;
    if (mine.st_uid, mine.st_gid) != (st.st_uid, st.st_gid) {
        let uid = rustix::fs::Uid::from_raw(st.st_uid);
        let gid = rustix::fs::Gid::from_raw(st.st_gid);
        let owner = (mine.st_uid != st.st_uid).then_some(uid);
        rustix::fs::fchown(&to, owner, Some(gid)).map_err(|e| {
            format!(
                "cannot keep the file's owner and group ({}:{}): {}; it was not written",
                st.st_uid,
                st.st_gid,
                io(e)
            )
        })?;
    }
    rustix::fs::fchmod(&to, Mode::from_raw_mode(st.st_mode & 0o7777))
        .map_err(|e| format!("cannot keep the file's mode: {}; it was not written", io(e)))?;
    let names = match xattr_names(&from) {
        Ok(n) => n,
        // A file system without extended attributes has none to keep.
        Err(rustix::io::Errno::NOTSUP) => return Ok(()),
        Err(e) => {
            return Err(format!(
                "cannot read the file's extended attributes: {}",
                io(e)
            ))
        }
    };
    for name in names {
        let value = xattr_value(&from, &name)
            .map_err(|e| format!("cannot read the file's extended attributes: {}", io(e)))?;
        rustix::fs::fsetxattr(
            &to,
            name.as_slice(),
            &value,
            rustix::fs::XattrFlags::empty(),
        )
        .map_err(|e| {
            format!(
                "cannot keep the extended attribute {}: {}; it was not written",
                String::from_utf8_lossy(&name),
                io(e)
            )
        })?;
    }
    Ok(())
}

/// The names of a file's extended attributes.
fn xattr_names(fd: impl AsFd) -> Result<Vec<Vec<u8>>, rustix::io::Errno> {
    loop {
        let size = rustix::fs::flistxattr_query(&fd)?;
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size];
        match rustix::fs::flistxattr(&fd, &mut buf[..]) {
            Ok(n) => {
                return Ok(buf[..n]
                    .split(|&b| b == 0)
                    .filter(|s| !s.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect())
            }
            // The list grew between the two calls: ask again.
            Err(rustix::io::Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// One extended attribute's value.
fn xattr_value(fd: impl AsFd, name: &[u8]) -> Result<Vec<u8>, rustix::io::Errno> {
    loop {
        let size = rustix::fs::fgetxattr_query(&fd, name)?;
        let mut buf = vec![0u8; size];
        match rustix::fs::fgetxattr(&fd, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}
