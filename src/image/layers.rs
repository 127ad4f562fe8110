//! Reading an image's filesystem from its layers without unpacking it:
//! each layer tar is streamed once and only its metadata (path, type,
//! owner, mode, file capabilities) and the few small files harden reads
//! (/etc/passwd, /etc/group, entrypoint scripts) are kept. Tar paths are
//! names in a map, never used to write anything. Layers are then merged
//! bottom to top with their whiteouts applied.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};

/// Limits on what one image may make harden read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of uncompressed tar, over all layers.
    pub max_uncompressed: u64,
    /// Tar entries, over all layers.
    pub max_entries: usize,
    /// Largest file whose text is kept.
    pub max_kept_file: u64,
    /// Bytes of kept file text, over all layers.
    pub max_kept_total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_uncompressed: 16 << 30,
            max_entries: 2_000_000,
            max_kept_file: 256 << 10,
            max_kept_total: 8 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Other,
}

/// What is known of one path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Symlink or hardlink target, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The raw `security.capability` extended attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<Vec<u8>>,
}

/// Which files' text to keep while streaming.
pub trait Keep {
    fn keep(&self, path: &str) -> bool;
}

impl<F: Fn(&str) -> bool> Keep for F {
    fn keep(&self, path: &str) -> bool {
        self(path)
    }
}

/// One layer, summarised.
#[derive(Debug, Default)]
pub struct Layer {
    pub entries: Vec<(String, Meta)>,
    /// Paths removed from the layers below (`.wh.NAME`).
    pub whiteouts: Vec<String>,
    /// Directories whose lower contents are hidden (`.wh..wh..opq`).
    pub opaque: Vec<String>,
    pub texts: Vec<(String, Vec<u8>)>,
}

/// Counters shared by the layers of one image, for the limits.
#[derive(Debug, Default)]
pub struct Budget {
    pub read: u64,
    pub entries: usize,
    pub kept: u64,
}

/// A reader that fails once more than `left` bytes came through it.
pub struct Bounded<R> {
    pub inner: R,
    pub left: u64,
    pub read: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.left {
            return Err(io::Error::other(
                "the image's layers uncompress to more than the limit",
            ));
        }
        Ok(n)
    }
}

/// `./etc/passwd`, `etc/passwd` → `/etc/passwd`; `None` for a path that
/// climbs out (`..`) or is empty.
pub fn normalize(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Read one uncompressed layer tar from `reader`.
pub fn read_layer<R: Read>(
    reader: R,
    keep: &dyn Keep,
    limits: &Limits,
    budget: &mut Budget,
) -> io::Result<Layer> {
    let bounded = Bounded {
        inner: reader,
        left: limits.max_uncompressed.saturating_sub(budget.read),
        read: 0,
    };
    let mut archive = tar::Archive::new(bounded);
    let mut layer = Layer::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        budget.entries += 1;
        if budget.entries > limits.max_entries {
            return Err(io::Error::other("the image's layers have too many files"));
        }
        let raw_path = entry.path_bytes();
        let Ok(raw_path) = std::str::from_utf8(&raw_path).map(str::to_string) else {
            continue;
        };
        let Some(path) = normalize(&raw_path) else {
            continue;
        };
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let parent = if parent.is_empty() { "/" } else { parent };
        if name == ".wh..wh..opq" {
            layer.opaque.push(parent.to_string());
            continue;
        }
        if let Some(gone) = name.strip_prefix(".wh.") {
            if !gone.is_empty() {
                layer.whiteouts.push(join(parent, gone));
            }
            continue;
        }
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink,
            tar::EntryType::Link => Kind::Hardlink,
            _ => Kind::Other,
        };
        let mode = header.mode().unwrap_or(0) & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let link = entry
            .link_name_bytes()
            .and_then(|l| std::str::from_utf8(&l).ok().map(str::to_string));
        let mut capability = None;
        if let Some(exts) = entry.pax_extensions()? {
            for ext in exts.flatten() {
                if ext.key_bytes() == b"SCHILY.xattr.security.capability" {
                    capability = Some(ext.value_bytes().to_vec());
                }
            }
        }
        let size = entry.size();
        if kind == Kind::File
            && size <= limits.max_kept_file
            && budget.kept + size <= limits.max_kept_total
            && keep.keep(&path)
        {
            let mut text = Vec::with_capacity(size as usize);
            (&mut entry).take(size).read_to_end(&mut text)?;
            budget.kept += text.len() as u64;
            layer.texts.push((path.clone(), text));
        }
        layer.entries.push((
            path,
            Meta {
                kind,
                mode,
                uid,
                gid,
                link,
                capability,
            },
        ));
    }
    // What follows the end-of-archive blocks still counts and is drained,
    // so that a digest computed over the stream sees all of it.
    let mut inner = archive.into_inner();
    io::copy(&mut inner, &mut io::sink())?;
    budget.read += inner.read;
    Ok(layer)
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The merged filesystem of an image (metadata and kept texts).
#[derive(Debug, Default)]
pub struct Fs {
    pub files: BTreeMap<String, Meta>,
    pub texts: BTreeMap<String, Vec<u8>>,
}

fn remove_tree<V>(map: &mut BTreeMap<String, V>, dir: &str, keep_dir: bool) {
    let prefix = if dir == "/" {
        "/".to_string()
    } else {
        format!("{dir}/")
    };
    let under: Vec<String> = map
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in under {
        map.remove(&k);
    }
    if !keep_dir {
        map.remove(dir);
    }
}

impl Fs {
    /// Put `layer` on top.
    pub fn apply(&mut self, layer: Layer) {
        for d in &layer.opaque {
            remove_tree(&mut self.files, d, true);
            remove_tree(&mut self.texts, d, true);
        }
        for w in &layer.whiteouts {
            remove_tree(&mut self.files, w, false);
            remove_tree(&mut self.texts, w, false);
        }
        let mut replaced = BTreeSet::new();
        for (path, meta) in layer.entries {
            // A file replaced by one whose text was not kept loses its old text.
            if meta.kind != Kind::Dir {
                replaced.insert(path.clone());
            }
            self.files.insert(path, meta);
        }
        for p in &replaced {
            self.texts.remove(p);
        }
        for (path, text) in layer.texts {
            self.texts.insert(path, text);
        }
    }

    /// Follow symlinks, in the last component and in the directories
    /// above it (`/bin` is a link to `usr/bin` on merged-/usr systems), to
    /// a path the image has; `None` when there is none or links loop.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = normalize(path)?
            .split('/')
            .filter(|c| !c.is_empty())
            .rev()
            .map(str::to_string)
            .collect();
        let mut current = String::new();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            let candidate = format!("{current}/{c}");
            let meta = self.files.get(&candidate);
            match meta.map(|m| (&m.kind, &m.link)) {
                Some((Kind::Symlink, Some(target))) => {
                    hops += 1;
                    if hops > 32 {
                        return None;
                    }
                    if target.starts_with('/') {
                        current.clear();
                    }
                    for part in target.split('/').filter(|p| !p.is_empty()).rev() {
                        pending.push(part.to_string());
                    }
                }
                Some((Kind::Hardlink, Some(target))) if pending.is_empty() => {
                    return normalize(target).filter(|t| self.files.contains_key(t));
                }
                _ if c == "." => {}
                _ if c == ".." => {
                    current = current
                        .rsplit_once('/')
                        .map_or(String::new(), |(d, _)| d.to_string());
                }
                _ => current = candidate,
            }
        }
        let found = if current.is_empty() {
            "/".to_string()
        } else {
            current
        };
        self.files.contains_key(&found).then_some(found)
    }

    pub fn text(&self, path: &str) -> Option<&[u8]> {
        self.texts.get(path).map(Vec::as_slice)
    }
}

/// Lowercase hex of a digest's bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A reader that hashes what passes through it: a layer is checked against
/// its digest as it streams, never held whole.
pub struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
        }
    }

    /// `sha256:HEX` of everything read so far.
    pub fn digest(self) -> String {
        format!("sha256:{}", hex(&self.hash.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar built in memory with the tar crate's builder.
    fn tar_of(entries: &[(&str, tar::EntryType, u32, u64, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, mode, uid, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_mode(*mode);
            h.set_uid(*uid);
            h.set_gid(*uid);
            if *kind == tar::EntryType::Symlink {
                h.set_size(0);
                b.append_link(&mut h, path, std::str::from_utf8(data).unwrap())
                    .unwrap();
            } else {
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, *data).unwrap();
            }
        }
        b.into_inner().unwrap()
    }

    fn layer(entries: &[(&str, tar::EntryType, u32, u64, &[u8])]) -> Layer {
        let keep = |p: &str| p.starts_with("/etc/") || p.ends_with(".sh");
        read_layer(
            &tar_of(entries)[..],
            &keep,
            &Limits::default(),
            &mut Budget::default(),
        )
        .unwrap()
    }

    use tar::EntryType::{Directory as D, Regular as F, Symlink as L};

    #[test]
    fn whiteouts_and_opaque_directories_hide_lower_layers() {
        let mut fs = Fs::default();
        fs.apply(layer(&[
            ("etc/", D, 0o755, 0, b""),
            ("etc/passwd", F, 0o644, 0, b"root:x:0:0::/root:/bin/sh\n"),
            ("opt/app/", D, 0o755, 1000, b""),
            ("opt/app/old", F, 0o644, 1000, b""),
            ("var/cache/x", F, 0o644, 0, b""),
        ]));
        fs.apply(layer(&[
            ("opt/app/.wh..wh..opq", F, 0o644, 0, b""),
            ("opt/app/new", F, 0o644, 1000, b""),
            ("var/.wh.cache", F, 0o644, 0, b""),
            (
                "etc/passwd",
                F,
                0o644,
                0,
                b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
            ),
        ]));
        assert!(fs.files.contains_key("/opt/app"));
        assert!(fs.files.contains_key("/opt/app/new"));
        assert!(!fs.files.contains_key("/opt/app/old"));
        assert!(!fs.files.contains_key("/var/cache"));
        assert!(!fs.files.contains_key("/var/cache/x"));
        assert!(std::str::from_utf8(fs.text("/etc/passwd").unwrap())
            .unwrap()
            .contains("app:x:1000"));
    }

    #[test]
    fn symlinks_resolve_within_the_image() {
        let mut fs = Fs::default();
        fs.apply(layer(&[
            (
                "usr/local/bin/docker-entrypoint.sh",
                F,
                0o755,
                0,
                b"#!/bin/sh\nexec \"$@\"\n",
            ),
            (
                "docker-entrypoint.sh",
                L,
                0o777,
                0,
                b"usr/local/bin/docker-entrypoint.sh",
            ),
            (
                "opt/up",
                L,
                0o777,
                0,
                b"../../../usr/local/bin/docker-entrypoint.sh",
            ),
            ("loop", L, 0o777, 0, b"loop"),
            ("usr/bin/dash", F, 0o755, 0, b""),
            ("usr/bin/sh", L, 0o777, 0, b"dash"),
            ("bin", L, 0o777, 0, b"usr/bin"),
        ]));
        assert_eq!(fs.resolve("/bin/sh").as_deref(), Some("/usr/bin/dash"));
        assert_eq!(fs.resolve("/bin/nothing"), None);
        assert_eq!(
            fs.resolve("/docker-entrypoint.sh").as_deref(),
            Some("/usr/local/bin/docker-entrypoint.sh")
        );
        assert_eq!(
            fs.resolve("/opt/up").as_deref(),
            Some("/usr/local/bin/docker-entrypoint.sh")
        );
        assert_eq!(fs.resolve("/loop"), None);
        assert!(fs.text("/usr/local/bin/docker-entrypoint.sh").is_some());
    }

    #[test]
    fn climbing_paths_are_ignored() {
        assert_eq!(normalize("./etc/passwd").as_deref(), Some("/etc/passwd"));
        assert_eq!(normalize("../../etc/shadow"), None);
        assert_eq!(normalize("a/../../b"), None);
    }

    #[test]
    fn limits_stop_a_large_layer() {
        let big = vec![b'x'; 64 * 1024];
        let tar = tar_of(&[("a", F, 0o644, 0, &big), ("b", F, 0o644, 0, &big)]);
        let limits = Limits {
            max_uncompressed: 100 * 1024,
            ..Limits::default()
        };
        let e = read_layer(&tar[..], &|_: &str| false, &limits, &mut Budget::default());
        assert!(e.is_err());
        let limits = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        assert!(read_layer(&tar[..], &|_: &str| false, &limits, &mut Budget::default()).is_err());
    }

    #[test]
    fn file_capabilities_come_from_pax_headers() {
        let mut b = tar::Builder::new(Vec::new());
        let cap: &[u8] = &[0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        b.append_pax_extensions([("SCHILY.xattr.security.capability", cap)])
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, "usr/bin/server", &b""[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let l = read_layer(
            &tar[..],
            &|_: &str| false,
            &Limits::default(),
            &mut Budget::default(),
        )
        .unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.entries[0].1.capability.as_deref(), Some(cap));
    }
}
