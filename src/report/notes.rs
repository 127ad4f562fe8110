//! The notes after a diff: per file and subject, why each change was made
//! and what a person should review.

use crate::engine::FileResult;
use crate::escape::terminal;
use crate::finding::NoteKind;
use console::Style;

pub fn render(results: &[FileResult], color: bool) -> String {
    let bold = Style::new().bold().force_styling(color);
    let warn = Style::new().yellow().force_styling(color);
    let dim = Style::new().dim().force_styling(color);
    let mut out = String::new();
    for r in results {
        if r.out.notes.is_empty() {
            continue;
        }
        out.push_str(&format!("{}\n", bold.apply_to(terminal(&r.display))));
        let mut subject: Option<&str> = None;
        for n in &r.out.notes {
            if subject != Some(n.subject.as_str()) && !n.subject.is_empty() {
                out.push_str(&format!("  {}\n", terminal(&n.subject)));
                subject = Some(&n.subject);
            }
            let rule = n
                .rule
                .map(|r| format!(" {}", dim.apply_to(format!("[{r}]"))))
                .unwrap_or_default();
            // A note's first line carries its kind; later lines (a snippet)
            // are indented under it.
            let (first, more) = n.text.split_once('\n').unwrap_or((&n.text, ""));
            let first = terminal(first);
            let line = match n.kind {
                NoteKind::Review => format!("    {} {first}{rule}\n", warn.apply_to("review:")),
                NoteKind::Info => format!("    {first}{rule}\n"),
                NoteKind::Change => format!("    + {first}{rule}\n"),
            };
            out.push_str(&line);
            for l in more.lines() {
                if l.trim().is_empty() {
                    out.push('\n');
                } else {
                    // A snippet's tabs are its indentation.
                    let l = crate::escape::terminal_keeping(l, &['\t']);
                    out.push_str(&format!("        {l}\n"));
                }
            }
        }
    }
    out
}
