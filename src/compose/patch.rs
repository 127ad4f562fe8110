//! Format-preserving edits to a YAML document: new keys and sequence items
//! are inserted as whole lines after a block's last content line, in the
//! indentation and sequence style the file already uses; flow collections
//! are extended in flow style. Nothing existing is rewritten.

use super::tree::{Document, Kind, Node, Style};
use crate::edit::Edit;
use crate::error::FileError;
use crate::source::Source;

/// How the file lays out its blocks, learned from the file itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Spaces a nested mapping is indented by.
    pub step: usize,
    /// Spaces a block sequence's `-` sits right of its parent key (0 = flush).
    pub seq_indent: usize,
    pub eol: &'static str,
}

impl Layout {
    /// Learn indentation and sequence style from the first examples in the
    /// document; fall back to two spaces and indented sequences.
    pub fn detect(src: &Source, doc: &Document) -> Layout {
        let mut step = None;
        let mut seq_indent = None;
        let pos = |n: &Node| doc.line_col(n);
        visit_pairs(&doc.root, &mut |key, value| {
            match &value.kind {
                Kind::Map {
                    style: Style::Block,
                    entries,
                } if step.is_none() => {
                    if let Some(first) = entries.first() {
                        let ((kl, kc), (vc, fl)) = (pos(key), (pos(value).1, pos(&first.key).0));
                        if fl > kl && vc > kc {
                            step = Some(vc - kc);
                        }
                    }
                }
                Kind::Seq {
                    style: Style::Block,
                    ..
                } if seq_indent.is_none() => {
                    let ((kl, kc), (vl, vc)) = (pos(key), pos(value));
                    if vl > kl && vc >= kc {
                        seq_indent = Some(vc - kc);
                    }
                }
                _ => {}
            }
            step.is_none() || seq_indent.is_none()
        });
        let step = step.unwrap_or(2).max(1);
        Layout {
            step,
            seq_indent: seq_indent.unwrap_or(step),
            eol: src.eol(),
        }
    }
}

impl Layout {
    /// The layout for edits inside `node`: its own sequence style wins over
    /// the file's first one (files mix them from one service to the next).
    pub fn within(&self, doc: &Document, node: &Node) -> Layout {
        let mut seq_indent = None;
        visit_pairs(node, &mut |key, value| {
            if let Kind::Seq {
                style: Style::Block,
                ..
            } = &value.kind
            {
                let ((kl, kc), (vl, vc)) = (doc.line_col(key), doc.line_col(value));
                if vl > kl && vc >= kc {
                    seq_indent = Some(vc - kc);
                    return false;
                }
            }
            true
        });
        Layout {
            seq_indent: seq_indent.unwrap_or(self.seq_indent),
            ..*self
        }
    }
}

/// Calls `f(key, value)` for every block-map entry in document order until
/// `f` returns false.
fn visit_pairs(node: &Node, f: &mut dyn FnMut(&Node, &Node) -> bool) -> bool {
    match &node.kind {
        Kind::Map { entries, .. } => {
            for e in entries {
                if !f(&e.key, &e.value) || !visit_pairs(&e.value, f) {
                    return false;
                }
            }
            true
        }
        Kind::Seq { items, .. } => items.iter().all(|i| visit_pairs(i, f)),
        _ => true,
    }
}

/// A value harden adds, rendered in block or flow style as the place needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewValue {
    /// Written as is (already a valid plain scalar, e.g. `true`).
    Scalar(String),
    /// No value: `key:` in block style, `key: {}` in flow style (a volume
    /// declared with all defaults).
    Empty,
    Seq(Vec<String>),
    Map(Vec<(String, String)>),
}

/// A shape harden cannot edit without rewriting what the author wrote:
/// where it is and why.
pub type Unsupported = FileError;

fn unsupported(src: &Source, node: &Node, reason: impl Into<String>) -> Unsupported {
    let (line, col) = src.line_col(node.start());
    Unsupported {
        line,
        col,
        message: reason.into(),
    }
}

/// 1-based line and 0-based column (in characters) where `node` starts.
fn line_col(src: &Source, node: &Node) -> (usize, usize) {
    let (line, col) = src.line_col(node.start());
    (line, col.saturating_sub(1))
}

/// Quote a scalar when a plain one would be read differently.
pub fn scalar(s: &str, flow: bool) -> String {
    let needs = s.is_empty()
        || s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || (flow && s.contains(|c: char| ",[]{}".contains(c)))
        || matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
        )
        || s.parse::<f64>().is_ok();
    if needs {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

pub fn flow_value(v: &NewValue) -> String {
    match v {
        NewValue::Scalar(s) => s.clone(),
        NewValue::Empty => "{}".to_string(),
        NewValue::Seq(items) => {
            let items: Vec<String> = items.iter().map(|i| scalar(i, true)).collect();
            format!("[{}]", items.join(", "))
        }
        NewValue::Map(pairs) => {
            let pairs: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k, true), scalar(v, true)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
    }
}

/// Byte offset where whole lines go after `node`: the start of the line
/// after its last content line. `None` when that line is the file's last
/// and has no line ending (the caller then starts with a line ending).
fn after_last_line(src: &Source, node: &Node) -> Option<usize> {
    let line = src.line_of(node.end());
    let at = src.line_end_incl(line);
    if at == src.text.len() && !src.text.ends_with('\n') {
        None
    } else {
        Some(at)
    }
}

/// Insert whole `lines` after the last content line of `node`.
pub fn insert_after_node(src: &Source, node: &Node, lines: String, eol: &str) -> Edit {
    insert_lines_after(src, node, lines, eol)
}

/// Insert whole `lines` (each already ending with the file's line ending)
/// after the last content line of `node`.
fn insert_lines_after(src: &Source, node: &Node, lines: String, eol: &str) -> Edit {
    match after_last_line(src, node) {
        Some(at) => Edit::insert(at, lines),
        None => {
            let body = lines.strip_suffix(eol).unwrap_or(&lines);
            Edit::insert(src.text.len(), format!("{eol}{body}"))
        }
    }
}

/// Add `key: value` to a mapping: a new line at the siblings' indentation
/// for a block map, `, key: value` before the closing brace for a flow map.
pub fn add_entry(
    src: &Source,
    layout: &Layout,
    map: &Node,
    key: &str,
    value: &NewValue,
) -> Result<Edit, Unsupported> {
    let Kind::Map { entries, style } = &map.kind else {
        return Err(unsupported(src, map, "not a mapping"));
    };
    match style {
        Style::Flow => flow_insert(
            src,
            map,
            entries.last().map(|e| &e.value),
            &format!("{key}: {}", flow_value(value)),
        ),
        Style::Block => {
            if entries.is_empty() {
                return Err(unsupported(src, map, "empty block mapping"));
            }
            // The mapping's own column: a first key with an anchor in front
            // of it (`&a key: v`) starts further right than its siblings.
            let (map_line, indent) = line_col(src, map);
            // Only spaces (and the `- ` of a list item) can be turned into
            // the new key's indentation; anything else (a tab, a stray byte
            // order mark) would put it somewhere else.
            let line_start = src.line_start(map_line);
            let prefix = src.text.get(line_start..map.start()).unwrap_or("");
            if !prefix.chars().all(|c| c == ' ' || c == '-') {
                return Err(unsupported(
                    src,
                    map,
                    "the mapping is indented with characters other than spaces",
                ));
            }
            // Explicit keys (`? key` then `: value` on a line of its own)
            // leave no column a plain key could safely share; compose files
            // never need them (found by fuzzing).
            // An empty key (`:` alone) is placed where the parser saw it
            // begin, which can be the line before: it is as unsafe.
            let explicit = entries.iter().any(|e| {
                let start = src.line_start(line_col(src, &e.key).0);
                e.key.start() == e.key.end()
                    || src
                        .text
                        .get(start..e.key.start())
                        .is_some_and(|p| p.contains('?'))
            });
            if explicit {
                return Err(unsupported(
                    src,
                    map,
                    "the mapping uses explicit `? key` entries or an empty key",
                ));
            }
            let text = block_entry(layout, indent, key, value);
            Ok(insert_lines_after(src, map, text, layout.eol))
        }
    }
}

/// Render `key: value` as block lines at `indent`.
pub fn block_entry(layout: &Layout, indent: usize, key: &str, value: &NewValue) -> String {
    let pad = " ".repeat(indent);
    let eol = layout.eol;
    match value {
        NewValue::Scalar(s) => format!("{pad}{key}: {s}{eol}"),
        NewValue::Empty => format!("{pad}{key}:{eol}"),
        NewValue::Seq(items) => {
            let item_pad = " ".repeat(indent + layout.seq_indent);
            let mut out = format!("{pad}{key}:{eol}");
            for i in items {
                out.push_str(&format!("{item_pad}- {}{eol}", scalar(i, false)));
            }
            out
        }
        NewValue::Map(pairs) => {
            let inner = " ".repeat(indent + layout.step);
            let mut out = format!("{pad}{key}:{eol}");
            for (k, v) in pairs {
                out.push_str(&format!(
                    "{inner}{}: {}{eol}",
                    scalar(k, false),
                    scalar(v, false)
                ));
            }
            out
        }
    }
}

/// Insert `text` as a new last element of a flow collection.
/// Add to a flow collection, which must be bracketed in the text: a block
/// mapping whose first key is a flow mapping (`{a}: b`) also starts with a
/// brace, and text added there lands in whatever follows (found by
/// fuzzing: in a comment, so every fix added it again).
fn flow_insert(
    src: &Source,
    coll: &Node,
    last: Option<&Node>,
    text: &str,
) -> Result<Edit, Unsupported> {
    let span = src.text.get(coll.start()..coll.end()).unwrap_or("");
    let bracketed = (span.starts_with('[') && span.ends_with(']'))
        || (span.starts_with('{') && span.ends_with('}'));
    if !bracketed {
        return Err(unsupported(
            src,
            coll,
            "a flow collection whose brackets harden cannot find",
        ));
    }
    Ok(match last {
        Some(l) => Edit::insert(l.end(), format!(", {text}")),
        // Just inside the opening bracket of an empty `[]` / `{}`.
        None => Edit::insert(coll.start() + 1, text.to_string()),
    })
}

/// Append an item to a sequence, in its own style.
pub fn append_item(
    src: &Source,
    layout: &Layout,
    seq: &Node,
    item: &str,
) -> Result<Edit, Unsupported> {
    let Kind::Seq { items, style } = &seq.kind else {
        return Err(unsupported(src, seq, "not a sequence"));
    };
    match style {
        Style::Flow => flow_insert(src, seq, items.last(), &scalar(item, true)),
        Style::Block => {
            let pad = " ".repeat(line_col(src, seq).1);
            let text = format!("{pad}- {}{}", scalar(item, false), layout.eol);
            Ok(insert_lines_after(src, seq, text, layout.eol))
        }
    }
}

/// Give a key that has no value block lines below it: `value` is the null
/// node right after `key:`; the lines are indented one step deeper than
/// `key_col`.
pub fn fill_null_block(
    src: &Source,
    layout: &Layout,
    key_col: usize,
    value: &Node,
    new: &NewValue,
) -> Vec<Edit> {
    // A null written out (`~`, `null`) must go, or it would read on with
    // the new lines as one string (`~ - ALL`); the space before it too.
    let written = value.start() < value.end();
    let before = src.text.get(..value.start()).unwrap_or("");
    let dropped = Edit::replace(before.trim_end_matches([' ', '\t']).len()..value.end(), "");
    let indent = key_col + layout.step;
    let body = match new {
        NewValue::Seq(items) => {
            let pad = " ".repeat(key_col + layout.seq_indent);
            items
                .iter()
                .map(|i| format!("{pad}- {}{}", scalar(i, false), layout.eol))
                .collect()
        }
        NewValue::Map(pairs) => {
            let pad = " ".repeat(indent);
            pairs
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{pad}{}: {}{}",
                        scalar(k, false),
                        scalar(v, false),
                        layout.eol
                    )
                })
                .collect()
        }
        NewValue::Empty => String::new(),
        NewValue::Scalar(v) => return vec![replace_scalar(src, value, v)],
    };
    let lines = insert_lines_after(src, value, body, layout.eol);
    if written {
        vec![dropped, lines]
    } else {
        vec![lines]
    }
}

/// Replace a scalar in place. An empty one (`key:`, or `key: !tag` with
/// nothing after the tag) has no text to replace: the value goes after a
/// space, so it does not run into the colon or the tag (found by fuzzing).
/// So does a value written right against the token before it: an anchor
/// name ends at a character YAML does not allow in it (a byte order mark),
/// and the new value would otherwise lengthen the name (found by fuzzing).
pub fn replace_scalar(src: &Source, node: &Node, text: &str) -> Edit {
    if node.start() == node.end() {
        return Edit::insert(node.start(), format!(" {text}"));
    }
    let joined = src
        .text
        .get(..node.start())
        .and_then(|t| t.chars().next_back())
        .is_some_and(|c| !c.is_whitespace() && !matches!(c, ':' | ',' | '[' | '{' | '-' | '?'));
    let text = if joined {
        format!(" {text}")
    } else {
        text.to_string()
    };
    Edit::replace(node.start()..node.end(), text)
}

/// Several insertions at one offset: text within a line first, then deeper
/// lines first, so that an item
/// appended to a nested block comes before a key added to its parent; at
/// the same depth, items of an existing list (`- x`, a flush list sits at
/// its key's depth) before new keys, which would otherwise capture them.
pub fn order_insertions(edits: &mut [Edit]) {
    edits.sort_by_key(|e| {
        // Text within a line (` true` after `read_only:`) before whole lines.
        let whole_lines = e.text.contains('\n');
        let line = e.text.trim_start_matches(['\r', '\n']);
        let indent = line.chars().take_while(|c| *c == ' ').count();
        let new_key = !line[indent..].starts_with("- ");
        (
            e.range.start,
            e.range.end,
            whole_lines,
            std::cmp::Reverse(indent),
            new_key,
        )
    });
}
