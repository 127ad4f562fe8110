//! A file's text with a line-start table, so that every position harden
//! reports or edits is a byte offset computed from line and column, never
//! from a parser's character index (which drifts after non-ASCII text).

use std::path::PathBuf;

/// One input file, read whole.
#[derive(Debug, Clone)]
pub struct Source {
    /// Path as given or found (used to read and write).
    pub path: PathBuf,
    /// Path shown to the user: relative to the working directory where possible.
    pub display: String,
    pub text: String,
    /// Byte offset of each line's start: `u32`, sized exactly, since a large
    /// file has hundreds of thousands of lines (`--max-file-size` stays
    /// below 4 GiB).
    line_starts: Vec<u32>,
}

impl Source {
    pub fn new(path: PathBuf, display: String, text: String) -> Self {
        let mut line_starts = Vec::with_capacity(text.bytes().filter(|&b| b == b'\n').count() + 1);
        line_starts.push(0);
        line_starts.extend(text.match_indices('\n').map(|(i, _)| pos(i + 1)));
        Source {
            path,
            display,
            text,
            line_starts,
        }
    }

    /// The line ending new lines must use: the file's first one, `\n` if none.
    pub fn eol(&self) -> &'static str {
        eol_of(&self.text)
    }

    /// Number of lines (a final line without newline counts).
    pub fn line_count(&self) -> usize {
        if self.text.ends_with('\n') {
            self.line_starts.len() - 1
        } else {
            self.line_starts.len()
        }
    }

    /// Byte offset of the start of 1-based `line` (end of text past the last line).
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.saturating_sub(1))
            .map_or(self.text.len(), |&s| s as usize)
    }

    /// Byte offset just past the newline of 1-based `line` (or end of text).
    pub fn line_end_incl(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .map_or(self.text.len(), |&s| s as usize)
    }

    /// The text of 1-based `line` without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let s = self.line_start(line);
        let e = self.line_end_incl(line);
        self.text[s..e].trim_end_matches(['\n', '\r'])
    }

    /// Byte offset of 1-based `line` and 0-based `col` counted in characters.
    pub fn offset(&self, line: usize, col_chars: usize) -> usize {
        let start = self.line_start(line);
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(col_chars)
            .map(|(i, _)| start + i)
            .unwrap_or(self.text.len())
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    /// Any offset is answered, even one past the end or inside a character
    /// (a node of another file asked about here).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let idx = match self.line_starts.binary_search(&pos(offset)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[idx] as usize;
        let col = self.text[start..offset].chars().count() + 1;
        (idx + 1, col)
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }
}

/// An offset as the line table stores it.
fn pos(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// The line ending a text uses: CRLF if its first line ends so, else LF.
pub fn eol_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_bytes_from_char_columns() {
        let s = Source::new("x".into(), "x".into(), "a: é\nbé: c\r\nlast".into());
        assert_eq!(s.offset(2, 3), "a: é\nbé:".len());
        assert_eq!(s.line_col(s.offset(2, 3)), (2, 4));
        assert_eq!(s.line_text(2), "bé: c");
        assert_eq!(s.line_count(), 3);
        assert_eq!(s.eol(), "\n");
        assert_eq!(eol_of("a\r\nb"), "\r\n");
    }
}
