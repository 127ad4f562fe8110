//! Dockerfiles. harden lexes them itself (see [`lexer`]) because the
//! dockerfile-parser crate refuses about a quarter of real files and drops
//! comments; every edit harden makes is a byte offset into the original text.

pub mod lexer;

pub use lexer::{parse, Comment, Directive, Dockerfile, Form, Heredoc, Instruction, Stage};

pub mod analyze;
pub mod entry;
pub mod shell_words;
pub mod users;
