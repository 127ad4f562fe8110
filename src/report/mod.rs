//! Rendering results: diffs, findings and notes.

pub mod diff;
pub mod explain;
pub mod frame;
pub mod github;
pub mod json;
pub mod markdown;
pub mod notes;
pub mod project;
pub mod sarif;
pub mod text;

/// A JSON document pretty-printed, with a final newline.
pub fn pretty_json(doc: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}

/// `s` for a count other than one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
