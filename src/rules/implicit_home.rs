//! `implicit-home` (templates/explain/implicit-home.md): the `ENV HOME`
//! line root-user writes before its `USER`, when the final stage sets none.

use super::rule::{Files, Rule};
use crate::finding::Output;
use crate::dockerfile::analyze::DfCtx;
use crate::finding::Finding;

pub const NAME: &str = "implicit-home";

/// Its line goes into the block root-user writes before its `USER`.
pub const RULE: Rule = Rule::new(NAME, Files::Dockerfile);

/// Whether HOME is set by an ENV (or ARG) in the final stage or a stage it
/// builds on.
fn home_is_set(ctx: &DfCtx) -> bool {
    !ctx.df
        .resolve_in_stage(ctx.final_stage(), "${HOME}")
        .trim()
        .is_empty()
}

/// The `ENV HOME=...` line (without line ending) to add before `USER
/// user`, with its finding and note; `None` when HOME is already set.
pub fn home_line(ctx: &DfCtx, out: &mut Output, user: &str) -> Option<String> {
    if ctx.allows(NAME) || home_is_set(ctx) {
        return None;
    }
    let stage = &ctx.df.stages[ctx.final_stage()];
    let from = &ctx.df.instructions[stage.from];
    let home = ctx.home();
    out.findings.push(Finding::new(
        NAME,
        from.line,
        1,
        format!("`{user}` has no home directory of its own and the final stage sets no `ENV HOME`"),
    ));
    let why = if home == "/tmp" {
        "the /tmp tmpfs is the one place the user can always write once the root filesystem is read-only"
    } else {
        "a writable carve-out, so tools that keep dot-files and caches under $HOME work on a read-only root"
    };
    out.note(&ctx.subject(), NAME, format!("`ENV HOME={home}`: {why}"))
        .brief(format!("`ENV HOME={home}`"), "a home the user can write")
        .shares(why, format!("`ENV HOME={home}`: {why}"));
    Some(format!("ENV HOME={home}"))
}
