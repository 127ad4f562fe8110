//! Image references as Compose resolves them, through the binary: a
//! variable in `image:` is interpolated from the project's `.env` (or
//! `--env-file`) before the image is recognised, and the author's text is
//! left as written.

mod common;

use common::*;
use std::path::Path;

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({snapshot_path => Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots"), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(name, text);
    });
}

const COMPOSE: &str = "\
services:
  db:
    image: postgres:${POSTGRESQL_VERSION}
    environment:
      POSTGRES_PASSWORD: example
  cache:
    image: \"redis:${REDIS_TAG:-7-alpine}\"
";

#[test]
fn variables_in_image_come_from_the_env_file() {
    let dir = scratch();
    std::fs::write(dir.path().join("compose.yaml"), COMPOSE).unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# versions of the services\nPOSTGRESQL_VERSION=16\n",
    )
    .unwrap();
    let r = harden(dir.path(), &["fix", "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The postgres and redis profiles are used: their data volumes and users.
    assert!(
        r.stdout.contains("db-data:/var/lib/postgresql/data"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("cache-data:/data"), "{}", r.stdout);
    assert!(r.stderr.contains("postgres"), "{}", r.stderr);
    // The references are left as the author wrote them.
    assert!(
        r.stdout.contains(" image: postgres:${POSTGRESQL_VERSION}"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("-    image:"), "{}", r.stdout);
    snapshot(
        "image_interpolated_from_env_file",
        &format!("{}\n---- notes ----\n{}", r.stdout, r.stderr),
    );
}

#[test]
fn a_default_in_the_reference_is_used_without_an_env_file() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  db:\n    image: postgres:${V:-16}\n",
    )
    .unwrap();
    let r = harden(dir.path(), &["fix", "--dry-run"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("db-data:/var/lib/postgresql/data"),
        "{}",
        r.stdout
    );
    snapshot(
        "image_interpolated_default",
        &format!("{}\n---- notes ----\n{}", r.stdout, r.stderr),
    );
}

#[test]
fn env_file_flag_replaces_the_project_env() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  db:\n    image: ${DB_IMAGE:?set DB_IMAGE}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".env"), "DB_IMAGE=nothing-known:1\n").unwrap();
    std::fs::write(dir.path().join("prod.env"), "DB_IMAGE=\"postgres:16\"\n").unwrap();
    let plain = harden(dir.path(), &["fix", "--dry-run"]);
    assert!(
        !plain.stdout.contains("/var/lib/postgresql/data"),
        "{}",
        plain.stdout
    );
    let r = harden(dir.path(), &["fix", "--dry-run", "--env-file", "prod.env"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("db-data:/var/lib/postgresql/data"),
        "{}",
        r.stdout
    );
}

#[test]
fn cache_clear_removes_only_harden_s_files() {
    let dir = scratch();
    let cache = dir.path().join("cache");
    let images = cache.join("harden/images");
    std::fs::create_dir_all(images.join("facts")).unwrap();
    std::fs::create_dir_all(images.join("tags")).unwrap();
    std::fs::write(images.join("facts/abc.json"), "{}").unwrap();
    std::fs::write(images.join("tags/def.json"), "{}").unwrap();
    std::fs::write(images.join("facts/notes.txt"), "kept").unwrap();
    let outside = dir.path().join("precious.json");
    std::fs::write(&outside, "kept").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, images.join("tags/link.json")).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["cache", "clear"])
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("removed 2 cached image file(s) from "),
        "{said}"
    );
    assert!(!images.join("facts/abc.json").exists());
    assert!(!images.join("tags/def.json").exists());
    assert!(images.join("facts/notes.txt").exists());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "kept");
}

#[test]
fn offline_and_unknown_images_change_nothing_in_the_output() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  api:\n    image: registry.example.com/team/api:1.0\n",
    )
    .unwrap();
    let online = harden(dir.path(), &["fix", "--dry-run"]);
    let offline = harden(dir.path(), &["fix", "--dry-run", "--offline"]);
    assert_eq!(online.code, 1);
    assert_eq!(online.stdout, offline.stdout);
    assert_eq!(online.stderr, offline.stderr);
    assert!(
        offline
            .stderr
            .contains("harden knows nothing about `registry.example.com/team/api:1.0`"),
        "{}",
        offline.stderr
    );
}

/// `unknown-images = "skip"`: a service whose image harden cannot learn
/// about is reported, not changed; services it knows are hardened as ever,
/// and the markdown report lists the unknown ones under their own heading.
#[test]
fn unknown_images_can_be_left_alone() {
    let dir = scratch();
    let compose = "# a shop\nservices:\n  db:\n    image: postgres:16\n  api:\n    image: registry.example.com/team/api:1.0\n    ports:\n      - \"8080:8080\"\n";
    std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    std::fs::write(
        dir.path().join("harden.toml"),
        "# only what harden knows\nunknown-images = \"skip\"\n",
    )
    .unwrap();
    let dry = harden(dir.path(), &["fix", "--dry-run"]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    // db is hardened; api is not touched.
    assert!(
        dry.stdout.contains("db-data:/var/lib/postgresql/data"),
        "{}",
        dry.stdout
    );
    let api_block = compose.split("  api:\n").nth(1).unwrap();
    common::git_apply(dir.path(), &dry.stdout);
    let after = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert!(after.contains(&format!("  api:\n{api_block}")), "{after}");
    assert!(
        dry.stderr.contains("not changed: harden could not learn about `registry.example.com/team/api:1.0` (--offline: no registry was asked), and harden.toml says `unknown-images = \"skip\"`"),
        "{}",
        dry.stderr
    );
    assert_schema_valid(&after, "compose.yaml");
    // The findings stay, as not fixable by harden fix; fixing again changes nothing.
    let again = harden(dir.path(), &["fix", "--dry-run"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    let json = harden(dir.path(), &["check", "--format", "json"]);
    assert_eq!(json.code, 1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let api: Vec<&serde_json::Value> = v["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["message"].as_str().unwrap().contains("`api`"))
        .collect();
    assert!(!api.is_empty(), "{}", json.stdout);
    assert!(api.iter().all(|f| f["fixable"] == false), "{}", json.stdout);
    // The JSON report lists the service apart, and says where harden's
    // knowledge of each service comes from.
    assert_eq!(
        v["files"][0]["unknown_images"],
        serde_json::json!([{
            "service": "api",
            "image": "registry.example.com/team/api:1.0",
            "reasons": ["--offline: no registry was asked"],
            "skipped": true,
        }]),
        "{}",
        json.stdout
    );
    let knowledge = v["files"][0]["knowledge"].as_array().unwrap();
    assert!(
        knowledge.contains(
            &serde_json::json!({"subject": "service db", "source": "postgres image profile"})
        ) && knowledge
            .contains(&serde_json::json!({"subject": "service api", "source": "unknown image"})),
        "{}",
        json.stdout
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json-schema/check-v1.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap();
    assert!(validator.is_valid(&v), "{}", json.stdout);
    let md = harden(dir.path(), &["check", "--format", "markdown"]);
    assert!(
        md.stdout.contains("## Images harden could not learn about"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("| `compose.yaml` | `api` | `registry.example.com/team/api:1.0` | --offline: no registry was asked | leaves it unchanged (`unknown-images = \"skip\"`) |"),
        "{}",
        md.stdout
    );
    assert!(!md.stdout.contains("| `db` |"), "{}", md.stdout);
    // A value it does not know is an error at its place.
    std::fs::write(
        dir.path().join("harden.toml"),
        "unknown-images = \"ignore\"\n",
    )
    .unwrap();
    let bad = harden(dir.path(), &["check"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("harden.toml:1:"), "{}", bad.stderr);
}
