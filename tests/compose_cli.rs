//! Compose fixtures through the binary: diff, notes, `git apply`, write,
//! schema, data preservation and idempotence.

mod common;

use common::*;
use std::path::Path;

/// The whole contract for one compose fixture; returns the snapshot text.
fn contract(name: &str, pure_insertion: bool) -> String {
    let dir = scratch();
    let file = dir.path().join(name);
    std::fs::copy(fixtures().join("compose").join(name), &file).unwrap();
    let original = std::fs::read_to_string(&file).unwrap();

    let dry = harden(dir.path(), &["fix", "--dry-run", name]);
    assert_eq!(
        dry.code, 1,
        "dry run must report pending changes\n{}",
        dry.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "--dry-run wrote"
    );

    // The patch applies with git and yields exactly what `fix` writes.
    let applied = scratch();
    std::fs::copy(&file, applied.path().join(name)).unwrap();
    git_apply(applied.path(), &dry.stdout);
    let via_patch = std::fs::read_to_string(applied.path().join(name)).unwrap();

    let fix = harden(dir.path(), &["fix", name]);
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    let fixed = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        via_patch, fixed,
        "git apply of the diff differs from what fix wrote"
    );

    if pure_insertion {
        assert!(
            is_pure_insertion(&original, &fixed),
            "not pure insertion:\n{fixed}"
        );
    }
    if original.contains("\r\n") {
        assert_eq!(
            fixed.matches('\n').count(),
            fixed.matches("\r\n").count(),
            "line endings mixed"
        );
    }
    assert_schema_valid(&fixed, "the fixed file");

    // Every value the author wrote is still there (merges not applied).
    let before = compose_data(&original);
    let after = compose_data(&fixed);
    assert_subset(&before, &after, "");

    // Fixing again changes nothing.
    let again = harden(dir.path(), &["fix", "--dry-run", name]);
    assert_eq!(
        again.code, 0,
        "second fix is not a no-op:\n{}",
        again.stdout
    );
    assert_eq!(again.stdout, "");
    let check = harden(dir.path(), &["check", name]);
    assert!(
        !check.stdout.contains("help: run `harden fix`"),
        "fixable findings remain after fix:\n{}",
        check.stdout
    );

    format!("{}\n---- notes ----\n{}", dry.stdout, dry.stderr)
}

/// Fixture values the fix deliberately changes, and may therefore differ.
const REPLACED: &[&str] = &[
    "/services/legacy-admin/read_only",
    "/services/legacy-admin/security_opt/0",
    "/services/empty_lists/tmpfs",
    "/services/empty_lists/cap_drop",
    "/services/empty_lists/security_opt",
];

fn assert_subset(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value;
    if REPLACED.contains(&at) {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{at}/{k}");
                let w = y.get(k).unwrap_or_else(|| panic!("{p} lost"));
                assert_subset(v, w, &p);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert!(y.len() >= x.len(), "{at} lost items");
            for (i, v) in x.iter().enumerate() {
                if REPLACED.contains(&format!("{at}/{i}").as_str()) {
                    continue;
                }
                assert!(y.contains(v), "{at}/{i} lost: {v}");
            }
        }
        (Value::Null, _) => {}
        _ => assert_eq!(a, b, "{at} changed"),
    }
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn basic_two_space_indented_sequences() {
    snapshot("compose_basic", &contract("basic.yml", true));
}

#[test]
fn four_space_flush_sequences_partly_hardened() {
    snapshot(
        "compose_four_space_flush",
        &contract("four_space_flush.yml", false),
    );
}

#[test]
fn anchors_and_merge_keys() {
    snapshot("compose_anchors", &contract("anchors.yml", true));
}

#[test]
fn crlf_non_ascii_no_final_newline() {
    snapshot(
        "compose_crlf_nonascii",
        &contract("crlf_nonascii.yml", true),
    );
}

#[test]
fn flow_style_is_extended_in_flow_style() {
    snapshot("compose_flow", &contract("flow.yml", false));
}

#[test]
fn exceptions_and_explicit_false() {
    snapshot("compose_exceptions", &contract("exceptions.yml", false));
}

#[test]
fn block_scalars_and_trailing_comments() {
    snapshot(
        "compose_block_scalars",
        &contract("block_scalars.yml", true),
    );
}

#[test]
fn three_and_eight_space_indentation() {
    snapshot("compose_indent3_8", &contract("indent3_8.yml", true));
}
