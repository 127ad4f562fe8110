//! `unmounted-write-path`: with a read-only root filesystem every path a
//! service writes must be a carve-out, or the service fails at its first
//! write. Scratch space (`/tmp`) becomes a size-limited tmpfs.

use super::{Output, RuleInfo};
use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::plan::{Carve, ServicePlan};

pub const NAME: &str = "unmounted-write-path";

pub const INFO: RuleInfo = RuleInfo {
    name: NAME,
    summary: "a path the service writes is neither a volume nor a tmpfs",
    explanation: "With a read-only root filesystem, a service fails the first time it writes \
outside its mounts. Scratch paths (/tmp, pid and socket directories) become tmpfs mounts with \
a size limit; persistent paths (data, models, caches) become named volumes, created and owned \
by the service's user in its Dockerfile.",
    fix: "mount a tmpfs or named volume where the service writes",
};

pub fn check(
    ctx: &Ctx,
    svc: &Service,
    plan: &ServicePlan,
    out: &mut Output,
    new_volumes: &mut Vec<String>,
) {
    if svc.allows(NAME) || svc.allows(super::writable_rootfs::NAME) || plan.carve_outs.is_empty() {
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
                out.note(&subject, NAME, format!("tmpfs `{}`: {}", c.entry(), c.why));
            }
        }
    }
    if !volumes.is_empty() {
        let items: Vec<String> = volumes.iter().map(|c| c.entry()).collect();
        if ctx.add_items(svc, "volumes", &items, NAME, out) {
            let mut moved = Vec::new();
            for c in &volumes {
                if let Carve::Volume { name, cache } = &c.carve {
                    new_volumes.push(name.clone());
                    out.note(&subject, NAME, format!("volume `{}`: {}", c.entry(), c.why));
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
                        "`docker compose cp {}:{} ./saved`",
                        svc.name,
                        one.trim_matches('`')
                    ),
                    _ => format!("`docker compose cp {}:PATH ./saved`, per path", svc.name),
                };
                out.review(
                    &subject,
                    NAME,
                    format!(
                        "if the service already ran, what it wrote to {} is in the old container (or an anonymous volume), not in the new volume: save it before `docker compose up` recreates the container ({cp}) and copy it back after",
                        join_and(&moved)
                    ),
                );
            }
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
