//! Bad input through the binary: a clear `path:line:col` message, exit
//! status 2, the file untouched, and the other files still processed.

mod common;

use common::*;

/// Write `files` into a scratch dir, run `harden fix` on `target`, and
/// check exit 2, the expected message, and that nothing changed.
fn refused(files: &[(&str, &[u8])], target: &str, expect: &str) {
    let dir = scratch();
    for (name, bytes) in files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, bytes).unwrap();
    }
    for args in [
        vec!["fix", "--dry-run", target],
        vec!["fix", target],
        vec!["check", target],
    ] {
        let r = harden(dir.path(), &args);
        assert_eq!(
            r.code, 2,
            "{args:?}: expected exit 2\n{}{}",
            r.stdout, r.stderr
        );
        assert!(
            r.stderr.contains(expect),
            "{args:?}: expected `{expect}` in:\n{}",
            r.stderr
        );
    }
    for (name, bytes) in files {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            *bytes,
            "{name} was changed"
        );
    }
}

#[test]
fn invalid_yaml() {
    refused(
        &[(
            "compose.yaml",
            b"services:\n  web:\n    image: nginx\n   ports: [80]\n",
        )],
        "compose.yaml",
        "compose.yaml:4:",
    );
}

#[test]
fn root_not_a_mapping() {
    refused(
        &[("compose.yaml", b"- web\n- db\n")],
        "compose.yaml",
        "compose.yaml:1:1: error: a compose file must be a mapping at its top level",
    );
}

#[test]
fn no_services_means_nothing_to_do() {
    let dir = scratch();
    std::fs::write(dir.path().join("compose.yaml"), "volumes:\n  data: {}\n").unwrap();
    let r = harden(dir.path(), &["fix", "--dry-run", "compose.yaml"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    let r = harden(dir.path(), &["check", "compose.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn not_utf8() {
    refused(
        &[(
            "docker-compose.yml",
            b"services:\n  web:\n    image: caf\xe9\n",
        )],
        "docker-compose.yml",
        "docker-compose.yml:3:15: error: the file is not valid UTF-8 text",
    );
}

#[test]
fn alias_bomb_fails_fast() {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, c) in ('b'..='i').enumerate() {
        let prev = (b'a' + i as u8) as char;
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("{c}: &{c} [{refs}]\n"));
    }
    bomb.push_str("services:\n  web:\n    image: nginx\n    x-bomb: *i\n");
    let start = std::time::Instant::now();
    refused(
        &[("compose.yaml", bomb.as_bytes())],
        "compose.yaml",
        "alias expansion",
    );
    assert!(
        start.elapsed().as_secs() < 20,
        "alias bomb was not refused fast"
    );
}

#[test]
fn too_large() {
    let mut big = String::from("services:\n  web:\n    image: nginx\n    environment:\n");
    while big.len() < 10 * 1024 * 1024 {
        big.push_str("      - SOME_LONG_VARIABLE_NAME_FOR_PADDING=and-its-long-value-too\n");
    }
    refused(
        &[("compose.yaml", big.as_bytes())],
        "compose.yaml",
        "compose.yaml:1:1: error: the file is",
    );
}

#[test]
fn fifo_is_not_read() {
    let dir = scratch();
    let fifo = dir.path().join("compose.yaml");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    let r = harden(dir.path(), &["fix", "compose.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("compose.yaml:1:1: error: not a regular file"),
        "{}",
        r.stderr
    );
}

#[test]
fn symlink_loop() {
    let dir = scratch();
    std::os::unix::fs::symlink("b.yml", dir.path().join("compose.yaml")).unwrap();
    std::os::unix::fs::symlink("compose.yaml", dir.path().join("b.yml")).unwrap();
    let r = harden(dir.path(), &["fix", "compose.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("compose.yaml:1:1: error:"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.to_lowercase().contains("symbolic links"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_path() {
    let dir = scratch();
    let r = harden(dir.path(), &["check", "nope/compose.yaml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("nope/compose.yaml:1:1: error: No such file or directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn one_bad_file_does_not_stop_the_others() {
    let dir = scratch();
    std::fs::write(dir.path().join("compose.yaml"), "services: [\n").unwrap();
    std::fs::create_dir(dir.path().join("ok")).unwrap();
    std::fs::write(
        dir.path().join("ok/compose.yaml"),
        "services:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    let r = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.contains("+++ b/ok/compose.yaml"), "{}", r.stdout);
    assert!(r.stderr.contains("compose.yaml:"), "{}", r.stderr);
}

#[test]
fn dockerfile_unterminated_heredoc() {
    refused(
        &[(
            "Dockerfile",
            b"FROM debian:bookworm-slim\nRUN <<EOF\napt-get update\n",
        )],
        "Dockerfile",
        "Dockerfile:2:5: error:",
    );
}

#[test]
fn dockerfile_without_from() {
    refused(
        &[("Dockerfile", b"# just a comment\nRUN echo hi\n")],
        "Dockerfile",
        "Dockerfile:",
    );
}

#[test]
fn dockerfile_binary_content() {
    refused(
        &[("Dockerfile", b"FROM debian\nRUN echo \x00\x01\x02\n")],
        "Dockerfile",
        "Dockerfile:2:",
    );
}

#[test]
fn dockerfile_unknown_instruction() {
    refused(
        &[(
            "Dockerfile",
            b"FROM debian:bookworm-slim\nRUNN apt-get update\n",
        )],
        "Dockerfile",
        "Dockerfile:2:1: error: unknown instruction",
    );
}

#[test]
fn symlink_out_of_the_tree_is_not_followed_when_walking() {
    let outside = scratch();
    std::fs::write(
        outside.path().join("compose.yaml"),
        "services:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    let dir = scratch();
    std::os::unix::fs::symlink(
        outside.path().join("compose.yaml"),
        dir.path().join("compose.yaml"),
    )
    .unwrap();
    let r = harden(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(outside.path().join("compose.yaml")).unwrap();
    assert!(
        !text.contains("read_only"),
        "followed a symlink out of the tree"
    );
}
