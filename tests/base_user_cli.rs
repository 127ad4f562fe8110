//! Dockerfiles built on an image no rule knows, which already has uid and
//! gid 1000 and already runs as that user (as many organisations' own base
//! images do). The user step must still build and end non-root: decided in
//! the RUN itself when nothing can be learnt about the base, and from the
//! image's own facts when its engine store has it. Each fixed Dockerfile is
//! built and run with Podman.

mod common;

use common::{engine_with_base_or_skip, harden, scratch, BASE_IMAGE};
use std::path::Path;
use std::process::Command;

fn podman(args: &[&str]) -> (bool, String) {
    let out = Command::new("podman").args(args).output().expect("podman");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Removes the images a test built, however it ends.
struct Images(Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for i in &self.0 {
            let _ = podman(&["rmi", "-f", i]);
        }
    }
}

/// A base image that has user `app` (uid and gid 1000) and runs as it.
fn build_base(tag: &str, root: &Path) {
    let dir = root.join("base");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {BASE_IMAGE}\n\
             RUN groupadd --gid 1000 app && useradd --uid 1000 --gid 1000 --no-create-home --shell /usr/sbin/nologin app\n\
             USER 1000\n"
        ),
    )
    .unwrap();
    let (ok, out) = podman(&["build", "-q", "-t", tag, &dir.to_string_lossy()]);
    assert!(ok, "base image: {out}");
}

/// A service folder `web` whose Dockerfile builds on `base` and sets no USER.
fn write_app(root: &Path, base: &str) {
    let web = root.join("web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(
        web.join("Dockerfile"),
        format!(
            "# The web service, built on the team's runtime image.\n\
             FROM {base}\n\
             VOLUME /var/lib/web\n\
             CMD [\"sh\", \"-c\", \"id -un; id -u; touch /var/lib/web/ok && echo written\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("compose.yaml"),
        "services:\n  web:\n    build: ./web\n",
    )
    .unwrap();
}

/// Build the fixed `web` image and run it: (user name, uid, wrote its volume).
fn build_and_run(root: &Path, tag: &str) -> (String, u32, bool) {
    let (ok, out) = podman(&[
        "build",
        "-q",
        "-t",
        tag,
        &root.join("web").to_string_lossy(),
    ]);
    assert!(ok, "the fixed Dockerfile must build: {out}");
    let (ok, out) = podman(&["run", "--rm", "--cap-drop", "ALL", tag]);
    assert!(ok, "the fixed image must run: {out}");
    let mut lines = out.lines();
    let name = lines.next().unwrap_or_default().to_string();
    let uid = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    (name, uid, out.contains("written"))
}

#[test]
fn unknown_base_running_as_uid_1000() {
    let Some(_) = engine_with_base_or_skip("unknown_base_running_as_uid_1000") else {
        return;
    };
    let unique = format!("harden-test-baseuser-{}", std::process::id());
    let base = format!("localhost/{unique}-base:1");
    let (offline_tag, learned_tag) = (
        format!("localhost/{unique}-offline:1"),
        format!("localhost/{unique}-learned:1"),
    );
    let _images = Images(vec![offline_tag.clone(), learned_tag.clone(), base.clone()]);
    let root = scratch();
    build_base(&base, root.path());

    // Nothing learnt about the base (no engine store asked, no registry):
    // `USER root`, a user created only if missing on a free id, then that user.
    let offline = root.path().join("offline");
    write_app(&offline, &base);
    let fixed = harden(&offline, &["fix", "--color", "never", "."]);
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    let df = std::fs::read_to_string(offline.join("web/Dockerfile")).unwrap();
    assert!(df.contains("USER root\nRUN if ! id web"), "{df}");
    assert!(df.ends_with("USER web\nCMD [\"sh\", \"-c\", \"id -un; id -u; touch /var/lib/web/ok && echo written\"]\n"), "{df}");
    let (name, uid, wrote) = build_and_run(&offline, &offline_tag);
    assert_eq!(name, "web");
    assert!(uid != 0 && uid != 1000, "a free id, not the base's: {uid}");
    assert!(wrote, "the volume directory belongs to the new user");

    // The base read from the engine's store: it already runs as `app`, so
    // no user is added; its volume directory is made as root and handed to
    // `app`, and `app` is restored.
    let learned = root.path().join("learned");
    write_app(&learned, &base);
    let fixed = harden(
        &learned,
        &["fix", "--color", "never", "--image-source", "engine", "."],
    );
    assert_eq!(fixed.code, 0, "{}{}", fixed.stdout, fixed.stderr);
    let df = std::fs::read_to_string(learned.join("web/Dockerfile")).unwrap();
    assert!(!df.contains("useradd"), "no user is created: {df}");
    // The directory is made before the VOLUME that declares it: a later
    // step could not change it.
    assert!(
        df.contains(
            "USER root\nRUN mkdir -p /var/lib/web \\\n && chown app /var/lib/web\nVOLUME /var/lib/web\nUSER app\nCMD"
        ),
        "{df}"
    );
    let (name, uid, wrote) = build_and_run(&learned, &learned_tag);
    assert_eq!((name.as_str(), uid), ("app", 1000));
    assert!(wrote, "the volume directory belongs to the base's user");

    // Fixing again changes nothing.
    for dir in [&offline, &learned] {
        let again = harden(dir, &["fix", "--dry-run", "--image-source", "engine", "."]);
        assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    }
}
