//! The paths mounted into a compose service (`tmpfs` entries and `volumes`
//! in short and long syntax), as the rules, the plan and `verify` read them:
//! one parser, so that what harden adds and what verify checks agree.

use super::service::Service;
use super::tree::{Document, Kind, Node};
use super::Ctx;

/// The scratch tmpfs every read-only service gets.
/// (Its size is `tmpfs-size` in harden.toml, `crate::config::DEFAULT_TMPFS_SIZE` by default.)
pub const TMP: &str = "/tmp";

/// A mount target of a service and how it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub target: String,
    pub tmpfs: bool,
    pub read_only: bool,
    /// A named volume (its ownership comes from the image on first use),
    /// as opposed to a bind mount or tmpfs.
    pub named: bool,
    /// The source as written (a volume name or a host path); empty for a
    /// tmpfs and an anonymous volume.
    pub source: String,
    /// A tmpfs's options (`size=64m,mode=1777`), a volume's mode (`ro,z`).
    pub options: String,
}

impl Mount {
    /// A host path mounted in: data or configuration the author provides,
    /// not a carve-out harden made.
    pub fn bind(&self) -> bool {
        !self.tmpfs && !self.named && !self.source.is_empty()
    }

    /// An anonymous volume (`- /app/node_modules`): like a named one it
    /// starts from the image's directory, and compose carries it over when
    /// it recreates the container.
    pub fn anonymous(&self) -> bool {
        !self.tmpfs && !self.named && self.source.is_empty()
    }
}

/// Every path mounted into the service: `tmpfs` entries and `volumes` in
/// short (`src:dst[:mode]`) and long (`{type, source, target}`) syntax.
pub fn mounts(ctx: &Ctx, svc: &Service) -> Vec<Mount> {
    mounts_of(ctx.doc, svc)
}

/// [`mounts`] of a service of `doc`, without the rest of a rule's context.
pub fn mounts_of(doc: &Document, svc: &Service) -> Vec<Mount> {
    let mut out = mounts_in(
        doc,
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
            let (target, options) = s.split_once(':').unwrap_or((&s, ""));
            out.push(Mount {
                target: target.trim().to_string(),
                tmpfs: true,
                read_only: false,
                named: false,
                source: String::new(),
                options: options.trim().to_string(),
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
                    let str_of = |m: &Node, k: &str| {
                        m.get(k)
                            .and_then(|e| doc.resolve(&e.value).as_str())
                            .map(str::to_string)
                    };
                    let source = str_of(item, "source").unwrap_or_default();
                    let has_source = item.get("source").is_some();
                    // `tmpfs: {size: 64m, mode: 1777}` as the short form's options.
                    let options = item
                        .get("tmpfs")
                        .map(|e| doc.resolve(&e.value))
                        .map(|t| {
                            ["size", "mode"]
                                .iter()
                                .filter_map(|k| str_of(t, k).map(|v| format!("{k}={v}")))
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .unwrap_or_default();
                    let ro = item
                        .get("read_only")
                        .and_then(|e| doc.resolve(&e.value).as_str())
                        .is_some_and(super::is_true);
                    out.push(Mount {
                        target: t.trim().to_string(),
                        tmpfs: ty == "tmpfs",
                        read_only: ro,
                        named: ty == "volume" && has_source,
                        source,
                        options,
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
        source: match parts.as_slice() {
            [d, p, _, ..] if source == "C:" => format!("{d}:{p}"),
            _ => source.to_string(),
        },
        options: mode.unwrap_or("").to_string(),
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
        assert!(short_volume("/cache").unwrap().anonymous());
        assert!(!short_volume("data:/cache").unwrap().anonymous());
        assert!(!short_volume("./cache:/cache").unwrap().anonymous());
        assert_eq!(short_volume("C:\\data:/data").unwrap().target, "/data");
        assert_eq!(short_volume("C:\\data:/data").unwrap().source, "C:\\data");
        assert!(short_volume("./conf:/etc/x:ro").unwrap().bind());
        assert!(!short_volume("data:/x").unwrap().bind());
        assert!(!short_volume("/cache").unwrap().bind());
        assert_eq!(short_volume("./conf:/etc/x:ro,z").unwrap().options, "ro,z");
    }

    #[test]
    fn coverage() {
        let m = vec![Mount {
            target: "/var".into(),
            tmpfs: false,
            read_only: false,
            named: true,
            source: "var".into(),
            options: String::new(),
        }];
        assert!(covered(&m, "/var/tmp"));
        assert!(!covered(&m, "/variant"));
        assert!(!covered(&m, "/tmp"));
    }
}
