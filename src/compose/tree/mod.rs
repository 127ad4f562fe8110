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

mod builder;
mod json;
mod node;
mod scan;

pub use builder::parse;
pub use node::*;

#[cfg(test)]
mod tests;
