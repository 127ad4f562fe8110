//! A git-style unified diff built from the edits themselves. The changed
//! lines are known exactly, so there is no line-diff search over the file:
//! the cost is proportional to the edits, not to the file. The changes
//! become `similar` diff operations so that crate groups them into hunks.

use crate::edit::{self, Edit};
use console::Style;
use similar::DiffOp;

const CONTEXT: usize = 3;

/// One run of changed lines: old lines `old_start..old_end` (0-based) become
/// `new_lines`.
struct Change {
    old_start: usize,
    old_end: usize,
    new_lines: Vec<String>,
}

/// Split keeping terminators, so a final line without newline is visible.
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The unified diff for `edits` on `text`, with `--- a/PATH` / `+++ b/PATH`
/// headers. Empty when there are no edits or they change nothing.
pub fn unified(text: &str, edits: &[Edit], path: &str, color: bool) -> String {
    let edits = edit::sorted(edits);
    let lines = split_lines(text);
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut acc = 0;
    for l in &lines {
        starts.push(acc);
        acc += l.len();
    }
    starts.push(acc);
    let line_of = |off: usize| -> usize {
        match starts.binary_search(&off) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    };

    // Old line span each edit touches, then grouped into changes.
    let mut groups: Vec<(usize, usize, Vec<&Edit>)> = Vec::new();
    for e in &edits {
        let (a, b) = if e.range.is_empty() {
            let at = e.range.start;
            match starts.binary_search(&at) {
                // At a line start (or at the end of a text that ends in a newline).
                Ok(i) if i < lines.len() || text.is_empty() || text.ends_with('\n') => (i, i),
                _ => {
                    let i = line_of(at).min(lines.len().saturating_sub(1));
                    (i, i + 1)
                }
            }
        } else {
            let a = line_of(e.range.start);
            let b = match starts.binary_search(&e.range.end) {
                Ok(k) if k > a => k,
                _ => line_of(e.range.end) + 1,
            };
            (a, b.min(lines.len()))
        };
        match groups.last_mut() {
            // Overlapping spans, or several insertions at the same point.
            Some(g) if a < g.1 || (a == b && g.0 == g.1 && a == g.0) => {
                g.1 = g.1.max(b);
                g.2.push(e);
            }
            _ => groups.push((a, b, vec![e])),
        }
    }

    let mut changes = Vec::new();
    for (a, b, es) in groups {
        let seg_start = starts[a];
        let seg_end = starts[b];
        let shifted: Vec<Edit> = es
            .iter()
            .map(|e| {
                Edit::replace(
                    e.range.start - seg_start..e.range.end - seg_start,
                    e.text.clone(),
                )
            })
            .collect();
        let Ok(new_seg) = edit::apply(&text[seg_start..seg_end], &shifted) else {
            continue;
        };
        if new_seg == text[seg_start..seg_end] {
            continue;
        }
        changes.push(Change {
            old_start: a,
            old_end: b,
            new_lines: split_lines(&new_seg)
                .into_iter()
                .map(str::to_string)
                .collect(),
        });
    }
    if changes.is_empty() {
        return String::new();
    }

    let st = Styles::new(color);
    let mut out = String::new();
    // harden refuses paths with line breaks and control characters; this
    // keeps a header one line whatever the caller passes.
    let path = crate::escape::terminal(path);
    out.push_str(&st.header.apply_to(format!("--- a/{path}")).to_string());
    out.push('\n');
    out.push_str(&st.header.apply_to(format!("+++ b/{path}")).to_string());
    out.push('\n');

    // Hunks: changes whose context windows touch are shown together.
    let mut ops = Vec::with_capacity(2 * changes.len() + 1);
    let (mut old_pos, mut new_pos) = (0, 0);
    for c in &changes {
        if c.old_start > old_pos {
            let len = c.old_start - old_pos;
            ops.push(DiffOp::Equal {
                old_index: old_pos,
                new_index: new_pos,
                len,
            });
            new_pos += len;
        }
        let (old_len, new_len) = (c.old_end - c.old_start, c.new_lines.len());
        ops.push(match (old_len, new_len) {
            (_, 0) => DiffOp::Delete {
                old_index: c.old_start,
                old_len,
                new_index: new_pos,
            },
            (0, _) => DiffOp::Insert {
                old_index: c.old_start,
                new_index: new_pos,
                new_len,
            },
            _ => DiffOp::Replace {
                old_index: c.old_start,
                old_len,
                new_index: new_pos,
                new_len,
            },
        });
        old_pos = c.old_end;
        new_pos += new_len;
    }
    if lines.len() > old_pos {
        ops.push(DiffOp::Equal {
            old_index: old_pos,
            new_index: new_pos,
            len: lines.len() - old_pos,
        });
    }
    // Every op but `Equal` is one change, in order.
    let mut pending = changes.iter();
    for hunk in similar::group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (hunk.first(), hunk.last()) else {
            continue;
        };
        let (old, new) = (
            first.old_range().start..last.old_range().end,
            first.new_range().start..last.new_range().end,
        );
        let mut body = String::new();
        for op in &hunk {
            if let DiffOp::Equal { .. } = op {
                for l in &lines[op.old_range()] {
                    push_line(&mut body, ' ', l, &st.context, color);
                }
                continue;
            }
            let Some(c) = pending.next() else { break };
            for l in &lines[op.old_range()] {
                push_line(&mut body, '-', l, &st.removed, color);
            }
            for l in &c.new_lines {
                push_line(&mut body, '+', l, &st.added, color);
            }
        }
        let header = format!("@@ -{} +{} @@", range(&old), range(&new));
        out.push_str(&st.hunk.apply_to(header).to_string());
        out.push('\n');
        out.push_str(&body);
    }
    out
}

/// `start,count` with 1-based `start`; an empty range names the line
/// before it, and a count of one is left out.
fn range(r: &std::ops::Range<usize>) -> String {
    match r.len() {
        0 => format!("{},0", r.start),
        1 => format!("{}", r.start + 1),
        n => format!("{},{n}", r.start + 1),
    }
}

/// One line of a hunk. On a terminal (`color`) the file's control
/// characters are shown escaped, not run; a patch written to a file or a
/// pipe keeps the file's bytes, or it would not apply.
fn push_line(out: &mut String, sign: char, line: &str, style: &Style, color: bool) {
    let (content, nl) = match line.strip_suffix('\n') {
        Some(c) => (c, true),
        None => (line, false),
    };
    if !color {
        // Uncoloured, the line is the file's bytes: written directly, not
        // through the styling machinery (a large fix prints many lines).
        out.push(sign);
        out.push_str(content);
        out.push('\n');
        if !nl {
            out.push_str("\\ No newline at end of file\n");
        }
        return;
    }
    let text = format!("{sign}{content}");
    // Colour codes go before a CR so that CRLF content stays byte-exact.
    let (visible, cr) = match text.strip_suffix('\r') {
        Some(v) => (v, "\r"),
        None => (text.as_str(), ""),
    };
    let visible = crate::escape::terminal_keeping(visible, &['\t']);
    out.push_str(&style.apply_to(visible).to_string());
    out.push_str(cr);
    out.push('\n');
    if !nl {
        out.push_str("\\ No newline at end of file\n");
    }
}

struct Styles {
    header: Style,
    hunk: Style,
    added: Style,
    removed: Style,
    context: Style,
}

impl Styles {
    fn new(color: bool) -> Self {
        let s = |st: Style| st.force_styling(color);
        Styles {
            header: s(Style::new().bold()),
            hunk: s(Style::new().cyan()),
            added: s(Style::new().green()),
            removed: s(Style::new().red()),
            context: s(Style::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a terminal a file's escape sequences are shown, not run; a patch
    /// for a file or a pipe keeps the bytes so that it applies.
    #[test]
    fn control_characters_escaped_on_a_terminal_only() {
        let text = "a: 1 # \x1b]0;owned\x07\tz\n";
        let edit = [Edit::insert(text.len(), "b: 2\n")];
        let plain = unified(text, &edit, "f.yml", false);
        assert!(plain.contains(" a: 1 # \x1b]0;owned\x07\tz\n"), "{plain:?}");
        let shown = unified(text, &edit, "f.yml", true);
        assert!(
            shown.contains("a: 1 # \\u{1b}]0;owned\\u{7}\tz"),
            "{shown:?}"
        );
        assert!(!shown.contains('\x07'), "{shown:?}");
    }

    /// The diff of `text` under `edits`, for a file `f`, without colour.
    fn plain(text: &str, edits: &[Edit]) -> String {
        unified(text, edits, "f", false)
    }

    #[test]
    fn insertion_hunk() {
        let text = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let d = unified(text, &[Edit::insert(4, "X\n")], "f.yml", false);
        assert_eq!(
            d,
            "--- a/f.yml\n+++ b/f.yml\n@@ -1,5 +1,6 @@\n a\n b\n+X\n c\n d\n e\n"
        );
    }

    #[test]
    fn no_final_newline() {
        let text = "a\nb";
        assert_eq!(
            plain(text, &[Edit::insert(3, "\nc")]),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn two_far_changes_two_hunks_with_shifted_numbers() {
        let text: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let at2 = text.find("2\n").unwrap();
        let at15 = text.find("15\n").unwrap();
        let d = plain(
            &text,
            &[Edit::insert(at2, "N\nM\n"), Edit::insert(at15, "P\n")],
        );
        assert!(d.contains("@@ -1,4 +1,6 @@"), "{d}");
        assert!(d.contains("@@ -12,6 +14,7 @@"), "{d}");
    }

    /// Six unchanged lines between two changes still join them (three of
    /// context each side); seven split them.
    #[test]
    fn hunks_join_across_twice_the_context() {
        let text: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let at = |line: &str| text.find(&format!("\n{line}\n")).unwrap() + 1;
        let joined = plain(
            &text,
            &[Edit::insert(at("2"), "A\n"), Edit::insert(at("8"), "B\n")],
        );
        assert_eq!(joined.matches("@@ -").count(), 1, "{joined}");
        assert!(joined.contains("@@ -1,10 +1,12 @@"), "{joined}");
        let split = plain(
            &text,
            &[Edit::insert(at("2"), "A\n"), Edit::insert(at("9"), "B\n")],
        );
        assert!(split.contains("@@ -1,4 +1,5 @@"), "{split}");
        assert!(split.contains("@@ -6,6 +7,7 @@"), "{split}");
    }

    #[test]
    fn in_line_replacement() {
        let text = "x: [a]\ny: 1\n";
        assert_eq!(
            plain(text, &[Edit::insert(5, ", b")]),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-x: [a]\n+x: [a, b]\n y: 1\n"
        );
    }
}
