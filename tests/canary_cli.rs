//! `root-canary-missing` through the binary: each fixture under
//! tests/fixtures/canary/ is a build context whose CMD/ENTRYPOINT leads to
//! an entry source with or without a uid-0 check.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// `harden check <case>/Dockerfile` in a copy of the fixture (the folder
/// keeps its name: a created user is named after it).
fn check(case: &str) -> Run {
    let dir = scratch();
    let proj = dir.path().join(case);
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("canary").join(case), &proj);
    harden(dir.path(), &["check", &format!("{case}/Dockerfile")])
}

fn canary_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.contains("[root-canary-missing]"))
        .collect()
}

/// Check a fixture: the canary finding (if any) is exactly `want`, and the
/// whole output is snapshotted.
fn case(name: &str, want: Option<&str>) {
    let r = check(name);
    let lines = canary_lines(&r.stdout);
    match want {
        Some(line) => {
            assert_eq!(lines, vec![line], "{}", r.stdout);
            // The canary is advice (a warning): check fails only on errors.
            let errors = r.stdout.lines().any(|l| l.contains(": error["));
            assert_eq!(r.code, i32::from(errors), "{}", r.stdout);
        }
        None => assert!(lines.is_empty(), "{}", r.stdout),
    }
    assert_eq!(r.stderr, "");
    snapshot(
        &format!("canary_{}", name.replace('-', "_")),
        &format!("exit {}\n{}", r.code, r.stdout),
    );
}

#[test]
fn fastapi_via_uvicorn_without_check() {
    case(
        "fastapi-uvicorn",
        Some("fastapi-uvicorn/Dockerfile:9:1: warning[root-canary-missing] `app/main.py`, started by this CMD, does not warn when it runs as uid 0; see `harden explain root-canary-missing --lang python`"),
    );
}

#[test]
fn fastapi_with_check() {
    case("fastapi-checked", None);
}

#[test]
fn node_server_with_check() {
    let r = check("node-checked");
    assert_eq!(r.code, 0, "{}", r.stdout);
    case("node-checked", None);
}

#[test]
fn npm_start_without_check() {
    case(
        "npm-start",
        Some("npm-start/Dockerfile:7:1: warning[root-canary-missing] `src/index.mjs`, started by this CMD, does not warn when it runs as uid 0; see `harden explain root-canary-missing --lang node`"),
    );
}

#[test]
fn shell_entrypoint_without_check() {
    case(
        "shell-entrypoint",
        Some("shell-entrypoint/Dockerfile:7:1: warning[root-canary-missing] `docker-entrypoint.sh`, started by this ENTRYPOINT, does not warn when it runs as uid 0; see `harden explain root-canary-missing --lang sh`"),
    );
}

#[test]
fn go_multi_stage_without_check() {
    // internal/api compares os.Getuid() with 0, but it is not the main package.
    case(
        "go-multistage",
        Some("go-multistage/Dockerfile:12:1: warning[root-canary-missing] `cmd/server/main.go`, started by this CMD, does not warn when it runs as uid 0; see `harden explain root-canary-missing --lang go`"),
    );
}

#[test]
fn python_module_without_check() {
    case(
        "python-module",
        Some("python-module/Dockerfile:6:1: warning[root-canary-missing] `worker/__main__.py`, started by this CMD, does not warn when it runs as uid 0; see `harden explain root-canary-missing --lang python`"),
    );
}

#[test]
fn java_is_reported_without_reading_source() {
    case(
        "java-jar",
        Some("java-jar/Dockerfile:5:1: warning[root-canary-missing] `java -XX:MaxRAMPercentage=75 -jar app.jar` starts a Java program whose source harden does not read: make sure it warns when it runs as uid 0; see `harden explain root-canary-missing --lang java`"),
    );
}

#[test]
fn exception_with_reason() {
    let r = check("exempt");
    assert_eq!(r.code, 0, "{}", r.stdout);
    case("exempt", None);
}

#[test]
fn adding_the_snippet_clears_the_finding() {
    let dir = scratch();
    copy_tree(&fixtures().join("canary/fastapi-uvicorn"), dir.path());
    let snippet = harden(
        dir.path(),
        &["explain", "root-canary-missing", "--lang", "python"],
    );
    assert_eq!(snippet.code, 0);
    let main = dir.path().join("app/main.py");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("{}\n{text}", snippet.stdout)).unwrap();
    let r = harden(dir.path(), &["check", "Dockerfile"]);
    assert!(canary_lines(&r.stdout).is_empty(), "{}", r.stdout);
}

#[test]
fn fix_notes_show_the_snippet() {
    let dir = scratch();
    copy_tree(&fixtures().join("canary/go-multistage"), dir.path());
    let r = harden(dir.path(), &["fix", "--dry-run", "--verbose", "Dockerfile"]);
    assert_eq!(r.code, 0, "nothing to fix: {}", r.stdout);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("func init() {"), "{}", r.stderr);
    snapshot("canary_go_fix_notes", &r.stderr);
    // By default the one program that needs it is told where to get it.
    let short = harden(dir.path(), &["fix", "--dry-run", "Dockerfile"]);
    assert!(!short.stderr.contains("func init() {"), "{}", short.stderr);
    assert!(
        short
            .stderr
            .contains("(the snippet `harden explain root-canary-missing --lang go` prints)"),
        "{}",
        short.stderr
    );
}

#[test]
fn explain_lists_languages_and_prints_snippets() {
    let dir = scratch();
    let plain = harden(dir.path(), &["explain", "root-canary-missing"]);
    assert_eq!(plain.code, 0);
    assert!(plain.stdout.contains("python, node, go, java, sh"));
    for (lang, file) in [
        ("python", "python.py"),
        ("node", "node.js"),
        ("go", "go.go"),
        ("java", "java.java"),
        ("sh", "sh.sh"),
    ] {
        let r = harden(
            dir.path(),
            &["explain", "root-canary-missing", "--lang", lang],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let want = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("templates/canary")
                .join(file),
        )
        .unwrap();
        assert_eq!(r.stdout, want);
    }
    let bad = harden(
        dir.path(),
        &["explain", "root-canary-missing", "--lang", "cobol"],
    );
    assert_eq!(bad.code, 2);
    let other = harden(dir.path(), &["explain", "root-user", "--lang", "python"]);
    assert_eq!(other.code, 2);
    assert!(other
        .stderr
        .contains("--lang applies to `root-canary-missing` only"));
}

/// Run `program args... file` when the program exists; `None` when it does not.
fn syntax_check(program: &str, args: &[&str], file: &Path) -> Option<std::process::Output> {
    Command::new(program).args(args).arg(file).output().ok()
}

fn template(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("templates/canary")
        .join(name)
}

#[test]
fn snippets_are_syntactically_valid() {
    let mut checked = Vec::new();
    let py = template("python.py");
    let code = "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])";
    if let Some(out) = syntax_check("python3", &["-c", code], &py) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked.push("python");
    }
    if let Some(out) = syntax_check("node", &["--check"], &template("node.js")) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked.push("node");
    }
    if let Some(out) = syntax_check("sh", &["-n"], &template("sh.sh")) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked.push("sh");
    }
    if let Some(out) = syntax_check("gofmt", &["-e", "-l"], &template("go.go")) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked.push("go");
    }
    // javac wants the file named after its class.
    let dir = scratch();
    let java = dir.path().join("RootCanary.java");
    std::fs::copy(template("java.java"), &java).unwrap();
    let out_dir = dir.path().to_string_lossy().into_owned();
    if let Some(out) = syntax_check("javac", &["-d", &out_dir], &java) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked.push("java");
    }
    eprintln!("snippets checked with local tools: {checked:?}");
}
