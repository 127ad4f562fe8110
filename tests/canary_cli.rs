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

// ---------------------------------------------------------------------------
// `harden fix --canary` on projects: tests/fixtures/canary-projects/ holds a
// compose file and a Dockerfile per service, each running an entry module
// harden traces and edits.

fn canary_project(name: &str) -> std::path::PathBuf {
    fixtures().join("canary-projects").join(name)
}

/// The project through the contract with `--canary` (the diff applies with
/// `git apply` and equals what fix writes, every file is pure insertion and
/// valid, a second fix changes nothing); then `harden check` on the fixed
/// tree exits 0 without a canary finding. Returns the fixed files, and
/// snapshots the diff and the notes.
fn fix_with_canary(name: &str) -> std::collections::BTreeMap<String, (String, String)> {
    let (snap, files) = project_with(&canary_project(name), &["--canary", name]);
    snapshot(&format!("canary_fix_{}", name.replace('-', "_")), &snap);
    let dir = scratch();
    for (path, (_, new)) in &files {
        let p = dir.path().join(name).join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, new).unwrap();
    }
    let check = harden(dir.path(), &["check", name]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert!(canary_lines(&check.stdout).is_empty(), "{}", check.stdout);
    files
}

/// The fixed entry module of a project, checked to be the only source
/// file changed and to carry the canary once.
fn fixed_entry(name: &str, entry: &str) -> String {
    let files = fix_with_canary(name);
    let (old, new) = &files[entry];
    assert_ne!(old, new, "{entry} was not changed");
    assert_eq!(new.matches("harden: root canary").count(), 1, "{new}");
    for (path, (old, new)) in &files {
        let harden_file = path.ends_with("Dockerfile") || path.ends_with(".yaml");
        assert!(path == entry || harden_file || old == new, "{path} changed");
    }
    new.clone()
}

/// Whether this process runs as root, which running a program as another
/// user needs.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A folder every user can read, holding `files`.
fn readable_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// `program` on PATH as any user can run it: every folder on the way to
/// the file it resolves to is open to others (a version manager's shim
/// under /root is not).
fn for_every_user(program: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if program.contains('/') {
        return Some(program.to_string());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|d| {
        let real = std::fs::canonicalize(d.join(program)).ok()?;
        let open = real
            .ancestors()
            .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
        open.then(|| real.to_string_lossy().into_owned())
    })
}

/// Run `argv` in `dir` as root and as uid/gid 65534 (setpriv): the warning
/// shows only as root, and the program goes on to print `expect` both ways.
/// Skips (with a message) where this process is not root, or where the
/// program cannot be run by another user.
fn runs_with_canary_only_as_root(what: &str, dir: &Path, argv: &[&str], expect: &str) {
    if !is_root() {
        eprintln!("{what}: skipped running it as root and as another user: this test is not root");
        return;
    }
    let Some(program) = for_every_user(argv[0]) else {
        eprintln!(
            "{what}: skipped: no `{}` that another user can run",
            argv[0]
        );
        return;
    };
    let argv: Vec<&str> = std::iter::once(program.as_str())
        .chain(argv[1..].iter().copied())
        .collect();
    let run = |prefix: &[&str]| {
        let all: Vec<&str> = prefix.iter().chain(&argv).copied().collect();
        let out = Command::new(all[0])
            .args(&all[1..])
            .current_dir(dir)
            .env("HOME", "/tmp")
            .output()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(out.status.success(), "{what}: {stdout}{stderr}");
        assert!(stdout.contains(expect), "{what}: {stdout}{stderr}");
        stderr
    };
    let as_root = run(&[]);
    assert!(
        as_root
            .contains("is running as root (uid 0); this container should run as a non-root user"),
        "{what} as root: {as_root}"
    );
    let as_nobody = run(&[
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ]);
    assert!(
        !as_nobody.contains("WARNING"),
        "{what} as 65534: {as_nobody}"
    );
}

#[test]
fn python_project_gets_a_canary_that_runs() {
    let app = fixed_entry("inventory-flask", "app.py");
    let dir = readable_dir(&[("app.py", &app)]);
    runs_with_canary_only_as_root(
        "python3 app.py",
        dir.path(),
        &["python3", "app.py", "--check-config"],
        "config ok: port 8000",
    );
}

#[test]
fn node_project_gets_a_canary_that_runs() {
    let server = fixed_entry("orders-node", "server.js");
    let dir = readable_dir(&[("server.js", &server)]);
    runs_with_canary_only_as_root(
        "node server.js",
        dir.path(),
        &["node", "server.js", "--check"],
        "config ok: port 3000",
    );
}

#[test]
fn shell_project_gets_a_canary_that_runs() {
    let script = fixed_entry("mailer-shell", "docker/entrypoint.sh");
    let dir = readable_dir(&[("entrypoint.sh", &script)]);
    runs_with_canary_only_as_root(
        "sh entrypoint.sh",
        dir.path(),
        &["sh", "entrypoint.sh", "echo", "mail sent"],
        "mail sent",
    );
}

/// Whether `program` can be started here.
fn have(program: &str) -> bool {
    Command::new(program).arg("-version").output().is_ok()
        || Command::new(program).arg("version").output().is_ok()
}

#[test]
fn go_project_gets_a_canary_in_its_main_file() {
    let main = fixed_entry("shipping-go", "cmd/shipping/main.go");
    assert!(main.contains("\t\"net/http\"\n\t\"os\"\n\n"), "{main}");
    if !have("go") {
        eprintln!("go_project_gets_a_canary_in_its_main_file: skipped building and running it: `go` is not installed");
        return;
    }
    let dir = readable_dir(&[]);
    copy_tree(&canary_project("shipping-go"), dir.path());
    std::fs::write(dir.path().join("cmd/shipping/main.go"), &main).unwrap();
    let out = Command::new("go")
        .args(["build", "-o", "shipping", "./cmd/shipping"])
        .current_dir(dir.path())
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", dir.path().join(".gocache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gofmt = Command::new("gofmt")
        .arg("-l")
        .arg(dir.path().join("cmd/shipping/main.go"))
        .output();
    if let Ok(out) = gofmt {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "",
            "gofmt would change it"
        );
    }
    runs_with_canary_only_as_root(
        "shipping -check",
        dir.path(),
        &["./shipping", "-check"],
        "config ok",
    );
}

#[test]
fn java_project_gets_a_canary_first_in_main() {
    let ledger = fixed_entry("ledger-java", "Ledger.java");
    if !have("javac") {
        eprintln!(
            "java_project_gets_a_canary_first_in_main: skipped running it: no JDK (`javac`) here"
        );
        return;
    }
    let dir = readable_dir(&[("Ledger.java", &ledger)]);
    runs_with_canary_only_as_root(
        "java Ledger.java",
        dir.path(),
        &["java", "Ledger.java", "--check"],
        "config ok: port 8081",
    );
}

/// Without `--canary` nothing but the Dockerfile and the compose file
/// changes, and the notes still carry the snippet.
#[test]
fn without_canary_the_entry_module_is_left_alone() {
    let dir = scratch();
    let proj = dir.path().join("inventory-flask");
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&canary_project("inventory-flask"), &proj);
    let r = harden(dir.path(), &["fix", "--dry-run", "inventory-flask"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        !r.stdout.contains("b/inventory-flask/app.py"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("add this at the start of `app.py`"),
        "{}",
        r.stderr
    );
    let before = std::fs::read_to_string(proj.join("app.py")).unwrap();
    let r = harden(dir.path(), &["fix", "inventory-flask"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(proj.join("app.py")).unwrap(),
        before
    );
}

/// `canary = true` in harden.toml does what `--canary` does, and every
/// report shows the entry module as a changed file of kind `source`.
#[test]
fn canary_in_harden_toml_and_the_reports() {
    let dir = scratch();
    let proj = dir.path().join("orders-node");
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&canary_project("orders-node"), &proj);
    std::fs::write(proj.join("harden.toml"), "canary = true\n").unwrap();

    let r = harden(&proj, &["check", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let files = doc["files"].as_array().unwrap();
    let entry = files
        .iter()
        .find(|f| f["path"] == "server.js")
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert_eq!(entry["kind"], "source");
    assert!(!entry["fix"].is_null(), "{entry}");
    assert_eq!(entry["notes"][0]["rule"], "root-canary-missing");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json-schema/check-v1.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");

    let r = harden(&proj, &["check", "--format", "sarif"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let sarif_schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&sarif_schema)
        .unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let note = results
        .iter()
        .find(|x| x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "server.js")
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert_eq!(note["level"], "note");
    assert_eq!(note["ruleId"], "root-canary-missing");
    assert!(
        note["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("harden: root canary"))
    );

    let r = harden(&proj, &["fix", "--dry-run", "--format", "markdown"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("## `server.js`"), "{}", r.stdout);
    assert!(r.stdout.contains("+++ b/server.js"), "{}", r.stdout);

    let r = harden(&proj, &["fix"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("3 files changed."), "{}", r.stderr);
    let server = std::fs::read_to_string(proj.join("server.js")).unwrap();
    assert!(server.contains("harden: root canary"), "{server}");
    let r = harden(&proj, &["fix", "--dry-run"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{}", r.stderr);
}

/// An entry module reached through a symbolic link is not edited; the
/// notes say why and which file to edit.
#[test]
fn an_entry_module_behind_a_link_is_not_edited() {
    let dir = scratch();
    let proj = dir.path().join("inventory-flask");
    std::fs::create_dir_all(proj.join("src")).unwrap();
    copy_tree(&canary_project("inventory-flask"), &proj);
    std::fs::rename(proj.join("app.py"), proj.join("src/app.py")).unwrap();
    std::os::unix::fs::symlink("src/app.py", proj.join("app.py")).unwrap();
    let before = std::fs::read_to_string(proj.join("src/app.py")).unwrap();
    let r = harden(
        dir.path(),
        &["fix", "--canary", "--verbose", "inventory-flask"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(proj.join("src/app.py")).unwrap(),
        before
    );
    assert!(
        r.stderr
            .contains("`--canary` cannot add one (the file is reached through a symbolic link), add this at the start of `app.py`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("add this at the start of `app.py`"),
        "{}",
        r.stderr
    );
}

/// An entry module outside the paths harden was given is read, never
/// written: the compose file in `deploy/` builds `..`.
#[test]
fn an_entry_module_outside_the_roots_is_not_written() {
    let dir = scratch();
    let proj = dir.path().join("inventory-flask");
    std::fs::create_dir_all(proj.join("deploy")).unwrap();
    copy_tree(&canary_project("inventory-flask"), &proj);
    std::fs::remove_file(proj.join("compose.yaml")).unwrap();
    std::fs::write(
        proj.join("deploy/compose.yaml"),
        "services:\n  inventory:\n    build: ..\n",
    )
    .unwrap();
    let before = std::fs::read_to_string(proj.join("app.py")).unwrap();
    let r = harden(dir.path(), &["fix", "--canary", "inventory-flask/deploy"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(proj.join("app.py")).unwrap(),
        before
    );
    let notes = r.stderr.replace('\n', " ");
    assert!(
        notes.contains("inventory-flask/app.py")
            && notes.contains("not changed: the file lies outside the paths harden was given"),
        "{}",
        r.stderr
    );
}

#[test]
fn ruby_project_gets_a_canary_after_its_magic_comment() {
    let app = fixed_entry("billing-ruby", "app.rb");
    assert!(
        app.starts_with("#!/usr/bin/env ruby\n# frozen_string_literal: true\n"),
        "{app}"
    );
    if !have("ruby") {
        eprintln!("ruby_project_gets_a_canary_after_its_magic_comment: skipped running it: `ruby` is not installed");
        return;
    }
    let dir = readable_dir(&[("app.rb", &app)]);
    runs_with_canary_only_as_root(
        "ruby app.rb",
        dir.path(),
        &["ruby", "app.rb", "--check"],
        "config ok: port 4567",
    );
}

/// A Python module in Latin-1 (declared by its encoding line) is not UTF-8
/// text: harden does not edit it, and says why and which file to edit.
#[test]
fn an_entry_module_that_is_not_utf8_is_not_edited() {
    let dir = scratch();
    let proj = dir.path().join("inventory-flask");
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&canary_project("inventory-flask"), &proj);
    let latin1: &[u8] =
        b"# -*- coding: latin-1 -*-\n\"\"\"Inventaire \xe9t\xe9.\"\"\"\nprint('ok')\n";
    std::fs::write(proj.join("app.py"), latin1).unwrap();
    let r = harden(dir.path(), &["fix", "--canary", "inventory-flask"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read(proj.join("app.py")).unwrap(), latin1);
    assert!(
        r.stderr
            .contains("`app.py` has no root canary, and `--canary` cannot add one (the file is not valid UTF-8 text)"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("UTF-8"), "{}", r.stderr);
}

/// A canary the author wrote in their own words counts: `--canary` adds
/// none next to it.
#[test]
fn an_authors_own_canary_is_kept_as_it_is() {
    for case in ["fastapi-checked", "node-checked"] {
        let dir = scratch();
        copy_tree(&fixtures().join("canary").join(case), dir.path());
        let r = harden(dir.path(), &["fix", "--canary", "--dry-run", "Dockerfile"]);
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        let touched: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("+++ ")).collect();
        assert!(
            touched.iter().all(|l| *l == "+++ b/Dockerfile"),
            "{case}: {}",
            r.stdout
        );
        assert!(
            !r.stderr.contains("root canary added"),
            "{case}: {}",
            r.stderr
        );
    }
}
