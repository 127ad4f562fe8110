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

/// Every tagged image in the engine's store, as canonical references
/// (`docker.io/library/postgres:16`), listed once per run: asking the
/// engine about each image a large tree names would cost a process each.
/// `None` when the engine could not list them (busy, broken): each image
/// is then asked about.
pub fn tags(engine: &str) -> Option<&'static std::collections::HashSet<String>> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    type Lists = Mutex<HashMap<String, Option<&'static HashSet<String>>>>;
    static LISTS: OnceLock<Lists> = OnceLock::new();
    let lists = LISTS.get_or_init(Default::default);
    let mut m = lists.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(l) = m.get(engine) {
        return *l;
    }
    let mut cmd = Command::new(engine);
    cmd.args(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]);
    let listed = match output_within(cmd, MAX_LIST, INSPECT_TIMEOUT) {
        Ok((true, out)) => {
            let set: HashSet<String> = String::from_utf8_lossy(&out)
                .lines()
                .filter_map(|l| super::reference::Reference::parse(l.trim()))
                .map(|r| r.canonical())
                .collect();
            Some(&*Box::leak(Box::new(set)))
        }
        _ => None,
    };
    m.insert(engine.to_string(), listed);
    listed
}
