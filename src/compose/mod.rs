//! Compose files: a span tree over yaml-rust2 events, format-preserving
//! patches, and the per-service rules.

pub mod patch;
pub mod service;
pub mod tree;

use crate::config::Config;
use crate::edit::Edit;
use crate::finding::Finding;
use crate::rules::{self, Output};
use crate::source::Source;
use patch::{Layout, NewValue};
pub use service::Project;
use service::Service;
use std::sync::Arc;
use tree::{Document, Kind, Limits, Node};

/// An error in a file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

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
    /// Why harden.toml exempts the service from `rule` (skipped, or an
    /// `[[exception]]` matching this file or service), if it does.
    pub fn exempt(&self, svc: &Service, rule: &str) -> Option<crate::config::Exemption> {
        self.config.exemption(&self.src.path, Some(svc.name), rule)
    }

    /// Exempted from `rule` by `x-harden` or by harden.toml.
    pub fn allows(&self, svc: &Service, rule: &str) -> bool {
        svc.allows(rule) || self.exempt(svc, rule).is_some()
    }

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
            Err(u) => {
                out.review(
                    &format!("service {}", svc.name),
                    "",
                    format!(
                        "{}:{}: cannot add `{key}` here ({}); add it by hand",
                        u.line, u.col, u.reason
                    ),
                );
                None
            }
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
            Err(u) => {
                out.review(
                    &format!("service {}", svc.name),
                    "",
                    format!(
                        "{}:{}: cannot add `{item}` here ({}); add it by hand",
                        u.line, u.col, u.reason
                    ),
                );
                None
            }
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
            None => match self.add_entry(svc, key, &NewValue::Seq(items.to_vec()), out) {
                Some(e) => {
                    out.edits.push(e);
                    true
                }
                None => false,
            },
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
                    out.replaced
                        .push(rules::pointer(&["services", svc.name, key]));
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
        if !self.edits {
            return false;
        }
        let subject = format!("service {}", svc.name);
        match svc.effective("environment") {
            None => match self.add_entry(svc, "environment", &NewValue::Map(vars.to_vec()), out) {
                Some(e) => {
                    out.edits.push(e);
                    true
                }
                None => false,
            },
            Some((v, service::Origin::Own)) => {
                match &v.kind {
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
                        out.edits
                            .extend(self.fill_null(svc, v, &NewValue::Map(vars.to_vec())));
                        true
                    }
                    _ => {
                        out.review(&subject, rule, "`environment` has a shape harden does not edit; add the variables by hand");
                        false
                    }
                }
            }
            Some((_, service::Origin::Merged(_))) => {
                out.review(
                    &subject,
                    rule,
                    format!(
                        "`environment` comes through a merge key; add {} to it by hand",
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
                                Err(u) => out.review(
                                    "top-level volumes",
                                    "",
                                    format!(
                                        "{}:{}: declare volume `{n}` by hand ({})",
                                        u.line, u.col, u.reason
                                    ),
                                ),
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
                    _ => out.review(
                        "top-level volumes",
                        "",
                        "`volumes` is not a mapping; declare the new volumes by hand",
                    ),
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

/// Plans for every service, keyed by service name, in name order. A sorted
/// vector rather than a map: a plan is large and stored inline, and map
/// nodes reserve room for eleven of them however few a file has.
#[derive(Debug, Default)]
pub struct Plans {
    by_name: Vec<(String, crate::plan::ServicePlan)>,
}

impl Plans {
    /// The plan of the service `name`.
    pub fn get(&self, name: &str) -> Option<&crate::plan::ServicePlan> {
        self.by_name
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .and_then(|i| self.by_name.get(i))
            .map(|(_, p)| p)
    }

    /// Every (service name, plan), in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &crate::plan::ServicePlan)> {
        self.by_name.iter().map(|(n, p)| (n, p))
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// From (name, plan) pairs in any order; of two plans for one name the
    /// later wins, as a map insert would.
    fn from_pairs(mut pairs: Vec<(String, crate::plan::ServicePlan)>) -> Plans {
        // Stable: pairs of one name keep their order, the last one is kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut by_name: Vec<(String, crate::plan::ServicePlan)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match by_name.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => by_name.push(pair),
            }
        }
        by_name.shrink_to_fit();
        Plans { by_name }
    }
}

impl<'a> IntoIterator for &'a Plans {
    type Item = (&'a String, &'a crate::plan::ServicePlan);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, crate::plan::ServicePlan)>,
        fn(&'a (String, crate::plan::ServicePlan)) -> (&'a String, &'a crate::plan::ServicePlan),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.by_name.iter().map(|(n, p)| (n, p))
    }
}

/// What `analyze` keeps of a file's results.
pub enum Mode<'s> {
    /// Findings, edits and notes, for a fix.
    Fix,
    /// Findings only: each service's edits and notes are dropped as soon as
    /// its rules ran (a findings report shows neither), and the findings are
    /// handed to `spill` a few hundred at a time, so a file with tens of
    /// thousands of services never holds them all.
    Check {
        spill: &'s mut dyn FnMut(Vec<Finding>),
    },
}

/// Findings a [`Mode::Check`] run gathers before it hands them on.
const SPILL_AT: usize = 512;

/// Plan every service and run every compose rule over it, in file order.
/// `built` gives the Dockerfile a service builds, where harden could read
/// it; the plans of those services are returned, for the rules of the
/// Dockerfile. Every other plan is dropped once its service is checked, so
/// memory does not grow with the number of services.
pub fn analyze<'d>(
    src: &Source,
    doc: &Document,
    project: &Project,
    built: &dyn Fn(&str) -> Option<crate::plan::Built<'d>>,
    config: &Config,
    mut mode: Mode,
) -> (Output, Plans) {
    let ctx = Ctx::new(src, doc, config, matches!(mode, Mode::Fix));
    // Volume names already in use, so a new volume gets a name of its own.
    let mut taken = top_level_volumes(doc);
    for (o, _) in project.overlays {
        taken.extend(top_level_volumes(o));
    }
    for o in project.bases {
        taken.extend(top_level_volumes(o));
    }
    for (_, o) in project.others {
        taken.extend(top_level_volumes(o));
    }
    let mut kept = Vec::new();
    let mut out = Output::default();
    let mut new_volumes = Vec::new();
    for svc in project.services(doc) {
        let b = built(svc.name);
        let mark = service::Mark::of(&out, &new_volumes);
        let plan = crate::plan::plan_service(&ctx, &svc, b.as_ref(), &taken);
        for c in &plan.carve_outs {
            if let crate::plan::Carve::Volume { name, .. } = &c.carve {
                taken.push(name.clone());
            }
        }
        // A rule harden.toml skips or exempts the service from is not run.
        let runs = |rule: &'static str, out: &mut Output| match ctx.exempt(&svc, rule) {
            None => true,
            Some(why) => {
                if why != crate::config::Exemption::Skipped {
                    out.info(
                        &format!("service {}", svc.name),
                        rule,
                        format!("not applied: {why}"),
                    );
                }
                false
            }
        };
        if runs(rules::root_user::NAME, &mut out) {
            rules::root_user::check_compose(&ctx, &svc, &plan, &mut out);
        }
        if runs(rules::writable_rootfs::NAME, &mut out) {
            rules::writable_rootfs::check(&ctx, &svc, &plan, &mut out);
        }
        if runs(rules::default_capabilities::NAME, &mut out) {
            rules::default_capabilities::check(&ctx, &svc, &plan, &mut out);
        }
        if runs(rules::new_privileges::NAME, &mut out) {
            rules::new_privileges::check(&ctx, &svc, &mut out);
        }
        if runs(rules::unmounted_write_path::NAME, &mut out) {
            rules::unmounted_write_path::check(&ctx, &svc, &plan, &mut out, &mut new_volumes);
        }
        if runs(rules::cache_on_rootfs::NAME, &mut out) {
            rules::cache_on_rootfs::check(&ctx, &svc, &plan, &mut out);
        }
        if runs(rules::privileged::NAME, &mut out) {
            rules::privileged::check(&svc, &mut out);
        }
        if runs(rules::undocumented_exception::NAME, &mut out) {
            rules::undocumented_exception::check_compose(&svc, &mut out);
        }
        for r in &plan.review {
            out.review(&format!("service {}", svc.name), "", r.clone());
        }
        svc.report_only_since(mark, &mut out, &mut new_volumes);
        if let Mode::Check { spill } = &mut mode {
            out.edits.clear();
            out.notes.clear();
            out.replaced.clear();
            new_volumes.clear();
            if out.findings.len() >= SPILL_AT {
                spill(std::mem::take(&mut out.findings));
            }
        }
        if b.is_some() {
            kept.push((svc.name.to_string(), plan));
        }
    }
    ctx.declare_volumes(&new_volumes, &mut out);
    patch::order_insertions(&mut out.edits);
    // Explicit `? key` entries can end a block where its lines do not show
    // it; compose files never need them, so such a file is reported, not
    // edited (found by fuzzing).
    if let Some(line) = explicit_key_line(src) {
        if !out.edits.is_empty() {
            out.edits.clear();
            out.replaced.clear();
            out.notes
                .retain(|n| n.kind != crate::finding::NoteKind::Change);
            out.review(
                "whole file",
                "",
                format!("line {line} uses an explicit `? key` entry: harden does not edit this file; apply the findings by hand"),
            );
        }
    }
    (out, Plans::from_pairs(kept))
}

/// The first line that starts an explicit mapping key (`? key`), if any.
fn explicit_key_line(src: &Source) -> Option<usize> {
    src.text
        .lines()
        .position(|l| {
            let t = l.trim_start_matches([' ', '-']).trim_start();
            t == "?" || t.starts_with("? ") || t.starts_with("?\t")
        })
        .map(|i| i + 1)
}

/// After a fix: the new text must parse, and every value the author wrote
/// must still be there, unchanged and in order, except those the fix meant
/// to replace. Anything else means a bug in a patch, and the fix is refused.
pub fn verify(
    old: &Document,
    new_src: &Arc<Source>,
    replaced: &[String],
    limits: &Limits,
) -> Result<(), String> {
    let new = match tree::parse(new_src, limits) {
        Ok(Some(d)) => d,
        Ok(None) => return Err("the fixed file is empty".into()),
        Err(e) => {
            return Err(format!(
                "the fixed file does not parse ({}:{}: {})",
                e.line, e.col, e.message
            ))
        }
    };
    let a = old.to_json(false, limits).map_err(|e| e.message)?;
    let b = new.to_json(false, limits).map_err(|e| e.message)?;
    // A fix adds only inside the file's services and to the top-level
    // `volumes`: anything new elsewhere is an insertion that the text put
    // somewhere else than harden meant (found by fuzzing: an empty key at
    // the start of a line made a service's block look longer than it is).
    // Services by their pointer token (`~1` for a `/` in a name), looked up
    // once per new value: a file of tens of thousands of services gets
    // several new values in each.
    let services: std::collections::HashSet<String> = service::services(old)
        .map(|s| rules::pointer(&[s.name]).split_off(1))
        .collect();
    let may_grow = |p: &str| {
        p == "/volumes"
            || p.starts_with("/volumes/")
            || p.strip_prefix("/services/")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(name, _)| services.contains(name))
    };
    contains(&a, &b, "", replaced, &may_grow)
}

/// `old` is contained in `new`: mappings keep their keys, sequences keep
/// their items in order (new ones may be interleaved), scalars are equal.
/// What is new (a key, an item, a value for a null) must be at a path
/// `may_grow` allows.
fn contains(
    old: &serde_json::Value,
    new: &serde_json::Value,
    at: &str,
    replaced: &[String],
    may_grow: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    use serde_json::Value;
    if replaced.iter().any(|r| r == at) {
        return Ok(());
    }
    let added = |p: &str| {
        if may_grow(p) {
            Ok(())
        } else {
            Err(format!(
                "`{p}` would be added, outside the services harden hardens"
            ))
        }
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{at}{}", rules::pointer(&[k]));
                match b.get(k) {
                    Some(w) => contains(v, w, &p, replaced, may_grow)?,
                    None => return Err(format!("`{p}` would be lost")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                added(&format!("{at}{}", rules::pointer(&[k])))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => {
            let mut j = 0;
            for (i, v) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                loop {
                    let Some(w) = b.get(j) else {
                        return Err(format!("`{p}` would be lost"));
                    };
                    j += 1;
                    if contains(v, w, &p, replaced, may_grow).is_ok() {
                        break;
                    }
                }
            }
            if b.len() > a.len() {
                added(&format!("{at}/-"))?;
            }
            Ok(())
        }
        (a, b) if a == b => Ok(()),
        // A key written without a value (`cap_drop:`) that the fix fills in.
        (Value::Null, _) => added(at),
        _ => Err(format!("`{at}` would change")),
    }
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
            let fixed = crate::run::fix_one(crate::discover::Kind::Compose, "c.yml", text)
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
                crate::run::fix_one(crate::discover::Kind::Compose, "c.yml", fixed.clone())
                    .unwrap(),
                None,
                "a second fix changes nothing:\n{fixed}"
            );
        }
    }

    /// A fix may add inside the file's services and to the top-level
    /// volumes only: the same lines landing anywhere else are refused.
    #[test]
    fn additions_outside_the_services_are_refused() {
        let src = |t: &str| Arc::new(Source::new("c.yml".into(), "c.yml".into(), t.to_string()));
        let old_text = "x-env: {A: 1}\nservices:\n  web:\n    image: nginx\n    cap_drop:\n";
        let old = tree::parse(&src(old_text), &Limits::default())
            .unwrap()
            .unwrap();
        let verdict = |new: &str| verify(&old, &src(new), &[], &Limits::default());
        let good = "x-env: {A: 1}\nservices:\n  web:\n    image: nginx\n    read_only: true\n    cap_drop:\n      - ALL\nvolumes:\n  data:\n";
        assert_eq!(verdict(good), Ok(()));
        let stray =
            "x-env: {A: 1, read_only: true}\nservices:\n  web:\n    image: nginx\n    cap_drop:\n";
        let e = verdict(stray).unwrap_err();
        assert!(e.contains("`/x-env/read_only` would be added"), "{e}");
        let new_service = "x-env: {A: 1}\nservices:\n  web:\n    image: nginx\n    cap_drop:\n  db:\n    image: postgres\n";
        assert!(verdict(new_service).is_err());
    }
}
