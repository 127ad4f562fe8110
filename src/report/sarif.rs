//! `check --format sarif`: SARIF 2.1.0 as GitHub code scanning reads it.
//! Every rule is described in `tool.driver.rules`; each finding is a result
//! whose location is relative to `%SRCROOT%` (the checkout); each file's
//! fix rides on its first fixable finding as `fixes[]`, the edits given as
//! line/column regions (columns in Unicode code points, as `columnKind`
//! says) so that a viewer can apply them without knowing byte offsets.
//! Files harden could not read or parse become tool execution
//! notifications, and the run is then marked unsuccessful.

use crate::discover::Kind;
use crate::edit;
use crate::engine::FileResult;
use crate::finding::Severity;
use crate::registry::{rules as registered, RuleMeta};
use crate::report::text::fix_help;
use crate::source::Source;
use serde_json::{json, Map, Value};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The level a rule's findings have unless a finding says otherwise.
fn default_level(rule: &str) -> &'static str {
    match rule {
        crate::rules::undocumented_exception::NAME => "warning",
        _ => "error",
    }
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A path as a URI reference: unreserved characters and `/` as they are,
/// everything else percent-encoded byte by byte.
pub fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a file is: relative to the source root, or an absolute file URI
/// when harden was pointed outside the working directory.
fn artifact(display: &str) -> Value {
    if display.starts_with('/') {
        json!({"uri": format!("file://{}", uri_path(display))})
    } else {
        json!({"uri": uri_path(display), "uriBaseId": "%SRCROOT%"})
    }
}

fn location(display: &str, line: usize, col: usize) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": artifact(display),
            "region": {"startLine": line.max(1), "startColumn": col.max(1)},
        }
    })
}

fn rule_json(r: &RuleMeta) -> Value {
    let help = format!(
        "{}\n\nFix: {}. See `harden explain {}`.",
        r.explanation,
        fix_help(r.name),
        r.name
    );
    json!({
        "id": r.name,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.explanation},
        "help": {"text": help},
        "defaultConfiguration": {"level": default_level(r.name)},
    })
}

/// A file's whole fix as one SARIF fix object.
fn fix_json(r: &FileResult, src: &Source) -> Value {
    let replacements: Vec<Value> = edit::sorted(&r.out.edits)
        .iter()
        .map(|e| {
            let (sl, sc) = src.line_col(e.range.start);
            let (el, ec) = src.line_col(e.range.end);
            json!({
                "deletedRegion": {"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec},
                "insertedContent": {"text": e.text},
            })
        })
        .collect();
    json!({
        "description": {"text": format!("Apply `harden fix` to {}", r.display)},
        "artifactChanges": [{
            "artifactLocation": artifact(&r.display),
            "replacements": replacements,
        }],
    })
}

fn results_json(results: &[FileResult]) -> Vec<Value> {
    let mut out = Vec::new();
    for r in results {
        let mut fix = match (&r.source, &r.fixed) {
            (Some(src), Some(_)) if !r.out.edits.is_empty() => Some(fix_json(r, src)),
            _ => None,
        };
        // The fix goes on the first fixable finding, else on the first one.
        let carrier = r.out.findings.iter().position(|f| f.fixable).unwrap_or(0);
        for (i, f) in r.out.findings.iter().enumerate() {
            let mut res = Map::new();
            res.insert("ruleId".into(), json!(f.rule));
            if let Some(idx) = registered().iter().position(|x| x.name == f.rule) {
                res.insert("ruleIndex".into(), json!(idx));
            }
            res.insert("level".into(), json!(level(f.severity)));
            res.insert("message".into(), json!({"text": f.message}));
            res.insert(
                "locations".into(),
                json!([location(&r.display, f.line, f.col)]),
            );
            if i == carrier {
                if let Some(fx) = fix.take() {
                    res.insert("fixes".into(), json!([fx]));
                }
            }
            out.push(Value::Object(res));
        }
        // A program source harden edits for a finding of the Dockerfile
        // that runs it (`fix --canary`) has no finding of its own: its fix
        // is a note-level result there, so a viewer sees the changed file.
        if let (Some(fx), Some(src), Some(Kind::Source)) = (fix, &r.source, r.kind) {
            let note = r.out.notes.first();
            let rule = note.and_then(|n| n.rule).unwrap_or_default();
            let at = r.out.edits.first().map_or(0, |e| e.range.start);
            let (line, col) = src.line_col(at);
            let mut res = Map::new();
            res.insert("ruleId".into(), json!(rule));
            if let Some(idx) = registered().iter().position(|x| x.name == rule) {
                res.insert("ruleIndex".into(), json!(idx));
            }
            res.insert("level".into(), json!("note"));
            let text = note.map_or_else(String::new, |n| n.text.clone());
            res.insert("message".into(), json!({ "text": text }));
            res.insert("locations".into(), json!([location(&r.display, line, col)]));
            res.insert("fixes".into(), json!([fx]));
            out.push(Value::Object(res));
        }
    }
    out
}

pub fn document(results: &[FileResult]) -> Value {
    let mut driver = Map::new();
    driver.insert("name".into(), json!("harden"));
    driver.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    driver.insert("semanticVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    let repo = env!("CARGO_PKG_REPOSITORY");
    if !repo.is_empty() {
        driver.insert("informationUri".into(), json!(repo));
    }
    driver.insert(
        "rules".into(),
        Value::Array(registered().iter().map(rule_json).collect()),
    );
    let notifications: Vec<Value> = results
        .iter()
        .filter_map(|r| {
            let e = r.error.as_ref()?;
            Some(json!({
                "level": "error",
                "message": {"text": format!("{}: {}", r.display, e.message)},
                "locations": [location(&r.display, e.line, e.col)],
            }))
        })
        .collect();
    let mut doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": Value::Object(driver)},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results_json(results),
        }],
    });
    // The harden.toml in use, for whoever reads the report to see it.
    if let Some(c) = crate::config::in_use() {
        doc["runs"][0]["properties"] = json!({"config": c});
    }
    doc
}

/// The SARIF log, pretty-printed, with a final newline.
pub fn render(results: &[FileResult]) -> String {
    let mut s = serde_json::to_string_pretty(&document(results)).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::Edit;
    use crate::finding::Finding;
    use crate::finding::Output;

    fn result(findings: Vec<Finding>, edits: Vec<Edit>) -> FileResult {
        let text = "services:\n  web:\n    image: nginx\n";
        FileResult {
            path: "my app/compose.yaml".into(),
            display: "my app/compose.yaml".into(),
            kind: Some(crate::discover::Kind::Compose),
            source: Some(
                Source::new(
                    "my app/compose.yaml".into(),
                    "my app/compose.yaml".into(),
                    text.into(),
                )
                .into(),
            ),
            out: Output {
                findings,
                edits,
                ..Default::default()
            },
            fixed: Some(String::new()),
            error: None,
            more: false,
        }
    }

    #[test]
    fn fix_rides_on_the_first_fixable_finding() {
        let r = result(
            vec![
                Finding::new("privileged", 2, 3, "p").report_only(),
                Finding::new("writable-rootfs", 2, 3, "w"),
                Finding::new("new-privileges", 2, 3, "n"),
            ],
            vec![Edit::insert(34, "    read_only: true\n")],
        );
        let doc = document(&[r]);
        let results = doc["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(results.len(), 3);
        assert!(results[0].get("fixes").is_none());
        assert!(results[2].get("fixes").is_none());
        let rep = &results[1]["fixes"][0]["artifactChanges"][0]["replacements"][0];
        assert_eq!(
            rep["deletedRegion"],
            json!({"startLine": 4, "startColumn": 1, "endLine": 4, "endColumn": 1})
        );
        assert_eq!(rep["insertedContent"]["text"], "    read_only: true\n");
        let loc = &results[1]["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "my%20app/compose.yaml");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let idx = registered()
            .iter()
            .position(|x| x.name == "writable-rootfs")
            .map(|i| json!(i));
        assert_eq!(results[1].get("ruleIndex"), idx.as_ref());
    }

    #[test]
    fn absolute_paths_become_file_uris_and_errors_notifications() {
        let mut r = result(vec![], vec![]);
        r.display = "/srv/x y/Dockerfile".into();
        r.error = Some(crate::error::FileError {
            line: 2,
            col: 4,
            message: "bad".into(),
        });
        let doc = document(&[r]);
        let inv = &doc["runs"][0]["invocations"][0];
        assert_eq!(inv["executionSuccessful"], false);
        let n = &inv["toolExecutionNotifications"][0];
        assert_eq!(
            n["locations"][0]["physicalLocation"]["artifactLocation"],
            json!({"uri": "file:///srv/x%20y/Dockerfile"})
        );
        assert_eq!(
            n["locations"][0]["physicalLocation"]["region"]["startColumn"],
            4
        );
    }

    #[test]
    fn every_rule_is_described() {
        let doc = document(&[]);
        let rules = doc["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(rules.len(), registered().len());
        for r in &rules {
            assert!(r["shortDescription"]["text"]
                .as_str()
                .is_some_and(|s| !s.is_empty()));
            assert!(r["help"]["text"]
                .as_str()
                .is_some_and(|s| s.contains("harden")));
        }
    }
}
