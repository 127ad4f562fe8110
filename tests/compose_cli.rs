//! Compose fixtures through the binary: diff, notes, `git apply`, write,
//! schema, data preservation and idempotence.

mod common;

use common::*;
use std::path::Path;

/// The whole contract for one compose fixture; returns the snapshot text.
fn contract(name: &str, pure_insertion: bool) -> String {
    let dir = scratch();
    let file = dir.path().join(name);
    std::fs::copy(fixtures().join("compose").join(name), &file).unwrap();
    let original = std::fs::read_to_string(&file).unwrap();

    let dry = harden(dir.path(), &["fix", "--dry-run", name]);
    assert_eq!(
        dry.code, 1,
        "dry run must report pending changes\n{}",
        dry.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "--dry-run wrote"
    );

    // The patch applies with git and yields exactly what `fix` writes.
    let applied = scratch();
    std::fs::copy(&file, applied.path().join(name)).unwrap();
    git_apply(applied.path(), &dry.stdout);
    let via_patch = std::fs::read_to_string(applied.path().join(name)).unwrap();

    let fix = harden(dir.path(), &["fix", name]);
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    let fixed = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        via_patch, fixed,
        "git apply of the diff differs from what fix wrote"
    );

    assert_fixed_file(name, &original, &fixed, pure_insertion);

    // Every value the author wrote is still there (merges not applied).
    let before = compose_data(&original);
    let after = compose_data(&fixed);
    assert_subset(&before, &after, "");

    // Fixing again changes nothing.
    let again = harden(dir.path(), &["fix", "--dry-run", name]);
    assert_eq!(
        again.code, 0,
        "second fix is not a no-op:\n{}",
        again.stdout
    );
    assert_eq!(again.stdout, "");
    let check = harden(dir.path(), &["check", name]);
    assert!(
        !check.stdout.contains("help: run `harden fix`"),
        "fixable findings remain after fix:\n{}",
        check.stdout
    );

    format!("{}\n---- notes ----\n{}", dry.stdout, dry.stderr)
}

/// The notes of one service in a snapshot: from its header to the next
/// service's (or the end).
fn service_notes<'a>(snap: &'a str, svc: &str) -> &'a str {
    let notes = &snap[snap.find("---- notes ----").expect("notes")..];
    let start = notes
        .find(&format!("\n  service {svc} ("))
        .unwrap_or_else(|| panic!("service {svc}:\n{notes}"));
    let rest = &notes[start + 1..];
    let end = rest[1..].find("\n  service ").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

/// Fixture values the fix deliberately changes, and may therefore differ.
const REPLACED: &[&str] = &[
    "/services/legacy-admin/read_only",
    "/services/scheduler/read_only",
    "/services/legacy-admin/security_opt/0",
    "/services/empty_lists/tmpfs",
    "/services/empty_lists/cap_drop",
    "/services/empty_lists/security_opt",
];

fn assert_subset(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value;
    if REPLACED.contains(&at) {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{at}/{k}");
                let w = y.get(k).unwrap_or_else(|| panic!("{p} lost"));
                assert_subset(v, w, &p);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert!(y.len() >= x.len(), "{at} lost items");
            for (i, v) in x.iter().enumerate() {
                if REPLACED.contains(&format!("{at}/{i}").as_str()) {
                    continue;
                }
                assert!(y.contains(v), "{at}/{i} lost: {v}");
            }
        }
        (Value::Null, _) => {}
        _ => assert_eq!(a, b, "{at} changed"),
    }
}

#[test]
fn basic_two_space_indented_sequences() {
    snapshot("compose_basic", &contract("basic.yml", true));
}

#[test]
fn four_space_flush_sequences_partly_hardened() {
    snapshot(
        "compose_four_space_flush",
        &contract("four_space_flush.yml", false),
    );
}

#[test]
fn anchors_and_merge_keys() {
    snapshot("compose_anchors", &contract("anchors.yml", true));
}

#[test]
fn crlf_non_ascii_no_final_newline() {
    snapshot(
        "compose_crlf_nonascii",
        &contract("crlf_nonascii.yml", true),
    );
}

#[test]
fn flow_style_is_extended_in_flow_style() {
    snapshot("compose_flow", &contract("flow.yml", false));
}

#[test]
fn exceptions_and_explicit_false() {
    snapshot("compose_exceptions", &contract("exceptions.yml", false));
}

#[test]
fn block_scalars_and_trailing_comments() {
    snapshot(
        "compose_block_scalars",
        &contract("block_scalars.yml", true),
    );
}

#[test]
fn three_and_eight_space_indentation() {
    snapshot("compose_indent3_8", &contract("indent3_8.yml", true));
}

#[test]
fn every_known_image_profile() {
    let snap = contract("known_images.yml", true);
    // A service that keeps starting as root gets capabilities; one that can
    // run as its image's user gets `user:`; never neither.
    for svc in [
        "db", "db18", "mysql", "mariadb", "cache", "mongo", "httpd", "queue",
    ] {
        assert!(
            service_notes(&snap, svc).contains("\n    + `user: "),
            "{svc} neither runs as its user nor gets capabilities:\n{snap}"
        );
    }
    // nginx keeps a root master (its pid file is in /run): capabilities,
    // and port 80 through the sysctl rather than NET_BIND_SERVICE.
    let web = service_notes(&snap, "web");
    assert!(
        !web.contains("`user: ")
            && web.contains("+ `cap_add: [CHOWN, SETUID, SETGID]`")
            && snap.contains("+      - net.ipv4.ip_unprivileged_port_start=0\n"),
        "web (nginx) gets its capabilities and the sysctl:\n{snap}"
    );
    // The data volume follows the major version of the tag.
    assert!(
        snap.contains("- db-data:/var/lib/postgresql/data\n"),
        "{snap}"
    );
    assert!(snap.contains("- db18-data:/var/lib/postgresql\n"), "{snap}");
    snapshot("compose_known_images", &snap);
}

/// The bundled example: both files, the whole baseline, as the README shows.
#[test]
fn bundled_example() {
    let (snap, files) =
        project(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ocr-service"));
    let c1 = &files["docker-compose.yml"].1;
    let d1 = &files["Dockerfile"].1;
    // The whole baseline, in both files, agreeing on the directories.
    for needle in [
        "read_only: true",
        "- ALL",
        "no-new-privileges:true",
        "/tmp:size=512m",
        "ocr-models:/app/models",
        "ocr-cache:/var/cache/ocr",
        "HF_HOME: /var/cache/ocr/huggingface",
        "TORCH_HOME",
    ] {
        assert!(c1.contains(needle), "compose lacks {needle}:\n{c1}");
    }
    for needle in [
        "useradd",
        "USER ocr",
        "ENV HOME=",
        "mkdir -p /app/models /var/cache/ocr",
        "chown 1000:1000 /app/models /var/cache/ocr",
    ] {
        assert!(d1.contains(needle), "Dockerfile lacks {needle}:\n{d1}");
    }
    snapshot("example_ocr_service", &snap);
}

/// A service built from a Dockerfile next to a database, both with volumes
/// that already exist: the user reused from the base image, the volume
/// directories created for it, and the one-time migration spelled out.
#[test]
fn linked_project_with_existing_volumes() {
    let (snap, files) = project(&fixtures().join("projects/shop"));
    assert!(files["api/Dockerfile"]
        .1
        .contains("chown node /srv/uploads /srv/app/sessions"));
    assert!(
        snap.contains("--entrypoint chown api -R node /srv/uploads"),
        "{snap}"
    );
    // postgres's entrypoint already chowned its data to its own user.
    assert!(!snap.contains("chown db"), "{snap}");
    snapshot("project_shop", &snap);
}

/// `compose.yaml` with `compose.override.yaml` is one project: a value the
/// override sets wins (and is pointed out where it contradicts the
/// baseline), a list it extends counts, and services defined only in the
/// override are hardened there.
#[test]
fn override_file_is_read_with_its_base() {
    let (snap, files) = project(&fixtures().join("projects/override"));
    let base = &files["compose.yaml"].1;
    let over = &files["compose.override.yaml"].1;
    let app = base.split("worker:").next().unwrap();
    assert!(
        !app.contains("read_only"),
        "read_only added though the override sets it:\n{base}"
    );
    assert!(
        !app.contains("cap_drop"),
        "cap_drop added though the override has ALL:\n{base}"
    );
    assert!(over.contains("mailhog:\n    image: mailhog/mailhog:v1.0.1\n    read_only: true"));
    assert!(
        snap.contains("compose.override.yaml sets `read_only: false`"),
        "{snap}"
    );
    snapshot("project_override", &snap);
}

/// `extends` in the same file: a service that extends a hardened one is
/// hardened already, and only what it overrides itself is changed.
#[test]
fn extends_in_the_same_file() {
    let snap = contract("extends.yml", false);
    assert!(!snap.contains("service worker"), "{snap}");
    snapshot("compose_extends", &snap);
}

#[test]
fn host_directories_and_unknown_images_get_review_notes() {
    let snap = contract("host_dirs_unknown_images.yml", true);
    // `user:` on a service whose data is a host directory: chown it there.
    assert!(
        snap.contains("/var/lib/postgresql/data is mounted from the host")
            && snap.contains("`chown -R 70:70 <host directory>`"),
        "{snap}"
    );
    // Files that are only read (the init script, a config file) need nothing.
    assert!(
        !snap.contains("docker-entrypoint-initdb.d is mounted"),
        "{snap}"
    );
    assert!(!snap.contains("postgresql.conf is mounted"), "{snap}");
    // An image harden has no profile for: say so, once.
    assert_eq!(
        snap.matches("harden knows nothing about `registry.example.com/acme/portal:4.2`")
            .count(),
        1,
        "{snap}"
    );
    // Not for a service that lists its capabilities, nor for a base image.
    assert!(
        !snap.contains("knows nothing about `registry.example.com/acme/tunnel"),
        "{snap}"
    );
    assert!(!snap.contains("knows nothing about `alpine"), "{snap}");
    snapshot("compose_host_dirs_unknown_images", &snap);
}

/// `build.target` names the stage the service runs: that stage gets the
/// USER, not the last one, and a stage that builds on it keeps building as
/// root.
#[test]
fn build_target_stage_is_the_one_hardened() {
    let (snap, files) = project(&fixtures().join("projects/target"));
    let df = &files["web/Dockerfile"].1;
    let dev = df.split("FROM dev AS build").next().unwrap();
    assert!(
        dev.contains("USER node\nCMD [\"npm\", \"run\", \"dev\"]"),
        "{df}"
    );
    assert!(
        df.contains("FROM dev AS build\nUSER root\nRUN npm run build"),
        "{df}"
    );
    assert!(
        !df.split("FROM nginx").nth(1).unwrap().contains("USER"),
        "{df}"
    );
    assert!(!files["compose.yaml"].1.contains("cap_add"), "{snap}");
    snapshot("project_target", &snap);
}

/// `build.args` choose the base image (`FROM ${BASE_IMAGE}`): its family
/// and users are the ones of the image the arguments name.
#[test]
fn build_args_choose_the_base_image() {
    let (snap, files) = project(&fixtures().join("projects/buildargs"));
    let df = &files["app/Dockerfile"].1;
    assert!(df.contains("USER node") && !df.contains("useradd"), "{df}");
    assert!(snap.contains("node:20-bookworm-slim → debian"), "{snap}");
    snapshot("project_buildargs", &snap);
}

/// `extends: {file, service}`: the other file is read for the extended
/// service's values, so what it already sets is not added again, and the
/// edits go to the file where each service is defined; the shared file is
/// not a project of its own and is left alone.
#[test]
fn extends_from_another_file() {
    let (snap, files) = project(&fixtures().join("projects/extends-file"));
    let compose = &files["compose.yaml"].1;
    let shared = &files["common/services.yml"];
    assert_eq!(shared.0, shared.1, "the extended file was edited");
    let extending = compose.split("redis:").next().unwrap();
    assert!(
        !extending.contains("cap_drop") && !extending.contains("no-new-privileges"),
        "added again what the extended service sets:\n{compose}"
    );
    // The worker's own `read_only: true` is kept; the web gets one.
    assert_eq!(extending.matches("read_only: true").count(), 2, "{compose}");
    snapshot("project_extends_file", &snap);
}

/// Files a top-level `include` names are part of the project: their
/// services are hardened in their own file, and a new volume never takes
/// a name another file of the project declares.
#[test]
fn included_files_are_hardened_in_place() {
    let (snap, files) = project(&fixtures().join("projects/include"));
    let db = &files["infra/database.yaml"].1;
    let proxy = &files["proxy/proxy.yml"].1;
    assert!(db.contains("cap_drop:"), "{db}");
    assert!(proxy.contains("read_only: true"), "{proxy}");
    // `db-data` belongs to the including file: the database gets its own.
    assert!(!db.contains("- db-data:"), "{db}");
    assert!(db.contains("db-data-2:/var/lib/postgresql/data"), "{db}");
    assert!(!files["compose.yaml"].1.contains("db:\n    image"));
    snapshot("project_include", &snap);
}

/// `-f` files are one project in the order given, as `docker compose -f`
/// merges them: a service is hardened in the first file that defines it,
/// values later files set count (the last one wins, lists append), and a
/// service a later file adds is hardened there.
#[test]
fn files_named_with_f_are_one_project() {
    let (snap, files) = project_with(
        &fixtures().join("projects/multi-file"),
        &[
            "-f",
            "multi-file/compose.yaml",
            "-f",
            "multi-file/compose.prod.yaml",
            "--file",
            "multi-file/compose.ci.yaml",
        ],
    );
    let base = &files["compose.yaml"].1;
    let prod = &files["compose.prod.yaml"].1;
    let ci = &files["compose.ci.yaml"];
    let web = base.split("cache:").next().unwrap();
    for set_later in ["read_only", "cap_drop", "security_opt"] {
        assert!(
            !web.contains(set_later),
            "{set_later} added though a later file sets it:\n{base}"
        );
    }
    assert!(web.contains("tmpfs:"), "{base}");
    assert!(base
        .split("cache:")
        .nth(1)
        .unwrap()
        .contains("read_only: true"));
    // The service only the production file defines is hardened there.
    assert!(
        prod.contains("command: [\"backup\", \"--every\", \"24h\"]\n    read_only: true"),
        "{prod}"
    );
    assert_eq!(ci.0, ci.1, "the last file only overrides; nothing to add");
    snapshot("project_multi_file", &snap);
}

/// A file the service's own command writes outside every mount is pointed
/// out (a read-only root filesystem would stop it); one in a volume is not.
#[test]
fn writes_by_the_command_get_a_review_note() {
    let snap = contract("command_writes.yml", true);
    assert!(
        snap.contains("`command` writes /etc/nginx/conf.d/default.conf, on the read-only root filesystem: mount a tmpfs (scratch) or a volume on /etc/nginx/conf.d"),
        "{snap}"
    );
    assert!(!snap.contains("writes /var/log/worker"), "{snap}");
    snapshot("compose_command_writes", &snap);
}
