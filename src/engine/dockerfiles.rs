//! The engine for Dockerfiles: run the rules of the stage the Dockerfile
//! runs, with what the plan of the service that builds it says; and after
//! a fix, check that every instruction the author wrote is still there.

use crate::config::Exemption;
use crate::dockerfile::analyze::{DfCtx, Hints};
use crate::dockerfile::{Dockerfile, Instruction};
use crate::finding::Output;
use crate::rules::{Rule, RULES};
use crate::source::Source;

/// Run the Dockerfile rules that apply.
pub fn analyze(src: &Source, df: &Dockerfile, hints: &Hints) -> Output {
    analyze_with(src, df, hints, RULES)
}

/// Run the Dockerfile rules for every stage the project runs (one
/// [`Hints`] per stage, each with its `target`), so that a stage one
/// compose file builds is hardened whichever file harden was given. A
/// stage built on another stage hardened here is analysed on the text with
/// that stage's fix, so that it reuses the user instead of creating it
/// twice; what it adds is mapped back onto the original text.
pub fn analyze_stages(src: &Source, df: &Dockerfile, stages: &[Hints]) -> Output {
    let mut runs: Vec<(usize, &Hints)> = Vec::new();
    for h in stages {
        if let Some(i) = crate::dockerfile::analyze::run_stage(df, h.target.as_deref()) {
            if !runs.iter().any(|(j, _)| *j == i) {
                runs.push((i, h));
            }
        }
    }
    runs.sort_by_key(|(i, _)| *i);
    let (Some(&(_, first)), true) = (runs.first(), runs.len() > 1) else {
        return match stages.first() {
            Some(h) => analyze(src, df, h),
            None => analyze(src, df, &Hints::default()),
        };
    };
    let mut total = analyze(src, df, first);
    let mut done = vec![runs[0].0];
    for &(stage, hints) in &runs[1..] {
        let builds_on_done = df.chain(stage).iter().any(|s| done.contains(s));
        let out = builds_on_done
            .then(|| analyze_after(src, &total.edits, hints))
            .flatten()
            .unwrap_or_else(|| analyze(src, df, hints));
        merge(&mut total, out);
        done.push(stage);
    }
    total
}

/// The rules' output for a stage, run on `src` with `edits` (insertions
/// only) applied, with its edits and findings mapped back onto `src`;
/// `None` where that cannot be done (an edit inside an inserted line).
fn analyze_after(src: &Source, edits: &[crate::edit::Edit], hints: &Hints) -> Option<Output> {
    if edits.iter().any(|e| !e.is_insertion()) {
        return None;
    }
    let text = crate::edit::apply(&src.text, edits).ok()?;
    let new_src = Source::new(src.path.clone(), src.display.clone(), text);
    let new_df = crate::dockerfile::parse(&new_src.text).ok()?;
    let mut out = analyze(&new_src, &new_df, hints);
    let inserted: Vec<(usize, usize)> = crate::edit::sorted(edits)
        .iter()
        .map(|e| (e.range.start, e.text.len()))
        .collect();
    // An offset of the new text on the old; `None` inside harden's lines
    // or where the place before or after them would be ambiguous.
    let back = |x: usize| -> Option<usize> {
        let mut shift = 0;
        for &(at, len) in inserted.iter().filter(|(_, len)| *len > 0) {
            let start = at + shift;
            if x < start {
                break;
            }
            if x < start + len {
                return None;
            }
            shift += len;
        }
        Some(x - shift)
    };
    for e in &mut out.edits {
        e.range = back(e.range.start)?..back(e.range.end)?;
    }
    let mut findings = Vec::with_capacity(out.findings.len());
    for mut f in out.findings {
        if let Some(at) = back(new_src.line_start(f.line)) {
            f.line = src.line_of(at);
            findings.push(f);
        }
    }
    out.findings = findings;
    Some(out)
}

/// Add a stage's output to the file's, each finding, edit and note once.
fn merge(total: &mut Output, out: Output) {
    for f in out.findings {
        if !total.findings.contains(&f) {
            total.findings.push(f);
        }
    }
    for e in out.edits {
        if !total.edits.contains(&e) {
            total.edits.push(e);
        }
    }
    for n in out.notes {
        if !total.notes.contains(&n) {
            total.notes.push(n);
        }
    }
    for r in out.replaced {
        if !total.replaced.contains(&r) {
            total.replaced.push(r);
        }
    }
}

/// Run `rules` (a part of [`RULES`], for a rule's own tests) as
/// [`analyze`] runs them all.
pub fn analyze_with(src: &Source, df: &Dockerfile, hints: &Hints, rules: &[Rule]) -> Output {
    let mut out = Output::default();
    let Some(mut ctx) = DfCtx::new(src, df, hints) else {
        return out;
    };
    ctx.exempt = exemptions(&ctx);
    // Say so when harden.toml exempts this file from a Dockerfile rule.
    for rule in rules.iter().filter(|r| r.applies_to_dockerfiles()) {
        if let Some((_, why)) = hints.exempt.iter().find(|(r, _)| r == rule.name) {
            if *why != Exemption::Skipped {
                out.info(
                    &ctx.subject(),
                    "",
                    format!("`{}` not applied: {why}", rule.name),
                );
            }
        }
    }
    // The exceptions are judged first: they stand before what they exempt.
    let (judges, others): (Vec<&Rule>, Vec<&Rule>) =
        rules.iter().partition(|r| r.judges_exceptions);
    for rule in judges.into_iter().chain(others) {
        if let Some(check) = rule.dockerfile.filter(|_| !ctx.allows(rule.name)) {
            check(&ctx, &mut out);
        }
    }
    out
}

/// After a fix: the new text must lex, and every instruction of the
/// original must still be there, unchanged and in order (fixes only add).
pub fn verify(old: &Dockerfile, old_text: &str, new_text: &str) -> Result<Dockerfile, String> {
    let new = crate::dockerfile::parse(new_text)
        .map_err(|e| format!("the fixed file does not parse ({e})"))?;
    let text_of = |t: &'_ str, i: &Instruction| t.get(i.range.clone()).unwrap_or("").to_string();
    let mut next = new.instructions.iter();
    for ins in &old.instructions {
        let want = text_of(old_text, ins);
        if !next.any(|n| text_of(new_text, n) == want) {
            return Err(format!(
                "the instruction on line {} would be lost",
                ins.line
            ));
        }
    }
    if old.directives.len() != new.directives.len() || old.escape != new.escape {
        return Err("the parser directives would change".into());
    }
    Ok(new)
}

/// The rules the Dockerfile is exempted from: by harden.toml, or by a
/// `# harden: allow` comment, which cannot exempt it from the rule that
/// judges those comments.
fn exemptions(ctx: &DfCtx) -> Vec<&'static str> {
    RULES
        .iter()
        .filter(|r| {
            ctx.hints.exempt.iter().any(|(e, _)| e == r.name)
                || (!r.judges_exceptions && ctx.excepted(r.name))
        })
        .map(|r| r.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> String {
        let src = Source::new("Dockerfile".into(), "Dockerfile".into(), text.into());
        let df = crate::dockerfile::parse(text).expect("lexes");
        let hints = Hints {
            service: Some("api".into()),
            uid: 1000,
            dirs: vec!["/srv/data".into()],
            tmpfs_dirs: vec![("/run/api".into(), "1777".into())],
            ..Hints::default()
        };
        let out = analyze(&src, &df, &hints);
        crate::edit::apply(text, &out.edits).expect("edits do not overlap")
    }

    /// An exemption holds for every line a rule's fix would add, even one
    /// another rule's edit carries: root-user's RUN used to prepare the
    /// volume directories of an exempted unmounted-write-path.
    #[test]
    fn a_comment_exemption_holds_inside_another_rules_edit() {
        let plain = "FROM debian:bookworm-slim\nCMD [\"api\"]\n";
        let once = fixed(plain);
        assert!(once.contains("mkdir -p /srv/data"), "{once}");
        assert!(once.contains("chmod 1777 /run/api"), "{once}");

        let exempt = "FROM debian:bookworm-slim\n# harden: allow unmounted-write-path -- the volumes are prepared by the platform\nCMD [\"api\"]\n";
        let once = fixed(exempt);
        assert!(once.contains("useradd"), "root-user still applies:\n{once}");
        assert!(!once.contains("mkdir") && !once.contains("chown"), "{once}");
        assert!(
            !once.contains("/srv/data") && !once.contains("/run/api"),
            "{once}"
        );

        // The same with a user the Dockerfile already switches to.
        let existing = "FROM debian:bookworm-slim\nRUN useradd -u 1000 api\n# harden: allow unmounted-write-path -- prepared elsewhere\nUSER api\nCMD [\"api\"]\n";
        assert_eq!(fixed(existing), existing);
    }

    /// The exception rule cannot be silenced by the exception it judges.
    #[test]
    fn allow_all_without_a_reason_is_still_reported() {
        let text = "FROM debian:bookworm-slim\n# harden: allow all\nCMD [\"api\"]\n";
        let src = Source::new("Dockerfile".into(), "Dockerfile".into(), text.into());
        let df = crate::dockerfile::parse(text).expect("lexes");
        let out = analyze(&src, &df, &Hints::default());
        let rules: Vec<&str> = out.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["undocumented-exception"]);
        assert!(out.edits.is_empty());
    }
}
