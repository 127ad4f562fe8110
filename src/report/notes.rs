//! The notes after a diff: per file and subject, why each change was made
//! and what a person should review.

use crate::finding::NoteKind;
use crate::run::FileResult;
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
        out.push_str(&format!("{}\n", bold.apply_to(&r.display)));
        let mut subject: Option<&str> = None;
        for n in &r.out.notes {
            if subject != Some(n.subject.as_str()) && !n.subject.is_empty() {
                out.push_str(&format!("  {}\n", n.subject));
                subject = Some(&n.subject);
            }
            let rule = n
                .rule
                .map(|r| format!(" {}", dim.apply_to(format!("[{r}]"))))
                .unwrap_or_default();
            let line = match n.kind {
                NoteKind::Review => format!("    {} {}{rule}\n", warn.apply_to("review:"), n.text),
                NoteKind::Info => format!("    {}{rule}\n", n.text),
                NoteKind::Change => format!("    + {}{rule}\n", n.text),
            };
            out.push_str(&line);
        }
    }
    out
}
