//! Rendering results: diffs, findings and notes.

pub mod diff;
pub mod explain;
pub mod frame;
pub mod github;
pub mod json;
pub mod markdown;
pub mod migrate;
pub mod notes;
pub mod sarif;
pub mod text;
