//! End-to-end proof that harden's own output still works: each example
//! under `examples/e2e/` is an unhardened project. A copy of it is built and
//! run in real containers as it is (it works, and `harden verify` shows what
//! is missing), then `harden fix` hardens the copy (its diff is a snapshot),
//! and every `harden verify` check passes on the result. Last, the fixed
//! copy is deliberately broken (a carve-out or a setting taken out of
//! harden's output) and verify fails and says why.
//!
//! The fix and its snapshot need no engine and always run. The containers
//! need an engine and the local base image that `.ci/e2e-setup.sh` builds;
//! without them the tests print why they were skipped and pass, so `cargo
//! test` works anywhere; `HARDEN_E2E=require` turns a missing engine into a
//! failure (CI sets it).

mod common;
mod compose_merge;

use harden::verify::{engine, run_with, VerifyArgs};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Short settle time: the examples start in well under a second.
const SETTLE: &str = "3";

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/e2e")
        .join(name)
}

/// A copy of the unhardened example, to fix and break without touching the
/// repository. Its directory name is unique, and so is every verify run's
/// project name.
fn copy_example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("harden-e2e-{name}-"))
        .tempdir()
        .expect("tempdir");
    common::copy_tree(&example(name), dir.path());
    dir
}

/// `harden fix` on the copy: the diff it announces (snapshot `e2e_fix_NAME`,
/// and printed) is the one it writes, and a second fix changes nothing.
fn fix(name: &str, dir: &Path) {
    common::fix_flat_project(name, dir, |dry| {
        common::snapshot(&format!("e2e_fix_{}", name.replace('-', "_")), &dry.stdout);
    });
}

/// Take `lines` (each exactly as harden wrote it, whole) out of the fixed
/// `file`, to break one thing on purpose. Each must be there exactly once,
/// so a change in harden's output shows here rather than as a test that
/// breaks nothing.
fn remove_lines(dir: &Path, file: &str, lines: &[&str]) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read fixed file");
    let mut kept: Vec<&str> = text.split_inclusive('\n').collect();
    for line in lines {
        let at: Vec<usize> = kept
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim_end_matches(['\r', '\n']) == *line)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(at.len(), 1, "{line:?} once in {file}:\n{text}");
        kept.remove(at[0]);
    }
    std::fs::write(&path, kept.concat()).expect("write broken file");
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
        let dir = example(name);
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
    let copy = copy_example("python-web");
    let dir = copy.path();
    let compose = dir.join("compose.yaml");
    let backend = common::engine_with_base_or_skip("python_web_service_works_hardened");
    // Before: it runs and answers HTTP, but as root with default capabilities.
    let cache = backend.as_ref().map(|b| {
        let cache = CacheAnchor::build(b, "python-web");
        let plain = verify(&compose);
        assert_eq!(plain.code, 1, "{}", plain.stderr);
        plain.expect_row("running", "PASS", "running");
        plain.expect_row("healthy", "PASS", "healthcheck passed");
        plain.expect_row("non-root", "FAIL", "Uid: 0 0 0 0");
        plain.expect_row("capabilities", "FAIL", "not in cap_add: CHOWN");
        plain.expect_row("read-only root", "FAIL", "ReadonlyRootfs false");
        assert_removed(b, &plain);
        cache
    });
    fix("python-web", dir);
    let (Some(backend), Some(_cache)) = (backend, cache) else {
        return;
    };

    // After harden fix: every check passes, and it still answers HTTP.
    let hardened = verify(&compose);
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

    // Broken: without the data volume harden added, /app/data lies on the
    // read-only root and the service cannot write its state. (A missing /tmp
    // carve-out would not show on Podman: with a read-only root it mounts a
    // tmpfs on /tmp, /var/tmp and /run by itself; Docker does not.)
    remove_lines(
        dir,
        "compose.yaml",
        &["    volumes:", "      - web-data:/app/data"],
    );
    let broken = verify(&compose);
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
    let copy = copy_example("nginx");
    let dir = copy.path();
    let compose = dir.join("compose.yaml");
    let backend = common::engine_with_base_or_skip("nginx_serves_port_80_without_capabilities");
    let cache = backend.as_ref().map(|b| {
        let cache = CacheAnchor::build(b, "nginx");
        let plain = verify(&compose);
        assert_eq!(plain.code, 1, "{}", plain.stderr);
        plain.expect_row("running", "PASS", "running");
        plain.expect_row("healthy", "PASS", "healthcheck passed");
        plain.expect_row("non-root", "FAIL", "Uid: 0");
        assert_removed(b, &plain);
        cache
    });
    fix("nginx", dir);
    let (Some(backend), Some(_cache)) = (backend, cache) else {
        return;
    };

    // harden's nginx knowledge: tmpfs for its temp files, logs and pid
    // file, each prepared in the Dockerfile for the new user.
    let hardened = verify(&compose);
    assert_eq!(hardened.code, 0, "{}\n{}", hardened.stdout, hardened.stderr);
    hardened.expect_row("healthy", "PASS", "healthcheck passed");
    hardened.expect_row("non-root", "PASS", "Uid: 1000");
    hardened.expect_row("capabilities", "PASS", "CapEff 0000000000000000 = none");
    hardened.expect_row("writable /var/lib/nginx", "PASS", "tmpfs tmpfs mounted rw");
    hardened.expect_row("writable /var/log/nginx", "PASS", "write probe ok");
    hardened.expect_row("writable /run", "PASS", "write probe ok");
    assert_removed(&backend, &hardened);

    // Broken: without the /var/lib/nginx carve-out nginx cannot create its
    // temp directories on the read-only root and stops.
    remove_lines(
        dir,
        "compose.yaml",
        &["      - /var/lib/nginx:size=64m,mode=1777"],
    );
    let broken = verify(&compose);
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    broken.expect_row("running", "FAIL", "exit code 1");
    assert!(
        broken.stdout.contains("/var/lib/nginx/body")
            && broken.stdout.contains("Read-only file system"),
        "the log tail shows the failed mkdir:\n{}",
        broken.stdout
    );
    assert_removed(&backend, &broken);
}

#[test]
fn static_binary_from_scratch_is_verified_without_a_shell() {
    let copy = copy_example("static-scratch");
    let dir = copy.path();
    let compose = dir.join("compose.yaml");
    let backend =
        common::engine_with_base_or_skip("static_binary_from_scratch_is_verified_without_a_shell");
    let cache = backend.as_ref().map(|b| {
        let cache = CacheAnchor::build(b, "static-scratch");
        let plain = verify(&compose);
        assert_eq!(plain.code, 1, "{}", plain.stderr);
        plain.expect_row("running", "PASS", "running");
        plain.expect_row("non-root", "FAIL", "Uid: 0");
        assert_removed(b, &plain);
        cache
    });
    fix("static-scratch", dir);
    let (Some(backend), Some(_cache)) = (backend, cache) else {
        return;
    };

    let hardened = verify(&compose);
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

    // Broken: the root filesystem writable again and privilege escalation
    // no longer blocked.
    remove_lines(
        dir,
        "compose.yaml",
        &[
            "    read_only: true",
            "    security_opt:",
            "      - no-new-privileges:true",
        ],
    );
    let broken = verify(&compose);
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    broken.expect_row("running", "PASS", "running");
    broken.expect_row("read-only root", "FAIL", "ReadonlyRootfs false");
    broken.expect_row("no-new-privileges", "FAIL", "NoNewPrivs: 0");
    assert!(broken.stdout.contains("failing services: httpd"));
    assert_removed(&backend, &broken);
}

/// An image tag of the test's own, removed when the test ends.
struct OwnImage {
    cli: &'static str,
    tag: String,
}

impl Drop for OwnImage {
    fn drop(&mut self) {
        let _ = Command::new(self.cli)
            .args(["image", "rm", self.tag.as_str()])
            .output();
    }
}

/// A project of several files: a base whose image the web service builds
/// and the export service runs by name, and a production variant. Hardened
/// as harden reads it (the variant gets only what the merge lacks), then
/// base and variant merged as `docker compose -f docker-compose.yml -f
/// docker-compose.prod.yml config` merges them (podman-compose 1.0 has no
/// `config`: the tests' own implementation of Compose's merge rules) and
/// verified: both services run as the Dockerfile's user, read-only, with
/// no capabilities, and write their data and the variant's exports.
#[test]
fn a_base_and_its_variant_work_hardened_together() {
    let copy = copy_example("notes-variant");
    let dir = copy.path();
    fix("notes-variant", dir);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("read");
    let (base, prod) = (read("docker-compose.yml"), read("docker-compose.prod.yml"));
    let unhardened = |f: &str| std::fs::read_to_string(example("notes-variant").join(f)).unwrap();
    let problems = compose_merge::merge_problems(
        &common::compose_data(&base),
        &common::compose_data(&prod),
        &common::compose_data(&unhardened("docker-compose.prod.yml")),
    );
    assert!(problems.is_empty(), "{problems:#?}");
    let Some(backend) =
        common::engine_with_base_or_skip("a_base_and_its_variant_work_hardened_together")
    else {
        return;
    };

    // The image the export service runs by name: the hardened Dockerfile,
    // under a tag of this test's own.
    let tag = format!("localhost/harden-e2e-notes-{}:dev", std::process::id());
    let base = base.replace("localhost/harden-e2e-notes:dev", &tag);
    let built = Command::new(backend.cli)
        .args(["build", "-q", "-t", tag.as_str(), "-f"])
        .arg(dir.join("Dockerfile"))
        .arg(dir)
        .output()
        .expect("build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let _image = OwnImage {
        cli: backend.cli,
        tag: tag.clone(),
    };
    let merged = compose_merge::merge(&common::compose_data(&base), &common::compose_data(&prod));
    let file = dir.join("docker-compose.merged.yml");
    std::fs::write(&file, serde_json::to_string_pretty(&merged).unwrap()).expect("write");

    let hardened = verify(&file);
    assert_eq!(hardened.code, 0, "{}\n{}", hardened.stdout, hardened.stderr);
    hardened.expect_row("healthy", "PASS", "healthcheck passed");
    for row in ["writable /app/data", "writable /app/exports"] {
        assert_eq!(
            hardened
                .stdout
                .lines()
                .filter(|l| l.trim_start().starts_with(row) && l.contains("PASS"))
                .count(),
            4,
            "{row} for web and export, started and restarted:\n{}",
            hardened.stdout
        );
    }
    assert!(
        hardened.stdout.contains("all checks passed"),
        "{}",
        hardened.stdout
    );
    assert_removed(&backend, &hardened);
}
