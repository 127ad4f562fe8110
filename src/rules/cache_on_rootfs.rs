//! `cache-on-rootfs`: libraries that download models or write caches at run
//! time (torch, transformers, spaCy, matplotlib ...) write under the user's
//! home by default, which is read-only once the root filesystem is. Their
//! cache variables are pointed into the service's cache volume.

use super::{Output, RuleInfo};
use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::plan::ServicePlan;

pub const NAME: &str = "cache-on-rootfs";

pub const INFO: RuleInfo = RuleInfo {
    name: NAME,
    summary: "a library writes its cache on the root filesystem",
    explanation: "Model and cache downloads (torch hub, the Hugging Face cache, spaCy \
models, matplotlib's font cache ...) go under $HOME/.cache by default: on a read-only root \
filesystem they fail, and in a writable one they are lost with the container. The service's \
cache variables (XDG_CACHE_HOME, TORCH_HOME, HF_HOME and library-specific ones) are pointed \
into a named cache volume, created and owned by the user in the Dockerfile.",
    fix: "redirect the cache into a writable carve-out",
};

pub fn check(ctx: &Ctx, svc: &Service, plan: &ServicePlan, out: &mut Output) {
    if svc.allows(NAME) || plan.env.is_empty() {
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
