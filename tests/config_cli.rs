//! harden.toml through the binary: where it is found, `--config`, every
//! kind of bad value with its `path:line:col`, and each key taking effect
//! in a fix.

mod common;

use common::*;
use std::path::Path;

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

const COMPOSE: &str = "\
services:
  api:
    build: ./services/api
    ports:
      - \"8080:8080\"
  vpn:
    image: registry.example.com/net/wireguard:1.0
  queue:
    image: registry.example.internal/team/queue:3.1
";

const DOCKERFILE: &str = "\
FROM python:3.12-slim
WORKDIR /app
COPY . .
CMD [\"python\", \"-m\", \"api\"]
";

const CONFIG: &str = r#"# Team settings for harden.
uid = 2001
gid = 2002
user-name = "svc-{service}"
tmpfs-size = "128m"
skip = ["new-privileges"]

[[exception]]
service = "vpn"
allow = ["writable-rootfs", "default-capabilities"]
reason = "rewrites /etc/wireguard at start-up; OPS-112"

[[image]]
images = ["registry.example.internal/team/queue"]
source = "our queue image: runs as uid 4000 and keeps its spool in /var/spool/queue"
checked = "2026-01-10"
runs_as_root_by_default = false
ports = [7000]
ports_below_1024 = false
caps = { needed_as_root = [], why = "starts as uid 4000" }
[[image.write]]
path = "/var/spool/queue"
kind = "volume"
name = "spool"
why = "the message spool"
"#;

fn project() -> tempfile::TempDir {
    let dir = scratch();
    write(dir.path(), "compose.yaml", COMPOSE);
    write(dir.path(), "services/api/Dockerfile", DOCKERFILE);
    dir
}

/// uid, gid, user-name, tmpfs-size, skip, an exception and an extra image
/// all show in one dry run; the config is found two directories up.
#[test]
fn every_key_takes_effect_from_a_parent_directory() {
    let dir = project();
    write(dir.path(), "harden.toml", CONFIG);
    let deep = dir.path().join("services/api");
    let r = harden(&deep, &["fix", "--dry-run", "../.."]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let diff = &r.stdout;
    assert!(diff.contains("--uid 2001 --gid 2002"), "{diff}");
    assert!(diff.contains("USER svc-api"), "{diff}");
    assert!(diff.contains("/tmp:size=128m"), "{diff}");
    assert!(
        !diff.contains("no-new-privileges"),
        "skipped rule ran: {diff}"
    );
    assert!(diff.contains("queue-spool:/var/spool/queue"), "{diff}");
    assert!(
        r.stderr
            .contains("not applied: exempted by ../../harden.toml:8: rewrites /etc/wireguard"),
        "{}",
        r.stderr
    );
    snapshot(
        "config_every_key",
        &format!("{}\n---- notes ----\n{}", r.stdout, r.stderr),
    );

    // The exempted service gets nothing it is exempted from.
    let vpn = diff.split("  vpn:").nth(1).unwrap_or("");
    let vpn = vpn.split("  queue:").next().unwrap_or("");
    assert!(!vpn.contains("+    read_only"), "{vpn}");
    assert!(!vpn.contains("+    cap_drop"), "{vpn}");

    // check agrees: no finding for skipped or exempted rules.
    let c = harden(dir.path(), &["check"]);
    assert!(!c.stdout.contains("[new-privileges]"), "{}", c.stdout);
    assert!(
        !c.stdout.contains("service `vpn` has a writable"),
        "{}",
        c.stdout
    );
}

#[test]
fn without_a_config_the_baseline_applies() {
    let dir = project();
    let r = harden(dir.path(), &["fix", "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("--uid 1000 --gid 1000"), "{}", r.stdout);
    assert!(r.stdout.contains("USER api"), "{}", r.stdout);
    assert!(r.stdout.contains("/tmp:size=512m"), "{}", r.stdout);
    assert!(r.stdout.contains("no-new-privileges:true"), "{}", r.stdout);

    // The documented defaults, written out, change nothing.
    write(
        dir.path(),
        "harden.toml",
        "uid = 1000\nuser-name = \"{service}\"\ntmpfs-size = \"512m\"\nskip = []\n",
    );
    let same = harden(dir.path(), &["fix", "--dry-run"]);
    assert_eq!(same.stdout, r.stdout);
}

#[test]
fn config_flag_wins_and_globs_are_relative_to_it() {
    let dir = project();
    write(dir.path(), "harden.toml", "uid = 3000\n");
    write(
        dir.path(),
        "ops/harden-ci.toml",
        "uid = 4000\n[[exception]]\npath = \"../services/api/**\"\nallow = [\"root-user\"]\nreason = \"x\"\n",
    );
    // `..` is refused in globs: the error names the file and place.
    let r = harden(
        dir.path(),
        &["check", "--config", "ops/harden-ci.toml", "services/api"],
    );
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .starts_with("ops/harden-ci.toml:3:8: error: path `../services/api/**`"),
        "{}",
        r.stderr
    );

    write(
        dir.path(),
        "ops/harden-ci.toml",
        "uid = 4000\n[[exception]]\npath = \"*/Dockerfile\"\nallow = [\"root-user\"]\nreason = \"built elsewhere\"\n",
    );
    let r = harden(
        dir.path(),
        &["fix", "--dry-run", "--config", "ops/harden-ci.toml"],
    );
    assert!(r.stdout.contains("--uid 4000"), "{}", r.stdout);
    // The glob is relative to ops/, so services/api/Dockerfile is not exempt.
    write(
        dir.path(),
        "ops/harden-ci.toml",
        "[[exception]]\npath = \"services/api/Dockerfile\"\nallow = [\"root-user\"]\nreason = \"built elsewhere\"\n",
    );
    let r = harden(
        dir.path(),
        &["fix", "--dry-run", "--config", "ops/harden-ci.toml"],
    );
    assert!(r.stdout.contains("useradd"), "{}", r.stdout);
    let r = harden(
        dir.path(),
        &["fix", "--dry-run", "--config", "ops/../harden.toml"],
    );
    assert!(r.stdout.contains("--uid 3000"), "{}", r.stdout);

    // The same exception in the top-level config exempts the Dockerfile.
    write(
        dir.path(),
        "harden.toml",
        "[[exception]]\npath = \"services/api/Dockerfile\"\nallow = [\"root-user\"]\nreason = \"built elsewhere\"\n",
    );
    let r = harden(dir.path(), &["fix", "--dry-run"]);
    assert!(!r.stdout.contains("useradd"), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("`root-user` not applied: exempted by harden.toml:1: built elsewhere"),
        "{}",
        r.stderr
    );

    let r = harden(dir.path(), &["check", "--config", "missing.toml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("missing.toml:1:1: error: cannot read the config file"),
        "{}",
        r.stderr
    );
}

/// Every kind of bad value: exit 2, the place, a clear message, and no
/// file written.
#[test]
fn bad_values_are_errors_with_their_place() {
    let cases: &[(&str, &str, &str)] = &[
        ("colour = true\n", "harden.toml:1:1:", "unknown field `colour`"),
        ("uid = \"1000\"\n", "harden.toml:1:7:", "invalid type"),
        ("uid = 0\n", "harden.toml:1:7:", "uid 0 is root"),
        ("uid = -1\n", "harden.toml:1:7:", "between 0 and"),
        ("gid = 4294967296\n", "harden.toml:1:7:", "between 0 and"),
        ("user-name = \"{team}-{service}\"\n", "harden.toml:1:13:", "unknown placeholder `{team}`"),
        ("user-name = \"Svc\"\n", "harden.toml:1:13:", "contains `S`"),
        ("tmpfs-size = \"512MB\"\n", "harden.toml:1:14:", "is not a size"),
        ("tmpfs-size = 512\n", "harden.toml:1:14:", "invalid type"),
        ("skip = [\"cache-on-rootfs\", \"read-only\"]\n", "harden.toml:1:28:", "unknown rule `read-only`"),
        ("skip = \"privileged\"\n", "harden.toml:1:8:", "invalid type"),
        (
            "uid = 1000\n\n[[exception]]\nservice = \"vpn\"\nallow = [\"writable-rootfs\"]\n",
            "harden.toml:3:1:",
            "needs a `reason`",
        ),
        (
            "[[exception]]\nservice = \"vpn\"\nallow = [\"writable-rootfs\"]\nreason = \"\"\n",
            "harden.toml:4:10:",
            "reason is empty",
        ),
        (
            "[[exception]]\nservice = \"vpn\"\nallow = [\"writable-rootfs\"]\nreason = \"x\"\nwhy = \"y\"\n",
            "harden.toml:5:1:",
            "unknown field `why`",
        ),
        (
            "[[exception]]\nallow = [\"writable-rootfs\"]\nreason = \"x\"\n",
            "harden.toml:1:1:",
            "needs a `path` or a `service`",
        ),
        (
            "[[exception]]\npath = \"/srv/vpn/**\"\nallow = [\"root-user\"]\nreason = \"x\"\n",
            "harden.toml:2:8:",
            "relative to the config file",
        ),
        (
            "[[image]]\nimages = [\"queue\"]\nsource = \"s\"\nchecked = \"c\"\nruns_as_root_by_default = false\nports = [80]\nports_below_1024 = false\ncaps = { needed_as_root = [], why = \"w\" }\n",
            "harden.toml:7:1:",
            "disagrees with ports",
        ),
        (
            "[[image]]\nimages = [\"queue\"]\n",
            "harden.toml:1:1:",
            "missing field",
        ),
        ("uid = 1000\nuid = 1001\n", "harden.toml:2:1:", "duplicate key"),
        ("uid = [\n", "harden.toml:1:8:", "unclosed array"),
    ];
    for (text, place, message) in cases {
        let dir = project();
        write(dir.path(), "harden.toml", text);
        let r = harden(dir.path(), &["fix"]);
        assert_eq!(r.code, 2, "{text}: {}", r.stderr);
        assert!(
            r.stderr.starts_with(&format!("{place} error: ")),
            "{text}: expected {place}, got {}",
            r.stderr
        );
        assert!(r.stderr.contains(message), "{text}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
            COMPOSE,
            "{text}: a file was written despite the bad config"
        );
        let c = harden(dir.path(), &["check"]);
        assert_eq!(c.code, 2, "check too: {text}");
    }
}

/// The example in README.md is a valid config, and its documented defaults
/// (the lines before the first table) are the baseline.
#[test]
fn readme_example_is_valid() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Configuration: harden.toml")
        .nth(1)
        .expect("README documents harden.toml");
    let example = section
        .split("```toml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a toml example");
    let dir = project();
    write(dir.path(), "harden.toml", example);
    let r = harden(dir.path(), &["check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);

    let defaults = example.split("[[exception]]").next().unwrap();
    let baseline = harden(project().path(), &["fix", "--dry-run"]).stdout;
    let dir = project();
    write(dir.path(), "harden.toml", defaults);
    assert_eq!(harden(dir.path(), &["fix", "--dry-run"]).stdout, baseline);
}

/// `numeric-user = true`: the USER harden writes is the user's ids, for a
/// created user and for one the base image has, with a note saying whose.
#[test]
fn numeric_user_writes_ids() {
    let dir = project();
    write(
        dir.path(),
        "harden.toml",
        "uid = 2001\ngid = 2002\nnumeric-user = true\n",
    );
    write(
        dir.path(),
        "web/Dockerfile",
        "FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"server.js\"]\n",
    );
    let r = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("+USER 2001:2002\n"), "{}", r.stdout);
    assert!(r.stdout.contains("+USER 1000:1000\n"), "{}", r.stdout);
    assert!(!r.stdout.contains("+USER api") && !r.stdout.contains("+USER node"));
    assert!(
        r.stderr.contains("`USER 1000:1000` is `node` by number"),
        "{}",
        r.stderr
    );
}
