//! `unmounted-write-path` (templates/explain/unmounted-write-path.md): adds
//! the plan's carve-outs as tmpfs and named-volume entries and declares the
//! new volumes. The mounts a service already has are read by compose/mounts.rs.

use crate::finding::Output;
use super::rule::{Files, Rule, ServiceCx};
use crate::plan::Carve;

pub const NAME: &str = "unmounted-write-path";

pub const RULE: Rule = Rule {
    service: Some(check),
    ..Rule::new(NAME, Files::Both)
};

/// Carve-outs are pointless where the root filesystem stays writable.
pub fn check(cx: &ServiceCx, out: &mut Output) {
    let (ctx, svc, plan) = (cx.ctx, cx.svc, cx.plan);
    if !cx.applies(super::writable_rootfs::NAME) || plan.carve_outs.is_empty() {
        return;
    }
    let subject = format!("service {}", svc.name);
    let mut tmpfs = Vec::new();
    let mut volumes = Vec::new();
    for c in &plan.carve_outs {
        out.findings.push(svc.finding(NAME, format!("service `{}` writes `{}`, which is not writable once the root filesystem is read-only", svc.name, c.path),
        ));
        match &c.carve {
            Carve::Tmpfs { .. } => tmpfs.push(c),
            Carve::Volume { .. } => volumes.push(c),
        }
    }
    if !tmpfs.is_empty() {
        let items: Vec<String> = tmpfs.iter().map(|c| c.entry()).collect();
        if ctx.add_items(svc, "tmpfs", &items, NAME, out) {
            for c in &tmpfs {
                brief(
                    out.note(&subject, NAME, format!("tmpfs `{}`: {}", c.entry(), c.why)),
                    format!("tmpfs `{}`", c.entry()),
                    c,
                );
            }
        }
    }
    if !volumes.is_empty() {
        let items: Vec<String> = volumes.iter().map(|c| c.entry()).collect();
        if ctx.add_items(svc, "volumes", &items, NAME, out) {
            let mut moved = Vec::new();
            for c in &volumes {
                if let Carve::Volume { name, cache } = &c.carve {
                    out.new_volumes.push(name.clone());
                    brief(
                        out.note(&subject, NAME, format!("volume `{}`: {}", c.entry(), c.why)),
                        format!("volume `{}`", c.entry()),
                        c,
                    );
                    if !cache {
                        moved.push(format!("`{}`", c.path));
                    }
                }
            }
            // What a container that ran before wrote there stays behind in
            // its own layer or an anonymous volume: the new named volume
            // starts from the image's content.
            if !moved.is_empty() {
                let cp = match moved.as_slice() {
                    [one] => format!(
                        "`docker compose cp {} ./saved`",
                        crate::escape::shell_word(&format!(
                            "{}:{}",
                            svc.name,
                            one.trim_matches('`')
                        ))
                    ),
                    _ => format!(
                        "`docker compose cp {}:PATH ./saved`, per path",
                        crate::escape::shell_word(svc.name)
                    ),
                };
                out.review(
                    &subject,
                    NAME,
                    format!(
                        "if the service already ran, what it wrote to {} is in the old container (or an anonymous volume), not in the new volume: save it before `docker compose up` recreates the container ({cp}) and copy it back after",
                        join_and(&moved)
                    ),
                )
                .brief(
                    format!("data already written to {} stays in the old container", join_and(&moved)),
                    format!("save it first: {cp}"),
                )
                .shares_known("carry-over");
            }
        }
    }
}

/// A carve-out's note in a few words: the entry, and the reason the plan
/// gives briefly (or its whole reason, where it is short already).
fn brief(note: &mut crate::finding::Note, what: String, c: &crate::plan::CarveOut) {
    note.brief(what, c.short.as_deref().unwrap_or(&c.why).to_string());
    note.shared.clone_from(&c.shared);
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
