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
    let name = svc.name;
    let at = (ex.line, ex.col);
    if ex.reason.is_none() {
        let why = format!("`x-harden` of service `{name}` has no reason: say why the baseline does not apply");
        report(out, at, why);
    }
    for a in unknown(&ex.allow) {
        report(out, at, format!("`x-harden` of service `{name}` allows unknown rule `{a}`"));
    }
}

pub fn check_dockerfile(ctx: &DfCtx, out: &mut Output) {
    for (rules, reason, line) in &ctx.exceptions {
        let at = (*line, 1);
        if reason.is_none() {
            let why = "`# harden: allow` without a reason: write `-- <why the baseline does not apply>`";
            report(out, at, why.to_string());
        }
        for r in unknown(rules) {
            report(out, at, format!("`# harden: allow` names unknown rule `{r}`"));
        }
    }
}

/// The names that are neither `all` nor a rule in the registry.
fn unknown(names: &[String]) -> impl Iterator<Item = &String> {
    names
        .iter()
        .filter(|n| *n != "all" && crate::registry::get(n).is_none())
}

/// A finding at (line, col): reported, never fixed, a warning.
fn report(out: &mut Output, (line, col): (usize, usize), message: String) {
    out.findings
        .push(Finding::new(NAME, line, col, message).report_only().warning());
}
