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
