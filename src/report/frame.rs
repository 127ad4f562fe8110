//! Code frames: the offending source line under a gutter with a caret
//! under the column, the way cargo and ruff show where a problem is, so a
//! reader sees the text without opening the file.

use crate::source::Source;
use console::Style;

/// The colours of a frame; plain when colour is off.
pub struct FrameStyle {
    pub gutter: Style,
    pub caret: Style,
    /// Whether to colour at all: plain text skips the styling machinery,
    /// which costs more than the text itself over thousands of findings.
    pub color: bool,
}

impl FrameStyle {
    pub fn new(color: bool, caret: Style) -> Self {
        FrameStyle {
            gutter: Style::new().blue().bold().force_styling(color),
            caret: caret.force_styling(color),
            color,
        }
    }

    /// Append `text` to `out` in `style`, or plain when colour is off.
    pub fn put(&self, out: &mut String, style: &Style, text: impl std::fmt::Display) {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = if self.color {
            write!(out, "{}", style.apply_to(text))
        } else {
            write!(out, "{text}")
        };
    }
}

/// How many characters from 1-based `col` to underline: the word there
/// (up to whitespace, without a trailing `:` of a mapping key), at least one.
fn underline_len(line: &str, col: usize) -> usize {
    let word = line
        .chars()
        .skip(col.saturating_sub(1))
        .take_while(|c| !c.is_whitespace());
    let (mut n, mut last) = (0, None);
    for c in word {
        n += 1;
        last = Some(c);
    }
    match last {
        Some(':') if n > 1 => n - 1,
        _ => n,
    }
    .max(1)
}

/// The frame for 1-based `line` and `col` of `src`, each row ending in a
/// newline; empty when the line is not in the file.
pub fn render(src: &Source, line: usize, col: usize, style: &FrameStyle) -> String {
    let mut out = String::new();
    if line == 0 || line > src.line_count().max(1) {
        return out;
    }
    let text = crate::escape::frame_line(src.line_text(line));
    let width = line.to_string().len();
    let pad = " ".repeat(width);
    // Keep tabs before the column as tabs so the caret sits under the text.
    let mut lead: String = text
        .chars()
        .take(col.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let len = text.chars().count();
    if col.saturating_sub(1) > len {
        lead.push_str(&" ".repeat(col - 1 - len));
    }
    let carets = "^".repeat(underline_len(&text, col));
    out.push_str(&pad);
    out.push(' ');
    style.put(&mut out, &style.gutter, "|");
    out.push('\n');
    style.put(&mut out, &style.gutter, line);
    out.push(' ');
    style.put(&mut out, &style.gutter, "|");
    out.push(' ');
    out.push_str(text.trim_end());
    out.push('\n');
    out.push_str(&pad);
    out.push(' ');
    style.put(&mut out, &style.gutter, "|");
    out.push(' ');
    out.push_str(&lead);
    style.put(&mut out, &style.caret, carets);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source::new("f".into(), "f".into(), text.into())
    }

    fn plain() -> FrameStyle {
        FrameStyle::new(false, Style::new())
    }

    #[test]
    fn caret_under_the_key_without_its_colon() {
        let s = src("services:\n  web:\n    image: nginx\n");
        assert_eq!(render(&s, 2, 3, &plain()), "  |\n2 |   web:\n  |   ^^^\n");
    }

    #[test]
    fn caret_under_a_value_on_a_crlf_line_with_wide_gutter() {
        let mut text = "x\r\n".repeat(11);
        text.push_str("    read_only: false\r\n");
        let s = src(&text);
        assert_eq!(
            render(&s, 12, 16, &plain()),
            "   |\n12 |     read_only: false\n   |                ^^^^^\n"
        );
    }

    #[test]
    fn tabs_are_kept_in_the_lead_and_control_characters_replaced() {
        let s = src("\tRUN \x1b[31mx\n");
        assert_eq!(
            render(&s, 1, 2, &plain()),
            "  |\n1 | \tRUN \u{fffd}[31mx\n  | \t^^^\n"
        );
    }

    #[test]
    fn out_of_range_positions_do_not_panic() {
        let s = src("a: b\n");
        assert_eq!(render(&s, 0, 1, &plain()), "");
        assert_eq!(render(&s, 9, 1, &plain()), "");
        // A column past the end of the line still draws a caret.
        assert_eq!(render(&s, 1, 8, &plain()), "  |\n1 | a: b\n  |        ^\n");
        let empty = src("");
        assert_eq!(render(&empty, 1, 1, &plain()), "  |\n1 | \n  | ^\n");
    }
}
