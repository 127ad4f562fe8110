//! The exit policy of `harden check` through the binary, in every format:
//! `--fail-on error|warning|never`, `--exit-zero`, and the rule filters
//! `--select` / `--ignore` (which `fix` honours too).

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

const FORMATS: &[&str] = &["text", "json", "sarif", "github", "markdown"];

/// A Python worker whose Dockerfile is already hardened: its only finding
/// is the missing root canary, a warning.
fn warnings_only() -> tempfile::TempDir {
    let dir = scratch();
    let proj = dir.path().join("python-module");
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("canary").join("python-module"), &proj);
    dir
}

/// The same worker beside a compose file that harden would change: errors
/// and a warning.
fn errors_and_warnings() -> tempfile::TempDir {
    let dir = warnings_only();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "# the edge proxy\nservices:\n  proxy:\n    image: nginx:1.27\n    ports:\n      - \"8080:80\"\n",
    )
    .unwrap();
    dir
}

fn check(dir: &Path, format: &str, extra: &[&str]) -> Run {
    let mut args = vec!["check", ".", "--format", format];
    args.extend_from_slice(extra);
    harden(dir, &args)
}

/// The rules of the findings, from the JSON report.
fn rules_found(dir: &Path, extra: &[&str]) -> Vec<String> {
    let r = check(dir, "json", extra);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    let mut rules: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().cloned().unwrap_or_default())
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

#[test]
fn warnings_pass_by_default_and_fail_on_request() {
    let dir = warnings_only();
    assert_eq!(rules_found(dir.path(), &[]), ["root-canary-missing"]);
    for format in FORMATS {
        let code = |extra: &[&str]| check(dir.path(), format, extra).code;
        assert_eq!(code(&[]), 0, "{format}: a warning alone passes");
        assert_eq!(code(&["--fail-on", "error"]), 0, "{format}");
        assert_eq!(code(&["--fail-on", "warning"]), 1, "{format}");
        assert_eq!(code(&["--fail-on", "never"]), 0, "{format}");
        assert_eq!(code(&["--exit-zero"]), 0, "{format}");
    }
}

#[test]
fn errors_fail_unless_the_run_is_report_only() {
    let dir = errors_and_warnings();
    for format in FORMATS {
        let run = |extra: &[&str]| check(dir.path(), format, extra);
        let r = run(&[]);
        assert_eq!(r.code, 1, "{format}: {}{}", r.stdout, r.stderr);
        assert!(
            !r.stdout.is_empty(),
            "{format}: the report is still written"
        );
        assert_eq!(run(&["--fail-on", "warning"]).code, 1, "{format}");
        let quiet = run(&["--exit-zero"]);
        assert_eq!(quiet.code, 0, "{format}");
        assert_eq!(quiet.stdout, r.stdout, "{format}: same report, other exit");
        assert_eq!(run(&["--fail-on", "never"]).code, 0, "{format}");
    }
}

#[test]
fn select_and_ignore_choose_the_rules_of_a_run() {
    let dir = errors_and_warnings();
    let all = rules_found(dir.path(), &[]);
    assert!(all.len() > 3, "{all:?}");
    assert!(all.iter().any(|r| r == "root-canary-missing"), "{all:?}");

    let only = rules_found(dir.path(), &["--select", "root-canary-missing"]);
    assert_eq!(only, ["root-canary-missing"]);
    let two = rules_found(dir.path(), &["--select", "new-privileges,writable-rootfs"]);
    assert_eq!(two, ["new-privileges", "writable-rootfs"]);
    let repeated = rules_found(
        dir.path(),
        &["--select", "new-privileges", "--select", "writable-rootfs"],
    );
    assert_eq!(repeated, two);

    let ignored = rules_found(dir.path(), &["--ignore", "root-canary-missing,root-user"]);
    let mut want: Vec<String> = all
        .iter()
        .filter(|r| *r != "root-canary-missing" && *r != "root-user")
        .cloned()
        .collect();
    want.sort();
    assert_eq!(ignored, want);

    for format in FORMATS {
        let code = |extra: &[&str]| check(dir.path(), format, extra).code;
        // Only the warning is left: the check passes unless warnings fail it.
        assert_eq!(code(&["--select", "root-canary-missing"]), 0, "{format}");
        assert_eq!(
            code(&["--select", "root-canary-missing", "--fail-on", "warning"]),
            1,
            "{format}"
        );
        // The warning ignored, errors remain.
        assert_eq!(code(&["--ignore", "root-canary-missing"]), 1, "{format}");
    }
}

#[test]
fn an_unknown_rule_or_contradictory_options_are_an_error() {
    let dir = errors_and_warnings();
    for format in FORMATS {
        let r = check(dir.path(), format, &["--select", "root-usr"]);
        assert_eq!(r.code, 2, "{format}");
        assert!(r.stderr.contains("unknown rule `root-usr`"), "{}", r.stderr);
        assert!(r.stderr.contains("root-user"), "the rules are listed");
        assert_eq!(r.stdout, "", "{format}: nothing is reported");
        let r = check(dir.path(), format, &["--ignore", "nope"]);
        assert_eq!(r.code, 2, "{format}");
    }
    let r = check(dir.path(), "text", &["--exit-zero", "--fail-on", "warning"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--exit-zero"), "{}", r.stderr);
}

#[test]
fn report_only_runs_still_fail_on_bad_input() {
    let dir = errors_and_warnings();
    std::fs::write(dir.path().join("compose.yaml"), "services:\n  web: [\n").unwrap();
    for format in FORMATS {
        let r = check(dir.path(), format, &["--exit-zero"]);
        assert_eq!(r.code, 2, "{format}: {}", r.stderr);
        assert!(r.stderr.contains("compose.yaml:"), "{}", r.stderr);
    }
}

#[test]
fn fix_applies_only_the_selected_rules() {
    let dir = errors_and_warnings();
    let r = harden(
        dir.path(),
        &[
            "fix",
            "--dry-run",
            "compose.yaml",
            "--select",
            "new-privileges",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let added: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(
        added,
        ["+    security_opt:", "+      - no-new-privileges:true"],
        "{}",
        r.stdout
    );
    git_apply(dir.path(), &r.stdout);
    let after = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert_schema_valid(&after, "compose.yaml");
    // The rest is still to do, and a second selected fix changes nothing.
    let again = harden(
        dir.path(),
        &[
            "fix",
            "--dry-run",
            "compose.yaml",
            "--select",
            "new-privileges",
        ],
    );
    assert_eq!(again.code, 0, "{}", again.stdout);
    let rest = rules_found(dir.path(), &[]);
    assert!(!rest.iter().any(|r| r == "new-privileges"), "{rest:?}");
    assert!(rest.iter().any(|r| r == "writable-rootfs"), "{rest:?}");
}
