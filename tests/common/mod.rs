//! Shared helpers for the end-to-end tests: run the binary in a scratch
//! copy of a fixture, apply its diff with `git apply`, and check the
//! contract every fixed file must meet.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_harden");

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run harden in `dir` with `args`, colour off.
pub fn harden(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // What an image without a profile says depends on the machine (its
        // engine's store, the network): the tests that read images say where
        // from themselves; every other run asks nothing, the same everywhere.
        .env("HARDEN_OFFLINE", "1")
        .env("HARDEN_IMAGE_SOURCE", "registry")
        .output()
        .expect("run harden");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Compare `text` with the snapshot `name`: every snapshot lives in the
/// top-level `snapshots/` folder under its own name, whichever test file
/// takes it.
pub fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// A scratch directory holding copies of `files` (relative to the fixtures folder),
/// flattened to their file names, or placed under their relative path when `keep_tree`.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("harden-test-")
        .tempdir()
        .expect("tempdir")
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// `git apply` the patch in `dir`; panics with git's message when it fails.
pub fn git_apply(dir: &Path, patch: &str) {
    let p = dir.join(".harden-test.patch");
    std::fs::write(&p, patch).expect("write patch");
    let out = Command::new("git")
        .args(["apply", "--unsafe-paths", "-p1", "--whitespace=nowarn"])
        .arg(&p)
        .current_dir(dir)
        .output()
        .expect("run git apply");
    std::fs::remove_file(&p).ok();
    assert!(
        out.status.success(),
        "git apply failed: {}\n{patch}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fuzz targets' checks; their definition of a pure insertion is the
/// one every test uses.
#[path = "../../fuzz/check.rs"]
pub mod fuzz_check;
pub use fuzz_check::is_pure_insertion;

/// What every fixed file must be: only lines inserted where that is
/// promised, one line-ending style, and still valid (Compose schema for
/// YAML, the lexer for a Dockerfile).
pub fn assert_fixed_file(path: &str, old: &str, new: &str, pure_insertion: bool) {
    if pure_insertion {
        assert!(
            is_pure_insertion(old, new),
            "{path}: not pure insertion:\n{new}"
        );
    }
    if old.contains("\r\n") {
        assert_eq!(
            new.matches('\n').count(),
            new.matches("\r\n").count(),
            "{path}: line endings mixed"
        );
    }
    if path.ends_with(".yml") || path.ends_with(".yaml") {
        assert_schema_valid(new, path);
    } else if path.ends_with("Dockerfile") {
        harden::dockerfile::parse(new).expect("the fixed Dockerfile lexes");
    }
}

pub fn compose_schema() -> &'static jsonschema::Validator {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/compose-spec.json"),
        )
        .expect("schema");
        let mut schema: serde_json::Value = serde_json::from_str(&text).expect("schema json");
        // The file names its draft by a URI without the trailing `#`, which
        // the validator does not recognise; the draft is set explicitly.
        if let Some(o) = schema.as_object_mut() {
            o.remove("$schema");
        }
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&schema)
            .expect("valid schema")
    })
}

/// Parse a compose text with harden's own tree, merges applied, as JSON.
pub fn compose_json(text: &str) -> serde_json::Value {
    to_json(text, true)
}

/// The data as written: `<<` merge keys are kept as plain keys.
pub fn compose_data(text: &str) -> serde_json::Value {
    to_json(text, false)
}

fn to_json(text: &str, merge: bool) -> serde_json::Value {
    let src = std::sync::Arc::new(harden::source::Source::new(
        "t.yml".into(),
        "t.yml".into(),
        text.to_string(),
    ));
    let limits = harden::compose::tree::Limits::default();
    let doc = harden::compose::tree::parse(&src, &limits)
        .expect("parses")
        .expect("not empty");
    doc.to_json(merge, &limits).expect("to json")
}

pub fn assert_schema_valid(text: &str, what: &str) {
    let json = compose_json(text);
    let errors: Vec<String> = compose_schema()
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate: {errors:#?}\n{text}"
    );
}

/// A project directory (compose file plus the Dockerfiles it builds)
/// through the whole contract; returns the snapshot text and the fixed files.
pub fn project(src: &Path) -> (String, std::collections::BTreeMap<String, (String, String)>) {
    project_with(src, &[])
}

/// [`project`], naming what to harden with `targets` (paths relative to the
/// project's parent, e.g. `["-f", "proj/compose.yaml"]`) instead of the
/// project's folder.
pub fn project_with(
    src: &Path,
    targets: &[&str],
) -> (String, std::collections::BTreeMap<String, (String, String)>) {
    let name = src.file_name().unwrap().to_str().unwrap().to_string();
    let targets: Vec<&str> = if targets.is_empty() {
        vec![name.as_str()]
    } else {
        targets.to_vec()
    };
    let dir = scratch();
    let proj = dir.path().join(&name);
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(src, &proj);
    // harden with `args`, then what to harden.
    let run = |args: &[&str]| -> Run {
        let all: Vec<&str> = args.iter().chain(&targets).copied().collect();
        harden(dir.path(), &all)
    };
    let files = |root: &Path| -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(t) = std::fs::read_to_string(&p) {
                    out.insert(p.strip_prefix(root).unwrap().display().to_string(), t);
                }
            }
        }
        out
    };
    let before = files(&proj);
    let dry = run(&["fix", "--dry-run"]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    let applied = scratch();
    let aproj = applied.path().join(&name);
    std::fs::create_dir_all(&aproj).unwrap();
    copy_tree(&proj, &aproj);
    git_apply(applied.path(), &dry.stdout);
    let fix = run(&["fix"]);
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    let after = files(&proj);
    assert_eq!(
        files(&aproj),
        after,
        "git apply of the diff differs from what fix wrote"
    );
    let mut pairs = std::collections::BTreeMap::new();
    for (path, old) in &before {
        let new = &after[path];
        assert_fixed_file(path, old, new, true);
        pairs.insert(path.clone(), (old.clone(), new.clone()));
    }
    let again = run(&["fix", "--dry-run"]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "{}",
        again.stdout
    );
    (
        format!("{}\n---- notes ----\n{}", dry.stdout, dry.stderr),
        pairs,
    )
}

/// The image every end-to-end test builds on (made by .ci/e2e-setup.sh).
pub const BASE_IMAGE: &str = "localhost/debian:bookworm-slim";

/// The container engine for a test that needs `images`, or `None` (after
/// saying why on the process's stderr, which a plain `cargo test` shows)
/// when the test must skip; with `HARDEN_E2E=require` a skip is a failure.
/// `setup` is the command that makes the images.
pub fn engine_or_skip(
    test: &str,
    images: &[String],
    setup: &str,
) -> Option<harden::verify::engine::Backend> {
    use std::io::Write;
    let require = std::env::var("HARDEN_E2E").is_ok_and(|v| v == "require");
    let why = match harden::verify::engine::detect(None) {
        Ok(b) => {
            let missing: Vec<&str> = images
                .iter()
                .map(String::as_str)
                .filter(|i| {
                    !Command::new(b.cli)
                        .args(["image", "inspect", i])
                        .output()
                        .is_ok_and(|o| o.status.success())
                })
                .collect();
            if missing.is_empty() {
                return Some(b);
            }
            format!("images missing: {} (run: {setup})", missing.join(", "))
        }
        Err(_) => "no container engine".to_string(),
    };
    assert!(!require, "{test}: {why}, and HARDEN_E2E=require is set");
    let _ = writeln!(
        std::io::stderr(),
        "{test}: skipped: {why} (set HARDEN_E2E=require to fail instead)"
    );
    None
}

/// [`engine_or_skip`] for a test that needs only the base image.
pub fn engine_with_base_or_skip(test: &str) -> Option<harden::verify::engine::Backend> {
    engine_or_skip(test, &[BASE_IMAGE.to_string()], "bash .ci/e2e-setup.sh")
}

/// The files of a flat project folder by name (an example or a zoo project).
pub fn read_flat(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).expect("read");
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect();
    files.sort();
    files
}

/// `harden fix` on a flat project folder, by the contract: the dry run
/// announces changes (handed to `check`, e.g. a snapshot), the written
/// files are exactly its diff applied to the originals, and fixing again
/// changes nothing. Returns the dry run.
pub fn fix_flat_project(name: &str, dir: &Path, check: impl FnOnce(&Run)) -> Run {
    let before = read_flat(dir);
    let dry = harden(dir, &["fix", "--dry-run", "--color", "never", "."]);
    assert_eq!(
        dry.code, 1,
        "changes pending:\n{}{}",
        dry.stdout, dry.stderr
    );
    eprintln!("--- harden fix {name}\n{}{}", dry.stdout, dry.stderr);
    check(&dry);
    let done = harden(dir, &["fix", "--color", "never", "."]);
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    let applied = scratch();
    for (file, text) in &before {
        std::fs::write(applied.path().join(file), text).expect("write");
    }
    git_apply(applied.path(), &dry.stdout);
    assert_eq!(
        read_flat(applied.path()),
        read_flat(dir),
        "fix wrote what it showed"
    );
    let again = harden(dir, &["fix", "--dry-run", "--color", "never", "."]);
    assert_eq!(
        again.code, 0,
        "a second fix changes nothing:\n{}",
        again.stdout
    );
    dry
}
