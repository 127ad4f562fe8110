//! What an image's facts mean for the plan of a service that runs it and
//! has no profile: the user it can run as, the capabilities its entrypoint
//! or its binaries need, and the paths it writes. Each item says where it
//! was learnt ("image config", "image /etc/passwd", "entrypoint line 6").

use super::entrypoint::{decide_image, Decision};
use super::facts::ImageFacts;

/// A carve-out to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carve {
    /// A named volume: `(path, name suffix, why)`.
    Volume(String, String, String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advice {
    /// `user:` as `uid:gid`, with why.
    pub user: Option<(String, String)>,
    pub cap_add: Vec<(String, String)>,
    pub carves: Vec<Carve>,
    pub review: Vec<String>,
}

/// Paths never carved out, whoever owns them.
fn system_path(p: &str) -> bool {
    [
        "/proc", "/sys", "/dev", "/tmp", "/etc", "/usr", "/bin", "/sbin", "/lib",
    ]
    .iter()
    .any(|s| p == *s || p.starts_with(&format!("{s}/")))
}

fn suffix(path: &str) -> String {
    let last = path.rsplit('/').find(|c| !c.is_empty()).unwrap_or("data");
    let s = crate::escape::slug(last);
    if s.is_empty() {
        "data".into()
    } else {
        s
    }
}

/// `has_user`: the service sets `user:` itself. `read_only`: the root
/// filesystem becomes read-only, so writes need carve-outs.
pub fn advise(f: &ImageFacts, has_user: bool, read_only: bool) -> Advice {
    let mut a = Advice::default();
    let root = f.user.uid == Some(0);
    let mut runs_as: Option<(u32, String)> = match (f.user.uid, &f.user.name) {
        (Some(uid), Some(name)) if uid != 0 => Some((uid, name.clone())),
        (Some(uid), None) if uid != 0 => Some((uid, uid.to_string())),
        _ => None,
    };
    if root && !has_user {
        match decide_image(f) {
            Some((_, Decision::RunAs { user, why })) => {
                let uid = user.split(':').next().and_then(|u| u.parse::<u32>().ok());
                if let Some(uid) = uid {
                    let name = f
                        .users
                        .iter()
                        .find(|u| u.uid == uid)
                        .map_or_else(|| uid.to_string(), |u| u.name.clone());
                    a.user = Some((
                        user.clone(),
                        format!("runs as the image's own `{name}` user (image /etc/passwd): {why}"),
                    ));
                    runs_as = Some((uid, name));
                }
            }
            Some((_, Decision::Caps(needs))) => {
                for n in needs {
                    a.cap_add.push((n.cap.to_string(), n.why));
                }
            }
            _ => {}
        }
    }
    // A binary given file capabilities cannot even be executed under
    // `cap_drop: [ALL]` when it runs: keep what it carries.
    let mentioned = |path: &str| {
        let name = path.rsplit('/').next().unwrap_or(path);
        let in_config = f
            .config
            .entrypoint
            .iter()
            .chain(&f.config.cmd)
            .any(|w| w == path || w == name);
        let in_script = f.scripts.iter().any(|s| {
            s.text.contains(path)
                || s.text
                    .split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                    .any(|w| w == name)
        });
        in_config || in_script
    };
    for fc in f.file_caps.iter().filter(|c| mentioned(&c.path)) {
        for cap in &fc.caps {
            if !a.cap_add.iter().any(|(c, _)| c == cap) {
                a.cap_add.push((
                    cap.clone(),
                    format!(
                        "{} carries the file capability cap_{} (image filesystem) and the image runs it: without it the program cannot be executed",
                        fc.path,
                        cap.to_ascii_lowercase()
                    ),
                ));
            }
        }
    }
    if read_only {
        for v in &f.config.volumes {
            a.carves.push(Carve::Volume(
                v.clone(),
                suffix(v),
                format!("`VOLUME {v}` in the image config: the image keeps data there"),
            ));
        }
        if let Some((uid, name)) = &runs_as {
            let home = f
                .home
                .clone()
                .filter(|h| h != "/" && !system_path(h) && f.owned_dirs.contains(h));
            if let Some(h) = &home {
                // A new named volume starts as a copy of the image's
                // directory, owner included, where a tmpfs would be root's.
                a.carves.push(Carve::Volume(
                    h.clone(),
                    "home".into(),
                    format!("HOME of `{name}` (image /etc/passwd), which it owns: programs write caches and settings there"),
                ));
            }
            if f.user.uid == Some(*uid) {
                for d in &f.owned_dirs {
                    let under_home = home
                        .as_ref()
                        .is_some_and(|h| d == h || d.starts_with(&format!("{h}/")));
                    if under_home || system_path(d) {
                        continue;
                    }
                    a.carves.push(Carve::Volume(
                        d.clone(),
                        suffix(d),
                        format!("owned by `{name}` in the image (image filesystem): the image gives it to its user to write"),
                    ));
                }
            }
        }
    }
    a.review.push(format!(
        "what harden knows of `{}` it read from the image, in the {}; there is no profile for it, so `harden verify` is the proof",
        f.reference, f.source
    ));
    a
}
