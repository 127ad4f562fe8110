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
use std::hash::BuildHasher;
use std::sync::Arc;

use ecow::EcoString;
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
            max_depth: crate::limits::DEFAULT_MAX_YAML_DEPTH,
            max_nodes: crate::limits::DEFAULT_MAX_YAML_NODES,
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
///
/// Kept small (32 bytes), since a compose file has a node for every key and
/// value, and a large file has millions: positions are `u32` ([`parse`]
/// refuses a file whose offsets do not fit), line and column are computed
/// from the start offset when asked ([`Document::line`]), the rare anchors
/// and tags are kept by the document ([`Document::anchor_of`]), and contents
/// are boxed slices and inline strings, without spare capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    start: u32,
    end: u32,
}

/// A node's anchor and tag, as written.
#[derive(Debug, Clone, PartialEq)]
struct Props {
    anchor: Option<Box<str>>,
    tag: Option<Box<str>>,
}

/// A scalar's tag, as far as typing its value goes: the core schema's
/// types, or some other tag (the tag as written is kept by the document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    None,
    Null,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

impl Tag {
    fn of(tag: Option<&str>) -> Tag {
        match tag.map(|t| core_tag(t)) {
            None => Tag::None,
            Some(Some("null")) => Tag::Null,
            Some(Some("bool")) => Tag::Bool,
            Some(Some("int")) => Tag::Int,
            Some(Some("float")) => Tag::Float,
            Some(Some("str")) => Tag::Str,
            Some(_) => Tag::Other,
        }
    }
}

/// Which kind of node props belong to: with the start offset, it tells
/// apart a block mapping and its first key, which start at one place.
fn class(kind: &Kind) -> u8 {
    match kind {
        Kind::Scalar { .. } => 0,
        Kind::Seq { .. } => 1,
        Kind::Map { .. } => 2,
        Kind::Alias { .. } => 3,
    }
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Most keys and many values are short: up to 15 bytes are stored in
    /// the node itself, not in an allocation of their own.
    Scalar {
        value: EcoString,
        style: ScalarStyle,
        tag: Tag,
    },
    Seq {
        items: Box<[Node]>,
        style: Style,
    },
    Map {
        entries: Box<[Entry]>,
        style: Style,
    },
    Alias {
        name: Box<str>,
    },
}

/// An offset, line or column as stored in a [`Node`]: [`parse`] refused any
/// file where one would not fit, so this never saturates in practice.
fn pos(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
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
    /// The text the tree spans, for lines and columns.
    src: Arc<Source>,
    /// Anchors and tags as written, by start offset and [`class`] of their
    /// node.
    props: HashMap<(u32, u8), Props>,
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
    fn new(kind: Kind, (start, end): (usize, usize)) -> Node {
        Node {
            kind,
            start: pos(start),
            end: pos(end),
        }
    }

    /// Byte offset where the content starts (after anchor and tag): a block
    /// mapping's first key (with that key's own anchor or tag, if any, so
    /// that `col` is the mapping's indentation), a block sequence's first
    /// `-`, a flow collection's bracket, a scalar's first character (quote
    /// and `|`/`>` included).
    pub fn start(&self) -> usize {
        self.start as usize
    }

    /// Byte offset just past the last content character: never trailing
    /// spaces, comments, blank lines or line endings (a block scalar's last
    /// non-empty line is content up to its line ending).
    pub fn end(&self) -> usize {
        self.end as usize
    }

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
            Kind::Scalar { value, .. } => Some(value.as_str()),
            _ => None,
        }
    }

    /// A plain scalar that the core schema reads as null (`~`, `null`, empty).
    pub fn is_null(&self) -> bool {
        match &self.kind {
            Kind::Scalar {
                value,
                style: ScalarStyle::Plain,
                tag: Tag::None | Tag::Null,
            } => matches!(&**value, "" | "~" | "null"),
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
    /// The text the document was parsed from.
    pub fn source(&self) -> &Source {
        &self.src
    }

    /// 1-based line and 0-based column (in characters) where `node` starts.
    /// A node of another document gives a position in this one's text that
    /// means nothing, but never a panic.
    pub fn line_col(&self, node: &Node) -> (usize, usize) {
        let (line, col) = self.src.line_col(node.start());
        (line, col.saturating_sub(1))
    }

    /// 1-based line where `node` starts.
    pub fn line(&self, node: &Node) -> usize {
        self.line_col(node).0
    }

    /// 0-based column (in characters) where `node` starts.
    pub fn col(&self, node: &Node) -> usize {
        self.line_col(node).1
    }

    /// The anchor of `node` as written (`&name`).
    pub fn anchor_of(&self, node: &Node) -> Option<&str> {
        self.props_of(node).and_then(|p| p.anchor.as_deref())
    }

    /// The tag of `node` as written (`!!str`, `!reset`).
    pub fn tag_of(&self, node: &Node) -> Option<&str> {
        self.props_of(node).and_then(|p| p.tag.as_deref())
    }

    fn props_of(&self, node: &Node) -> Option<&Props> {
        self.props.get(&(node.start, class(&node.kind)))
    }

    /// Follow an alias to the node anchored under its name most recently
    /// before it (the same node yaml-rust2 resolves it to); any other node
    /// is returned as is.
    pub fn resolve<'a>(&'a self, node: &'a Node) -> &'a Node {
        if !matches!(node.kind, Kind::Alias { .. }) {
            return node;
        }
        // The name check keeps a node of another document (a value read
        // through `extends.file`) from resolving to an alias of this one.
        self.alias_at
            .get(&node.start())
            .and_then(|&i| self.aliases.get(i))
            .filter(|a| matches!(&node.kind, Kind::Alias { name } if **name == *a.name))
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
        node.end()
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
    /// block scalars as strings, scalar keys as their text. With `merge_keys`, `<<`
    /// merges mappings as Docker Compose does (explicit keys win, then
    /// earlier mappings of a sequence); without, `<<` is an ordinary key.
    pub fn to_json(&self, merge_keys: bool, limits: &Limits) -> Result<Value, YamlError> {
        self.check_limits(limits)?;
        self.json_of(&self.root, merge_keys, 0, limits.max_depth)
    }

    /// The document stays within `limits` once aliases are expanded. Cheap:
    /// the sizes were computed while parsing, so a bomb costs no memory
    /// here, and a file can be refused as soon as it is read.
    pub fn check_limits(&self, limits: &Limits) -> Result<(), YamlError> {
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
                &self.src,
                &self.root,
                format!("document has more than {} nodes", limits.max_nodes),
            ));
        }
        if self.height > limits.max_depth {
            return Err(node_error(
                &self.src,
                &self.root,
                format!("nesting deeper than {} levels", limits.max_depth),
            ));
        }
        Ok(())
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
                &self.src,
                node,
                format!("nesting deeper than {max_depth} levels"),
            ));
        }
        match &node.kind {
            Kind::Scalar { value, style, tag } => Ok(scalar_json(value, *style, *tag)),
            Kind::Alias { name } => {
                let target = self.resolve(node);
                if std::ptr::eq(target, node) {
                    return Err(node_error(
                        &self.src,
                        node,
                        format!("unknown anchor `{name}`"),
                    ));
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
                    // Compose names a key by its text as written: a service
                    // `0x10` is `0x10`, not 16, so scalar keys are not typed.
                    let key = match &self.resolve(&e.key).kind {
                        Kind::Scalar { value, .. } => value.to_string(),
                        _ => key_string(self.json_of(&e.key, merge, depth + 1, max_depth)?),
                    };
                    let value = self.json_of(&e.value, merge, depth + 1, max_depth)?;
                    out.insert(key, value);
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
                &self.src,
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

fn node_error(src: &Source, node: &Node, message: String) -> YamlError {
    let (line, col) = src.line_col(node.start());
    YamlError { line, col, message }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { value, style: ScalarStyle::Plain, tag: Tag::None } if &**value == "<<")
}

/// The core-schema name of a tag written `!!name` or `!<tag:yaml.org,2002:name>`.
fn core_tag(tag: &str) -> Option<&str> {
    tag.strip_prefix("!!").or_else(|| {
        tag.strip_prefix("!<tag:yaml.org,2002:")
            .and_then(|t| t.strip_suffix('>'))
    })
}

/// A scalar's JSON value, typed the way yaml-rust2's loader types it.
fn scalar_json(value: &str, style: ScalarStyle, tag: Tag) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(value.to_string());
    }
    let yaml = match tag {
        Tag::None => Yaml::from_str(value),
        Tag::Bool => match value {
            "true" | "True" | "TRUE" => Yaml::Boolean(true),
            "false" | "False" | "FALSE" => Yaml::Boolean(false),
            _ => Yaml::String(value.to_string()),
        },
        Tag::Int => value
            .parse::<i64>()
            .map(Yaml::Integer)
            .unwrap_or_else(|_| Yaml::String(value.to_string())),
        Tag::Float => Yaml::Real(value.to_string()),
        Tag::Null if matches!(value, "" | "~" | "null") => Yaml::Null,
        _ => Yaml::String(value.to_string()),
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
/// JSON text, collections in a flow-like form. Not JSON for collections: a
/// key nested in a key would be escaped again at every level, and the text
/// would double in size each time (found by fuzzing).
fn key_string(key: Value) -> String {
    fn flow(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => out.push_str(s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    flow(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (k, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    flow(item, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    match key {
        Value::String(s) => s,
        other => {
            let mut out = String::new();
            flow(&other, &mut out);
            out
        }
    }
}

/// Parse the single YAML document of a compose file into a span tree.
/// `Ok(None)` for a stream with no document (only comments or blank lines).
pub fn parse(source: &Arc<Source>, limits: &Limits) -> Result<Option<Document>, YamlError> {
    // Nodes store offsets as `u32`: refuse what they cannot address rather
    // than wrap (only reachable with a raised `--max-file-size`).
    if u32::try_from(source.text.len()).is_err() {
        return Err(YamlError {
            line: 1,
            col: 1,
            message: format!(
                "file too large for positions: {} bytes, at most {} are supported",
                source.text.len(),
                u32::MAX
            ),
        });
    }
    check_line_breaks(source)?;
    // yaml-rust2 reads a byte order mark as content when given a string:
    // skip it, and count it back into line 1's columns.
    let bom = source.text.starts_with('\u{feff}');
    let mut parser = Parser::new(source.text.chars().skip(usize::from(bom)));
    let mut b = Builder::new(source, limits);
    let mut documents = 0usize;
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| scan_error(source, &e, bom))?;
        let mark = Pos::of(&mark, bom);
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError {
                        line: mark.line,
                        col: mark.col + 1,
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
    Ok(b.finish(Arc::clone(source)))
}

/// yaml-rust2 counts a lone CR as a line break, the line table does not,
/// and it stops at a NUL: refuse both rather than compute wrong offsets.
fn check_line_breaks(source: &Source) -> Result<(), YamlError> {
    let bytes = source.text.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        // YAML allows no control characters but tab and line breaks, and
        // yaml-rust2 takes a NUL for the end of the input: the tree would end
        // there while the text goes on, and edits would land inside the data.
        if (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r')) || c == 0x7f {
            let (line, col) = source.line_col(i);
            return Err(YamlError {
                line,
                col,
                message: format!(
                    "control character U+{c:04X} is not allowed in YAML (is this a binary file?)"
                ),
            });
        }
        if c == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
            let (line, col) = source.line_col(i);
            return Err(YamlError {
                line,
                col,
                message:
                    "carriage return without line feed: only LF and CRLF line endings are supported"
                        .to_string(),
            });
        }
    }
    Ok(())
}

fn scan_error(source: &Source, e: &ScanError, bom: bool) -> YamlError {
    let m = Pos::of(e.marker(), bom);
    let mut message = e.info().to_string();
    let line = source.line_text(m.line).trim_start();
    if message.contains("invalid indentation") && (line.starts_with(']') || line.starts_with('}')) {
        message.push_str(
            ": the closing bracket of a multi-line flow collection must be indented deeper \
             than the key that owns it (valid YAML, but the YAML parser harden uses rejects it); \
             indent the closing bracket further",
        );
    }
    YamlError {
        line: m.line,
        col: m.col + 1,
        message,
    }
}

/// A parser position: 1-based line, 0-based column in characters of the
/// source text.
#[derive(Clone, Copy)]
struct Pos {
    line: usize,
    col: usize,
}

impl Pos {
    fn of(mark: &Marker, bom: bool) -> Pos {
        let shift = usize::from(bom && mark.line() == 1);
        Pos {
            line: mark.line(),
            col: mark.col() + shift,
        }
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
    /// Column of `start`, in characters: the block's indentation.
    col: usize,
    anchor: Option<String>,
    tag: Option<String>,
    anchor_id: usize,
    /// Where this collection's children start on the builder's stack of
    /// items (a sequence) or entries (a mapping), and how many it has.
    base: usize,
    len: usize,
    key: Option<Node>,
    /// Hashes of the scalar keys of a mapping with many: a duplicate key is
    /// found without a copy of every key (the services of a large file
    /// number tens of thousands); a hash seen before is confirmed against
    /// the entries. A small mapping is searched instead.
    keys: HashSet<u64>,
    /// Expanded nodes below this one, and the height of the deepest child.
    size: u64,
    height: usize,
}

impl Frame {
    fn children(&self) -> usize {
        if self.seq {
            self.len
        } else {
            self.len * 2 + usize::from(self.key.is_some())
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
    key_hasher: std::hash::RandomState,
    props: HashMap<(u32, u8), Props>,
    /// The children of the open collections, innermost last.
    items: Vec<Node>,
    entries: Vec<Entry>,
}

/// Up to this many keys, a mapping's keys are searched for a duplicate
/// rather than hashed.
const SEARCHED_KEYS: usize = 16;

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
            key_hasher: std::hash::RandomState::new(),
            props: HashMap::new(),
            items: Vec::new(),
            entries: Vec::new(),
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
                _ if self
                    .text
                    .get(i..)
                    .is_some_and(|r| r.starts_with('\u{feff}')) =>
                {
                    i += 3
                }
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
                first: f.len == 0,
            },
            Some(f) if f.key.is_none() => Slot::Key {
                flow: f.style == Style::Flow,
                first: f.len == 0,
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
        mark: Pos,
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
        let (start, end) = if style == ScalarStyle::Plain && value.is_empty() {
            // An implicit null: no text of its own, the marker points at the
            // next token. It sits right after its indicator and properties.
            (after_props, after_props)
        } else {
            let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
            let content = self.skip_space(after_props);
            let start = if block && matches!(self.byte(content), Some(b'|' | b'>')) {
                // A block scalar's marker is at its first content line, not
                // at its `|`/`>` header.
                content
            } else {
                self.loc.offset(mark.line, mark.col)
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
            (start, end)
        };
        self.register_anchor(anchor_id, &anchor);
        let kind = Kind::Scalar {
            value: EcoString::from(value.as_str()),
            style,
            tag: Tag::of(tag.as_deref()),
        };
        let node = self.node(kind, anchor, tag, (start, end))?;
        self.total = self.total.saturating_add(1);
        self.finish_anchor(anchor_id, 1, 0);
        self.attach(node, 1, 0)
    }

    fn alias(&mut self, id: usize, mark: Pos) -> Result<(), YamlError> {
        let slot = self.slot();
        self.cursor = self.past_indicator(slot, self.cursor);
        let start = self.loc.offset(mark.line, mark.col);
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
                format!("alias `{}` refers to a node that contains it", target.name),
            ));
        };
        let path = target.path.clone();
        let depth = self.frames.len() + height;
        self.aliases.push(AliasInfo {
            start,
            line: mark.line,
            col: mark.col,
            name: name.clone(),
            target: path,
            size,
            before: self.total,
            depth,
        });
        self.total = self.total.saturating_add(size);
        let node = Node::new(
            Kind::Alias {
                name: name.into_boxed_str(),
            },
            (start, end),
        );
        self.attach(node, size, height)
    }

    fn open(
        &mut self,
        seq: bool,
        anchor_id: usize,
        has_tag: bool,
        mark: Pos,
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
            self.loc.offset(mark.line, mark.col)
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
        let (_, col) = self.loc.line_col(start);
        self.frames.push(Frame {
            seq,
            style,
            pair,
            flow: style == Style::Flow,
            start,
            col,
            anchor,
            tag,
            anchor_id,
            base: if seq {
                self.items.len()
            } else {
                self.entries.len()
            },
            len: 0,
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

    fn close(&mut self, mark: Pos) -> Result<(), YamlError> {
        let Some(frame) = self.frames.pop() else {
            return Ok(());
        };
        let last_end = if frame.len == 0 {
            frame.key.as_ref().map(Node::end)
        } else if frame.seq {
            self.items.last().map(Node::end)
        } else {
            self.entries.last().map(|e| e.value.end())
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
                let m = self.loc.offset(mark.line, mark.col);
                if self.byte(m) == Some(close) {
                    m + 1
                } else {
                    last_end.unwrap_or(frame.start + 1)
                }
            }
        } else {
            last_end.unwrap_or(frame.start)
        };
        // Children move off the shared stacks into a slice of their exact
        // size: no per-collection vector grows and shrinks, which left holes
        // between the nodes of a large file.
        let kind = if frame.seq {
            Kind::Seq {
                items: take_from(&mut self.items, frame.base),
                style: frame.style,
            }
        } else {
            Kind::Map {
                entries: take_from(&mut self.entries, frame.base),
                style: frame.style,
            }
        };
        let height = frame.height + 1;
        self.finish_anchor(frame.anchor_id, frame.size, height);
        let node = self.node(kind, frame.anchor, frame.tag, (frame.start, end))?;
        self.attach(node, frame.size, height)
    }

    /// A node, its anchor and tag kept aside. Two nodes with properties at
    /// one start are only possible with explicit `?` keys, which compose
    /// files never need: such a file is refused rather than misread.
    fn node(
        &mut self,
        kind: Kind,
        anchor: Option<String>,
        tag: Option<String>,
        span: (usize, usize),
    ) -> Result<Node, YamlError> {
        let node = Node::new(kind, span);
        if anchor.is_some() || tag.is_some() {
            let props = Props {
                anchor: anchor.map(String::into_boxed_str),
                tag: tag.map(String::into_boxed_str),
            };
            if self
                .props
                .insert((node.start, class(&node.kind)), props)
                .is_some()
            {
                return Err(node_error(
                    self.loc.src,
                    &node,
                    "two nodes with anchors or tags start here (explicit `?` keys?); harden cannot tell them apart".into(),
                ));
            }
        }
        Ok(node)
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
        // Every edit is placed by these spans: a node whose span is not a
        // piece of the text (explicit `?` keys inside flow collections can
        // confuse the parser's positions) makes the file unreadable to
        // harden rather than wrongly edited (found by fuzzing).
        if node.start() > node.end() || self.text.get(node.start()..node.end()).is_none() {
            return Err(node_error(
                self.loc.src,
                &node,
                "harden cannot tell where this node ends in the text (explicit `?` keys in flow collections?); nothing was changed".into(),
            ));
        }
        self.cursor = node.end();
        let Some(frame) = self.frames.last_mut() else {
            self.root = Some(node);
            self.root_height = height;
            return Ok(());
        };
        frame.size = frame.size.saturating_add(size);
        frame.height = frame.height.max(height);
        if frame.seq {
            self.items.push(node);
            frame.len += 1;
        } else if let Some(key) = frame.key.take() {
            self.entries.push(Entry { key, value: node });
            frame.len += 1;
        } else {
            if let Kind::Scalar { value, .. } = &node.kind {
                let siblings = self.entries.get(frame.base..).unwrap_or_default();
                let hasher = &self.key_hasher;
                let seen = if siblings.len() < SEARCHED_KEYS {
                    true
                } else {
                    if frame.keys.is_empty() {
                        frame.keys.extend(
                            siblings
                                .iter()
                                .filter_map(|e| e.key.as_str())
                                .map(|k| hasher.hash_one(k)),
                        );
                    }
                    !frame.keys.insert(hasher.hash_one(value.as_str()))
                };
                if seen && siblings.iter().any(|e| e.key.as_str() == Some(value)) {
                    return Err(node_error(
                        self.loc.src,
                        &node,
                        format!("duplicate key `{value}`"),
                    ));
                }
            }
            frame.key = Some(node);
        }
        Ok(())
    }

    fn finish(self, src: Arc<Source>) -> Option<Document> {
        let root = self.root?;
        let alias_at = self
            .aliases
            .iter()
            .enumerate()
            .map(|(i, a)| (a.start, i))
            .collect();
        Some(Document {
            root,
            src,
            props: self.props,
            anchors: self.anchors,
            aliases: self.aliases,
            alias_at,
            total_nodes: self.total,
            height: self.root_height,
        })
    }
}

/// The children of a closing collection: `stack[base..]`, as a slice of its
/// own. A collection that is most of the stack (the services of a large
/// file) takes the stack's own buffer, shrunk in place, and leaves the few
/// children before it in a new one: the large buffer is never copied, so it
/// is never held twice.
fn take_from<T>(stack: &mut Vec<T>, base: usize) -> Box<[T]> {
    if stack.len() - base.min(stack.len()) >= 1024 && base <= stack.len() / 8 {
        let mut tail = std::mem::take(stack);
        *stack = tail.drain(..base).collect();
        tail.into_boxed_slice()
    } else {
        stack.drain(base..).collect()
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
        let line = text.get(p..line_end).unwrap_or("").trim_end_matches('\r');
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

    fn source(text: &str) -> Arc<Source> {
        Arc::new(Source::new(
            "compose.yaml".into(),
            "compose.yaml".into(),
            text.to_string(),
        ))
    }

    fn parsed(text: &str) -> (Arc<Source>, Document) {
        let s = source(text);
        let d = match parse(&s, &Limits::default()) {
            Ok(Some(d)) => d,
            other => panic!("expected a document, got {other:?}"),
        };
        check_tree(&s, &d.root);
        (s, d)
    }

    /// Found by fuzzing: explicit keys inside a flow mapping, after a stray
    /// byte-order mark, gave a mapping a span that ends before it starts.
    #[test]
    fn a_node_without_a_span_in_the_text_is_an_error() {
        let e = parse_err(" ? # *?{ :?s  : |\n ?  \u{feff}{ :?s  : |\n\n    ? ? ?  ?s:{ :?s |\n \n    ? ~ l\n ? ? ? ? q");
        assert!(
            e.message.contains("cannot tell where this node ends"),
            "{e:?}"
        );
        assert!(e.line >= 1 && e.col >= 1);
    }

    fn parse_err(text: &str) -> YamlError {
        match parse(&source(text), &Limits::default()) {
            Err(e) => e,
            Ok(d) => panic!("expected an error, got {d:?}"),
        }
    }

    /// The text a node covers.
    fn span<'a>(s: &'a Source, n: &Node) -> &'a str {
        &s.text[n.start()..n.end()]
    }

    /// Follow a path of map keys and `#index` sequence positions.
    fn at<'a>(n: &'a Node, path: &str) -> &'a Node {
        let mut n = n;
        for step in path.split('/') {
            n = match (&n.kind, step.strip_prefix('#')) {
                (Kind::Seq { items, .. }, Some(i)) => &items[i.parse::<usize>().unwrap()],
                _ => &n.get(step).unwrap_or_else(|| panic!("no key {step}")).value,
            };
        }
        n
    }

    fn key_of<'a>(n: &'a Node, path: &str) -> &'a Node {
        let (parent, last) = path
            .rsplit_once('/')
            .map_or((n, path), |(p, l)| (at(n, p), l));
        &parent.get(last).unwrap().key
    }

    /// Invariants every node of every tree must hold.
    fn check_tree(s: &Source, n: &Node) {
        let text = &s.text;
        assert!(n.start() <= n.end() && n.end() <= text.len(), "{n:?}");
        assert!(text.is_char_boundary(n.start()) && text.is_char_boundary(n.end()));
        let slice = span(s, n);
        if !slice.is_empty() {
            assert!(!slice.ends_with(['\n', '\r']), "{slice:?}");
        }
        match &n.kind {
            Kind::Scalar { value, style, .. } => match style {
                ScalarStyle::Plain if !value.contains(['\n', ' ']) => assert_eq!(slice, &**value),
                ScalarStyle::Plain => assert!(!slice.ends_with([' ', '\t'])),
                ScalarStyle::SingleQuoted => {
                    assert!(slice.len() >= 2 && slice.starts_with('\'') && slice.ends_with('\''))
                }
                ScalarStyle::DoubleQuoted => {
                    assert!(slice.len() >= 2 && slice.starts_with('"') && slice.ends_with('"'))
                }
                ScalarStyle::Literal => assert!(slice.starts_with('|')),
                ScalarStyle::Folded => assert!(slice.starts_with('>')),
            },
            Kind::Alias { name } => assert_eq!(slice, format!("*{name}")),
            Kind::Seq { items, style } => {
                match style {
                    Style::Flow => assert!(slice.starts_with('[') && slice.ends_with(']')),
                    Style::Block => {
                        assert!(
                            slice.starts_with("- ") || slice.starts_with("-\n") || slice == "-"
                        );
                        assert_eq!(n.end(), items.last().unwrap().end());
                    }
                }
                for i in items {
                    assert!(
                        i.start() >= n.start() && i.end() <= n.end(),
                        "{i:?} in {n:?}"
                    );
                    check_tree(s, i);
                }
            }
            Kind::Map { entries, style } => {
                if *style == Style::Block || !slice.starts_with('{') {
                    assert_eq!(n.end(), entries.last().unwrap().value.end());
                } else {
                    assert!(slice.ends_with('}'));
                }
                for e in entries {
                    for c in [&e.key, &e.value] {
                        assert!(
                            c.start() >= n.start() && c.end() <= n.end(),
                            "{c:?} in {n:?}"
                        );
                        check_tree(s, c);
                    }
                    assert!(e.key.end() <= e.value.start());
                }
            }
        }
    }

    #[test]
    fn spans_at_every_indentation_width() {
        for width in [2, 3, 4, 8] {
            let i1 = " ".repeat(width);
            let i2 = i1.repeat(2);
            let text = format!(
                "services:\n{i1}web:\n{i2}image: nginx:1.27\n{i2}ports:\n{i2}{i1}- \"8080:80\"\n\
                 {i2}read_only: false  # why\n{i1}db:\n{i2}image: postgres:16\n\n\
                 volumes:\n{i1}data: {{}}\n"
            );
            let (s, d) = parsed(&text);
            let web = at(&d.root, "services/web");
            assert_eq!(
                span(&s, web),
                format!(
                    "image: nginx:1.27\n{i2}ports:\n{i2}{i1}- \"8080:80\"\n{i2}read_only: false"
                )
            );
            assert_eq!(d.line_col(web), (3, 2 * width));
            assert_eq!(span(&s, at(&d.root, "services/web/image")), "nginx:1.27");
            assert_eq!(
                span(&s, key_of(&d.root, "services/web/read_only")),
                "read_only"
            );
            assert_eq!(span(&s, at(&d.root, "services/web/read_only")), "false");
            assert_eq!(
                span(&s, at(&d.root, "services/web/ports/#0")),
                "\"8080:80\""
            );
            assert_eq!(d.col(at(&d.root, "services/web/ports")), 3 * width);
            let services = at(&d.root, "services");
            assert!(span(&s, services).starts_with("web:"));
            assert!(span(&s, services).ends_with("image: postgres:16"));
            assert_eq!(d.last_content_line_end(services), services.end());
            assert_eq!(span(&s, at(&d.root, "volumes/data")), "{}");
            assert!(matches!(
                at(&d.root, "services").kind,
                Kind::Map {
                    style: Style::Block,
                    ..
                }
            ));
        }
    }

    #[test]
    fn flush_and_indented_sequences() {
        let text = "services:\n  app:\n    cap_drop:\n    - ALL\n    cap_add:\n      - NET_BIND_SERVICE\n      - CHOWN\n    security_opt:\n    - no-new-privileges:true\n    user: \"1000\"\n";
        let (s, d) = parsed(text);
        let drop = at(&d.root, "services/app/cap_drop");
        assert_eq!(span(&s, drop), "- ALL");
        assert_eq!(d.line_col(drop), (4, 4));
        assert!(matches!(
            drop.kind,
            Kind::Seq {
                style: Style::Block,
                ..
            }
        ));
        let add = at(&d.root, "services/app/cap_add");
        assert_eq!(span(&s, add), "- NET_BIND_SERVICE\n      - CHOWN");
        assert_eq!(d.line_col(add), (6, 6));
        assert_eq!(
            span(&s, at(&d.root, "services/app/security_opt/#0")),
            "no-new-privileges:true"
        );
        assert_eq!(span(&s, at(&d.root, "services/app/user")), "\"1000\"");
    }

    #[test]
    fn flow_collections_single_and_multi_line() {
        let text = "services:\n  app:\n    command: [\"python\", \"-m\", 'app']\n    environment: {LOG_LEVEL: info, WORKERS: 4}\n    healthcheck:\n      test: [\n        \"CMD\", \"curl\", \"-f\",\n        \"http://localhost:8080/health\"\n        ]\n      interval: 30s\n    labels: { team: core,\n      tier: web }\n    dns: [1.1.1.1, 8.8.8.8,]\n    extra: [a: b, {c: d}]\n";
        let (s, d) = parsed(text);
        let cmd = at(&d.root, "services/app/command");
        assert_eq!(span(&s, cmd), "[\"python\", \"-m\", 'app']");
        assert!(matches!(
            cmd.kind,
            Kind::Seq {
                style: Style::Flow,
                ..
            }
        ));
        assert_eq!(span(&s, at(&d.root, "services/app/command/#2")), "'app'");
        let env = at(&d.root, "services/app/environment");
        assert_eq!(span(&s, env), "{LOG_LEVEL: info, WORKERS: 4}");
        assert!(matches!(
            env.kind,
            Kind::Map {
                style: Style::Flow,
                ..
            }
        ));
        assert_eq!(
            span(&s, at(&d.root, "services/app/environment/WORKERS")),
            "4"
        );
        let test = at(&d.root, "services/app/healthcheck/test");
        assert_eq!(
            span(&s, test),
            "[\n        \"CMD\", \"curl\", \"-f\",\n        \"http://localhost:8080/health\"\n        ]"
        );
        assert_eq!(
            span(&s, at(&d.root, "services/app/healthcheck/interval")),
            "30s"
        );
        assert_eq!(
            span(&s, at(&d.root, "services/app/labels")),
            "{ team: core,\n      tier: web }"
        );
        assert_eq!(
            span(&s, at(&d.root, "services/app/dns")),
            "[1.1.1.1, 8.8.8.8,]"
        );
        let extra = at(&d.root, "services/app/extra");
        assert_eq!(span(&s, at(extra, "#0")), "a: b");
        assert!(matches!(
            at(extra, "#0").kind,
            Kind::Map {
                style: Style::Flow,
                ..
            }
        ));
        assert_eq!(span(&s, at(extra, "#1")), "{c: d}");
        let json = d.to_json(true, &Limits::default()).unwrap();
        assert_eq!(json["services"]["app"]["environment"]["WORKERS"], 4);
        assert_eq!(json["services"]["app"]["dns"][1], "8.8.8.8");
        assert_eq!(json["services"]["app"]["extra"][0]["a"], "b");
    }

    #[test]
    fn quoted_keys_and_values() {
        let text = "services:\n  \"web\":\n    labels:\n      \"com.example.team\": 'platform'\n      'com.example.note': 'it''s fine'   # note\n      \"x\" : \"a \\\"b\\\" c\"\n";
        let (s, d) = parsed(text);
        let web = key_of(&d.root, "services/web");
        assert_eq!(span(&s, web), "\"web\"");
        let labels = at(&d.root, "services/web/labels");
        assert_eq!(
            span(&s, key_of(labels, "com.example.team")),
            "\"com.example.team\""
        );
        assert_eq!(span(&s, at(labels, "com.example.team")), "'platform'");
        assert_eq!(span(&s, at(labels, "com.example.note")), "'it''s fine'");
        assert_eq!(at(labels, "com.example.note").as_str(), Some("it's fine"));
        assert_eq!(span(&s, at(labels, "x")), "\"a \\\"b\\\" c\"");
        assert!(span(&s, labels).ends_with(" c\""));
    }

    const MERGES: &str = "x-defaults: &default\n  restart: unless-stopped\n  logging:\n    driver: json-file\nx-limits: &limits\n  mem_limit: 512m\n  restart: always\nservices:\n  web:\n    <<: *default\n    image: nginx\n    restart: \"no\"\n  worker:\n    <<: [*limits, *default]\n    image: worker\n";

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let (s, d) = parsed(MERGES);
        let defaults = at(&d.root, "x-defaults");
        assert_eq!(d.anchor_of(defaults), Some("default"));
        assert_eq!(d.line_col(defaults), (2, 2));
        assert!(span(&s, defaults).starts_with("restart: unless-stopped"));
        assert!(span(&s, defaults).ends_with("driver: json-file"));
        let merge = at(&d.root, "services/web/<<");
        assert_eq!(span(&s, merge), "*default");
        assert_eq!(d.line(merge), 10);
        assert!(std::ptr::eq(d.resolve(merge), defaults));
        assert!(std::ptr::eq(
            d.anchor("limits").unwrap(),
            at(&d.root, "x-limits")
        ));
        let list = at(&d.root, "services/worker/<<");
        assert_eq!(span(&s, list), "[*limits, *default]");
        assert!(std::ptr::eq(d.resolve(at(list, "#1")), defaults));

        let merged = d.to_json(true, &Limits::default()).unwrap();
        let web = &merged["services"]["web"];
        assert_eq!(web["restart"], "no");
        assert_eq!(web["logging"]["driver"], "json-file");
        assert_eq!(web["image"], "nginx");
        assert!(web.get("<<").is_none());
        let worker = &merged["services"]["worker"];
        assert_eq!(worker["restart"], "always");
        assert_eq!(worker["mem_limit"], "512m");
        assert_eq!(worker["logging"]["driver"], "json-file");

        let plain = d.to_json(false, &Limits::default()).unwrap();
        assert_eq!(plain["services"]["web"]["<<"]["restart"], "unless-stopped");
        assert!(plain["services"]["web"].get("logging").is_none());
        assert_eq!(plain["services"]["worker"]["<<"][0]["mem_limit"], "512m");
    }

    #[test]
    fn later_anchor_with_same_name_wins_for_later_aliases() {
        let text = "a: &x one\nb: *x\nc: &x two\nd: *x\n";
        let (_, d) = parsed(text);
        assert_eq!(d.resolve(at(&d.root, "b")).as_str(), Some("one"));
        assert_eq!(d.resolve(at(&d.root, "d")).as_str(), Some("two"));
        let json = d.to_json(true, &Limits::default()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"a": "one", "b": "one", "c": "two", "d": "two"})
        );
    }

    #[test]
    fn bad_merge_value_is_an_error() {
        let (_, d) = parsed("a: &s text\nb:\n  <<: *s\n");
        let e = d.to_json(true, &Limits::default()).unwrap_err();
        assert!(e.message.contains("merge key"), "{e}");
        assert!(d.to_json(false, &Limits::default()).is_ok());
    }

    #[test]
    fn block_scalars_with_hash_lines_and_trailing_blanks() {
        let text = "services:\n  app:\n    command: |\n      set -e\n      # part of the script\n      exec app --port 8080\n\n\n    entrypoint: >-\n      /bin/sh -c\n      \"exec app\"\n\n  # belongs to worker\n  worker:\n    command: |+\n      run\n\n    healthcheck:\n      test: |2\n          indented more\n        base\n\n# trailing comment\n";
        let (s, d) = parsed(text);
        let cmd = at(&d.root, "services/app/command");
        assert_eq!(
            span(&s, cmd),
            "|\n      set -e\n      # part of the script\n      exec app --port 8080"
        );
        assert_eq!(
            cmd.as_str(),
            Some("set -e\n# part of the script\nexec app --port 8080\n")
        );
        assert_eq!(d.line_col(cmd), (3, 13));
        let app = at(&d.root, "services/app");
        assert!(span(&s, app).ends_with("\"exec app\""));
        assert_eq!(
            at(&d.root, "services/app/entrypoint").as_str(),
            Some("/bin/sh -c \"exec app\"")
        );
        let keep = at(&d.root, "services/worker/command");
        assert_eq!(span(&s, keep), "|+\n      run");
        assert_eq!(keep.as_str(), Some("run\n\n"));
        let test = at(&d.root, "services/worker/healthcheck/test");
        assert_eq!(span(&s, test), "|2\n          indented more\n        base");
        assert_eq!(test.as_str(), Some("  indented more\nbase\n"));
        let services = at(&d.root, "services");
        assert!(span(&s, services).ends_with("        base"));
        assert_eq!(d.root.end(), services.end());
    }

    #[test]
    fn comments_after_the_last_key_belong_to_the_next_one() {
        let text = "services:\n  web:\n    image: nginx\n    read_only: false  # why\n\n    # The worker runs batch jobs.\n  worker:\n    image: worker\n";
        let (s, d) = parsed(text);
        let web = at(&d.root, "services/web");
        assert!(s.text[..web.end()].ends_with("read_only: false"));
        assert_eq!(span(&s, at(&d.root, "services/web/read_only")), "false");
        let worker = key_of(&d.root, "services/worker");
        assert_eq!(d.line_col(worker), (7, 2));
    }

    #[test]
    fn non_ascii_before_nodes_with_crlf() {
        let text = "# Überblick: 日本語 🚀\r\nservices:\r\n  wéb:\r\n    image: \"nginx\" # 🚀 commentaire\r\n    environment:\r\n      GREETING: héllo wörld 日本語\r\n      EMOJI: 🚀🚀\r\n    labels: [é, 日本]\r\n    command: |\r\n      echo 日本語\r\n      echo é\r\n\r\n  db:\r\n    image: postgres\r\n";
        let (s, d) = parsed(text);
        assert_eq!(span(&s, at(&d.root, "services/wéb/image")), "\"nginx\"");
        let greeting = at(&d.root, "services/wéb/environment/GREETING");
        assert_eq!(span(&s, greeting), "héllo wörld 日本語");
        let emoji = at(&d.root, "services/wéb/environment/EMOJI");
        assert_eq!(span(&s, emoji), "🚀🚀");
        assert_eq!(d.line_col(emoji), (7, 13));
        assert_eq!(span(&s, at(&d.root, "services/wéb/labels")), "[é, 日本]");
        assert_eq!(span(&s, at(&d.root, "services/wéb/labels/#1")), "日本");
        let cmd = at(&d.root, "services/wéb/command");
        assert_eq!(span(&s, cmd), "|\r\n      echo 日本語\r\n      echo é");
        assert_eq!(cmd.as_str(), Some("echo 日本語\necho é\n"));
        assert_eq!(span(&s, at(&d.root, "services/db/image")), "postgres");
        assert!(span(&s, at(&d.root, "services/wéb")).ends_with("echo é"));
    }

    #[test]
    fn plain_multi_line_scalars() {
        let text = "services:\n  app:\n    command: python -m app\n      --workers 4\n\n      --verbose  # comment\n    image: app\n    args: [one\n      two, three]\n";
        let (s, d) = parsed(text);
        let cmd = at(&d.root, "services/app/command");
        assert_eq!(
            span(&s, cmd),
            "python -m app\n      --workers 4\n\n      --verbose"
        );
        assert_eq!(cmd.as_str(), Some("python -m app --workers 4\n--verbose"));
        assert_eq!(
            span(&s, at(&d.root, "services/app/args/#0")),
            "one\n      two"
        );
    }

    #[test]
    fn document_without_final_newline() {
        let (s, d) = parsed("services:\n  web:\n    image: nginx");
        assert_eq!(at(&d.root, "services/web/image").end(), s.text.len());
        let (s, d) = parsed("services:\n  web:\n    command: |\n      run");
        assert_eq!(
            span(&s, at(&d.root, "services/web/command")),
            "|\n      run"
        );
        assert_eq!(d.root.end(), s.text.len());
    }

    #[test]
    fn document_start_marker_and_directives() {
        let text = "%YAML 1.2\n---\n# compose\nservices:\n  web:\n    image: nginx\n...\n";
        let (s, d) = parsed(text);
        assert_eq!((d.line(&d.root), d.col(&d.root)), (4, 0));
        assert!(span(&s, &d.root).ends_with("image: nginx"));
        let (s, d) = parsed("--- # comment\nservices: {}\n");
        assert_eq!(span(&s, &d.root), "services: {}");
    }

    #[test]
    fn empty_streams() {
        for text in ["", "\n\n", "# only a comment\n\n# another\n"] {
            assert!(
                parse(&source(text), &Limits::default()).unwrap().is_none(),
                "{text:?}"
            );
        }
        let (_, d) = parsed("---\n");
        assert!(d.root.is_null());
        assert_eq!(d.root.start(), 3);
        assert_eq!(d.to_json(true, &Limits::default()).unwrap(), Value::Null);
    }

    #[test]
    fn implicit_nulls_sit_after_their_indicator() {
        let text = "services:\n  web:\n  db:   # nothing yet\n    image: postgres\nvolumes:\n  data:\nlist:\n  -\n  - x\n  - &anchored\n";
        let (s, d) = parsed(text);
        let web = at(&d.root, "services/web");
        assert!(web.is_null());
        assert_eq!(web.start(), web.end());
        assert_eq!(web.start(), "services:\n  web:".len());
        let data = at(&d.root, "volumes/data");
        assert_eq!(
            &s.text[..data.start()],
            "services:\n  web:\n  db:   # nothing yet\n    image: postgres\nvolumes:\n  data:"
        );
        let first = at(&d.root, "list/#0");
        assert!(s.text[..first.start()].ends_with("list:\n  -"));
        let anchored = at(&d.root, "list/#2");
        assert_eq!(d.anchor_of(anchored), Some("anchored"));
        assert!(s.text[..anchored.end()].ends_with("- &anchored"));
        assert_eq!(at(&d.root, "volumes").end(), data.end());
        assert_eq!(
            at(&d.root, "services").end(),
            at(&d.root, "services/db/image").end()
        );
    }

    /// Nine levels of nine aliases each: a billion strings from 400 bytes.
    fn billion_laughs() -> String {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        text
    }

    #[test]
    fn alias_bomb_fails_fast() {
        let text = billion_laughs();
        let started = std::time::Instant::now();
        let (_, d) = parsed(&text);
        let e = d.to_json(true, &Limits::default()).unwrap_err();
        assert!(
            e.message.contains("alias expansion exceeds 1000000 nodes"),
            "{e}"
        );
        assert_eq!(e.line, 7);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // The same shape within budget expands.
        let small = Limits {
            max_depth: crate::limits::DEFAULT_MAX_YAML_DEPTH,
            max_nodes: crate::limits::DEFAULT_MAX_YAML_NODES,
        };
        let text3: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        let (_, d3) = parsed(&text3);
        let json = d3.to_json(true, &small).unwrap();
        assert_eq!(json["c"][8][8][8], "lol");
    }

    #[test]
    fn alias_to_its_own_ancestor_is_an_error() {
        let e = parse_err("a: &x\n  b: *x\n");
        assert!(e.message.contains("contains it"), "{e}");
        assert_eq!((e.line, e.col), (2, 6));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let flow = format!("x: {}", "[".repeat(10_000));
        let e = parse_err(&flow);
        assert_eq!(e.line, 1);
        assert!(
            e.message.contains("nesting deeper") || e.message.contains("recursion"),
            "{e}"
        );
        let block: String = (0..300)
            .map(|i| format!("{}- \n", " ".repeat(i * 2)))
            .collect();
        let e = parse_err(&block);
        assert!(e.message.contains("nesting deeper than 256"), "{e}");
        let limits = Limits {
            max_depth: 3,
            max_nodes: 100,
        };
        let e = parse(&source("a:\n  b:\n    c:\n      d: 1\n"), &limits).unwrap_err();
        assert_eq!((e.line, e.col), (4, 7));
        // Depth reached through aliases counts too.
        let text = "a: &a [[1]]\nb: &b [*a]\nc: [*b]\n";
        let limits = Limits {
            max_depth: 3,
            max_nodes: 100,
        };
        let d = parse(&source(text), &limits).unwrap().unwrap();
        let e = d.to_json(false, &limits).unwrap_err();
        // `b` is the root map, its sequence and the two levels of `a`.
        assert!(e.message.contains("after expanding alias `a`"), "{e}");
        assert_eq!((e.line, e.col), (2, 8));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let e = parse_err("services:\n  web:\n    image: a\n    read_only: true\n    image: b\n");
        assert_eq!((e.line, e.col), (5, 5));
        assert_eq!(e.message, "duplicate key `image`");
        let e = parse_err("labels: {a: 1, \"a\": 2}\n");
        assert_eq!((e.line, e.col), (1, 16));
        let e = parse_err("services:\n  web: {}\n  web: {}\n");
        assert_eq!(e.line, 3);
    }

    /// A mapping of thousands of keys takes its children off the shared
    /// stack whole, with a nested one and its parent's earlier keys kept;
    /// a duplicate among many keys (hashed, not searched) is still found.
    #[test]
    fn large_collections_keep_every_child_in_order() {
        let mut text = String::from("name: big\nx-list: [a, b]\nservices:\n");
        for i in 0..3000 {
            text.push_str(&format!(
                "  s{i}:\n    image: app:{i}\n    ports: [\"{i}\"]\n"
            ));
        }
        text.push_str("volumes:\n  data: {}\n");
        let (s, d) = parsed(&text);
        let Kind::Map { entries, .. } = &d.root.kind else {
            panic!("root is a mapping")
        };
        let keys: Vec<_> = entries.iter().filter_map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["name", "x-list", "services", "volumes"]);
        let Kind::Map { entries, .. } = &at(&d.root, "services").kind else {
            panic!("services is a mapping")
        };
        assert_eq!(entries.len(), 3000);
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.key.as_str(), Some(format!("s{i}").as_str()));
        }
        assert_eq!(span(&s, at(&d.root, "services/s2999/image")), "app:2999");
        assert_eq!(d.line(at(&d.root, "services/s2999")), 3 + 2999 * 3 + 2);
        let e = parse_err(&text.replace("  s2500:", "  s17:"));
        assert_eq!(e.message, "duplicate key `s17`");
        assert_eq!(e.line, 4 + 2500 * 3);
    }

    #[test]
    fn more_than_one_document_is_refused() {
        let e = parse_err("services:\n  web:\n    image: a\n---\nservices: {}\n");
        assert_eq!((e.line, e.col), (4, 1));
        assert_eq!(
            e.message,
            "multiple YAML documents are not supported in a compose file"
        );
    }

    #[test]
    fn parse_errors_carry_one_based_positions() {
        let e = parse_err("services:\n  web:\n    image: \"unterminated\n");
        assert!(e.line >= 3, "{e}");
        let e =
            parse_err("services:\n  web:\n    command: [\n      \"run\",\n      \"x\"\n    ]\n");
        assert_eq!((e.line, e.col), (6, 5));
        assert!(e.message.contains("closing bracket"), "{e}");
        let e = parse_err("a: 1\r\rb: 2\n");
        assert_eq!((e.line, e.col), (1, 5));
    }

    #[test]
    fn scalars_resolve_with_the_core_schema() {
        let text = "a: ~\nb: null\nc:\nd: true\ne: False\nf: 42\ng: 0x1F\nh: 0o17\ni: +7\nj: 3.5\nk: 1e3\nl: .inf\nm: .nan\nn: \"42\"\no: '~'\np: |\n  7\nq: 9223372036854775808\nr: !!str 12\ns: !!int 12\nt: yes\n1: one\ntrue: two\n";
        let (_, d) = parsed(text);
        let j = d.to_json(true, &Limits::default()).unwrap();
        assert_eq!(j["a"], Value::Null);
        assert_eq!(j["b"], Value::Null);
        assert_eq!(j["c"], Value::Null);
        assert_eq!(j["d"], true);
        assert_eq!(j["e"], false);
        assert_eq!(j["f"], 42);
        assert_eq!(j["g"], 31);
        assert_eq!(j["h"], 15);
        assert_eq!(j["i"], 7);
        assert_eq!(j["j"], 3.5);
        assert_eq!(j["k"], 1000.0);
        assert_eq!(j["l"], ".inf");
        assert_eq!(j["m"], ".nan");
        assert_eq!(j["n"], "42");
        assert_eq!(j["o"], "~");
        assert_eq!(j["p"], "7\n");
        assert_eq!(j["q"], 9223372036854775808.0);
        assert_eq!(j["r"], "12");
        assert_eq!(j["s"], 12);
        assert_eq!(j["t"], "yes");
        assert_eq!(j["1"], "one");
        assert_eq!(j["true"], "two");
    }

    #[test]
    fn large_file_builds_in_one_pass() {
        let mut text = String::from("services:\n");
        for i in 0..5000 {
            text.push_str(&format!(
                "  svc{i}:\n    image: registry.example/team/app:{i}  # pinned\n    environment:\n      NAME: \"service {i}\"\n    ports: [\"{p}:80\"]\n    command: |\n      run --id {i}\n\n",
                p = 10000 + i
            ));
        }
        let (s, d) = parsed(&text);
        let services = at(&d.root, "services");
        let Kind::Map { entries, .. } = &services.kind else {
            panic!()
        };
        assert_eq!(entries.len(), 5000);
        assert_eq!(
            span(&s, at(services, "svc4999/command")),
            "|\n      run --id 4999"
        );
        assert_eq!(
            d.to_json(true, &Limits::default()).unwrap()["services"]["svc17"]["ports"][0],
            "10017:80"
        );
    }

    #[test]
    fn every_prefix_parses_or_fails_cleanly() {
        let fixtures = [
            MERGES.to_string(),
            billion_laughs(),
            "\u{feff}# Überblick 🚀\r\nservices:\r\n  wéb:\r\n    image: \"nginx\" # 🚀\r\n    labels: [é, 日本]\r\n    command: |\r\n      echo 日本語\r\n\r\n    env: {A: 1,\r\n      B: 2}\r\n".to_string(),
            "services:\n  app:\n    command: python -m app\n      --workers 4\n    cap_drop:\n    - ALL\n    x: &e\n    y: [a: b, {c: d}, 'q''s']\n    ? complex\n    : value\n    t: !!str 12\n    z: >-\n      # in\n      w\n\n  # next\n  b:\n".to_string(),
        ];
        for (n, text) in fixtures.iter().enumerate() {
            // Mutations are many; the alias bomb is long and adds nothing here.
            for (at, _) in text.char_indices().filter(|_| n != 1) {
                for ins in [
                    "#", ":", "- ", "[", "]", "\"", "'", "|", ">", "&x ", "*x", "\n", " ", "é",
                    "{", ",", "? ",
                ] {
                    let mutated = format!("{}{ins}{}", &text[..at], &text[at..]);
                    let s = source(&mutated);
                    if let Ok(Some(d)) = parse(&s, &Limits::default()) {
                        check_tree(&s, &d.root);
                        let _ = d.to_json(true, &Limits::default());
                    }
                }
            }
            for (cut, _) in text.char_indices() {
                let s = source(&text[..cut]);
                if let Ok(Some(d)) = parse(&s, &Limits::default()) {
                    check_tree(&s, &d.root);
                    let _ = d.to_json(true, &Limits::default());
                }
            }
        }
    }

    #[test]
    fn properties_comments_and_bom_around_collections() {
        let text = "\u{feff}services:\n  app:\n    cap_drop: # drop everything\n      - ALL\n    volumes: &vols\n    - data:/data\n    x-list:\n    - &item name: a\n      other: b\n    command: | # the script\n      run\n    tmpfs: !!seq\n      - /tmp\n";
        let (s, d) = parsed(text);
        assert_eq!(d.root.start(), 3);
        assert_eq!(span(&s, at(&d.root, "services/app/cap_drop")), "- ALL");
        let vols = at(&d.root, "services/app/volumes");
        assert_eq!(d.anchor_of(vols), Some("vols"));
        assert_eq!(span(&s, vols), "- data:/data");
        let item = at(&d.root, "services/app/x-list/#0");
        // The key's own anchor opens the mapping's text: `col` stays the
        // mapping's indentation, where sibling keys go.
        assert_eq!(span(&s, item), "&item name: a\n      other: b");
        assert_eq!(d.col(item), 6);
        assert_eq!(d.anchor_of(key_of(item, "name")), Some("item"));
        let cmd = at(&d.root, "services/app/command");
        assert_eq!(span(&s, cmd), "| # the script\n      run");
        let tmpfs = at(&d.root, "services/app/tmpfs");
        assert_eq!(d.tag_of(tmpfs), Some("!!seq"));
        assert_eq!(span(&s, tmpfs), "- /tmp");
    }
}
