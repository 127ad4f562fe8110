//! `harden verify`: run a hardened compose project in real containers and
//! prove, per service, that it still starts, works and restarts, and that
//! the baseline holds at runtime (non-root, no capabilities beyond
//! `cap_add`, no new privileges, read-only root, writable carve-outs).
//! Static checks cannot show that a hardened service still works; running
//! it can.
//!
//! verify owns only what it creates: the project runs under a fresh project
//! name, with built images tagged and `container_name`s renamed in an
//! override file of its own, and everything it created is removed
//! afterwards and checked to be gone.

pub mod checks;
pub mod compose;
pub mod engine;
pub mod procfs;
pub mod project;
pub mod report;

use checks::{Check, Status};
use compose::Service;
pub use engine::Engine;
use engine::{inspect, Backend, Stop};
use project::Project;
pub use report::Format;
use report::{Report, Table};
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
    /// After the checks, stop and start each service once and check again
    /// (the default).
    #[arg(long, overrides_with = "no_restart")]
    pub restart: bool,
    /// Check the first start only.
    #[arg(long, overrides_with = "restart")]
    pub no_restart: bool,
    /// The project before hardening (a compose file or its directory):
    /// brought up first, then stopped, then the hardened project started on
    /// the same volumes, as a migration would.
    #[arg(long, value_name = "PATH")]
    pub from_unhardened: Option<PathBuf>,
    /// Report format: `text`, or `markdown` for a pull request.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Exit status: 0 all checks pass, 1 a check fails, 2 an error (including
/// anything verify created that it could not remove).
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
    let mut projects = Vec::new();
    for p in &paths {
        match compose::find_compose_file(p).and_then(|f| Ok((compose::load(&f)?, f))) {
            Ok((services, f)) if services.is_empty() => {
                let _ = writeln!(
                    err,
                    "harden verify: {}: the project has no services",
                    f.display()
                );
                return 2;
            }
            Ok((services, f)) => projects.push((shown(p, &f), f, services)),
            Err(e) => {
                let _ = writeln!(err, "harden verify: {e}");
                return 2;
            }
        }
    }
    let before = match &args.from_unhardened {
        Some(p) => match compose::find_compose_file(p).and_then(|f| Ok((compose::load(&f)?, f))) {
            Ok((services, f)) => Some((f, services)),
            Err(e) => {
                let _ = writeln!(err, "harden verify: {e}");
                return 2;
            }
        },
        None => None,
    };
    let backend = match engine::detect(args.engine) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(err, "harden verify: {e}");
            return 2;
        }
    };
    engine::catch_interrupts();
    let facts = backend.facts();
    let mut worst = 0;
    for (shown, file, services) in &projects {
        if engine::interrupted() {
            break;
        }
        let mut report = Report {
            file: shown.clone(),
            facts: facts.describe(),
            ..Report::default()
        };
        if facts.ignores_tmpfs_mode() {
            report.warnings.extend(mode_warnings(&facts, services));
        }
        let setup = Setup {
            backend: &backend,
            file,
            services,
            before: before.as_ref(),
            args,
            tmpfs_mode_ignored: facts.ignores_tmpfs_mode(),
        };
        let code = verify_project(&setup, &mut report, err);
        let _ = report.render(args.format, out);
        worst = worst.max(code);
    }
    if engine::interrupted() {
        let _ = writeln!(err, "harden verify: interrupted");
        worst = 2;
    }
    worst
}

/// The path as the user gave it, or the file found in that directory.
fn shown(arg: &Path, file: &Path) -> String {
    if arg.is_dir() {
        let name = file.file_name().map(Path::new).unwrap_or(file);
        arg.join(name).display().to_string()
    } else {
        arg.display().to_string()
    }
}

/// Warnings for tmpfs `mode=` options the runtime will ignore.
fn mode_warnings(facts: &engine::Facts, services: &[Service]) -> Vec<String> {
    let runtime = format!(
        "{} {}",
        facts.runtime.as_deref().unwrap_or(""),
        facts.runtime_version.as_deref().unwrap_or("")
    );
    services
        .iter()
        .flat_map(|s| {
            let runtime = &runtime;
            s.carve_outs
                .iter()
                .filter(|c| c.kind == "tmpfs" && c.options.contains("mode="))
                .map(move |c| {
                    format!(
                        "{runtime} ignores the tmpfs option mode= (runc#3911, fixed in 1.1.8): service {}'s tmpfs {} comes up with the image directory's owner and mode here, so a non-root service may fail on this machine and work with a newer runc",
                        s.name, c.target
                    )
                })
        })
        .collect()
}

/// What one project's run needs.
struct Setup<'a> {
    backend: &'a Backend,
    file: &'a Path,
    services: &'a [Service],
    /// `--from-unhardened`: the project before hardening.
    before: Option<&'a (PathBuf, Vec<Service>)>,
    args: &'a VerifyArgs,
    tmpfs_mode_ignored: bool,
}

/// Bring the project up, check every service, tear it down; fill `report`
/// and return the exit status.
fn verify_project(s: &Setup, report: &mut Report, err: &mut dyn Write) -> u8 {
    let backend = s.backend;
    let mut project = Project {
        name: engine::project_name(),
        images: Vec::new(),
    };
    let scratch = match tempfile::Builder::new().prefix("harden-verify-").tempdir() {
        Ok(d) => d,
        Err(e) => {
            report.error = Some(format!("cannot create a temporary folder: {e}"));
            return 2;
        }
    };
    let files = match project.write_override(scratch.path(), "hardened", s.services) {
        Ok((o, notes)) => {
            report.notes.extend(notes);
            vec![s.file.to_path_buf(), o]
        }
        Err(e) => {
            report.error = Some(e);
            return 2;
        }
    };
    let before_files = match s.before {
        Some((f, services)) => match project.write_override(scratch.path(), "unhardened", services)
        {
            Ok((o, _)) => Some(vec![f.clone(), o]),
            Err(e) => {
                report.error = Some(e);
                return 2;
            }
        },
        None => None,
    };
    let _ = writeln!(
        err,
        "harden verify: {}: starting project {} with {}",
        report.file,
        project.name,
        backend.name()
    );
    let result = run_project(s, &project, &files, before_files.as_deref(), report, err);
    if engine::interrupted() && result.is_ok() {
        report.error = Some("interrupted".into());
    }
    if let Err(e) = result {
        report.error = Some(e);
    }

    if s.args.keep {
        let _ = writeln!(
            err,
            "harden verify: kept project {}; remove it with: {} -p {} -f {} -f {} down -v",
            project.name,
            backend.name(),
            project.name,
            files[0].display(),
            files[1].display()
        );
        // The override must outlive this run for that command.
        let _ = scratch.keep();
    } else {
        if engine::interrupted() {
            let _ = writeln!(
                err,
                "harden verify: interrupted: removing project {}",
                project.name
            );
        }
        let left = project.teardown(backend, &files);
        if left.is_empty() {
            let _ = writeln!(
                err,
                "harden verify: removed project {} (containers, networks, volumes, {} built image(s))",
                project.name,
                project.images.len()
            );
        } else {
            let msg = format!(
                "could not remove everything of project {}: {}",
                project.name,
                left.join(", ")
            );
            let _ = writeln!(err, "harden verify: {msg}");
            report.error = Some(match report.error.take() {
                Some(e) => format!("{e}; {msg}"),
                None => msg,
            });
        }
    }
    if report.error.is_some() {
        2
    } else if report.passed() {
        0
    } else {
        1
    }
}

/// The run proper: the unhardened project first where asked, then the
/// hardened one, checked, restarted and checked again.
fn run_project(
    s: &Setup,
    project: &Project,
    files: &[PathBuf],
    before: Option<&[PathBuf]>,
    report: &mut Report,
    err: &mut dyn Write,
) -> Result<(), String> {
    let backend = s.backend;
    let ctx = checks::Context {
        backend,
        settle: s.args.settle,
        tmpfs_mode_ignored: s.tmpfs_mode_ignored,
    };
    if let (Some(before), Some((_, services))) = (before, s.before) {
        up(backend, project, before, err)?;
        engine::sleep(Duration::from_secs(s.args.settle));
        check_all(&ctx, project, services, report::UNHARDENED, report)?;
        // The old project is not expected to meet the baseline: what counts
        // is that it ran and worked.
        for t in report
            .tables
            .iter_mut()
            .filter(|t| t.phase == report::UNHARDENED)
        {
            t.checks
                .retain(|c| matches!(c.name.as_str(), "running" | "healthy" | "probe"));
            if !t.failed() {
                t.logs.clear();
            }
        }
        // Stopped as an upgrade stops it: its volumes stay for the new one.
        project.remove_containers(backend)?;
    }
    if engine::interrupted() {
        return Ok(());
    }
    up(backend, project, files, err)?;
    engine::sleep(Duration::from_secs(s.args.settle));
    let phase = if before.is_some() {
        "on the unhardened run's volumes"
    } else {
        ""
    };
    check_all(&ctx, project, s.services, phase, report)?;
    if s.args.no_restart || engine::interrupted() {
        return Ok(());
    }
    let ids = project.container_ids(backend)?;
    for id in &ids {
        for step in ["stop", "start"] {
            let args: &[&str] = if step == "stop" {
                &["stop", "-t", "10", id]
            } else {
                &["start", id]
            };
            match backend.cli(args) {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    let _ = writeln!(
                        err,
                        "harden verify: {step} {id}: {}",
                        String::from_utf8_lossy(&o.stderr).trim()
                    );
                }
                Err(e) => return Err(format!("{}: {e}", backend.cli)),
            }
        }
    }
    engine::sleep(Duration::from_secs(s.args.settle));
    check_all(&ctx, project, s.services, "after restart", report)
}

/// `up -d --build` with `files`. Its output goes to `err` when it fails,
/// and a run that created no container at all is an error (podman-compose
/// exits 0 when a build fails).
fn up(
    backend: &Backend,
    project: &Project,
    files: &[PathBuf],
    err: &mut dyn Write,
) -> Result<(), String> {
    let o = backend
        .compose(
            &project.name,
            files,
            ["up", "-d", "--build"],
            Stop::OnInterrupt,
        )
        .map_err(|e| format!("{}: {e}", backend.name()))?;
    if engine::interrupted() {
        return Ok(());
    }
    let none = project.container_ids(backend)?.is_empty();
    if !o.status.success() || none {
        let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&o.stderr));
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines.get(lines.len().saturating_sub(30)..).unwrap_or(&[]);
        let _ = writeln!(err, "harden verify: `up` failed:\n{}", tail.join("\n"));
    }
    if none {
        return Err("no container was created (see the output of `up` above)".into());
    }
    Ok(())
}

/// One table per container of the project, for every service.
fn check_all(
    ctx: &checks::Context,
    project: &Project,
    services: &[Service],
    phase: &str,
    report: &mut Report,
) -> Result<(), String> {
    let backend = ctx.backend;
    let ids = project.container_ids(backend)?;
    let containers = if ids.is_empty() {
        Vec::new()
    } else {
        inspect(backend, &ids)?
    };
    let service_of = |c: &Value| checks::label(c, "com.docker.compose.service").map(str::to_string);
    // A service the compose file hides from harden (an alias, say) still
    // runs: it is checked against the baseline with nothing declared.
    let mut all: Vec<Service> = services.to_vec();
    for c in &containers {
        if let Some(name) = service_of(c) {
            if !all.iter().any(|s| s.name == name) {
                all.push(Service {
                    name,
                    ..Service::default()
                });
            }
        }
    }
    for svc in &all {
        if engine::interrupted() {
            return Ok(());
        }
        let mine: Vec<&Value> = containers
            .iter()
            .filter(|c| service_of(c).as_deref() == Some(svc.name.as_str()))
            .collect();
        if mine.is_empty() {
            report.tables.push(Table {
                service: svc.name.clone(),
                container: "-".into(),
                phase: phase.to_string(),
                checks: vec![Check::new(
                    "running",
                    Status::Fail,
                    "no container was created for it",
                )],
                logs: Vec::new(),
            });
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
            let mut table = Table {
                service: svc.name.clone(),
                container: name,
                phase: phase.to_string(),
                checks: checks::check_container(ctx, svc, c),
                logs: Vec::new(),
            };
            if table.failed() {
                table.logs = checks::log_tail(backend, id);
            }
            report.tables.push(table);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(paths: Vec<PathBuf>) -> VerifyArgs {
        VerifyArgs {
            paths,
            engine: None,
            settle: 0,
            keep: false,
            restart: false,
            no_restart: false,
            from_unhardened: None,
            format: Format::Text,
        }
    }

    #[test]
    fn a_missing_compose_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run_with(&args(vec![dir.path().to_path_buf()]), &mut out, &mut err),
            2
        );
        let err = String::from_utf8_lossy(&err);
        assert!(err.contains("no compose file here"), "{err}");
    }

    #[test]
    fn a_bad_compose_file_is_an_error_before_anything_starts() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  web:\n    image: [a\n",
        )
        .expect("write");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run_with(&args(vec![dir.path().to_path_buf()]), &mut out, &mut err),
            2
        );
        let err = String::from_utf8_lossy(&err);
        assert!(err.contains("compose.yaml:"), "{err}");
        assert!(!err.contains("starting project"), "{err}");
    }

    #[test]
    fn tmpfs_modes_are_warned_about_on_old_runc() {
        let facts = engine::Facts {
            runtime: Some("runc".into()),
            runtime_version: Some("1.1.5".into()),
            ..engine::Facts::default()
        };
        let svc = Service {
            name: "nginx".into(),
            carve_outs: vec![
                compose::CarveOut {
                    target: "/var/cache/nginx".into(),
                    kind: "tmpfs",
                    options: "size=64m,mode=1777".into(),
                },
                compose::CarveOut {
                    target: "/tmp".into(),
                    kind: "tmpfs",
                    options: "size=64m".into(),
                },
            ],
            ..Service::default()
        };
        let w = mode_warnings(&facts, &[svc]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("runc 1.1.5 ignores"), "{}", w[0]);
        assert!(w[0].contains("/var/cache/nginx"));
    }
}
