//! The engine for compose files: plan every service, run the rules that
//! apply to it, declare the new volumes; and after a fix, check that the
//! new text still holds everything the author wrote.

use crate::compose::service::{self, Project, Service};
use crate::compose::tree::{self, Document, Limits};
use crate::compose::{patch, top_level_volumes, Ctx};
use crate::config::{Config, Exemption, UnknownImages};
use crate::finding::{pointer, Knowledge, NoteKind, Output, UnknownImage};
use crate::rules::{ServiceCx, RULES};
use crate::source::Source;
use std::sync::Arc;

/// Plans for every service, keyed by service name, in name order. A sorted
/// vector rather than a map: a plan is large and stored inline, and map
/// nodes reserve room for eleven of them however few a file has.
#[derive(Debug, Default)]
pub struct Plans {
    by_name: Vec<(String, crate::plan::ServicePlan)>,
}

impl Plans {
    /// The plan of the service `name`.
    pub fn get(&self, name: &str) -> Option<&crate::plan::ServicePlan> {
        self.by_name
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .and_then(|i| self.by_name.get(i))
            .map(|(_, p)| p)
    }

    /// Every (service name, plan), in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &crate::plan::ServicePlan)> {
        self.by_name.iter().map(|(n, p)| (n, p))
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// From (name, plan) pairs in any order; of two plans for one name the
    /// later wins, as a map insert would.
    fn from_pairs(mut pairs: Vec<(String, crate::plan::ServicePlan)>) -> Plans {
        // Stable: pairs of one name keep their order, the last one is kept.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut by_name: Vec<(String, crate::plan::ServicePlan)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match by_name.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => by_name.push(pair),
            }
        }
        by_name.shrink_to_fit();
        Plans { by_name }
    }
}

impl<'a> IntoIterator for &'a Plans {
    type Item = (&'a String, &'a crate::plan::ServicePlan);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, crate::plan::ServicePlan)>,
        fn(&'a (String, crate::plan::ServicePlan)) -> (&'a String, &'a crate::plan::ServicePlan),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.by_name.iter().map(|(n, p)| (n, p))
    }
}

/// What `analyze` keeps of a file's results.
pub enum Mode<'s> {
    /// Findings, edits and notes, all kept until the end.
    Fix,
    /// A fix handed on in parts: the edits and what verifies them are kept
    /// until the end (they are applied in one pass), while the findings,
    /// notes, knowledge and unknown images go to `spill` a few hundred at a
    /// time, so a file with tens of thousands of services never holds them
    /// all. What is left goes out with the returned output.
    FixInParts { spill: &'s mut dyn FnMut(Output) },
    /// Findings only: each service's edits, notes, knowledge and unknown
    /// images are dropped as soon as its rules ran (a findings report shows
    /// none of them), and the findings are handed to `spill` a few hundred
    /// at a time.
    Check { spill: &'s mut dyn FnMut(Output) },
}

/// Findings and notes a run in parts gathers before it hands them on.
const SPILL_AT: usize = 512;

/// Plan every service and run every compose rule over it, in file order.
/// `built` gives the Dockerfile a service builds, where harden could read
/// it; the plans of those services are returned, for the rules of the
/// Dockerfile. Every other plan is dropped once its service is checked, so
/// memory does not grow with the number of services.
pub fn analyze<'d>(
    src: &Source,
    doc: &Document,
    project: &Project,
    built: &dyn Fn(&str) -> Option<crate::plan::Built<'d>>,
    config: &Config,
    mut mode: Mode,
) -> (Output, Plans) {
    let ctx = Ctx::new(src, doc, config, !matches!(mode, Mode::Check { .. }));
    // A file with an explicit `? key` is not edited (see the end): its
    // change notes are dropped there, so none may be handed on before.
    let explicit_key = explicit_key_line(src);
    // Volume names already in use, so a new volume gets a name of its own.
    let mut taken = top_level_volumes(doc);
    for (o, _) in project.overlays {
        taken.extend(top_level_volumes(o));
    }
    for o in project.bases {
        taken.extend(top_level_volumes(o));
    }
    for (_, o) in project.others {
        taken.extend(top_level_volumes(o));
    }
    let mut kept = Vec::new();
    let mut out = Output::default();
    let one_run = super::ephemeral::is_test_file(&src.path);
    for svc in project.services(doc) {
        let b = built(svc.name);
        let mark = service::Mark::of(&out);
        let (exempt, excepted) = exemptions(&ctx, &svc);
        let mut plan = crate::plan::plan_service(&ctx, &svc, b.as_ref(), &taken, &exempt);
        if one_run {
            super::ephemeral::for_one_run(&mut plan, &svc, &config.tmpfs_size);
        }
        for c in &plan.carve_outs {
            if let crate::plan::Carve::Volume { name, .. } = &c.carve {
                taken.push(name.clone());
            }
        }
        out.knowledge
            .push((format!("service {}", svc.name), knowledge(&plan)));
        let cx = ServiceCx {
            ctx: &ctx,
            svc: &svc,
            plan: &plan,
            exempt: &exempt,
        };
        for rule in RULES {
            let Some(check) = rule.service else { continue };
            if cx.applies(rule.name) {
                check(&cx, &mut out);
            } else if let Some((_, why)) = excepted.iter().find(|(r, _)| *r == rule.name) {
                out.info(
                    &format!("service {}", svc.name),
                    rule.name,
                    format!("not applied: {why}"),
                );
            }
        }
        for r in &plan.review {
            out.review(&format!("service {}", svc.name), "", r.clone());
        }
        if let Some(unknown) = &plan.unreadable {
            let skipped = ctx.config.unknown_images == UnknownImages::Skip;
            let image = svc
                .scalar("image")
                .and_then(|(n, _)| n.as_str())
                .unwrap_or(&unknown.reference);
            out.unknown_images.push(UnknownImage {
                service: svc.name.to_string(),
                image: image.to_string(),
                reasons: unknown.reasons.clone(),
                skipped,
            });
            if skipped {
                mark.report_only(
                    &mut out,
                    &format!("service {}", svc.name),
                    format!("not changed: harden could not learn about `{image}` ({unknown}), and harden.toml says `unknown-images = \"skip\"`"),
                );
            }
        }
        svc.report_only_since(mark, &mut out);
        match &mut mode {
            Mode::Fix => {}
            Mode::FixInParts { spill } => {
                if explicit_key.is_none() && out.findings.len() + out.notes.len() >= SPILL_AT {
                    spill(Output {
                        findings: std::mem::take(&mut out.findings),
                        notes: std::mem::take(&mut out.notes),
                        knowledge: std::mem::take(&mut out.knowledge),
                        unknown_images: std::mem::take(&mut out.unknown_images),
                        ..Output::default()
                    });
                }
            }
            Mode::Check { spill } => {
                out.edits.clear();
                out.notes.clear();
                out.replaced.clear();
                out.new_volumes.clear();
                out.knowledge.clear();
                out.unknown_images.clear();
                if out.findings.len() >= SPILL_AT {
                    spill(Output {
                        findings: std::mem::take(&mut out.findings),
                        ..Output::default()
                    });
                }
            }
        }
        if b.is_some() {
            kept.push((svc.name.to_string(), plan));
        }
    }
    let new_volumes = std::mem::take(&mut out.new_volumes);
    ctx.declare_volumes(&new_volumes, &mut out);
    patch::order_insertions(&mut out.edits);
    // Explicit `? key` entries can end a block where its lines do not show
    // it; compose files never need them, so such a file is reported, not
    // edited (found by fuzzing).
    if let Some(line) = explicit_key {
        if !out.edits.is_empty() {
            out.edits.clear();
            out.replaced.clear();
            out.notes.retain(|n| n.kind != NoteKind::Change);
            out.review(
                "whole file",
                "",
                format!("line {line} uses an explicit `? key` entry: harden does not edit this file; apply the findings by hand"),
            );
        }
    }
    (out, Plans::from_pairs(kept))
}

/// Where what harden knows of a service comes from.
fn knowledge(plan: &crate::plan::ServicePlan) -> Knowledge {
    if let Some(p) = &plan.profile {
        Knowledge::Profile(p.id.clone())
    } else if plan.facts.is_some() {
        Knowledge::ImageFacts
    } else if plan.unknown_image.is_some() || plan.unreadable.is_some() {
        Knowledge::Unknown
    } else {
        Knowledge::Inferred
    }
}

/// The rules `svc` is exempted from, decided once for all its rules: by
/// harden.toml (skipped, or an `[[exception]]` matching the file or the
/// service) or by the service's own `x-harden`, which cannot exempt it from
/// the rule that judges the exceptions. Also the harden.toml exceptions
/// with their reasons, which the notes name.
fn exemptions(ctx: &Ctx, svc: &Service) -> (Vec<&'static str>, Vec<(&'static str, Exemption)>) {
    let mut exempt = Vec::new();
    let mut excepted = Vec::new();
    // The service's own `x-harden`, read once for all the rules.
    let allowed = svc.exception().map(|e| e.allow).unwrap_or_default();
    let allows = |rule: &str| allowed.iter().any(|a| a == rule || a == "all");
    for rule in RULES {
        if let Some(why) = ctx
            .config
            .exemption(&ctx.src.path, Some(svc.name), rule.name)
        {
            exempt.push(rule.name);
            if why != Exemption::Skipped {
                excepted.push((rule.name, why));
            }
        } else if !rule.judges_exceptions && allows(rule.name) {
            exempt.push(rule.name);
        }
    }
    (exempt, excepted)
}

/// The first line that starts an explicit mapping key (`? key`), if any.
fn explicit_key_line(src: &Source) -> Option<usize> {
    src.text
        .lines()
        .position(|l| {
            let t = l.trim_start_matches([' ', '-']).trim_start();
            t == "?" || t.starts_with("? ") || t.starts_with("?\t")
        })
        .map(|i| i + 1)
}

/// After a fix: the new text must parse, and every value the author wrote
/// must still be there, unchanged and in order, except those the fix meant
/// to replace. Anything else means a bug in a patch, and the fix is refused.
/// The new document, for what is worked out from the fixed file.
pub fn verify(
    old: &Document,
    new_src: &Arc<Source>,
    replaced: &[String],
    limits: &Limits,
) -> Result<Document, String> {
    let new = match tree::parse(new_src, limits) {
        Ok(Some(d)) => d,
        Ok(None) => return Err("the fixed file is empty".into()),
        Err(e) => {
            return Err(format!(
                "the fixed file does not parse ({}:{}: {})",
                e.line, e.col, e.message
            ))
        }
    };
    // A fix adds only inside the file's services and to the top-level
    // `volumes`: anything new elsewhere is an insertion that the text put
    // somewhere else than harden meant (found by fuzzing: an empty key at
    // the start of a line made a service's block look longer than it is).
    // Services by their pointer token (`~1` for a `/` in a name), looked up
    // once per new value: a file of tens of thousands of services gets
    // several new values in each.
    let services: std::collections::HashSet<String> = service::services(old)
        .map(|s| pointer(&[s.name]).split_off(1))
        .collect();
    let may_grow = |p: &str| {
        p == "/volumes"
            || p.starts_with("/volumes/")
            || p.strip_prefix("/services/")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(name, _)| services.contains(name))
    };
    super::contains::Compare {
        old,
        new: &new,
        replaced: replaced.iter().map(String::as_str).collect(),
        may_grow: &may_grow,
        limits,
    }
    .documents()?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fix may add inside the file's services and to the top-level
    /// volumes only: the same lines landing anywhere else are refused.
    #[test]
    fn additions_outside_the_services_are_refused() {
        let src = |t: &str| Arc::new(Source::new("c.yml".into(), "c.yml".into(), t.to_string()));
        let old_text = "x-env: {A: 1}\nservices:\n  web:\n    image: nginx\n    cap_drop:\n";
        let old = tree::parse(&src(old_text), &Limits::default())
            .unwrap()
            .unwrap();
        let verdict = |new: &str| verify(&old, &src(new), &[], &Limits::default());
        let good = "x-env: {A: 1}\nservices:\n  web:\n    image: nginx\n    read_only: true\n    cap_drop:\n      - ALL\nvolumes:\n  data:\n";
        assert!(verdict(good).is_ok());
        let stray =
            "x-env: {A: 1, read_only: true}\nservices:\n  web:\n    image: nginx\n    cap_drop:\n";
        let e = verdict(stray).unwrap_err();
        assert!(e.contains("`/x-env/read_only` would be added"), "{e}");
        let new_service = "x-env: {A: 1}\nservices:\n  web:\n    image: nginx\n    cap_drop:\n  db:\n    image: postgres\n";
        assert!(verdict(new_service).is_err());
    }

    /// `x-harden` exempts a service from every rule it names, once, in the
    /// engine; `all` cannot silence the rule that asks for its reason.
    #[test]
    fn allow_all_exempts_from_every_rule_but_the_exception_rule() {
        let text = "services:\n  vpn:\n    image: acme/vpn:1\n    user: root\n    privileged: true\n    x-harden:\n      allow: [all]\n";
        let src = Arc::new(Source::new("c.yml".into(), "c.yml".into(), text.into()));
        let doc = tree::parse(&src, &Limits::default()).unwrap().unwrap();
        let config = crate::config::baseline();
        let project = Project::default();
        let (out, _) = analyze(&src, &doc, &project, &|_| None, config, Mode::Fix);
        let rules: Vec<&str> = out.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["undocumented-exception"]);
        assert!(out.edits.is_empty());
    }
}
