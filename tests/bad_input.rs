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

/// Like `refused`, for one file among others: the good file is still fixed
/// in the same run.
fn refused_alone(bad: (&str, &[u8]), extra_args: &[&str], expect: &str) {
    let dir = scratch();
    std::fs::write(dir.path().join(bad.0), bad.1).unwrap();
    std::fs::create_dir(dir.path().join("ok")).unwrap();
    std::fs::write(
        dir.path().join("ok/compose.yaml"),
        "services:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    let mut args = vec!["fix"];
    args.extend_from_slice(extra_args);
    args.extend_from_slice(&[bad.0, "ok/compose.yaml"]);
    let r = harden(dir.path(), &args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(expect),
        "expected `{expect}` in:\n{}",
        r.stderr
    );
    assert!(
        std::fs::read(dir.path().join(bad.0)).unwrap() == bad.1,
        "{} was changed",
        bad.0
    );
    let ok = std::fs::read_to_string(dir.path().join("ok/compose.yaml")).unwrap();
    assert!(
        ok.contains("read_only: true"),
        "the good file was not fixed:\n{ok}"
    );
}

#[test]
fn alias_bomb_is_an_error_for_that_file_only() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, c) in ('b'..='h').enumerate() {
        let prev = (b'a' + i as u8) as char;
        bomb.push_str(&format!(
            "{c}: &{c} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    bomb.push_str("services:\n  web:\n    image: nginx\n    labels: {x: *h}\n");
    refused_alone(
        ("compose.yaml", bomb.as_bytes()),
        &[],
        "compose.yaml:6:36: error: alias expansion exceeds 1000000 nodes (alias `e`)",
    );
    // The bound is configurable: a smaller one refuses a small expansion.
    let small =
        b"x-a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nservices:\n  web:\n    image: nginx\n    labels: {a: *a, b: *a, c: *a, d: *a, e: *a}\n";
    refused_alone(
        ("compose.yaml", small),
        &["--max-yaml-nodes", "40"],
        "alias expansion exceeds 40 nodes",
    );
}

#[test]
fn yaml_nested_10000_deep_in_flow_style() {
    // yaml-rust2 stops deep sequences itself; harden's depth bound stops
    // the mappings while the tree is built.
    for (open, close, expect) in [
        (
            "[",
            "]",
            "compose.yaml:4:268: error: recursion limit exceeded",
        ),
        (
            "{a: ",
            "}",
            "compose.yaml:4:1025: error: nesting deeper than 256 levels",
        ),
    ] {
        let text = format!(
            "services:\n  web:\n    image: nginx\n    x-deep: {}{}\n",
            open.repeat(10_000),
            close.repeat(10_000)
        );
        refused_alone(("compose.yaml", text.as_bytes()), &[], expect);
    }
}

#[test]
fn yaml_nested_deep_in_block_style() {
    // Block nesting 10,000 deep needs 50 MB of indentation alone (refused by
    // the size limit, see `fifty_megabyte_file`); 1,000 levels fit in 500 KB.
    let mut text = String::from("services:\n  web:\n    image: nginx\n    x-deep:\n");
    for i in 0..1000 {
        text.push_str(&format!("{}k{i}:\n", " ".repeat(6 + i)));
    }
    text.push_str(&format!("{}leaf\n", " ".repeat(1006)));
    refused_alone(
        ("compose.yaml", text.as_bytes()),
        &[],
        "error: nesting deeper than 256 levels",
    );
    // Configurable: with a higher bound the same file is hardened.
    let r = harden_in_scratch(
        "compose.yaml",
        text.as_bytes(),
        &["fix", "--dry-run", "--max-yaml-depth", "1100"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("+    read_only: true"), "{}", r.stdout);
}

/// Run harden on one file written into a fresh scratch dir.
fn harden_in_scratch(name: &str, bytes: &[u8], args: &[&str]) -> Run {
    let dir = scratch();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    let mut all = args.to_vec();
    all.push(name);
    let r = harden(dir.path(), &all);
    assert_eq!(
        std::fs::read(dir.path().join(name)).unwrap(),
        bytes,
        "{name} was changed"
    );
    r
}

#[test]
fn dockerfile_with_a_100000_line_continuation() {
    // Valid (BuildKit accepts it), so it is hardened, in linear time.
    let mut text = String::from("FROM debian:bookworm-slim\nRUN echo start \\\n");
    for i in 0..100_000 {
        text.push_str(&format!(" && echo {i} \\\n"));
    }
    text.push_str(" && true\nCMD [\"sh\"]\n");
    let start = std::time::Instant::now();
    let r = harden_in_scratch("Dockerfile", text.as_bytes(), &["fix", "--dry-run"]);
    eprintln!("100,000-line continuation: {:?}", start.elapsed());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("+USER "), "{}", r.stdout);
    assert!(r.stdout.contains("@@ -100001,4 +100001,"), "{}", r.stdout);
}

#[test]
fn fifty_megabyte_file() {
    let mut big = String::from("services:\n  web:\n    image: nginx\n    environment:\n");
    let line = "      - SOME_LONG_VARIABLE_NAME_FOR_PADDING=and-its-long-value-too\n";
    big.push_str(&line.repeat(50 * 1024 * 1024 / line.len() + 1));
    refused_alone(
        ("compose.yaml", big.as_bytes()),
        &[],
        &format!(
            "compose.yaml:1:1: error: the file is {} bytes, more than the limit of 4194304 (--max-file-size)",
            big.len()
        ),
    );
    let dockerfile = format!("FROM debian\n{}", "RUN true\n".repeat(50 * 1024 * 1024 / 9));
    refused_alone(
        ("Dockerfile", dockerfile.as_bytes()),
        &["--max-file-size", "1000000"],
        "more than the limit of 1000000 (--max-file-size)",
    );
}

#[test]
fn a_single_one_megabyte_line() {
    // Valid and under the size limit: hardened, the long value kept.
    let value = "x".repeat(1024 * 1024);
    let text =
        format!("services:\n  web:\n    image: nginx\n    command: [\"echo\", \"{value}\"]\n");
    let r = harden_in_scratch("compose.yaml", text.as_bytes(), &["fix", "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("+    read_only: true"));
    let text = format!("FROM alpine:3.20\nRUN echo {value}\n");
    let r = harden_in_scratch("Dockerfile", text.as_bytes(), &["fix", "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("+USER "));
    // One 1 MB line that is not YAML: a clear error, where it is.
    let text = format!("services:\n  web: {value}: [\n");
    refused_alone(("compose.yaml", text.as_bytes()), &[], "compose.yaml:2:");
}

#[test]
fn nul_bytes_and_control_characters() {
    refused_alone(
        ("compose.yaml", b"services:\n  web:\n    image: ng\x00inx\n"),
        &[],
        "compose.yaml:3:14: error: control character U+0000 is not allowed in YAML",
    );
    refused_alone(
        (
            "compose.yaml",
            b"services:\n  web:\n    image: nginx\x1b[0m\n",
        ),
        &[],
        "compose.yaml:3:17: error: control character U+001B",
    );
    refused_alone(
        (
            "docker-compose.yml",
            b"services:\n  web:\n    image: \xff\xfe\n",
        ),
        &[],
        "docker-compose.yml:3:12: error: the file is not valid UTF-8 text",
    );
}

#[test]
fn device_paths_are_not_read() {
    let dir = scratch();
    for dev in ["/dev/zero", "/dev/null"] {
        let r = harden(dir.path(), &["fix", dev]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("{dev}:1:1: error: not a regular file")),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn symlink_loop_among_good_files() {
    let dir = scratch();
    std::os::unix::fs::symlink("compose.yaml", dir.path().join("compose.yaml")).unwrap();
    std::fs::create_dir(dir.path().join("ok")).unwrap();
    std::fs::write(
        dir.path().join("ok/compose.yaml"),
        "services:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    let r = harden(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("compose.yaml"), "{}", r.stderr);
    let ok = std::fs::read_to_string(dir.path().join("ok/compose.yaml")).unwrap();
    assert!(ok.contains("read_only: true"));
    assert!(std::fs::symlink_metadata(dir.path().join("compose.yaml"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_tree_of_100000_files() {
    let dir = scratch();
    let start = std::time::Instant::now();
    // 100 services of 1,000 files each: one compose file and one Dockerfile
    // per service, the rest source files harden must skip quickly.
    for s in 0..100 {
        let svc = dir.path().join(format!("svc{s:03}"));
        std::fs::create_dir(&svc).unwrap();
        std::fs::write(
            svc.join("compose.yaml"),
            format!("services:\n  s{s}:\n    build: .\n    image: example/s{s}:1\n"),
        )
        .unwrap();
        std::fs::write(
            svc.join("Dockerfile"),
            "FROM debian:bookworm-slim\nCMD [\"app\"]\n",
        )
        .unwrap();
        for f in 0..998 {
            std::fs::write(svc.join(format!("mod{f:03}.py")), "print('hi')\n").unwrap();
        }
    }
    eprintln!("created 100,000 files in {:?}", start.elapsed());
    let start = std::time::Instant::now();
    let r = harden(dir.path(), &["check", "."]);
    eprintln!("harden check over 100,000 files: {:?}", start.elapsed());
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("in 200 of 200 files"), "{}", r.stdout);
    let start = std::time::Instant::now();
    let r = harden(dir.path(), &["fix", "--dry-run", "--quiet", "."]);
    eprintln!(
        "harden fix --dry-run over 100,000 files: {:?}",
        start.elapsed()
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout.matches("+++ b/").count(), 200);
}

/// A file `include` names that does not parse is an error at that file's
/// own position (exit 2, the file untouched); the rest is still hardened.
#[test]
fn included_file_that_does_not_parse() {
    let dir = scratch();
    let bad = b"services:\n  db:\n    image: [postgres\n";
    std::fs::create_dir_all(dir.path().join("app/infra")).unwrap();
    std::fs::write(
        dir.path().join("app/compose.yaml"),
        "include:\n  - infra/db.yml\nservices:\n  web:\n    image: nginx:1.27\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("app/infra/db.yml"), bad).unwrap();
    for args in [vec!["check", "app"], vec!["fix", "app"]] {
        let r = harden(dir.path(), &args);
        assert_eq!(r.code, 2, "{args:?}\n{}{}", r.stdout, r.stderr);
        assert!(
            r.stderr
                .contains("app/infra/db.yml:4:1: error: while parsing a flow sequence"),
            "{args:?}\n{}",
            r.stderr
        );
    }
    assert_eq!(
        std::fs::read(dir.path().join("app/infra/db.yml")).unwrap(),
        bad
    );
    let web = std::fs::read_to_string(dir.path().join("app/compose.yaml")).unwrap();
    assert!(web.contains("read_only: true"), "{web}");
}

/// Files that include each other, and services that extend each other
/// across files, end: every file is read once, every chain is bounded.
#[test]
fn include_and_extends_cycles_end() {
    let dir = scratch();
    let files: &[(&str, &str)] = &[
        (
            "p/compose.yaml",
            "include:\n  - other.yml\nservices:\n  web:\n    extends:\n      file: base.yml\n      service: a\n",
        ),
        ("p/other.yml", "include:\n  - compose.yaml\nservices:\n  worker:\n    image: busybox:1.36\n"),
        (
            "p/base.yml",
            "services:\n  a:\n    extends:\n      file: base2.yml\n      service: b\n    image: busybox:1.36\n",
        ),
        (
            "p/base2.yml",
            "services:\n  b:\n    extends:\n      file: base.yml\n      service: a\n    read_only: true\n",
        ),
    ];
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let r = harden(dir.path(), &["fix", "--dry-run", "p/compose.yaml"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    // The included file is hardened; the files read for `extends` are not.
    assert!(r.stdout.contains("+++ b/p/other.yml"), "{}", r.stdout);
    assert!(!r.stdout.contains("+++ b/p/base"), "{}", r.stdout);
    // `read_only: true` comes from base2.yml through two extends.
    let web = r.stdout.split("+++ b/p/other.yml").next().unwrap();
    assert!(!web.contains("read_only"), "{web}");
}
