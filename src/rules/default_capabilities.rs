//! `default-capabilities` (templates/explain/default-capabilities.md): adds
//! `cap_drop: [ALL]` in the list's own style, and the plan's `cap_add`
//! entries with why; an unknown image gets a review note instead.

use crate::finding::Output;
use super::rule::{Files, Rule, ServiceCx};
use crate::compose::patch::NewValue;
use crate::compose::service::{Origin, Service};
use crate::compose::tree::Kind;
use crate::compose::Ctx;
use crate::plan::ServicePlan;

pub const NAME: &str = "default-capabilities";

fn is_all(s: &str) -> bool {
    let s = s.trim();
    s.eq_ignore_ascii_case("ALL") || s.eq_ignore_ascii_case("CAP_ALL")
}

pub const RULE: Rule = Rule {
    service: Some(|cx: &ServiceCx, out| check(cx.ctx, cx.svc, cx.plan, out)),
    ..Rule::new(NAME, Files::Compose)
};

pub fn check(ctx: &Ctx, svc: &Service, plan: &ServicePlan, out: &mut Output) {
    let subject = format!("service {}", svc.name);
    let why = "`cap_drop: [ALL]`: the container starts with no Linux capabilities";
    // Compose appends the override file's list to this one.
    let overlaid = svc.overlay_strings("cap_drop").into_iter().any(is_all);
    if overlaid {
        add_back(ctx, svc, plan, out);
        return explain_cap_add(ctx, svc, out);
    }
    match svc.effective("cap_drop") {
        None => {
            out.findings.push(svc.finding(
                NAME,
                format!(
                    "service `{}` keeps the default capabilities (no `cap_drop: [ALL]`)",
                    svc.name
                ),
            ));
            if let Some(e) = ctx.add_entry(svc, "cap_drop", &NewValue::Seq(vec!["ALL".into()]), out)
            {
                out.edits.push(e);
                out.note(&subject, NAME, why)
                    .brief("`cap_drop: [ALL]`", "")
                    .shares_known("baseline");
                unknown_image_review(svc, plan, &subject, out);
            }
        }
        Some((v, origin)) => {
            let items = ctx.strings(v);
            if items.iter().any(|s| is_all(s)) {
                add_back(ctx, svc, plan, out);
                return explain_cap_add(ctx, svc, out);
            }
            out.findings.push(svc.finding_at(
                NAME,
                v,
                origin,
                format!(
                    "service `{}` drops only some capabilities, not ALL",
                    svc.name
                ),
            ));
            match (origin, &v.kind) {
                (Origin::Own, Kind::Seq { .. }) => {
                    if let Some(e) = ctx.append_item(svc, v, "ALL", out) {
                        out.edits.push(e);
                        out.note(
                            &subject,
                            NAME,
                            format!("`ALL` added to `cap_drop`{}", kept(&items)),
                        );
                    }
                }
                (Origin::Own, _) if v.is_null() => {
                    let all = NewValue::Seq(vec!["ALL".into()]);
                    out.edits.extend(ctx.fill_null(svc, v, &all));
                    out.note(&subject, NAME, why)
                    .brief("`cap_drop: [ALL]`", "")
                    .shares_known("baseline");
                }
                (Origin::Own, _) => {
                    out.review(
                        &subject,
                        NAME,
                        "`cap_drop` is not a list; set it to `[ALL]` by hand",
                    );
                }
                (Origin::Merged(anchor), _) => {
                    if let Some(e) =
                        ctx.add_entry(svc, "cap_drop", &NewValue::Seq(vec!["ALL".into()]), out)
                    {
                        out.edits.push(e);
                        out.note(
                            &subject,
                            NAME,
                            format!("`cap_drop: [ALL]` added to the service; it replaces the list merged{}", anchor),
                        );
                    }
                }
            }
        }
    }
    add_back(ctx, svc, plan, out);
    explain_cap_add(ctx, svc, out);
}

/// An image harden has no profile for runs with no capabilities now, though
/// nothing was checked about it: many start as root and switch user
/// themselves, which takes SETUID and SETGID (and often CHOWN).
fn unknown_image_review(svc: &Service, plan: &ServicePlan, subject: &str, out: &mut Output) {
    let Some(image) = unknown_application_image(svc, plan) else {
        return;
    };
    let unread = unread(plan);
    out.review(
        subject,
        NAME,
        format!("harden knows nothing about `{image}`{unread}: if it starts as root and switches user itself (gosu, su-exec, s6, Apache, php-fpm), give back what that takes with `cap_add` (usually SETUID, SETGID, CHOWN), or set a non-root `user:` it supports; where it writes besides /tmp is not known either. `harden verify` runs it to find out"),
    )
    .brief(
        format!("harden knows nothing about `{image}`{unread}"),
        "check what it needs with `harden verify`",
    )
    .shares_known("unknown-image-caps");
}

/// Why the image itself could not be read, as a clause for the notes
/// about an unknown image (empty where it was not looked up).
pub fn unread(plan: &ServicePlan) -> String {
    match &plan.unreadable {
        Some(u) if !u.reasons.is_empty() => format!(" and could not read the image ({u})"),
        _ => String::new(),
    }
}

/// Whether this rule's note about an unknown image (which covers where it
/// writes too) is given for the service: only where it adds `cap_drop`.
pub fn reviews_unknown_image(cx: &ServiceCx) -> bool {
    let (svc, plan) = (cx.svc, cx.plan);
    cx.applies(NAME)
        && svc.effective("cap_drop").is_none()
        && !svc.overlay_strings("cap_drop").into_iter().any(is_all)
        && unknown_application_image(svc, plan).is_some()
}

/// The image of a service that runs an application image harden knows
/// nothing about (no profile, no Dockerfile, not a distribution or language
/// base image) and whose capabilities nobody has thought about yet.
pub fn unknown_application_image<'a>(svc: &Service<'a>, plan: &ServicePlan) -> Option<&'a str> {
    // A service that lists capabilities already had them thought about.
    if plan.profile.is_some()
        || plan.facts.is_some()
        || svc.effective("build").is_some()
        || plan.built_here
        || svc.effective("cap_add").is_some()
    {
        return None;
    }
    let image = svc.scalar("image").and_then(|(n, _)| n.as_str())?;
    // A distribution or language base image (alpine, python) runs its
    // command as is, without switching user.
    if crate::baseimage::classify(image).family.name != "unknown" {
        return None;
    }
    Some(image)
}

/// Kernel parameters the plan gives the service instead of a capability
/// (port 80 without NET_BIND_SERVICE), where it does not set them itself.
fn add_sysctls(ctx: &Ctx, svc: &Service, plan: &ServicePlan, out: &mut Output) {
    let have: Vec<String> = match svc.effective("sysctls").map(|(v, _)| &v.kind) {
        Some(Kind::Map { entries, .. }) => entries
            .iter()
            .filter_map(|e| e.key.as_str().map(str::to_string))
            .collect(),
        Some(Kind::Seq { .. }) => svc
            .effective("sysctls")
            .map(|(v, _)| ctx.strings(v))
            .unwrap_or_default()
            .iter()
            .map(|i| i.split('=').next().unwrap_or("").trim().to_string())
            .collect(),
        _ => Vec::new(),
    };
    let missing: Vec<&(String, String, String)> = plan
        .sysctls
        .iter()
        .filter(|(n, _, _)| !have.contains(n))
        .collect();
    if missing.is_empty() {
        return;
    }
    let pairs: Vec<(String, String)> = missing
        .iter()
        .map(|(n, v, _)| (n.clone(), v.clone()))
        .collect();
    let shown: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    out.findings.push(svc.finding(
        NAME,
        format!(
            "service `{}` needs {} once all capabilities are dropped",
            svc.name,
            shown.join(", ")
        ),
    ));
    if ctx.add_pairs(svc, "sysctls", &pairs, true, NAME, out) {
        for (n, v, why) in missing {
            out.note(
                &format!("service {}", svc.name),
                NAME,
                format!("`sysctls: {n}={v}`: {why}"),
            );
        }
    }
}

/// Capabilities the plan says the service needs (a known image's
/// entrypoint that starts as root), added back with their reason.
fn add_back(ctx: &Ctx, svc: &Service, plan: &ServicePlan, out: &mut Output) {
    add_caps(ctx, svc, plan, out);
    add_sysctls(ctx, svc, plan, out);
}

fn add_caps(ctx: &Ctx, svc: &Service, plan: &ServicePlan, out: &mut Output) {
    let have: Vec<String> = svc
        .effective("cap_add")
        .map(|(v, _)| ctx.strings(v))
        .unwrap_or_default()
        .iter()
        .map(|c| c.trim().trim_start_matches("CAP_").to_ascii_uppercase())
        .collect();
    let missing: Vec<&(String, String)> = plan
        .cap_add
        .iter()
        .filter(|(c, _)| !have.contains(c))
        .collect();
    if missing.is_empty() {
        return;
    }
    let caps: Vec<String> = missing.iter().map(|(c, _)| c.clone()).collect();
    out.findings.push(svc.finding(
        NAME,
        format!(
            "service `{}` needs {} back once all capabilities are dropped",
            svc.name,
            caps.join(", ")
        ),
    ));
    if ctx.add_items(svc, "cap_add", &caps, NAME, out) {
        // One reason for all (a profile's), or each capability's own
        // (the script line it was learnt from).
        let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
        for (c, w) in &missing {
            match groups.iter_mut().find(|(_, gw)| *gw == w.as_str()) {
                Some((cs, _)) => cs.push(c),
                None => groups.push((vec![c], w)),
            }
        }
        let why = if groups.len() == 1 {
            missing[0].1.clone()
        } else {
            groups
                .iter()
                .map(|(cs, w)| format!("{} for {w}", cs.join(" and ")))
                .collect::<Vec<_>>()
                .join("; ")
        };
        // Learnt from the image's files, the need may be a binary's file
        // capability rather than a root entrypoint.
        let needs = if plan.facts.is_some() {
            "the image needs them"
        } else {
            "the image's entrypoint starts as root and needs them"
        };
        let what = format!("`cap_add: [{}]`", caps.join(", "));
        let note = out.note(
            &format!("service {}", svc.name),
            NAME,
            format!("{what}: {needs}: {why}"),
        );
        if plan.facts.is_some() {
            // The lines of the image's own scripts that need each one:
            // evidence no other service shares.
            note.brief(what, format!("{needs}: {why}"));
        } else {
            // A profile's reasons, the same for every service of the image.
            note.brief(what.clone(), needs)
                .shares(why.clone(), format!("{what}: {why}"));
        }
    }
}

fn kept(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(
            " (the entries already there, {}, are kept; ALL covers them)",
            items.join(", ")
        )
    }
}

/// Capabilities the author adds back deserve a second look: harden keeps
/// them, and says so.
fn explain_cap_add(ctx: &Ctx, svc: &Service, out: &mut Output) {
    if let Some((v, _)) = svc.effective("cap_add") {
        let caps = ctx.strings(v);
        if !caps.is_empty()
            && !out.notes.iter().any(|n| {
                n.rule == Some(NAME) && n.text.contains("cap_add") && n.subject.ends_with(svc.name)
            })
        {
            out.review(
                &format!("service {}", svc.name),
                NAME,
                format!(
                    "`cap_add` keeps {}: check that each is still needed",
                    caps.join(", ")
                ),
            );
        }
    }
}
