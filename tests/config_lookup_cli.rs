//! Which harden.toml a run uses, through the binary: the one of the paths
//! it is given, looked up to the repository's root and no further, never
//! one that only sits above the working directory; `--isolated` uses none;
//! every report names the one in use.

mod common;

use common::{harden, scratch};
use std::path::Path;

/// Exempts the service from every rule: planted, it would hide a
/// privileged container.
const PLANTED: &str =
    "[[exception]]\nservice = \"web\"\nallow = [\"all\"]\nreason = \"nothing to see\"\n";

const COMPOSE: &str = "services:\n  web:\n    image: nginx:1.27\n    privileged: true\n";

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The document is valid under the schema in the repository at `schema`.
fn assert_schema(doc: &serde_json::Value, schema: &str, draft: jsonschema::Draft) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(schema)).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    let v = jsonschema::options()
        .with_draft(draft)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = v.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// A harden.toml in a shared parent folder, outside any repository, is not
/// applied: from the project folder or from its parent.
#[test]
fn a_config_above_a_project_without_a_repository_is_ignored() {
    let dir = scratch();
    let d = dir.path();
    write(d, "harden.toml", PLANTED);
    write(d, "proj/compose.yaml", COMPOSE);
    for (cwd, args) in [
        (d.join("proj"), vec!["check"]),
        (d.to_path_buf(), vec!["check", "proj"]),
        (d.join("proj"), vec!["check", "-f", "compose.yaml"]),
    ] {
        let r = harden(&cwd, &args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stdout);
        assert!(r.stdout.contains("[privileged]"), "{args:?}: {}", r.stdout);
        assert!(!r.stdout.contains("Configuration:"), "{}", r.stdout);
    }
}

/// Inside a repository, the nearest harden.toml up to its root applies
/// (looked up from the path given, not the working directory), and none
/// above the root.
#[test]
fn the_config_is_found_from_the_path_up_to_the_repository_root() {
    let dir = scratch();
    let d = dir.path();
    write(d, "harden.toml", PLANTED);
    write(d, "repo/.git/HEAD", "ref: refs/heads/main\n");
    write(d, "repo/services/proj/compose.yaml", COMPOSE);
    let r = harden(d, &["check", "repo/services/proj"]);
    assert_eq!(r.code, 1, "{}", r.stdout);

    write(d, "repo/harden.toml", "skip = [\"privileged\"]\n");
    write(d, "elsewhere/harden.toml", PLANTED);
    let r = harden(&d.join("elsewhere"), &["check", "../repo/services/proj"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(!r.stdout.contains("[privileged]"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Configuration: ../repo/harden.toml.\n"),
        "{}",
        r.stdout
    );

    // --isolated: no config at all.
    let r = harden(d, &["check", "--isolated", "repo/services/proj"]);
    assert!(r.stdout.contains("[privileged]"), "{}", r.stdout);
    assert!(!r.stdout.contains("Configuration:"), "{}", r.stdout);
    let r = harden(d, &["check", "--isolated", "--config", "repo/harden.toml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    // Two paths with different configurations: refused, not guessed.
    write(d, "repo/other/compose.yaml", COMPOSE);
    write(d, "repo/other/harden.toml", "uid = 2000\n");
    let r = harden(&d.join("repo"), &["check", "services/proj", "other"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("the paths use different configurations"),
        "{}",
        r.stderr
    );
}

/// Every report names the harden.toml in use.
#[test]
fn every_report_names_the_config() {
    let dir = scratch();
    let d = dir.path();
    write(d, ".git/HEAD", "ref: refs/heads/main\n");
    write(d, "harden.toml", "uid = 2000\n");
    write(d, "app/compose.yaml", COMPOSE);
    let app = d.join("app");
    let r = harden(&app, &["check"]);
    assert!(
        r.stdout.contains("Configuration: ../harden.toml.\n"),
        "{}",
        r.stdout
    );
    let r = harden(&app, &["check", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["config"], "../harden.toml");
    assert_schema(
        &doc,
        "docs/json-schema/check-v1.json",
        jsonschema::Draft::Draft202012,
    );
    let r = harden(&app, &["check", "--format", "sarif"]);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["runs"][0]["properties"]["config"], "../harden.toml");
    assert_schema(
        &doc,
        "tests/data/sarif-schema-2.1.0.json",
        jsonschema::Draft::Draft4,
    );
    let r = harden(&app, &["check", "--format", "markdown"]);
    assert!(
        r.stdout.contains("Configuration: `../harden.toml`"),
        "{}",
        r.stdout
    );
    let r = harden(&app, &["fix", "--dry-run", "--format", "markdown"]);
    assert!(
        r.stdout.contains("Configuration: `../harden.toml`"),
        "{}",
        r.stdout
    );
    let r = harden(&app, &["fix", "--dry-run"]);
    assert!(
        r.stderr
            .contains("would be changed. Configuration: ../harden.toml."),
        "{}",
        r.stderr
    );
}
