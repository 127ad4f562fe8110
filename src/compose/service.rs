//! A compose service as the rules see it: its own keys, the keys it gets
//! through `<<` merge keys and `extends`, the values the project's later
//! files set for it, and its `x-harden` exception.

use super::tree::{Document, Entry, Kind, Node, ScalarStyle};
use crate::finding::NoteKind;
use crate::finding::Output;
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
    /// How the file reaches the service when it is not written out in
    /// place under `services:`; harden then reports and does not edit it.
    pub through: Option<Through<'a>>,
}

/// How Compose reaches a service that is not written in place under
/// `services:`. Its mapping lives elsewhere (an anchor other keys may
/// share), so editing it would change more than this service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Through<'a> {
    /// `services: *name`: the whole services mapping is an alias.
    Services(&'a str),
    /// `services: {<<: *name}` (or a `<<` at the top that brings
    /// `services`): the service comes from a merged mapping; the anchor's
    /// name where it has one.
    Merge(Option<&'a str>),
    /// `web: *name`: the service's mapping is an alias.
    Alias(&'a str),
}

impl std::fmt::Display for Through<'_> {
    /// How the review note says where the service is written.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Through::Services(a) => write!(f, "through `services: *{a}`"),
            Through::Merge(Some(a)) => write!(f, "through the merge `<<: *{a}`"),
            Through::Merge(None) => write!(f, "through a `<<` merge"),
            Through::Alias(a) => write!(f, "as the alias `*{a}`"),
        }
    }
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
    /// This file is a variant and `overlays` are the base files it is
    /// merged onto: Compose reads them first, and harden leaves the keys
    /// they set to them rather than override them here.
    pub variant: bool,
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

/// The mapping of service `name` in a compose document, however the file
/// reaches it.
fn service_map<'a>(doc: &'a Document, name: &str) -> Option<&'a Node> {
    own_services(doc, Project::default())
        .find(|s| s.name == name)
        .map(|s| s.map)
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
        entry(self.doc, self.map, key)
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
            .find_map(|(doc, map, file)| {
                Some((doc, doc.resolve(&entry(doc, map, key)?.value), file))
            })
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
            let Some(e) = entry(doc, map, key) else {
                continue;
            };
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
        if let Some(allow) = entry(doc, node, "allow") {
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
        if let Some(r) = entry(doc, node, "reason") {
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

/// How much the rules had put into an [`Output`] before a service's turn,
/// so that what they make for a service harden does not edit can be taken
/// back.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    findings: usize,
    edits: usize,
    notes: usize,
    replaced: usize,
    volumes: usize,
}

impl Mark {
    /// `out`, with its new top-level volumes, as it is now.
    pub fn of(out: &Output) -> Mark {
        Mark {
            findings: out.findings.len(),
            edits: out.edits.len(),
            notes: out.notes.len(),
            replaced: out.replaced.len(),
            volumes: out.new_volumes.len(),
        }
    }
}

impl Service<'_> {
    /// A service the file does not write in place (see [`Through`]) is
    /// reported, not edited: what the rules made for it since `mark` keeps
    /// its findings, now marked as not repaired by `harden fix`, and loses
    /// its edits and the notes explaining them; a review note says why.
    pub fn report_only_since(&self, mark: Mark, out: &mut Output) {
        let Some(through) = self.through else {
            return;
        };
        mark.report_only(
            out,
            &format!("service {}", self.name),
            format!(
                "the file defines this service {through}: harden does not edit it in place, since that mapping is written elsewhere and may be shared; apply the findings by hand, or write the service out under `services:` and run `harden fix` again"
            ),
        );
    }
}

impl Mark {
    /// What the rules made since this mark is reported, not applied: the
    /// findings stay, marked as not repaired by `harden fix`; the edits and
    /// the notes explaining them go; a review note on `subject` says why.
    pub fn report_only(self, out: &mut Output, subject: &str, why: String) {
        let ours = self.findings.min(out.findings.len());
        if out.findings.len() == ours && out.edits.len() == self.edits {
            return;
        }
        for f in &mut out.findings[ours..] {
            f.fixable = false;
        }
        out.edits.truncate(self.edits);
        out.replaced.truncate(self.replaced);
        out.new_volumes.truncate(self.volumes);
        let from = self.notes.min(out.notes.len());
        let kept: Vec<_> = out
            .notes
            .drain(from..)
            .filter(|n| n.kind != NoteKind::Change)
            .collect();
        out.notes.extend(kept);
        out.review(subject, "", why);
    }
}

/// The entry of `map` whose key is `key`, as Compose reads keys: a key
/// written as an alias (`*p : true`, with `&p privileged` elsewhere) is the
/// key it names, so it cannot hide a setting from the rules.
pub fn entry<'a>(doc: &'a Document, map: &'a Node, key: &str) -> Option<&'a Entry> {
    match &map.kind {
        Kind::Map { entries, .. } => entries
            .iter()
            .find(|e| doc.resolve(&e.key).as_str() == Some(key)),
        _ => None,
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
        if let Some(e) = entry(doc, target, key) {
            return Some((doc.resolve(&e.value), anchor.or(doc.anchor_of(target))));
        }
        if let Some(found) = lookup_merged(doc, target, key, seen) {
            return Some(found);
        }
    }
    None
}

/// The services of a compose document, in file order, read on their own
/// (no other file of the project), however the file reaches them: see
/// [`own_services`].
pub fn services(doc: &Document) -> impl Iterator<Item = Service<'_>> {
    own_services(doc, Project::default())
}

/// The services Compose runs from a document, resolved as Compose resolves
/// them: the `services` mapping may be an alias, a service key or mapping
/// may be an alias, and `<<` merge keys in the `services` mapping add the
/// services of the merged mappings whose names the mapping does not set
/// itself (earlier merged mappings first). Services the file does not
/// write in place carry [`Service::through`].
///
/// An iterator rather than a list: a large file has tens of thousands of
/// services, and each is checked and dropped in turn. Only the services
/// merged in are gathered first, to tell which names the mapping sets.
fn own_services<'a>(
    doc: &'a Document,
    project: Project<'a>,
) -> impl Iterator<Item = Service<'a>> + 'a {
    // The `services` mapping: written at the top, as an alias, or merged
    // into the top level with `<<`.
    let found = match entry(doc, &doc.root, "services") {
        Some(e) => Some((
            doc.resolve(&e.value),
            match &e.value.kind {
                Kind::Alias { name } => Some(Through::Services(name)),
                _ => None,
            },
        )),
        None => lookup_merged(doc, &doc.root, "services", &mut 0)
            .map(|(v, anchor)| (v, Some(Through::Merge(anchor)))),
    };
    let (entries, whole): (&'a [Entry], _) = match found {
        Some((
            Node {
                kind: Kind::Map { entries, .. },
                ..
            },
            whole,
        )) => (entries, whole),
        _ => (&[], None),
    };
    let service = move |e: &'a Entry, through: Option<Through<'a>>| {
        let name = doc.resolve(&e.key).as_str()?;
        let map = doc.resolve(&e.value);
        if !matches!(map.kind, Kind::Map { .. }) {
            return None;
        }
        let alias = match &e.value.kind {
            Kind::Alias { name } => Some(Through::Alias(name)),
            _ => None,
        };
        Some(Service {
            name,
            key: &e.key,
            map,
            doc,
            project,
            through: through.or(alias),
        })
    };
    let mut merged = Vec::new();
    if entries.iter().any(|e| is_merge(&e.key)) {
        let mut names: Vec<&str> = entries
            .iter()
            .filter(|e| !is_merge(&e.key))
            .filter_map(|e| doc.resolve(&e.key).as_str())
            .collect();
        let mut visits = 0;
        merged_services(doc, entries, &mut names, &mut visits, &mut |e, anchor| {
            if let Some(s) = service(e, whole.or(Some(Through::Merge(anchor)))) {
                merged.push(s);
            }
        });
    }
    entries
        .iter()
        .filter(|e| !is_merge(&e.key))
        .filter_map(move |e| service(e, whole))
        .chain(merged)
}

/// A `<<` merge key, as YAML and Compose read it.
fn is_merge(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { value, style: ScalarStyle::Plain, .. } if &**value == "<<")
}

/// The entries the `<<` keys of `entries` merge in, depth first in the
/// order YAML gives them, each name once (`names`: those set already), with
/// the anchor each comes through. `visits` bounds cycles and merge bombs.
fn merged_services<'a>(
    doc: &'a Document,
    entries: &'a [Entry],
    names: &mut Vec<&'a str>,
    visits: &mut usize,
    found: &mut dyn FnMut(&'a Entry, Option<&'a str>),
) {
    for merge in entries.iter().filter(|e| is_merge(&e.key)) {
        let sources: Vec<&'a Node> = match &doc.resolve(&merge.value).kind {
            Kind::Seq { items, .. } => items.iter().collect(),
            _ => vec![&merge.value],
        };
        for source in sources {
            *visits += 1;
            if *visits > MAX_MERGE_VISITS {
                return;
            }
            let anchor = match &source.kind {
                Kind::Alias { name } => Some(&**name),
                _ => None,
            };
            let target = doc.resolve(source);
            let Kind::Map { entries: inner, .. } = &target.kind else {
                continue;
            };
            let anchor = anchor.or(doc.anchor_of(target));
            for e in inner.iter().filter(|e| !is_merge(&e.key)) {
                let Some(name) = doc.resolve(&e.key).as_str() else {
                    continue;
                };
                if !names.contains(&name) {
                    names.push(name);
                    found(e, anchor);
                }
            }
            // The merged mapping's own merges come after its own keys.
            merged_services(doc, inner, names, visits, &mut |e, a| {
                found(e, a.or(anchor))
            });
        }
    }
}
