//! `harden explain` through the binary: every rule's text (snapshot), the
//! unknown-rule error, and every example in the texts run through `harden
//! fix`, so the documented "after" is what harden really writes.

mod common;

use common::*;
use harden::report::explain::{examples, Role, TEXTS};
use std::path::Path;

#[test]
fn explain_every_rule() {
    let dir = scratch();
    for rule in harden::rules::RULES {
        let r = harden(dir.path(), &["explain", rule.name]);
        assert_eq!(r.code, 0, "{}: {}", rule.name, r.stderr);
        assert_eq!(r.stderr, "");
        // Piped output is plain text: no escape codes, no fence tags.
        assert!(!r.stdout.contains('\u{1b}'), "{}", rule.name);
        assert!(
            r.stdout
                .lines()
                .filter(|l| l.starts_with("```"))
                .all(|l| !l.contains(' ')),
            "{}: fence tags printed",
            rule.name
        );
        snapshot(&format!("explain_{}", rule.name), &r.stdout);
    }
}

#[test]
fn unknown_rule_lists_the_rules() {
    let dir = scratch();
    let r = harden(dir.path(), &["explain", "read-only"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("unknown rule `read-only`"),
        "{}",
        r.stderr
    );
    for rule in harden::rules::RULES {
        assert!(r.stderr.contains(rule.name), "{}", rule.name);
    }
}

fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, body) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
}

/// The examples are harden's real behaviour: the "before" files are
/// reported under the rule, `harden fix` turns them into the "after" files
/// exactly (and leaves the others as they are), and a "by-hand" version
/// has no finding of the rule left.
#[test]
fn examples_are_what_harden_does() {
    for (rule, md) in TEXTS {
        let ex = examples(md);
        let befores: Vec<(&str, &str)> = ex
            .iter()
            .filter(|e| e.role == Role::Before)
            .map(|e| (e.path, e.body.as_str()))
            .collect();

        let dir = scratch();
        write_files(dir.path(), &befores);
        // Warnings count too: the example is about that one rule.
        let check = harden(dir.path(), &["check", "--fail-on", "warning"]);
        assert_eq!(check.code, 1, "{rule}: {}{}", check.stdout, check.stderr);
        assert!(
            check.stdout.contains(&format!("[{rule}]")),
            "{rule}: the example is not reported under the rule:\n{}",
            check.stdout
        );

        let fix = harden(dir.path(), &["fix"]);
        assert_eq!(fix.code, 0, "{rule}: {}", fix.stderr);
        for (path, before) in &befores {
            let now = std::fs::read_to_string(dir.path().join(path)).unwrap();
            let want = ex
                .iter()
                .find(|e| e.role == Role::After && e.path == *path)
                .map_or(*before, |e| e.body.as_str());
            assert_eq!(
                now, want,
                "{rule}: `harden fix` of {path} differs from templates/explain/{rule}.md"
            );
        }

        let by_hand: Vec<(&str, &str)> = ex
            .iter()
            .filter(|e| e.role == Role::ByHand)
            .map(|e| (e.path, e.body.as_str()))
            .collect();
        if !by_hand.is_empty() {
            let dir = scratch();
            write_files(dir.path(), &befores);
            write_files(dir.path(), &by_hand);
            let check = harden(dir.path(), &["check"]);
            assert!(
                !check.stdout.contains(&format!("[{rule}]")),
                "{rule}: the by-hand example is still reported:\n{}",
                check.stdout
            );
        }
    }
}
