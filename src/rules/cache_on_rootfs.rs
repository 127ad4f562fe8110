//! `cache-on-rootfs`: libraries that download models or write caches at run
//! time (torch, transformers, spaCy, matplotlib ...) write under the user's
//! home by default, which is read-only once the root filesystem is. Their
//! cache variables are pointed into the service's cache volume.

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
