//! `harden verify`: run a hardened compose project in real containers and
//! prove, per service, that it still starts and that the baseline holds at
//! runtime (non-root, no capabilities beyond `cap_add`, no new privileges,
//! read-only root, writable carve-outs). Static checks cannot show that a
//! hardened service still works; running it can.
//!
//! The project runs under a fresh project name and everything created is
//! removed afterwards, so the user's own containers, networks and volumes are
//! never touched.

pub mod compose;
pub mod engine;
pub mod procfs;

use compose::{CarveOut, Service};
use engine::Backend;
pub use engine::Engine;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `harden verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// Compose files, or directories holding compose.yaml / docker-compose.yml
    /// (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Container engine to use (default: docker compose, podman compose,
    /// podman-compose, the first that works).
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    /// Seconds to let the services run before checking them.
    #[arg(long, default_value = "10")]
    pub settle: u64,
    /// Leave the project running afterwards (for debugging); the command to
    /// remove it is printed.
    #[arg(long)]
    pub keep: bool,
}

/// Exit status: 0 all checks pass, 1 a check fails, 2 an error.
pub fn run(args: &VerifyArgs) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    ExitCode::from(run_with(args, &mut stdout.lock(), &mut stderr.lock()))
}

/// [`run`] with explicit output streams (report to `out`, progress and
/// errors to `err`); returns the exit status.
pub fn run_with(args: &VerifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    for p in &paths {
        match compose::find_compose_file(p) {
            Ok(f) => files.push(f),
            Err(e) => {
                let _ = writeln!(err, "harden verify: {e}");
                return 2;
            }
        }
    }
    let backend = match engine::detect(args.engine) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(err, "harden verify: {e}");
            return 2;
        }
    };
    let mut worst = 0;
    for file in &files {
        let code = match verify_project(&backend, file, args, out, err) {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(e) => {
                let _ = writeln!(err, "harden verify: {e}");
                2
            }
        };
        worst = worst.max(code);
    }
    worst
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// One row of the report: what was checked, the result, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub evidence: String,
}

impl Check {
    fn new(name: impl Into<String>, status: Status, evidence: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            status,
            evidence: evidence.into(),
        }
    }
}

/// Bring the project up, check every service, tear it down. `Ok(true)` when
/// every check passed.
fn verify_project(
    backend: &Backend,
    file: &Path,
    args: &VerifyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool, String> {
    let project = engine::project_name();
    let shown = file.display().to_string();
    let services = load_services(backend, &project, file)?;
    if services.is_empty() {
        return Err(format!("{shown}: the project has no services"));
    }

    let _ = writeln!(
        err,
        "harden verify: {shown}: starting project {project} with {}",
        backend.name()
    );
    let up = backend
        .compose(&project, file, ["up", "-d", "--build"])
        .map_err(|e| format!("{}: {e}", backend.name()));
    let result = match up {
        Ok(up) => check_project(backend, &project, &services, &up, args, out, err),
        Err(e) => Err(e),
    };

    if args.keep {
        let _ = writeln!(
            err,
            "harden verify: kept project {project}; remove it with: {} -p {project} -f {shown} down -v",
            backend.name()
        );
    } else {
        teardown(backend, &project, file, &services, err);
    }
    let ok = result?;
    let _ = writeln!(
        out,
        "{shown}: {}",
        if ok { "all checks passed" } else { "FAILED" }
    );
    Ok(ok)
}

fn load_services(backend: &Backend, project: &str, file: &Path) -> Result<Vec<Service>, String> {
    let shown = file.display();
    if backend.has_json_config() {
        let o = backend
            .compose(project, file, ["config", "--format", "json"])
            .map_err(|e| format!("{}: {e}", backend.name()))?;
        if !o.status.success() {
            return Err(format!(
                "{shown}: the compose file is invalid: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        if let Ok(doc) = serde_json::from_slice::<Value>(&o.stdout) {
            return compose::services_from_value(&doc).map_err(|e| format!("{shown}: {e}"));
        }
    }
    let doc = compose::load_yaml_file(file).map_err(|e| e.0)?;
    compose::services_from_value(&doc).map_err(|e| format!("{shown}: {e}"))
}

fn check_project(
    backend: &Backend,
    project: &str,
    services: &[Service],
    up: &std::process::Output,
    args: &VerifyArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool, String> {
    if !up.status.success() {
        let _ = writeln!(
            err,
            "harden verify: `up` failed:\n{}",
            tail(&String::from_utf8_lossy(&up.stderr), 30)
        );
    }
    std::thread::sleep(Duration::from_secs(args.settle));
    let containers = project_containers(backend, project)?;
    if containers.is_empty() && !up.status.success() {
        return Err("no container was created (see the output of `up` above)".into());
    }

    let mut all_ok = true;
    let mut failed = Vec::new();
    for svc in services {
        let mine: Vec<&Value> = containers
            .iter()
            .filter(|c| label(c, "com.docker.compose.service") == Some(svc.name.as_str()))
            .collect();
        if mine.is_empty() {
            let checks = vec![Check::new(
                "running",
                Status::Fail,
                "no container was created for it",
            )];
            print_table(out, &svc.name, "-", &checks);
            all_ok = false;
            failed.push(svc.name.clone());
            continue;
        }
        for c in mine {
            let id = c.get("Id").and_then(Value::as_str).unwrap_or("");
            let name = c
                .get("Name")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .trim_start_matches('/')
                .to_string();
            let checks = check_container(backend, svc, c, args.settle);
            print_table(out, &svc.name, &name, &checks);
            if checks.iter().any(|c| c.status == Status::Fail) {
                all_ok = false;
                failed.push(svc.name.clone());
                print_logs(backend, id, out);
            }
        }
    }
    if !failed.is_empty() {
        failed.dedup();
        let _ = writeln!(out, "failing services: {}", failed.join(", "));
    }
    Ok(all_ok)
}

/// Inspect data of every container carrying the project's label.
fn project_containers(backend: &Backend, project: &str) -> Result<Vec<Value>, String> {
    let filter = format!("label=com.docker.compose.project={project}");
    let ps = backend
        .cli(["ps", "-a", "-q", "--no-trunc", "--filter", &filter])
        .map_err(|e| format!("{}: {e}", backend.cli))?;
    let ids: Vec<String> = String::from_utf8_lossy(&ps.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    inspect(backend, &ids)
}

fn inspect(backend: &Backend, ids: &[String]) -> Result<Vec<Value>, String> {
    let mut args = vec!["inspect".to_string()];
    args.extend(ids.iter().cloned());
    let o = backend
        .cli(&args)
        .map_err(|e| format!("{}: {e}", backend.cli))?;
    match serde_json::from_slice::<Value>(&o.stdout) {
        Ok(Value::Array(items)) => Ok(items),
        _ => Err(format!(
            "{} inspect gave no usable data: {}",
            backend.cli,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
    }
}

fn label<'a>(c: &'a Value, key: &str) -> Option<&'a str> {
    c.get("Config")?.get("Labels")?.get(key)?.as_str()
}

fn ptr<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    v.pointer(path)
}

/// The process view verify reads: status and mounts, and where they came from.
struct ProcView {
    status: Result<procfs::ProcStatus, String>,
    mounts: Option<Vec<procfs::Mount>>,
    source: String,
}

/// Read the main process's status from the host's /proc when the PID is
/// really that container's (its cgroup names the container), otherwise from
/// inside the container.
fn proc_view(backend: &Backend, id: &str, pid: i64) -> ProcView {
    if pid > 0 && !id.is_empty() {
        let base = PathBuf::from(format!("/proc/{pid}"));
        let ours = std::fs::read_to_string(base.join("cgroup")).is_ok_and(|c| c.contains(id));
        if ours {
            if let Ok(text) = std::fs::read_to_string(base.join("status")) {
                let status = procfs::parse_status(&text).ok_or_else(|| {
                    format!("{}/status is not readable as a status file", base.display())
                });
                let mounts = std::fs::read_to_string(base.join("mountinfo"))
                    .ok()
                    .map(|m| procfs::parse_mountinfo(&m));
                return ProcView {
                    status,
                    mounts,
                    source: format!("/proc/{pid}/status"),
                };
            }
        }
    }
    let status = match exec(backend, id, &["cat", "/proc/1/status"]) {
        Ok(text) => procfs::parse_status(&text)
            .ok_or_else(|| "`cat /proc/1/status` in the container gave no status".to_string()),
        Err(e) => Err(format!(
            "cannot read the process status from the host or with exec: {e}"
        )),
    };
    let mounts = exec(backend, id, &["cat", "/proc/1/mountinfo"])
        .ok()
        .map(|m| procfs::parse_mountinfo(&m));
    ProcView {
        status,
        mounts,
        source: "exec cat /proc/1/status".into(),
    }
}

/// Run a command in the container as its own user; Ok(stdout) on exit 0,
/// Err(first line of stderr) otherwise.
fn exec(backend: &Backend, id: &str, argv: &[&str]) -> Result<String, String> {
    let mut args = vec!["exec", id];
    args.extend_from_slice(argv);
    let o = backend.cli(&args).map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        let msg = String::from_utf8_lossy(&o.stderr);
        let line = msg
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        Err(match o.status.code() {
            Some(code) if line.is_empty() => format!("exit status {code}"),
            _ => line.to_string(),
        })
    }
}

fn skip_allowed(svc: &Service, rule: &str, check: &str) -> Option<Check> {
    svc.allows(rule).then(|| {
        let why = svc.allow_reason.as_deref().unwrap_or("no reason given");
        Check::new(
            check,
            Status::Skip,
            format!("x-harden allows {rule}: {why}"),
        )
    })
}

fn check_container(backend: &Backend, svc: &Service, c: &Value, settle: u64) -> Vec<Check> {
    let id = c.get("Id").and_then(Value::as_str).unwrap_or("");
    let mut checks = Vec::new();

    // Still running after the settle time, and not restarting.
    let state = ptr(c, "/State/Status")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let restarting = ptr(c, "/State/Restarting").and_then(Value::as_bool) == Some(true);
    let restarts = c.get("RestartCount").and_then(Value::as_i64).unwrap_or(0);
    let exit = ptr(c, "/State/ExitCode")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let running = state == "running" && !restarting && restarts == 0;
    let evidence = if running {
        format!("{state} after {settle} s, 0 restarts")
    } else if restarting || restarts > 0 {
        format!("{state}, restarted {restarts} time(s), last exit code {exit}")
    } else {
        format!("{state}, exit code {exit}")
    };
    checks.push(Check::new(
        "running",
        if running { Status::Pass } else { Status::Fail },
        evidence,
    ));

    // Healthy, where a healthcheck is declared or built into the image.
    let has_health = svc.healthcheck
        || ptr(c, "/Config/Healthcheck/Test")
            .and_then(Value::as_array)
            .is_some_and(|t| {
                t.first()
                    .and_then(Value::as_str)
                    .is_some_and(|k| k != "NONE")
            });
    if has_health {
        checks.push(if running {
            health_check(backend, id, c)
        } else {
            Check::new("healthy", Status::Skip, "not running")
        });
    }

    if !running {
        for name in [
            "non-root",
            "capabilities",
            "no-new-privileges",
            "read-only root",
        ] {
            checks.push(Check::new(name, Status::Skip, "not running"));
        }
        for co in &svc.carve_outs {
            checks.push(Check::new(
                format!("writable {}", co.target),
                Status::Skip,
                "not running",
            ));
        }
        return checks;
    }

    let pid = ptr(c, "/State/Pid").and_then(Value::as_i64).unwrap_or(0);
    let view = proc_view(backend, id, pid);
    let status = view.status.as_ref();

    checks.push(
        skip_allowed(svc, "root-user", "non-root").unwrap_or_else(|| match status {
            Ok(s) => {
                let uids: Vec<String> = s.uids.iter().map(u32::to_string).collect();
                let ok = s.uids.iter().all(|u| *u != 0);
                let ev = format!("Uid: {} ({})", uids.join(" "), view.source);
                Check::new("non-root", if ok { Status::Pass } else { Status::Fail }, ev)
            }
            Err(e) => Check::new("non-root", Status::Fail, e.clone()),
        }),
    );

    checks.push(
        skip_allowed(svc, "default-capabilities", "capabilities").unwrap_or_else(|| match status {
            Ok(s) => capability_check(s, &svc.cap_add),
            Err(e) => Check::new("capabilities", Status::Fail, e.clone()),
        }),
    );

    checks.push(
        skip_allowed(svc, "new-privileges", "no-new-privileges").unwrap_or_else(|| match status {
            Ok(s) => match s.no_new_privs {
                Some(true) => Check::new("no-new-privileges", Status::Pass, "NoNewPrivs: 1"),
                Some(false) => Check::new(
                    "no-new-privileges",
                    Status::Fail,
                    "NoNewPrivs: 0 (security_opt no-new-privileges:true missing?)",
                ),
                None => Check::new(
                    "no-new-privileges",
                    Status::Fail,
                    "kernel reports no NoNewPrivs",
                ),
            },
            Err(e) => Check::new("no-new-privileges", Status::Fail, e.clone()),
        }),
    );

    let shell = exec(backend, id, &["sh", "-c", "exit 0"]).is_ok();
    checks.push(
        skip_allowed(svc, "writable-rootfs", "read-only root")
            .unwrap_or_else(|| readonly_check(backend, id, c, view.mounts.as_deref(), shell)),
    );
    for co in &svc.carve_outs {
        checks.push(carve_out_check(
            backend,
            id,
            co,
            view.mounts.as_deref(),
            shell,
        ));
    }
    checks
}

/// CapEff must hold nothing beyond the declared `cap_add`.
fn capability_check(s: &procfs::ProcStatus, cap_add: &[String]) -> Check {
    let allowed = if cap_add.iter().any(|c| c == "ALL") {
        u64::MAX
    } else {
        cap_add
            .iter()
            .filter_map(|c| procfs::cap_bit(c))
            .fold(0, |a, b| a | b)
    };
    let extra = s.cap_eff & !allowed;
    let have = procfs::cap_names(s.cap_eff);
    let have = if have.is_empty() {
        "none".to_string()
    } else {
        have.join(", ")
    };
    let declared = if cap_add.is_empty() {
        "none".to_string()
    } else {
        cap_add.join(", ")
    };
    if extra == 0 {
        Check::new(
            "capabilities",
            Status::Pass,
            format!("CapEff {} = {have}; cap_add: {declared}", s.cap_eff_hex),
        )
    } else {
        Check::new(
            "capabilities",
            Status::Fail,
            format!(
                "CapEff {} = {have}; not in cap_add: {} (cap_drop: [ALL] missing?)",
                s.cap_eff_hex,
                procfs::cap_names(extra).join(", ")
            ),
        )
    }
}

fn readonly_check(
    backend: &Backend,
    id: &str,
    c: &Value,
    mounts: Option<&[procfs::Mount]>,
    shell: bool,
) -> Check {
    let mut ok = true;
    let mut ev = Vec::new();
    let flag = ptr(c, "/HostConfig/ReadonlyRootfs").and_then(Value::as_bool) == Some(true);
    ok &= flag;
    ev.push(format!("ReadonlyRootfs {flag}"));
    if let Some(root) = mounts.and_then(|m| procfs::mount_for(m, "/")) {
        ok &= root.read_only;
        ev.push(format!(
            "/ mounted {}",
            if root.read_only { "ro" } else { "rw" }
        ));
    }
    if shell {
        match exec(
            backend,
            id,
            &["sh", "-c", "touch /harden-probe && rm -f /harden-probe"],
        ) {
            Ok(_) => {
                ok = false;
                ev.push("touch /harden-probe succeeded".into());
            }
            Err(e) => ev.push(format!("touch /harden-probe refused: {}", short(&e))),
        }
    } else {
        ev.push("no shell for a write probe".into());
    }
    let hint = if ok {
        ""
    } else {
        " (read_only: true missing?)"
    };
    Check::new(
        "read-only root",
        if ok { Status::Pass } else { Status::Fail },
        format!("{}{hint}", ev.join("; ")),
    )
}

fn carve_out_check(
    backend: &Backend,
    id: &str,
    co: &CarveOut,
    mounts: Option<&[procfs::Mount]>,
    shell: bool,
) -> Check {
    let name = format!("writable {}", co.target);
    let mut ok = true;
    let mut known = false;
    let mut ev = Vec::new();
    if let Some(m) = mounts.and_then(|m| procfs::mount_for(m, &co.target)) {
        known = true;
        if m.target.trim_end_matches('/') == co.target.trim_end_matches('/') || co.target == "/" {
            ok &= !m.read_only;
            ev.push(format!(
                "{} {} mounted {}",
                co.kind,
                m.fs_type,
                if m.read_only { "ro" } else { "rw" }
            ));
        } else {
            ok = false;
            ev.push(format!(
                "not mounted: falls on {} ({})",
                m.target,
                if m.read_only { "ro" } else { "rw" }
            ));
        }
    }
    if shell {
        known = true;
        let script = r#"touch "$1/.harden-probe" && rm -f "$1/.harden-probe""#;
        match exec(backend, id, &["sh", "-c", script, "sh", &co.target]) {
            Ok(_) => ev.push("write probe ok".into()),
            Err(e) => {
                ok = false;
                ev.push(format!("write probe failed: {}", short(&e)));
            }
        }
    } else {
        ev.push("no shell for a write probe".into());
    }
    let status = match (known, ok) {
        (false, _) => Status::Skip,
        (true, true) => Status::Pass,
        (true, false) => Status::Fail,
    };
    Check::new(name, status, ev.join("; "))
}

/// Docker runs healthchecks itself; wait while it still says `starting`.
/// Podman without systemd has no timer to run them, so run them here.
fn health_check(backend: &Backend, id: &str, c: &Value) -> Check {
    let status_of = |v: &Value| -> String {
        ptr(v, "/State/Health/Status")
            .or_else(|| ptr(v, "/State/Healthcheck/Status"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut status = status_of(c);
    let mut last_output = String::new();
    for _ in 0..15 {
        if status == "healthy" || status == "unhealthy" && backend.cli != "podman" {
            break;
        }
        if backend.cli == "podman" {
            match backend.cli(["healthcheck", "run", id]) {
                Ok(o) if o.status.success() => {
                    status = "healthy".into();
                    break;
                }
                Ok(o) => {
                    last_output = format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout).trim(),
                        String::from_utf8_lossy(&o.stderr).trim()
                    );
                }
                Err(e) => last_output = e.to_string(),
            }
        }
        std::thread::sleep(Duration::from_secs(2));
        if let Ok(mut v) = inspect(backend, &[id.to_string()]) {
            if let Some(v) = v.pop() {
                status = status_of(&v);
                if let Some(log) = ptr(&v, "/State/Health/Log")
                    .or_else(|| ptr(&v, "/State/Healthcheck/Log"))
                    .and_then(Value::as_array)
                    .and_then(|l| l.last())
                    .and_then(|e| e.get("Output"))
                    .and_then(Value::as_str)
                {
                    last_output = log.to_string();
                }
            }
        }
    }
    if status == "healthy" {
        Check::new("healthy", Status::Pass, "healthcheck passed")
    } else {
        let status = if status.is_empty() {
            "no health status"
        } else {
            &status
        };
        Check::new(
            "healthy",
            Status::Fail,
            format!("{status}: {}", short(&last_output)),
        )
    }
}

/// One line of evidence, at most 160 characters.
fn short(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}...", line.get(..i).unwrap_or(line)),
        None => line.to_string(),
    }
}

/// The last `n` lines of `s`.
fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines
        .get(lines.len().saturating_sub(n)..)
        .unwrap_or(&[])
        .join("\n")
}

fn print_table(out: &mut dyn Write, service: &str, container: &str, checks: &[Check]) {
    let _ = writeln!(out, "service {service} (container {container})");
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for c in checks {
        let word = match c.status {
            Status::Pass => console::style("PASS").green(),
            Status::Fail => console::style("FAIL").red().bold(),
            Status::Skip => console::style("SKIP").yellow(),
        };
        let _ = writeln!(out, "  {:<width$}  {word}  {}", c.name, c.evidence);
    }
}

fn print_logs(backend: &Backend, id: &str, out: &mut dyn Write) {
    if let Ok(o) = backend.cli(["logs", "--tail", "30", id]) {
        let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&o.stderr));
        let lines = tail(&text, 30);
        if lines.trim().is_empty() {
            let _ = writeln!(out, "  (the container wrote no log output)");
        } else {
            let _ = writeln!(out, "  last log lines:");
            for line in lines.lines() {
                let _ = writeln!(out, "    | {line}");
            }
        }
    }
}

/// Remove exactly what this run created: the project's containers, networks
/// and volumes (`down -v` under the same project name) and the images built
/// for it, which are named after the project.
fn teardown(
    backend: &Backend,
    project: &str,
    file: &Path,
    services: &[Service],
    err: &mut dyn Write,
) {
    // The containers are thrown away: a short stop timeout spares waiting
    // ten seconds for a PID 1 that ignores SIGTERM.
    let mut args = vec!["down", "-v", "-t", "2"];
    if backend.has_json_config() {
        args.extend(["--rmi", "local"]);
    }
    match backend.compose(project, file, &args) {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let _ = writeln!(
                err,
                "harden verify: removing project {project} failed:\n{}",
                tail(&String::from_utf8_lossy(&o.stderr), 10)
            );
        }
        Err(e) => {
            let _ = writeln!(err, "harden verify: removing project {project} failed: {e}");
        }
    }
    if !backend.has_json_config() {
        // podman-compose 1.0 leaves the project's network (and, on a failed
        // start, sometimes volumes) behind: remove what carries its label.
        let filter = format!("label=com.docker.compose.project={project}");
        for kind in ["network", "volume"] {
            if let Ok(o) = backend.cli([kind, "ls", "-q", "--filter", filter.as_str()]) {
                for name in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = backend.cli([kind, "rm", name]);
                }
            }
        }
        for svc in services.iter().filter(|s| s.builds_unnamed_image) {
            for image in [
                format!("{project}_{}", svc.name),
                format!("{project}-{}", svc.name),
            ] {
                let exists = backend.cli(["image", "exists", image.as_str()]);
                if exists.is_ok_and(|o| o.status.success()) {
                    let _ = backend.cli(["image", "rm", image.as_str()]);
                }
            }
        }
    }
    let _ = writeln!(err, "harden verify: removed project {project}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uid: u32, cap: u64, nnp: bool) -> procfs::ProcStatus {
        procfs::ProcStatus {
            uids: vec![uid; 4],
            cap_eff_hex: format!("{cap:016x}"),
            cap_eff: cap,
            no_new_privs: Some(nnp),
        }
    }

    #[test]
    fn capabilities_within_cap_add_pass() {
        let s = status(1000, 1 << 10, true);
        let c = capability_check(&s, &["NET_BIND_SERVICE".into()]);
        assert_eq!(c.status, Status::Pass, "{}", c.evidence);
        assert!(c.evidence.contains("NET_BIND_SERVICE"));
        let none = capability_check(&status(1000, 0, true), &[]);
        assert_eq!(none.status, Status::Pass);
        assert!(none.evidence.contains("= none"));
    }

    #[test]
    fn capabilities_beyond_cap_add_fail_and_are_named() {
        let s = status(0, 0x0000_0000_a804_25fb, false);
        let c = capability_check(&s, &["CHOWN".into()]);
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.evidence.contains("not in cap_add: DAC_OVERRIDE"),
            "{}",
            c.evidence
        );
        assert!(!c.evidence.contains("not in cap_add: CHOWN"));
        let all = capability_check(&s, &["ALL".into()]);
        assert_eq!(all.status, Status::Pass);
    }

    #[test]
    fn exceptions_skip_with_their_reason() {
        let svc = Service {
            name: "vpn".into(),
            allow: vec!["root-user".into()],
            allow_reason: Some("needs raw sockets; OPS-7".into()),
            ..Service::default()
        };
        let c = skip_allowed(&svc, "root-user", "non-root").expect("skipped");
        assert_eq!(c.status, Status::Skip);
        assert!(c.evidence.contains("OPS-7"));
        assert!(skip_allowed(&svc, "new-privileges", "no-new-privileges").is_none());
    }

    #[test]
    fn evidence_is_one_short_line() {
        assert_eq!(
            short("\n  touch: cannot touch '/x': Read-only file system\nmore"),
            "touch: cannot touch '/x': Read-only file system"
        );
        let long = "é".repeat(300);
        assert_eq!(short(&long).chars().count(), 163);
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 30), "");
    }

    #[test]
    fn a_missing_compose_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let args = VerifyArgs {
            paths: vec![dir.path().to_path_buf()],
            engine: None,
            settle: 0,
            keep: false,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run_with(&args, &mut out, &mut err), 2);
        let err = String::from_utf8_lossy(&err);
        assert!(err.contains("no compose file here"), "{err}");
    }
}
