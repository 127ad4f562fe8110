//! The notes after a diff: per file and subject, why each change was made
//! and what a person should review.
//!
//! By default each note is one short line: what a person must do comes
//! first, then one line per change (the changes that share one
//! explanation, such as the baseline's, on one line), and an explanation
//! that many notes share is said once at the end and referred to by number.
//! `--verbose` gives every note's whole text, as harden always did.

use crate::engine::FileResult;
use crate::escape::terminal;
use crate::finding::{Note, NoteKind};
use console::Style;

pub fn render(results: &[FileResult], color: bool, verbose: bool) -> String {
    if verbose {
        render_verbose(results, color)
    } else {
        render_short(results, color)
    }
}

/// The explanations a report shares, numbered in order of first mention,
/// with the rules of the notes that refer to each.
#[derive(Default)]
pub struct SharedNotes<'a> {
    pub items: Vec<SharedItem<'a>>,
}

pub struct SharedItem<'a> {
    pub key: &'a str,
    pub text: &'a str,
    pub rules: Vec<&'static str>,
}

impl<'a> SharedNotes<'a> {
    /// Every shared explanation of `results`, in the order reports show
    /// their notes (per subject, reviews first).
    pub fn of(results: &'a [FileResult]) -> Self {
        let mut s = SharedNotes::default();
        for r in results {
            for (_, notes) in by_subject(&r.out.notes) {
                for n in ordered(&notes) {
                    s.add(n);
                }
            }
        }
        s
    }

    fn add(&mut self, n: &'a Note) {
        let Some(sh) = &n.shared else { return };
        let i = match self.items.iter().position(|i| i.key == sh.key) {
            Some(i) => i,
            None => {
                self.items.push(SharedItem {
                    key: &sh.key,
                    text: &sh.text,
                    rules: Vec::new(),
                });
                self.items.len() - 1
            }
        };
        if let Some(rule) = n.rule {
            if !self.items[i].rules.contains(&rule) {
                self.items[i].rules.push(rule);
            }
        }
    }

    /// The 1-based number of an explanation.
    pub fn number(&self, key: &str) -> Option<usize> {
        self.items.iter().position(|i| i.key == key).map(|i| i + 1)
    }
}

/// Notes grouped by subject, subjects in order of first appearance.
pub fn by_subject(notes: &[Note]) -> Vec<(&str, Vec<&Note>)> {
    let mut out: Vec<(&str, Vec<&Note>)> = Vec::new();
    for n in notes {
        match out.iter_mut().find(|(s, _)| *s == n.subject) {
            Some((_, v)) => v.push(n),
            None => out.push((&n.subject, vec![n])),
        }
    }
    out
}

/// A subject's notes as the short form shows them: reviews first, then
/// what harden found out and what it changed, in the order they came.
pub fn ordered<'a>(notes: &[&'a Note]) -> Vec<&'a Note> {
    let review = notes.iter().filter(|n| n.kind == NoteKind::Review);
    let rest = notes.iter().filter(|n| n.kind != NoteKind::Review);
    review.chain(rest).copied().collect()
}

/// One line of the short form: a note, or change notes that share one
/// explanation.
pub struct Line<'a> {
    pub kind: NoteKind,
    pub notes: Vec<&'a Note>,
}

impl<'a> Line<'a> {
    /// The subject's notes as lines: change notes with the same shared
    /// explanation are one line, at the place of the first.
    pub fn group(notes: &[&'a Note]) -> Vec<Line<'a>> {
        let mut lines: Vec<Line<'a>> = Vec::new();
        for n in ordered(notes) {
            let joins = |l: &Line| {
                n.kind == NoteKind::Change
                    && l.kind == NoteKind::Change
                    && n.shared.is_some()
                    && l.notes[0].shared.as_ref().map(|s| &s.key)
                        == n.shared.as_ref().map(|s| &s.key)
            };
            match lines.iter_mut().find(|l| joins(l)) {
                Some(l) => l.notes.push(n),
                None => lines.push(Line {
                    kind: n.kind,
                    notes: vec![n],
                }),
            }
        }
        lines
    }

    /// The notes' short texts, joined.
    pub fn text(&self) -> String {
        self.notes
            .iter()
            .map(|n| n.line())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The rule, where the line has one; a line of several rules names
    /// them in its shared explanation instead.
    pub fn rule(&self) -> Option<&'static str> {
        let first = self.notes[0].rule;
        self.notes
            .iter()
            .all(|n| n.rule == first)
            .then_some(first)
            .flatten()
    }

    pub fn shared_key(&self) -> Option<&'a str> {
        self.notes[0].shared.as_ref().map(|s| s.key.as_str())
    }
}

fn render_short(results: &[FileResult], color: bool) -> String {
    let bold = Style::new().bold().force_styling(color);
    let warn = Style::new().yellow().force_styling(color);
    let dim = Style::new().dim().force_styling(color);
    let shared = SharedNotes::of(results);
    let mut shortened = false;
    let mut out = String::new();
    for r in results {
        if r.out.notes.is_empty() {
            continue;
        }
        out.push_str(&format!("{}\n", bold.apply_to(terminal(&r.display))));
        for (subject, notes) in by_subject(&r.out.notes) {
            if !subject.is_empty() {
                let source = r
                    .out
                    .knowledge
                    .iter()
                    .find(|(s, _)| s == subject)
                    .map(|(_, k)| format!(" {}", dim.apply_to(format!("({})", k.label()))))
                    .unwrap_or_default();
                out.push_str(&format!("  {}{source}\n", terminal(subject)));
            }
            for line in Line::group(&notes) {
                shortened |= line.notes.iter().any(|n| n.short.is_some());
                let marker = line
                    .shared_key()
                    .and_then(|k| shared.number(k))
                    .map(|i| format!(" [{i}]"))
                    .unwrap_or_default();
                let rule = line
                    .rule()
                    .map(|r| format!(" {}", dim.apply_to(format!("[{r}]"))))
                    .unwrap_or_default();
                let text = line.text();
                let text = terminal(&text);
                out.push_str(&match line.kind {
                    NoteKind::Review => {
                        format!("    {} {text}{marker}{rule}\n", warn.apply_to("review:"))
                    }
                    NoteKind::Info => format!("    {text}{marker}{rule}\n"),
                    NoteKind::Change => format!("    + {text}{marker}{rule}\n"),
                });
            }
        }
    }
    if !shared.items.is_empty() {
        out.push_str(&format!("{}\n", bold.apply_to("Shared notes")));
        for (i, item) in shared.items.iter().enumerate() {
            let rules = if item.rules.is_empty() {
                String::new()
            } else {
                format!(" {}", dim.apply_to(format!("[{}]", item.rules.join(", "))))
            };
            let (first, more) = item.text.split_once('\n').unwrap_or((item.text, ""));
            out.push_str(&format!("  [{}] {}{rules}\n", i + 1, terminal(first)));
            push_snippet(&mut out, more);
        }
    }
    if shortened || !shared.items.is_empty() {
        out.push_str(&format!(
            "{}\n",
            dim.apply_to("(`--verbose` gives every note in full)")
        ));
    }
    out
}

/// The lines after a note's first: a snippet, indented under it.
fn push_snippet(out: &mut String, more: &str) {
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

/// Every note's whole text, one subject after another.
fn render_verbose(results: &[FileResult], color: bool) -> String {
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
            push_snippet(&mut out, more);
        }
    }
    out
}
