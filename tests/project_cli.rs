//! The project as its authors run it, through the binary: every stage a
//! compose file of the project runs is hardened, and `harden check` reports
//! the same findings for a file whatever path inside the project it is
//! given.

mod common;
mod compose_merge;

use common::*;
use compose_merge::{merge, merge_problems};
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
        .split("service nightly (inferred)\n")
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

/// A variant beside its base (`docker-compose.prod.yml`) and one the
/// project's Makefile runs with `-f` (`ops/docker-compose.backup.yml`) are
/// hardened as base + variant merged: only what the merge still lacks (the
/// data volume the variant's own setting calls for, and the directory for
/// it in the Dockerfile), nothing the base already gets, and never a key
/// that overrides the author's `read_only: ${APP_READONLY:-true}`,
/// `user: ${APP_UID...}` or `cap_add`, in either file.
#[test]
fn a_variant_gets_only_what_base_and_variant_merged_lack() {
    let (snap, files) = project(&fixtures().join("projects/variants"));
    let (base_before, base) = &files["docker-compose.yml"];
    let (prod_before, prod) = &files["docker-compose.prod.yml"];
    let (backup_before, backup) = &files["ops/docker-compose.backup.yml"];
    assert_eq!(
        backup_before, backup,
        "nothing is missing under -f base -f backup"
    );
    assert!(
        prod.contains("      - app-exports:/srv/notes/exports\n"),
        "{prod}"
    );
    assert!(
        files["app/Dockerfile"]
            .1
            .contains("mkdir -p /srv/notes/exports"),
        "{snap}"
    );
    // The author's explicit values stay, and nothing else sets those keys.
    for line in [
        "    read_only: ${APP_READONLY:-true}\n",
        "    user: \"${APP_UID:-1000}:${APP_GID:-1000}\"\n",
        "    cap_add:\n      - SYS_NICE\n",
    ] {
        assert!(base_before.contains(line) && base.contains(line), "{base}");
    }
    let app = base
        .split("  app:\n")
        .nth(1)
        .unwrap()
        .split("  db:\n")
        .next()
        .unwrap();
    assert_eq!(app.matches("read_only:").count(), 1, "{base}");
    assert_eq!(app.matches("user:").count(), 1, "{base}");
    for text in [prod, backup] {
        assert!(
            !text.contains("read_only") && !text.contains("user:"),
            "{text}"
        );
    }
    for (before, after) in [(prod_before, prod), (backup_before, backup)] {
        let problems = merge_problems(
            &compose_data(base),
            &compose_data(after),
            &compose_data(before),
        );
        assert!(problems.is_empty(), "{problems:#?}\n{base}\n{after}");
    }
    snapshot("project_variants", &snap);

    assert_same_findings_whatever_the_path(
        "variants",
        &[
            "docker-compose.yml",
            "docker-compose.prod.yml",
            "app/Dockerfile",
        ],
    );
    // The Makefile's variant has nothing to report, alone or not.
    let dir = scratch();
    let proj = dir.path().join("variants");
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("projects/variants"), &proj);
    let backup = "variants/ops/docker-compose.backup.yml";
    assert!(!findings(dir.path(), backup).contains_key(backup));
}

/// The merge check itself: a variant hardened as a project of its own
/// (what harden did before) fails it.
#[test]
fn the_merge_check_finds_what_a_separately_hardened_variant_duplicates() {
    let base = compose_data(
        "services:\n  db:\n    image: postgres:16\n    read_only: ${RO}\n    cap_drop: [ALL]\n    tmpfs:\n      - /tmp:size=512m\n    volumes:\n      - db-data:/var/lib/postgresql/data\n",
    );
    let before = compose_data("services:\n  db:\n    restart: always\n");
    let variant = compose_data(
        "services:\n  db:\n    restart: always\n    read_only: true\n    cap_drop: [ALL]\n    tmpfs:\n      - /tmp\n    volumes:\n      - db-data-2:/var/lib/postgresql/data\n",
    );
    let problems = merge_problems(&base, &variant, &before);
    assert_eq!(
        problems,
        [
            "db: volumes /var/lib/postgresql/data in both files",
            "db: tmpfs /tmp in both files",
            "db: /var/lib/postgresql/data mounted twice once merged",
            "db: /tmp mounted twice once merged",
            "db: cap_drop \"ALL\" in both files",
            "db: the variant's read_only overrides the base's \"${RO}\"",
        ]
    );
}

/// A compose file tests run (`docker-compose.test.yml`) gets tmpfs mounts
/// for its data paths, each with a note saying why, and no named data
/// volume: the database's entrypoint prepares its tmpfs as root (its
/// capabilities, no `user:`), and the Dockerfile gives the app's
/// mountpoint the tmpfs's mode. The same services in a file of no test
/// get named volumes.
#[test]
fn a_test_compose_file_keeps_its_data_on_tmpfs() {
    let (snap, files) = project(&fixtures().join("projects/test-stack"));
    let compose = &files["docker-compose.test.yml"].1;
    for mount in [
        "      - /srv/app/uploads:size=512m,mode=1777\n",
        "      - /var/lib/postgresql/data:size=512m,mode=1777\n",
        "      - /data:size=512m,mode=1777\n",
    ] {
        assert!(compose.contains(mount), "{compose}");
    }
    assert!(
        !compose.contains("-data:") && !compose.contains("-uploads:"),
        "{compose}"
    );
    assert!(!compose.contains("user:"), "{compose}");
    assert_eq!(
        snap.matches("since tests or CI run this file").count(),
        3,
        "{snap}"
    );
    assert!(
        files["Dockerfile"]
            .1
            .contains("chmod 1777 /srv/app/uploads"),
        "{snap}"
    );
    snapshot("project_test_stack", &snap);

    // Renamed to a file of no test, the same services keep their data.
    let dir = scratch();
    let proj = dir.path().join("stack");
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("projects/test-stack"), &proj);
    std::fs::rename(
        proj.join("docker-compose.test.yml"),
        proj.join("docker-compose.yml"),
    )
    .unwrap();
    let run = harden(dir.path(), &["fix", "--dry-run", "stack"]);
    assert!(
        run.stdout.contains("- db-data:/var/lib/postgresql/data")
            && run.stdout.contains("- app-uploads:/srv/app/uploads"),
        "{}",
        run.stdout
    );
}

/// The merge the variant tests check with, on the keys harden adds.
#[test]
fn compose_merge_rules() {
    let base = compose_data(
        "services:\n  db:\n    image: postgres:16\n    read_only: ${RO}\n    cap_drop: [ALL]\n    command: [postgres, -c, fsync=off]\n    volumes:\n      - db-data:/var/lib/postgresql/data\n      - ./init:/docker-entrypoint-initdb.d:ro\n",
    );
    let over = compose_data(
        "services:\n  db:\n    read_only: true\n    cap_drop: [ALL]\n    cap_add: [CHOWN]\n    command: [postgres]\n    volumes:\n      - type: volume\n        source: other\n        target: /var/lib/postgresql/data\n",
    );
    let merged = merge(&base, &over);
    let db = &merged["services"]["db"];
    assert_eq!(db["image"], "postgres:16");
    assert_eq!(db["read_only"], true);
    assert_eq!(db["cap_drop"], serde_json::json!(["ALL"]));
    assert_eq!(db["cap_add"], serde_json::json!(["CHOWN"]));
    assert_eq!(db["command"], serde_json::json!(["postgres"]));
    assert_eq!(
        db["volumes"],
        serde_json::json!([
            "./init:/docker-entrypoint-initdb.d:ro",
            {"type": "volume", "source": "other", "target": "/var/lib/postgresql/data"}
        ])
    );
}
