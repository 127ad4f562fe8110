//! A compose service as the rules see it: its own keys, the keys it gets
//! through `<<` merge keys, and its `x-harden` exception.

use super::tree::{Document, Entry, Kind, Node};

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
}

impl std::fmt::Display for From<'_> {
    /// How notes say where a value came from: ` from `&defaults``.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            From::Anchor(Some(a)) => write!(f, " from `&{a}`"),
            From::Anchor(None) => write!(f, " through `<<`"),
            From::Extends(s) => write!(f, " from service `{s}` (extends)"),
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
    /// The same service in the project's override file
    /// (`compose.override.yaml`), whose values win when Compose merges them.
    pub overlay: Option<Overlay<'a>>,
}

/// A service's definition in the override file of the same project.
#[derive(Debug, Clone, Copy)]
pub struct Overlay<'a> {
    pub map: &'a Node,
    pub doc: &'a Document,
    /// The override file's name, for notes.
    pub file: &'a str,
}

/// The `x-harden` exception of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exception {
    pub allow: Vec<String>,
    pub reason: Option<String>,
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
        // `extends` in the same file: the extended service's values apply
        // where this one sets none (another file's is not read).
        let mut cur = *self;
        for _ in 0..MAX_EXTENDS {
            let base = cur.extends()?;
            if let Some(e) = base.own(key) {
                return Some((
                    self.doc.resolve(&e.value),
                    Origin::Merged(From::Extends(base.name)),
                ));
            }
            if let Some((n, _)) = lookup_merged(self.doc, base.map, key, &mut seen) {
                return Some((n, Origin::Merged(From::Extends(base.name))));
            }
            cur = base;
        }
        None
    }

    /// The service this one extends in the same file, if any.
    fn extends(&self) -> Option<Service<'a>> {
        let e = self.own("extends")?;
        let v = self.doc.resolve(&e.value);
        let name = match v.as_str() {
            Some(s) => s,
            None => {
                if v.get("file").is_some() {
                    return None;
                }
                self.doc.resolve(&v.get("service")?.value).as_str()?
            }
        };
        own_services(self.doc)
            .into_iter()
            .find(|s| s.name == name && s.name != self.name)
    }

    /// A finding about the service as a whole, at its key (`web:`).
    pub fn finding(
        &self,
        rule: &'static str,
        message: impl Into<String>,
    ) -> crate::finding::Finding {
        crate::finding::Finding::new(rule, self.key.line(), self.key.col() + 1, message)
    }

    /// The value the override file sets for `key`, and the file's name.
    /// Compose lets an override's scalar win and appends its lists.
    pub fn overlay(&self, key: &str) -> Option<(&'a Node, &'a str)> {
        let o = self.overlay?;
        let e = o.map.get(key)?;
        Some((o.doc.resolve(&e.value), o.file))
    }

    /// The scalar items of a list the override file sets for `key`.
    pub fn overlay_strings(&self, key: &str) -> Vec<&'a str> {
        let (Some((v, _)), Some(o)) = (self.overlay(key), self.overlay) else {
            return Vec::new();
        };
        match &v.kind {
            Kind::Seq { items, .. } => items
                .iter()
                .filter_map(|i| o.doc.resolve(i).as_str())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A scalar value as Compose sees it after merging the override file:
    /// its value wins. The position to report is the value's own when it is
    /// in this file, the service key's when it comes from the override.
    pub fn scalar(&self, key: &str) -> Option<(&'a Node, (usize, usize))> {
        if let Some((v, _)) = self.overlay(key) {
            return Some((v, (self.key.line(), self.key.col() + 1)));
        }
        self.effective(key)
            .map(|(v, _)| (v, (v.line(), v.col() + 1)))
    }

    /// The exception (`x-harden`), own, merged, or from the override file.
    pub fn exception(&self) -> Option<Exception> {
        let node = match self.overlay("x-harden") {
            Some((n, _)) => n,
            None => self.effective("x-harden")?.0,
        };
        let doc = match self.overlay("x-harden") {
            Some(_) => self.overlay.map_or(self.doc, |o| o.doc),
            None => self.doc,
        };
        let mut ex = Exception {
            line: node.line(),
            col: node.col() + 1,
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
            return Some((doc.resolve(&e.value), anchor.or(target.anchor())));
        }
        if let Some(found) = lookup_merged(doc, target, key, seen) {
            return Some(found);
        }
    }
    None
}

/// The services of a compose document, in file order. A service written as
/// an alias (`web: *base`) is skipped: editing it would edit the anchor.
pub fn services(doc: &Document) -> Vec<Service<'_>> {
    services_with(doc, None)
}

/// The services of a compose document with their definitions in the
/// project's override file, when there is one.
pub fn services_with<'a>(
    doc: &'a Document,
    overlay: Option<(&'a Document, &'a str)>,
) -> Vec<Service<'a>> {
    let mut out = own_services(doc);
    if let Some((odoc, file)) = overlay {
        let theirs = own_services(odoc);
        for s in &mut out {
            s.overlay = theirs.iter().find(|o| o.name == s.name).map(|o| Overlay {
                map: o.map,
                doc: odoc,
                file,
            });
        }
    }
    out
}

fn own_services(doc: &Document) -> Vec<Service<'_>> {
    let Some(services) = doc.root.get("services") else {
        return Vec::new();
    };
    let Kind::Map { entries, .. } = &services.value.kind else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let name = e.key.as_str()?;
            match &e.value.kind {
                Kind::Map { .. } => Some(Service {
                    name,
                    key: &e.key,
                    map: &e.value,
                    doc,
                    overlay: None,
                }),
                _ => None,
            }
        })
        .collect()
}
