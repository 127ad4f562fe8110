//! `harden check` in every format, and `fix --dry-run --format markdown`,
//! over one project: a compose file with hardened, partly hardened,
//! exempted (with and without reason) and privileged services, a Dockerfile
//! it builds, and a compose file that does not parse.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

/// A scratch copy of tests/fixtures/project; harden runs in its root.
fn project() -> tempfile::TempDir {
    let dir = scratch();
    copy_tree(&fixtures().join("project"), dir.path());
    dir
}

fn snapshot(name: &str, text: &str) {
    let text = text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    common::snapshot(name, &text);
}

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what} does not validate: {errors:#?}");
}

/// Every finding on the project: (path, line, col, rule, severity, fixable).
const EXPECTED: &[(&str, u64, u64, &str, &str, bool)] = &[
    ("shop/api/Dockerfile", 2, 1, "root-user", "error", true),
    ("shop/api/Dockerfile", 2, 1, "implicit-home", "error", true),
    (
        "shop/compose.yaml",
        4,
        3,
        "default-capabilities",
        "error",
        true,
    ),
    ("shop/compose.yaml", 4, 3, "new-privileges", "error", true),
    (
        "shop/compose.yaml",
        4,
        3,
        "unmounted-write-path",
        "error",
        true,
    ),
    (
        "shop/compose.yaml",
        39,
        7,
        "undocumented-exception",
        "warning",
        false,
    ),
    ("shop/compose.yaml", 46, 3, "writable-rootfs", "error", true),
    (
        "shop/compose.yaml",
        46,
        3,
        "default-capabilities",
        "error",
        true,
    ),
    ("shop/compose.yaml", 46, 3, "new-privileges", "error", true),
    (
        "shop/compose.yaml",
        46,
        3,
        "unmounted-write-path",
        "error",
        true,
    ),
    ("shop/compose.yaml", 48, 17, "privileged", "error", false),
];

fn findings_of(doc: &Value) -> Vec<(String, u64, u64, String, String, bool)> {
    let mut out = Vec::new();
    for f in doc["files"].as_array().into_iter().flatten() {
        for x in f["findings"].as_array().into_iter().flatten() {
            out.push((
                f["path"].as_str().unwrap_or("").to_string(),
                x["line"].as_u64().unwrap_or(0),
                x["col"].as_u64().unwrap_or(0),
                x["rule"].as_str().unwrap_or("").to_string(),
                x["severity"].as_str().unwrap_or("").to_string(),
                x["fixable"].as_bool().unwrap_or(false),
            ));
        }
    }
    out
}

fn expected() -> Vec<(String, u64, u64, String, String, bool)> {
    EXPECTED
        .iter()
        .map(|(p, l, c, r, s, f)| (p.to_string(), *l, *c, r.to_string(), s.to_string(), *f))
        .collect()
}

#[test]
fn check_reports_every_finding_and_the_broken_file() {
    let dir = project();
    let run = harden(dir.path(), &["check", "--format", "json"]);
    assert_eq!(
        run.code, 2,
        "a broken file makes the run an error\n{}",
        run.stderr
    );
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(findings_of(&doc), expected());
    let files: Vec<(&str, &str)> = doc["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or(""),
                f["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("shop/api/Dockerfile", "dockerfile"),
            ("shop/compose.yaml", "compose"),
            ("shop/legacy/docker-compose.yml", "compose"),
        ]
    );
    let broken = &doc["files"][2];
    assert_eq!(
        (
            broken["error"]["line"].as_u64(),
            broken["error"]["col"].as_u64()
        ),
        (Some(8), Some(5))
    );
    assert_eq!(broken["findings"], serde_json::json!([]));
    assert_eq!(
        run.stderr,
        "shop/legacy/docker-compose.yml:8:5: error: while parsing a block mapping, did not find expected key\n"
    );

    // Without the broken file: findings, exit 1; the Dockerfile comes in
    // through `build:`.
    let run = harden(
        dir.path(),
        &["check", "--format", "json", "shop/compose.yaml"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    // The linked Dockerfile is listed after the file that names it.
    let mut got = findings_of(&doc);
    let mut want = expected();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // Once fixed, only the findings `fix` cannot repair remain.
    let fix = harden(dir.path(), &["fix", "shop/compose.yaml"]);
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    let run = harden(
        dir.path(),
        &["check", "--format", "json", "shop/compose.yaml"],
    );
    assert_eq!(run.code, 1);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    // (The fix inserts six lines into `api`, above both.)
    let left = [
        (
            "shop/compose.yaml",
            45,
            7,
            "undocumented-exception",
            "warning",
            false,
        ),
        ("shop/compose.yaml", 54, 17, "privileged", "error", false),
    ]
    .map(|(p, l, c, r, s, f)| (p.to_string(), l, c, r.to_string(), s.to_string(), f));
    assert_eq!(findings_of(&doc), left);
}

#[test]
fn text_frames_and_summary() {
    let dir = project();
    let run = harden(dir.path(), &["check"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.ends_with(
        "Found 11 findings in 2 of 2 files (9 fixable with `harden fix`). 1 file could not be checked.\n"
    ));
    snapshot(
        "formats_text",
        &format!("{}---- stderr ----\n{}", run.stdout, run.stderr),
    );

    let quiet = harden(dir.path(), &["check", "--quiet"]);
    assert_eq!(quiet.code, 2);
    assert!(!quiet.stdout.contains("Found "), "{}", quiet.stdout);
    assert!(run.stdout.starts_with(&quiet.stdout));
    for (path, line, col, rule, sev, _) in EXPECTED {
        let head = format!("{path}:{line}:{col}: {sev}[{rule}] ");
        assert!(quiet.stdout.contains(&head), "missing {head}");
    }

    let coloured = harden(dir.path(), &["check", "--color", "always"]);
    assert!(coloured.stdout.contains('\x1b'));
    assert!(!run.stdout.contains('\x1b'));
}

#[test]
fn json_validates_against_its_schema() {
    let dir = project();
    let run = harden(dir.path(), &["check", "--format", "json"]);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    let schema = load("docs/json-schema/check-v1.json");
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .expect("valid schema");
    assert_valid(&v, &doc, "check --format json");
    // The schema is strict enough to catch a wrong shape.
    let mut bad = doc.clone();
    bad["files"][0]["findings"][0]["severity"] = Value::from("fatal");
    assert!(!v.is_valid(&bad));
    // The edits, applied to the original, give what `fix` writes.
    for f in doc["files"].as_array().into_iter().flatten() {
        let Some(edits) = f["fix"]["edits"].as_array() else {
            continue;
        };
        let path = dir.path().join(f["path"].as_str().unwrap_or(""));
        let mut text = std::fs::read_to_string(&path).expect("read");
        for e in edits.iter().rev() {
            let (s, t) = (
                e["start"].as_u64().unwrap_or(0) as usize,
                e["end"].as_u64().unwrap_or(0) as usize,
            );
            text.replace_range(s..t, e["text"].as_str().unwrap_or(""));
        }
        let fixed_dir = project();
        let fix = harden(fixed_dir.path(), &["fix", "shop"]);
        assert_eq!(fix.code, 2);
        let fixed =
            std::fs::read_to_string(fixed_dir.path().join(f["path"].as_str().unwrap_or("")))
                .expect("read");
        assert_eq!(text, fixed);
    }
    snapshot("formats_json", &run.stdout);
}

/// Byte offset of a 1-based line and 1-based column in code points.
fn offset(text: &str, line: u64, col: u64) -> usize {
    let mut start = 0;
    for _ in 1..line {
        start += text[start..]
            .find('\n')
            .map_or(text.len() - start, |i| i + 1);
    }
    text[start..]
        .char_indices()
        .nth(col as usize - 1)
        .map_or(text.len(), |(i, _)| start + i)
}

#[test]
fn sarif_validates_and_its_fixes_equal_the_fix() {
    let dir = project();
    let run = harden(dir.path(), &["check", "--format", "sarif"]);
    assert_eq!(run.code, 2);
    let doc: Value = serde_json::from_str(&run.stdout).expect("json");
    let schema = load("tests/data/sarif-schema-2.1.0.json");
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("valid schema");
    assert_valid(&v, &doc, "check --format sarif");

    let run0 = &doc["runs"][0];
    let rules = run0["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let results = run0["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), EXPECTED.len());
    let mut with_fix = Vec::new();
    for (r, (path, line, col, rule, sev, _)) in results.iter().zip(EXPECTED) {
        assert_eq!(r["ruleId"], *rule);
        let idx = r["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(rules.get(idx).map(|x| &x["id"]), Some(&Value::from(*rule)));
        assert_eq!(r["level"], *sev);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], *path);
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(
            (
                loc["region"]["startLine"].as_u64(),
                loc["region"]["startColumn"].as_u64()
            ),
            (Some(*line), Some(*col))
        );
        if let Some(fixes) = r["fixes"].as_array() {
            with_fix.push((path.to_string(), fixes.clone()));
        }
    }
    // One fix per changed file, on its first fixable finding.
    assert_eq!(
        with_fix.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["shop/api/Dockerfile", "shop/compose.yaml"]
    );
    assert!(results[0].get("fixes").is_some() && results[2].get("fixes").is_some());
    let inv = &run0["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(
        inv["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]
            ["artifactLocation"]["uri"],
        "shop/legacy/docker-compose.yml"
    );

    // Applying the replacements by line and column yields what `fix` writes.
    let fixed_dir = project();
    harden(fixed_dir.path(), &["fix", "shop"]);
    for (path, fixes) in with_fix {
        let change = &fixes[0]["artifactChanges"][0];
        assert_eq!(change["artifactLocation"]["uri"], path.as_str());
        let mut text = std::fs::read_to_string(dir.path().join(&path)).expect("read");
        let reps = change["replacements"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for rep in reps.iter().rev() {
            let d = &rep["deletedRegion"];
            let n = |k: &str| d[k].as_u64().unwrap_or(0);
            let s = offset(&text, n("startLine"), n("startColumn"));
            let e = offset(&text, n("endLine"), n("endColumn"));
            text.replace_range(s..e, rep["insertedContent"]["text"].as_str().unwrap_or(""));
        }
        let fixed = std::fs::read_to_string(fixed_dir.path().join(&path)).expect("read");
        assert_eq!(text, fixed, "{path}");
    }
    snapshot("formats_sarif", &run.stdout);
}

#[test]
fn github_annotations_point_at_the_right_lines() {
    let dir = project();
    let run = harden(dir.path(), &["check", "--format", "github"]);
    assert_eq!(run.code, 2);
    let mut seen = Vec::new();
    for l in run.stdout.lines() {
        let (level, rest) = l
            .strip_prefix("::")
            .and_then(|x| x.split_once(' '))
            .expect("a workflow command");
        let (props, message) = rest.split_once("::").expect("message");
        let get = |k: &str| {
            props
                .split(',')
                .find_map(|p| p.strip_prefix(&format!("{k}=")))
                .unwrap_or("")
                .to_string()
        };
        let file = get("file");
        let line: usize = get("line").parse().expect("line");
        let text = std::fs::read_to_string(dir.path().join(&file)).expect("file exists");
        let src = text.lines().nth(line - 1).expect("line exists");
        let title = get("title");
        if let Some(rule) = title.strip_prefix("harden ") {
            match rule {
                "privileged" => assert_eq!(src.trim(), "privileged: true"),
                "undocumented-exception" => assert_eq!(src.trim(), "allow: [default-capabilities]"),
                "root-user" | "implicit-home" => assert!(src.starts_with("FROM ")),
                _ => {
                    let service = src.trim().trim_end_matches(':');
                    assert!(message.contains(&format!("`{service}`")), "{l} at {src}");
                }
            }
            seen.push((
                file,
                line as u64,
                get("col").parse::<u64>().unwrap_or(0),
                rule.to_string(),
                level.to_string(),
            ));
        } else {
            assert_eq!(
                (level, file.as_str(), line),
                ("error", "shop/legacy/docker-compose.yml", 8)
            );
        }
    }
    let want: Vec<_> = EXPECTED
        .iter()
        .map(|(p, l, c, r, s, _)| (p.to_string(), *l, *c, r.to_string(), s.to_string()))
        .collect();
    assert_eq!(seen, want);
    snapshot("formats_github", &run.stdout);
}

#[test]
fn markdown_check_report() {
    let dir = project();
    let run = harden(dir.path(), &["check", "--format", "markdown"]);
    assert_eq!(run.code, 2);
    assert!(!run.stdout.contains("```diff"));
    snapshot("formats_markdown_check", &run.stdout);
}

#[test]
fn fix_dry_run_markdown_is_one_document_with_the_diff() {
    let dir = project();
    let run = harden(dir.path(), &["fix", "--dry-run", "--format", "markdown"]);
    assert_eq!(run.code, 2, "same status as the plain dry run");
    assert_eq!(run.stderr, "", "nothing but the document");
    assert_eq!(harden(dir.path(), &["fix", "--dry-run"]).code, 2);
    snapshot("formats_markdown_fix", &run.stdout);

    // Without the broken file: status 1, and the diff inside is the plain
    // dry run's patch.
    let md = harden(
        dir.path(),
        &[
            "fix",
            "--dry-run",
            "--format",
            "markdown",
            "shop/compose.yaml",
        ],
    );
    let plain = harden(dir.path(), &["fix", "--dry-run", "shop/compose.yaml"]);
    assert_eq!((md.code, plain.code), (1, 1));
    let diffs: String = md
        .stdout
        .split("```diff\n")
        .skip(1)
        .filter_map(|s| s.split("```\n").next())
        .collect();
    assert_eq!(diffs, plain.stdout);
    assert!(md
        .stdout
        .contains("--entrypoint chown api -R 1000:1000 /srv/shop/uploads"));
    // Nothing written.
    assert_eq!(
        harden(dir.path(), &["fix", "--dry-run", "shop/compose.yaml"]).stdout,
        plain.stdout
    );

    // `--format` needs `--dry-run`.
    let bad = harden(dir.path(), &["fix", "--format", "markdown"]);
    assert_eq!(bad.code, 2);

    // Once fixed, the document says so and the status is 0.
    assert_eq!(harden(dir.path(), &["fix", "shop/compose.yaml"]).code, 0);
    let after = harden(
        dir.path(),
        &[
            "fix",
            "--dry-run",
            "--format",
            "markdown",
            "shop/compose.yaml",
        ],
    );
    assert_eq!(after.code, 0);
    assert!(
        after
            .stdout
            .starts_with("# Harden containers: 0 files changed\n"),
        "{}",
        after.stdout
    );
}

/// The fenced block that follows `marker` in README.md.
fn readme_block(marker: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let after = readme.split(marker).nth(1).expect("marker in README");
    let body = after.split_once("```").map(|x| x.1).expect("fence");
    let body = body.split_once('\n').map(|x| x.1).unwrap_or("");
    body.split("```").next().unwrap_or("").to_string()
}

/// The arguments of a `harden ...` shell line, up to a redirection,
/// pipe or comment.
fn harden_args(line: &str) -> Option<Vec<String>> {
    let rest = line.trim().strip_prefix("harden ")?;
    let cmd = rest.split(['>', '|', '#']).next().unwrap_or("");
    Some(cmd.split_whitespace().map(str::to_string).collect())
}

#[test]
fn readme_format_examples_run() {
    let block = readme_block("<!-- formats-examples -->");
    let mut n = 0;
    for line in block.lines() {
        let args = harden_args(line).unwrap_or_else(|| panic!("not a harden command: {line}"));
        let dir = project();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = harden(dir.path(), &args);
        assert_eq!(
            run.code, 2,
            "{line}: findings and the broken file\n{}",
            run.stderr
        );
        assert!(!run.stdout.is_empty(), "{line}");
        if line.contains("json") || line.contains("sarif") {
            serde_json::from_str::<Value>(&run.stdout).expect("JSON");
        }
        n += 1;
    }
    assert_eq!(n, 7);
}

#[test]
fn readme_workflow_parses_and_its_commands_run() {
    let block = readme_block("<!-- formats-workflow -->");
    let docs = yaml_rust2::YamlLoader::load_from_str(&block).expect("workflow is YAML");
    let steps = &docs[0]["jobs"]["harden"]["steps"];
    let uses: Vec<&str> = steps
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    assert!(uses
        .iter()
        .any(|u| u.starts_with("github/codeql-action/upload-sarif@")));
    let runs: Vec<&str> = steps
        .as_vec()
        .into_iter()
        .flatten()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert_eq!(runs.len(), 2);
    // On a project with findings only: SARIF passes (report only), the
    // annotation step fails the job.
    let dir = project();
    std::fs::remove_dir_all(dir.path().join("shop/legacy")).expect("remove broken file");
    for run in runs {
        let args = harden_args(run).expect("a harden command");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = harden(dir.path(), &args);
        let want = if run.contains("--exit-zero") { 0 } else { 1 };
        assert_eq!(r.code, want, "{run}");
        assert!(!r.stdout.is_empty(), "{run}");
    }
}

/// A compose file with so many findings that `check` prints them in parts
/// as it goes, between two small files: the text and github reports list
/// the same findings in the same order as the JSON report (which is built
/// whole), and the summary counts each file once.
#[test]
fn a_large_file_reported_in_parts_reads_as_one() {
    let dir = scratch();
    let mut big = String::from("# many services, one file\nservices:\n");
    for i in 0..400 {
        big.push_str(&format!(
            "  worker-{i}:\n    image: registry.example.com/jobs/worker:{i}\n    command: [\"run\", \"--shard\", \"{i}\"]\n"
        ));
    }
    for (path, text) in [
        (
            "a/compose.yaml",
            "services:\n  web:\n    image: nginx:1.27\n",
        ),
        ("b/compose.yaml", big.as_str()),
        (
            "c/compose.yaml",
            "services:\n  cache:\n    image: redis:7\n",
        ),
    ] {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let json = harden(dir.path(), &["check", "--format", "json"]);
    assert_eq!(json.code, 1, "{}", json.stderr);
    let doc: Value = serde_json::from_str(&json.stdout).expect("json");
    let all: Vec<(String, u64, u64, String)> = findings_of(&doc)
        .into_iter()
        .map(|(p, l, c, r, _, _)| (p, l, c, r))
        .collect();
    let in_big = all.iter().filter(|f| f.0 == "b/compose.yaml").count();
    assert!(
        in_big > 1000,
        "only {in_big} findings: too few to come in parts"
    );

    let text = harden(dir.path(), &["check", "--color", "never"]);
    assert_eq!(text.code, 1, "{}", text.stderr);
    let heads: Vec<(String, u64, u64, String)> = text
        .stdout
        .lines()
        .filter_map(|l| {
            let (place, rest) = l.split_once(": error[")?;
            let mut it = place.rsplitn(3, ':');
            let col = it.next()?.parse().ok()?;
            let line = it.next()?.parse().ok()?;
            let path = it.next()?.to_string();
            Some((path, line, col, rest.split(']').next()?.to_string()))
        })
        .collect();
    assert_eq!(heads, all);
    assert!(text.stdout.ends_with(&format!(
        "Found {} findings in 3 of 3 files ({} fixable with `harden fix`).\n",
        all.len(),
        all.len()
    )));

    let github = harden(dir.path(), &["check", "--format", "github"]);
    let places: Vec<(String, u64, u64, String)> = github
        .stdout
        .lines()
        .filter_map(|l| {
            let props = l.strip_prefix("::error file=")?.split("::").next()?;
            let mut f = props.split(',');
            let path = f.next()?.to_string();
            let line = f.next()?.strip_prefix("line=")?.parse().ok()?;
            let col = f.next()?.strip_prefix("col=")?.parse().ok()?;
            let rule = f.next()?.strip_prefix("title=harden ")?.to_string();
            Some((path, line, col, rule))
        })
        .collect();
    assert_eq!(places, all);
}
