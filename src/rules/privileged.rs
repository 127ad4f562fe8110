//! `privileged` (templates/explain/privileged.md): reports
//! `privileged: true`; only the author knows what should replace it.

use crate::compose::is_true;
use crate::finding::Output;
use super::rule::{Files, Rule, ServiceCx};
use crate::compose::service::Service;
use crate::finding::Finding;

pub const NAME: &str = "privileged";

pub const RULE: Rule = Rule {
    service: Some(|cx: &ServiceCx, out| check(cx.svc, out)),
    ..Rule::new(NAME, Files::Compose)
};

pub fn check(svc: &Service, out: &mut Output) {
    if let Some((v, (line, col))) = svc.scalar("privileged") {
        if v.as_str().is_some_and(is_true) {
            out.findings.push(
                Finding::new(
                    NAME,
                    line,
                    col,
                    format!(
                        "service `{}` runs privileged: it has every capability and host device",
                        svc.name
                    ),
                )
                .report_only(),
            );
            out.review(
                &format!("service {}", svc.name),
                NAME,
                "`privileged: true` is left as it is and overrides `cap_drop`; replace it with the capabilities and devices the service needs",
            );
        }
    }
}
