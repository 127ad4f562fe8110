//! Which container engine runs the project, and the commands verify sends it.
//! Everything goes through the engine's own command-line tools, so verify
//! works with whatever the machine has and needs no API client.

use serde_json::Value;
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Set by Ctrl-C (SIGINT) or SIGTERM: verify stops what it is doing and
/// tears the project down.
static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    INTERRUPTED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Catch Ctrl-C and SIGTERM from now on, so that an interrupted verify still
/// removes what it created. The engine commands run in their own process
/// group, so the terminal's Ctrl-C reaches harden alone, and harden ends
/// them itself.
pub fn catch_interrupts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Registration fails only for signals that cannot be caught.
            let _ = signal_hook::flag::register(sig, Arc::clone(flag()));
        }
    });
}

/// Whether Ctrl-C or SIGTERM arrived.
pub fn interrupted() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Sleep for `d`, or less when interrupted.
pub fn sleep(d: Duration) {
    let step = Duration::from_millis(100);
    let mut left = d;
    while !left.is_zero() && !interrupted() {
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
}

/// Whether a command may be cut short by an interrupt: everything but the
/// teardown, which must finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    OnInterrupt,
    Never,
}

/// Run `cmd` to completion in its own process group and collect its output;
/// with [`Stop::OnInterrupt`], an interrupt ends the whole group.
pub fn run(cmd: &mut Command, stop: Stop) -> std::io::Result<Output> {
    // What must finish still may not hang: an engine that does not answer
    // within the limit is given up on (the leftovers check then says so).
    let limit = (stop == Stop::Never).then_some(NEVER_STOPPED_LIMIT);
    run_within(cmd, stop, limit)
}

/// How long a command that an interrupt does not end may take.
const NEVER_STOPPED_LIMIT: Duration = Duration::from_secs(600);

/// [`run`], ended like an interrupt once `limit` has passed.
fn run_within(cmd: &mut Command, stop: Stop, limit: Option<Duration>) -> std::io::Result<Output> {
    let started = std::time::Instant::now();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn()?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        let late = limit.is_some_and(|l| started.elapsed() > l);
        if late || stop == Stop::OnInterrupt && interrupted() {
            end_group(&mut child);
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

fn drain<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// SIGTERM to the child's process group (a compose front end and the
/// engine commands it started), then SIGKILL after a grace period.
fn end_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let signal = |sig: &str| {
        let _ = Command::new("kill")
            .args([sig, "--", group.as_str()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    };
    signal("-TERM");
    for _ in 0..50 {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal("-KILL");
    let _ = child.kill();
}

/// The engine family, as `--engine` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Docker,
    Podman,
}

/// A compose front end plus the engine CLI that inspects its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The compose command as argv prefix: `docker compose`, `podman compose`
    /// or `podman-compose`.
    pub compose: Vec<String>,
    /// `docker` or `podman`: inspect, exec, logs, image removal.
    pub cli: &'static str,
}

impl Backend {
    pub fn name(&self) -> String {
        self.compose.join(" ")
    }

    /// `docker compose` and `podman compose` print normalised JSON from
    /// `config`; podman-compose 1.0 has no `config` command.
    pub fn has_json_config(&self) -> bool {
        self.compose.len() == 2
    }

    /// Run the compose command for `project` with the compose `files`
    /// (absolute; the first one's folder is the project's) and `args`.
    pub fn compose<I, S>(
        &self,
        project: &str,
        files: &[PathBuf],
        args: I,
        stop: Stop,
    ) -> std::io::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (prog, pre) = self
            .compose
            .split_first()
            .map_or(("", &[][..]), |(p, r)| (p.as_str(), r));
        let mut cmd = Command::new(prog);
        cmd.args(pre).arg("-p").arg(project);
        for f in files {
            cmd.arg("-f").arg(f);
        }
        cmd.args(args);
        if let Some(dir) = files
            .first()
            .and_then(|f| f.parent())
            .filter(|d| !d.as_os_str().is_empty())
        {
            cmd.current_dir(dir);
        }
        run(&mut cmd, stop)
    }

    /// Run the engine CLI with `args`; an interrupt ends it.
    pub fn cli<I, S>(&self, args: I) -> std::io::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(Command::new(self.cli).args(args), Stop::OnInterrupt)
    }

    /// [`Self::cli`], ended after `limit`.
    pub fn cli_timeout<I, S>(&self, args: I, limit: Duration) -> std::io::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_within(
            Command::new(self.cli).args(args),
            Stop::OnInterrupt,
            Some(limit),
        )
    }

    /// Run the engine CLI with `args` to the end, interrupt or not.
    pub fn cli_always<I, S>(&self, args: I) -> std::io::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run(Command::new(self.cli).args(args), Stop::Never)
    }

    /// The engine's and its runtime's names and versions, as far as the
    /// engine says.
    pub fn facts(&self) -> Facts {
        let mut f = Facts {
            engine: self.cli.to_string(),
            compose: self.name(),
            ..Facts::default()
        };
        let format = if self.cli == "podman" {
            "json"
        } else {
            "{{json .}}"
        };
        let info = self
            .cli_always(["info", "--format", format])
            .ok()
            .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok());
        if let Some(info) = info {
            let s = |p: &str| info.pointer(p).and_then(|v| v.as_str()).map(str::to_string);
            if self.cli == "podman" {
                f.engine_version = s("/version/Version");
                f.runtime = s("/host/ociRuntime/name");
                f.runtime_version = s("/host/ociRuntime/version").and_then(|v| runtime_version(&v));
            } else {
                f.engine_version = s("/ServerVersion");
                f.runtime = s("/DefaultRuntime");
                // Docker names runc's commit, not its version: ask runc.
                f.runtime_version = f.runtime.as_deref().and_then(|r| {
                    let o = run(Command::new(r).arg("--version"), Stop::Never).ok()?;
                    runtime_version(&String::from_utf8_lossy(&o.stdout))
                });
            }
        }
        let (prog, rest) = self
            .compose
            .split_first()
            .map_or(("", &[][..]), |(p, r)| (p.as_str(), r));
        let o = run(Command::new(prog).args(rest).arg("version"), Stop::Never).ok();
        f.compose_version = o.and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            // podman-compose prints the engine's version first, its own last.
            text.lines().rev().find_map(|l| {
                l.to_ascii_lowercase()
                    .contains("compose")
                    .then(|| last_version(l))
                    .flatten()
            })
        });
        f
    }
}

/// What the report says about the machine the project ran on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub engine: String,
    pub engine_version: Option<String>,
    pub compose: String,
    pub compose_version: Option<String>,
    pub runtime: Option<String>,
    pub runtime_version: Option<String>,
}

impl Facts {
    /// `podman 4.3.1, podman-compose 1.0.6, runtime runc 1.1.5+ds1`.
    pub fn describe(&self) -> String {
        let v = |x: &Option<String>| x.as_deref().unwrap_or("(version unknown)").to_string();
        format!(
            "{} {}, {} {}, runtime {} {}",
            self.engine,
            v(&self.engine_version),
            self.compose,
            v(&self.compose_version),
            self.runtime.as_deref().unwrap_or("(unknown)"),
            v(&self.runtime_version)
        )
    }

    /// runc before 1.1.8 ignores `mode=` on a tmpfs mounted over a
    /// directory the image has (opencontainers/runc#3911): the tmpfs comes
    /// up with the image directory's owner and mode.
    pub fn ignores_tmpfs_mode(&self) -> bool {
        self.runtime.as_deref() == Some("runc")
            && self
                .runtime_version
                .as_deref()
                .and_then(parse_version)
                .is_some_and(|v| v < (1, 1, 8))
    }
}

/// `runc version 1.1.5+ds1` (first line of `runc --version`) to `1.1.5+ds1`.
fn runtime_version(text: &str) -> Option<String> {
    last_version(text.lines().next()?)
}

/// The last word of `line` that starts with a digit, without a leading `v`.
fn last_version(line: &str) -> Option<String> {
    line.split_whitespace()
        .map(|w| w.trim_start_matches('v'))
        .rfind(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// `1.1.5+ds1` to (1, 1, 5).
fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut nums = v
        .split(|c: char| !c.is_ascii_digit())
        .map(str::parse::<u32>);
    let major = nums.next()?.ok()?;
    let minor = nums.next()?.ok()?;
    let patch = nums.next().and_then(Result::ok).unwrap_or(0);
    Some((major, minor, patch))
}

/// Whether `prog args...` runs and exits 0.
fn works(prog: &str, args: &[&str]) -> bool {
    run(Command::new(prog).args(args), Stop::OnInterrupt).is_ok_and(|o| o.status.success())
}

/// `inspect` of containers or images, as JSON objects.
pub fn inspect(backend: &Backend, ids: &[String]) -> Result<Vec<Value>, String> {
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

/// The candidates for `choice`, in the order they are tried.
pub fn candidates(choice: Option<Engine>) -> Vec<Backend> {
    let docker = Backend {
        compose: vec!["docker".into(), "compose".into()],
        cli: "docker",
    };
    let podman_compose = Backend {
        compose: vec!["podman".into(), "compose".into()],
        cli: "podman",
    };
    let podman_compose_py = Backend {
        compose: vec!["podman-compose".into()],
        cli: "podman",
    };
    match choice {
        Some(Engine::Docker) => vec![docker],
        Some(Engine::Podman) => vec![podman_compose, podman_compose_py],
        None => vec![docker, podman_compose, podman_compose_py],
    }
}

/// The first candidate whose compose front end answers and whose engine is
/// reachable (a `docker` client without a daemon does not count).
pub fn detect(choice: Option<Engine>) -> Result<Backend, String> {
    let tried = candidates(choice);
    for b in &tried {
        let (prog, rest) = match b.compose.split_first() {
            Some(x) => x,
            None => continue,
        };
        let mut version: Vec<&str> = rest.iter().map(String::as_str).collect();
        version.push("version");
        if works(prog, &version) && works(b.cli, &["info"]) {
            return Ok(b.clone());
        }
    }
    let names: Vec<String> = tried.iter().map(Backend::name).collect();
    Err(format!(
        "no container engine found (tried {}); install Docker with the compose plugin, or Podman with podman-compose",
        names.join(", ")
    ))
}

/// A fresh project name, unique to this run, so that verify never touches
/// the user's own containers, networks or volumes.
pub fn project_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!(
        "harden-verify-{}-{:08x}",
        std::process::id(),
        h.finish() as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_unique_and_valid() {
        let a = project_name();
        let b = project_name();
        assert_ne!(a, b);
        assert!(a.starts_with("harden-verify-"));
        // Compose project names: lower-case letters, digits, dashes, underscores.
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'));
    }

    #[test]
    fn engine_choice_narrows_the_candidates() {
        let all: Vec<String> = candidates(None).iter().map(Backend::name).collect();
        assert_eq!(all, ["docker compose", "podman compose", "podman-compose"]);
        let podman: Vec<String> = candidates(Some(Engine::Podman))
            .iter()
            .map(Backend::name)
            .collect();
        assert_eq!(podman, ["podman compose", "podman-compose"]);
        assert_eq!(candidates(Some(Engine::Docker))[0].cli, "docker");
        assert!(candidates(Some(Engine::Docker))[0].has_json_config());
        assert!(!candidates(Some(Engine::Podman))[1].has_json_config());
    }

    #[test]
    fn runtime_versions_and_the_tmpfs_mode_bug() {
        assert_eq!(
            runtime_version("runc version 1.1.5+ds1\ncommit: x\n").as_deref(),
            Some("1.1.5+ds1")
        );
        assert_eq!(
            last_version("podman-compose version 1.0.6").as_deref(),
            Some("1.0.6")
        );
        assert_eq!(
            last_version("Docker Compose version v2.29.1").as_deref(),
            Some("2.29.1")
        );
        let facts = |rt: &str, v: &str| Facts {
            runtime: Some(rt.into()),
            runtime_version: Some(v.into()),
            ..Facts::default()
        };
        assert!(facts("runc", "1.1.5+ds1").ignores_tmpfs_mode());
        assert!(facts("runc", "1.0.0-rc93").ignores_tmpfs_mode());
        assert!(!facts("runc", "1.1.8").ignores_tmpfs_mode());
        assert!(!facts("runc", "1.2.0").ignores_tmpfs_mode());
        assert!(!facts("crun", "1.8").ignores_tmpfs_mode());
        assert!(!Facts::default().ignores_tmpfs_mode());
        assert!(facts("runc", "1.1.5")
            .describe()
            .contains("runtime runc 1.1.5"));
    }
}
