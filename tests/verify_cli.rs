//! `harden verify` through the binary: it tells the truth about what ran,
//! and it owns only what it creates. Each test writes a small project of its
//! own on the local Debian base image (`.ci/e2e-setup.sh` builds it).
//!
//! Without an engine and that image the container tests print why they were
//! skipped and pass; `HARDEN_E2E=require` turns that into a failure.

mod common;

use common::BIN;
use harden::verify::engine;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::BASE_IMAGE;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Status word and evidence of the report rows for `check`, in order.
    fn rows(&self, check: &str) -> Vec<(String, String)> {
        self.stdout
            .lines()
            .filter_map(|line| {
                let rest = line.trim_start().strip_prefix(check)?;
                let (word, evidence) = rest.trim_start().split_once("  ")?;
                matches!(word, "PASS" | "FAIL" | "SKIP")
                    .then(|| (word.to_string(), evidence.to_string()))
            })
            .collect()
    }

    /// Every row for `check` has `word` and evidence containing `part`;
    /// returns how many there are.
    fn expect_rows(&self, check: &str, word: &str, part: &str) -> usize {
        let rows = self.rows(check);
        assert!(!rows.is_empty(), "no `{check}` row:\n{}", self.stdout);
        for (w, ev) in &rows {
            assert_eq!(w, word, "`{check}`: {ev}\n{}", self.stdout);
            assert!(ev.contains(part), "`{check}` lacks {part:?}: {ev}");
        }
        rows.len()
    }

    fn project(&self) -> String {
        let rest = self
            .stderr
            .split("starting project ")
            .nth(1)
            .unwrap_or_else(|| panic!("no project name:\n{}", self.stderr));
        rest.split_whitespace().next().unwrap_or("").to_string()
    }
}

fn verify(cwd: &Path, args: &[&str]) -> Outcome {
    let o = Command::new(BIN)
        .arg("verify")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harden");
    let out = Outcome {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    eprintln!("--- harden verify {args:?}\n{}{}", out.stdout, out.stderr);
    out
}

fn cli(backend: &engine::Backend, args: &[&str]) -> String {
    let o = Command::new(backend.cli)
        .args(args)
        .output()
        .expect("engine");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Every container, network, volume and image the engine lists, by name.
fn inventory(backend: &engine::Backend) -> Vec<String> {
    let mut all = Vec::new();
    for (kind, args) in [
        ("container", &["ps", "-a", "--format", "{{.Names}}"][..]),
        ("network", &["network", "ls", "--format", "{{.Name}}"][..]),
        ("volume", &["volume", "ls", "--format", "{{.Name}}"][..]),
        (
            "image",
            &["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"][..],
        ),
    ] {
        all.extend(
            cli(backend, args)
                .lines()
                .map(|n| format!("{kind} {}", n.trim())),
        );
    }
    all
}

/// Nothing named after the project is left, and nothing carries its label.
/// (Other projects run on the same engine at the same time: only what is
/// verify's can be asked about.)
fn assert_nothing_left(backend: &engine::Backend, project: &str, before: &[String]) {
    assert!(project.starts_with("harden-verify-"), "{project}");
    let after = inventory(backend);
    let new: Vec<&String> = after
        .iter()
        .filter(|n| !before.contains(n) && n.contains(project))
        .collect();
    assert!(new.is_empty(), "left behind by {project}: {new:?}");
    let filter = format!("label=com.docker.compose.project={project}");
    for args in [
        &["ps", "-a", "-q", "--filter", filter.as_str()][..],
        &["network", "ls", "-q", "--filter", filter.as_str()][..],
        &["volume", "ls", "-q", "--filter", filter.as_str()][..],
    ] {
        let left = cli(backend, args);
        assert!(left.is_empty(), "{args:?} of {project}: {left}");
    }
}

/// Commands run when dropped: the test's own containers and images go
/// away even when an assertion fails first.
struct Cleanup(Vec<Vec<String>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for argv in &self.0 {
            if let Some((prog, args)) = argv.split_first() {
                let _ = Command::new(prog).args(args).output();
            }
        }
    }
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// A postgres-like service: started as root, its entrypoint prepares the
/// data volume and the socket directory and drops to uid 999 with setpriv,
/// as the official image does with gosu. The socket directory is asked for
/// as `/var/run/postgresql`, which the image links to `/run`; the templates
/// are an input mounted from the project, not a place to write.
const DB_COMPOSE: &str = r#"services:
  db:
    image: localhost/debian:bookworm-slim
    entrypoint:
      - sh
      - -c
      - |
        chown 999:999 /var/lib/db /var/run/postgresql
        exec setpriv --reuid 999 --regid 999 --clear-groups sh -c 'trap "exit 0" TERM; echo ready > /var/run/postgresql/ready; echo row >> /var/lib/db/table; sleep 600 & wait'
    read_only: true
    cap_drop: [ALL]
    cap_add: [CHOWN, SETUID, SETGID]
    security_opt: ["no-new-privileges:true"]
    tmpfs:
      - /tmp:size=16m
      - /var/run/postgresql:size=1m
    volumes:
      - db-data:/var/lib/db
      - ./templates:/etc/db/templates
    x-harden:
      probe: test -s /var/lib/db/table && test -f /var/run/postgresql/ready
volumes:
  db-data:
"#;

#[test]
fn probes_run_as_the_service_user_behind_links_and_skip_inputs() {
    let Some(backend) = common::engine_with_base_or_skip(
        "probes_run_as_the_service_user_behind_links_and_skip_inputs",
    ) else {
        return;
    };
    let dir = common::scratch();
    write(dir.path(), "stack/db/compose.yaml", DB_COMPOSE);
    write(
        dir.path(),
        "stack/db/templates/pg_hba.conf.template",
        "local all all trust\n",
    );
    let before = inventory(&backend);
    // A relative path that is not `.`, from another directory.
    let run = verify(dir.path(), &["--settle", "2", "stack/db"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("stack/db/compose.yaml: engine "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(", runtime "), "{}", run.stdout);
    // First start and after the restart.
    assert_eq!(run.expect_rows("running", "PASS", "0 restarts"), 2);
    run.expect_rows("non-root", "PASS", "Uid: 999 999 999 999");
    run.expect_rows(
        "writable /var/run/postgresql",
        "PASS",
        "mounted at /run/postgresql rw; write probe ok as 999:999",
    );
    run.expect_rows("writable /var/lib/db", "PASS", "write probe ok as 999:999");
    run.expect_rows(
        "probe",
        "PASS",
        "`test -s /var/lib/db/table && test -f /var/run/postgresql/ready` exited 0",
    );
    assert!(
        run.rows("writable /etc/db/templates").is_empty(),
        "an input is not a carve-out:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("(container "), "{}", run.stdout);
    assert!(run.stdout.contains(") after restart"), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("stack/db/compose.yaml: all checks passed"));
    assert_nothing_left(&backend, &run.project(), &before);
}

#[test]
fn a_crash_loop_is_torn_down_and_the_markdown_report_shows_it() {
    let Some(backend) = common::engine_with_base_or_skip(
        "a_crash_loop_is_torn_down_and_the_markdown_report_shows_it",
    ) else {
        return;
    };
    let dir = common::scratch();
    write(
        dir.path(),
        "compose.yaml",
        r#"services:
  worker:
    image: localhost/debian:bookworm-slim
    command: ["sh", "-c", "echo 'cannot connect to queue' >&2; exit 3"]
    restart: always
    volumes:
      - spool:/var/spool/worker
    networks: [backend]
  cache:
    image: localhost/debian:bookworm-slim
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    restart: always
    networks: [backend]
volumes:
  spool:
networks:
  backend:
"#,
    );
    let before = inventory(&backend);
    let run = verify(
        dir.path(),
        &["--settle", "3", "--no-restart", "--format", "markdown", "."],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("| check | result | evidence |"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("#### Service worker (container "));
    assert!(
        run.stdout.contains("| running | ❌ FAIL | "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("cannot connect to queue"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("after restart"), "--no-restart");
    // (The cache runs, as root: the baseline fails there.)
    assert!(
        run.stdout.contains("Failing services: cache, worker"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("harden verify: removed project"),
        "{}",
        run.stderr
    );
    assert_nothing_left(&backend, &run.project(), &before);
}

#[test]
fn existing_containers_and_image_tags_are_left_alone() {
    let Some(backend) =
        common::engine_with_base_or_skip("existing_containers_and_image_tags_are_left_alone")
    else {
        return;
    };
    let pid = std::process::id();
    let name = format!("harden-test-owned-{pid}");
    let tag = format!("localhost/harden-test-owned-{pid}:latest");
    // Someone's container and image, there before verify runs.
    let base_id = cli(
        &backend,
        &["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE],
    );
    cli(&backend, &["tag", BASE_IMAGE, tag.as_str()]);
    let container = cli(
        &backend,
        &[
            "run",
            "-d",
            "--name",
            name.as_str(),
            BASE_IMAGE,
            "sleep",
            "600",
        ],
    );
    // Removed when the test ends, however it ends.
    let _cleanup = Cleanup(vec![
        vec![
            backend.cli.into(),
            "rm".into(),
            "-f".into(),
            "-t".into(),
            "0".into(),
            name.clone(),
        ],
        vec![backend.cli.into(), "image".into(), "rm".into(), tag.clone()],
    ]);
    let dir = common::scratch();
    write(
        dir.path(),
        "Dockerfile",
        &format!("FROM {BASE_IMAGE}\nRUN echo built > /built\nCMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 600 & wait\"]\n"),
    );
    write(
        dir.path(),
        "compose.yaml",
        &format!("services:\n  app:\n    build: .\n    image: {tag}\n    container_name: {name}\n    x-harden:\n      probe: cat /built\n"),
    );
    let before = inventory(&backend);
    let run = verify(dir.path(), &["--settle", "1", "--no-restart", "."]);
    let after_container = cli(
        &backend,
        &[
            "inspect",
            "--format",
            "{{.Id}} {{.State.Status}}",
            name.as_str(),
        ],
    );
    let after_tag = cli(
        &backend,
        &["image", "inspect", "--format", "{{.Id}}", tag.as_str()],
    );
    let project = run.project();
    assert_eq!(
        after_container,
        format!("{container} running"),
        "the existing container is untouched:\n{}{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(after_tag, base_id, "the existing tag did not move");
    // verify ran the service under names of its own, and said so.
    assert!(
        run.stdout
            .contains(&format!("container_name {name} runs as {project}-app")),
        "{}",
        run.stdout
    );
    run.expect_rows("probe", "PASS", "exited 0: built");
    assert_nothing_left(&backend, &project, &before);
}

#[test]
fn a_migration_from_the_unhardened_project_keeps_its_data() {
    let Some(backend) =
        common::engine_with_base_or_skip("a_migration_from_the_unhardened_project_keeps_its_data")
    else {
        return;
    };
    let dir = common::scratch();
    // Before: runs as root and writes its data as root.
    write(
        dir.path(),
        "old/compose.yaml",
        r#"services:
  app:
    image: localhost/debian:bookworm-slim
    command: ["sh", "-c", "echo v1 > /srv/data/state; chown -R 1000:1000 /srv/data; trap 'exit 0' TERM; sleep 600 & wait"]
    volumes:
      - app-data:/srv/data
volumes:
  app-data:
"#,
    );
    // After: uid 1000, read-only, no capabilities, and its probe reads what
    // the old one wrote.
    write(
        dir.path(),
        "new/compose.yaml",
        r#"services:
  app:
    image: localhost/debian:bookworm-slim
    user: "1000:1000"
    command: ["sh", "-c", "echo v2 >> /srv/data/state; trap 'exit 0' TERM; sleep 600 & wait"]
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    volumes:
      - app-data:/srv/data
    x-harden:
      probe: ["grep", "-q", "v1", "/srv/data/state"]
volumes:
  app-data:
"#,
    );
    let before = inventory(&backend);
    let run = verify(
        dir.path(),
        &["--settle", "2", "--from-unhardened", "old", "new"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(") unhardened run"),
        "the old project ran first:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains(") on the unhardened run's volumes"));
    // The old run, the new one on its volume, and the restart.
    assert_eq!(run.expect_rows("running", "PASS", "running"), 3);
    assert_eq!(run.expect_rows("probe", "PASS", "exited 0"), 2);
    // The old project is not held to the baseline.
    assert_eq!(run.expect_rows("non-root", "PASS", "Uid: 1000"), 2);
    run.expect_rows("writable /srv/data", "PASS", "write probe ok as 1000:1000");
    assert_nothing_left(&backend, &run.project(), &before);
}

#[test]
fn ctrl_c_tears_the_project_down() {
    let Some(backend) = common::engine_with_base_or_skip("ctrl_c_tears_the_project_down") else {
        return;
    };
    let dir = common::scratch();
    write(
        dir.path(),
        "compose.yaml",
        r#"services:
  api:
    image: localhost/debian:bookworm-slim
    command: ["sleep", "600"]
    volumes:
      - cache:/var/cache/api
volumes:
  cache:
"#,
    );
    let before = inventory(&backend);
    let mut child = Command::new(BIN)
        .args(["verify", "--settle", "300", "."])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run harden");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut project = String::new();
    let mut seen = Vec::new();
    let started = Instant::now();
    // Wait for the project's container to run, then press Ctrl-C.
    while started.elapsed() < Duration::from_secs(120) {
        while let Ok(line) = rx.try_recv() {
            if let Some(rest) = line.split("starting project ").nth(1) {
                project = rest.split_whitespace().next().unwrap_or("").to_string();
            }
            seen.push(line);
        }
        if !project.is_empty() {
            let filter = format!("label=com.docker.compose.project={project}");
            let running = cli(
                &backend,
                &[
                    "ps",
                    "-q",
                    "--filter",
                    filter.as_str(),
                    "--filter",
                    "status=running",
                ],
            );
            if !running.is_empty() {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!project.is_empty(), "verify started no project: {seen:?}");
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-INT", pid.as_str()])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    reader.join().expect("stderr read");
    for line in rx.try_iter() {
        seen.push(line);
    }
    assert!(
        started.elapsed() < Duration::from_secs(200),
        "verify stopped waiting on Ctrl-C"
    );
    assert_eq!(status.code(), Some(2), "{status:?} {seen:?}");
    assert!(
        seen.iter().any(|l| l.contains("removed project")),
        "{seen:?}"
    );
    assert_nothing_left(&backend, &project, &before);
}

/// An engine whose containers cannot be removed, played by two scripts
/// first on PATH: whatever verify could not remove is named, and the exit
/// status is 2, never a "removed project". Needs no engine.
#[test]
fn what_cannot_be_removed_is_named_with_exit_status_2() {
    use std::os::unix::fs::PermissionsExt;
    let bin = common::scratch();
    let script = |name: &str, text: &str| {
        let path = bin.path().join(name);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    script(
        "podman-compose",
        "#!/bin/sh\ncase \"$*\" in\n  version) echo 'podman-compose version 1.0.6' ;;\nesac\nexit 0\n",
    );
    script(
        "podman",
        r#"#!/bin/sh
case "$1" in
  info) echo '{"version":{"Version":"4.3.1"},"host":{"ociRuntime":{"name":"runc","version":"runc version 1.1.5"}}}' ;;
  compose) exit 1 ;;
  ps) case "$*" in
        *Names*) echo stuck_worker_1 ;;
        *) echo 0123abcd ;;
      esac ;;
  inspect) echo '[{"Id":"0123abcd","Name":"stuck_worker_1","RestartCount":7,"State":{"Status":"restarting","Restarting":true,"ExitCode":3,"Pid":0},"Config":{"Labels":{"com.docker.compose.service":"worker"}}}]' ;;
  logs) echo 'worker: cannot connect to queue' >&2 ;;
  stop|rm) echo 'Error: container 0123abcd is restarting' >&2; exit 125 ;;
  network|volume) ;;
  image) exit 1 ;;
  *) exit 1 ;;
esac
"#,
    );
    let dir = common::scratch();
    write(
        dir.path(),
        "compose.yaml",
        "services:\n  worker:\n    image: localhost/worker:1\n    restart: always\n",
    );
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let o = Command::new(BIN)
        .args(["verify", "--settle", "0", "--no-restart", "."])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harden");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("could not remove everything of project harden-verify-")
            && stderr.contains(": container stuck_worker_1"),
        "{stderr}"
    );
    assert!(!stderr.contains("removed project"), "{stderr}");
    assert!(
        stdout.contains("FAIL  restarting, restarted 7 time(s), last exit code 3"),
        "{stdout}"
    );
    assert!(stdout.contains("cannot connect to queue"), "{stdout}");
    assert!(
        stdout.contains("engine podman 4.3.1, podman-compose 1.0.6, runtime runc 1.1.5"),
        "{stdout}"
    );
    assert!(stdout.contains("./compose.yaml: ERROR"), "{stdout}");
}

/// What a single start on a fresh volume cannot show: a service that only
/// fails when it starts again on its own data (as redis did with an
/// `appendonlydir` its first run made unreadable), and one that runs but
/// serves the wrong page (as nginx did with its templates ignored). The
/// restart and the author's probe find both.
#[test]
fn a_restart_and_the_probe_find_what_one_start_misses() {
    let Some(backend) =
        common::engine_with_base_or_skip("a_restart_and_the_probe_find_what_one_start_misses")
    else {
        return;
    };
    let dir = common::scratch();
    write(
        dir.path(),
        "compose.yaml",
        r#"services:
  cache:
    image: localhost/debian:bookworm-slim
    user: "1000:1000"
    command:
      - sh
      - -c
      - |
        if [ -e /data/appendonlydir ]; then echo "cannot open appendonlydir: Permission denied" >&2; exit 1; fi
        mkdir -p /data/appendonlydir
        trap 'exit 0' TERM; sleep 600 & wait
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    volumes:
      - cache-data:/data
  web:
    image: localhost/debian:bookworm-slim
    user: "1000:1000"
    command: ["sh", "-c", "echo 'Welcome to the stock page' > /tmp/index.html; trap 'exit 0' TERM; sleep 600 & wait"]
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    tmpfs:
      - /tmp:size=1m
    x-harden:
      probe: grep -q "Welcome to the shop" /tmp/index.html
volumes:
  cache-data:
"#,
    );
    let before = inventory(&backend);
    let run = verify(dir.path(), &["--settle", "2", "."]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let running = run.rows("running");
    assert_eq!(running.len(), 4, "{}", run.stdout);
    // cache: passes its first start, fails after the restart, and says why.
    let cache_after = run
        .stdout
        .split("service cache (container ")
        .nth(2)
        .expect("cache after restart");
    assert!(cache_after.contains(") after restart"), "{}", run.stdout);
    assert!(
        cache_after.contains("FAIL  exited, exit code 1"),
        "{cache_after}"
    );
    assert!(
        cache_after.contains("cannot open appendonlydir: Permission denied"),
        "{cache_after}"
    );
    // web: runs, and the probe says it does not work.
    run.expect_rows(
        "probe",
        "FAIL",
        "`grep -q \"Welcome to the shop\" /tmp/index.html` failed",
    );
    assert!(
        run.stdout.contains("failing services: cache, web"),
        "{}",
        run.stdout
    );
    assert_nothing_left(&backend, &run.project(), &before);
}

/// An s6-style service: the main process stays root (with no
/// DAC_OVERRIDE) and starts the service as its own user, 911, which owns
/// the data volume. The write probe runs as 911, the owner that one of the
/// service's processes runs as; as root it would fail where the service
/// writes fine.
#[test]
fn carve_outs_of_a_root_supervisor_are_probed_as_the_service_user() {
    let Some(backend) = common::engine_with_base_or_skip(
        "carve_outs_of_a_root_supervisor_are_probed_as_the_service_user",
    ) else {
        return;
    };
    let dir = common::scratch();
    write(
        dir.path(),
        "compose.yaml",
        r#"services:
  app:
    image: localhost/debian:bookworm-slim
    entrypoint:
      - sh
      - -c
      - |
        chown 911:911 /srv/app
        trap 'exit 0' TERM
        setpriv --reuid 911 --regid 911 --clear-groups sh -c 'echo up > /srv/app/state; exec sleep 600' &
        wait
    read_only: true
    cap_drop: [ALL]
    cap_add: [CHOWN, SETUID, SETGID]
    security_opt: ["no-new-privileges:true"]
    tmpfs:
      - /tmp:size=16m
    volumes:
      - app-data:/srv/app
volumes:
  app-data:
"#,
    );
    let before = inventory(&backend);
    let run = verify(dir.path(), &["--settle", "2", "."]);
    // The supervisor is root: that stays a failure, told as it is.
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    run.expect_rows("non-root", "FAIL", "Uid: 0 0 0 0");
    run.expect_rows("non-root", "FAIL", "; other processes as 911 (sleep)");
    assert_eq!(
        run.expect_rows(
            "writable /srv/app",
            "PASS",
            "write probe ok as 911:911 (its owner, the uid of pid "
        ),
        2
    );
    // Root's own scratch space is still probed as root.
    run.expect_rows("writable /tmp", "PASS", "write probe ok as 0:0");
    assert_nothing_left(&backend, &run.project(), &before);
}

/// A project that already fails before harden touched it: the report says
/// so for that service instead of blaming harden, and the status stays 1.
#[test]
fn a_service_failing_before_harden_is_marked_so() {
    let Some(backend) =
        common::engine_with_base_or_skip("a_service_failing_before_harden_is_marked_so")
    else {
        return;
    };
    let dir = common::scratch();
    let broken = |extra: &str| {
        format!(
            r#"services:
  db:
    image: localhost/debian:bookworm-slim
    command: ["sh", "-c", "echo 'data path is a mount point' >&2; exit 3"]
{extra}"#
        )
    };
    write(dir.path(), "old/compose.yaml", &broken(""));
    write(
        dir.path(),
        "new/compose.yaml",
        &broken("    read_only: true\n    cap_drop: [ALL]\n    security_opt: [\"no-new-privileges:true\"]\n"),
    );
    let before = inventory(&backend);
    let run = verify(
        dir.path(),
        &[
            "--settle",
            "2",
            "--no-restart",
            "--from-unhardened",
            "old",
            "new",
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(") on the unhardened run's volumes: fails before harden\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("failing services: db (fails before harden)\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .trim_end()
            .ends_with("new/compose.yaml: FAILED, as before harden"),
        "{}",
        run.stdout
    );
    assert_nothing_left(&backend, &run.project(), &before);
}
