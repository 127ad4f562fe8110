//! Rendering results: diffs, findings and notes.

pub mod diff;
pub mod explain;
pub mod frame;
pub mod github;
pub mod json;
pub mod markdown;
pub mod notes;
pub mod sarif;
pub mod text;

/// `s` for a count other than one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
