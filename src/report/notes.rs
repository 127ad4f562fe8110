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
/// with the rules of the notes that refer to each. Owned (the texts are
/// mostly borrowed from `templates/notes.toml`), so that a report written
/// as the results come can number them as they come.
#[derive(Default, Clone)]
pub struct SharedNotes {
    pub items: Vec<SharedItem>,
}

#[derive(Clone)]
pub struct SharedItem {
    pub key: std::borrow::Cow<'static, str>,
    pub text: std::borrow::Cow<'static, str>,
    pub rules: Vec<&'static str>,
    /// How many lines refer to it.
    refs: usize,
}

impl SharedNotes {
    /// The shared explanations of `results` that at least `min_refs` lines
    /// refer to, in the order reports show their notes (per subject,
    /// reviews first). The notes after a diff say only what repeats; the
    /// markdown report, a record, says every one.
    /// Only notes that `shown` keeps count (the markdown report shows
    /// migration notes in a section of their own).
    pub fn of(results: &[FileResult], min_refs: usize, shown: impl Fn(&Note) -> bool) -> Self {
        let mut s = SharedNotes::default();
        for r in results {
            s.add_notes(&r.out.notes, &shown);
        }
        s.items.retain(|i| i.refs >= min_refs);
        s
    }

    /// Counts the lines of `notes` (one file's, or a part of them).
    pub fn add_notes(&mut self, notes: &[Note], shown: impl Fn(&Note) -> bool) {
        for (_, notes) in by_subject(notes) {
            let notes: Vec<&Note> = notes.into_iter().filter(|n| shown(n)).collect();
            for line in Line::group(&notes) {
                self.add(&line);
            }
        }
    }

    fn add(&mut self, line: &Line<'_>) {
        let Some(sh) = &line.notes[0].shared else {
            return;
        };
        let i = match self.items.iter().position(|i| i.key == sh.key) {
            Some(i) => i,
            None => {
                self.items.push(SharedItem {
                    key: sh.key.clone(),
                    text: sh.text.clone(),
                    rules: Vec::new(),
                    refs: 0,
                });
                self.items.len() - 1
            }
        };
        self.items[i].refs += 1;
        for rule in line.notes.iter().filter_map(|n| n.rule) {
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

/// Where the knowledge of each subject comes from, looked up by subject
/// (a file may have tens of thousands); the first entry of a subject.
pub fn first_by_subject(
    knowledge: &[(String, crate::finding::Knowledge)],
) -> std::collections::HashMap<&str, &crate::finding::Knowledge> {
    let mut by = std::collections::HashMap::with_capacity(knowledge.len());
    for (s, k) in knowledge {
        by.entry(s.as_str()).or_insert(k);
    }
    by
}

/// Notes grouped by subject, subjects in order of first appearance.
pub fn by_subject(notes: &[Note]) -> Vec<(&str, Vec<&Note>)> {
    let mut out: Vec<(&str, Vec<&Note>)> = Vec::new();
    // By subject, not searched: a file of tens of thousands of services
    // has as many subjects.
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for n in notes {
        match at.get(n.subject.as_str()) {
            Some(&i) => out[i].1.push(n),
            None => {
                at.insert(&n.subject, out.len());
                out.push((&n.subject, vec![n]));
            }
        }
    }
    out
}

/// A subject's notes as the short form shows them: reviews first, then
/// what harden found out and what it changed, in the order they came;
/// without those its header says.
pub fn ordered<'a>(notes: &[&'a Note]) -> Vec<&'a Note> {
    let shown = notes.iter().filter(|n| n.shown_short());
    let review = shown.clone().filter(|n| n.kind == NoteKind::Review);
    let rest = shown.filter(|n| n.kind != NoteKind::Review);
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

    /// The notes' short texts, joined, and the shared explanation in a few
    /// words where they give no reason of their own and the report does not
    /// say it (`said`).
    pub fn text(&self, said: bool) -> String {
        self.text_with(said, |s| s.to_string())
    }

    /// [`Line::text`], each piece made safe by `safe`.
    pub fn text_with(&self, said: bool, safe: impl Fn(&str) -> String) -> String {
        let mut text = self
            .notes
            .iter()
            .map(|n| safe(&n.line()))
            .collect::<Vec<_>>()
            .join(", ");
        let unexplained = self
            .notes
            .iter()
            .all(|n| n.short.as_ref().is_some_and(|s| s.why.is_empty()));
        if let Some(brief) = self.notes[0]
            .shared
            .as_ref()
            .map(|s| &*s.brief)
            .filter(|b| unexplained && !said && !b.is_empty())
        {
            text.push_str(&format!(" — {}", safe(brief)));
        }
        text
    }

    /// The rules the line's notes come from, each once.
    pub fn rules(&self) -> Vec<&'static str> {
        let mut rules = Vec::new();
        for r in self.notes.iter().filter_map(|n| n.rule) {
            if !rules.contains(&r) {
                rules.push(r);
            }
        }
        rules
    }

    pub fn shared_key(&self) -> Option<&'a str> {
        self.notes[0].shared.as_ref().map(|s| &*s.key)
    }
}

fn render_short(results: &[FileResult], color: bool) -> String {
    let bold = Style::new().bold().force_styling(color);
    let warn = Style::new().yellow().force_styling(color);
    let dim = Style::new().dim().force_styling(color);
    let shared = SharedNotes::of(results, 2, |_| true);
    let mut out = String::new();
    for r in results {
        if r.out.notes.is_empty() {
            continue;
        }
        let subjects = by_subject(&r.out.notes);
        // A file with one subject (every Dockerfile) names it on its own line.
        let one = match subjects.as_slice() {
            [(s, _)] if !s.is_empty() => Some(*s),
            _ => None,
        };
        let knowledge = first_by_subject(&r.out.knowledge);
        let source = |subject: &str| {
            knowledge
                .get(subject)
                .map(|k| format!(" {}", dim.apply_to(format!("({})", k.label()))))
                .unwrap_or_default()
        };
        match one {
            Some(s) => out.push_str(&format!(
                "{}: {}{}\n",
                bold.apply_to(terminal(&r.display)),
                terminal(s),
                source(s)
            )),
            None => out.push_str(&format!("{}\n", bold.apply_to(terminal(&r.display)))),
        }
        for (subject, notes) in subjects {
            if !subject.is_empty() && one.is_none() {
                out.push_str(&format!("  {}{}\n", terminal(subject), source(subject)));
            }
            for line in Line::group(&notes) {
                let marker = line
                    .shared_key()
                    .and_then(|k| shared.number(k))
                    .map(|i| format!(" [{i}]"))
                    .unwrap_or_default();
                let rules = line.rules();
                let rule = if rules.is_empty() {
                    String::new()
                } else {
                    format!(" {}", dim.apply_to(format!("[{}]", rules.join(", "))))
                };
                let text = line.text(!marker.is_empty());
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
            let (first, more) = item.text.split_once('\n').unwrap_or((&item.text, ""));
            out.push_str(&format!("  [{}] {}{rules}\n", i + 1, terminal(first)));
            push_snippet(&mut out, more);
        }
    }
    out
}

/// Whether the short form leaves anything to `--verbose`.
pub fn shortened(results: &[FileResult]) -> bool {
    results
        .iter()
        .flat_map(|r| &r.out.notes)
        .any(|n| n.short.is_some() || n.shared.is_some())
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
