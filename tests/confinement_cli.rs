//! Safety on anyone's files, through the binary: harden writes only inside
//! the paths it was given (also while links are swapped under it), never
//! quotes a file outside them, reads every input bounded and without
//! blocking, keeps the metadata of what it rewrites, cleans up its
//! temporary files, and treats a failed write as an error.

mod common;

use common::{harden, scratch, BIN};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DOCKERFILE: &str = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nCOPY app.sh /usr/local/bin/app.sh\nCMD [\"/usr/local/bin/app.sh\"]\n";

const COMPOSE: &str = "services:\n  web:\n    image: nginx:1.27\n    ports:\n      - \"8080:80\"\n";

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn read(dir: &Path, path: &str) -> String {
    std::fs::read_to_string(dir.join(path)).unwrap()
}

/// `a/Dockerfile` links to a file outside `a`: the compose file in `a` is
/// hardened, the outside Dockerfile is read for the plan and left alone,
/// and the notes say how to include it.
#[test]
fn a_linked_dockerfile_outside_the_path_is_not_written() {
    let dir = scratch();
    let d = dir.path();
    write(d, "backend/Dockerfile", DOCKERFILE);
    write(d, "app/compose.yaml", "services:\n  api:\n    build: .\n");
    std::os::unix::fs::symlink("../backend/Dockerfile", d.join("app/Dockerfile")).unwrap();
    let r = harden(&d.join("app"), &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read(d, "backend/Dockerfile"), DOCKERFILE);
    assert!(read(d, "app/compose.yaml").contains("read_only: true"));
    assert!(
        r.stderr
            .contains("not changed: the file lies outside the paths harden was given"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("`harden fix ../backend`"), "{}", r.stderr);
    assert!(r.stderr.contains("`root-user`"), "{}", r.stderr);
    assert!(r.stderr.contains("1 file changed."), "{}", r.stderr);

    // A dry run shows no diff for it either.
    write(d, "app/compose.yaml", "services:\n  api:\n    build: .\n");
    let r = harden(&d.join("app"), &["fix", "--dry-run", "."]);
    assert!(!r.stdout.contains("backend/Dockerfile"), "{}", r.stdout);
    assert!(!r.stdout.contains("+USER"), "{}", r.stdout);

    // Given both folders, both are hardened.
    let r = harden(d, &["fix", "app", "backend"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(read(d, "backend/Dockerfile").contains("USER"));
}

/// `-f root/compose.yaml` where that name links to a folder elsewhere: an
/// `-f` file's root is the folder it is written in, so nothing in the
/// linked folder is written (found by the confinement property test).
#[test]
fn an_f_file_that_links_to_a_folder_does_not_make_it_a_root() {
    let dir = scratch();
    let d = dir.path();
    write(
        d,
        "outside/compose.yaml",
        "services:\n  web:\n    build: .\n",
    );
    write(d, "outside/Dockerfile", DOCKERFILE);
    write(d, "root/a/compose.yaml", COMPOSE);
    std::os::unix::fs::symlink("../outside", d.join("root/compose.yaml")).unwrap();
    let r = harden(d, &["fix", "-f", "root/compose.yaml", "root/a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read(d, "outside/Dockerfile"), DOCKERFILE);
    assert_eq!(
        read(d, "outside/compose.yaml"),
        "services:\n  web:\n    build: .\n"
    );
    assert!(read(d, "root/a/compose.yaml").contains("read_only: true"));
    assert!(
        r.stderr
            .contains("not changed: the file lies outside the paths harden was given"),
        "{}",
        r.stderr
    );
}

/// `build: ../outside`, an absolute context and dockerfile, and
/// `include: [../outside/compose.yaml]`: nothing outside is written.
#[test]
fn contexts_and_includes_outside_the_path_are_not_written() {
    let dir = scratch();
    let d = dir.path();
    write(d, "outside/Dockerfile", DOCKERFILE);
    write(d, "outside/other/Containerfile", DOCKERFILE);
    write(d, "outside/compose.yaml", COMPOSE);
    let abs = std::fs::canonicalize(d.join("outside")).unwrap();
    write(
        d,
        "proj/compose.yaml",
        &format!(
            "services:\n  rel:\n    build: ../outside\n  abs:\n    build:\n      context: {0}\n  file:\n    build:\n      context: .\n      dockerfile: {0}/other/Containerfile\n",
            abs.display()
        ),
    );
    write(
        d,
        "proj/docker-compose.yml",
        "include:\n  - ../outside/compose.yaml\nservices:\n  local:\n    image: redis:7\n",
    );
    let r = harden(d, &["fix", "proj"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(read(d, "outside/Dockerfile"), DOCKERFILE);
    assert_eq!(read(d, "outside/other/Containerfile"), DOCKERFILE);
    assert_eq!(read(d, "outside/compose.yaml"), COMPOSE);
    assert!(read(d, "proj/compose.yaml").contains("cap_drop"));
    assert!(read(d, "proj/docker-compose.yml").contains("cap_drop"));
    assert!(r.stderr.contains("`harden fix outside`"), "{}", r.stderr);
    assert!(r.stderr.contains("2 files changed."), "{}", r.stderr);
}

/// `build: {context: /etc-like folder, dockerfile: shadow}`: no format
/// prints the file's content; an error about a file inside the roots
/// quotes at most a short escaped excerpt.
#[test]
fn errors_never_quote_a_file_outside_the_paths() {
    let dir = scratch();
    let d = dir.path();
    let secret = "ROOT:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n";
    write(d, "etc/shadow", secret);
    let etc = std::fs::canonicalize(d.join("etc")).unwrap();
    write(
        d,
        "proj/compose.yaml",
        &format!(
            "services:\n  s:\n    build: {{context: {}, dockerfile: shadow}}\n",
            etc.display()
        ),
    );
    for format in ["text", "json", "sarif", "github", "markdown"] {
        let r = harden(d, &["check", "--format", format, "proj"]);
        assert_eq!(r.code, 2, "{format}: {}", r.stderr);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(!all.contains("20228"), "{format}: {all}");
        assert!(!all.contains("ROOT:"), "{format}: {all}");
        assert!(all.contains("its content is not shown"), "{format}: {all}");
    }
    let r = harden(d, &["fix", "--dry-run", "--format", "markdown", "proj"]);
    assert!(!r.stdout.contains("20228"), "{}", r.stdout);
    let r = harden(d, &["fix", "proj"]);
    assert!(!r.stderr.contains("20228"), "{}", r.stderr);
    assert!(!format!("{}{}", r.stdout, r.stderr).contains("ROOT:"));

    // Inside: a short excerpt, with control characters escaped.
    let long = format!("\x1b]0;owned\x07{}", "A".repeat(500));
    write(d, "in/Dockerfile", &format!("{long} x\nFROM alpine\n"));
    let r = harden(d, &["check", "in"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    assert!(!r.stderr.contains(&"A".repeat(100)), "{}", r.stderr);
    assert!(r.stderr.contains("unknown instruction"), "{}", r.stderr);

    // What the TOML parser quotes of a harden.toml, too.
    write(
        d,
        "in/harden.toml",
        &format!("\"\\u001b[2J{}\" = 1\n", "k".repeat(2000)),
    );
    let r = harden(d, &["check", "in"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("unknown field"), "{}", r.stderr);
    assert!(!r.stderr.contains('\x1b'), "{:?}", r.stderr);
    assert!(r.stderr.len() < 600, "{}", r.stderr);
}

/// While `proj/compose.yaml` is flipped between a file inside and one
/// outside, many times a run, `fix` never writes the outside file.
#[test]
fn symlink_swaps_never_redirect_a_write() {
    let dir = scratch();
    let d = dir.path();
    write(d, "outside/compose.yaml", COMPOSE);
    write(d, "proj/real.yaml", COMPOSE);
    let proj = d.join("proj");
    let link = proj.join("compose.yaml");
    std::os::unix::fs::symlink("real.yaml", &link).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swaps = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let swapper = {
        let (stop, swaps, proj) = (stop.clone(), swaps.clone(), proj.clone());
        std::thread::spawn(move || {
            let outside = proj.join("../outside/compose.yaml");
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let target = if n.is_multiple_of(2) {
                    outside.clone()
                } else {
                    "real.yaml".into()
                };
                let tmp = proj.join(".swap");
                let _ = std::fs::remove_file(&tmp);
                std::os::unix::fs::symlink(&target, &tmp).unwrap();
                std::fs::rename(&tmp, proj.join("compose.yaml")).unwrap();
                n += 1;
                swaps.store(n, std::sync::atomic::Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    let started = Instant::now();
    let mut runs = 0;
    let mut written = 0;
    while runs < 40 || swaps.load(std::sync::atomic::Ordering::Relaxed) < 600 {
        write(d, "proj/real.yaml", COMPOSE);
        let out = Command::new(BIN)
            .args(["fix", "-q", "proj"])
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(out.code().is_some(), "harden was killed");
        runs += 1;
        if read(d, "proj/real.yaml") != COMPOSE {
            written += 1;
        }
        assert_eq!(read(d, "outside/compose.yaml"), COMPOSE, "run {runs}");
        assert!(started.elapsed() < Duration::from_secs(240), "too slow");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().unwrap();
    let swaps = swaps.load(std::sync::atomic::Ordering::Relaxed);
    assert!(swaps >= 500, "{swaps} swaps");
    let outside: Vec<_> = std::fs::read_dir(d.join("outside")).unwrap().collect();
    assert_eq!(outside.len(), 1, "a file was created outside");
    // The inside target was hardened in some runs: the swaps did not stop
    // every write.
    assert!(written > 0, "{runs} runs, none wrote");
}

/// A FIFO, a link to /dev/zero and a 5 GB sparse file beside a Dockerfile
/// are refused at once, never waited on or allocated; `--config` too.
#[test]
fn reads_are_regular_bounded_and_never_block() {
    let dir = scratch();
    let d = dir.path();
    write(
        d,
        "a/Dockerfile",
        "FROM python:3.12-slim\nCOPY . /app\nCMD [\"python\", \"/app/main.py\"]\n",
    );
    write(d, "a/compose.yaml", "services:\n  api:\n    build: .\n");
    mkfifo(&d.join("a/requirements.txt"));
    std::os::unix::fs::symlink("/dev/zero", d.join("a/requirements-prod.txt")).unwrap();
    std::fs::File::create(d.join("a/pyproject.toml"))
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    mkfifo(&d.join("fifo.toml"));
    let run = |args: &[&str]| {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(d)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("harden {args:?} hangs");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["fix", "--dry-run", "a"]);
    assert_eq!(code, 1, "{err}");
    let (code, err) = run(&["check", "--config", "fifo.toml", "a"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("fifo.toml:1:1: error: cannot read the config file: not a regular file"),
        "{err}"
    );
    let (code, err) = run(&["check", "--config", "/dev/zero", "a"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file: it is a device"), "{err}");
    let (code, err) = run(&["check", "--config", "a/pyproject.toml", "a"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("more than the limit"), "{err}");
    // verify reads its compose file the same way.
    mkfifo(&d.join("fifo/compose.yaml"));
    let e = harden::verify::compose::load(&d.join("fifo/compose.yaml")).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

/// Whether the tests run as root: the owner of a folder they created.
fn is_root(created: &Path) -> bool {
    std::fs::metadata(created).is_ok_and(|m| m.uid() == 0)
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo");
}

/// Owner, group, mode and extended attributes survive a fix; a file with
/// two names is refused, not split, and the summary counts only files
/// written.
#[test]
fn metadata_is_kept_and_hard_links_are_not_split() {
    let dir = scratch();
    let d = dir.path();
    write(d, "p/compose.yaml", COMPOSE);
    let f = d.join("p/compose.yaml");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    let root = is_root(d);
    if root {
        std::os::unix::fs::chown(&f, Some(4321), Some(4322)).unwrap();
    }
    let xattr = rustix::fs::setxattr(
        &f,
        "user.harden-test",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .is_ok();
    let r = harden(d, &["fix", "p"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(read(d, "p/compose.yaml").contains("cap_drop"));
    let m = std::fs::metadata(&f).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    if root {
        assert_eq!((m.uid(), m.gid()), (4321, 4322));
    }
    if xattr {
        let mut buf = [0u8; 16];
        let n = rustix::fs::getxattr(&f, "user.harden-test", &mut buf[..]).unwrap();
        assert_eq!(&buf[..n], b"kept");
    }

    write(d, "q/compose.yaml", COMPOSE);
    std::fs::hard_link(d.join("q/compose.yaml"), d.join("q/second-name.yaml")).unwrap();
    let r = harden(d, &["fix", "q/compose.yaml"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("has 2 hard links"), "{}", r.stderr);
    assert!(r.stderr.contains("0 files changed."), "{}", r.stderr);
    assert_eq!(read(d, "q/compose.yaml"), COMPOSE);
    assert_eq!(read(d, "q/second-name.yaml"), COMPOSE);
}

/// A folder harden cannot write in: exit 2, and the summary does not claim
/// a change. (As root, an immutable folder; else a read-only one.)
#[test]
fn an_unwritable_folder_is_an_error_not_a_change() {
    let dir = scratch();
    let d = dir.path();
    write(d, "ro/compose.yaml", COMPOSE);
    let ro = d.join("ro");
    let locked = if is_root(d) {
        Command::new("chattr")
            .arg("+i")
            .arg(&ro)
            .status()
            .is_ok_and(|s| s.success())
    } else {
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).is_ok()
    };
    if !locked {
        eprintln!("cannot make a folder unwritable here; skipped");
        return;
    }
    let r = harden(d, &["fix", "ro"]);
    let _ = Command::new("chattr").arg("-i").arg(&ro).status();
    let _ = std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("0 files changed."), "{}", r.stderr);
    assert!(!r.stderr.contains("1 file changed"), "{}", r.stderr);
    assert_eq!(read(d, "ro/compose.yaml"), COMPOSE);
}

/// A report that cannot be written (a full disk) is an error, exit 2, in
/// every format.
#[test]
fn write_errors_on_stdout_are_errors() {
    let dir = scratch();
    let d = dir.path();
    write(d, "compose.yaml", COMPOSE);
    let full = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(d)
            .stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for format in ["text", "json", "sarif", "github", "markdown"] {
        let (code, err) = full(&["check", "--format", format]);
        assert_eq!(code, Some(2), "{format}: {err}");
        assert!(err.contains("cannot write the output"), "{format}: {err}");
    }
    for format in ["diff", "markdown"] {
        let (code, err) = full(&["fix", "--dry-run", "--format", format]);
        assert_eq!(code, Some(2), "{format}: {err}");
    }
    // A closed pipe is the reader's choice, not an error.
    let mut child = Command::new(BIN)
        .args(["check"])
        .current_dir(d)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

/// A temporary file a killed run left is removed by the next run; one of
/// a live process, a recent one, or another name is not.
#[test]
fn stale_temporary_files_are_removed() {
    let dir = scratch();
    let d = dir.path();
    write(d, "compose.yaml", COMPOSE);
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let stale = ".harden-999999999-1a2b3c.tmp";
    for name in [stale, ".harden-1-ff.tmp", ".harden-q7Zr2x.tmp", "notes.tmp"] {
        write(d, name, "partial");
        let f = std::fs::File::options()
            .write(true)
            .open(d.join(name))
            .unwrap();
        f.set_modified(old).unwrap();
    }
    let r = harden(d, &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!d.join(stale).exists(), "stale temporary file left");
    // pid 1 still runs; other names are not harden's.
    for kept in [".harden-1-ff.tmp", ".harden-q7Zr2x.tmp", "notes.tmp"] {
        assert!(d.join(kept).exists(), "{kept} removed");
    }
}

/// SIGINT and SIGTERM while harden writes (sent as soon as one of its
/// temporary files is seen) leave no temporary file behind.
#[test]
fn signals_leave_no_temporary_files() {
    let dir = scratch();
    let d = dir.path();
    let big: String = (0..120)
        .map(|i| {
            format!(
                "  s{i}:\n    image: nginx:1.27\n    environment:\n      - A={}\n",
                "x".repeat(400)
            )
        })
        .collect();
    let temporary = |tree: &Path| -> usize {
        let mut n = 0;
        for e in std::fs::read_dir(tree).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                for f in std::fs::read_dir(e.path()).unwrap() {
                    let name = f.unwrap().file_name();
                    n += usize::from(name.to_string_lossy().starts_with(".harden-"));
                }
            }
        }
        n
    };
    let (mut caught, mut left) = (0, 0);
    for round in 0..30 {
        if caught >= 6 {
            break;
        }
        let tree = d.join(format!("r{round}"));
        for n in 0..16 {
            write(
                &tree,
                &format!("svc{n}/compose.yaml"),
                &format!("services:\n{big}"),
            );
        }
        let mut child = Command::new(BIN)
            .args(["fix", "-q", "."])
            .current_dir(&tree)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sig = if round % 2 == 0 { "TERM" } else { "INT" };
        let mut sent = false;
        while child.try_wait().unwrap().is_none() {
            if temporary(&tree) > 0 {
                let _ = Command::new("kill")
                    .args(["-s", sig, &child.id().to_string()])
                    .status();
                sent = true;
                break;
            }
        }
        let status = child.wait().unwrap();
        if sent && status.code() != Some(0) {
            caught += 1;
            left += temporary(&tree);
        }
    }
    assert!(
        caught >= 3,
        "harden was interrupted while writing only {caught} times"
    );
    assert_eq!(left, 0, "temporary files left behind");
}
