//! `root-canary-missing`: a few lines at program start that warn on stderr
//! when the process runs as uid 0 make a regression to root visible in the
//! logs, long after the Dockerfile review is forgotten. harden follows the
//! final stage's CMD/ENTRYPOINT to the program's entry source in the build
//! context, reports when it has no uid-0 check, and points at a ready
//! snippet. It edits application source only when asked (`fix --canary`,
//! `canary = true`): then the snippet goes into the entry module itself.

mod canary;

pub use canary::has_canary;

use super::rule::{Files, Rule};
use crate::finding::Output;
use crate::dockerfile::analyze::DfCtx;
use crate::dockerfile::entry::{self, Entry};
use crate::finding::{Finding, Note, NoteKind, SourceEdit};
use std::path::Path;

pub use crate::dockerfile::entry::Lang;

pub const NAME: &str = "root-canary-missing";

pub const RULE: Rule = Rule {
    dockerfile: Some(check_dockerfile),
    ..Rule::new(NAME, Files::Dockerfile)
};

pub fn check_dockerfile(ctx: &DfCtx, out: &mut Output) {
    let Some(context) = ctx.hints.context.as_deref() else {
        return;
    };
    let Some(found) = entry::entry(ctx.df, ctx.final_stage(), context) else {
        return;
    };
    let Some(ins) = ctx.df.instructions.get(found.instruction) else {
        return;
    };
    let (line, col) = ctx.src.line_col(ins.range.start);
    // Said unless `--canary` tried and could not.
    let mut tail = " (harden does not edit application source)";
    let (lang, shown, message, lead) = match &found.entry {
        Entry::Source { lang, files } => {
            if files
                .iter()
                .any(|f| entry::read_source(f).is_some_and(|t| canary::has_canary(*lang, &t)))
            {
                return;
            }
            let Some(first) = files.first() else {
                return;
            };
            let shown = entry::relative(first, context);
            let message = format!(
                "`{shown}`, started by this {}, does not warn when it runs as uid 0; see `harden explain {NAME} --lang {}`",
                ins.keyword,
                lang.name()
            );
            let lead = if ctx.hints.canary {
                let subject = format!("run by {}", ctx.src.display);
                match insert(*lang, first, context, &subject) {
                    Ok(edit) => {
                        let message = format!(
                            "`{shown}`, started by this {}, does not warn when it runs as uid 0; `harden fix` adds the check there (the canary is on)",
                            ins.keyword
                        );
                        out.findings
                            .push(Finding::new(NAME, line, col, message).warning());
                        out.sources.push(edit);
                        return;
                    }
                    Err(why) => {
                        tail = "";
                        format!("`{shown}` has no root canary, and `--canary` cannot add one ({why})")
                    }
                }
            } else {
                format!("`{shown}` has no root canary")
            };
            (*lang, shown, message, lead)
        }
        Entry::Unchecked { lang, program } => {
            let message = format!(
                "`{program}` starts a {} program whose source harden does not read: make sure it warns when it runs as uid 0; see `harden explain {NAME} --lang {}`",
                capitalised(lang.name()),
                lang.name()
            );
            let lead = format!("`{program}` is not checked for a root canary; if it has none");
            (*lang, program.clone(), message, lead)
        }
    };
    out.findings.push(
        Finding::new(NAME, line, col, message)
            .report_only()
            .warning(),
    );
    let placement = lang.placement(&shown);
    let snippet = lang.snippet().trim_end();
    out.review(
        &ctx.subject(),
        NAME,
        format!("{lead}, {placement}{tail}:\n{snippet}"),
    )
    .brief(
        lead,
        format!(
            "{placement} (the snippet `harden explain {NAME} --lang {}` prints)",
            lang.name()
        ),
    )
    // One snippet per language, however many programs need it.
    .shares(
        format!("canary {}", lang.name()),
        format!(
            "the root canary for {} (`harden fix --canary` inserts it where it finds the entry module):\n{snippet}",
            capitalised(lang.name())
        ),
    );
}

/// The canary for the entry module `file`: read exactly (it is written
/// back), never through a link, placed and checked by `crate::canary`.
fn insert(lang: Lang, file: &Path, context: &Path, subject: &str) -> Result<SourceEdit, String> {
    let real = std::fs::canonicalize(file).map_err(|e| crate::paths::io_message(&e))?;
    let expected = std::fs::canonicalize(context)
        .map_err(|e| crate::paths::io_message(&e))?
        .join(file.strip_prefix(context).unwrap_or(file));
    if real != expected {
        return Err("the file is reached through a symbolic link".into());
    }
    let text = crate::paths::read_text(file, crate::fsio::max_file_size())
        .map_err(|e| e.message)?;
    let placed = crate::canary::insert(lang, &text)?;
    let new = crate::edit::apply(&text, &placed.edits)
        .map_err(|_| "two insertions overlap".to_string())?;
    crate::canary::recheck(lang, &text, &new)?;
    Ok(SourceEdit {
        path: file.to_path_buf(),
        text,
        edits: placed.edits,
        lang: lang.name(),
        note: Note {
            subject: subject.to_string(),
            rule: Some(NAME),
            text: format!(
                "root canary added {} (line {}): the program warns on stderr when it runs as uid 0",
                placed.after,
                marker_line(&new)
            ),
            short: Some(crate::finding::Short {
                what: format!("root canary at line {}", marker_line(&new)),
                why: "warns on stderr when run as uid 0".to_string(),
            }),
            shared: None,
            kind: NoteKind::Change,
            migration: false,
        },
    })
}

/// The 1-based line of the canary's marker comment in the edited text.
fn marker_line(text: &str) -> usize {
    text.lines()
        .position(|l| l.contains(crate::canary::MARKER))
        .map_or(1, |i| i + 1)
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
