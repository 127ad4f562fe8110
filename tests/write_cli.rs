//! How `fix` writes: permissions kept, symlinks inside the tree written
//! through to their target, colour only when asked for, and a change made
//! while harden works never overwritten.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;

const COMPOSE: &str = "services:\n  web:\n    image: nginx:1.27\n";

#[test]
fn keeps_permissions() {
    let dir = scratch();
    let f = dir.path().join("compose.yaml");
    std::fs::write(&f, COMPOSE).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    let r = harden(dir.path(), &["fix", "compose.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(&f)
        .unwrap()
        .contains("read_only: true"));
    let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn symlink_inside_the_tree_is_written_through() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::fs::write(dir.path().join("real/compose.yaml"), COMPOSE).unwrap();
    std::os::unix::fs::symlink("real/compose.yaml", dir.path().join("compose.yaml")).unwrap();
    let r = harden(dir.path(), &["fix", "compose.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let link = std::fs::symlink_metadata(dir.path().join("compose.yaml")).unwrap();
    assert!(
        link.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    assert!(
        std::fs::read_to_string(dir.path().join("real/compose.yaml"))
            .unwrap()
            .contains("read_only: true")
    );
}

#[test]
fn walking_finds_files_and_respects_gitignore() {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("svc/a")).unwrap();
    std::fs::create_dir_all(dir.path().join("build")).unwrap();
    std::fs::write(
        dir.path().join("svc/a/docker-compose.override.yml"),
        COMPOSE,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("svc/a/api.Dockerfile"),
        "FROM debian:bookworm-slim\nCMD [\"true\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("build/compose.yaml"), COMPOSE).unwrap();
    std::fs::write(dir.path().join("values.yaml"), COMPOSE).unwrap();
    std::fs::write(dir.path().join(".gitignore"), "build/\n").unwrap();
    std::process::Command::new("git")
        .arg("init")
        .arg("-q")
        .current_dir(dir.path())
        .status()
        .unwrap();
    let r = harden(dir.path(), &["check", "."]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("svc/a/docker-compose.override.yml:"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("svc/a/api.Dockerfile:"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("build/compose.yaml"),
        "ignored file was checked:\n{}",
        r.stdout
    );
    assert!(!r.stdout.contains("values.yaml"), "{}", r.stdout);
}

#[test]
fn colour_only_when_asked() {
    let dir = scratch();
    std::fs::write(dir.path().join("compose.yaml"), COMPOSE).unwrap();
    let plain = harden(dir.path(), &["fix", "--dry-run", "compose.yaml"]);
    assert!(!plain.stdout.contains('\u{1b}'), "colour on a pipe");
    let out = std::process::Command::new(BIN)
        .args(["fix", "--dry-run", "--color", "always", "compose.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let coloured = String::from_utf8_lossy(&out.stdout);
    assert!(
        coloured.contains("\u{1b}["),
        "no colour with --color always"
    );
    assert!(coloured.contains("read_only: true"));
}

#[test]
fn exit_status_of_fix_and_check() {
    let dir = scratch();
    std::fs::write(dir.path().join("compose.yaml"), COMPOSE).unwrap();
    assert_eq!(harden(dir.path(), &["check"]).code, 1);
    assert_eq!(harden(dir.path(), &["fix", "--dry-run"]).code, 1);
    assert_eq!(harden(dir.path(), &["fix"]).code, 0);
    assert_eq!(harden(dir.path(), &["fix", "--dry-run"]).code, 0);
    let check = harden(dir.path(), &["check"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert_eq!(harden(dir.path(), &["explain", "no-such-rule"]).code, 2);
    assert_eq!(harden(dir.path(), &["explain", "writable-rootfs"]).code, 0);
    assert_eq!(harden(dir.path(), &["frobnicate"]).code, 2);
}

#[test]
fn broken_pipe_is_not_an_error() {
    let dir = scratch();
    let mut text = String::from("services:\n");
    for i in 0..2000 {
        text.push_str(&format!("  s{i}:\n    image: nginx:1.27\n"));
    }
    std::fs::write(dir.path().join("compose.yaml"), text).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{BIN} fix --dry-run compose.yaml 2>err.txt | head -1"
        ))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.starts_with("--- a/compose.yaml"), "{s}");
    let err = std::fs::read_to_string(dir.path().join("err.txt")).unwrap();
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

/// The file changes between harden's read and its write: write_atomic sees
/// it, keeps the newer content and leaves no temporary file.
#[test]
fn a_file_changed_after_reading_is_not_overwritten() {
    let dir = scratch();
    let f = dir.path().join("compose.yaml");
    std::fs::write(&f, COMPOSE).unwrap();
    let read = std::fs::read_to_string(&f).unwrap();
    let fixed = harden::run::fix_one(
        harden::discover::Kind::Compose,
        "compose.yaml",
        read.clone(),
    )
    .unwrap()
    .expect("a fix");
    let newer = "services:\n  web:\n    image: nginx:1.28 # bumped meanwhile\n";
    std::fs::write(&f, newer).unwrap();
    let roots = harden::confine::Roots::from_paths(&[dir.path()]);
    let err = harden::write::write_atomic(&f, &read, &fixed, &roots).unwrap_err();
    assert_eq!(
        err,
        "the file changed since harden read it; it was not overwritten"
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), newer);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "a temporary file was left behind");
    // Unchanged since the read: written.
    harden::write::write_atomic(&f, newer, &fixed, &roots).unwrap();
    assert_eq!(std::fs::read_to_string(&f).unwrap(), fixed);
}

#[test]
fn a_file_deleted_after_reading_is_not_recreated() {
    let dir = scratch();
    let f = dir.path().join("Dockerfile");
    std::fs::write(&f, "FROM debian\n").unwrap();
    std::fs::remove_file(&f).unwrap();
    let roots = harden::confine::Roots::from_paths(&[dir.path()]);
    let err = harden::write::write_atomic(&f, "FROM debian\n", "FROM debian\nUSER app\n", &roots)
        .unwrap_err();
    assert!(err.contains("No such file or directory"), "{err}");
    assert!(!f.exists(), "a deleted file was written again");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Without write permission on the directory the temporary file cannot be
/// created: exit 2, the file as it was. Root ignores permissions, so there
/// the test can only show that harden does not make things worse.
#[test]
fn directory_without_write_permission() {
    let dir = scratch();
    let sub = dir.path().join("locked");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("compose.yaml"), COMPOSE).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o555)).unwrap();
    let r = harden(dir.path(), &["fix", "locked/compose.yaml"]);
    let writable = tempfile::tempfile_in(&sub).is_ok();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let now = std::fs::read_to_string(sub.join("compose.yaml")).unwrap();
    if writable {
        eprintln!("running as root: directory permissions do not stop writes; checked only that the fix completed");
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(now.contains("read_only: true"));
    } else {
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("locked/compose.yaml:1:1: error: cannot create a temporary file in"),
            "{}",
            r.stderr
        );
        assert_eq!(now, COMPOSE);
    }
}
