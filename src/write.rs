//! Writing a fixed file: atomically (a temporary file in the same directory,
//! then a rename), with the original's permissions, through a symlink to its
//! target, and never over content that changed since harden read it.

use std::io::Write;
use std::path::Path;

pub fn write_atomic(path: &Path, original: &str, new_text: &str) -> Result<(), String> {
    // Write the link's target so the link itself stays a link.
    let target = std::fs::canonicalize(path).map_err(|e| crate::discover::io_message(&e))?;
    let dir = target.parent().ok_or("the file has no parent directory")?;
    let meta = std::fs::metadata(&target).map_err(|e| crate::discover::io_message(&e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".harden-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| {
            format!(
                "cannot create a temporary file in {}: {}",
                dir.display(),
                crate::discover::io_message(&e)
            )
        })?;
    tmp.write_all(new_text.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| {
            format!(
                "cannot write the temporary file: {}",
                crate::discover::io_message(&e)
            )
        })?;
    std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(|e| {
        format!(
            "cannot copy the file's permissions: {}",
            crate::discover::io_message(&e)
        )
    })?;
    // The file may have changed while harden worked: never overwrite newer content.
    match std::fs::read(&target) {
        Ok(now) if now == original.as_bytes() => {}
        Ok(_) => {
            return Err("the file changed since harden read it; it was not overwritten".into())
        }
        Err(e) => return Err(crate::discover::io_message(&e)),
    }
    tmp.persist(&target).map_err(|e| {
        format!(
            "cannot replace the file: {}",
            crate::discover::io_message(&e.error)
        )
    })?;
    Ok(())
}
