//! A YAML tree with exact byte spans, built from yaml-rust2's event stream.
//!
//! harden edits compose files by inserting lines, so it needs to know for
//! every node where its content starts and where its last content character
//! ends, in bytes, plus its style. yaml-rust2 0.13 gives one `Marker` per
//! event (no end, no comments, and `Marker::index` counts characters), and
//! the markers of structural tokens are not where the text is (a block
//! mapping's start sits at its first `:`, an indentless sequence's after its
//! first `- `, a block mapping's end at the next token). So only the markers
//! of scalars, aliases and flow brackets are used, converted from line and
//! column through the source's line table; everything else is found by
//! scanning the short gaps between nodes (indicators, anchors, tags,
//! comments) and each scalar's own text, always forward, so building the
//! tree is linear in the size of the file.
//!
//! Aliases are kept as aliases; [`Document::to_json`] expands them with a
//! node budget computed while parsing, so an alias bomb fails before any
//! expansion is allocated.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde_json::Value;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};
use yaml_rust2::Yaml;

use crate::source::Source;

/// Bounds on untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of collections (also after alias expansion): bounds
    /// every recursion over the tree.
    pub max_depth: usize,
    /// Most data nodes [`Document::to_json`] may produce, aliases expanded.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_nodes: 1_000_000,
        }
    }
}

/// A YAML error with a 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for YamlError {}

/// How a collection is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Indentation-based (`key: value` lines, `- item` lines).
    Block,
    /// Bracketed (`[a, b]`, `{a: b}`), also the bare `[a: b]` pair.
    Flow,
}

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|`
    Literal,
    /// `>`
    Folded,
}

/// One node with its byte span in the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// Anchor name as written (`&name`).
    pub anchor: Option<String>,
    /// Tag as written (`!!str`, `!reset`).
    pub tag: Option<String>,
    /// Byte offset where the content starts (after anchor and tag): a block
    /// mapping's first key, a block sequence's first `-`, a flow
    /// collection's bracket, a scalar's first character (quote and `|`/`>`
    /// included).
    pub start: usize,
    /// Byte offset just past the last content character: never trailing
    /// spaces, comments, blank lines or line endings (a block scalar's last
    /// non-empty line is content up to its line ending).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 0-based column of `start`, in characters.
    pub col: usize,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar { value: String, style: ScalarStyle },
    Seq { items: Vec<Node>, style: Style },
    Map { entries: Vec<Entry>, style: Style },
    Alias { name: String },
}

/// A mapping entry. An implicit null value (`key:` and nothing) is a plain
/// empty scalar whose span is empty, right after the `:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

/// One alias occurrence, with what expanding it costs.
#[derive(Debug, Clone)]
struct AliasInfo {
    start: usize,
    line: usize,
    col: usize,
    name: String,
    /// Path of the anchored node from the root.
    target: Vec<usize>,
    /// Nodes its expansion produces.
    size: u64,
    /// Nodes produced before it, in document order.
    before: u64,
    /// Nesting depth reached by its expansion.
    depth: usize,
}

/// A parsed document: the tree plus what resolving aliases needs.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    /// Anchors in document order: name and path from the root.
    anchors: Vec<(String, Vec<usize>)>,
    /// Alias occurrences in document order.
    aliases: Vec<AliasInfo>,
    /// Alias start offset → index in `aliases`.
    alias_at: HashMap<usize, usize>,
    /// Nodes of the document with aliases expanded.
    total_nodes: u64,
    /// Nesting depth of the tree itself.
    height: usize,
}

impl Node {
    /// The entry of a (block or flow) mapping whose scalar key is `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            Kind::Map { entries, .. } => entries.iter().find(|e| e.key.as_str() == Some(key)),
            _ => None,
        }
    }

    /// A scalar's value, whatever its style.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// A plain scalar that the core schema reads as null (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        match &self.kind {
            Kind::Scalar {
                value,
                style: ScalarStyle::Plain,
            } => {
                let tag_ok = match self.tag.as_deref() {
                    None => true,
                    Some(t) => core_tag(t) == Some("null"),
                };
                tag_ok && matches!(value.as_str(), "" | "~" | "null")
            }
            _ => false,
        }
    }

    /// The children of a collection, keys and values interleaved for maps
    /// (the order that `path` indices count in).
    fn child(&self, index: usize) -> Option<&Node> {
        match &self.kind {
            Kind::Seq { items, .. } => items.get(index),
            Kind::Map { entries, .. } => {
                let e = entries.get(index / 2)?;
                Some(if index % 2 == 0 { &e.key } else { &e.value })
            }
            _ => None,
        }
    }
}

impl Document {
    /// Follow an alias to the node anchored under its name most recently
    /// before it (the same node yaml-rust2 resolves it to); any other node
    /// is returned as is.
    pub fn resolve<'a>(&'a self, node: &'a Node) -> &'a Node {
        if !matches!(node.kind, Kind::Alias { .. }) {
            return node;
        }
        self.alias_at
            .get(&node.start)
            .and_then(|&i| self.aliases.get(i))
            .and_then(|a| self.at_path(&a.target))
            .unwrap_or(node)
    }

    /// The node last anchored as `name` in the document, if any.
    pub fn anchor(&self, name: &str) -> Option<&Node> {
        self.anchors
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, path)| self.at_path(path))
    }

    /// Where new lines go after `node`: the end of its last content line,
    /// which is exactly `node.end` (trailing comments and blank lines are not
    /// part of a node, so insertions land before them).
    pub fn last_content_line_end(&self, node: &Node) -> usize {
        node.end
    }

    fn at_path(&self, path: &[usize]) -> Option<&Node> {
        let mut node = &self.root;
        for &i in path {
            node = node.child(i)?;
        }
        Some(node)
    }

    /// The document's data as JSON: aliases expanded within `limits`,
    /// plain scalars typed as yaml-rust2 types them (core schema), quoted and
    /// block scalars as strings, keys as strings. With `merge_keys`, `<<`
    /// merges mappings as Docker Compose does (explicit keys win, then
    /// earlier mappings of a sequence); without, `<<` is an ordinary key.
    pub fn to_json(&self, merge_keys: bool, limits: &Limits) -> Result<Value, YamlError> {
        // The budget is checked before anything is expanded: the sizes were
        // computed while parsing, so a bomb costs no memory here.
        let max_nodes = limits.max_nodes as u64;
        for a in &self.aliases {
            if a.before.saturating_add(a.size) > max_nodes {
                return Err(YamlError {
                    line: a.line,
                    col: a.col + 1,
                    message: format!(
                        "alias expansion exceeds {} nodes (alias `{}`)",
                        limits.max_nodes, a.name
                    ),
                });
            }
            if a.depth > limits.max_depth {
                return Err(YamlError {
                    line: a.line,
                    col: a.col + 1,
                    message: format!(
                        "nesting deeper than {} levels after expanding alias `{}`",
                        limits.max_depth, a.name
                    ),
                });
            }
        }
        if self.total_nodes > max_nodes {
            return Err(node_error(
                &self.root,
                format!("document has more than {} nodes", limits.max_nodes),
            ));
        }
        if self.height > limits.max_depth {
            return Err(node_error(
                &self.root,
                format!("nesting deeper than {} levels", limits.max_depth),
            ));
        }
        self.json_of(&self.root, merge_keys, 0, limits.max_depth)
    }

    fn json_of(
        &self,
        node: &Node,
        merge: bool,
        depth: usize,
        max_depth: usize,
    ) -> Result<Value, YamlError> {
        // The checks in `to_json` bound this already; this guard keeps the
        // recursion bounded even if they were wrong.
        if depth > max_depth.saturating_add(1) {
            return Err(node_error(
                node,
                format!("nesting deeper than {max_depth} levels"),
            ));
        }
        match &node.kind {
            Kind::Scalar { value, style } => Ok(scalar_json(value, *style, node.tag.as_deref())),
            Kind::Alias { name } => {
                let target = self.resolve(node);
                if std::ptr::eq(target, node) {
                    return Err(node_error(node, format!("unknown anchor `{name}`")));
                }
                self.json_of(target, merge, depth, max_depth)
            }
            Kind::Seq { items, .. } => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.json_of(item, merge, depth + 1, max_depth)?);
                }
                Ok(Value::Array(out))
            }
            Kind::Map { entries, .. } => {
                let mut out = serde_json::Map::new();
                let mut merges = Vec::new();
                for e in entries {
                    if merge && is_merge_key(&e.key) {
                        merges.push(&e.value);
                        continue;
                    }
                    let key = self.json_of(&e.key, merge, depth + 1, max_depth)?;
                    let value = self.json_of(&e.value, merge, depth + 1, max_depth)?;
                    out.insert(key_string(key), value);
                }
                for m in merges {
                    for source in self.merge_sources(m)? {
                        if let Value::Object(o) = self.json_of(source, merge, depth, max_depth)? {
                            for (k, v) in o {
                                out.entry(k).or_insert(v);
                            }
                        }
                    }
                }
                Ok(Value::Object(out))
            }
        }
    }

    /// The mappings a `<<` value names, in order of precedence.
    fn merge_sources<'a>(&'a self, value: &'a Node) -> Result<Vec<&'a Node>, YamlError> {
        let value = self.resolve(value);
        let bad = |n: &Node| {
            node_error(
                n,
                "merge key `<<` needs a mapping or a sequence of mappings".to_string(),
            )
        };
        match &value.kind {
            Kind::Map { .. } => Ok(vec![value]),
            Kind::Seq { items, .. } => items
                .iter()
                .map(|item| {
                    let m = self.resolve(item);
                    if matches!(m.kind, Kind::Map { .. }) {
                        Ok(m)
                    } else {
                        Err(bad(item))
                    }
                })
                .collect(),
            _ => Err(bad(value)),
        }
    }
}

fn node_error(node: &Node, message: String) -> YamlError {
    YamlError {
        line: node.line,
        col: node.col + 1,
        message,
    }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { value, style: ScalarStyle::Plain } if value == "<<")
        && key.tag.is_none()
}

/// The core-schema name of a tag written `!!name` or `!<tag:yaml.org,2002:name>`.
fn core_tag(tag: &str) -> Option<&str> {
    tag.strip_prefix("!!").or_else(|| {
        tag.strip_prefix("!<tag:yaml.org,2002:")
            .and_then(|t| t.strip_suffix('>'))
    })
}

/// A scalar's JSON value, typed the way yaml-rust2's loader types it.
fn scalar_json(value: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(value.to_string());
    }
    let yaml = match tag {
        None => Yaml::from_str(value),
        Some(t) => match core_tag(t) {
            Some("bool") => match value {
                "true" | "True" | "TRUE" => Yaml::Boolean(true),
                "false" | "False" | "FALSE" => Yaml::Boolean(false),
                _ => Yaml::String(value.to_string()),
            },
            Some("int") => value
                .parse::<i64>()
                .map(Yaml::Integer)
                .unwrap_or_else(|_| Yaml::String(value.to_string())),
            Some("float") => Yaml::Real(value.to_string()),
            Some("null") if matches!(value, "" | "~" | "null") => Yaml::Null,
            _ => Yaml::String(value.to_string()),
        },
    };
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            // .inf and .nan have no JSON form: keep the text.
            .unwrap_or(Value::String(s)),
        Yaml::String(s) => Value::String(s),
        _ => Value::String(value.to_string()),
    }
}

/// A key as a JSON object key: strings as they are, other scalars as their
/// JSON text, collections as compact JSON.
fn key_string(key: Value) -> String {
    match key {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Parse the single YAML document of a compose file into a span tree.
/// `Ok(None)` for a stream with no document (only comments or blank lines).
pub fn parse(source: &Source, limits: &Limits) -> Result<Option<Document>, YamlError> {
    check_line_breaks(source)?;
    let mut parser = Parser::new_from_str(&source.text);
    let mut b = Builder::new(source, limits);
    let mut documents = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| scan_error(source, &e))?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError {
                        line: mark.line(),
                        col: mark.col() + 1,
                        message: "multiple YAML documents are not supported in a compose file"
                            .to_string(),
                    });
                }
            }
            Event::Scalar(value, style, anchor_id, tag) => {
                b.scalar(value, style, anchor_id, tag.is_some(), mark)?;
            }
            Event::Alias(id) => b.alias(id, mark)?,
            Event::SequenceStart(anchor_id, tag) => {
                b.open(true, anchor_id, tag.is_some(), mark)?;
            }
            Event::MappingStart(anchor_id, tag) => {
                b.open(false, anchor_id, tag.is_some(), mark)?;
            }
            Event::SequenceEnd | Event::MappingEnd => b.close(mark)?,
        }
    }
    Ok(b.finish())
}

/// yaml-rust2 counts a lone CR as a line break, the line table does not:
/// refuse rather than compute wrong offsets.
fn check_line_breaks(source: &Source) -> Result<(), YamlError> {
    let bytes = source.text.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
            let (line, col) = source.line_col(i);
            return Err(YamlError {
                line,
                col,
                message: "carriage return without line feed: only LF and CRLF line endings are supported".to_string(),
            });
        }
    }
    Ok(())
}

fn scan_error(source: &Source, e: &ScanError) -> YamlError {
    let m = e.marker();
    let mut message = e.info().to_string();
    let line = source.line_text(m.line()).trim_start();
    if message.contains("invalid indentation") && (line.starts_with(']') || line.starts_with('}'))
    {
        message.push_str(
            ": the closing bracket of a multi-line flow collection must be indented deeper \
             than the key that owns it (valid YAML, but the YAML parser harden uses rejects it); \
             indent the closing bracket further",
        );
    }
    YamlError {
        line: m.line(),
        col: m.col() + 1,
        message,
    }
}

/// Converts between (line, column in chars) and byte offsets, caching the
/// last position so that the mostly increasing positions of a parse cost
/// the distance walked, not a walk from the line start each time (one huge
/// flow line stays linear).
struct Locator<'a> {
    src: &'a Source,
    line: usize,
    col: usize,
    off: usize,
}

impl<'a> Locator<'a> {
    fn new(src: &'a Source) -> Self {
        Locator {
            src,
            line: 1,
            col: 0,
            off: 0,
        }
    }

    fn remember(&mut self, line: usize, col: usize, off: usize) {
        self.line = line;
        self.col = col;
        self.off = off;
    }

    /// Byte offset of a marker (1-based line, 0-based char column).
    fn offset(&mut self, line: usize, col: usize) -> usize {
        if line == self.line && col >= self.col {
            let text = &self.src.text;
            let mut off = self.off;
            let mut c = self.col;
            if let Some(rest) = text.get(off..) {
                for ch in rest.chars() {
                    if c == col || ch == '\n' {
                        break;
                    }
                    off += ch.len_utf8();
                    c += 1;
                }
            }
            if c == col {
                self.remember(line, col, off);
                return off;
            }
        }
        let off = self.src.offset(line, col);
        self.remember(line, col, off);
        off
    }

    /// 1-based line and 0-based char column of a byte offset.
    fn line_col(&mut self, off: usize) -> (usize, usize) {
        let text = &self.src.text;
        let mut off = off.min(text.len());
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        if off >= self.off {
            if let Some(between) = self.src.text.get(self.off..off) {
                if !between.contains('\n') {
                    let (line, col) = (self.line, self.col + between.chars().count());
                    self.remember(line, col, off);
                    return (line, col);
                }
            }
        }
        let (line, col1) = self.src.line_col(off);
        let col = col1.saturating_sub(1);
        self.remember(line, col, off);
        (line, col)
    }
}

/// A collection being built.
struct Frame {
    seq: bool,
    style: Style,
    /// A `[key: value]` pair inside a flow sequence: a map without braces.
    pair: bool,
    /// Inside a flow collection (this one or an ancestor).
    flow: bool,
    start: usize,
    line: usize,
    col: usize,
    anchor: Option<String>,
    tag: Option<String>,
    anchor_id: usize,
    items: Vec<Node>,
    entries: Vec<Entry>,
    key: Option<Node>,
    keys: HashSet<String>,
    /// Expanded nodes below this one, and the height of the deepest child.
    size: u64,
    height: usize,
}

impl Frame {
    fn children(&self) -> usize {
        if self.seq {
            self.items.len()
        } else {
            self.entries.len() * 2 + usize::from(self.key.is_some())
        }
    }
}

/// An anchored node: where it is, and once complete what it expands to.
struct Anchored {
    name: String,
    path: Vec<usize>,
    done: Option<(u64, usize)>,
}

/// Where the next node sits in its parent, which decides the indicator
/// that precedes it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Root,
    SeqItem { flow: bool, first: bool },
    Key { flow: bool, first: bool, pair: bool },
    Value,
}

struct Builder<'a> {
    text: &'a str,
    loc: Locator<'a>,
    limits: Limits,
    frames: Vec<Frame>,
    /// Byte offset up to which the text has been accounted for.
    cursor: usize,
    root: Option<Node>,
    root_height: usize,
    anchored: HashMap<usize, Anchored>,
    anchors: Vec<(String, Vec<usize>)>,
    aliases: Vec<AliasInfo>,
    total: u64,
}

fn is_blank_or_break(b: Option<u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Builder<'a> {
    fn new(src: &'a Source, limits: &Limits) -> Self {
        Builder {
            text: &src.text,
            loc: Locator::new(src),
            limits: *limits,
            frames: Vec::new(),
            cursor: 0,
            root: None,
            root_height: 0,
            anchored: HashMap::new(),
            anchors: Vec::new(),
            aliases: Vec::new(),
            total: 0,
        }
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.text.as_bytes().get(i).copied()
    }

    fn error_at(&mut self, off: usize, message: String) -> YamlError {
        let (line, col) = self.loc.line_col(off);
        YamlError {
            line,
            col: col + 1,
            message,
        }
    }

    /// Skip spaces, line breaks and comments (in the gaps between tokens a
    /// `#` always starts a comment).
    fn skip_space(&self, mut i: usize) -> usize {
        let bytes = self.text.as_bytes();
        while let Some(&c) = bytes.get(i) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => i += 1,
                b'#' => {
                    while let Some(&c) = bytes.get(i) {
                        if c == b'\n' {
                            break;
                        }
                        i += 1;
                    }
                }
                _ if self.text.get(i..).is_some_and(|r| r.starts_with('\u{feff}')) => i += 3,
                _ => break,
            }
        }
        i
    }

    fn at_line_start(&self, i: usize) -> bool {
        i == 0 || self.byte(i - 1) == Some(b'\n')
    }

    /// Past directives and `---` before the root node.
    fn skip_document_start(&self, mut i: usize) -> usize {
        loop {
            i = self.skip_space(i);
            if !self.at_line_start(i) {
                return i;
            }
            let rest = self.text.get(i..).unwrap_or("");
            if rest.starts_with('%') {
                i += rest.find('\n').unwrap_or(rest.len());
            } else if rest.starts_with("---") && is_blank_or_break(self.byte(i + 3)) {
                return i + 3;
            } else {
                return i;
            }
        }
    }

    /// After the indicator that introduces a node in `slot`, if present.
    fn past_indicator(&self, slot: Slot, from: usize) -> usize {
        let i = self.skip_space(from);
        let take = |c: u8, i: usize, adjacent_ok: bool| {
            if self.byte(i) == Some(c) && (adjacent_ok || is_blank_or_break(self.byte(i + 1))) {
                Some(i + 1)
            } else {
                None
            }
        };
        match slot {
            Slot::Root => self.skip_document_start(from),
            Slot::SeqItem { flow: false, .. } => take(b'-', i, false).unwrap_or(from),
            Slot::SeqItem {
                flow: true,
                first: false,
            } => take(b',', i, true).unwrap_or(from),
            Slot::SeqItem { .. } => from,
            Slot::Key { flow, first, pair } => {
                let mut at = from;
                if flow && !first && !pair {
                    at = take(b',', i, true).unwrap_or(from);
                }
                let j = self.skip_space(at);
                take(b'?', j, false).unwrap_or(at)
            }
            // After a key, a `:` can only be its value indicator, even
            // when adjacent (`"a":1`).
            Slot::Value => take(b':', i, true).unwrap_or(from),
        }
    }

    /// Read the anchor and tag a node needs from `from`; returns them and the
    /// position after the last one read.
    fn properties(
        &self,
        from: usize,
        mut need_anchor: bool,
        mut need_tag: bool,
    ) -> (Option<String>, Option<String>, usize) {
        let (mut anchor, mut tag) = (None, None);
        let mut at = from;
        while need_anchor || need_tag {
            let i = self.skip_space(at);
            match self.byte(i) {
                Some(b'&') if need_anchor => {
                    let name = self.name_at(i + 1);
                    at = i + 1 + name.len();
                    anchor = Some(name.to_string());
                    need_anchor = false;
                }
                Some(b'!') if need_tag => {
                    let t = self.name_at(i);
                    at = i + t.len();
                    tag = Some(t.to_string());
                    need_tag = false;
                }
                _ => break,
            }
        }
        (anchor, tag, at)
    }

    /// An anchor, alias or tag name: up to a space, line break or flow indicator.
    fn name_at(&self, i: usize) -> &'a str {
        let text: &'a str = self.text;
        let rest = text.get(i..).unwrap_or("");
        let len = rest
            .bytes()
            .position(|c| is_blank_or_break(Some(c)) || is_flow_indicator(c))
            .unwrap_or(rest.len());
        rest.get(..len).unwrap_or("")
    }

    fn slot(&self) -> Slot {
        match self.frames.last() {
            None => Slot::Root,
            Some(f) if f.seq => Slot::SeqItem {
                flow: f.style == Style::Flow,
                first: f.items.is_empty(),
            },
            Some(f) if f.key.is_none() => Slot::Key {
                flow: f.style == Style::Flow,
                first: f.entries.is_empty(),
                pair: f.pair,
            },
            Some(_) => Slot::Value,
        }
    }

    /// Path from the root of the node about to be added.
    fn next_path(&self) -> Vec<usize> {
        self.frames.iter().map(Frame::children).collect()
    }

    /// Column (in chars) of the innermost block collection: the indentation
    /// a block scalar's content must exceed (-1 at top level).
    fn block_indent(&self) -> isize {
        self.frames
            .iter()
            .rev()
            .find(|f| f.style == Style::Block)
            .map_or(-1, |f| f.col as isize)
    }

    fn register_anchor(&mut self, id: usize, name: &Option<String>) {
        if id == 0 {
            return;
        }
        let path = self.next_path();
        let name = name.clone().unwrap_or_default();
        self.anchors.push((name.clone(), path.clone()));
        self.anchored.insert(
            id,
            Anchored {
                name,
                path,
                done: None,
            },
        );
    }

    fn scalar(
        &mut self,
        value: String,
        style: TScalarStyle,
        anchor_id: usize,
        has_tag: bool,
        mark: Marker,
    ) -> Result<(), YamlError> {
        let slot = self.slot();
        let after = self.past_indicator(slot, self.cursor);
        let (anchor, tag, after_props) = self.properties(after, anchor_id != 0, has_tag);
        let style = match style {
            TScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
            TScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
            TScalarStyle::Literal => ScalarStyle::Literal,
            TScalarStyle::Folded => ScalarStyle::Folded,
            TScalarStyle::Plain => ScalarStyle::Plain,
        };
        let (start, end, line, col) = if style == ScalarStyle::Plain && value.is_empty() {
            // An implicit null: no text of its own, the marker points at the
            // next token. It sits right after its indicator and properties.
            let (line, col) = self.loc.line_col(after_props);
            (after_props, after_props, line, col)
        } else {
            let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
            let content = self.skip_space(after_props);
            let start = if block && matches!(self.byte(content), Some(b'|' | b'>')) {
                // A block scalar's marker is at its first content line, not
                // at its `|`/`>` header.
                content
            } else {
                self.loc.offset(mark.line(), mark.col())
            };
            let end = match style {
                ScalarStyle::Plain => {
                    let flow = self.frames.last().is_some_and(|f| f.flow);
                    plain_end(self.text, start, &value, flow)
                }
                ScalarStyle::SingleQuoted => quoted_end(self.text, start, b'\'', false),
                ScalarStyle::DoubleQuoted => quoted_end(self.text, start, b'"', true),
                ScalarStyle::Literal | ScalarStyle::Folded => {
                    block_scalar_end(self.text, start, self.block_indent())
                }
            };
            let (line, col) = if block {
                self.loc.line_col(start)
            } else {
                (mark.line(), mark.col())
            };
            (start, end, line, col)
        };
        self.register_anchor(anchor_id, &anchor);
        let node = Node {
            kind: Kind::Scalar { value, style },
            anchor,
            tag,
            start,
            end,
            line,
            col,
        };
        self.total = self.total.saturating_add(1);
        self.finish_anchor(anchor_id, 1, 0);
        self.attach(node, 1, 0)
    }

    fn alias(&mut self, id: usize, mark: Marker) -> Result<(), YamlError> {
        let slot = self.slot();
        self.cursor = self.past_indicator(slot, self.cursor);
        let start = self.loc.offset(mark.line(), mark.col());
        let name = if self.byte(start) == Some(b'*') {
            self.name_at(start + 1).to_string()
        } else {
            String::new()
        };
        let end = start + 1 + name.len();
        let Some(target) = self.anchored.get(&id) else {
            return Err(self.error_at(start, format!("unknown anchor `{name}`")));
        };
        let Some((size, height)) = target.done else {
            return Err(self.error_at(
                start,
                format!(
                    "alias `{}` refers to a node that contains it",
                    target.name
                ),
            ));
        };
        let path = target.path.clone();
        let depth = self.frames.len() + height;
        self.aliases.push(AliasInfo {
            start,
            line: mark.line(),
            col: mark.col(),
            name: name.clone(),
            target: path,
            size,
            before: self.total,
            depth,
        });
        self.total = self.total.saturating_add(size);
        let node = Node {
            kind: Kind::Alias { name },
            anchor: None,
            tag: None,
            start,
            end,
            line: mark.line(),
            col: mark.col(),
        };
        self.attach(node, size, height)
    }

    fn open(
        &mut self,
        seq: bool,
        anchor_id: usize,
        has_tag: bool,
        mark: Marker,
    ) -> Result<(), YamlError> {
        let slot = self.slot();
        let after = self.past_indicator(slot, self.cursor);
        let (anchor, tag, after_props) = self.properties(after, anchor_id != 0, has_tag);
        let content = self.skip_space(after_props);
        let parent_flow = self.frames.last().is_some_and(|f| f.flow);
        let (style, pair) = match (seq, self.byte(content)) {
            (true, Some(b'[')) | (false, Some(b'{')) => (Style::Flow, false),
            (false, _) if parent_flow => (Style::Flow, true),
            _ => (Style::Block, false),
        };
        let start = if style == Style::Flow && !pair {
            content
        } else if seq && self.byte(content) != Some(b'-') {
            // Not where a block sequence must start: trust the marker.
            self.loc.offset(mark.line(), mark.col())
        } else {
            content
        };
        if self.frames.len() >= self.limits.max_depth {
            return Err(self.error_at(
                start,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        self.register_anchor(anchor_id, &anchor);
        let (line, col) = self.loc.line_col(start);
        self.frames.push(Frame {
            seq,
            style,
            pair,
            flow: style == Style::Flow,
            start,
            line,
            col,
            anchor,
            tag,
            anchor_id,
            items: Vec::new(),
            entries: Vec::new(),
            key: None,
            keys: HashSet::new(),
            size: 1,
            height: 0,
        });
        self.total = self.total.saturating_add(1);
        self.cursor = if style == Style::Flow && !pair {
            start + 1
        } else {
            start
        };
        Ok(())
    }

    fn close(&mut self, mark: Marker) -> Result<(), YamlError> {
        let Some(frame) = self.frames.pop() else {
            return Ok(());
        };
        let last_end = if frame.seq {
            frame.items.last().map(|n| n.end)
        } else {
            frame
                .entries
                .last()
                .map(|e| e.value.end)
                .or(frame.key.as_ref().map(|k| k.end))
        };
        let end = if frame.style == Style::Flow && !frame.pair {
            let close = if frame.seq { b']' } else { b'}' };
            let mut i = self.skip_space(self.cursor);
            if self.byte(i) == Some(b',') {
                i = self.skip_space(i + 1);
            }
            if self.byte(i) == Some(close) {
                i + 1
            } else {
                let m = self.loc.offset(mark.line(), mark.col());
                if self.byte(m) == Some(close) {
                    m + 1
                } else {
                    last_end.unwrap_or(frame.start + 1)
                }
            }
        } else {
            last_end.unwrap_or(frame.start)
        };
        let kind = if frame.seq {
            Kind::Seq {
                items: frame.items,
                style: frame.style,
            }
        } else {
            Kind::Map {
                entries: frame.entries,
                style: frame.style,
            }
        };
        let height = frame.height + 1;
        self.finish_anchor(frame.anchor_id, frame.size, height);
        let node = Node {
            kind,
            anchor: frame.anchor,
            tag: frame.tag,
            start: frame.start,
            end,
            line: frame.line,
            col: frame.col,
        };
        self.attach(node, frame.size, height)
    }

    fn finish_anchor(&mut self, id: usize, size: u64, height: usize) {
        if let Some(a) = self.anchored.get_mut(&id) {
            if a.done.is_none() {
                a.done = Some((size, height));
            }
        }
    }

    /// Hang a finished node on its parent (or make it the root).
    fn attach(&mut self, node: Node, size: u64, height: usize) -> Result<(), YamlError> {
        self.cursor = node.end;
        let Some(frame) = self.frames.last_mut() else {
            self.root = Some(node);
            self.root_height = height;
            return Ok(());
        };
        frame.size = frame.size.saturating_add(size);
        frame.height = frame.height.max(height);
        if frame.seq {
            frame.items.push(node);
        } else if let Some(key) = frame.key.take() {
            frame.entries.push(Entry { key, value: node });
        } else {
            if let Kind::Scalar { value, .. } = &node.kind {
                if !frame.keys.insert(value.clone()) {
                    return Err(node_error(&node, format!("duplicate key `{value}`")));
                }
            }
            frame.key = Some(node);
        }
        Ok(())
    }

    fn finish(self) -> Option<Document> {
        let root = self.root?;
        let alias_at = self
            .aliases
            .iter()
            .enumerate()
            .map(|(i, a)| (a.start, i))
            .collect();
        Some(Document {
            root,
            anchors: self.anchors,
            aliases: self.aliases,
            alias_at,
            total_nodes: self.total,
            height: self.root_height,
        })
    }
}

/// End of a quoted scalar starting at `start` (its opening quote).
fn quoted_end(text: &str, start: usize, quote: u8, escapes: bool) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        if escapes && c == b'\\' {
            i += 2;
        } else if c == quote {
            if !escapes && bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    text.len()
}

/// Where a plain scalar's text on one line stops (before trimming): at a
/// line break, `: `, ` #`, or in flow context a flow indicator.
fn plain_line_stop(text: &str, from: usize, flow: bool) -> usize {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(&c) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        let stop = match c {
            b'\n' | b'\r' => true,
            b':' => is_blank_or_break(next) || (flow && next.is_some_and(is_flow_indicator)),
            b'#' => i > from && matches!(bytes.get(i - 1), Some(b' ' | b'\t')),
            c if flow && is_flow_indicator(c) => true,
            _ => false,
        };
        if stop {
            break;
        }
        i += 1;
    }
    i
}

/// End of a plain scalar: its lines are matched against the parsed value
/// (lines fold to one space, each blank line to a line break), so the scan
/// stops exactly where the scalar does, comments and next keys excluded.
fn plain_end(text: &str, start: usize, value: &str, flow: bool) -> usize {
    let bytes = text.as_bytes();
    let mut rest = value;
    let mut pos = start;
    let mut end = start;
    loop {
        let stop = plain_line_stop(text, pos, flow);
        let seg = text
            .get(pos..stop)
            .unwrap_or("")
            .trim_end_matches([' ', '\t']);
        if seg.is_empty() || !rest.starts_with(seg) {
            if end == start {
                // Not what the parser read: keep at least the first line.
                end = pos + seg.len();
            }
            return end;
        }
        end = pos + seg.len();
        rest = &rest[seg.len()..];
        if rest.is_empty() {
            return end;
        }
        let breaks = rest.len() - rest.trim_start_matches('\n').len();
        if breaks > 0 {
            rest = &rest[breaks..];
        } else if let Some(r) = rest.strip_prefix(' ') {
            rest = r;
        } else {
            return end;
        }
        // Continue on the next line with text, past its indentation.
        let Some(nl) = text.get(end..).and_then(|r| r.find('\n')) else {
            return end;
        };
        pos = end + nl + 1;
        loop {
            while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                pos += 1;
            }
            match bytes.get(pos) {
                Some(b'\r') | Some(b'\n') => {
                    pos += if bytes.get(pos) == Some(&b'\r') { 2 } else { 1 };
                }
                Some(b'#') | None => return end,
                Some(_) => break,
            }
        }
    }
}

/// End of a block scalar (`|`/`>` at `start`): the end of its last
/// non-empty content line, or of its header when it has no content.
/// Content lines are those indented at least the content indentation,
/// which is explicit (`|2`) or that of the first non-empty line, and always
/// deeper than the enclosing block collection (`parent`, -1 at top level);
/// `#` lines inside count as content.
fn block_scalar_end(text: &str, start: usize, parent: isize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    let mut explicit = None;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'+' | b'-' => {}
            b'1'..=b'9' => explicit = Some(usize::from(c - b'0')),
            _ => break,
        }
        i += 1;
    }
    let header_end = i;
    let floor = (parent + 1).max(0) as usize;
    let mut indent = explicit.map(|d| if parent >= 0 { parent as usize + d } else { d });
    let mut widest_blank = 0;
    let mut end = header_end;
    let Some(nl) = text.get(header_end..).and_then(|r| r.find('\n')) else {
        return end;
    };
    let mut p = header_end + nl + 1;
    while p < text.len() {
        let line_end = text
            .get(p..)
            .and_then(|r| r.find('\n'))
            .map_or(text.len(), |n| p + n);
        let line = text
            .get(p..line_end)
            .unwrap_or("")
            .trim_end_matches('\r');
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let blank = line.trim_matches([' ', '\t']).is_empty();
        let n = match indent {
            Some(n) => n,
            None if blank => {
                widest_blank = widest_blank.max(spaces);
                p = line_end + 1;
                continue;
            }
            None => {
                let mut n = spaces.max(widest_blank).max(floor);
                if parent > 0 {
                    n = n.max(1);
                }
                indent = Some(n);
                n
            }
        };
        if !blank {
            if spaces < n {
                break;
            }
            if spaces == 0 && (line.starts_with("---") || line.starts_with("...")) {
                let after = line.as_bytes().get(3).copied();
                if is_blank_or_break(after) {
                    break;
                }
            }
            end = p + line.len();
        }
        p = line_end + 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        Source::new("compose.yaml".into(), "compose.yaml".into(), text.to_string())
    }

    fn dump(s: &Source, n: &Node, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        let slice = &s.text[n.start..n.end];
        out.push_str(&format!(
            "{pad}{}:{} {:?} a={:?} t={:?}\n",
            n.line,
            n.col,
            slice,
            n.anchor,
            n.tag
        ));
        match &n.kind {
            Kind::Seq { items, .. } => items.iter().for_each(|i| dump(s, i, depth + 1, out)),
            Kind::Map { entries, .. } => entries.iter().for_each(|e| {
                dump(s, &e.key, depth + 1, out);
                dump(s, &e.value, depth + 2, out);
            }),
            _ => {}
        }
    }
}
