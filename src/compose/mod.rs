//! Compose files: a span tree over the YAML text, so that edits can be made
//! as byte insertions that leave every original byte in place.

pub mod tree;
