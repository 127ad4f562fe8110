//! `writable-rootfs` (templates/explain/writable-rootfs.md): sets
//! `read_only: true`, minding an override file's value.

use crate::finding::{pointer, Output};
use super::rule::{Files, Rule, ServiceCx};
use crate::compose::patch::{self, NewValue};
use crate::compose::service::{Origin, Service};
use crate::compose::{is_true, Ctx};
use crate::finding::Finding;

pub const NAME: &str = "writable-rootfs";

pub const RULE: Rule = Rule {
    service: Some(check),
    ..Rule::new(NAME, Files::Compose)
};

pub fn check(cx: &ServiceCx, out: &mut Output) {
    let (ctx, svc, plan) = (cx.ctx, cx.svc, cx.plan);
    let before = out.edits.len();
    make_read_only(ctx, svc, out);
    if out.edits.len() > before {
        // Nothing tells harden where an unknown image writes: say so rather
        // than imply the carve-outs are complete.
        // The capabilities note covers writes too, where it is given.
        let covered = super::default_capabilities::reviews_unknown_image(cx);
        if let Some(image) = plan.unknown_image.as_ref().filter(|_| !covered) {
            let unread = super::default_capabilities::unread(plan);
            out.review(
                &format!("service {}", svc.name),
                NAME,
                format!("harden has no profile for `{image}` and sees no Dockerfile{unread}, so it does not know where it writes besides /tmp: run it once with `harden verify` and add a volume or tmpfs for each path that fails"),
            )
            .brief(
                format!("harden has no profile for `{image}` and sees no Dockerfile{unread}"),
                "find where it writes with `harden verify`",
            )
            .shares_known("unknown-image-writes");
        }
    }
}

fn make_read_only(ctx: &Ctx, svc: &Service, out: &mut Output) {
    let subject = format!("service {}", svc.name);
    // The override file's value wins when Compose merges the two files.
    if let Some((v, file)) = svc.overlay("read_only") {
        let text = v.as_str().unwrap_or("");
        if !is_true(text) {
            out.findings.push(
                svc.finding(
                    NAME,
                    format!(
                        "service `{}` gets `read_only: {text}` from {file}",
                        svc.name
                    ),
                )
                .report_only(),
            );
            let why = if svc.project.variant {
                format!("{file}, the base this file is merged onto, sets `read_only: {text}`")
            } else {
                format!("{file} sets `read_only: {text}`, which overrides this file")
            };
            out.review(&subject, NAME, format!("{why}: set it to true there"));
        }
        return;
    }
    match svc.effective("read_only") {
        Some((v, origin)) => {
            let Some(text) = v.as_str() else { return };
            if is_true(text) {
                return;
            }
            if text.contains("${") {
                out.review(
                    &subject,
                    NAME,
                    format!("`read_only: {text}` depends on interpolation; make sure it is true in every environment"),
                );
                return;
            }
            match origin {
                Origin::Own => {
                    let (line, col) = svc.place(v, origin);
                    let finding = Finding::new(
                        NAME,
                        line,
                        col,
                        format!("service `{}` sets `read_only: {text}`: its root filesystem is writable", svc.name),
                    );
                    // A tag (`!reset`, `!custom`) says what the value means;
                    // harden does not rewrite it (found by fuzzing).
                    if let Some(tag) = ctx.doc.tag_of(v) {
                        out.findings.push(finding.report_only());
                        out.review(&subject, NAME, format!("`read_only` has the tag `{tag}`, which harden does not rewrite: set `read_only: true` by hand"));
                        return;
                    }
                    out.findings.push(finding);
                    // `read_only:` with no value (or `~`) is null, which
                    // Compose reads as false; replace_scalar fills an empty
                    // value and replaces a written one.
                    out.edits.push(patch::replace_scalar(ctx.src, v, "true"));
                    out.replaced
                        .push(pointer(&["services", svc.name, "read_only"]));
                    out.note(
                        &subject,
                        NAME,
                        format!("`read_only: {text}` becomes `read_only: true`: the root filesystem is mounted read-only; writes go to the tmpfs and volumes listed"),
                    )
                    .brief(format!("`read_only: {text}` → `true`"), "")
                    .shares_known("baseline");
                }
                Origin::Merged(anchor) => {
                    out.findings.push(svc.finding(NAME, format!("service `{}` merges `read_only: {text}`{}: its root filesystem is writable", svc.name, anchor),
                    ));
                    if let Some(e) = add(ctx, svc, out) {
                        out.edits.push(e);
                        out.note(
                            &subject,
                            NAME,
                            format!("`read_only: true` added to the service; it overrides `read_only: {text}` merged{}, which other services may still use", anchor),
                        )
                        .brief(
                            "`read_only: true`",
                            format!("overrides `read_only: {text}` merged{anchor}"),
                        );
                    }
                }
            }
        }
        None => {
            out.findings.push(svc.finding(
                NAME,
                format!(
                    "service `{}` has a writable root filesystem (no `read_only: true`)",
                    svc.name
                ),
            ));
            if let Some(e) = add(ctx, svc, out) {
                out.edits.push(e);
                out.note(
                    &subject,
                    NAME,
                    "`read_only: true`: the root filesystem is mounted read-only; writes go to the tmpfs and volumes listed",
                )
                .brief("`read_only: true`", "")
                .shares_known("baseline");
            }
        }
    }
}

fn add(ctx: &Ctx, svc: &Service, out: &mut Output) -> Option<crate::edit::Edit> {
    ctx.add_entry(svc, "read_only", &NewValue::Scalar("true".into()), out)
}
