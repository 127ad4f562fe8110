//! The checks verify runs on one container, each with its evidence: the
//! kernel's view of the main process (`/proc`), the engine's inspect data,
//! and probes run in the container as the service's own user.

use super::compose::{CarveOut, Service};
use super::engine::Backend;
use super::procfs;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

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
    pub fn new(name: impl Into<String>, status: Status, evidence: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            status,
            evidence: evidence.into(),
        }
    }
}

/// What every container's checks share.
pub struct Context<'a> {
    pub backend: &'a Backend,
    /// Seconds the services ran before the checks.
    pub settle: u64,
    /// The runtime ignores a tmpfs's `mode=` (runc before 1.1.8): its
    /// write probes say so.
    pub tmpfs_mode_ignored: bool,
}

pub fn label<'a>(c: &'a Value, key: &str) -> Option<&'a str> {
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
    /// The container's root seen from the host (`/proc/PID/root`), when the
    /// host's /proc shows the process.
    root: Option<PathBuf>,
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
                    root: Some(base.join("root")),
                };
            }
        }
    }
    let status = match exec(backend, id, None, &["cat", "/proc/1/status"]) {
        Ok(text) => procfs::parse_status(&text)
            .ok_or_else(|| "`cat /proc/1/status` in the container gave no status".to_string()),
        Err(e) => Err(format!(
            "cannot read the process status from the host or with exec: {e}"
        )),
    };
    let mounts = exec(backend, id, None, &["cat", "/proc/1/mountinfo"])
        .ok()
        .map(|m| procfs::parse_mountinfo(&m));
    ProcView {
        status,
        mounts,
        source: "exec cat /proc/1/status".into(),
        root: None,
    }
}

/// A container path with its symbolic links resolved: from the host where
/// it can see the container's root, otherwise with `readlink -f` inside.
fn resolve(backend: &Backend, id: &str, view: &ProcView, path: &str) -> String {
    if let Some(r) = view
        .root
        .as_deref()
        .and_then(|root| procfs::resolve_in(root, path))
    {
        return r;
    }
    match exec(backend, id, None, &["readlink", "-f", path]) {
        Ok(out) if out.trim().starts_with('/') => out.trim().to_string(),
        _ => path.to_string(),
    }
}

/// How long a probe may take before it counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Run a command in the container, as `user` (`uid:gid`) or as the
/// container's own user; Ok(stdout) on exit 0, Err(first line of stderr,
/// or of stdout) otherwise.
fn exec(backend: &Backend, id: &str, user: Option<&str>, argv: &[&str]) -> Result<String, String> {
    let mut args = vec!["exec"];
    if let Some(u) = user {
        args.extend(["--user", u]);
    }
    args.push(id);
    args.extend_from_slice(argv);
    let o = backend
        .cli_timeout(&args, PROBE_TIMEOUT)
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        let msg = format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
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

/// Every check of one container of `svc`, in report order.
pub fn check_container(ctx: &Context, svc: &Service, c: &Value) -> Vec<Check> {
    let backend = ctx.backend;
    let settle = ctx.settle;
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
        if svc.probe.is_some() {
            checks.push(Check::new("probe", Status::Skip, "not running"));
        }
        return checks;
    }

    let pid = ptr(c, "/State/Pid").and_then(Value::as_i64).unwrap_or(0);
    let view = proc_view(backend, id, pid);
    let status = view.status.as_ref();

    // A main process that stays root (a supervisor, nginx's master): who its
    // processes run as, for the evidence and the write probes.
    let main_uid = status.ok().map(|s| s.uids.get(1).copied().unwrap_or(0));
    let processes = if main_uid == Some(0) {
        container_processes(backend, id, &view)
    } else {
        Vec::new()
    };
    checks.push(
        skip_allowed(svc, "root-user", "non-root").unwrap_or_else(|| match status {
            Ok(s) => {
                let uids: Vec<String> = s.uids.iter().map(u32::to_string).collect();
                let ok = s.uids.iter().all(|u| *u != 0);
                let mut others: Vec<String> = Vec::new();
                for p in processes.iter().filter(|p| p.uid != 0) {
                    let seen = format!("{} ({})", p.uid, p.name);
                    if !others.contains(&seen) {
                        others.push(seen);
                    }
                }
                let also = if others.is_empty() {
                    String::new()
                } else {
                    format!("; other processes as {}", others.join(", "))
                };
                let ev = format!("Uid: {} ({}){also}", uids.join(" "), view.source);
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

    let shell = exec(backend, id, None, &["sh", "-c", "exit 0"]).is_ok();
    checks.push(
        skip_allowed(svc, "writable-rootfs", "read-only root")
            .unwrap_or_else(|| readonly_check(backend, id, c, view.mounts.as_deref(), shell)),
    );
    // Carve-outs are probed as the user the service runs as: the main
    // process's, after any drop from root in the entrypoint; where the main
    // process stays root, as the user of the service's process that owns
    // the path (see procfs::probe_user).
    let user = status.ok().map(|s| {
        let uid = s.uids.get(1).copied().unwrap_or(0);
        match s.gids.get(1) {
            Some(gid) => format!("{uid}:{gid}"),
            None => uid.to_string(),
        }
    });
    for co in &svc.carve_outs {
        let owner = if processes.iter().any(|p| p.uid != 0) {
            path_owner(backend, id, &view, &co.target)
        } else {
            None
        };
        let check = match procfs::probe_user(main_uid.unwrap_or(0), owner, &processes) {
            Some(p) => {
                let who = format!("{}:{}", p.uid, p.gid);
                let why = format!("{who} (its owner, the uid of pid {} {})", p.pid, p.name);
                carve_out_check(ctx, id, co, &view, Some((&who, Some(&why))), shell)
            }
            None => carve_out_check(
                ctx,
                id,
                co,
                &view,
                user.as_deref().map(|u| (u, None)),
                shell,
            ),
        };
        checks.push(check);
    }
    if let Some(argv) = &svc.probe {
        checks.push(probe_check(backend, id, argv));
    }
    checks
}

/// `x-harden: probe:` run in the container as its own user: exit 0 passes.
fn probe_check(backend: &Backend, id: &str, argv: &[String]) -> Check {
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    let shown = match args.as_slice() {
        ["sh", "-c", script] => (*script).to_string(),
        _ => args.join(" "),
    };
    match exec(backend, id, None, &args) {
        Ok(out) => {
            let first = short(&out);
            let ev = if first.is_empty() {
                format!("`{shown}` exited 0")
            } else {
                format!("`{shown}` exited 0: {first}")
            };
            Check::new("probe", Status::Pass, ev)
        }
        Err(e) => Check::new(
            "probe",
            Status::Fail,
            format!("`{shown}` failed: {}", short(&e)),
        ),
    }
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
            None,
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

/// The container's processes: from the host's /proc where it shows them
/// (their cgroup names the container), else read inside with a shell.
fn container_processes(backend: &Backend, id: &str, view: &ProcView) -> Vec<procfs::Process> {
    if view.root.is_some() {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = entry.file_name();
            if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let base = entry.path();
            let ours = std::fs::read_to_string(base.join("cgroup")).is_ok_and(|c| c.contains(id));
            if let (true, Ok(text)) = (ours, std::fs::read_to_string(base.join("status"))) {
                found.extend(procfs::parse_process(&text));
            }
        }
        return found;
    }
    let Ok(text) = exec(backend, id, None, &["sh", "-c", "cat /proc/[0-9]*/status"]) else {
        return Vec::new();
    };
    // One status after another, each starting with its `Name:` line.
    let mut blocks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Name:") || blocks.is_empty() {
            blocks.push(String::new());
        }
        if let Some(b) = blocks.last_mut() {
            b.push_str(line);
            b.push('\n');
        }
    }
    blocks
        .iter()
        .filter_map(|b| procfs::parse_process(b))
        .collect()
}

/// The uid that owns a container path (links resolved).
fn path_owner(backend: &Backend, id: &str, view: &ProcView, path: &str) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    if let Some(root) = &view.root {
        let real = procfs::resolve_in(root, path)?;
        return std::fs::metadata(root.join(real.trim_start_matches('/')))
            .ok()
            .map(|m| m.uid());
    }
    exec(backend, id, None, &["stat", "-L", "-c", "%u", path])
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `user`: who the write probe runs as (`uid:gid`), and why that user
/// when it is not the main process's.
fn carve_out_check(
    ctx: &Context,
    id: &str,
    co: &CarveOut,
    view: &ProcView,
    user: Option<(&str, Option<&str>)>,
    shell: bool,
) -> Check {
    let backend = ctx.backend;
    let name = format!("writable {}", co.target);
    let mut ok = true;
    let mut known = false;
    let mut ev = Vec::new();
    // The engine resolves links before it mounts: compare with the path
    // the mount really has.
    let real = resolve(backend, id, view, &co.target);
    if let Some(m) = view
        .mounts
        .as_deref()
        .and_then(|m| procfs::mount_for(m, &real))
    {
        known = true;
        let at = if real == co.target {
            String::new()
        } else {
            format!(" at {real}")
        };
        if m.target.trim_end_matches('/') == real.trim_end_matches('/') || real == "/" {
            ok &= !m.read_only;
            ev.push(format!(
                "{} {} mounted{at} {}",
                co.kind,
                m.fs_type,
                if m.read_only { "ro" } else { "rw" }
            ));
        } else {
            ok = false;
            ev.push(format!(
                "not mounted{at}: falls on {} ({})",
                m.target,
                if m.read_only { "ro" } else { "rw" }
            ));
        }
    }
    if shell {
        known = true;
        let script = r#"touch "$1/.harden-probe" && rm -f "$1/.harden-probe""#;
        let who = match user {
            Some((_, Some(why))) => format!(" as {why}"),
            Some((u, None)) => format!(" as {u}"),
            None => String::new(),
        };
        let as_user = user.map(|(u, _)| u);
        match exec(
            backend,
            id,
            as_user,
            &["sh", "-c", script, "sh", &co.target],
        ) {
            Ok(_) => ev.push(format!("write probe ok{who}")),
            Err(e) => {
                ok = false;
                ev.push(format!("write probe failed{who}: {}", short(&e)));
                if co.kind == "tmpfs" && co.options.contains("mode=") && ctx.tmpfs_mode_ignored {
                    ev.push(
                        "this runtime ignores the tmpfs's mode= (runc < 1.1.8, runc#3911)".into(),
                    );
                }
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
        if let Ok(mut v) = super::engine::inspect(backend, &[id.to_string()]) {
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

/// The last 30 lines the container logged (stdout and stderr). Podman 4.3
/// prints nothing for `--tail` on a container that has restarted: then the
/// whole log is read and cut here.
pub fn log_tail(backend: &Backend, id: &str) -> Vec<String> {
    let read = |args: &[&str]| -> String {
        match backend.cli(args) {
            Ok(o) => {
                let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&o.stderr));
                text
            }
            Err(_) => String::new(),
        }
    };
    let mut text = read(&["logs", "--tail", "30", id]);
    if text.trim().is_empty() {
        text = read(&["logs", id]);
    }
    tail(&text, 30).lines().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(uid: u32, cap: u64, nnp: bool) -> procfs::ProcStatus {
        procfs::ProcStatus {
            uids: vec![uid; 4],
            gids: vec![uid; 4],
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
}
