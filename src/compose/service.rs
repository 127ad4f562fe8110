//! A compose service as the rules see it: its own keys, the keys it gets
//! through `<<` merge keys and `extends`, the values the project's later
//! files set for it, and its `x-harden` exception.

use super::tree::{Document, Entry, Kind, Node};
use std::path::{Path, PathBuf};

/// Where a service's value for a key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// Written in the service itself.
    Own,
    /// Taken from elsewhere in the file: a `<<` merge or an `extends`.
    Merged(From<'a>),
}

/// Where a value that is not the service's own comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From<'a> {
    /// A `<<` merge key; the anchor's name where it has one.
    Anchor(Option<&'a str>),
    /// `extends: {service: NAME}` in the same file.
    Extends(&'a str),
    /// `extends: {file: FILE, service: NAME}`: (service, file as written).
    ExtendsFile(&'a str, &'a str),
}

impl std::fmt::Display for From<'_> {
    /// How notes say where a value came from: ` from `&defaults``.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            From::Anchor(Some(a)) => write!(f, " from `&{a}`"),
            From::Anchor(None) => write!(f, " through `<<`"),
            From::Extends(s) => write!(f, " from service `{s}` (extends)"),
            From::ExtendsFile(s, file) => write!(f, " from service `{s}` of {file} (extends)"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Service<'a> {
    pub name: &'a str,
    /// The key node (`web:`), for positions.
    pub key: &'a Node,
    /// The service's mapping.
    pub map: &'a Node,
    pub doc: &'a Document,
    /// The other files the service's values come from.
    pub project: Project<'a>,
}

/// How a compose file relates to the other files of its project, as
/// Compose merges them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Project<'a> {
    /// The files Compose reads after this one (`compose.override.yaml`, or
    /// the later `-f` files), in order, with their names for notes: their
    /// values win over this file's, and their lists are appended.
    pub overlays: &'a [(&'a Document, &'a str)],
    /// The files Compose reads before this one: a service they define is
    /// hardened there (the edits go to the file where it is defined).
    pub bases: &'a [&'a Document],
    /// Compose files that `extends: {file: ...}` or `include` name, read
    /// for their values, by canonical path.
    pub others: &'a [(PathBuf, &'a Document)],
    /// This file's folder, canonical, against which `extends.file` is
    /// resolved.
    pub dir: Option<&'a Path>,
}

impl<'a> Project<'a> {
    /// The services this file hardens, in file order.
    pub fn services(&self, doc: &'a Document) -> impl Iterator<Item = Service<'a>> + 'a {
        let bases = self.bases;
        own_services(doc, *self)
            .filter(move |s| !bases.iter().any(|b| service_map(b, s.name).is_some()))
    }

    /// A file `extends.file` or `include` names, relative to this file.
    /// Looked up by the joined path first (`dir` is canonical already), so
    /// the values of every key of a service do not each cost system calls;
    /// only a path through a symbolic link needs resolving.
    fn other(&self, file: &str) -> Option<(&'a Path, &'a Document)> {
        let joined = crate::paths::normalize(&self.dir?.join(file));
        let find = |path: &Path| {
            self.others
                .iter()
                .find(|(p, _)| p == path)
                .map(|(p, d)| (p.as_path(), *d))
        };
        find(&joined).or_else(|| find(&crate::paths::canonical(&joined)))
    }
}

/// The mapping of service `name` in a compose document.
fn service_map<'a>(doc: &'a Document, name: &str) -> Option<&'a Node> {
    let services = doc.resolve(&doc.root.get("services")?.value);
    let map = doc.resolve(&services.get(name)?.value);
    matches!(map.kind, Kind::Map { .. }).then_some(map)
}

/// The `x-harden` exception of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exception {
    pub allow: Vec<String>,
    pub reason: Option<String>,
    /// `probe:` what "works" means for the service, as a command `harden
    /// verify` runs in its container: a string (run by `sh -c`) or a list
    /// (run as it is). `Some(empty)` when it is written in another shape.
    pub probe: Option<Vec<String>>,
    pub line: usize,
    pub col: usize,
}

impl<'a> Service<'a> {
    /// The service's own entry for `key`.
    pub fn own(&self, key: &str) -> Option<&'a Entry> {
        self.map.get(key)
    }

    /// The value the service has for `key`, own first, then merged maps in
    /// the order YAML merge keys give them.
    pub fn effective(&self, key: &str) -> Option<(&'a Node, Origin<'a>)> {
        if let Some(e) = self.own(key) {
            return Some((self.doc.resolve(&e.value), Origin::Own));
        }
        let mut seen = 0;
        if let Some((n, a)) = lookup_merged(self.doc, self.map, key, &mut seen) {
            return Some((n, Origin::Merged(From::Anchor(a))));
        }
        // `extends`: the extended service's values apply where this one
        // sets none, in this file or in the file `extends.file` names.
        let mut cur = *self;
        for _ in 0..MAX_EXTENDS {
            let (base, file) = cur.extends()?;
            let from = match file {
                Some(f) => From::ExtendsFile(base.name, f),
                None => From::Extends(base.name),
            };
            if let Some(e) = base.own(key) {
                return Some((base.doc.resolve(&e.value), Origin::Merged(from)));
            }
            if let Some((n, _)) = lookup_merged(base.doc, base.map, key, &mut seen) {
                return Some((n, Origin::Merged(from)));
            }
            cur = base;
        }
        None
    }

    /// The service this one extends, and the file as `extends.file` names
    /// it when it is another file (read when harden could load it).
    fn extends(&self) -> Option<(Service<'a>, Option<&'a str>)> {
        let e = self.own("extends")?;
        let v = self.doc.resolve(&e.value);
        let (name, file) = match v.as_str() {
            Some(s) => (s, None),
            None => {
                let name = self.doc.resolve(&v.get("service")?.value).as_str()?;
                let file = match v.get("file") {
                    Some(f) => Some(self.doc.resolve(&f.value).as_str()?),
                    None => None,
                };
                (name, file)
            }
        };
        match file {
            None => own_services(self.doc, self.project)
                .into_iter()
                .find(|s| s.name == name && s.name != self.name)
                .map(|s| (s, None)),
            Some(f) => {
                let (path, doc) = self.project.other(f)?;
                // The other file's own `extends.file` is relative to it.
                let project = Project {
                    dir: path.parent(),
                    others: self.project.others,
                    ..Project::default()
                };
                let s = own_services(doc, project).find(|s| s.name == name)?;
                Some((s, Some(f)))
            }
        }
    }

    /// A finding about the service as a whole, at its key (`web:`).
    pub fn finding(
        &self,
        rule: &'static str,
        message: impl Into<String>,
    ) -> crate::finding::Finding {
        let (line, col) = self.doc.line_col(self.key);
        crate::finding::Finding::new(rule, line, col + 1, message)
    }

    /// The service as the project's later files define it, in order:
    /// (document, the service's mapping there, file name).
    pub fn overlays(&self) -> Vec<(&'a Document, &'a Node, &'a str)> {
        self.project
            .overlays
            .iter()
            .filter_map(|&(doc, file)| Some((doc, service_map(doc, self.name)?, file)))
            .collect()
    }

    /// The value the project's later files set for `key` (the last one
    /// wins, as Compose merges scalars), with its document and file name.
    fn overlay_in(&self, key: &str) -> Option<(&'a Document, &'a Node, &'a str)> {
        self.overlays()
            .into_iter()
            .rev()
            .find_map(|(doc, map, file)| Some((doc, doc.resolve(&map.get(key)?.value), file)))
    }

    /// The value the override file sets for `key`, and the file's name.
    /// Compose lets an override's scalar win and appends its lists.
    pub fn overlay(&self, key: &str) -> Option<(&'a Node, &'a str)> {
        self.overlay_in(key).map(|(_, v, file)| (v, file))
    }

    /// The scalar items of the lists the later files set for `key`, all
    /// of them (Compose appends them).
    pub fn overlay_strings(&self, key: &str) -> Vec<&'a str> {
        let mut out = Vec::new();
        for (doc, map, _) in self.overlays() {
            let Some(e) = map.get(key) else { continue };
            if let Kind::Seq { items, .. } = &doc.resolve(&e.value).kind {
                out.extend(items.iter().filter_map(|i| doc.resolve(i).as_str()));
            }
        }
        out
    }

    /// A scalar value as Compose sees it after merging the override file:
    /// its value wins. The position to report is the value's own when it is
    /// in this file, the service key's when it comes from another file (the
    /// override, or the file `extends.file` names).
    pub fn scalar(&self, key: &str) -> Option<(&'a Node, (usize, usize))> {
        if let Some((v, _)) = self.overlay(key) {
            let (line, col) = self.doc.line_col(self.key);
            return Some((v, (line, col + 1)));
        }
        self.effective(key)
            .map(|(v, origin)| (v, self.place(v, origin)))
    }

    /// Where to report a value [`Self::effective`] found (1-based line and
    /// column): its own place when it is in this file, the service key's
    /// when it comes from the file `extends.file` names.
    pub fn place(&self, value: &Node, origin: Origin) -> (usize, usize) {
        let node = match origin {
            Origin::Merged(From::ExtendsFile(..)) => self.key,
            _ => value,
        };
        let (line, col) = self.doc.line_col(node);
        (line, col + 1)
    }

    /// A finding of `rule` at `value` ([`Self::place`]).
    pub fn finding_at(
        &self,
        rule: &'static str,
        value: &Node,
        origin: Origin,
        message: impl Into<String>,
    ) -> crate::finding::Finding {
        let (line, col) = self.place(value, origin);
        crate::finding::Finding::new(rule, line, col, message)
    }

    /// The exception (`x-harden`), own, merged, or from the override file.
    pub fn exception(&self) -> Option<Exception> {
        let (doc, node) = match self.overlay_in("x-harden") {
            Some((doc, n, _)) => (doc, n),
            None => (self.doc, self.effective("x-harden")?.0),
        };
        let (line, col) = doc.line_col(node);
        let mut ex = Exception {
            line,
            col: col + 1,
            ..Default::default()
        };
        if let Some(allow) = node.get("allow") {
            let v = doc.resolve(&allow.value);
            match &v.kind {
                Kind::Seq { items, .. } => {
                    for i in items {
                        if let Some(s) = doc.resolve(i).as_str() {
                            ex.allow.push(s.trim().to_string());
                        }
                    }
                }
                Kind::Scalar { value, .. } => ex.allow.push(value.trim().to_string()),
                _ => {}
            }
        }
        if let Some(r) = node.get("reason") {
            if let Some(s) = doc.resolve(&r.value).as_str() {
                if !s.trim().is_empty() {
                    ex.reason = Some(s.trim().to_string());
                }
            }
        }
        if let Some(p) = node.get("probe") {
            let v = doc.resolve(&p.value);
            ex.probe = Some(match &v.kind {
                Kind::Seq { items, .. } => items
                    .iter()
                    .map(|i| doc.resolve(i).as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default(),
                _ => match v.as_str() {
                    Some(s) if !s.trim().is_empty() => {
                        vec!["sh".into(), "-c".into(), s.to_string()]
                    }
                    _ => Vec::new(),
                },
            });
        }
        Some(ex)
    }

    /// Whether the service is exempted from `rule`.
    pub fn allows(&self, rule: &str) -> bool {
        self.exception()
            .is_some_and(|e| e.allow.iter().any(|a| a == rule || a == "all"))
    }
}

/// Guards against `extends` cycles.
const MAX_EXTENDS: usize = 16;

/// Guards against merge cycles and merge bombs.
const MAX_MERGE_VISITS: usize = 1000;

fn lookup_merged<'a>(
    doc: &'a Document,
    map: &'a Node,
    key: &str,
    seen: &mut usize,
) -> Option<(&'a Node, Option<&'a str>)> {
    let merge = map.get("<<")?;
    let sources: Vec<&'a Node> = match &merge.value.kind {
        Kind::Seq { items, .. } => items.iter().collect(),
        _ => vec![&merge.value],
    };
    for s in sources {
        *seen += 1;
        if *seen > MAX_MERGE_VISITS {
            return None;
        }
        let anchor = match &s.kind {
            Kind::Alias { name } => Some(&**name),
            _ => None,
        };
        let target = doc.resolve(s);
        if let Some(e) = target.get(key) {
            return Some((doc.resolve(&e.value), anchor.or(doc.anchor_of(target))));
        }
        if let Some(found) = lookup_merged(doc, target, key, seen) {
            return Some(found);
        }
    }
    None
}

/// The services of a compose document, in file order, read on their own
/// (no other file of the project). A service written as an alias
/// (`web: *base`) is skipped: editing it would edit the anchor.
pub fn services(doc: &Document) -> impl Iterator<Item = Service<'_>> {
    own_services(doc, Project::default())
}

/// An iterator rather than a list: a large file has tens of thousands of
/// services, and each is checked and dropped in turn.
fn own_services<'a>(
    doc: &'a Document,
    project: Project<'a>,
) -> impl Iterator<Item = Service<'a>> + 'a {
    let entries: &'a [Entry] = match doc.root.get("services").map(|s| &s.value.kind) {
        Some(Kind::Map { entries, .. }) => entries,
        _ => &[],
    };
    entries.iter().filter_map(move |e| {
        let name = e.key.as_str()?;
        match &e.value.kind {
            Kind::Map { .. } => Some(Service {
                name,
                key: &e.key,
                map: &e.value,
                doc,
                project,
            }),
            _ => None,
        }
    })
}
