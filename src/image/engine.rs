//! The local engine's image store: `image inspect` for the config and
//! `image save` streamed for the filesystem. Nothing is run, pulled or
//! unpacked; an image that is not already present is simply not there.

use super::facts::{self, ImageConfig};
use super::layers::{self, Budget, Fs, Hashing, Layer, Limits};
use std::collections::HashMap;
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The engine's command (`podman`, `docker`) found on PATH, Podman first
/// (rootless stores are per user; either is only read).
pub fn find(preferred: Option<&str>) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    let names: Vec<&str> = match preferred {
        Some(p) => vec![p],
        None => vec!["podman", "docker"],
    };
    names.into_iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
            .map(|_| n.to_string())
    })
}

/// The largest `image inspect` output read.
const MAX_INSPECT: u64 = 4 << 20;
/// How long `image inspect` or `image ls` may take (the engine may wait
/// for its store's lock while another command writes to it).
const INSPECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Run `cmd`, reading at most `max` bytes of its output, within `timeout`.
fn output_within(mut cmd: Command, max: u64, timeout: Duration) -> io::Result<(bool, Vec<u8>)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no output"))?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = (&mut stdout).take(max + 1).read_to_end(&mut buf);
        r.map(|_| buf)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the engine did not answer in time",
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let buf = reader
        .join()
        .map_err(|_| io::Error::other("reading the engine's output failed"))??;
    if buf.len() as u64 > max {
        return Err(io::Error::other(
            "the engine's answer is larger than the limit",
        ));
    }
    Ok((status.success(), buf))
}

/// The config and id of `reference` in the engine's store; `Ok(None)`
/// when the store does not have it.
pub fn inspect(engine: &str, reference: &str) -> io::Result<Option<(String, ImageConfig)>> {
    let mut cmd = Command::new(engine);
    cmd.args(["image", "inspect", "--", reference]);
    let (ok, out) = output_within(cmd, MAX_INSPECT, INSPECT_TIMEOUT)?;
    if !ok {
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_slice(&out).map_err(|e| {
        io::Error::other(format!(
            "`{engine} image inspect` answered with unreadable JSON: {e}"
        ))
    })?;
    let first = v.as_array().and_then(|a| a.first()).unwrap_or(&v);
    let id = first
        .get("Id")
        .and_then(|i| i.as_str())
        .map(|i| {
            if i.contains(':') {
                i.to_string()
            } else {
                format!("sha256:{i}")
            }
        })
        .ok_or_else(|| io::Error::other("the engine's inspect has no image id"))?;
    let config = ImageConfig::from_json(first)
        .ok_or_else(|| io::Error::other("the engine's inspect has no image config"))?;
    Ok(Some((id, config)))
}

/// Read the filesystem of `reference` from `engine image save`, an
/// archive holding one tar per layer. The archive's order is not relied
/// on: each inner tar is summarised on its own and recognised by the
/// digest of its bytes among the config's layers, then they are merged
/// bottom first.
pub fn filesystem(
    engine: &str,
    reference: &str,
    config: &ImageConfig,
    limits: &Limits,
) -> io::Result<Fs> {
    let mut child = Command::new(engine)
        .args(["image", "save", "--", reference])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no output"))?;
    let result = read_archive(stdout, config, limits);
    // Stop the engine if the archive was abandoned early.
    let _ = child.kill();
    let _ = child.wait();
    let mut found = result?;
    let mut fs = Fs::default();
    for id in &config.diff_ids {
        match found.remove(id) {
            Some(layer) => fs.apply(layer),
            None => {
                return Err(io::Error::other(format!(
                    "the saved image lacks its layer {id}"
                )))
            }
        }
    }
    Ok(fs)
}

fn read_archive<R: Read>(
    archive: R,
    config: &ImageConfig,
    limits: &Limits,
) -> io::Result<HashMap<String, Layer>> {
    let keep = facts::keep_for(config);
    let mut budget = Budget::default();
    let mut found = HashMap::new();
    let bounded = layers::Bounded {
        inner: archive,
        left: limits.max_uncompressed,
        read: 0,
    };
    let mut outer = tar::Archive::new(bounded);
    for entry in outer.entries()? {
        let entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular || entry.size() < 1024 {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if name.ends_with(".json") || name == "repositories" {
            continue;
        }
        let mut hashing = Hashing::new(entry);
        let layer = layers::read_layer(&mut hashing, &keep, limits, &mut budget);
        // Anything left in this entry is part of its digest.
        io::copy(&mut hashing, &mut io::sink())?;
        let digest = hashing.digest();
        if config.diff_ids.contains(&digest) {
            found.insert(digest, layer?);
        }
        if found.len() == config.diff_ids.len() {
            break;
        }
    }
    Ok(found)
}

/// The largest image listing read.
const MAX_LIST: u64 = 16 << 20;

/// The index file of Podman's default store, with its size and
/// modification time: containers/storage rewrites it whenever an image is
/// added, tagged or removed. `None` when harden cannot tell where the
/// store is (another storage configuration, or Docker), and the engine is
/// asked.
fn store_state(engine: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let root = rustix::process::geteuid().is_root();
    let store = match engine {
        "podman" if std::env::var_os("CONTAINERS_STORAGE_CONF").is_some() => return None,
        "podman" if root => std::path::PathBuf::from("/var/lib/containers/storage"),
        // A user's own storage.conf may put the store anywhere.
        "podman"
            if std::env::var_os("XDG_CONFIG_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    Some(std::path::PathBuf::from(std::env::var_os("HOME")?).join(".config"))
                })
                .is_none_or(|c| c.join("containers/storage.conf").exists()) =>
        {
            return None
        }
        "podman" => std::env::var_os("XDG_DATA_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                Some(std::path::PathBuf::from(std::env::var_os("HOME")?).join(".local/share"))
            })?
            .join("containers/storage"),
        // Docker's own index does not follow its containerd image store,
        // so Docker is always asked.
        _ => return None,
    };
    // The store is named after its driver: exactly one must be there.
    let mut found = ["overlay", "vfs", "btrfs", "zfs"]
        .iter()
        .map(|d| store.join(format!("{d}-images/images.json")))
        .filter(|f| f.is_file());
    let file = match (found.next(), found.next()) {
        (Some(f), None) => f,
        _ => return None,
    };
    // A storage.conf may move the store: then the default file is not the
    // one in use, and only the engine can say.
    if std::path::Path::new("/etc/containers/storage.conf").exists() {
        let conf = crate::paths::read_text(
            std::path::Path::new("/etc/containers/storage.conf"),
            1 << 20,
        )
        .ok()?;
        if conf.lines().any(|l| {
            let l = l.trim_start();
            !l.starts_with('#')
                && (l.starts_with("graphroot") || l.starts_with("rootless_storage_path"))
        }) {
            return None;
        }
    }
    let m = std::fs::metadata(&file).ok()?;
    Some(format!(
        "{engine} {} {} {}.{}",
        file.display(),
        m.len(),
        m.mtime(),
        m.mtime_nsec()
    ))
}

/// The run's view of the engine's store: its listing, and whether it was
/// read from the cache in the store's current state.
struct Store {
    state: Option<String>,
    listing: super::cache::Listing,
}

fn stores() -> &'static std::sync::Mutex<HashMap<String, Option<Store>>> {
    use std::sync::{Mutex, OnceLock};
    static STORES: OnceLock<Mutex<HashMap<String, Option<Store>>>> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

/// Every tagged image in the engine's store, as canonical references
/// (`docker.io/library/postgres:16`), listed once per run, and not at all
/// while the store is as a previous run left it: asking the engine costs a
/// process (a tenth of a second) per question. `None` when the engine could
/// not list them (busy, broken): each image is then asked about.
pub fn tags(engine: &str) -> Option<std::collections::HashSet<String>> {
    let mut m = stores().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = m.get(engine) {
        return s.as_ref().map(|s| s.listing.tags.iter().cloned().collect());
    }
    let state = store_state(engine);
    if let Some(l) = state
        .as_deref()
        .and_then(|st| super::cache::listing(engine, st))
    {
        let tags = l.tags.iter().cloned().collect();
        m.insert(engine.to_string(), Some(Store { state, listing: l }));
        return Some(tags);
    }
    let mut cmd = Command::new(engine);
    cmd.args(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
    let store = match output_within(cmd, MAX_LIST, INSPECT_TIMEOUT) {
        Ok((true, out)) => {
            let mut tags: Vec<String> = String::from_utf8_lossy(&out)
                .lines()
                .filter_map(|l| super::reference::Reference::parse(l.trim()))
                .map(|r| r.canonical())
                .collect();
            tags.sort();
            tags.dedup();
            let listing = super::cache::Listing {
                state: state.clone().unwrap_or_default(),
                tags,
                ids: Default::default(),
            };
            if let Some(st) = &state {
                // Kept only if the store did not change while it was listed.
                if store_state(engine).as_ref() == Some(st) {
                    super::cache::store_listing(engine, &listing);
                }
            }
            Some(Store { state, listing })
        }
        _ => None,
    };
    let tags = store
        .as_ref()
        .map(|s| s.listing.tags.iter().cloned().collect());
    m.insert(engine.to_string(), store);
    tags
}

/// The id the store gave `reference` when it was last asked, in the
/// store's current state.
pub fn known_id(engine: &str, reference: &str) -> Option<String> {
    let m = stores().lock().unwrap_or_else(|p| p.into_inner());
    m.get(engine)?.as_ref()?.listing.ids.get(reference).cloned()
}

/// Remember `reference`'s id for the next runs, while the store stays as
/// it is.
pub fn remember_id(engine: &str, reference: &str, id: &str) {
    let mut m = stores().lock().unwrap_or_else(|p| p.into_inner());
    let Some(Some(store)) = m.get_mut(engine) else {
        return;
    };
    store
        .listing
        .ids
        .insert(reference.to_string(), id.to_string());
    if let Some(st) = &store.state {
        if store_state(engine).as_ref() == Some(st) {
            super::cache::store_listing(engine, &store.listing);
        }
    }
}
