//! `--explain-project`: the project model as harden understood it, through
//! the binary, on the fixture projects the model is built to understand.
//! Each relation a fixture is built to show must appear, in the text
//! (snapshot, reviewed) and in the JSON document (valid against
//! docs/json-schema/project-v1.json).

mod common;

use common::{copy_tree, fixtures, harden, scratch, snapshot};
use serde_json::Value;
use std::path::Path;

/// A scratch folder holding a copy of the fixture project `name`, so that
/// the project root is the scratch folder (`.`) on every machine.
fn copy(name: &str) -> tempfile::TempDir {
    let dir = scratch();
    let proj = dir.path().join(name);
    std::fs::create_dir_all(&proj).unwrap();
    copy_tree(&fixtures().join("projects").join(name), &proj);
    dir
}

fn text(name: &str) -> String {
    let dir = copy(name);
    let run = harden(dir.path(), &["check", "--explain-project", name]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run.stdout
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json-schema/project-v1.json"),
    )
    .expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("valid schema")
}

/// The JSON document for the fixture, validated; its one project.
fn json(name: &str) -> Value {
    let dir = copy(name);
    let run = harden(
        dir.path(),
        &["check", "--explain-project", "--format", "json", name],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    let errors: Vec<String> = validator()
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{doc:#}");
    assert_eq!(doc["version"], 1);
    let projects = doc["projects"].as_array().expect("projects");
    assert_eq!(projects.len(), 1, "{doc:#}");
    projects[0].clone()
}

fn compose<'a>(p: &'a Value, path: &str) -> &'a Value {
    p["compose_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .unwrap_or_else(|| panic!("no compose file {path}: {p:#}"))
}

/// A builder or runner of a stage: (kind, name, file).
type Who = (String, String, String);

/// The stages of a Dockerfile: (stage, who runs it).
fn stages(p: &Value, path: &str) -> Vec<(Value, Vec<Who>)> {
    let d = p["dockerfiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("no Dockerfile {path}: {p:#}"));
    d["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let who = s["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    (
                        b["kind"].as_str().unwrap().to_string(),
                        b["name"].as_str().unwrap().to_string(),
                        b["file"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (s["stage"].clone(), who)
        })
        .collect()
}

fn who(kind: &str, name: &str, file: &str) -> Who {
    (kind.into(), name.into(), file.into())
}

#[test]
fn stages_each_run_by_its_service() {
    let t = text("stages");
    snapshot("explain_project_stages", &t);
    let p = json("stages");
    let s = stages(&p, "stages/Dockerfile");
    for (stage, service, file) in [
        ("final", "release", "stages/compose.test.yml"),
        ("test", "tests", "stages/compose.test.yml"),
        ("dev", "app", "stages/compose.yaml"),
    ] {
        assert!(
            s.iter()
                .any(|(st, w)| *st == stage && w.contains(&who("service", service, file))),
            "stage {stage} run by {service}: {s:?}"
        );
    }
    assert_eq!(
        p["test_files"],
        serde_json::json!(["stages/compose.test.yml"])
    );
    assert_eq!(compose(&p, "stages/compose.test.yml")["test"], true);
    assert_eq!(compose(&p, "stages/compose.yaml")["test"], false);
}

#[test]
fn a_shared_dockerfile_lists_both_services() {
    let t = text("shared-dockerfile");
    snapshot("explain_project_shared_dockerfile", &t);
    let p = json("shared-dockerfile");
    let s = stages(&p, "shared-dockerfile/web/Dockerfile");
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].0, Value::Null);
    assert!(s[0]
        .1
        .contains(&who("service", "web", "shared-dockerfile/compose.yaml")));
    assert!(s[0].1.contains(&who(
        "service",
        "genkeys",
        "shared-dockerfile/compose.tools.yml"
    )));
}

#[test]
fn an_image_built_here_and_run_by_name() {
    let t = text("built-image");
    snapshot("explain_project_built_image", &t);
    let p = json("built-image");
    let images = p["images"].as_array().unwrap();
    assert!(
        images.iter().any(|i| i["name"] == "acme/report-worker"
            && i["dockerfile"] == "built-image/worker/Dockerfile"
            && i["builder"]["kind"] == "service"
            && i["builder"]["name"] == "worker"
            && i["builder"]["file"] == "built-image/compose.yaml"),
        "{p:#}"
    );
    let runs = p["runs"].as_array().unwrap();
    assert!(
        runs.iter().any(|r| r["service"] == "nightly"
            && r["file"] == "built-image/compose.cron.yml"
            && r["builder"]["name"] == "worker"),
        "{p:#}"
    );
    // The service that runs it by name runs the Dockerfile's image.
    let s = stages(&p, "built-image/worker/Dockerfile");
    assert!(s[0]
        .1
        .contains(&who("service", "nightly", "built-image/compose.cron.yml")));
}

#[test]
fn a_bake_target_builds_the_image_a_service_runs() {
    let t = text("bake");
    snapshot("explain_project_bake", &t);
    let p = json("bake");
    assert!(
        p["images"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "ghcr.io/acme/ledger-api"
                && i["dockerfile"] == "bake/api/Dockerfile"
                && i["builder"]["kind"] == "bake-target"
                && i["builder"]["file"] == "bake/docker-bake.hcl"),
        "{p:#}"
    );
    assert!(
        p["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["service"] == "api"
                && r["file"] == "bake/compose.yaml"
                && r["builder"]["kind"] == "bake-target"),
        "{p:#}"
    );
}

#[test]
fn variants_say_where_their_chain_was_found() {
    let t = text("variants");
    snapshot("explain_project_variants", &t);
    assert!(
        t.contains("-f chain found in variants/Makefile line "),
        "{t}"
    );
    let p = json("variants");
    for (variant, line) in [
        ("variants/docker-compose.prod.yml", 7),
        ("variants/ops/docker-compose.backup.yml", 10),
    ] {
        let rel = &compose(&p, variant)["relations"][0];
        assert_eq!(rel["kind"], "variant-of", "{p:#}");
        assert_eq!(
            rel["files"],
            serde_json::json!(["variants/docker-compose.yml"])
        );
        assert_eq!(rel["script"]["file"], "variants/Makefile");
        assert_eq!(rel["script"]["line"], line);
    }
    // The line is the compose command's line in the Makefile.
    let make = std::fs::read_to_string(fixtures().join("projects/variants/Makefile")).unwrap();
    for line in [7, 10] {
        let l = make.lines().nth(line - 1).unwrap();
        assert!(
            l.contains("compose") && l.contains("-f"),
            "line {line}: {l}"
        );
    }
}

#[test]
fn a_test_stack_is_treated_as_tests() {
    let t = text("test-stack");
    snapshot("explain_project_test_stack", &t);
    let p = json("test-stack");
    assert_eq!(
        p["test_files"],
        serde_json::json!(["test-stack/docker-compose.test.yml"])
    );
}

#[test]
fn overrides_includes_extends_and_the_runs_file_chain() {
    let p = json("override");
    let rel = &compose(&p, "override/compose.override.yaml")["relations"][0];
    assert_eq!(rel["kind"], "override-of");
    assert_eq!(rel["files"], serde_json::json!(["override/compose.yaml"]));

    let p = json("include");
    let included: Vec<&Value> = p["compose_files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["relations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["kind"] == "included-by" && r["files"][0] == "include/compose.yaml")
        })
        .collect();
    assert!(!included.is_empty(), "{p:#}");

    let p = json("extends-file");
    let rel = &compose(&p, "extends-file/compose.yaml")["relations"];
    assert!(
        rel.as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "extends"
                && r["files"] == serde_json::json!(["extends-file/common/services.yml"])),
        "{p:#}"
    );

    let dir = copy("multi-file");
    let run = harden(
        dir.path(),
        &[
            "check",
            "--explain-project",
            "-f",
            "multi-file/compose.yaml",
            "-f",
            "multi-file/compose.prod.yaml",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "-f chain of the run: -f multi-file/compose.yaml -f multi-file/compose.prod.yaml"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn fix_prints_the_project_before_the_notes() {
    let dir = copy("built-image");
    let plain = harden(dir.path(), &["fix", "--dry-run", "built-image"]);
    let run = harden(
        dir.path(),
        &["fix", "--dry-run", "--explain-project", "built-image"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The diff is the same; the project comes first on standard error.
    assert_eq!(run.stdout, plain.stdout);
    assert!(run.stderr.starts_with("Project root .\n"), "{}", run.stderr);
    assert!(run.stderr.ends_with(&plain.stderr), "{}", run.stderr);
    assert!(run.stderr.contains("acme/report-worker"), "{}", run.stderr);
}

#[test]
fn other_formats_are_refused_and_broken_files_are_errors() {
    let dir = copy("stages");
    let run = harden(
        dir.path(),
        &["check", "--explain-project", "--format", "sarif", "stages"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("text or json"), "{}", run.stderr);

    std::fs::write(dir.path().join("stages/compose.yaml"), "services: [\n").unwrap();
    let run = harden(dir.path(), &["check", "--explain-project", "stages"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.starts_with("stages/compose.yaml:"),
        "{}",
        run.stderr
    );
}

#[test]
fn names_from_files_are_escaped() {
    let dir = copy("test-stack");
    let evil = "docker-compose.test\u{1b}[2J.yml";
    std::fs::rename(
        dir.path().join("test-stack/docker-compose.test.yml"),
        dir.path().join("test-stack").join(evil),
    )
    .unwrap();
    let run = harden(dir.path(), &["check", "--explain-project", "test-stack"]);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("test-stack/docker-compose.test\\u{1b}[2J.yml"),
        "{}",
        run.stdout
    );
}
