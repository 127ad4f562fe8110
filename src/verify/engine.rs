//! Which container engine runs the project, and the commands verify sends it.
//! Everything goes through the engine's own command-line tools, so verify
//! works with whatever the machine has and needs no API client.

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};

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

    /// Run the compose command for `project` and `file` with `args`.
    pub fn compose<I, S>(
        &self,
        project: &str,
        file: &std::path::Path,
        args: I,
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
        cmd.args(pre)
            .arg("-p")
            .arg(project)
            .arg("-f")
            .arg(file)
            .args(args);
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null()).output()
    }

    /// Run the engine CLI with `args`.
    pub fn cli<I, S>(&self, args: I) -> std::io::Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Command::new(self.cli)
            .args(args)
            .stdin(Stdio::null())
            .output()
    }
}

/// Whether `prog args...` runs and exits 0.
fn works(prog: &str, args: &[&str]) -> bool {
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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
}
