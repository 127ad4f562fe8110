//! `--format markdown`: the body of a pull request. A reviewer reads, per
//! file, what is wrong, what changes and why, the diff (from `fix
//! --dry-run`), what to check before merging, and the one-time steps that
//! existing deployments need; a bot gets all of it from one run.

use crate::engine::FileResult;
use crate::finding::{Note, NoteKind};
use crate::migration::Migration;
use crate::report::notes::{by_subject, first_by_subject, Line, SharedNotes};
use crate::report::plural;
use std::collections::HashMap;
use std::io::{self, Seek, Write};

use crate::escape::{md_code as code, md_fence, md_message, md_text};

/// Pieces of the document are kept in memory up to this size, on disk
/// past it (a file's pieces and the document's, several at once, while
/// the engine holds the file's two parse trees).
const SPOOL_IN_MEMORY: usize = 256 << 10;

/// Text written in pieces and read back once: a string, moved to a
/// temporary file once it grows past [`SPOOL_IN_MEMORY`] (the details of a
/// file of tens of thousands of services).
enum Spool {
    Memory(String),
    Disk(io::BufWriter<std::fs::File>),
}

impl Default for Spool {
    fn default() -> Self {
        Spool::Memory(String::new())
    }
}

impl Spool {
    fn put(&mut self, s: &str) -> io::Result<()> {
        if let Spool::Memory(m) = self {
            if m.len() + s.len() <= SPOOL_IN_MEMORY {
                m.push_str(s);
                return Ok(());
            }
        }
        self.disk()?.write_all(s.as_bytes())
    }

    /// The file it is moved to, past what is kept in memory.
    fn disk(&mut self) -> io::Result<&mut io::BufWriter<std::fs::File>> {
        if let Spool::Memory(m) = self {
            let mut disk = io::BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
            disk.write_all(m.as_bytes())?;
            *self = Spool::Disk(disk);
        }
        match self {
            Spool::Disk(d) => Ok(d),
            Spool::Memory(_) => Err(io::Error::other("spool not on disk")),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Spool::Memory(m) if m.is_empty())
    }

    /// Everything put, then the spool is empty again.
    fn copy_to(&mut self, w: &mut impl Write) -> io::Result<()> {
        match std::mem::take(self) {
            Spool::Memory(m) => w.write_all(m.as_bytes()),
            Spool::Disk(d) => {
                let mut f = d.into_inner().map_err(|e| e.into_error())?;
                f.seek(io::SeekFrom::Start(0))?;
                io::copy(&mut f, w).map(|_| ())
            }
        }
    }

    /// Everything put moved to the end of `to`.
    fn append_to(&mut self, to: &mut Spool) -> io::Result<()> {
        match self {
            Spool::Memory(m) => {
                let m = std::mem::take(m);
                to.put(&m)
            }
            Spool::Disk(_) => {
                let to = to.disk()?;
                self.copy_to(to)
            }
        }
    }
}

/// The counts the document opens with.
#[derive(Default)]
struct Counts {
    checked: usize,
    with: usize,
    findings: usize,
    fixable: usize,
    changed: usize,
    errors: usize,
}

/// One file's pieces while its results come ([`FileResult::more`]):
/// findings, notes and rows in the order the file's sections give them.
#[derive(Default)]
struct Open {
    /// The numbered explanations before this file: a refused fix takes
    /// back what its notes numbered.
    shared_before: Option<SharedNotes>,
    findings: usize,
    notes: bool,
    changes: usize,
    summary: Spool,
    unknown: Spool,
    review: Spool,
    findings_list: Spool,
    changes_list: Spool,
}

impl Open {
    /// The file's findings and changes sections, in the verbose form and
    /// inside the folded details alike.
    fn findings_and_changes(&mut self, out: &mut Spool, diff: bool) -> io::Result<()> {
        if self.findings > 0 {
            out.put("\n### Findings\n\n")?;
            self.findings_list.append_to(out)?;
        }
        if !self.changes_list.is_empty() {
            out.put(&format!("\n### {}\n", changes_title(diff)))?;
            self.changes_list.append_to(out)?;
        }
        Ok(())
    }
}

/// The document written as the results come, each file's pieces as its
/// results come: what comes before the files' sections (the counts, the
/// summary table, the unknown images) and after them (the shared notes,
/// the diffs) is known only at the end, so the pieces are spooled.
pub struct Stream {
    diff: bool,
    verbose: bool,
    counts: Counts,
    shared: SharedNotes,
    open: Option<Open>,
    summary: Spool,
    unknown: Spool,
    files: Spool,
    diffs: Spool,
}

impl Stream {
    /// `diff` includes each file's change as a unified diff (`fix
    /// --dry-run`), otherwise the document reports findings only.
    /// `verbose` gives every note in full, each file's sections one after
    /// another, as harden always did.
    pub fn new(diff: bool, verbose: bool) -> Stream {
        Stream {
            diff,
            verbose,
            counts: Counts::default(),
            shared: SharedNotes::default(),
            open: None,
            summary: Spool::default(),
            unknown: Spool::default(),
            files: Spool::default(),
            diffs: Spool::default(),
        }
    }

    /// A file's result, or a part of it (`more`). `refused`: the file's fix
    /// was refused, which takes back the notes of the parts before it (its
    /// findings stand).
    pub fn file(&mut self, r: &FileResult, refused: bool) -> io::Result<()> {
        let mut open = self.open.take().unwrap_or_default();
        if refused {
            if let Some(before) = open.shared_before.take() {
                self.shared = before;
            }
            open = Open {
                findings: open.findings,
                findings_list: std::mem::take(&mut open.findings_list),
                ..Open::default()
            };
        }
        if open.shared_before.is_none() && r.more {
            open.shared_before = Some(self.shared.clone());
        }
        self.piece(&mut open, r)?;
        if r.more {
            self.open = Some(open);
            return Ok(());
        }
        self.close(open, r)
    }

    /// What a result adds to its file's pieces.
    fn piece(&mut self, open: &mut Open, r: &FileResult) -> io::Result<()> {
        let findings = r.out.findings.len();
        self.counts.findings += findings;
        self.counts.fixable += r.out.findings.iter().filter(|f| f.fixable).count();
        open.findings += findings;
        open.notes |= !r.out.notes.is_empty();
        open.changes += (r.out.notes.iter())
            .filter(|n| n.kind == NoteKind::Change)
            .count();
        open.findings_list.put(&findings_list(r))?;
        open.unknown.put(&unknown_image_rows(r))?;
        if self.verbose {
            open.changes_list
                .put(&notes_by_subject(r, NoteKind::Change))?;
            return open.review.put(&notes_by_subject(r, NoteKind::Review));
        }
        // Numbered before the lines that refer to them are drawn.
        self.shared.add_notes(&r.out.notes, |n| !n.migration);
        open.summary.put(&summary_rows(r))?;
        let subjects = by_subject(&r.out.notes);
        let knowledge = first_by_subject(&r.out.knowledge);
        // Migration notes have a section of their own, with the volumes' names.
        open.review
            .put(&short_notes(&subjects, &self.shared, &knowledge, |n| {
                n.kind == NoteKind::Review && !n.migration
            }))?;
        open.changes_list
            .put(&short_notes(&subjects, &self.shared, &knowledge, |n| {
                n.kind != NoteKind::Review
            }))
    }

    /// A file's own result has come: its section, its rows, its diff.
    fn close(&mut self, mut open: Open, r: &FileResult) -> io::Result<()> {
        let c = &mut self.counts;
        if r.error.is_none() {
            c.checked += 1;
        } else {
            c.errors += 1;
        }
        c.with += usize::from(open.findings > 0);
        c.changed += usize::from(r.fixed.is_some());
        open.summary.append_to(&mut self.summary)?;
        open.unknown.append_to(&mut self.unknown)?;
        let nothing = r.error.is_none() && open.findings == 0 && !open.notes && r.fixed.is_none();
        if nothing {
            return Ok(());
        }
        let out = &mut self.files;
        out.put(&format!("\n## {}\n", code(&r.display)))?;
        if let Some(e) = &r.error {
            return out.put(&format!(
                "\n**Error** at line {}, column {}: {}\n\nharden left this file as it was.\n",
                e.line,
                e.col,
                md_message(&e.message)
            ));
        }
        let diff = match (&r.source, &r.fixed) {
            (Some(src), Some(_)) if self.diff => Some(crate::report::diff::unified(
                &src.text,
                &r.out.edits,
                &r.display,
                false,
            )),
            _ => None,
        };
        if self.verbose {
            // Each file's sections one after another, the notes in full.
            open.findings_and_changes(out, self.diff)?;
            if let Some(d) = diff {
                let fence = md_fence(&d, 3);
                out.put(&format!("\n### Diff\n\n{fence}diff\n"))?;
                out.put(&d)?;
                out.put(&format!("{fence}\n"))?;
            }
            if !open.review.is_empty() {
                out.put("\n### What to review\n")?;
                open.review.append_to(out)?;
            }
            return out.put(&migration_section(&r.out.migrations));
        }
        // What to review and the migration stay in sight; the findings and
        // what changes and why are folded.
        if !open.review.is_empty() {
            out.put("\n### What to review\n")?;
            open.review.append_to(out)?;
        }
        if open.findings > 0 || !open.changes_list.is_empty() {
            let mut parts = Vec::new();
            if open.findings > 0 {
                parts.push(format!(
                    "{} finding{}",
                    open.findings,
                    plural(open.findings)
                ));
            }
            if open.changes > 0 {
                // The summary is HTML, where GitHub renders no markdown.
                parts.push(format!(
                    "{} change{} and why",
                    open.changes,
                    plural(open.changes)
                ));
            } else if !open.changes_list.is_empty() {
                parts.push("what harden found".to_string());
            }
            // GitHub renders markdown inside <details> only after a blank line.
            out.put(&format!(
                "\n<details><summary>{}</summary>\n",
                parts.join(", ")
            ))?;
            open.findings_and_changes(out, self.diff)?;
            out.put("\n</details>\n")?;
        }
        out.put(&migration_section(&r.out.migrations))?;
        if let Some(d) = diff {
            let added = d
                .lines()
                .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
                .count();
            let fence = md_fence(&d, 3);
            self.diffs.put(&format!(
                "\n<details><summary><code>{}</code> (+{added} line{})</summary>\n\n{fence}diff\n",
                crate::escape::html_text(&r.display),
                plural(added)
            ))?;
            self.diffs.put(&d)?;
            self.diffs.put(&format!("{fence}\n\n</details>\n"))?;
        }
        Ok(())
    }

    /// The whole document, in order.
    pub fn finish(mut self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(head(&self.counts, self.diff).as_bytes())?;
        if !self.verbose && !self.summary.is_empty() {
            w.write_all(b"\n## Summary\n\n| file | service or stage | changes | knowledge | to review |\n| --- | --- | --- | --- | ---: |\n")?;
            self.summary.copy_to(w)?;
        }
        if !self.unknown.is_empty() {
            w.write_all(UNKNOWN_IMAGES_HEAD.as_bytes())?;
            self.unknown.copy_to(w)?;
        }
        self.files.copy_to(w)?;
        if self.verbose {
            return Ok(());
        }
        w.write_all(shared_section(&self.shared).as_bytes())?;
        if !self.diffs.is_empty() {
            w.write_all(b"\n## Diff\n")?;
            self.diffs.copy_to(w)?;
        }
        Ok(())
    }
}

/// The document, written whole.
pub fn render(results: &[FileResult], diff: bool, verbose: bool) -> String {
    let mut md = Stream::new(diff, verbose);
    let mut out = Vec::new();
    let written = results
        .iter()
        .try_for_each(|r| md.file(r, false))
        .and_then(|()| md.finish(&mut out));
    // Writing to memory does not fail.
    debug_assert!(written.is_ok());
    String::from_utf8(out).unwrap_or_default()
}

/// The title, what harden does, and the counts.
fn head(c: &Counts, diff: bool) -> String {
    let Counts {
        checked,
        with,
        findings,
        fixable,
        changed,
        errors,
    } = *c;
    let mut out = String::new();
    if diff {
        out.push_str(&format!(
            "# Harden containers: {changed} file{} changed\n\n",
            plural(changed)
        ));
    } else {
        out.push_str(&format!(
            "# harden check: {findings} finding{} in {with} file{}\n\n",
            plural(findings),
            plural(with)
        ));
    }
    out.push_str(
        "harden applies the container hardening baseline: a non-root user, a read-only root \
filesystem with explicit write carve-outs, no capabilities and no privilege escalation.\n\n",
    );
    out.push_str("| | |\n| --- | ---: |\n");
    out.push_str(&format!("| files checked | {checked} |\n"));
    out.push_str(&format!("| files with findings | {with} |\n"));
    out.push_str(&format!("| findings | {findings} ({fixable} fixable) |\n"));
    out.push_str(&format!(
        "| files {} | {changed} |\n",
        if diff {
            "changed"
        } else {
            "`harden fix` would change"
        }
    ));
    if errors > 0 {
        out.push_str(&format!("| files with errors | {errors} |\n"));
    }
    if let Some(c) = crate::config::in_use() {
        out.push_str(&format!("\nConfiguration: {}\n", crate::escape::md_code(c)));
    }
    out
}

/// Per service (and Dockerfile stage) of a result, what changes in a few
/// words and where harden's knowledge of it comes from: rows of the
/// summary table.
fn summary_rows(r: &FileResult) -> String {
    let mut rows = String::new();
    let knowledge = first_by_subject(&r.out.knowledge);
    for (subject, notes) in by_subject(&r.out.notes) {
        let changes: Vec<String> = Line::group(&notes)
            .iter()
            .filter(|l| l.kind == NoteKind::Change)
            .map(|l| {
                l.notes
                    .iter()
                    .map(|n| md_message(n.what()))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        let reviews = notes.iter().filter(|n| n.kind == NoteKind::Review).count();
        if changes.is_empty() && reviews == 0 {
            continue;
        }
        let source = knowledge
            .get(subject)
            .map(|k| k.label())
            .unwrap_or_default();
        let changes = if changes.is_empty() {
            "nothing".to_string()
        } else {
            changes.join("; ")
        };
        rows.push_str(&format!(
            "| {} | {} | {changes} | {} | {} |\n",
            code(&r.display),
            md_text(if subject.is_empty() {
                "whole file"
            } else {
                subject
            }),
            md_text(&source),
            if reviews == 0 {
                String::new()
            } else {
                reviews.to_string()
            }
        ));
    }
    rows
}

/// The notes `wanted` picks, one short line each (changes that share an
/// explanation on one line), under their subject.
fn short_notes(
    subjects: &[(&str, Vec<&crate::finding::Note>)],
    shared: &SharedNotes,
    knowledge: &HashMap<&str, &crate::finding::Knowledge>,
    wanted: impl Fn(&crate::finding::Note) -> bool,
) -> String {
    let mut out = String::new();
    for (subject, notes) in subjects {
        let notes: Vec<_> = notes.iter().copied().filter(|n| wanted(n)).collect();
        if notes.is_empty() {
            continue;
        }
        if subject.is_empty() {
            out.push('\n');
        } else {
            let source = knowledge
                .get(subject)
                .map(|k| format!(" ({})", md_text(&k.label())))
                .unwrap_or_default();
            out.push_str(&format!("\n**{}**{source}\n\n", md_text(subject)));
        }
        for line in Line::group(&notes) {
            let marker = line
                .shared_key()
                .and_then(|k| shared.number(k))
                .map(|i| format!(" \\[{i}\\]"))
                .unwrap_or_default();
            let text = line.text_with(!marker.is_empty(), md_message);
            let rules = line.rules();
            let rule = if rules.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = rules.iter().map(|r| code(r)).collect();
                format!(" ({})", list.join(", "))
            };
            let lead = match line.kind {
                NoteKind::Info => "found: ",
                _ => "",
            };
            out.push_str(&format!("- {lead}{text}{marker}{rule}\n"));
        }
    }
    out
}

/// The title of what a fix changes: done (`fix --dry-run`) or to do.
fn changes_title(diff: bool) -> &'static str {
    if diff {
        "What changes and why"
    } else {
        "What `harden fix` changes and why"
    }
}

/// A result's findings, one line each, in both the short and the whole
/// file section.
fn findings_list(r: &FileResult) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for f in &r.out.findings {
        let how = if f.fixable {
            "`harden fix` repairs it"
        } else {
            "needs a person"
        };
        // Writing to a string does not fail.
        let _ = writeln!(
            out,
            "- line {}, {} {}: {} ({how})",
            f.line,
            f.severity.as_str(),
            code(f.rule),
            md_message(&f.message),
        );
    }
    out
}

/// The explanations many notes share, said once, numbered as the notes
/// refer to them.
fn shared_section(shared: &SharedNotes) -> String {
    if shared.items.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n## Shared notes\n\n");
    for (i, item) in shared.items.iter().enumerate() {
        let rules = if item.rules.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                item.rules
                    .iter()
                    .map(|r| code(r))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let (first, more) = item.text.split_once('\n').unwrap_or((&item.text, ""));
        out.push_str(&format!("{}. {}{rules}\n", i + 1, md_message(first)));
        if !more.trim().is_empty() {
            let fence = md_fence(more, 3);
            let body: String = more.lines().map(|l| format!("   {l}\n")).collect();
            out.push_str(&format!("\n   {fence}\n{body}   {fence}\n\n"));
        }
    }
    out
}

/// Services whose image harden could not learn about, apart from the rest,
/// so that a reader (or a bot that opens pull requests only for services
/// harden knows) can tell them from those hardened with knowledge.
const UNKNOWN_IMAGES_HEAD: &str =
    "\n## Images harden could not learn about\n\nNo profile, no Dockerfile here, and the \
image could not be read: harden does not know where these services write or which \
capabilities their entrypoints need. Run them once with `harden verify` before you merge.\n\n\
| file | service | image | why | `harden fix` |\n| --- | --- | --- | --- | --- |\n";

/// A result's rows of the unknown images' table.
fn unknown_image_rows(r: &FileResult) -> String {
    let mut out = String::new();
    for u in &r.out.unknown_images {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            code(&r.display),
            code(&u.service),
            code(&u.image),
            md_text(&u.reasons.join("; ")),
            if u.skipped {
                "leaves it unchanged (`unknown-images = \"skip\"`)"
            } else {
                "hardens it without that knowledge"
            }
        ));
    }
    out
}

/// A result's notes of one kind grouped by subject, each in full;
/// information notes go with the changes, as the background they explain.
fn notes_by_subject(r: &FileResult, kind: NoteKind) -> String {
    let wanted = |k: NoteKind| match kind {
        NoteKind::Change => k == NoteKind::Change || k == NoteKind::Info,
        other => k == other,
    };
    // Migration notes have a section of their own, with the volumes' names.
    // Subjects in the order their wanted notes first appear.
    let mut subjects: Vec<(&str, Vec<&Note>)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for n in r
        .out
        .notes
        .iter()
        .filter(|n| wanted(n.kind) && !n.migration)
    {
        match at.get(n.subject.as_str()) {
            Some(&i) => subjects[i].1.push(n),
            None => {
                at.insert(&n.subject, subjects.len());
                subjects.push((&n.subject, vec![n]));
            }
        }
    }
    let mut out = String::new();
    for (s, notes) in subjects {
        if s.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("\n**{}**\n\n", md_text(s)));
        }
        for n in notes {
            let rule = n
                .rule
                .map(|r| format!(" ({})", code(r)))
                .unwrap_or_default();
            let lead = match n.kind {
                NoteKind::Info => "found: ",
                _ => "",
            };
            out.push_str(&format!("- {lead}{}{rule}\n", md_message(&n.text)));
        }
    }
    out
}

fn migration_section(migrations: &[Migration]) -> String {
    if migrations.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n### Migration\n\nThese services now run as a non-root user, but volumes they \
already used hold files owned by root. Before deploying, give each existing volume to the \
user once (new volumes need nothing):\n\n",
    );
    for m in migrations {
        let owner = match &m.owner {
            Some(_) => String::new(),
            None => format!(
                " (replace `UID:GID` with the ids of {}: {} prints them)",
                code(&m.user),
                code(&format!(
                    "docker compose run --rm --no-deps --entrypoint id {}",
                    crate::escape::shell_word(&m.service)
                ))
            ),
        };
        let command = m.command();
        let command = crate::escape::terminal(&command);
        let fence = md_fence(&command, 3);
        out.push_str(&format!(
            "- service {}, volume {} at {} (now user {}){owner}:\n\n  {fence}sh\n  {command}\n  {fence}\n",
            code(&m.service),
            code(&m.volume),
            code(&m.target),
            code(&m.user),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Output;
    use crate::finding::{Finding, Note};
    use crate::source::Source;

    #[test]
    fn inline_code_survives_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    #[test]
    fn notes_grouped_by_subject_and_kind() {
        let note = |subject: &str, kind, text: &str| Note {
            subject: subject.into(),
            rule: Some("writable-rootfs"),
            text: text.into(),
            short: None,
            shared: None,
            kind,
            migration: false,
        };
        let r = FileResult {
            path: "c.yml".into(),
            display: "c.yml".into(),
            kind: None,
            source: Some(Source::new("c.yml".into(), "c.yml".into(), "a: 1\n".into()).into()),
            out: Output {
                findings: vec![Finding::new("writable-rootfs", 1, 1, "bad | thing")],
                notes: vec![
                    note("service a", NoteKind::Change, "one"),
                    note("service b", NoteKind::Review, "check"),
                    note("service a", NoteKind::Info, "two"),
                ],
                ..Default::default()
            },
            fixed: None,
            error: None,
            more: false,
        };
        let md = render(&[r], false, true);
        assert!(
            md.starts_with("# harden check: 1 finding in 1 file\n"),
            "{md}"
        );
        assert!(md.contains("bad \\| thing"), "{md}");
        assert!(
            md.contains("### What `harden fix` changes and why\n\n**service a**\n\n- one (`writable-rootfs`)\n- found: two (`writable-rootfs`)\n\n### What to review\n\n**service b**\n\n- check (`writable-rootfs`)\n"),
            "{md}"
        );
        assert!(!md.contains("### Diff"));
    }

    /// A compose file of `n` services, each with findings, notes (changes
    /// sharing an explanation, a review), knowledge and an unknown image;
    /// a part (`more`) has no fix.
    fn services(from: usize, to: usize, more: bool) -> FileResult {
        let text = "services:\n  web:\n    image: app\n";
        let mut out = Output::default();
        for i in from..to {
            let subject = format!("service s{i}");
            out.findings
                .push(Finding::new("writable-rootfs", i + 1, 1, format!("m{i}")));
            out.note(&subject, "writable-rootfs", format!("read_only {i}"))
                .brief("read_only: true", "")
                .shares_known("baseline");
            out.note(&subject, "no-new-privileges", format!("nnp {i}"))
                .brief("no-new-privileges", "")
                .shares_known("baseline");
            out.review(&subject, "", format!("check s{i}"));
            out.knowledge
                .push((subject.clone(), crate::finding::Knowledge::Unknown));
            out.unknown_images.push(crate::finding::UnknownImage {
                service: format!("s{i}"),
                image: "app".into(),
                reasons: vec!["offline".into()],
                skipped: false,
            });
        }
        if !more {
            out.edits.push(crate::edit::Edit::insert(text.len(), "x\n"));
        }
        FileResult {
            path: "c.yml".into(),
            display: "c.yml".into(),
            kind: Some(crate::discover::Kind::Compose),
            source: Some(Source::new("c.yml".into(), "c.yml".into(), text.into()).into()),
            out,
            fixed: (!more).then(String::new),
            error: None,
            more,
        }
    }

    fn written(results: &[(FileResult, bool)], diff: bool, verbose: bool) -> String {
        let mut md = Stream::new(diff, verbose);
        let mut out = Vec::new();
        for (r, refused) in results {
            md.file(r, *refused).unwrap();
        }
        md.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_file_in_parts_is_written_as_the_whole_file() {
        let whole = || vec![(services(0, 5, false), false)];
        let parts = || {
            vec![
                (services(0, 2, true), false),
                (services(2, 3, true), false),
                (services(3, 5, false), false),
            ]
        };
        for diff in [false, true] {
            for verbose in [false, true] {
                let w = written(&whole(), diff, verbose);
                assert_eq!(
                    written(&parts(), diff, verbose),
                    w,
                    "diff {diff} verbose {verbose}"
                );
                assert!(w.contains("check s4"), "{w}");
            }
        }
    }

    /// A refused fix takes back its parts' notes, rows and numbered
    /// explanations, and keeps their findings, as for the whole file.
    #[test]
    fn a_refused_fix_takes_back_the_notes_of_its_parts() {
        let refused = |from: usize| {
            let mut r = services(from, 5, false);
            r.out = Output {
                findings: r.out.findings,
                ..Output::default()
            };
            r.fixed = None;
            r.error = Some(crate::error::FileError::at_start("refused"));
            r
        };
        let whole = written(&[(refused(0), true)], true, false);
        let parts = written(
            &[(services(0, 3, true), false), (refused(3), true)],
            true,
            false,
        );
        assert_eq!(parts, whole);
        assert!(!parts.contains("check s0"), "{parts}");
        assert!(parts.contains("| findings | 5 (5 fixable) |"), "{parts}");
    }
}
