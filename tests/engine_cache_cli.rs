//! A run that meets an image without a profile asks the engine's store
//! about it: a process per question. Once a run has asked, the next runs
//! ask nothing while the store is unchanged, and ask again as soon as an
//! image is added or tagged. The engine is wrapped by a script that logs
//! each call, then runs the real one.

mod common;

use common::{engine_with_base_or_skip, scratch, BASE_IMAGE, BIN};
use std::path::Path;
use std::process::Command;

/// `harden check` with the logging engine first on PATH and its own cache.
fn check(dir: &Path, bin: &Path, cache: &Path) -> (i32, String) {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(BIN)
        .args(["check", "--quiet", "--image-source", "engine", "."])
        .current_dir(dir)
        .env("PATH", path)
        .env("XDG_CACHE_HOME", cache)
        .env("NO_COLOR", "1")
        .output()
        .expect("run harden");
    let log = std::fs::read_to_string(bin.join("calls.log")).unwrap_or_default();
    let _ = std::fs::remove_file(bin.join("calls.log"));
    (out.status.code().unwrap_or(-1), log)
}

#[test]
fn an_unchanged_store_is_not_asked_again() {
    let Some(engine) = engine_with_base_or_skip("an_unchanged_store_is_not_asked_again") else {
        return;
    };
    if engine.cli != "podman" {
        eprintln!(
            "an_unchanged_store_is_not_asked_again: skipped: the store file checked is Podman's"
        );
        return;
    }
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v podman"])
            .output()
            .expect("sh")
            .stdout,
    )
    .unwrap();
    let tmp = scratch();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("podman");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$1 $2\" >> '{}'\nexec '{}' \"$@\"\n",
            bin.join("calls.log").display(),
            real.trim()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("compose.yaml"),
        format!("services:\n  shell:\n    image: {BASE_IMAGE}\n    command: [\"sleep\", \"infinity\"]\n"),
    )
    .unwrap();
    let cache = tmp.path().join("cache");

    let (code, first) = check(&project, &bin, &cache);
    assert_eq!(code, 1, "findings expected");
    assert!(
        first.contains("image ls"),
        "the first run lists the store: {first}"
    );
    assert!(first.contains("image inspect"), "{first}");

    // Other programs on the machine may change the store meanwhile: a run
    // counts only when the store's index stayed as it was around it.
    let index = || {
        std::fs::metadata("/var/lib/containers/storage/overlay-images/images.json")
            .and_then(|m| m.modified())
            .ok()
    };
    if index().is_none() {
        eprintln!(
            "an_unchanged_store_is_not_asked_again: skipped: not Podman's rootful default store"
        );
        return;
    }
    let mut second = None;
    for _ in 0..5 {
        let before = index();
        let (code, log) = check(&project, &bin, &cache);
        assert_eq!(code, 1);
        if before.is_some() && before == index() {
            second = Some(log);
            break;
        }
    }
    let second = second.expect("the store kept changing under the test");
    assert_eq!(second, "", "an unchanged store is not asked again");

    // A new tag changes the store: the next run lists it again.
    let tag = format!(
        "localhost/harden-test-engine-cache-{}:1",
        std::process::id()
    );
    let tagged = Command::new("podman")
        .args(["tag", BASE_IMAGE, &tag])
        .status()
        .expect("podman tag");
    assert!(tagged.success());
    let (_, third) = check(&project, &bin, &cache);
    let _ = Command::new("podman")
        .args(["untag", BASE_IMAGE, &tag])
        .status();
    assert!(
        third.contains("image ls"),
        "a changed store is listed again: {third}"
    );
}
