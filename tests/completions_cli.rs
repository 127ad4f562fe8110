//! `harden completions SHELL` and `harden man` through the binary.

mod common;

use common::*;

#[test]
fn completions_for_every_shell() {
    let dir = scratch();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = harden(dir.path(), &["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(!r.stdout.trim().is_empty(), "{shell}: empty");
        for word in ["harden", "fix", "check", "explain", "dry-run", "config"] {
            assert!(r.stdout.contains(word), "{shell}: no `{word}`");
        }
    }
    let r = harden(dir.path(), &["completions", "tcsh"]);
    assert_eq!(r.code, 2, "an unknown shell is a usage error");
}

#[test]
fn man_page_is_roff_naming_the_subcommands() {
    let dir = scratch();
    let r = harden(dir.path(), &["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = r.stdout;
    assert!(
        page.lines().any(|l| l.starts_with(".TH harden 1")),
        "no .TH title"
    );
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS"] {
        assert!(
            page.lines().any(|l| l == format!(".SH {section}")),
            "no {section} section"
        );
    }
    for sub in ["fix", "check", "explain", "completions", "man"] {
        assert!(
            page.contains(&format!(".SH \"HARDEN {}\"", sub.to_uppercase())),
            "no section for {sub}"
        );
        assert!(
            page.contains(&format!("harden\\-{sub}")),
            "{sub} not listed"
        );
    }
    // Every line is a roff request, a comment or text: no stray control characters.
    assert!(page.chars().all(|c| c == '\n' || !c.is_control()));
    assert!(
        page.contains("\\-\\-dry\\-run"),
        "fix's options are documented"
    );
}

/// The pre-commit hooks run the binary on exactly the file names harden
/// itself looks for.
#[test]
fn pre_commit_hooks() {
    use yaml_rust2::YamlLoader;
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let hooks = docs[0].as_vec().unwrap();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["harden-check", "harden-fix"]);
    for (h, entry) in hooks.iter().zip(["harden check", "harden fix"]) {
        assert_eq!(h["entry"].as_str(), Some(entry));
        assert_eq!(h["language"].as_str(), Some("rust"));
        assert_eq!(h["pass_filenames"].as_bool(), Some(true));
        let files = h["files"].as_str().unwrap();
        for part in [
            "Dockerfile",
            "Containerfile",
            "compose",
            "docker-compose",
            "ya?ml",
        ] {
            assert!(files.contains(part), "{entry}: files misses {part}");
        }
    }
}
