//! Rendering results: diffs, findings and notes.

pub mod diff;
pub mod explain;
pub mod notes;
pub mod text;
