//! The tree's data: nodes with their byte spans and styles, the document
//! with what resolving aliases needs, and the error every reader of it
//! returns. Built by `builder`, turned into JSON by `json`.

use std::collections::HashMap;
use std::sync::Arc;

use ecow::EcoString;

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
pub use crate::error::FileError as YamlError;

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
    pub(super) start: u32,
    pub(super) end: u32,
}

/// A node's anchor and tag, as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Props {
    pub(super) anchor: Option<Box<str>>,
    pub(super) tag: Option<Box<str>>,
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
    pub(super) fn of(tag: Option<&str>) -> Tag {
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
pub(super) fn class(kind: &Kind) -> u8 {
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
pub(super) fn pos(x: usize) -> u32 {
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
pub(super) struct AliasInfo {
    pub(super) start: usize,
    pub(super) line: usize,
    pub(super) col: usize,
    pub(super) name: String,
    /// Path of the anchored node from the root.
    pub(super) target: Vec<usize>,
    /// Nodes its expansion produces.
    pub(super) size: u64,
    /// Nodes produced before it, in document order.
    pub(super) before: u64,
    /// Nesting depth reached by its expansion.
    pub(super) depth: usize,
}

/// A parsed document: the tree plus what resolving aliases needs.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    /// The text the tree spans, for lines and columns.
    pub(super) src: Arc<Source>,
    /// Anchors and tags as written, by start offset and [`class`] of their
    /// node.
    pub(super) props: HashMap<(u32, u8), Props>,
    /// Anchors in document order: name and path from the root.
    pub(super) anchors: Vec<(String, Vec<usize>)>,
    /// Alias occurrences in document order.
    pub(super) aliases: Vec<AliasInfo>,
    /// Alias start offset → index in `aliases`.
    pub(super) alias_at: HashMap<usize, usize>,
    /// Nodes of the document with aliases expanded.
    pub(super) total_nodes: u64,
    /// Nesting depth of the tree itself.
    pub(super) height: usize,
}

impl Node {
    pub(super) fn new(kind: Kind, (start, end): (usize, usize)) -> Node {
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
    pub(super) fn child(&self, index: usize) -> Option<&Node> {
        match &self.kind {
            Kind::Seq { items, .. } => items.get(index),
            Kind::Map { entries, .. } => {
                let e = entries.get(index / 2)?;
                Some(if index.is_multiple_of(2) {
                    &e.key
                } else {
                    &e.value
                })
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

    pub(super) fn props_of(&self, node: &Node) -> Option<&Props> {
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

    pub(super) fn at_path(&self, path: &[usize]) -> Option<&Node> {
        let mut node = &self.root;
        for &i in path {
            node = node.child(i)?;
        }
        Some(node)
    }
}

pub(super) fn node_error(src: &Source, node: &Node, message: String) -> YamlError {
    let (line, col) = src.line_col(node.start());
    YamlError { line, col, message }
}

/// The core-schema name of a tag written `!!name` or `!<tag:yaml.org,2002:name>`.
pub(super) fn core_tag(tag: &str) -> Option<&str> {
    tag.strip_prefix("!!").or_else(|| {
        tag.strip_prefix("!<tag:yaml.org,2002:")
            .and_then(|t| t.strip_suffix('>'))
    })
}
