//! `cargo install --path .` gives a self-contained harden: the installed
//! binary, run from an empty folder outside the checkout with a clean
//! environment and its own HOME and cache, knows its version, its rule
//! pages and its image profiles (everything under templates/ is compiled in).
//!
//! Installing takes a cargo run, so the test runs only when asked:
//! `HARDEN_INSTALL_TEST=1` or `HARDEN_E2E=require` (what CI sets). It builds
//! with `--debug` into the target folder this test was built in, so the
//! dependencies already built there are reused.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// A compose project on a known image: what `fix` does to it comes from the
/// embedded postgres profile, and `--offline` keeps registries out of it.
const COMPOSE: &str = "\
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: example
    volumes:
      - db-data:/var/lib/postgresql/data

volumes:
  db-data:
";

fn asked() -> bool {
    std::env::var("HARDEN_INSTALL_TEST").is_ok_and(|v| v == "1")
        || std::env::var("HARDEN_E2E").is_ok_and(|v| v == "require")
}

/// The target folder this test binary was built in (…/target/debug/deps/this).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary lives in TARGET/PROFILE/deps")
        .to_path_buf()
}

/// Run `bin` in `dir` with nothing of the caller's environment but PATH.
fn run_clean(bin: &Path, dir: &Path, home: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CACHE_HOME", cache)
        .env("NO_COLOR", "1")
        .output()
        .expect("run the installed harden")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// The text of a snapshot in snapshots/, without insta's header.
fn snapshot_body(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("snapshots/{name}.snap"));
    let snap = std::fs::read_to_string(&path).expect("snapshot");
    let body = snap
        .strip_prefix("---\n")
        .and_then(|s| s.split_once("\n---\n"))
        .map(|(_, body)| body)
        .expect("an insta header");
    body.to_string()
}

#[test]
fn installed_binary_runs_outside_the_checkout() {
    if !asked() {
        // Straight to the process's stderr: the harness captures
        // `eprintln!`, and a skip must be visible in a plain `cargo test`.
        let _ = writeln!(
            std::io::stderr(),
            "installed_binary_runs_outside_the_checkout: skipped: it runs cargo install \
             (set HARDEN_INSTALL_TEST=1 or HARDEN_E2E=require to run it)"
        );
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = common::scratch();
    let mut install = Command::new(env!("CARGO"));
    install
        .args(["install", "--locked", "--debug", "--offline", "--path"])
        .arg(repo)
        .arg("--root")
        .arg(root.path())
        .env("CARGO_TARGET_DIR", target_dir());
    // What cargo sets for this test's process, not the user's settings: a
    // dependency's build script that watches one of them (ring's watches
    // CARGO_MANIFEST_DIR and OUT_DIR) would be rebuilt here, and then again
    // by the next `cargo test`.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || [
                "OUT_DIR",
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&&*key)
        {
            install.env_remove(&*key);
        }
    }
    let started = Instant::now();
    let out = install.output().expect("run cargo install");
    assert!(
        out.status.success(),
        "cargo install failed: {}",
        text(&out.stderr)
    );
    // What the time went on: crates built again, or waits for a lock that
    // another cargo holds.
    let log = text(&out.stderr);
    let work: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Compiling") || l.starts_with("Blocking"))
        .collect();
    let _ = writeln!(
        std::io::stderr(),
        "installed_binary_runs_outside_the_checkout: cargo install took {:.1?}{}{}",
        started.elapsed(),
        if work.is_empty() { "" } else { ": " },
        work.join("; ")
    );
    let bin = root.path().join("bin/harden");
    assert!(bin.is_file(), "no {}", bin.display());

    // An empty folder outside the checkout, and a HOME and cache of its own.
    let work = common::scratch();
    let home = common::scratch();
    let cache = common::scratch();
    assert!(!work.path().starts_with(repo));
    let run = |args: &[&str]| run_clean(&bin, work.path(), home.path(), cache.path(), args);

    let version = run(&["--version"]);
    assert!(version.status.success(), "{}", text(&version.stderr));
    let version = text(&version.stdout);
    let prefix = format!("harden {} (knowledge ", env!("CARGO_PKG_VERSION"));
    let date = version
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("--version printed {version:?}"));
    assert!(
        date.len() == 10 && date.starts_with("20"),
        "knowledge date {date:?}"
    );

    // The rule page is the embedded one, as snapshotted from the build tree.
    let explain = run(&["explain", "root-user"]);
    assert!(explain.status.success(), "{}", text(&explain.stderr));
    assert_eq!(
        text(&explain.stdout).trim_end(),
        snapshot_body("explain_root-user").trim_end()
    );

    // A project written into the empty folder: the postgres profile's user,
    // socket volume and the baseline, as a dry run that changes nothing.
    let compose = work.path().join("compose.yaml");
    std::fs::write(&compose, COMPOSE).expect("write compose.yaml");
    let fix = run(&["fix", "--dry-run", "--offline"]);
    assert_eq!(fix.status.code(), Some(1), "{}", text(&fix.stderr));
    let diff = text(&fix.stdout);
    for line in [
        "+++ b/compose.yaml",
        "+      - db-run:/run/postgresql",
        "+    user: \"999:999\"",
        "+    read_only: true",
        "+      - ALL",
        "+      - no-new-privileges:true",
        "+  db-run:",
    ] {
        assert!(
            diff.lines().any(|l| l == line),
            "no {line:?} in the diff:\n{diff}"
        );
    }
    assert!(
        text(&fix.stderr).contains("(postgres image profile)"),
        "notes do not name the profile:\n{}",
        text(&fix.stderr)
    );
    assert_eq!(std::fs::read_to_string(&compose).unwrap(), COMPOSE);

    // The same as the binary cargo test built, run the same way.
    let built = run_clean(
        Path::new(common::BIN),
        work.path(),
        home.path(),
        cache.path(),
        &["fix", "--dry-run", "--offline"],
    );
    assert_eq!(text(&built.stdout), diff);
}
