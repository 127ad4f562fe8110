//! Replays the fuzz seed corpus (fuzz/corpus/<target>/, realistic files plus
//! the inputs the fuzzer found interesting or crashing) through the same
//! invariant checks the fuzz targets run, so a plain `cargo test` on a
//! stable toolchain guards every finding the fuzzer ever made.

mod common;

use common::fuzz_check as check;

use check::Target;
use std::path::Path;

fn replay(target: Target) {
    let failed = run_dir(target, "corpus", 5);
    assert!(failed.is_empty(), "failing corpus files: {failed:#?}");
}

/// Run every file of fuzz/<folder>/<target>/; the files that fail.
fn run_dir(target: Target, folder: &str, at_least: usize) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(folder)
        .join(target.name());
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(d) => d.map(|e| e.expect("corpus entry").path()).collect(),
        Err(_) if at_least == 0 => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    files.sort();
    assert!(
        files.len() >= at_least,
        "the {} corpus has only {} files",
        target.name(),
        files.len()
    );
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).expect("read corpus file");
        if std::panic::catch_unwind(|| check::check(target, &data)).is_err() {
            failed.push(f.display().to_string());
        }
    }
    failed
}

#[test]
fn dockerfile_lexer_corpus() {
    replay(Target::DockerfileLexer);
}

#[test]
fn compose_tree_corpus() {
    replay(Target::ComposeTree);
}

#[test]
fn fix_compose_corpus() {
    replay(Target::FixCompose);
}

#[test]
fn fix_dockerfile_corpus() {
    replay(Target::FixDockerfile);
}

/// The checks themselves can fail: a fix that drops a value or reorders a
/// list is caught, the documented rewrites are not.
#[test]
fn containment_check_catches_lost_data() {
    use serde_json::json;
    let old = json!({"services": {"web": {"image": "nginx", "ports": ["80", "443"],
        "read_only": false, "security_opt": ["no-new-privileges:false"], "tmpfs": "/run"}}});
    let good = json!({"services": {"web": {"image": "nginx", "ports": ["80", "443"],
        "read_only": true, "security_opt": ["no-new-privileges:true"],
        "tmpfs": ["/run", "/tmp:size=512m"], "cap_drop": ["ALL"]}}});
    assert_eq!(check::contained(&old, &good, &mut Vec::new()), Ok(()));
    let reordered = json!({"services": {"web": {"image": "nginx", "ports": ["443", "80"],
        "read_only": true, "security_opt": ["no-new-privileges:true"], "tmpfs": ["/run"]}}});
    assert!(check::contained(&old, &reordered, &mut Vec::new()).is_err());
    let changed = json!({"services": {"web": {"image": "httpd", "ports": ["80", "443"],
        "read_only": true, "security_opt": ["no-new-privileges:true"], "tmpfs": ["/run"]}}});
    assert!(check::contained(&old, &changed, &mut Vec::new()).is_err());
    assert!(check::is_pure_insertion("a\nb", "a\nx\nb\ny\n"));
    assert!(!check::is_pure_insertion("a\nb\n", "b\na\n"));
}
