//! Image facts kept under the user's cache directory
//! (`$XDG_CACHE_HOME/harden/images`, else `~/.cache/harden/images`): facts
//! by image id (the config's digest, which never changes), and tag →
//! id resolutions, which expire.

use super::facts::ImageFacts;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a tag's resolution to an id is trusted.
pub const TAG_TTL: Duration = Duration::from_secs(6 * 3600);
/// How long a registry's failure to give an image's facts is remembered,
/// so that a run after a run does not wait for the same answer again.
pub const FAILURE_TTL: Duration = Duration::from_secs(15 * 60);
/// The largest cached file read back.
const MAX_ENTRY: u64 = 16 << 20;

/// The cache directory, if the environment names one.
pub fn dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache"),
    };
    if !base.is_absolute() {
        return None;
    }
    Some(base.join("harden").join("images"))
}

fn hex(s: &str) -> String {
    super::hex(&Sha256::digest(s.as_bytes()))
}

fn facts_path(id: &str) -> Option<PathBuf> {
    let name = id.strip_prefix("sha256:").unwrap_or(id);
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(dir()?.join("facts").join(format!("{}.json", hex(id))));
    }
    Some(dir()?.join("facts").join(format!("{name}.json")))
}

fn tag_path(key: &str) -> Option<PathBuf> {
    Some(dir()?.join("tags").join(format!("{}.json", hex(key))))
}

fn read(path: &std::path::Path) -> Option<String> {
    crate::paths::read_text(path, MAX_ENTRY).ok()
}

/// Write atomically (a temporary file renamed), in a directory only the
/// user can read; a failure only means no cache.
fn write(path: &std::path::Path, text: &str) {
    let Some(parent) = path.parent() else { return };
    if std::fs::create_dir_all(parent).is_err() {
        return;
    }
    #[cfg(unix)]
    if let Some(root) = dir() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700));
    }
    if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(parent) {
        if tmp.write_all(text.as_bytes()).is_ok() {
            let _ = tmp.persist(path);
        }
    }
}

/// Facts stored for an image id.
pub fn facts(id: &str) -> Option<ImageFacts> {
    let text = read(&facts_path(id)?)?;
    serde_json::from_str::<ImageFacts>(&text)
        .ok()
        .filter(|f| f.id == id)
}

pub fn store_facts(f: &ImageFacts) {
    if let (Some(p), Ok(text)) = (facts_path(&f.id), serde_json::to_string(f)) {
        write(&p, &text);
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TagEntry {
    key: String,
    id: String,
    at: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The id `key` (source, reference, platform) resolved to, if recently.
pub fn tag(key: &str) -> Option<String> {
    let text = read(&tag_path(key)?)?;
    let e: TagEntry = serde_json::from_str(&text).ok()?;
    let fresh = now().saturating_sub(e.at) < TAG_TTL.as_secs();
    (e.key == key && fresh).then_some(e.id)
}

pub fn store_tag(key: &str, id: &str) {
    let e = TagEntry {
        key: key.to_string(),
        id: id.to_string(),
        at: now(),
    };
    if let (Some(p), Ok(text)) = (tag_path(key), serde_json::to_string(&e)) {
        write(&p, &text);
    }
}

/// Why the look-up `key` failed, if it did within [`FAILURE_TTL`].
pub fn failure(key: &str) -> Option<String> {
    let key = format!("failed {key}");
    let text = read(&tag_path(&key)?)?;
    let e: TagEntry = serde_json::from_str(&text).ok()?;
    let age = now().saturating_sub(e.at);
    (e.key == key && age < FAILURE_TTL.as_secs()).then_some(e.id)
}

pub fn store_failure(key: &str, why: &str) {
    store_tag(&format!("failed {key}"), why);
}

/// Forget a failure once the look-up succeeds.
pub fn forget_failure(key: &str) {
    if let Some(p) = tag_path(&format!("failed {key}")) {
        let _ = std::fs::remove_file(p);
    }
}

/// What an engine's store held when its image list was last read: its
/// tags, and the ids of the images harden asked about. Valid while the
/// store's own index file is unchanged (`state`: its path, size and
/// modification time), so a run that finds it current spawns no engine.
#[derive(serde::Serialize, serde::Deserialize, Default, Clone)]
pub struct Listing {
    pub state: String,
    pub tags: Vec<String>,
    pub ids: std::collections::BTreeMap<String, String>,
}

fn listing_path(engine: &str) -> Option<PathBuf> {
    Some(dir()?.join("engines").join(format!("{}.json", hex(engine))))
}

/// The listing kept for `engine`, if it was made in this `state`.
pub fn listing(engine: &str, state: &str) -> Option<Listing> {
    let text = read(&listing_path(engine)?)?;
    serde_json::from_str::<Listing>(&text)
        .ok()
        .filter(|l| l.state == state)
}

pub fn store_listing(engine: &str, l: &Listing) {
    if let (Some(p), Ok(text)) = (listing_path(engine), serde_json::to_string(l)) {
        write(&p, &text);
    }
}

/// Remove the cache; the number of files removed.
pub fn clear() -> std::io::Result<(PathBuf, usize)> {
    let d = dir().ok_or_else(|| {
        std::io::Error::other("no cache directory: neither XDG_CACHE_HOME nor HOME is set")
    })?;
    let mut n = 0;
    for sub in ["facts", "tags"] {
        let Ok(entries) = std::fs::read_dir(d.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            // Only harden's own files, never through a link.
            let is_file = e.file_type().is_ok_and(|t| t.is_file());
            if is_file
                && p.extension().is_some_and(|x| x == "json")
                && std::fs::remove_file(&p).is_ok()
            {
                n += 1;
            }
        }
    }
    Ok((d, n))
}
