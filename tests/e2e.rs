//! End-to-end proof that hardened services still work: each example under
//! `examples/e2e/` is built and run in real containers, first as it was
//! before hardening, then hardened (every `harden verify` check passes), then
//! deliberately broken (verify fails and says why).
//!
//! Needs a container engine and the local base image that
//! `.ci/e2e-setup.sh` builds. Without them the tests print why they were
//! skipped and pass, so `cargo test` works anywhere; `HARDEN_E2E=require`
//! turns a missing engine into a failure (CI sets it).

use harden::verify::{engine, run_with, VerifyArgs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const BASE_IMAGE: &str = "localhost/debian:bookworm-slim";
/// Short settle time: the examples start in well under a second.
const SETTLE: &str = "3";

/// The engine to use, or `None` (after saying why) when the tests must skip.
fn engine_or_skip(test: &str) -> Option<engine::Backend> {
    let require = std::env::var("HARDEN_E2E").is_ok_and(|v| v == "require");
    let why = match engine::detect(None) {
        Ok(b) => {
            let has_base = Command::new(b.cli)
                .args(["image", "inspect", BASE_IMAGE])
                .output()
                .is_ok_and(|o| o.status.success());
            if has_base {
                return Some(b);
            }
            format!("base image {BASE_IMAGE} missing (run: bash .ci/e2e-setup.sh)")
        }
        Err(_) => "no container engine".to_string(),
    };
    assert!(!require, "{test}: {why}, and HARDEN_E2E=require is set");
    // Straight to the process's stderr: the test harness captures
    // `eprintln!`, and a skip must be visible in a plain `cargo test`.
    let _ = writeln!(
        std::io::stderr(),
        "{test}: skipped: {why} (set HARDEN_E2E=require to fail instead)"
    );
    None
}

fn example(name: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/e2e")
        .join(name)
        .join(file)
}

/// Whether the built binary already has the `verify` subcommand.
fn binary_has_verify() -> bool {
    Command::new(env!("CARGO_BIN_EXE_harden"))
        .args(["verify", "--help"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("--engine")
        })
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Status word and evidence of the report row for `check`.
    fn row(&self, check: &str) -> Option<(String, String)> {
        self.stdout.lines().find_map(|line| {
            let rest = line.trim_start().strip_prefix(check)?;
            let rest = rest.trim_start();
            let (word, evidence) = rest.split_once("  ")?;
            matches!(word, "PASS" | "FAIL" | "SKIP")
                .then(|| (word.to_string(), evidence.to_string()))
        })
    }

    fn expect_row(&self, check: &str, word: &str, evidence_part: &str) {
        let (w, ev) = self
            .row(check)
            .unwrap_or_else(|| panic!("no `{check}` row in the report:\n{}", self.stdout));
        assert_eq!(w, word, "`{check}`: {ev}\n{}", self.stdout);
        assert!(
            ev.contains(evidence_part),
            "`{check}` evidence lacks {evidence_part:?}: {ev}\n{}",
            self.stdout
        );
    }

    fn project(&self) -> Option<String> {
        let rest = self.stderr.split("starting project ").nth(1)?;
        rest.split_whitespace().next().map(str::to_string)
    }
}

/// Run `harden verify` on one compose file: through the binary once it has
/// the subcommand, through the library until then.
fn verify(file: &Path) -> Outcome {
    let out = if binary_has_verify() {
        let o = Command::new(env!("CARGO_BIN_EXE_harden"))
            .args(["verify", "--settle", SETTLE])
            .arg(file)
            .env("NO_COLOR", "1")
            .output()
            .expect("run harden");
        Outcome {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    } else {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            verify: VerifyArgs,
        }
        let file = file.to_string_lossy().into_owned();
        let cli =
            Cli::try_parse_from(["verify", "--settle", SETTLE, file.as_str()]).expect("arguments");
        console::set_colors_enabled(false);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(&cli.verify, &mut out, &mut err);
        Outcome {
            code: i32::from(code),
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
        }
    };
    eprintln!(
        "--- harden verify {}\n{}{}",
        file.display(),
        out.stdout,
        out.stderr
    );
    out
}

/// Nothing of the project may be left: containers, volumes, networks, images.
fn assert_removed(backend: &engine::Backend, outcome: &Outcome) {
    let project = outcome
        .project()
        .expect("project name in the progress output");
    assert!(project.starts_with("harden-verify-"), "{project}");
    let filter = format!("label=com.docker.compose.project={project}");
    for kind in ["container", "volume", "network"] {
        let o = Command::new(backend.cli)
            .args([kind, "ls", "-q", "--filter", filter.as_str()])
            .args(if kind == "container" {
                &["-a"][..]
            } else {
                &[][..]
            })
            .output()
            .expect("list");
        let left = String::from_utf8_lossy(&o.stdout);
        assert!(
            left.trim().is_empty(),
            "{kind}s of {project} left behind: {left}"
        );
    }
    let o = Command::new(backend.cli)
        .args([
            "image",
            "ls",
            "-q",
            "--filter",
            &format!("reference=*{project}*"),
        ])
        .output()
        .expect("images");
    let left = String::from_utf8_lossy(&o.stdout);
    assert!(
        left.trim().is_empty(),
        "images of {project} left behind: {left}"
    );
}

/// Keeps an example's package layers in the build cache while its verify
/// runs come and go (each run removes the image it built, and with it every
/// layer no other image shares); removed again when the test ends.
struct CacheAnchor {
    cli: &'static str,
    tag: String,
}

impl CacheAnchor {
    fn build(backend: &engine::Backend, name: &str) -> CacheAnchor {
        let tag = format!("localhost/harden-e2e-cache-{name}:{}", std::process::id());
        let dir = example(name, "");
        let o = Command::new(backend.cli)
            .args(["build", "-q", "-t", tag.as_str(), "-f"])
            .arg(dir.join("Dockerfile"))
            .arg(&dir)
            .output()
            .expect("build");
        assert!(
            o.status.success(),
            "building {name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        CacheAnchor {
            cli: backend.cli,
            tag,
        }
    }
}

impl Drop for CacheAnchor {
    fn drop(&mut self) {
        let _ = Command::new(self.cli)
            .args(["image", "rm", self.tag.as_str()])
            .output();
    }
}

#[test]
fn python_web_service_works_hardened() {
    let Some(backend) = engine_or_skip("python_web_service_works_hardened") else {
        return;
    };
    let _cache = CacheAnchor::build(&backend, "python-web");
    // Before: it runs and answers HTTP, but as root with default capabilities.
    let plain = verify(&example("python-web", "compose.plain.yaml"));
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    plain.expect_row("running", "PASS", "running");
    plain.expect_row("healthy", "PASS", "healthcheck passed");
    plain.expect_row("non-root", "FAIL", "Uid: 0 0 0 0");
    plain.expect_row("capabilities", "FAIL", "not in cap_add: CHOWN");
    plain.expect_row("read-only root", "FAIL", "ReadonlyRootfs false");
    assert_removed(&backend, &plain);

    // After: every check passes, and it still answers HTTP.
    let hardened = verify(&example("python-web", "compose.yaml"));
    assert_eq!(hardened.code, 0, "{}\n{}", hardened.stdout, hardened.stderr);
    hardened.expect_row("healthy", "PASS", "healthcheck passed");
    hardened.expect_row("non-root", "PASS", "Uid: 1000 1000 1000 1000");
    hardened.expect_row("capabilities", "PASS", "= none");
    hardened.expect_row("no-new-privileges", "PASS", "NoNewPrivs: 1");
    hardened.expect_row("read-only root", "PASS", "touch /harden-probe refused");
    hardened.expect_row("writable /tmp", "PASS", "write probe ok");
    hardened.expect_row("writable /app/data", "PASS", "write probe ok");
    assert!(hardened.stdout.contains("all checks passed"));
    assert_removed(&backend, &hardened);

    // Broken: without its data volume the service cannot start.
    let broken = verify(&example("python-web", "compose.broken.yaml"));
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    broken.expect_row("running", "FAIL", "exit code 1");
    assert!(
        broken.stdout.contains("cannot write state")
            && broken.stdout.contains("Read-only file system")
            && broken.stdout.contains("last log lines"),
        "the failing service's log tail is shown:\n{}",
        broken.stdout
    );
    assert!(broken.stdout.contains("failing services: web"));
    assert_removed(&backend, &broken);
}

#[test]
fn nginx_serves_port_80_without_capabilities() {
    let Some(backend) = engine_or_skip("nginx_serves_port_80_without_capabilities") else {
        return;
    };
    let _cache = CacheAnchor::build(&backend, "nginx");
    let plain = verify(&example("nginx", "compose.plain.yaml"));
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    plain.expect_row("running", "PASS", "running");
    plain.expect_row("healthy", "PASS", "healthcheck passed");
    plain.expect_row("non-root", "FAIL", "Uid: 0");
    assert_removed(&backend, &plain);

    let hardened = verify(&example("nginx", "compose.yaml"));
    assert_eq!(hardened.code, 0, "{}\n{}", hardened.stdout, hardened.stderr);
    hardened.expect_row("healthy", "PASS", "healthcheck passed");
    hardened.expect_row("non-root", "PASS", "Uid: 1000");
    hardened.expect_row("capabilities", "PASS", "CapEff 0000000000000000 = none");
    hardened.expect_row("writable /var/lib/nginx", "PASS", "tmpfs tmpfs mounted rw");
    hardened.expect_row("writable /var/log/nginx", "PASS", "write probe ok");
    assert_removed(&backend, &hardened);

    // Broken: without the unprivileged-port sysctl, port 80 is out of reach.
    let broken = verify(&example("nginx", "compose.broken.yaml"));
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    broken.expect_row("running", "FAIL", "exit code 1");
    assert!(
        broken.stdout.contains("Permission denied") && broken.stdout.contains(":80"),
        "the log tail shows the failed bind:\n{}",
        broken.stdout
    );
    assert_removed(&backend, &broken);
}

#[test]
fn static_binary_from_scratch_is_verified_without_a_shell() {
    let Some(backend) = engine_or_skip("static_binary_from_scratch_is_verified_without_a_shell")
    else {
        return;
    };
    let _cache = CacheAnchor::build(&backend, "static-scratch");
    let plain = verify(&example("static-scratch", "compose.plain.yaml"));
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    plain.expect_row("running", "PASS", "running");
    plain.expect_row("non-root", "FAIL", "Uid: 0");
    assert_removed(&backend, &plain);

    let hardened = verify(&example("static-scratch", "compose.yaml"));
    assert_eq!(hardened.code, 0, "{}\n{}", hardened.stdout, hardened.stderr);
    hardened.expect_row("non-root", "PASS", "Uid: 65534 65534 65534 65534");
    hardened.expect_row("no-new-privileges", "PASS", "NoNewPrivs: 1");
    // No shell in the image: the evidence comes from /proc alone.
    hardened.expect_row(
        "read-only root",
        "PASS",
        "/ mounted ro; no shell for a write probe",
    );
    assert_removed(&backend, &hardened);

    let broken = verify(&example("static-scratch", "compose.broken.yaml"));
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    broken.expect_row("running", "PASS", "running");
    broken.expect_row("read-only root", "FAIL", "ReadonlyRootfs false");
    broken.expect_row("no-new-privileges", "FAIL", "NoNewPrivs: 0");
    assert!(broken.stdout.contains("failing services: httpd"));
    assert_removed(&backend, &broken);
}
