//! `undocumented-exception` (templates/explain/undocumented-exception.md):
//! reports `x-harden` and `# harden: allow` without a reason or naming a
//! rule the registry does not know.

use crate::finding::Output;
use super::rule::{Files, Rule, ServiceCx};
use crate::compose::service::Service;
use crate::dockerfile::analyze::DfCtx;
use crate::finding::Finding;

pub const NAME: &str = "undocumented-exception";

pub const RULE: Rule = Rule {
    service: Some(|cx: &ServiceCx, out| check_compose(cx.svc, out)),
    dockerfile: Some(check_dockerfile),
    judges_exceptions: true,
    ..Rule::new(NAME, Files::Both)
};

pub fn check_compose(svc: &Service, out: &mut Output) {
    let Some(ex) = svc.exception() else { return };
    if ex.reason.is_none() {
        out.findings.push(
            Finding::new(
                NAME,
                ex.line,
                ex.col,
                format!(
                    "`x-harden` of service `{}` has no reason: say why the baseline does not apply",
                    svc.name
                ),
            )
            .report_only()
            .warning(),
        );
    }
    for a in &ex.allow {
        if a != "all" && crate::registry::get(a).is_none() {
            out.findings.push(
                Finding::new(
                    NAME,
                    ex.line,
                    ex.col,
                    format!(
                        "`x-harden` of service `{}` allows unknown rule `{a}`",
                        svc.name
                    ),
                )
                .report_only()
                .warning(),
            );
        }
    }
}

pub fn check_dockerfile(ctx: &DfCtx, out: &mut Output) {
    for (rules, reason, line) in &ctx.exceptions {
        if reason.is_none() {
            out.findings.push(
                Finding::new(
                    NAME,
                    *line,
                    1,
                    "`# harden: allow` without a reason: write `-- <why the baseline does not apply>`",
                )
                .report_only()
                .warning(),
            );
        }
        for r in rules {
            if r != "all" && crate::registry::get(r).is_none() {
                out.findings.push(
                    Finding::new(
                        NAME,
                        *line,
                        1,
                        format!("`# harden: allow` names unknown rule `{r}`"),
                    )
                    .report_only()
                    .warning(),
                );
            }
        }
    }
}
