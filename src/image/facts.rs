//! What an image says about itself: its config (user, env, volumes,
//! entrypoint) and, from its filesystem, its accounts, the directories its
//! user may write, setuid files, file capabilities, entrypoint scripts and
//! the tools it has to add a user.

use super::layers::{Fs, Kind};
use serde::{Deserialize, Serialize};

/// The parts of an image's config harden uses, from either an OCI config
/// blob (`config`, `rootfs.diff_ids`) or an engine's `image inspect`
/// (`Config`, `RootFS.Layers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub user: String,
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub volumes: Vec<String>,
    pub workdir: String,
    /// Digests of the uncompressed layers, bottom first.
    pub diff_ids: Vec<String>,
}

fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn field<'a>(v: &'a serde_json::Value, names: &[&str]) -> Option<&'a serde_json::Value> {
    names
        .iter()
        .find_map(|n| v.get(*n))
        .filter(|x| !x.is_null())
}

impl ImageConfig {
    /// Read either shape; `None` when it has neither.
    pub fn from_json(v: &serde_json::Value) -> Option<ImageConfig> {
        let c = field(v, &["config", "Config"])?;
        let rootfs = field(v, &["rootfs", "RootFS"]);
        let mut volumes: Vec<String> = match field(c, &["Volumes"]) {
            Some(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        volumes.sort();
        Some(ImageConfig {
            user: field(c, &["User"])
                .and_then(|u| u.as_str())
                .unwrap_or("")
                .to_string(),
            env: strings(field(c, &["Env"])),
            entrypoint: strings(field(c, &["Entrypoint"])),
            cmd: strings(field(c, &["Cmd"])),
            volumes,
            workdir: field(c, &["WorkingDir"])
                .and_then(|u| u.as_str())
                .unwrap_or("")
                .to_string(),
            diff_ids: rootfs
                .map(|r| strings(field(r, &["diff_ids", "Layers"])))
                .unwrap_or_default(),
        })
    }

    pub fn env_value(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
    }

    /// The program the container starts: the entrypoint's first word, or
    /// the command's.
    pub fn program(&self) -> Option<&str> {
        self.entrypoint
            .first()
            .or(self.cmd.first())
            .map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub gid: u32,
}

/// The user the container runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeUser {
    /// As the config says it (`postgres`, `1000:1000`; empty: root).
    pub spec: String,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub name: Option<String>,
    /// Where uid and gid were learnt ("image config", "image /etc/passwd").
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub path: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCaps {
    pub path: String,
    pub caps: Vec<String>,
    /// The effective bit: the program gets them without asking.
    pub effective: bool,
}

/// How a user can be added in this image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserTool {
    /// shadow's `useradd`/`groupadd`.
    Useradd,
    /// BusyBox `adduser`/`addgroup`.
    BusyboxAdduser,
    /// Debian's `adduser` script (without useradd, rare).
    Adduser,
    None,
}

/// Everything learnt about one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    /// The reference as looked up.
    pub reference: String,
    /// The config's digest (or the engine's image id).
    pub id: String,
    /// Where the facts came from ("podman image store", "registry 127.0.0.1:5000").
    pub source: String,
    pub config: ImageConfig,
    pub user: RuntimeUser,
    /// HOME of the runtime user: the config's `HOME`, else /etc/passwd's.
    pub home: Option<String>,
    pub users: Vec<Account>,
    pub groups: Vec<Group>,
    /// Directories the runtime user owns (not root), outermost only.
    pub owned_dirs: Vec<String>,
    /// World-writable directories (1777, 3777), with their mode.
    pub world_writable: Vec<(String, String)>,
    pub setuid: Vec<String>,
    pub file_caps: Vec<FileCaps>,
    /// Entrypoint (or command) scripts, the one the container starts first.
    pub scripts: Vec<Script>,
    /// `/bin/sh` when the image has a shell.
    pub shell: Option<String>,
    pub user_tool: UserTool,
}

/// Parse /etc/passwd.
pub fn parse_passwd(text: &str) -> Vec<Account> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 || f[0].is_empty() || f[0].starts_with('#') {
                return None;
            }
            Some(Account {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

/// Parse /etc/group.
pub fn parse_group(text: &str) -> Vec<Group> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 || f[0].is_empty() || f[0].starts_with('#') {
                return None;
            }
            Some(Group {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
            })
        })
        .collect()
}

/// Decode a `security.capability` attribute (`vfs_cap_data`, revisions
/// 1 to 3): the permitted set and the effective bit.
pub fn decode_capability(raw: &[u8]) -> Option<(Vec<String>, bool)> {
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            raw.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    let magic = word(0)?;
    let effective = magic & 1 != 0;
    let permitted = match magic & 0xff00_0000 {
        0x0100_0000 => u64::from(word(1)?),
        0x0200_0000 | 0x0300_0000 => u64::from(word(1)?) | (u64::from(word(3)?) << 32),
        _ => return None,
    };
    Some((crate::caps::cap_names(permitted), effective))
}

/// The runtime user from the config's `User` and the image's accounts.
fn runtime_user(spec: &str, users: &[Account], groups: &[Group]) -> RuntimeUser {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let mut r = RuntimeUser {
        spec: spec.to_string(),
        uid: None,
        gid: None,
        name: None,
        source: "image config".into(),
    };
    if u.is_empty() {
        r.uid = Some(0);
        r.gid = Some(0);
        r.name = Some("root".into());
        return r;
    }
    let account = match u.parse::<u32>() {
        Ok(n) => {
            r.uid = Some(n);
            users.iter().find(|a| a.uid == n)
        }
        Err(_) => users.iter().find(|a| a.name == u),
    };
    if let Some(a) = account {
        r.uid = Some(a.uid);
        r.gid = Some(a.gid);
        r.name = Some(a.name.clone());
        r.source = "image /etc/passwd".into();
    }
    if let Some(g) = g {
        r.gid = match g.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => groups.iter().find(|x| x.name == g).map(|x| x.gid),
        };
    }
    r
}

/// The paths where a program named in the config may be, for keeping
/// their text while the layers stream by.
pub fn program_paths(config: &ImageConfig) -> Vec<String> {
    let mut out = Vec::new();
    let path = config
        .env_value("PATH")
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for prog in [config.entrypoint.first(), config.cmd.first()]
        .into_iter()
        .flatten()
    {
        if prog.starts_with('/') {
            out.push(prog.clone());
        } else if prog.contains('/') {
            let dir = if config.workdir.is_empty() {
                "/"
            } else {
                &config.workdir
            };
            out.push(format!("{}/{prog}", dir.trim_end_matches('/')));
        } else {
            for dir in path.split(':').filter(|d| d.starts_with('/')) {
                out.push(format!("{}/{prog}", dir.trim_end_matches('/')));
            }
        }
    }
    out
}

/// Whether a file's text is kept while streaming: accounts, and anything
/// that may be the entrypoint (by path, or a script named like one).
pub fn keep_for(config: &ImageConfig) -> impl Fn(&str) -> bool + Send + Sync {
    let wanted = program_paths(config);
    let names: Vec<String> = wanted
        .iter()
        .filter_map(|p| p.rsplit('/').next().map(str::to_string))
        .collect();
    move |p: &str| {
        let name = p.rsplit('/').next().unwrap_or("");
        p == "/etc/passwd"
            || p == "/etc/group"
            || p == "/init"
            || wanted.iter().any(|w| w == p)
            || names.iter().any(|n| n == name)
            || name.contains("entrypoint")
    }
}

/// The most directories of one kind reported (an image with thousands of
/// world-writable directories says nothing more with all of them).
const MAX_LISTED: usize = 64;

/// Facts from a config and a merged filesystem.
pub fn derive(reference: &str, id: &str, source: &str, config: ImageConfig, fs: &Fs) -> ImageFacts {
    let text = |p: &str| fs.text(p).map(|t| String::from_utf8_lossy(t).into_owned());
    let users = text("/etc/passwd")
        .map(|t| parse_passwd(&t))
        .unwrap_or_default();
    let groups = text("/etc/group")
        .map(|t| parse_group(&t))
        .unwrap_or_default();
    let user = runtime_user(&config.user, &users, &groups);
    let home = config.env_value("HOME").map(str::to_string).or_else(|| {
        let uid = user.uid?;
        users
            .iter()
            .find(|a| a.uid == uid)
            .map(|a| a.home.clone())
            .filter(|h| !h.is_empty() && h != "/nonexistent")
    });
    let mut owned_dirs: Vec<String> = Vec::new();
    let mut world_writable = Vec::new();
    let mut setuid = Vec::new();
    let mut file_caps = Vec::new();
    for (path, m) in &fs.files {
        match m.kind {
            Kind::Dir => {
                if let Some(uid) = user.uid.filter(|u| *u != 0) {
                    let outer = owned_dirs
                        .last()
                        .is_some_and(|o| path.starts_with(&format!("{o}/")));
                    if m.uid == u64::from(uid) && !outer && owned_dirs.len() < MAX_LISTED {
                        owned_dirs.push(path.clone());
                    }
                }
                if m.mode & 0o777 == 0o777 && world_writable.len() < MAX_LISTED {
                    world_writable.push((path.clone(), format!("{:o}", m.mode)));
                }
            }
            Kind::File => {
                if m.mode & 0o6000 != 0 && setuid.len() < MAX_LISTED {
                    setuid.push(path.clone());
                }
                if let Some((caps, effective)) = m.capability.as_deref().and_then(decode_capability)
                {
                    if !caps.is_empty() {
                        file_caps.push(FileCaps {
                            path: path.clone(),
                            caps,
                            effective,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    let mut scripts = Vec::new();
    let candidates = program_paths(&config);
    for c in &candidates {
        let Some(real) = fs.resolve(c) else { continue };
        if scripts.iter().any(|s: &Script| s.path == real) {
            continue;
        }
        if let Some(t) = fs.text(&real) {
            if t.starts_with(b"#!") {
                scripts.push(Script {
                    path: real,
                    text: String::from_utf8_lossy(t).into_owned(),
                });
            }
        }
    }
    let shell = ["/bin/sh", "/bin/bash", "/bin/ash"]
        .into_iter()
        .find(|s| fs.resolve(s).is_some())
        .map(str::to_string);
    let busybox = |p: &str| {
        fs.files.get(p).is_some_and(|m| {
            m.kind == Kind::Symlink && m.link.as_deref().is_some_and(|l| l.ends_with("busybox"))
        }) || fs.resolve(p).is_some_and(|r| r.ends_with("/busybox"))
    };
    let exists = |p: &str| fs.resolve(p).is_some();
    let user_tool = if exists("/usr/sbin/useradd") || exists("/sbin/useradd") {
        UserTool::Useradd
    } else if ["/usr/sbin/adduser", "/sbin/adduser", "/bin/adduser"]
        .iter()
        .any(|p| busybox(p))
    {
        UserTool::BusyboxAdduser
    } else if exists("/usr/sbin/adduser") {
        UserTool::Adduser
    } else {
        UserTool::None
    };
    ImageFacts {
        reference: reference.to_string(),
        id: id.to_string(),
        source: source.to_string(),
        config,
        user,
        home,
        users,
        groups,
        owned_dirs,
        world_writable,
        setuid,
        file_caps,
        scripts,
        shell,
        user_tool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layers::{Layer, Meta};

    fn meta(kind: Kind, mode: u32, uid: u64) -> Meta {
        Meta {
            kind,
            mode,
            uid,
            gid: uid,
            link: None,
            capability: None,
        }
    }

    #[test]
    fn config_from_both_shapes() {
        let oci: serde_json::Value = serde_json::from_str(
            r#"{"config":{"User":"app","Env":["PATH=/bin","HOME=/data"],"Entrypoint":["/e.sh"],"Cmd":null,"Volumes":{"/b":{},"/a":{}}},"rootfs":{"type":"layers","diff_ids":["sha256:1","sha256:2"]}}"#,
        )
        .unwrap();
        let c = ImageConfig::from_json(&oci).unwrap();
        assert_eq!(c.user, "app");
        assert_eq!(c.env_value("HOME"), Some("/data"));
        assert_eq!(c.volumes, ["/a", "/b"]);
        assert_eq!(c.diff_ids.len(), 2);
        let engine: serde_json::Value = serde_json::from_str(
            r#"{"Id":"x","Config":{"User":"","Cmd":["bash"]},"RootFS":{"Type":"layers","Layers":["sha256:1"]}}"#,
        )
        .unwrap();
        let c = ImageConfig::from_json(&engine).unwrap();
        assert_eq!(c.program(), Some("bash"));
        assert_eq!(c.diff_ids, ["sha256:1"]);
    }

    #[test]
    fn capabilities_decode_from_the_attribute() {
        // Revision 2, effective, cap_net_bind_service (bit 10).
        let mut raw = vec![];
        raw.extend(0x0200_0001u32.to_le_bytes());
        raw.extend((1u32 << 10).to_le_bytes());
        raw.extend(0u32.to_le_bytes());
        raw.extend(0u32.to_le_bytes());
        raw.extend(0u32.to_le_bytes());
        assert_eq!(
            decode_capability(&raw),
            Some((vec!["NET_BIND_SERVICE".to_string()], true))
        );
        assert_eq!(decode_capability(&[1, 2]), None);
        assert_eq!(decode_capability(&[0; 20]), None);
    }

    #[test]
    fn facts_from_a_small_filesystem() {
        let mut fs = Fs::default();
        let mut l = Layer::default();
        for (p, m) in [
            ("/etc", meta(Kind::Dir, 0o755, 0)),
            ("/tmp", meta(Kind::Dir, 0o1777, 0)),
            ("/home/app", meta(Kind::Dir, 0o755, 1000)),
            ("/home/app/.cache", meta(Kind::Dir, 0o755, 1000)),
            ("/opt/unit", meta(Kind::Dir, 0o750, 1000)),
            ("/usr/bin/passwd", meta(Kind::File, 0o4755, 0)),
            ("/usr/sbin/useradd", meta(Kind::File, 0o755, 0)),
            ("/bin/sh", meta(Kind::File, 0o755, 0)),
            ("/usr/local/bin/start.sh", meta(Kind::File, 0o755, 0)),
            ("/etc/passwd", meta(Kind::File, 0o644, 0)),
            ("/etc/group", meta(Kind::File, 0o644, 0)),
        ] {
            l.entries.push((p.to_string(), m));
        }
        l.texts.push((
            "/etc/passwd".into(),
            b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n".to_vec(),
        ));
        l.texts
            .push(("/etc/group".into(), b"root:x:0:\nstaff:x:1001:\n".to_vec()));
        l.texts.push((
            "/usr/local/bin/start.sh".into(),
            b"#!/bin/sh\nexec app\n".to_vec(),
        ));
        fs.apply(l);
        let config = ImageConfig {
            user: "app".into(),
            entrypoint: vec!["start.sh".into()],
            ..Default::default()
        };
        let f = derive("x", "sha256:0", "test", config, &fs);
        assert_eq!((f.user.uid, f.user.gid), (Some(1000), Some(1001)));
        assert_eq!(f.user.source, "image /etc/passwd");
        assert_eq!(f.home.as_deref(), Some("/home/app"));
        assert_eq!(f.owned_dirs, ["/home/app", "/opt/unit"]);
        assert_eq!(f.world_writable, [("/tmp".to_string(), "1777".to_string())]);
        assert_eq!(f.setuid, ["/usr/bin/passwd"]);
        assert_eq!(f.scripts.len(), 1);
        assert_eq!(f.scripts[0].path, "/usr/local/bin/start.sh");
        assert_eq!(f.shell.as_deref(), Some("/bin/sh"));
        assert_eq!(f.user_tool, UserTool::Useradd);
        assert_eq!(f.groups[1].name, "staff");

        // A numeric user with a group name.
        let u = runtime_user("1000:staff", &f.users, &f.groups);
        assert_eq!(
            (u.uid, u.gid, u.name.as_deref()),
            (Some(1000), Some(1001), Some("app"))
        );
        let u = runtime_user("4242", &f.users, &f.groups);
        assert_eq!(
            (u.uid, u.gid, u.source.as_str()),
            (Some(4242), None, "image config")
        );
    }
}
