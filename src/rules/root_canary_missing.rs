//! `root-canary-missing`: a few lines at program start that warn on stderr
//! when the process runs as uid 0 make a regression to root visible in the
//! logs, long after the Dockerfile review is forgotten. harden follows the
//! final stage's CMD/ENTRYPOINT to the program's entry source in the build
//! context, reports when it has no uid-0 check, and points at a ready
//! snippet. It never edits application source: that is the author's call.

mod canary;

use super::rule::{Files, Rule};
use crate::finding::Output;
use crate::dockerfile::analyze::DfCtx;
use crate::dockerfile::entry::{self, Entry};
use crate::finding::Finding;

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
            let lead = format!("`{shown}` has no root canary");
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
        format!("{lead}, {placement} (harden does not edit application source):\n{snippet}"),
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
            "the root canary for {} (harden does not edit application source):\n{snippet}",
            capitalised(lang.name())
        ),
    );
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
