//! The project as its authors run it, through the binary: every stage a
//! compose file of the project runs is hardened, and `harden check` reports
//! the same findings for a file whatever path inside the project it is
//! given.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;

/// `harden check` findings (`path:line:col: severity[rule] message`)
/// grouped by file.
fn findings(dir: &Path, target: &str) -> BTreeMap<String, Vec<String>> {
    let run = harden(dir, &["check", "--quiet", target]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in run.stdout.lines() {
        let Some((path, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.contains(": error[") || rest.contains(": warning[") {
            out.entry(path.to_string())
                .or_default()
                .push(rest.to_string());
        }
    }
    out
}

/// `harden check` on the project's folder, on each of its files, and on a
/// folder inside the project (when it has one), reports for each file
/// exactly what the whole project's check reports for it.
fn assert_same_findings_whatever_the_path(fixture: &str, files: &[&str]) {
    let dir = scratch();
    let proj = dir.path().join(fixture);
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("projects").join(fixture), &proj);
    let whole = findings(dir.path(), fixture);
    for file in files {
        let path = format!("{fixture}/{file}");
        assert!(whole.contains_key(&path), "{path} has findings: {whole:#?}");
        let alone = findings(dir.path(), &path);
        for (f, lines) in &alone {
            assert_eq!(
                Some(lines),
                whole.get(f),
                "`harden check {path}` reports {f} differently from `harden check {fixture}`"
            );
        }
        assert!(alone.contains_key(&path), "{path}: {alone:#?}");
    }
}

/// A Dockerfile whose `dev` stage one compose file runs and whose `final`
/// and `test` stages a test compose file runs: each stage gets the user
/// (created once per stage, reused by a stage built on a hardened one),
/// whichever file harden is given.
#[test]
fn every_stage_the_project_runs_is_hardened() {
    let (snap, files) = project(&fixtures().join("projects/stages"));
    let df = &files["Dockerfile"].1;
    let stage = |name: &str| {
        df.split(&format!(" AS {name}\n"))
            .nth(1)
            .unwrap()
            .split("\nFROM ")
            .next()
            .unwrap()
            .to_string()
    };
    for name in ["dev", "final"] {
        let s = stage(name);
        assert!(s.contains("useradd") && s.contains("USER stages"), "{df}");
    }
    // The test stage builds on the final one: no second user, and its
    // RUN keeps running as root before switching back.
    let test = stage("test");
    assert!(!test.contains("useradd"), "{df}");
    assert!(
        test.starts_with("USER root\nRUN pip install --no-cache-dir pytest\nUSER stages\n"),
        "{df}"
    );
    assert!(!stage("base").contains("USER"), "{df}");
    snapshot("project_stages", &snap);

    assert_same_findings_whatever_the_path(
        "stages",
        &["Dockerfile", "compose.yaml", "compose.test.yml"],
    );
}

/// The part of a dry run's diff that is about `file`.
fn diff_of(patch: &str, file: &str) -> String {
    patch
        .split("--- a/")
        .find(|d| d.starts_with(&format!("{file}\n")))
        .unwrap_or_default()
        .to_string()
}

/// A Dockerfile built by two services of two compose files gets one
/// user, named after the image they build, whichever file is read first
/// (and when the Dockerfile is given alone); without an image, after its
/// folder.
#[test]
fn a_dockerfile_built_by_two_services_gets_one_user_name() {
    let (snap, files) = project(&fixtures().join("projects/shared-dockerfile"));
    assert!(
        files["web/Dockerfile"].1.contains("\nUSER storefront\n"),
        "{snap}"
    );
    snapshot("project_shared_dockerfile", &snap);

    let dir = scratch();
    let proj = dir.path().join("shop");
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("projects/shared-dockerfile"), &proj);
    let dockerfile_diff = |args: &[&str]| {
        let mut all = vec!["fix", "--dry-run"];
        all.extend(args);
        let run = harden(dir.path(), &all);
        assert_eq!(run.code, 1, "{}", run.stderr);
        diff_of(&run.stdout, "shop/web/Dockerfile")
    };
    let forward = dockerfile_diff(&["shop/compose.yaml", "shop/compose.tools.yml"]);
    assert!(forward.contains("\n+USER storefront\n"), "{forward}");
    let backward = dockerfile_diff(&["shop/compose.tools.yml", "shop/compose.yaml"]);
    assert_eq!(forward, backward);
    assert_eq!(forward, dockerfile_diff(&["shop/web/Dockerfile"]));
    assert_eq!(forward, dockerfile_diff(&["shop/compose.tools.yml"]));

    // Without `image:`, the folder names it.
    let compose = proj.join("compose.yaml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(
        &compose,
        text.replace("    image: acme/storefront:1.4\n", ""),
    )
    .unwrap();
    let forward = dockerfile_diff(&["shop/compose.yaml", "shop/compose.tools.yml"]);
    assert!(forward.contains("\n+USER web\n"), "{forward}");
    assert_eq!(
        forward,
        dockerfile_diff(&["shop/compose.tools.yml", "shop/compose.yaml"])
    );
}

/// A service that runs by name (`image:`, no `build:`) the image another
/// compose file's service builds gets that Dockerfile's knowledge: its
/// VOLUME and data directories, its gosu entrypoint; and harden does not
/// call the image unknown. The same when its compose file is given alone.
#[test]
fn an_image_built_here_and_run_by_name_is_known() {
    let (snap, files) = project(&fixtures().join("projects/built-image"));
    let cron = &files["compose.cron.yml"].1;
    assert!(
        cron.contains("- nightly-worker:/var/lib/worker\n")
            && cron.contains("- nightly-reports:/var/lib/worker/reports\n"),
        "{cron}"
    );
    assert!(!snap.contains("knows nothing about"), "{snap}");
    let nightly = snap
        .split("  service nightly\n")
        .nth(1)
        .unwrap()
        .split("\nbuilt-image/")
        .next()
        .unwrap();
    assert!(nightly.contains("switches user with gosu"), "{snap}");
    snapshot("project_built_image", &snap);

    assert_same_findings_whatever_the_path("built-image", &["compose.cron.yml", "compose.yaml"]);
}

/// A `docker-bake.hcl` target's `tags` name the image a compose service
/// runs: the Dockerfile is hardened with that service's directories and a
/// user the image's base has; the JSON form of the bake file says the same.
#[test]
fn a_bake_target_builds_the_image_a_service_runs() {
    let (snap, files) = project(&fixtures().join("projects/bake"));
    let df = &files["api/Dockerfile"].1;
    assert!(
        df.contains("mkdir -p /srv/api/uploads") && df.contains("\nUSER node\n"),
        "{df}"
    );
    assert!(
        files["compose.yaml"]
            .1
            .contains("- api-uploads:/srv/api/uploads\n"),
        "{snap}"
    );
    assert!(!snap.contains("knows nothing about"), "{snap}");
    snapshot("project_bake", &snap);
    assert_same_findings_whatever_the_path("bake", &["compose.yaml", "api/Dockerfile"]);

    let dir = scratch();
    let proj = dir.path().join("bake");
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("projects/bake"), &proj);
    let hcl = harden(dir.path(), &["fix", "--dry-run", "bake"]);
    std::fs::remove_file(proj.join("docker-bake.hcl")).unwrap();
    std::fs::write(
        proj.join("docker-bake.json"),
        r#"{
  "group": {"default": {"targets": ["api"]}},
  "target": {
    "api": {"context": "./api", "tags": ["ghcr.io/acme/ledger-api:latest"]}
  }
}
"#,
    )
    .unwrap();
    let json = harden(dir.path(), &["fix", "--dry-run", "bake"]);
    assert_eq!(hcl.stdout, json.stdout);
    // Without the bake file, the image is one harden knows nothing about.
    std::fs::remove_file(proj.join("docker-bake.json")).unwrap();
    let none = harden(dir.path(), &["fix", "--dry-run", "bake"]);
    assert!(!none.stdout.contains("api-uploads"), "{}", none.stdout);
    assert!(
        none.stderr
            .contains("knows nothing about `ghcr.io/acme/ledger-api:latest`"),
        "{}",
        none.stderr
    );
}
