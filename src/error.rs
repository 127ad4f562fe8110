//! The one error harden reports about a file's content: a place in the file
//! and what is wrong there. Parsers, patches and the engine all return it,
//! so every layer words a position the same way (`path:line:col: message`).

use std::fmt;

/// An error at a place in a file: 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl FileError {
    pub fn new(line: usize, col: usize, message: impl Into<String>) -> Self {
        FileError {
            line,
            col,
            message: message.into(),
        }
    }

    /// An error about the file as a whole, reported at its start.
    pub fn at_start(message: impl Into<String>) -> Self {
        FileError::new(1, 1, message)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for FileError {}
