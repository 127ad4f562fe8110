//! `cache-on-rootfs` (templates/explain/cache-on-rootfs.md): reports the
//! cache variables the plan redirects and adds them to the service's
//! environment, in the style the service already uses.

use crate::finding::Output;
use super::rule::{Files, Rule, ServiceCx};
use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::plan::ServicePlan;

pub const NAME: &str = "cache-on-rootfs";

pub const RULE: Rule = Rule {
    service: Some(|cx: &ServiceCx, out| check(cx.ctx, cx.svc, cx.plan, out)),
    ..Rule::new(NAME, Files::Compose)
};

pub fn check(ctx: &Ctx, svc: &Service, plan: &ServicePlan, out: &mut Output) {
    if plan.env.is_empty() {
        return;
    }
    let subject = format!("service {}", svc.name);
    for e in &plan.env {
        out.findings.push(svc.finding(
            NAME,
            format!(
                "service `{}` leaves `{}` unset: the cache goes to the root filesystem",
                svc.name, e.name
            ),
        ));
    }
    let vars: Vec<(String, String)> = plan
        .env
        .iter()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    if ctx.add_env(svc, &vars, NAME, out) {
        for e in &plan.env {
            out.note(
                &subject,
                NAME,
                format!("`{}={}`: {}", e.name, e.value, e.why),
            );
        }
    }
}
