//! A compose service as the rules see it: its own keys, the keys it gets
//! through `<<` merge keys, and its `x-harden` exception.

use super::tree::{Document, Entry, Kind, Node};

/// Where a service's value for a key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// Written in the service itself.
    Own,
    /// Merged in with `<<`; the anchor's name where it has one.
    Merged(Option<&'a str>),
}

#[derive(Debug, Clone, Copy)]
pub struct Service<'a> {
    pub name: &'a str,
    /// The key node (`web:`), for positions.
    pub key: &'a Node,
    /// The service's mapping.
    pub map: &'a Node,
    pub doc: &'a Document,
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
        lookup_merged(self.doc, self.map, key, &mut seen).map(|(n, a)| (n, Origin::Merged(a)))
    }

    /// The exception (`x-harden`), own or merged.
    pub fn exception(&self) -> Option<Exception> {
        let (node, _) = self.effective("x-harden")?;
        let mut ex = Exception {
            line: node.line,
            col: node.col + 1,
            ..Default::default()
        };
        if let Some(allow) = node.get("allow") {
            let v = self.doc.resolve(&allow.value);
            match &v.kind {
                Kind::Seq { items, .. } => {
                    for i in items {
                        if let Some(s) = self.doc.resolve(i).as_str() {
                            ex.allow.push(s.trim().to_string());
                        }
                    }
                }
                Kind::Scalar { value, .. } => ex.allow.push(value.trim().to_string()),
                _ => {}
            }
        }
        if let Some(r) = node.get("reason") {
            if let Some(s) = self.doc.resolve(&r.value).as_str() {
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
            Kind::Alias { name } => Some(name.as_str()),
            _ => None,
        };
        let target = doc.resolve(s);
        if let Some(e) = target.get(key) {
            return Some((doc.resolve(&e.value), anchor.or(target.anchor.as_deref())));
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
                }),
                _ => None,
            }
        })
        .collect()
}
