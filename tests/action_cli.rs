//! The GitHub Action (action.yml and scripts/action/): its scripts run with
//! bash as a runner would run them, with fake GITHUB_OUTPUT,
//! GITHUB_STEP_SUMMARY and GITHUB_PATH files, against a scratch copy of
//! tests/fixtures/action/project (a compose file with a Python API, a Node
//! worker and Redis). The install script is served a "release" by a local
//! HTTP server and falls back to a stand-in for cargo.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn script(name: &str) -> PathBuf {
    root().join("scripts/action").join(name)
}

fn bin_dir() -> &'static Path {
    Path::new(BIN).parent().expect("the binary's folder")
}

/// What one run of a script left behind.
struct Step {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
    summary: String,
    path: String,
    /// RUNNER_TEMP's parent: the output files live there until the step drops.
    _runner: tempfile::TempDir,
}

/// Runs `scripts/action/<name> <args>` in `workspace` with `env`, the
/// runner's files in a fresh folder and harden's folder first on PATH.
/// Variables a real runner or the caller's shell might have set for the
/// action are removed first, so that only `env` counts.
fn step(name: &str, args: &[&str], workspace: &Path, env: &[(&str, &str)]) -> Step {
    let runner = scratch();
    let file = |n: &str| {
        let p = runner.path().join(n);
        std::fs::write(&p, "").expect("runner file");
        p
    };
    let (output, summary, gh_path) = (file("output"), file("summary"), file("path"));
    let temp = runner.path().join("temp");
    std::fs::create_dir(&temp).expect("runner temp");
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(script(name)).args(args).current_dir(workspace);
    for (k, _) in std::env::vars() {
        if k.starts_with("INPUT_") || k.starts_with("HARDEN_") || k.starts_with("GITHUB_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("PATH", path)
        .env("NO_COLOR", "1")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_PATH", &gh_path)
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_ACTION_PATH", root())
        .env("RUNNER_TEMP", &temp);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run bash");
    let read = |p: &Path| std::fs::read_to_string(p).expect("runner file");
    let text = read(&output);
    let mut outputs = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("GITHUB_OUTPUT line without `=`: {line:?}"));
        assert!(
            outputs.insert(k.to_string(), v.to_string()).is_none(),
            "output {k} set twice:\n{text}"
        );
    }
    Step {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs,
        summary: read(&summary),
        path: read(&gh_path),
        _runner: runner,
    }
}

fn project() -> tempfile::TempDir {
    let dir = scratch();
    copy_tree(&fixtures().join("action/project"), dir.path());
    dir
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

/// Every file under `dir`, relative, with its text.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).expect("under base");
                out.insert(rel.to_string_lossy().into_owned(), read(&p));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn action() -> Yaml {
    let text = read(root().join("action.yml"));
    YamlLoader::load_from_str(&text)
        .expect("action.yml is YAML")
        .remove(0)
}

fn keys(map: &Yaml) -> BTreeSet<String> {
    map.as_hash()
        .expect("a mapping")
        .keys()
        .map(|k| k.as_str().expect("string key").to_string())
        .collect()
}

/// Every output that action.yml declares.
fn declared_outputs() -> BTreeSet<String> {
    keys(&action()["outputs"])
}

fn assert_outputs_declared(s: &Step) {
    let declared = declared_outputs();
    for k in s.outputs.keys() {
        assert!(declared.contains(k), "output {k} is not in action.yml");
    }
}

#[test]
fn check_writes_sarif_and_annotations_and_fails_on_findings() {
    let dir = project();
    let s = step("run.sh", &[], dir.path(), &[]);
    assert_eq!(s.code, 1, "{}\n{}", s.stdout, s.stderr);
    assert_outputs_declared(&s);
    let sarif = &s.outputs["sarif"];
    assert!(sarif.ends_with("/harden.sarif"), "{sarif}");
    assert!(
        !Path::new(sarif).starts_with(dir.path()),
        "the report stays out of the workspace"
    );
    let doc: serde_json::Value = serde_json::from_str(&read(sarif)).expect("SARIF is JSON");
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    let rules: BTreeSet<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().expect("ruleId"))
        .collect();
    assert!(rules.contains("root-user"), "{rules:?}");
    assert!(rules.contains("writable-rootfs"), "{rules:?}");
    // The annotations are in the log: one line per SARIF result.
    let annotations: Vec<&str> = s
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error ") || l.starts_with("::warning "))
        .collect();
    assert_eq!(annotations.len(), results.len(), "{}", s.stdout);
    assert!(s
        .stdout
        .contains("::error file=api/Dockerfile,line=1,col=1,title=harden root-user::"));
    let errors = annotations
        .iter()
        .filter(|l| l.starts_with("::error "))
        .count();
    assert_eq!(s.outputs["errors"], errors.to_string());
    assert_eq!(
        s.outputs["warnings"],
        (annotations.len() - errors).to_string()
    );
    assert!(s.summary.starts_with("## harden check\n"), "{}", s.summary);
    assert!(
        s.summary.contains(&format!(
            "{errors} error(s), 2 warning(s): failed (fail-on: error)"
        )),
        "{}",
        s.summary
    );
}

#[test]
fn check_with_fail_on_never_reports_and_passes() {
    let dir = project();
    let s = step("run.sh", &[], dir.path(), &[("INPUT_FAIL_ON", "never")]);
    assert_eq!(s.code, 0, "{}\n{}", s.stdout, s.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&read(&s.outputs["sarif"])).expect("SARIF is JSON");
    assert!(!doc["runs"][0]["results"]
        .as_array()
        .expect("results")
        .is_empty());
    assert!(s.summary.contains(": passed."), "{}", s.summary);
}

/// `args` and `paths` reach harden as separate words, never through a
/// shell: a `;` or `$(...)` in them is only an argument.
#[test]
fn check_passes_args_and_paths_as_words() {
    let dir = project();
    let s = step(
        "run.sh",
        &[],
        dir.path(),
        &[
            ("INPUT_FORMAT", "json"),
            ("INPUT_ARGS", "--select\troot-user  --ignore implicit-home"),
            ("INPUT_PATHS", "api\nworker/Dockerfile"),
        ],
    );
    assert_eq!(s.code, 1, "{}", s.stderr);
    assert!(!s.outputs.contains_key("sarif"));
    let doc: serde_json::Value = serde_json::from_str(&read(&s.outputs["report"])).expect("JSON");
    let files: Vec<&str> = doc["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(files, ["api/Dockerfile", "worker/Dockerfile"]);
    for f in doc["files"].as_array().expect("files") {
        for finding in f["findings"].as_array().expect("findings") {
            assert_eq!(finding["rule"], "root-user", "{finding}");
        }
    }
    // The JSON report is also the log.
    assert_eq!(s.stdout, read(&s.outputs["report"]));

    let marker = dir.path().join("ran");
    let evil = format!(
        "--select root-user; touch {0} $(touch {0})",
        marker.display()
    );
    let s = step("run.sh", &[], dir.path(), &[("INPUT_ARGS", &evil)]);
    assert_eq!(s.code, 2, "{}\n{}", s.stdout, s.stderr);
    assert!(!marker.exists(), "args were run by a shell");
}

#[test]
fn bad_inputs_are_refused_with_status_2() {
    let dir = project();
    for (k, v, says) in [
        ("INPUT_MODE", "apply", "mode must be check or fix"),
        ("INPUT_FORMAT", "xml", "format must be"),
        ("INPUT_FAIL_ON", "info", "fail-on must be"),
    ] {
        let s = step("run.sh", &[], dir.path(), &[(k, v)]);
        assert_eq!(s.code, 2, "{k}={v}");
        assert!(s.stdout.contains(says), "{k}={v}: {}", s.stdout);
        assert!(s.outputs.is_empty());
    }
}

/// The contents of the body's ```diff blocks, in order.
fn diff_blocks(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((_, after)) = rest.split_once("```diff\n") {
        let (block, next) = after.split_once("```").expect("closed fence");
        out.push_str(block);
        rest = next;
    }
    out
}

#[test]
fn fix_writes_the_patch_it_reports_and_then_has_nothing_to_do() {
    let dir = project();
    let pristine = project();
    let before = tree(dir.path());
    let s = step("run.sh", &[], dir.path(), &[("INPUT_MODE", "fix")]);
    assert_eq!(s.code, 0, "{}\n{}", s.stdout, s.stderr);
    assert_outputs_declared(&s);
    assert_eq!(s.outputs["changed"], "true");
    for k in ["patch", "pr-body"] {
        assert!(
            !Path::new(&s.outputs[k]).starts_with(dir.path()),
            "{k} stays out of the workspace, where a pull request would take it"
        );
    }

    // The patch, applied to an untouched copy, gives exactly what was written.
    let patch = read(&s.outputs["patch"]);
    git_apply(pristine.path(), &patch);
    let after = tree(dir.path());
    assert_eq!(tree(pristine.path()), after);
    let changed: Vec<&String> = after.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(
        changed,
        ["api/Dockerfile", "compose.yaml", "worker/Dockerfile"]
    );
    for f in &changed {
        assert_fixed_file(f, &before[*f], &after[*f], true);
    }

    // The body is markdown that holds that same diff.
    let body = read(&s.outputs["pr-body"]);
    assert!(body.starts_with("# "), "{body}");
    assert!(body.contains("| files changed | 3 |"), "{body}");
    assert_eq!(diff_blocks(&body), patch);

    assert!(s.summary.starts_with("## harden fix\n"), "{}", s.summary);
    assert!(s.summary.contains("3 file(s) changed:"), "{}", s.summary);
    assert!(s.summary.contains("- `compose.yaml`\n"), "{}", s.summary);

    // Only the canary advice is left: a warning, which fails only when asked.
    let check = step("run.sh", &[], dir.path(), &[("INPUT_FORMAT", "github")]);
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert_eq!(check.outputs["errors"], "0");
    assert_eq!(check.outputs["warnings"], "2");
    let strict = step("run.sh", &[], dir.path(), &[("INPUT_FAIL_ON", "warning")]);
    assert_eq!(strict.code, 1, "{}", strict.stdout);

    let again = step("run.sh", &[], dir.path(), &[("INPUT_MODE", "fix")]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.outputs["changed"], "false");
    assert_eq!(read(&again.outputs["patch"]), "");
    assert!(
        again.summary.contains("Nothing to change."),
        "{}",
        again.summary
    );
    assert_eq!(tree(dir.path()), after);
}

#[test]
fn fix_stops_on_unreadable_input_without_writing() {
    let dir = project();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  api: [unclosed\n",
    )
    .expect("break compose file");
    let before = tree(dir.path());
    let s = step("run.sh", &[], dir.path(), &[("INPUT_MODE", "fix")]);
    assert_eq!(s.code, 2, "{}\n{}", s.stdout, s.stderr);
    assert!(s.stdout.contains("::error::harden fix could not read"));
    assert!(!s.outputs.contains_key("changed"));
    assert_eq!(tree(dir.path()), before);
}

/// `python3 -m http.server` on 127.0.0.1 at a free port, stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server's first line");
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The target triple install.sh names release archives for on this machine.
fn target() -> String {
    let os = if cfg!(target_os = "macos") {
        "apple-darwin"
    } else {
        "unknown-linux-gnu"
    };
    format!("{}-{os}", std::env::consts::ARCH)
}

/// A stand-in for cargo that records its arguments and installs the built
/// binary where `--root` says, as `cargo install` would.
fn cargo_stub(dir: &Path) -> (PathBuf, PathBuf) {
    let stub = dir.join("cargo-stub");
    let log = dir.join("cargo-args");
    std::fs::write(
        &stub,
        format!(
            "#!/usr/bin/env bash\nset -euo pipefail\nprintf '%s\\n' \"$@\" > '{log}'\n\
             mkdir -p \"${{@: -1}}/bin\"\ncp '{bin}' \"${{@: -1}}/bin/harden\"\n",
            log = log.display(),
            bin = BIN
        ),
    )
    .expect("write stub");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (stub, log)
}

/// The release folder the server offers: `v<version>/harden-<target>.tar.gz`
/// holding `harden-<target>/harden` (the built binary), a bare binary that
/// is not a program, and an archive without a harden.
fn release(dir: &Path) {
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let stage = dir.join("stage").join(format!("harden-{}", target()));
    std::fs::create_dir_all(&stage).expect("stage");
    std::fs::copy(BIN, stage.join("harden")).expect("copy binary");
    let out = dir.join("www").join(&version);
    std::fs::create_dir_all(&out).expect("release dir");
    let tar = |archive: PathBuf, what: &str| {
        let st = Command::new("tar")
            .arg("-czf")
            .arg(archive)
            .arg("-C")
            .arg(dir.join("stage"))
            .arg(what)
            .status()
            .expect("run tar");
        assert!(st.success());
    };
    tar(
        out.join(format!("harden-{}.tar.gz", target())),
        &format!("harden-{}", target()),
    );
    std::fs::write(dir.join("stage/README"), "no binary here\n").expect("readme");
    tar(out.join("empty.tar.gz"), "README");
    std::fs::write(out.join("harden-garbage"), "\x7fELF not really\n").expect("garbage");
}

struct Install {
    step: Step,
    root: PathBuf,
    cargo_args: Option<String>,
    _dir: tempfile::TempDir,
}

fn install(url: &str, version: &str) -> Install {
    install_with(url, version, false)
}

/// `install`, with a harden already in the install folder and the cache
/// step's `cache-hit` when `cached`.
fn install_with(url: &str, version: &str, cached: bool) -> Install {
    let dir = scratch();
    let (stub, log) = cargo_stub(dir.path());
    let root = dir.path().join("tools");
    if cached {
        std::fs::create_dir_all(root.join("bin")).expect("bin");
        std::os::unix::fs::symlink(BIN, root.join("bin/harden")).expect("link");
    }
    let s = step(
        "install.sh",
        &["install"],
        dir.path(),
        &[
            ("INPUT_VERSION", version),
            ("INPUT_RELEASE_URL", url),
            ("INPUT_REPOSITORY", "example/harden"),
            ("INPUT_INSTALL_DIR", root.to_str().expect("utf-8 path")),
            ("HARDEN_ACTION_CARGO", stub.to_str().expect("utf-8 path")),
            ("HARDEN_CACHE_HIT", if cached { "true" } else { "" }),
        ],
    );
    let cargo_args = std::fs::read_to_string(&log).ok();
    Install {
        step: s,
        root,
        cargo_args,
        _dir: dir,
    }
}

#[test]
fn install_takes_the_release_binary_or_builds_with_cargo() {
    let dir = scratch();
    release(dir.path());
    let server = Server::start(&dir.path().join("www"));
    let base = format!("http://127.0.0.1:{}", server.port);
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));

    // The release for this runner: downloaded, unpacked, run; no cargo.
    let got = install(
        &format!("{base}/{{version}}/harden-{{target}}.tar.gz"),
        &version,
    );
    assert_eq!(got.step.code, 0, "{}\n{}", got.step.stdout, got.step.stderr);
    assert!(
        got.step.stdout.contains(&format!(
            "downloading {base}/{version}/harden-{}.tar.gz",
            target()
        )),
        "{}",
        got.step.stdout
    );
    assert!(got.step.stdout.contains("installed the release binary"));
    assert_eq!(got.cargo_args, None, "cargo ran: {}", got.step.stdout);
    assert_eq!(
        got.step.path,
        format!("{}\n", got.root.join("bin").display())
    );
    let installed = got.root.join("bin/harden");
    let v = Command::new(&installed)
        .arg("--version")
        .output()
        .expect("run the installed harden");
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout)
        .starts_with(&format!("harden {}", env!("CARGO_PKG_VERSION"))));

    // A cache hit is used as it is: no download, no cargo.
    let got = install_with(
        &format!("{base}/{{version}}/harden-garbage"),
        &version,
        true,
    );
    assert_eq!(got.step.code, 0, "{}\n{}", got.step.stdout, got.step.stderr);
    assert!(
        got.step.stdout.contains("using the cached"),
        "{}",
        got.step.stdout
    );
    assert!(
        !got.step.stdout.contains("downloading"),
        "{}",
        got.step.stdout
    );
    assert_eq!(got.cargo_args, None);
    assert_eq!(
        got.step.path,
        format!("{}\n", got.root.join("bin").display())
    );

    // No version to look for, no release there (404), a file that is not a
    // program, an archive without harden, a binary of another version: cargo
    // builds the action's own source into the install folder.
    for (url, version, why) in [
        (String::new(), "", "no release to download"),
        (
            format!("{base}/v0.0.0/harden-{{target}}.tar.gz"),
            version.as_str(),
            "no release binary",
        ),
        (
            format!("{base}/{{version}}/harden-garbage"),
            version.as_str(),
            "does not run",
        ),
        (
            format!("{base}/{{version}}/empty.tar.gz"),
            version.as_str(),
            "holds no file named harden",
        ),
        (
            format!("{base}/{version}/harden-{{target}}.tar.gz"),
            "v9.9.9",
            "not version v9.9.9",
        ),
    ] {
        let got = install(&url, version);
        assert_eq!(
            got.step.code, 0,
            "{url}: {}\n{}",
            got.step.stdout, got.step.stderr
        );
        assert!(got.step.stdout.contains(why), "{url}: {}", got.step.stdout);
        let args = got
            .cargo_args
            .unwrap_or_else(|| panic!("{url}: cargo did not run"));
        let want = format!(
            "install\n--locked\n--path\n{}\n--root\n{}\n",
            root().display(),
            got.root.display()
        );
        assert_eq!(args, want, "{url}");
        assert!(got.root.join("bin/harden").is_file());
        assert_eq!(
            got.step.path,
            format!("{}\n", got.root.join("bin").display())
        );
    }
    drop(server);
}

#[test]
fn prepare_names_the_binary_and_a_cache_key_of_the_source() {
    let dir = scratch();
    let s = step(
        "install.sh",
        &["prepare"],
        dir.path(),
        &[
            ("INPUT_INSTALL_DIR", "/opt/harden"),
            ("RUNNER_OS", "Linux"),
            ("RUNNER_ARCH", "X64"),
        ],
    );
    assert_eq!(s.code, 0, "{}", s.stderr);
    assert_eq!(s.outputs["bin"], "/opt/harden/bin/harden");
    let key = &s.outputs["key"];
    assert!(key.starts_with("harden-Linux-X64-src-"), "{key}");
    assert_eq!(key.len(), "harden-Linux-X64-src-".len() + 16, "{key}");
    let again = step(
        "install.sh",
        &["prepare"],
        dir.path(),
        &[
            ("INPUT_INSTALL_DIR", "/opt/harden"),
            ("RUNNER_OS", "Linux"),
            ("RUNNER_ARCH", "X64"),
            ("INPUT_VERSION", "v1.2.3"),
        ],
    );
    assert!(again.outputs["key"].starts_with("harden-Linux-X64-v1.2.3-"));
    let bad = step("install.sh", &["frobnicate"], dir.path(), &[]);
    assert_eq!(bad.code, 2);
}

/// Names that follow `prefix` in `text`, made of `allowed` characters.
fn names_after(text: &str, prefix: &str, allowed: fn(char) -> bool) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| allowed(*c))
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .collect()
}

/// The step of action.yml whose `run` calls `script`, with its `env` and id.
fn steps_running(script: &str) -> Vec<Yaml> {
    action()["runs"]["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .filter(|s| s["run"].as_str().is_some_and(|r| r.contains(script)))
        .cloned()
        .collect()
}

/// Every input a script reads is declared and handed to it by the steps
/// that run it; every declared input is used; every output a script sets is
/// the action's output or the next step's input, and each output of the
/// action comes from a step that sets it.
#[test]
fn action_yml_declares_what_the_scripts_read_and_set() {
    let a = action();
    assert_eq!(a["runs"]["using"].as_str(), Some("composite"));
    let inputs = keys(&a["inputs"]);
    let text = read(root().join("action.yml"));
    for i in &inputs {
        assert!(
            text.contains(&format!("${{{{ inputs.{i} }}}}")),
            "input {i} is not used"
        );
    }
    let upper = |c: char| c.is_ascii_uppercase() || c == '_';
    let lower = |c: char| c.is_ascii_lowercase() || c == '-';
    let mut set_by_step: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in ["install.sh", "run.sh"] {
        let source = read(script(name));
        let steps = steps_running(name);
        assert!(!steps.is_empty(), "no step runs {name}");
        let mut handed = BTreeSet::new();
        for s in &steps {
            assert_eq!(s["shell"].as_str(), Some("bash"));
            for (k, v) in s["env"].as_hash().expect("env") {
                let (k, v) = (k.as_str().expect("key"), v.as_str().expect("value"));
                if let Some(input) = k.strip_prefix("INPUT_") {
                    let input = input.to_lowercase().replace('_', "-");
                    assert!(inputs.contains(&input), "{k}: no input {input}");
                    assert_eq!(v, format!("${{{{ inputs.{input} }}}}"), "{k}");
                }
                handed.insert(k.to_string());
            }
            let id = s["id"].as_str().expect("step id").to_string();
            set_by_step.insert(id, names_after(&source, "output ", lower));
        }
        for var in names_after(&source, "INPUT_", upper) {
            assert!(
                handed.contains(&format!("INPUT_{var}")),
                "{name} reads INPUT_{var}, which no step gives it"
            );
        }
        for var in names_after(&source, "${HARDEN_", upper) {
            let var = format!("HARDEN_{var}");
            assert!(
                handed.contains(&var) || var == "HARDEN_ACTION_CARGO",
                "{name} reads {var}, which no step gives it"
            );
        }
    }
    assert!(set_by_step["run"].contains("pr-body"), "{set_by_step:?}");
    assert!(set_by_step["run"].contains("sarif"), "{set_by_step:?}");
    let mut used = BTreeSet::new();
    for (id, names) in &set_by_step {
        for n in names {
            if text.contains(&format!("steps.{id}.outputs.{n} }}")) {
                used.insert(format!("{id}.{n}"));
            }
        }
    }
    for (name, out) in a["outputs"].as_hash().expect("outputs") {
        let name = name.as_str().expect("output name");
        let value = out["value"].as_str().expect("value");
        assert!(out["description"].as_str().is_some(), "{name}");
        let (id, o) = value
            .strip_prefix("${{ steps.")
            .and_then(|v| v.strip_suffix(" }}"))
            .and_then(|v| v.split_once(".outputs."))
            .unwrap_or_else(|| panic!("{name}: {value}"));
        assert_eq!(o, name);
        assert!(
            set_by_step.get(id).is_some_and(|s| s.contains(o)),
            "output {name}: step {id} never sets {o}"
        );
    }
    for n in &set_by_step["run"] {
        assert!(
            used.contains(&format!("run.{n}")),
            "run.sh sets {n}, which the action does not output"
        );
    }
    for n in &set_by_step["prepare"] {
        assert!(
            used.contains(&format!("prepare.{n}")),
            "prepare sets {n}, which no step reads"
        );
    }
    // The cache step reads the cache-hit the install step is given.
    assert!(text.contains("HARDEN_CACHE_HIT: ${{ steps.cache.outputs.cache-hit }}"));
}

fn readme_block(marker: &str) -> Yaml {
    let readme = read(root().join("README.md"));
    let after = readme.split(marker).nth(1).expect("marker in README");
    let body = after.split_once("```yaml\n").expect("yaml fence").1;
    let body = body.split("```").next().expect("block");
    YamlLoader::load_from_str(body)
        .expect("workflow is YAML")
        .remove(0)
}

/// The README's two workflows use the action as users write it, with inputs
/// it declares, and read outputs it sets.
#[test]
fn readme_workflows_use_the_action_as_declared() {
    let inputs = keys(&action()["inputs"]);
    let outputs = declared_outputs();
    for (marker, mode, consumer, needs) in [
        (
            "<!-- action-check-workflow -->",
            "check",
            "github/codeql-action/upload-sarif@",
            "sarif",
        ),
        (
            "<!-- action-fix-workflow -->",
            "fix",
            "peter-evans/create-pull-request@",
            "pr-body",
        ),
    ] {
        let wf = readme_block(marker);
        let steps = wf["jobs"]["harden"]["steps"].as_vec().expect("steps");
        let ours = steps
            .iter()
            .find(|s| s["uses"].as_str() == Some("<owner>/harden@<ref>"))
            .unwrap_or_else(|| panic!("{marker}: no step uses <owner>/harden@<ref>"));
        let id = ours["id"].as_str().expect("the action's step has an id");
        assert_eq!(ours["with"]["mode"].as_str(), Some(mode));
        for k in keys(&ours["with"]) {
            assert!(inputs.contains(&k), "{marker}: input {k} not declared");
        }
        let text = format!("{steps:?}");
        for o in names_after(&text, &format!("steps.{id}.outputs."), |c| {
            c.is_ascii_lowercase() || c == '-'
        }) {
            assert!(outputs.contains(&o), "{marker}: output {o} not declared");
        }
        let next = steps
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(consumer)))
            .unwrap_or_else(|| panic!("{marker}: no {consumer}"));
        assert!(
            format!("{:?}", next["with"]).contains(&format!("steps.{id}.outputs.{needs} }}}}")),
            "{marker}: {consumer} does not read {needs}"
        );
    }
}

/// The scripts pass shellcheck where it is installed.
#[test]
fn scripts_pass_shellcheck() {
    let Ok(out) = Command::new("shellcheck")
        .arg(script("install.sh"))
        .arg(script("run.sh"))
        .output()
    else {
        eprintln!("shellcheck is not installed; skipped");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
