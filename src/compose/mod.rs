//! Compose files: a span tree over yaml-rust2 events, format-preserving
//! patches, and the per-service rules.

pub mod mounts;
pub mod patch;
pub mod service;
pub mod tree;

use crate::config::Config;
use crate::edit::Edit;
use crate::error::FileError;
use crate::finding::{pointer, Output};
use crate::source::Source;
use patch::{Layout, NewValue};
pub use service::Project;
use service::Service;
use std::sync::Arc;
use tree::{Document, Kind, Limits, Node};

/// What the rules need of a parsed compose file.
pub struct Ctx<'a> {
    pub src: &'a Source,
    pub doc: &'a Document,
    pub layout: Layout,
    /// The run's harden.toml (or the baseline).
    pub config: &'a Config,
    /// Edits are wanted. A check shows none, so the helpers that make them
    /// do nothing and report nothing added (the findings come before).
    pub edits: bool,
}

impl Ctx<'_> {
    /// Add a key to a service; a shape harden cannot edit becomes a note.
    pub fn add_entry(
        &self,
        svc: &Service,
        key: &str,
        value: &NewValue,
        out: &mut Output,
    ) -> Option<Edit> {
        if !self.edits {
            return None;
        }
        match patch::add_entry(
            self.src,
            &self.layout.within(self.doc, svc.map),
            svc.map,
            key,
            value,
        ) {
            Ok(e) => Some(e),
            Err(u) => cannot_add(svc, key, &u, out),
        }
    }

    pub fn append_item(
        &self,
        svc: &Service,
        seq: &Node,
        item: &str,
        out: &mut Output,
    ) -> Option<Edit> {
        if !self.edits {
            return None;
        }
        match patch::append_item(self.src, &self.layout, seq, item) {
            Ok(e) => Some(e),
            Err(u) => cannot_add(svc, item, &u, out),
        }
    }

    /// Make sure the service's list `key` holds `items`, in the list's own
    /// style: appended to the service's list, written below a key that has
    /// no value, a new key when there is none, or the service's own list
    /// (copying merged entries, since an own list replaces a merged one).
    /// Returns false when the shape cannot be edited (a review note says so).
    pub fn add_items(
        &self,
        svc: &Service,
        key: &str,
        items: &[String],
        rule: &'static str,
        out: &mut Output,
    ) -> bool {
        if !self.edits {
            return false;
        }
        let subject = format!("service {}", svc.name);
        match svc.effective(key) {
            None => {
                let e = self.add_entry(svc, key, &NewValue::Seq(items.to_vec()), out);
                push_edit(out, e)
            }
            Some((v, service::Origin::Own)) => match &v.kind {
                Kind::Seq { .. } => self.append_all(svc, v, items, out),
                _ if v.is_null() => {
                    out.edits
                        .extend(self.fill_null(svc, v, &NewValue::Seq(items.to_vec())));
                    true
                }
                // A tag says what the value means, and would stay in front of
                // the new list: a tagged scalar is left for the author
                // (found by fuzzing: `!t true` became a list of a boolean).
                Kind::Scalar {
                    value,
                    style,
                    tag: tree::Tag::None,
                } => {
                    // `tmpfs: /run` → `tmpfs: [/run, ...]`: a scalar cannot grow,
                    // so this is the one place a value is rewritten. The
                    // author's scalar is kept as written where it means the
                    // same inside brackets (a number stays a number).
                    let written = self
                        .src
                        .text
                        .get(v.start()..v.end())
                        .filter(|t| same_in_flow(t, *style));
                    let new = patch::flow_value(&NewValue::Seq(items.to_vec()));
                    let list = match written {
                        Some(t) => format!("[{t}, {}", new.trim_start_matches('[')),
                        None => {
                            let mut all = vec![value.to_string()];
                            all.extend(items.iter().cloned());
                            patch::flow_value(&NewValue::Seq(all))
                        }
                    };
                    out.edits.push(patch::replace_scalar(self.src, v, &list));
                    out.replaced.push(pointer(&["services", svc.name, key]));
                    out.note(
                        &subject,
                        rule,
                        format!("`{key}: {value}` becomes a list so that entries can be added"),
                    );
                    true
                }
                _ => {
                    out.review(
                        &subject,
                        rule,
                        format!(
                            "`{key}` has a shape harden does not edit; add {} by hand",
                            items.join(", ")
                        ),
                    );
                    false
                }
            },
            Some((v, service::Origin::Merged(anchor))) => {
                let mut all = self.strings(v);
                all.extend(items.iter().cloned());
                match self.add_entry(svc, key, &NewValue::Seq(all), out) {
                    Some(e) => {
                        out.edits.push(e);
                        out.note(
                            &subject,
                            rule,
                            format!("`{key}` added to the service with the entries merged{} kept (a service's own list replaces a merged one)", anchor),
                        );
                        true
                    }
                    None => false,
                }
            }
        }
    }

    /// Give a key of the service that has no value (`cap_drop:`, or a
    /// written null) block lines below it.
    pub fn fill_null(&self, svc: &Service, value: &Node, new: &NewValue) -> Vec<Edit> {
        patch::fill_null_block(self.src, &self.layout, self.doc.col(svc.map), value, new)
    }

    /// Append every item to a sequence; false (with a review note) when one
    /// cannot be.
    fn append_all(&self, svc: &Service, seq: &Node, items: &[String], out: &mut Output) -> bool {
        for i in items {
            match self.append_item(svc, seq, i, out) {
                Some(e) => out.edits.push(e),
                None => return false,
            }
        }
        true
    }

    /// Add environment variables in the style the service already uses
    /// (`KEY: value` mapping or `- KEY=value` list).
    pub fn add_env(
        &self,
        svc: &Service,
        vars: &[(String, String)],
        rule: &'static str,
        out: &mut Output,
    ) -> bool {
        self.add_pairs(svc, "environment", vars, false, rule, out)
    }

    /// Add `NAME=value` pairs to a key Compose takes as a mapping or a list
    /// (`environment`, `sysctls`), in the style the service already uses;
    /// a new key is a list when `list_when_new` (podman-compose 1.0 reads
    /// `sysctls` only as a list), else a mapping.
    pub fn add_pairs(
        &self,
        svc: &Service,
        key: &str,
        vars: &[(String, String)],
        list_when_new: bool,
        rule: &'static str,
        out: &mut Output,
    ) -> bool {
        if !self.edits {
            return false;
        }
        let subject = format!("service {}", svc.name);
        let fresh = if list_when_new {
            NewValue::Seq(vars.iter().map(|(k, v)| format!("{k}={v}")).collect())
        } else {
            NewValue::Map(vars.to_vec())
        };
        match svc.effective(key) {
            None => {
                let e = self.add_entry(svc, key, &fresh, out);
                push_edit(out, e)
            }
            Some((v, service::Origin::Own)) => match &v.kind {
                Kind::Map { .. } => {
                    for (k, val) in vars {
                        match patch::add_entry(
                            self.src,
                            &self.layout,
                            v,
                            k,
                            &NewValue::Scalar(patch::scalar(
                                val,
                                matches!(
                                    v.kind,
                                    Kind::Map {
                                        style: tree::Style::Flow,
                                        ..
                                    }
                                ),
                            )),
                        ) {
                            Ok(e) => out.edits.push(e),
                            Err(_) => return false,
                        }
                    }
                    true
                }
                Kind::Seq { .. } => {
                    let items: Vec<String> =
                        vars.iter().map(|(k, val)| format!("{k}={val}")).collect();
                    self.append_all(svc, v, &items, out)
                }
                _ if v.is_null() => {
                    out.edits.extend(self.fill_null(svc, v, &fresh));
                    true
                }
                _ => {
                    out.review(
                        &subject,
                        rule,
                        format!(
                            "`{key}` has a shape harden does not edit; add the entries by hand"
                        ),
                    );
                    false
                }
            },
            Some((_, service::Origin::Merged(_))) => {
                out.review(
                    &subject,
                    rule,
                    format!(
                        "`{key}` comes through a merge key; add {} to it by hand",
                        vars.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                false
            }
        }
    }

    /// Declare named volumes under the top-level `volumes:`.
    pub fn declare_volumes(&self, names: &[String], out: &mut Output) {
        if names.is_empty() {
            return;
        }
        let root = &self.doc.root;
        match root.get("volumes") {
            None => {
                let eol = self.layout.eol;
                let pad = " ".repeat(self.layout.step);
                let mut text = format!("{eol}volumes:{eol}");
                for n in names {
                    text.push_str(&format!("{pad}{}:{eol}", patch::scalar(n, false)));
                }
                out.edits
                    .push(patch::insert_after_node(self.src, root, text, eol));
            }
            Some(e) => {
                let v = &e.value;
                match &v.kind {
                    Kind::Map { .. } => {
                        for n in names {
                            match patch::add_entry(self.src, &self.layout, v, n, &NewValue::Empty) {
                                Ok(ed) => out.edits.push(ed),
                                Err(u) => {
                                    out.review(
                                        "top-level volumes",
                                        "",
                                        format!(
                                            "{}:{}: declare volume `{n}` by hand ({})",
                                            u.line, u.col, u.message
                                        ),
                                    );
                                }
                            }
                        }
                    }
                    _ if v.is_null() => {
                        let pad = " ".repeat(self.doc.col(root) + self.layout.step);
                        let body: String = names
                            .iter()
                            .map(|n| {
                                format!("{pad}{}:{}", patch::scalar(n, false), self.layout.eol)
                            })
                            .collect();
                        out.edits.push(patch::insert_after_node(
                            self.src,
                            v,
                            body,
                            self.layout.eol,
                        ));
                    }
                    _ => {
                        out.review(
                            "top-level volumes",
                            "",
                            "`volumes` is not a mapping; declare the new volumes by hand",
                        );
                    }
                }
            }
        }
    }

    /// The scalar items of a sequence (or the one scalar), aliases resolved.
    pub fn strings(&self, node: &Node) -> Vec<String> {
        match &self.doc.resolve(node).kind {
            Kind::Seq { items, .. } => items
                .iter()
                .filter_map(|i| self.doc.resolve(i).as_str().map(str::to_string))
                .collect(),
            Kind::Scalar { value, .. } if !value.is_empty() => vec![value.to_string()],
            _ => Vec::new(),
        }
    }
}

/// Keep an edit that could be made; whether there was one.
fn push_edit(out: &mut Output, edit: Option<Edit>) -> bool {
    let made = edit.is_some();
    out.edits.extend(edit);
    made
}

/// A shape harden cannot edit becomes a note asking for `what` by hand.
fn cannot_add(svc: &Service, what: &str, u: &FileError, out: &mut Output) -> Option<Edit> {
    out.review(
        &format!("service {}", svc.name),
        "",
        format!(
            "{}:{}: cannot add `{what}` here ({}); add it by hand",
            u.line, u.col, u.message
        ),
    );
    None
}

/// Whether a YAML scalar says true the way Compose reads booleans.
pub fn is_true(value: &str) -> bool {
    matches!(
        value.trim(),
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
    )
}

/// Parse a compose file: `Ok(None)` when it is empty.
pub fn parse(src: &Arc<Source>, limits: &Limits) -> Result<Option<Document>, FileError> {
    let doc = tree::parse(src, limits).map_err(|e| FileError {
        line: e.line,
        col: e.col,
        message: e.message,
    })?;
    if let Some(d) = &doc {
        d.check_limits(limits).map_err(|e| FileError {
            line: e.line,
            col: e.col,
            message: e.message,
        })?;
        if !matches!(d.root.kind, Kind::Map { .. }) {
            let (line, col) = d.line_col(&d.root);
            return Err(FileError {
                line,
                col: col + 1,
                message: "a compose file must be a mapping at its top level".into(),
            });
        }
        if let Some(s) = d.root.get("services") {
            let v = d.resolve(&s.value);
            if !matches!(v.kind, Kind::Map { .. }) && !v.is_null() {
                let (line, col) = d.line_col(v);
                return Err(FileError {
                    line,
                    col: col + 1,
                    message: "`services` must be a mapping of service names to services".into(),
                });
            }
        }
    }
    Ok(doc)
}

impl<'a> Ctx<'a> {
    /// `edits`: whether edits are wanted (the file's layout is only
    /// learnt then).
    pub fn new(src: &'a Source, doc: &'a Document, config: &'a Config, edits: bool) -> Self {
        Ctx {
            src,
            doc,
            layout: if edits {
                Layout::detect(src, doc)
            } else {
                Layout {
                    step: 2,
                    seq_indent: 2,
                    eol: src.eol(),
                }
            },
            config,
            edits,
        }
    }
}

/// Whether a scalar's source text reads the same as an item of a flow
/// sequence: single-line, quoted, or plain without flow indicators or
/// anything that would start a comment or a mapping there.
fn same_in_flow(text: &str, style: tree::ScalarStyle) -> bool {
    if text.is_empty() || text.contains(['\n', '\r']) {
        return false;
    }
    match style {
        tree::ScalarStyle::SingleQuoted | tree::ScalarStyle::DoubleQuoted => true,
        tree::ScalarStyle::Plain => {
            !text.contains([',', '[', ']', '{', '}'])
                && !text.contains(": ")
                && !text.contains(" #")
                && !text.ends_with(':')
        }
        _ => false,
    }
}

/// The names declared under the top-level `volumes:`.
pub fn top_level_volumes(doc: &Document) -> Vec<String> {
    match doc.root.get("volumes").map(|e| &doc.resolve(&e.value).kind) {
        Some(Kind::Map { entries, .. }) => entries
            .iter()
            .filter_map(|e| e.key.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The service's environment as (name, value) pairs, from either style.
pub fn environment(ctx: &Ctx, svc: &Service) -> Vec<(String, String)> {
    let mut vars = match svc.effective("environment") {
        Some((v, _)) => env_pairs(ctx.doc, v),
        None => Vec::new(),
    };
    for (doc, map, _) in svc.overlays() {
        if let Some(e) = map.get("environment") {
            vars.extend(env_pairs(doc, doc.resolve(&e.value)));
        }
    }
    vars
}

/// (name, value) pairs of an `environment` mapping or `KEY=value` list.
fn env_pairs(doc: &Document, v: &Node) -> Vec<(String, String)> {
    match &v.kind {
        Kind::Map { entries, .. } => entries
            .iter()
            .filter_map(|e| {
                let k = e.key.as_str()?.to_string();
                let val = doc.resolve(&e.value).as_str().unwrap_or("").to_string();
                Some((k, val))
            })
            .collect(),
        Kind::Seq { items, .. } => items
            .iter()
            .filter_map(|i| doc.resolve(i).as_str().map(str::to_string))
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (s, String::new()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// How a compose file names another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// `extends: {file: ...}`: read for the extended service's values.
    Extends,
    /// A top-level `include` entry: part of the project, its services
    /// hardened in that file.
    Include,
}

/// The other compose files a document names, as written (relative to its
/// folder): `extends.file` of its services and its `include` entries.
/// Remote and interpolated paths are left out: they are not files harden
/// can read.
pub fn references(doc: &Document) -> Vec<(Reference, String)> {
    let local = |s: &str| {
        !s.is_empty() && !s.contains("://") && !s.contains("${") && !s.starts_with("git@")
    };
    let mut out = Vec::new();
    for svc in service::services(doc) {
        let Some(e) = svc.own("extends") else {
            continue;
        };
        let v = doc.resolve(&e.value);
        if let Some(f) = v.get("file").and_then(|f| doc.resolve(&f.value).as_str()) {
            if local(f) {
                out.push((Reference::Extends, f.to_string()));
            }
        }
    }
    if let Some(inc) = doc.root.get("include") {
        if let Kind::Seq { items, .. } = &doc.resolve(&inc.value).kind {
            for item in items {
                let item = doc.resolve(item);
                let paths: Vec<&str> = match item.as_str() {
                    Some(p) => vec![p],
                    None => match item.get("path").map(|p| doc.resolve(&p.value)) {
                        Some(p) => match (&p.kind, p.as_str()) {
                            (_, Some(one)) => vec![one],
                            (Kind::Seq { items, .. }, _) => items
                                .iter()
                                .filter_map(|i| doc.resolve(i).as_str())
                                .collect(),
                            _ => Vec::new(),
                        },
                        None => Vec::new(),
                    },
                };
                out.extend(
                    paths
                        .into_iter()
                        .filter(|p| local(p))
                        .map(|p| (Reference::Include, p.to_string())),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tree::ScalarStyle::*;

    /// Found by fuzzing: `tmpfs: 00…696` (a number) grew into a list as the
    /// string "00…696". The author's text is kept where it reads the same.
    #[test]
    fn scalars_kept_as_written_inside_a_flow_list() {
        for (text, style) in [
            ("1e3", Plain),
            ("/run", Plain),
            ("'/run'", SingleQuoted),
            ("\"a, b\"", DoubleQuoted),
        ] {
            assert!(same_in_flow(text, style), "{text}");
        }
        for (text, style) in [
            ("/run, /x", Plain),
            ("a: b", Plain),
            ("x #y", Plain),
            ("[x]", Plain),
            ("|", Literal),
            ("", Plain),
        ] {
            assert!(!same_in_flow(text, style), "{text}");
        }
    }

    /// A null written out (`~`, `null`) is replaced, not written after: it
    /// would read on with the new value as one string (`~ - ALL`, `true~`).
    #[test]
    fn written_nulls_are_replaced() {
        for null in ["~", "null", "~  # none", ""] {
            let text = format!(
                "services:\n  web:\n    image: nginx:1.27\n    read_only: {null}\n    cap_drop: {null}\n    security_opt: {null}\n    tmpfs: {null}\n"
            );
            let fixed = crate::engine::fix_one(crate::discover::Kind::Compose, "c.yml", text)
                .unwrap()
                .unwrap();
            let src = Arc::new(Source::new("c.yml".into(), "c.yml".into(), fixed.clone()));
            let data = tree::parse(&src, &Limits::default())
                .unwrap()
                .unwrap()
                .to_json(false, &Limits::default())
                .unwrap();
            let web = &data["services"]["web"];
            assert_eq!(web["read_only"], serde_json::json!(true), "{fixed}");
            assert_eq!(web["cap_drop"], serde_json::json!(["ALL"]), "{fixed}");
            assert_eq!(
                web["security_opt"],
                serde_json::json!(["no-new-privileges:true"]),
                "{fixed}"
            );
            assert!(web["tmpfs"].is_array(), "{fixed}");
            assert_eq!(
                crate::engine::fix_one(crate::discover::Kind::Compose, "c.yml", fixed.clone())
                    .unwrap(),
                None,
                "a second fix changes nothing:\n{fixed}"
            );
        }
    }
}
