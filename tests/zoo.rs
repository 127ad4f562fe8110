//! The image zoo, end to end: each project under `tests/zoo-projects/` uses
//! a look-alike of a well-known official image (`tests/zoo/`, built by
//! `.ci/zoo-build.sh` and tagged as the real image, so `image: postgres:16`
//! matches harden's postgres profile) the way that image's documentation
//! suggests. For each project, on a copy:
//!
//! 1. the unhardened project runs, works (a functional probe: a query, a GET
//!    of the expected page, a SET and GET) and writes data to its volumes;
//! 2. `harden fix` hardens it (its diff is the snapshot `zoo_fix_PROJECT`);
//! 3. the hardened project starts on the volumes the unhardened run left, as
//!    a migration would, stays up, and still finds that data;
//! 4. it is stopped and started again and still works with its data;
//! 5. the same on fresh volumes: start, write, restart, read.
//!
//! The fix and its snapshot need no engine and always run. The containers
//! need an engine and the zoo images; without them the tests print why they
//! were skipped and pass, unless `HARDEN_E2E=require` (CI) makes that a
//! failure. Everything a test creates (containers, volumes, networks, built
//! images) carries its unique project name and is removed afterwards, even
//! when the test fails.

mod common;

use harden::verify::engine;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long a service may take to answer its readiness probe (a database's
/// first start initialises it; the machine may be busy).
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// One zoo project and what "it works" means for it.
struct Case {
    /// Folder under `tests/zoo-projects/`.
    project: &'static str,
    /// The service probed.
    service: &'static str,
    /// Zoo images (`localhost/harden-zoo/NAME`) the project needs.
    images: &'static [&'static str],
    /// bash command that succeeds once the service answers.
    ready: &'static str,
    /// bash command that writes data the later probes must find.
    seed: Option<&'static str>,
    /// bash command whose output must contain `expect`.
    probe: &'static str,
    expect: &'static str,
}

/// An HTTP GET of `/` on a port inside the container, through bash's
/// /dev/tcp (no client needs installing).
macro_rules! http_get {
    ($port:literal) => {
        concat!(
            "exec 3<>/dev/tcp/127.0.0.1/",
            $port,
            " && printf 'GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && cat <&3"
        )
    };
}

/// The engine, once the zoo images the project needs are built.
fn zoo_engine_or_skip(test: &str, images: &[&str]) -> Option<engine::Backend> {
    let images: Vec<String> = images
        .iter()
        .map(|i| format!("localhost/harden-zoo/{i}:latest"))
        .collect();
    common::engine_or_skip(test, &images, "bash .ci/zoo-build.sh")
}

fn run(cli: &str, args: &[&str]) -> Output {
    Command::new(cli)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cli}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn project_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/zoo-projects")
        .join(name)
}

/// `harden fix` on the copy: the diff it announces is the snapshot
/// `zoo_fix_PROJECT` and is exactly what it writes; fixing again changes
/// nothing. Returns the diff and the notes.
fn fix(name: &str, dir: &Path) -> String {
    let dry = common::fix_flat_project(name, dir, |dry| {
        insta::with_settings!({snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("zoo_fix_{}", name.replace('-', "_")), format!("{}\n--- notes\n{}", dry.stdout, dry.stderr));
        });
    });
    format!("{}{}", dry.stdout, dry.stderr)
}

/// A compose project under a unique name, driven through the engine's
/// compose tool. Dropping it removes everything it created: containers
/// (also those in a restart loop), volumes, the default network and built
/// images, all found by the project's name.
struct Project {
    cli: &'static str,
    dir: PathBuf,
    name: String,
    service: &'static str,
}

impl Project {
    fn new(backend: &engine::Backend, dir: &Path, case: &Case) -> Project {
        Project {
            cli: backend.cli,
            dir: dir.to_path_buf(),
            name: format!("harden-zoo-{}-{}", case.project, std::process::id()),
            service: case.service,
        }
    }

    fn compose(&self, args: &[&str]) -> Output {
        let mut cmd = if self.cli == "docker" {
            let mut c = Command::new("docker");
            c.arg("compose");
            c
        } else {
            Command::new("podman-compose")
        };
        cmd.args(["-p", self.name.as_str(), "-f", "compose.yaml"])
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run the compose tool")
    }

    fn up(&self, what: &str) {
        let o = self.compose(&["up", "-d"]);
        assert!(o.status.success(), "{what}: up failed:\n{}", text(&o));
    }

    /// Containers removed, named volumes kept (they are the data).
    fn down(&self) {
        for id in self.ids("container") {
            run(self.cli, &["rm", "-f", "-t", "20", id.as_str()]);
        }
    }

    fn filter(&self) -> String {
        format!("label=com.docker.compose.project={}", self.name)
    }

    fn ids(&self, kind: &str) -> Vec<String> {
        let filter = self.filter();
        let mut args = vec![kind, "ls", "-q", "--filter", filter.as_str()];
        if kind == "container" {
            args.push("-a");
        }
        String::from_utf8_lossy(&run(self.cli, &args).stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    fn remove_volumes(&self) {
        for v in self.ids("volume") {
            let o = run(self.cli, &["volume", "rm", "-f", v.as_str()]);
            assert!(o.status.success(), "removing volume {v}: {}", text(&o));
        }
    }

    fn container(&self) -> String {
        let filter = self.filter();
        let svc = format!("label=com.docker.compose.service={}", self.service);
        let o = run(
            self.cli,
            &[
                "ps",
                "-a",
                "-q",
                "--filter",
                filter.as_str(),
                "--filter",
                svc.as_str(),
            ],
        );
        let ids = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut ids = ids.split_whitespace();
        let id = ids
            .next()
            .unwrap_or_else(|| panic!("no container for {}", self.service));
        assert!(ids.next().is_none(), "one container for {}", self.service);
        id.to_string()
    }

    /// Status and restart count of the service's container.
    fn state(&self) -> (String, u32) {
        let o = run(
            self.cli,
            &[
                "inspect",
                "-f",
                "{{.State.Status}} {{.RestartCount}}",
                self.container().as_str(),
            ],
        );
        let t = String::from_utf8_lossy(&o.stdout).into_owned();
        let (status, restarts) = t.trim().split_once(' ').unwrap_or((t.trim(), "0"));
        (status.to_string(), restarts.parse().unwrap_or(0))
    }

    fn logs(&self) -> String {
        text(&run(
            self.cli,
            &["logs", "--tail", "25", self.container().as_str()],
        ))
    }

    fn exec(&self, script: &str) -> Output {
        run(
            self.cli,
            &["exec", self.container().as_str(), "bash", "-c", script],
        )
    }

    /// Waits until `ready` succeeds, then checks the service is still up a
    /// moment later without having restarted.
    fn wait_ready(&self, case: &Case, what: &str) {
        let start = Instant::now();
        loop {
            let (status, _) = self.state();
            if status == "running" && self.exec(case.ready).status.success() {
                break;
            }
            // A container that stopped and is not being restarted will not
            // become ready.
            let gone = matches!(status.as_str(), "exited" | "stopped" | "dead")
                && start.elapsed() > Duration::from_secs(15);
            assert!(
                start.elapsed() < READY_TIMEOUT && !gone,
                "{what}: {} not ready after {:?} (status {status}); last log lines:\n{}",
                self.service,
                start.elapsed(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(700));
        }
        let (_, restarts) = self.state();
        std::thread::sleep(Duration::from_secs(2));
        let (status, again) = self.state();
        assert!(
            status == "running" && again == restarts,
            "{what}: {} stopped or restarted after it was ready ({status}, {restarts} -> {again} restarts):\n{}",
            self.service,
            self.logs()
        );
    }

    fn seed(&self, case: &Case, what: &str) {
        if let Some(seed) = case.seed {
            let o = self.exec(seed);
            assert!(
                o.status.success(),
                "{what}: writing data failed:\n{}",
                text(&o)
            );
        }
    }

    fn probe(&self, case: &Case, what: &str) {
        let o = self.exec(case.probe);
        let out = text(&o);
        assert!(
            o.status.success() && out.contains(case.expect),
            "{what}: the probe did not find {:?}:\n{out}\nlast log lines:\n{}",
            case.expect,
            self.logs()
        );
    }

    /// Stop (gracefully, as an operator would) and start the same container.
    fn restart(&self, case: &Case, what: &str) {
        let id = self.container();
        let o = run(self.cli, &["stop", "-t", "30", id.as_str()]);
        assert!(o.status.success(), "{what}: stop: {}", text(&o));
        let o = run(self.cli, &["start", id.as_str()]);
        assert!(o.status.success(), "{what}: start: {}", text(&o));
        self.wait_ready(case, what);
    }

    /// The hardening harden wrote is what runs.
    fn assert_hardened(&self) {
        let o = run(
            self.cli,
            &[
                "inspect",
                "-f",
                "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}",
                self.container().as_str(),
            ],
        );
        // Docker lists `ALL`, Podman every capability it dropped; no
        // profile adds SYS_CHROOT back.
        let t = String::from_utf8_lossy(&o.stdout).to_uppercase();
        assert!(
            t.starts_with("TRUE") && (t.contains("ALL") || t.contains("SYS_CHROOT")),
            "hardened container: read-only root and all capabilities dropped: {t}"
        );
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.down();
        for v in self.ids("volume") {
            run(self.cli, &["volume", "rm", "-f", v.as_str()]);
        }
        let network = format!("{}_default", self.name);
        if run(self.cli, &["network", "exists", network.as_str()])
            .status
            .success()
        {
            run(self.cli, &["network", "rm", "-f", network.as_str()]);
        }
        for sep in ["_", "-"] {
            let image = format!("{}{sep}{}", self.name, self.service);
            if run(self.cli, &["image", "exists", image.as_str()])
                .status
                .success()
            {
                run(self.cli, &["image", "rm", "-f", image.as_str()]);
            }
        }
        if std::thread::panicking() {
            return;
        }
        let left: Vec<String> = ["container", "volume"]
            .iter()
            .flat_map(|k| self.ids(k))
            .collect();
        assert!(left.is_empty(), "left behind by {}: {left:?}", self.name);
    }
}

/// The whole story for one project (see the module documentation).
fn zoo(case: Case) {
    let test = format!("zoo_{}", case.project.replace('-', "_"));
    let copy = tempfile::Builder::new()
        .prefix(&format!("harden-zoo-{}-", case.project))
        .tempdir()
        .expect("tempdir");
    let dir = copy.path();
    common::copy_tree(&project_dir(case.project), dir);
    let backend = zoo_engine_or_skip(&test, case.images);
    let project = backend.as_ref().map(|b| Project::new(b, dir, &case));

    // Before: the project as its authors wrote it works and writes data.
    if let Some(p) = &project {
        p.up("unhardened");
        p.wait_ready(&case, "unhardened");
        p.seed(&case, "unhardened");
        p.probe(&case, "unhardened");
        p.down();
    }

    fix(case.project, dir);
    let Some(p) = project else { return };

    // Hardened, on the volumes the unhardened run wrote.
    p.up("hardened on the old volumes");
    p.assert_hardened();
    p.wait_ready(&case, "hardened on the old volumes");
    p.probe(&case, "hardened on the old volumes");
    p.restart(&case, "hardened on the old volumes, restarted");
    p.probe(&case, "hardened on the old volumes, restarted");
    p.down();
    p.remove_volumes();

    // Hardened, from scratch.
    p.up("hardened on new volumes");
    p.wait_ready(&case, "hardened on new volumes");
    p.seed(&case, "hardened on new volumes");
    p.probe(&case, "hardened on new volumes");
    p.restart(&case, "hardened on new volumes, restarted");
    p.probe(&case, "hardened on new volumes, restarted");
}

const PG_READY: &str = "pg_isready -q -h 127.0.0.1";

#[test]
fn zoo_postgres_volume() {
    zoo(Case {
        project: "postgres-volume",
        service: "db",
        images: &["postgres"],
        ready: PG_READY,
        seed: Some(
            "psql -v ON_ERROR_STOP=1 -U app -d appdb -c \"CREATE TABLE IF NOT EXISTS kept (v text); INSERT INTO kept VALUES ('written before')\"",
        ),
        probe: "psql -U app -d appdb -tAc 'SELECT v FROM kept'",
        expect: "written before",
    });
}

#[test]
fn zoo_postgres_build() {
    zoo(Case {
        project: "postgres-build",
        service: "db",
        images: &["postgres"],
        ready: PG_READY,
        seed: Some(
            "psql -v ON_ERROR_STOP=1 -U postgres -c \"INSERT INTO notes (body) VALUES ('written before')\"",
        ),
        probe: "psql -U postgres -tAc \"SELECT string_agg(body, ', ' ORDER BY id) FROM notes\"",
        expect: "created by the schema, written before",
    });
}

#[test]
fn zoo_postgres18_volume() {
    zoo(Case {
        project: "postgres18-volume",
        service: "db",
        images: &["postgres18"],
        ready: PG_READY,
        seed: Some(
            "psql -v ON_ERROR_STOP=1 -U postgres -c \"CREATE TABLE IF NOT EXISTS kept (v text); INSERT INTO kept VALUES ('written before')\"",
        ),
        probe: "psql -U postgres -tAc 'SELECT v FROM kept'",
        expect: "written before",
    });
}

/// A project moved to postgres:18 by its tag alone, its volume still at the
/// old data path: the 18 entrypoint refuses any mount there, so a second
/// volume at /var/lib/postgresql would not help. harden adds none and says
/// how to migrate. (The look-alike refuses the same way, shown below.)
#[test]
fn zoo_postgres18_old_mount_gets_a_migration_note() {
    let copy = tempfile::Builder::new()
        .prefix("harden-zoo-postgres18-old-mount-")
        .tempdir()
        .expect("tempdir");
    let dir = copy.path();
    common::copy_tree(&project_dir("postgres18-old-mount"), dir);
    let out = fix("postgres18-old-mount", dir);
    let fixed = std::fs::read_to_string(dir.join("compose.yaml")).expect("read");
    assert!(!fixed.contains(":/var/lib/postgresql\n"), "{fixed}");
    assert!(
        fixed.contains("- pgdata:/var/lib/postgresql/data\n"),
        "{fixed}"
    );
    assert!(
        out.contains("refuse to start with: harden added no volume at /var/lib/postgresql")
            && out.contains("pg_upgrade"),
        "{out}"
    );

    let test = "zoo_postgres18_old_mount_gets_a_migration_note";
    let case = Case {
        project: "postgres18-old-mount",
        service: "db",
        images: &["postgres18"],
        ready: PG_READY,
        seed: None,
        probe: PG_READY,
        expect: "",
    };
    let Some(backend) = zoo_engine_or_skip(test, case.images) else {
        return;
    };
    let p = Project::new(&backend, dir, &case);
    p.up("18 with the old data mount");
    let start = Instant::now();
    while p.state().0 == "running" && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        p.logs()
            .contains("/var/lib/postgresql/data holds a database or is a mount point"),
        "{}",
        p.logs()
    );
}

#[test]
fn zoo_nginx_default() {
    zoo(Case {
        project: "nginx-default",
        service: "web",
        images: &["nginx"],
        ready: http_get!("80"),
        seed: None,
        probe: http_get!("80"),
        expect: "stock page of the nginx look-alike",
    });
}

#[test]
fn zoo_nginx_static() {
    zoo(Case {
        project: "nginx-static",
        service: "web",
        images: &["nginx"],
        ready: http_get!("80"),
        seed: None,
        probe: http_get!("80"),
        expect: "static content from the project's html folder",
    });
}

#[test]
fn zoo_nginx_templates() {
    zoo(Case {
        project: "nginx-templates",
        service: "web",
        images: &["nginx"],
        ready: http_get!("80"),
        seed: None,
        probe: http_get!("80"),
        expect: "rendered from a template",
    });
}

const REDIS_SEED: &str = "redis-cli set zoo 'written before' | grep -q OK";
const REDIS_PROBE: &str = "redis-cli get zoo";

#[test]
fn zoo_redis_plain() {
    zoo(Case {
        project: "redis-plain",
        service: "cache",
        images: &["redis"],
        ready: "redis-cli ping | grep -q PONG",
        seed: Some(REDIS_SEED),
        probe: REDIS_PROBE,
        expect: "written before",
    });
}

#[test]
fn zoo_redis_aof() {
    zoo(Case {
        project: "redis-aof",
        service: "cache",
        images: &["redis"],
        ready: "redis-cli ping | grep -q PONG",
        seed: Some(REDIS_SEED),
        probe: REDIS_PROBE,
        expect: "written before",
    });
}

#[test]
fn zoo_redis_build() {
    zoo(Case {
        project: "redis-build",
        service: "cache",
        images: &["redis"],
        ready: "redis-cli ping | grep -q PONG",
        seed: Some(REDIS_SEED),
        probe: REDIS_PROBE,
        expect: "written before",
    });
}

#[test]
fn zoo_mariadb_volume() {
    zoo(Case {
        project: "mariadb-volume",
        service: "db",
        images: &["mariadb"],
        ready: "mariadb-admin -h 127.0.0.1 -u root -proot-secret ping",
        seed: Some(
            "mariadb -h 127.0.0.1 -u shop -pshop-secret shop -e \"CREATE TABLE IF NOT EXISTS kept (v text); INSERT INTO kept VALUES ('written before')\"",
        ),
        probe: "mariadb -h 127.0.0.1 -u shop -pshop-secret shop -N -e 'SELECT v FROM kept'",
        expect: "written before",
    });
}

#[test]
fn zoo_memcached() {
    // memcached keeps nothing across a restart: the probe writes and reads.
    zoo(Case {
        project: "memcached",
        service: "cache",
        images: &["memcached"],
        ready: "exec 3<>/dev/tcp/127.0.0.1/11211 && printf 'version\\r\\nquit\\r\\n' >&3 && grep -q VERSION <&3",
        seed: None,
        probe: "exec 3<>/dev/tcp/127.0.0.1/11211 && printf 'set zoo 0 0 4\\r\\nkept\\r\\nget zoo\\r\\nquit\\r\\n' >&3 && cat <&3",
        expect: "VALUE zoo 0 4\r\nkept",
    });
}

#[test]
fn zoo_caddy() {
    zoo(Case {
        project: "caddy",
        service: "proxy",
        images: &["caddy"],
        ready: http_get!("80"),
        seed: None,
        probe: http_get!("80"),
        expect: "stock page of the zoo's caddy look-alike",
    });
}

/// caddy's binary carries `cap_net_bind_service=+ep`: the kernel refuses
/// to execute it unless NET_BIND_SERVICE is in the bounding set, as root or
/// not and whatever the unprivileged port range, so the caddy profile keeps
/// that capability where the nginx profile opens port 80 with the sysctl.
#[test]
fn caddy_execs_only_with_net_bind_service_even_with_the_sysctl() {
    let test = "caddy_execs_only_with_net_bind_service_even_with_the_sysctl";
    let Some(backend) = zoo_engine_or_skip(test, &["caddy"]) else {
        return;
    };
    let start = |user: &str, caps: &[&str]| {
        let name = format!("harden-zoo-caddy-fcap-{user}-{}", std::process::id());
        let mut args = vec![
            "run",
            "--rm",
            "--name",
            name.as_str(),
            "--user",
            user,
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=0",
        ];
        args.extend_from_slice(caps);
        args.extend(["localhost/harden-zoo/caddy:latest", "caddy", "version"]);
        run(backend.cli, &args)
    };
    for user in ["0", "1000"] {
        let o = start(user, &[]);
        assert!(
            !o.status.success() && text(&o).contains("operation not permitted"),
            "uid {user} without NET_BIND_SERVICE: {}",
            text(&o)
        );
        let o = start(user, &["--cap-add", "NET_BIND_SERVICE"]);
        assert!(o.status.success(), "uid {user} with it: {}", text(&o));
    }
}

/// Why the nginx profile keeps a root master: as 101 it must create
/// /run/nginx.pid, and where the runtime resets a tmpfs's mode to the image
/// directory's (runc before 1.1.8) no compose tmpfs makes /run writable for
/// 101 (Podman 4.3 refuses `uid=` outright). Checked where that holds.
#[test]
fn nginx_as_101_cannot_write_its_pid_file_where_tmpfs_mode_is_ignored() {
    let test = "nginx_as_101_cannot_write_its_pid_file_where_tmpfs_mode_is_ignored";
    let Some(backend) = zoo_engine_or_skip(test, &["nginx"]) else {
        return;
    };
    if !backend.facts().ignores_tmpfs_mode() {
        eprintln!("{test}: skipped: this runtime honours a tmpfs's mode=");
        return;
    }
    let name = format!("harden-zoo-nginx-101-{}", std::process::id());
    // Every temp directory is a path the image lacks (a tmpfs there is
    // 1777), so the pid file is the one thing in the way.
    let temps: Vec<String> = ["client", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|t| format!("/var/cache/nginx/{t}_temp"))
        .collect();
    let mut args = vec![
        "run",
        "--rm",
        "--name",
        name.as_str(),
        "--user",
        "101:101",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--sysctl",
        "net.ipv4.ip_unprivileged_port_start=0",
        "--tmpfs",
        "/run:mode=1777",
    ];
    for t in &temps {
        args.extend(["--tmpfs", t.as_str()]);
    }
    args.extend([
        "localhost/harden-zoo/nginx:latest",
        "nginx",
        "-g",
        "daemon off;",
    ]);
    let o = run(backend.cli, &args);
    assert!(
        !o.status.success() && text(&o).contains("nginx.pid"),
        "nginx as 101 started, or failed for another reason: {}",
        text(&o)
    );
}

#[test]
fn zoo_s6_app() {
    zoo(Case {
        project: "s6-app",
        service: "app",
        images: &["s6"],
        ready: http_get!("8080"),
        seed: None,
        probe: http_get!("8080"),
        expect: "served by the zoo's s6-style look-alike",
    });
}

/// JVM programs extract native libraries to /tmp and map them executable
/// (JNA, JRuby's FFI); Docker mounts a compose tmpfs noexec unless told
/// otherwise. The images already run as uid 1000: no `user:`, no caps.
#[test]
fn jvm_images_get_an_exec_tmp_and_keep_their_user() {
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  logs:\n    image: docker.elastic.co/logstash/logstash:8.15.0\n  ui:\n    image: docker.elastic.co/kibana/kibana:8.15.0\n",
    )
    .expect("write");
    let out = common::harden(dir.path(), &["fix", "--dry-run", "--color", "never", "."]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "     image: docker.elastic.co/logstash/logstash:8.15.0\n+    read_only: true\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("+      - /tmp:size=512m,exec\n"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("/tmp:size=512m,exec").count(),
        1,
        "kibana's /tmp stays noexec"
    );
    assert!(
        !out.stdout.contains("user:") && !out.stdout.contains("cap_add"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("elastic/logstash#9288"),
        "{}",
        out.stderr
    );
}

/// An anonymous volume (`- /app/node_modules`, the usual way to keep a
/// bind-mounted project's dependencies) starts from the image's directory,
/// which `npm install` as root left root-owned, and compose carries it over
/// when it recreates the container: the Dockerfile hands it to the new
/// user, and the migration note covers the one that exists.
#[test]
fn anonymous_volume_is_handed_to_the_new_user() {
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM node:20\nWORKDIR /app\nCOPY package.json .\nRUN npm install\nCOPY . .\nCMD [\"node\", \"server.js\"]\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  web:\n    build: .\n    volumes:\n      - .:/app\n      - /app/node_modules\n",
    )
    .expect("write");
    let out = common::harden(dir.path(), &["fix", "--dry-run", "--color", "never", "."]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "+RUN mkdir -p /app/node_modules \\\n+ && chown node /app/node_modules\n+USER node\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(
            "a volume at /app/node_modules that already exists holds files owned by root"
        ),
        "{}",
        out.stderr
    );
}

/// `command: sh -c "redis-server ..."` hides the server from the official
/// entrypoints, which take their root branch (chown, drop to the image's
/// user) only for the server itself: a service that keeps starting as root
/// is told so; the exec form is left alone.
#[test]
fn shell_command_that_bypasses_the_entrypoint_gets_a_note() {
    let dir = common::scratch();
    std::fs::write(dir.path().join("Dockerfile"), "FROM redis:7\n").expect("write");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  wrapped:\n    build: .\n    command: sh -c \"redis-server --appendonly yes\"\n  direct:\n    build: .\n    command: [\"redis-server\", \"--appendonly\", \"yes\"]\n",
    )
    .expect("write");
    let out = common::harden(dir.path(), &["fix", "--dry-run", "--color", "never", "."]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let note = "`command:` starts with `sh`: the image's entrypoint takes its root branch";
    assert_eq!(out.stderr.matches(note).count(), 1, "{}", out.stderr);
    let wrapped = out.stderr.find("service wrapped").expect("wrapped");
    let direct = out.stderr.find("service direct").expect("direct");
    let at = out.stderr.find(note).expect("note");
    assert!(wrapped < at && at < direct, "{}", out.stderr);
}
