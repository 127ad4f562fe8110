//! Dockerfile fixtures through the binary: one per base-image family and
//! per shape a real Dockerfile takes. Each fix is pure insertion, applies
//! with `git apply`, equals what `fix` writes, lexes again, and is idempotent.

mod common;

use common::*;

struct Fixed {
    snapshot: String,
    diff: String,
}

/// Run the whole contract on `tests/fixtures/dockerfile/fix/<name>/Dockerfile`.
/// `changes` says whether harden is expected to change the file.
fn contract(name: &str, changes: bool) -> Fixed {
    let dir = scratch();
    let proj = dir.path().join(name);
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("dockerfile/fix").join(name), &proj);
    let rel = format!("{name}/Dockerfile");
    let dry = harden(dir.path(), &["fix", "--dry-run", &rel]);
    if !changes {
        assert_eq!(
            dry.code, 0,
            "expected no change:\n{}{}",
            dry.stdout, dry.stderr
        );
        assert_eq!(dry.stdout, "");
        return Fixed {
            snapshot: format!("(no change)\n---- notes ----\n{}", dry.stderr),
            diff: String::new(),
        };
    }
    let (snapshot, files) = project(&fixtures().join("dockerfile/fix").join(name));
    let fixed = &files["Dockerfile"].1;
    let lexed = harden::dockerfile::parse(fixed).expect("the fixed Dockerfile lexes");
    let last = lexed.stages.last().unwrap();
    assert!(
        lexed.instructions[last.instructions.clone()]
            .iter()
            .any(|i| i.keyword == "USER"),
        "the final stage has no USER after the fix"
    );
    let diff = snapshot
        .split("\n---- notes ----\n")
        .next()
        .unwrap_or("")
        .to_string();
    Fixed { snapshot, diff }
}

fn added(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect()
}

#[test]
fn debian_python_multi_stage_heredoc_comments_in_continuation() {
    let f = contract("debian-python", true);
    let add = added(&f.diff).join("\n");
    assert!(add.contains("useradd") && add.contains("groupadd"), "{add}");
    assert!(add.contains("USER debian-python"), "{add}");
    snapshot("dockerfile_debian_python", &f.snapshot);
}

#[test]
fn node_alpine_reuses_node_user() {
    let f = contract("alpine-node", true);
    assert_eq!(added(&f.diff), vec!["+USER node"]);
    snapshot("dockerfile_alpine_node", &f.snapshot);
}

#[test]
fn alpine_uses_busybox_adduser() {
    let f = contract("alpine-plain", true);
    let add = added(&f.diff).join("\n");
    assert!(
        add.contains("adduser -S") && !add.contains("useradd"),
        "{add}"
    );
    snapshot("dockerfile_alpine_plain", &f.snapshot);
}

#[test]
fn ubuntu_noble_reuses_ubuntu_user() {
    let f = contract("ubuntu-noble", true);
    let add = added(&f.diff).join("\n");
    assert!(
        add.contains("USER ubuntu") && !add.contains("useradd"),
        "{add}"
    );
    snapshot("dockerfile_ubuntu_noble", &f.snapshot);
}

#[test]
fn ubuntu_jammy_creates_user() {
    let f = contract("ubuntu-jammy", true);
    assert!(added(&f.diff).join("\n").contains("useradd"));
    snapshot("dockerfile_ubuntu_jammy", &f.snapshot);
}

#[test]
fn ubi9_uses_useradd() {
    let f = contract("ubi9", true);
    assert!(added(&f.diff).join("\n").contains("useradd"));
    snapshot("dockerfile_ubi9", &f.snapshot);
}

#[test]
fn ubi9_minimal_installs_shadow_utils_first() {
    let f = contract("ubi9-minimal", true);
    assert!(added(&f.diff)
        .join("\n")
        .contains("microdnf install -y shadow-utils"));
    snapshot("dockerfile_ubi9_minimal", &f.snapshot);
}

#[test]
fn distroless_gets_user_nonroot_and_no_run() {
    let f = contract("distroless-go", true);
    let add = added(&f.diff);
    assert!(add.contains(&"+USER nonroot"), "{add:?}");
    assert!(
        !add.iter().any(|l| l.starts_with("+RUN")),
        "RUN in a stage without a shell"
    );
    snapshot("dockerfile_distroless_go", &f.snapshot);
}

#[test]
fn scratch_gets_numeric_user_and_no_run() {
    let f = contract("scratch-static", true);
    let add = added(&f.diff);
    assert!(add.contains(&"+USER 65534:65534"), "{add:?}");
    assert!(
        !add.iter().any(|l| l.starts_with("+RUN")),
        "RUN in a stage without a shell"
    );
    snapshot("dockerfile_scratch_static", &f.snapshot);
}

#[test]
fn backtick_escape_continues_with_backticks() {
    let f = contract("escape-backtick", true);
    let add = added(&f.diff).join("\n");
    assert!(add.contains(" `\n+ && "), "{add}");
    snapshot("dockerfile_escape_backtick", &f.snapshot);
}

#[test]
fn arg_based_from_resolves() {
    let f = contract("arg-base", true);
    assert!(f.snapshot.contains("debian"), "{}", f.snapshot);
    snapshot("dockerfile_arg_base", &f.snapshot);
}

#[test]
fn existing_user_never_used_is_reused() {
    let f = contract("existing-user", true);
    assert_eq!(added(&f.diff), vec!["+ENV HOME=/tmp", "+USER svc"]);
    snapshot("dockerfile_existing_user", &f.snapshot);
}

#[test]
fn final_user_root_gets_user_back() {
    let f = contract("final-user-root", true);
    assert_eq!(added(&f.diff)[0], "+USER worker");
    snapshot("dockerfile_final_user_root", &f.snapshot);
}

#[test]
fn crlf_stays_crlf() {
    let f = contract("crlf-debian", true);
    snapshot("dockerfile_crlf_debian", &f.snapshot);
}

#[test]
fn stage_inherits_family_from_earlier_stage() {
    let f = contract("stage-inherit", true);
    assert!(added(&f.diff).join("\n").contains("useradd"));
    snapshot("dockerfile_stage_inherit", &f.snapshot);
}

#[test]
fn heredoc_at_end_without_final_newline() {
    let f = contract("heredoc-last", true);
    snapshot("dockerfile_heredoc_last", &f.snapshot);
}

#[test]
fn unknown_base_gets_portable_snippet() {
    let f = contract("unknown-base", true);
    let add = added(&f.diff).join("\n");
    assert!(add.contains("useradd") && add.contains("adduser"), "{add}");
    snapshot("dockerfile_unknown_base", &f.snapshot);
}

#[test]
fn already_non_root_images_need_nothing() {
    snapshot(
        "dockerfile_unprivileged_nginx",
        &contract("unprivileged-nginx", false).snapshot,
    );
    snapshot(
        "dockerfile_chainguard",
        &contract("chainguard", false).snapshot,
    );
}

#[test]
fn privilege_dropping_entrypoint_gets_no_user() {
    snapshot(
        "dockerfile_postgres_gosu",
        &contract("postgres-gosu", false).snapshot,
    );
}

#[test]
fn windows_is_skipped() {
    snapshot(
        "dockerfile_windows_iis",
        &contract("windows-iis", false).snapshot,
    );
}

#[test]
fn exception_with_reason_is_honoured_silently() {
    let f = contract("exception-reason", false);
    let dir = scratch();
    copy_tree(
        &fixtures().join("dockerfile/fix/exception-reason"),
        dir.path(),
    );
    let check = harden(dir.path(), &["check", "Dockerfile"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    snapshot("dockerfile_exception_reason", &f.snapshot);
}

#[test]
fn exception_without_reason_is_a_finding() {
    let dir = scratch();
    copy_tree(
        &fixtures().join("dockerfile/fix/exception-no-reason"),
        dir.path(),
    );
    let fix = harden(dir.path(), &["fix", "--dry-run", "Dockerfile"]);
    assert_eq!(fix.code, 0, "the exception is honoured: {}", fix.stdout);
    // A warning: the check passes unless warnings are asked to fail it.
    let check = harden(dir.path(), &["check", "Dockerfile"]);
    assert_eq!(check.code, 0);
    assert!(
        check
            .stdout
            .contains("Dockerfile:2:1: warning[undocumented-exception]"),
        "{}",
        check.stdout
    );
    let strict = harden(dir.path(), &["check", "--fail-on", "warning", "Dockerfile"]);
    assert_eq!(strict.code, 1, "{}", strict.stdout);
}

#[test]
fn unknown_final_base_after_a_windows_stage_is_windows() {
    let f = contract("windows-stage-evidence", false);
    assert!(f.snapshot.contains("Windows"), "{}", f.snapshot);
    assert!(!f.snapshot.contains("useradd"), "{}", f.snapshot);
    snapshot("dockerfile_windows_stage_evidence", &f.snapshot);
}

#[test]
fn unknown_base_with_backtick_escape_is_windows() {
    let f = contract("windows-escape-evidence", false);
    assert!(f.snapshot.contains("Windows"), "{}", f.snapshot);
    snapshot("dockerfile_windows_escape_evidence", &f.snapshot);
}

#[test]
fn user_from_build_argument_defaulting_to_root_is_reported_not_overridden() {
    let f = contract("user-build-arg-root", false);
    assert!(
        f.snapshot.contains("`USER $UID:$GID` (line 13)"),
        "{}",
        f.snapshot
    );
    snapshot("dockerfile_user_build_arg_root", &f.snapshot);
}

#[test]
fn entrypoint_that_drops_privileges_with_gosu_gets_no_user() {
    let f = contract("gosu-entrypoint", false);
    assert!(
        f.snapshot.contains("drops privileges with gosu"),
        "{}",
        f.snapshot
    );
    snapshot("dockerfile_gosu_entrypoint", &f.snapshot);
}
