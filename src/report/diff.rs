//! A git-style unified diff built from the edits themselves. The changed
//! lines are known exactly, so there is no line-diff search over the file:
//! the cost is proportional to the edits, not to the file.

use crate::edit::{self, Edit};
use console::Style;

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
    let mut delta: isize = 0; // new line number minus old line number so far
    let mut i = 0;
    while i < changes.len() {
        let mut j = i;
        while j + 1 < changes.len() && changes[j + 1].old_start <= changes[j].old_end + 2 * CONTEXT
        {
            j += 1;
        }
        let first = &changes[i];
        let last = &changes[j];
        let ctx_start = first.old_start.saturating_sub(CONTEXT);
        let ctx_end = (last.old_end + CONTEXT).min(lines.len());
        let mut body = String::new();
        let mut old_count = 0;
        let mut new_count = 0;
        let mut pos = ctx_start;
        let mut local_delta = 0isize;
        for c in &changes[i..=j] {
            for l in &lines[pos..c.old_start] {
                push_line(&mut body, ' ', l, &st.context, color);
                old_count += 1;
                new_count += 1;
            }
            for l in &lines[c.old_start..c.old_end] {
                push_line(&mut body, '-', l, &st.removed, color);
                old_count += 1;
            }
            for l in &c.new_lines {
                push_line(&mut body, '+', l, &st.added, color);
                new_count += 1;
            }
            local_delta += c.new_lines.len() as isize - (c.old_end - c.old_start) as isize;
            pos = c.old_end;
        }
        for l in &lines[pos..ctx_end] {
            push_line(&mut body, ' ', l, &st.context, color);
            old_count += 1;
            new_count += 1;
        }
        let old_first = if old_count == 0 {
            ctx_start
        } else {
            ctx_start + 1
        };
        let new_start = (ctx_start as isize + delta) as usize;
        let new_first = if new_count == 0 {
            new_start
        } else {
            new_start + 1
        };
        let header = format!(
            "@@ -{} +{} @@",
            range(old_first, old_count),
            range(new_first, new_count)
        );
        out.push_str(&st.hunk.apply_to(header).to_string());
        out.push('\n');
        out.push_str(&body);
        delta += local_delta;
        i = j + 1;
    }
    out
}

fn range(start: usize, count: usize) -> String {
    if count == 1 {
        format!("{start}")
    } else {
        format!("{start},{count}")
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
    let text = format!("{sign}{content}");
    // Colour codes go before a CR so that CRLF content stays byte-exact.
    let (visible, cr) = match text.strip_suffix('\r') {
        Some(v) => (v, "\r"),
        None => (text.as_str(), ""),
    };
    let visible = if color {
        crate::escape::terminal_keeping(visible, &['\t'])
    } else {
        visible.into()
    };
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
        let d = unified(text, &[Edit::insert(3, "\nc")], "f", false);
        assert_eq!(
            d,
            "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn two_far_changes_two_hunks_with_shifted_numbers() {
        let text: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let at2 = text.find("2\n").unwrap();
        let at15 = text.find("15\n").unwrap();
        let d = unified(
            &text,
            &[Edit::insert(at2, "N\nM\n"), Edit::insert(at15, "P\n")],
            "f",
            false,
        );
        assert!(d.contains("@@ -1,4 +1,6 @@"), "{d}");
        assert!(d.contains("@@ -12,6 +14,7 @@"), "{d}");
    }

    #[test]
    fn in_line_replacement() {
        let text = "x: [a]\ny: 1\n";
        let d = unified(text, &[Edit::insert(5, ", b")], "f", false);
        assert_eq!(
            d,
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-x: [a]\n+x: [a, b]\n y: 1\n"
        );
    }
}
