//! `unmounted-write-path`: with a read-only root filesystem every path a
//! service writes must be a carve-out, or the service fails at its first
//! write. Scratch space (`/tmp`) becomes a size-limited tmpfs.

use super::{Output, RuleInfo};
use crate::compose::service::Service;
use crate::compose::tree::{Document, Kind, Node};
use crate::compose::Ctx;
use crate::plan::{Carve, ServicePlan};

pub const NAME: &str = "unmounted-write-path";

/// The scratch tmpfs every read-only service gets.
/// (Its size is `tmpfs-size` in harden.toml, `crate::config::DEFAULT_TMPFS_SIZE` by default.)
pub const TMP: &str = "/tmp";

pub const INFO: RuleInfo = RuleInfo {
    name: NAME,
    summary: "a path the service writes is neither a volume nor a tmpfs",
    explanation: "With a read-only root filesystem, a service fails the first time it writes \
outside its mounts. Scratch paths (/tmp, pid and socket directories) become tmpfs mounts with \
a size limit; persistent paths (data, models, caches) become named volumes, created and owned \
by the service's user in its Dockerfile.",
    fix: "mount a tmpfs or named volume where the service writes",
};

/// A mount target of a service and how it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub target: String,
    pub tmpfs: bool,
    pub read_only: bool,
    /// A named volume (its ownership comes from the image on first use),
    /// as opposed to a bind mount or tmpfs.
    pub named: bool,
    /// An anonymous volume (`- /app/node_modules`): also initialised from
    /// the image, and carried over when compose recreates the container.
    pub anonymous: bool,
}

/// Every path mounted into the service: `tmpfs` entries and `volumes` in
/// short (`src:dst[:mode]`) and long (`{type, source, target}`) syntax.
pub fn mounts(ctx: &Ctx, svc: &Service) -> Vec<Mount> {
    let mut out = mounts_in(
        ctx.doc,
        svc.effective("tmpfs").map(|(v, _)| v),
        svc.effective("volumes").map(|(v, _)| v),
    );
    // Compose appends the later files' mounts to this file's.
    for (doc, map, _) in svc.overlays() {
        let get = |k: &str| map.get(k).map(|e| doc.resolve(&e.value));
        out.extend(mounts_in(doc, get("tmpfs"), get("volumes")));
    }
    out
}

fn mounts_in(doc: &Document, tmpfs: Option<&Node>, volumes: Option<&Node>) -> Vec<Mount> {
    let strings = |node: &Node| -> Vec<String> {
        match &doc.resolve(node).kind {
            Kind::Seq { items, .. } => items
                .iter()
                .filter_map(|i| doc.resolve(i).as_str().map(str::to_string))
                .collect(),
            Kind::Scalar { value, .. } if !value.is_empty() => vec![value.to_string()],
            _ => Vec::new(),
        }
    };
    let mut out = Vec::new();
    if let Some(v) = tmpfs {
        for s in strings(v) {
            let target = s.split(':').next().unwrap_or("").trim().to_string();
            out.push(Mount {
                target,
                tmpfs: true,
                read_only: false,
                named: false,
                anonymous: false,
            });
        }
    }
    if let Some(v) = volumes {
        if let Kind::Seq { items, .. } = &v.kind {
            for item in items {
                let item = doc.resolve(item);
                if let Some(s) = item.as_str() {
                    if let Some(m) = short_volume(s) {
                        out.push(m);
                    }
                } else if let Some(t) = item
                    .get("target")
                    .and_then(|e| doc.resolve(&e.value).as_str())
                {
                    let ty = item
                        .get("type")
                        .and_then(|e| doc.resolve(&e.value).as_str())
                        .unwrap_or("volume");
                    let has_source = item.get("source").is_some();
                    let ro = item
                        .get("read_only")
                        .and_then(|e| doc.resolve(&e.value).as_str())
                        .is_some_and(super::writable_rootfs::is_true);
                    out.push(Mount {
                        target: t.trim().to_string(),
                        tmpfs: ty == "tmpfs",
                        read_only: ro,
                        named: ty == "volume" && has_source,
                        anonymous: ty == "volume" && !has_source,
                    });
                }
            }
        }
    }
    for m in &mut out {
        let t = m.target.trim_end_matches('/');
        m.target = if t.is_empty() {
            "/".into()
        } else {
            t.to_string()
        };
    }
    out
}

/// `SRC:DST[:MODE]`, `DST`, or a Windows source `C:\x:DST`.
fn short_volume(s: &str) -> Option<Mount> {
    let parts: Vec<&str> = s.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, None),
        [d, rest @ ..] if d.len() == 1 && rest.len() >= 2 && rest[0].starts_with('\\') => {
            ("C:", rest[1], rest.get(2).copied())
        }
        [s, t] => (*s, *t, None),
        [s, t, m, ..] => (*s, *t, Some(*m)),
        [] => return None,
    };
    let read_only = mode.is_some_and(|m| m.split(',').any(|o| o == "ro"));
    // A source that is a path (`./x`, `/x`, `~/x`) is a bind mount.
    let named =
        !source.is_empty() && !source.starts_with(['.', '/', '~', '$']) && !source.contains('\\');
    Some(Mount {
        target: target.trim().to_string(),
        tmpfs: false,
        read_only,
        named,
        anonymous: source.is_empty(),
    })
}

/// Whether `path` is writable through one of the mounts (at or below a
/// writable mount target).
pub fn covered(mounts: &[Mount], path: &str) -> bool {
    mounts.iter().any(|m| {
        !m.read_only
            && (path == m.target || m.target == "/" || path.starts_with(&format!("{}/", m.target)))
    })
}

pub fn check(
    ctx: &Ctx,
    svc: &Service,
    plan: &ServicePlan,
    out: &mut Output,
    new_volumes: &mut Vec<String>,
) {
    if svc.allows(NAME) || svc.allows(super::writable_rootfs::NAME) || plan.carve_outs.is_empty() {
        return;
    }
    let subject = format!("service {}", svc.name);
    let mut tmpfs = Vec::new();
    let mut volumes = Vec::new();
    for c in &plan.carve_outs {
        out.findings.push(svc.finding(NAME, format!("service `{}` writes `{}`, which is not writable once the root filesystem is read-only", svc.name, c.path),
        ));
        match &c.carve {
            Carve::Tmpfs { .. } => tmpfs.push(c),
            Carve::Volume { .. } => volumes.push(c),
        }
    }
    if !tmpfs.is_empty() {
        let items: Vec<String> = tmpfs.iter().map(|c| c.entry()).collect();
        if ctx.add_items(svc, "tmpfs", &items, NAME, out) {
            for c in &tmpfs {
                out.note(&subject, NAME, format!("tmpfs `{}`: {}", c.entry(), c.why));
            }
        }
    }
    if !volumes.is_empty() {
        let items: Vec<String> = volumes.iter().map(|c| c.entry()).collect();
        if ctx.add_items(svc, "volumes", &items, NAME, out) {
            let mut moved = Vec::new();
            for c in &volumes {
                if let Carve::Volume { name, cache } = &c.carve {
                    new_volumes.push(name.clone());
                    out.note(&subject, NAME, format!("volume `{}`: {}", c.entry(), c.why));
                    if !cache {
                        moved.push(format!("`{}`", c.path));
                    }
                }
            }
            // What a container that ran before wrote there stays behind in
            // its own layer or an anonymous volume: the new named volume
            // starts from the image's content.
            if !moved.is_empty() {
                let cp = match moved.as_slice() {
                    [one] => format!(
                        "`docker compose cp {}:{} ./saved`",
                        svc.name,
                        one.trim_matches('`')
                    ),
                    _ => format!("`docker compose cp {}:PATH ./saved`, per path", svc.name),
                };
                out.review(
                    &subject,
                    NAME,
                    format!(
                        "if the service already ran, what it wrote to {} is in the old container (or an anonymous volume), not in the new volume: save it before `docker compose up` recreates the container ({cp}) and copy it back after",
                        join_and(&moved)
                    ),
                );
            }
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_volumes() {
        assert_eq!(
            short_volume("data:/var/lib/x").unwrap().target,
            "/var/lib/x"
        );
        assert!(short_volume("data:/var/lib/x").unwrap().named);
        assert!(!short_volume("./data:/var/lib/x").unwrap().named);
        assert!(short_volume("./conf:/etc/x:ro").unwrap().read_only);
        assert_eq!(short_volume("/cache").unwrap().target, "/cache");
        assert!(short_volume("/cache").unwrap().anonymous);
        assert!(!short_volume("data:/cache").unwrap().anonymous);
        assert!(!short_volume("./cache:/cache").unwrap().anonymous);
        assert_eq!(short_volume("C:\\data:/data").unwrap().target, "/data");
    }

    #[test]
    fn coverage() {
        let m = vec![Mount {
            target: "/var".into(),
            tmpfs: false,
            read_only: false,
            named: true,
            anonymous: false,
        }];
        assert!(covered(&m, "/var/tmp"));
        assert!(!covered(&m, "/variant"));
        assert!(!covered(&m, "/tmp"));
    }
}
