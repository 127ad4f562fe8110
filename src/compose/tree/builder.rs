//! The tree built from yaml-rust2's event stream: markers of scalars,
//! aliases and flow brackets converted to byte offsets, everything else
//! found by scanning the gaps between them.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

use ecow::EcoString;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::node::*;
use super::scan::*;
use crate::source::Source;

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

    /// The anchor and tag of the node starting at the cursor, past its
    /// `- `, `? ` or `: `, and where its content begins.
    fn node_properties(
        &self,
        need_anchor: bool,
        need_tag: bool,
    ) -> (Option<String>, Option<String>, usize) {
        let after = self.past_indicator(self.slot(), self.cursor);
        self.properties(after, need_anchor, need_tag)
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
        let (anchor, tag, after_props) = self.node_properties(anchor_id != 0, has_tag);
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
        let (anchor, tag, after_props) = self.node_properties(anchor_id != 0, has_tag);
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
