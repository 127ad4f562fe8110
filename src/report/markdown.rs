//! `--format markdown`: the body of a pull request. A reviewer reads, per
//! file, what is wrong, what changes and why, the diff (from `fix
//! --dry-run`), what to check before merging, and the one-time steps that
//! existing deployments need; a bot gets all of it from one run.

use crate::engine::FileResult;
use crate::finding::NoteKind;
use crate::migration::Migration;
use crate::report::notes::{by_subject, Line, SharedNotes};
use crate::report::plural;
use std::collections::HashMap;

use crate::escape::{md_code as code, md_fence, md_message, md_text};

fn counts(results: &[FileResult]) -> (usize, usize, usize, usize, usize) {
    let checked = results.iter().filter(|r| r.error.is_none()).count();
    let with = results
        .iter()
        .filter(|r| !r.out.findings.is_empty())
        .count();
    let findings = results.iter().map(|r| r.out.findings.len()).sum();
    let changed = results.iter().filter(|r| r.fixed.is_some()).count();
    let errors = results.len() - checked;
    (checked, with, findings, changed, errors)
}

/// The document; `diff` includes each file's change as a unified diff
/// (`fix --dry-run`), otherwise the document reports findings only.
/// `verbose` gives every note in full, each file's sections one after
/// another, as harden always did.
pub fn render(results: &[FileResult], diff: bool, verbose: bool) -> String {
    let mut out = head(results, diff);
    if verbose {
        out.push_str(&unknown_images_section(results));
        for r in results {
            out.push_str(&file_section(r, diff));
        }
        return out;
    }
    let shared = SharedNotes::of(results, 1, |n| !n.migration);
    out.push_str(&summary_section(results));
    out.push_str(&unknown_images_section(results));
    for r in results {
        out.push_str(&short_file_section(r, diff, &shared));
    }
    out.push_str(&shared_section(&shared));
    if diff {
        out.push_str(&diff_section(results));
    }
    out
}

/// The title, what harden does, and the counts.
fn head(results: &[FileResult], diff: bool) -> String {
    let (checked, with, findings, changed, errors) = counts(results);
    let fixable: usize = results
        .iter()
        .flat_map(|r| &r.out.findings)
        .filter(|f| f.fixable)
        .count();
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

/// Per service (and Dockerfile stage), what changes in a few words and
/// where harden's knowledge of it comes from.
fn summary_section(results: &[FileResult]) -> String {
    let mut rows = String::new();
    for r in results {
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
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "\n## Summary\n\n| file | service or stage | changes | knowledge | to review |\n| --- | --- | --- | --- | ---: |\n{rows}"
    )
}

/// A file's heading, and its error where it has one; `None` when harden
/// has nothing to say about it.
fn section_head(r: &FileResult) -> Option<String> {
    let nothing = r.error.is_none()
        && r.out.findings.is_empty()
        && r.out.notes.is_empty()
        && r.fixed.is_none();
    if nothing {
        return None;
    }
    let mut out = format!("\n## {}\n", code(&r.display));
    if let Some(e) = &r.error {
        out.push_str(&format!(
            "\n**Error** at line {}, column {}: {}\n\nharden left this file as it was.\n",
            e.line,
            e.col,
            md_message(&e.message)
        ));
    }
    Some(out)
}

/// One file: what to review and the migration stay in sight; the findings
/// and what changes and why are folded.
fn short_file_section(r: &FileResult, diff: bool, shared: &SharedNotes) -> String {
    let Some(mut out) = section_head(r) else {
        return String::new();
    };
    if r.error.is_some() {
        return out;
    }
    let subjects = by_subject(&r.out.notes);
    let knowledge = first_by_subject(&r.out.knowledge);
    // Migration notes have a section of their own, with the volumes' names.
    let review = short_notes(&subjects, shared, &knowledge, |n| {
        n.kind == NoteKind::Review && !n.migration
    });
    if !review.is_empty() {
        out.push_str(&format!("\n### What to review\n{review}"));
    }
    let changes = short_notes(&subjects, shared, &knowledge, |n| {
        n.kind != NoteKind::Review
    });
    let findings = r.out.findings.len();
    let changed = r
        .out
        .notes
        .iter()
        .filter(|n| n.kind == NoteKind::Change)
        .count();
    if findings > 0 || !changes.is_empty() {
        let mut parts = Vec::new();
        if findings > 0 {
            parts.push(format!("{findings} finding{}", plural(findings)));
        }
        if changed > 0 {
            // The summary is HTML, where GitHub renders no markdown.
            parts.push(format!("{changed} change{} and why", plural(changed)));
        } else if !changes.is_empty() {
            parts.push("what harden found".to_string());
        }
        // GitHub renders markdown inside <details> only after a blank line.
        out.push_str(&format!(
            "\n<details><summary>{}</summary>\n",
            parts.join(", ")
        ));
        out.push_str(&findings_section(r));
        if !changes.is_empty() {
            out.push_str(&format!("\n### {}\n{changes}", changes_title(diff)));
        }
        out.push_str("\n</details>\n");
    }
    out.push_str(&migration_section(&r.out.migrations));
    out
}

/// Where the knowledge of each subject comes from, looked up by subject
/// (a file may have tens of thousands); the first entry of a subject.
fn first_by_subject(
    knowledge: &[(String, crate::finding::Knowledge)],
) -> HashMap<&str, &crate::finding::Knowledge> {
    let mut by = HashMap::with_capacity(knowledge.len());
    for (s, k) in knowledge {
        by.entry(s.as_str()).or_insert(k);
    }
    by
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

/// A file's findings, one line each, under their heading (nothing when it
/// has none), in both the short and the whole file section.
fn findings_section(r: &FileResult) -> String {
    use std::fmt::Write;
    if r.out.findings.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n### Findings\n\n");
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
        let (first, more) = item.text.split_once('\n').unwrap_or((item.text, ""));
        out.push_str(&format!("{}. {}{rules}\n", i + 1, md_message(first)));
        if !more.trim().is_empty() {
            let fence = md_fence(more, 3);
            let body: String = more.lines().map(|l| format!("   {l}\n")).collect();
            out.push_str(&format!("\n   {fence}\n{body}   {fence}\n\n"));
        }
    }
    out
}

/// Every changed file's diff, last, each folded.
fn diff_section(results: &[FileResult]) -> String {
    let mut out = String::new();
    for r in results {
        if let (Some(src), Some(_)) = (&r.source, &r.fixed) {
            let d = crate::report::diff::unified(&src.text, &r.out.edits, &r.display, false);
            let added = d
                .lines()
                .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
                .count();
            let fence = md_fence(&d, 3);
            out.push_str(&format!(
                "\n<details><summary><code>{}</code> (+{added} line{})</summary>\n\n{fence}diff\n{d}{fence}\n\n</details>\n",
                crate::escape::html_text(&r.display),
                plural(added)
            ));
        }
    }
    if out.is_empty() {
        return out;
    }
    format!("\n## Diff\n{out}")
}

/// Services whose image harden could not learn about, apart from the rest,
/// so that a reader (or a bot that opens pull requests only for services
/// harden knows) can tell them from those hardened with knowledge.
fn unknown_images_section(results: &[FileResult]) -> String {
    let rows: Vec<(&FileResult, &crate::finding::UnknownImage)> = results
        .iter()
        .flat_map(|r| r.out.unknown_images.iter().map(move |u| (r, u)))
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\n## Images harden could not learn about\n\nNo profile, no Dockerfile here, and the \
image could not be read: harden does not know where these services write or which \
capabilities their entrypoints need. Run them once with `harden verify` before you merge.\n\n\
| file | service | image | why | `harden fix` |\n| --- | --- | --- | --- | --- |\n",
    );
    for (r, u) in rows {
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

fn file_section(r: &FileResult, diff: bool) -> String {
    let migrations = &r.out.migrations;
    let Some(mut out) = section_head(r) else {
        return String::new();
    };
    if r.error.is_some() {
        return out;
    }
    out.push_str(&findings_section(r));
    let title = changes_title(diff);
    out.push_str(&notes_section(r, NoteKind::Change, title));
    if diff {
        if let (Some(src), Some(_)) = (&r.source, &r.fixed) {
            let d = crate::report::diff::unified(&src.text, &r.out.edits, &r.display, false);
            let fence = md_fence(&d, 3);
            out.push_str(&format!("\n### Diff\n\n{fence}diff\n{d}{fence}\n"));
        }
    }
    out.push_str(&notes_section(r, NoteKind::Review, "What to review"));
    out.push_str(&migration_section(migrations));
    out
}

/// Notes of one kind grouped by subject; information notes go with the
/// changes, as the background they explain.
fn notes_section(r: &FileResult, kind: NoteKind, title: &str) -> String {
    let wanted = |k: NoteKind| match kind {
        NoteKind::Change => k == NoteKind::Change || k == NoteKind::Info,
        other => k == other,
    };
    // Migration notes have a section of their own, with the volumes' names.
    let notes: Vec<_> = r
        .out
        .notes
        .iter()
        .filter(|n| wanted(n.kind) && !n.migration)
        .collect();
    if notes.is_empty() {
        return String::new();
    }
    let mut out = format!("\n### {title}\n");
    let mut subjects: Vec<&str> = Vec::new();
    for n in &notes {
        if !subjects.contains(&n.subject.as_str()) {
            subjects.push(&n.subject);
        }
    }
    for s in subjects {
        if s.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("\n**{}**\n\n", md_text(s)));
        }
        for n in notes.iter().filter(|n| n.subject == s) {
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
}
