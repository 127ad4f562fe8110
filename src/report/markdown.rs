//! `--format markdown`: the body of a pull request. A reviewer reads, per
//! file, what is wrong, what changes and why, the diff (from `fix
//! --dry-run`), what to check before merging, and the one-time steps that
//! existing deployments need; a bot gets all of it from one run.

use crate::engine::FileResult;
use crate::finding::NoteKind;
use crate::migration::Migration;
use crate::report::plural;

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
pub fn render(results: &[FileResult], diff: bool) -> String {
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
    out.push_str(&unknown_images_section(results));
    for r in results {
        out.push_str(&file_section(r, diff));
    }
    out
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
    let nothing = r.error.is_none()
        && r.out.findings.is_empty()
        && r.out.notes.is_empty()
        && r.fixed.is_none();
    if nothing {
        return String::new();
    }
    let mut out = format!("\n## {}\n", code(&r.display));
    if let Some(e) = &r.error {
        out.push_str(&format!(
            "\n**Error** at line {}, column {}: {}\n\nharden left this file as it was.\n",
            e.line,
            e.col,
            md_message(&e.message)
        ));
        return out;
    }
    if !r.out.findings.is_empty() {
        out.push_str("\n### Findings\n\n");
        for f in &r.out.findings {
            let how = if f.fixable {
                "`harden fix` repairs it"
            } else {
                "needs a person"
            };
            out.push_str(&format!(
                "- line {}, {} {}: {} ({how})\n",
                f.line,
                f.severity.as_str(),
                code(f.rule),
                md_message(&f.message),
            ));
        }
    }
    let title = if diff {
        "What changes and why"
    } else {
        "What `harden fix` changes and why"
    };
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
        let md = render(&[r], false);
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
