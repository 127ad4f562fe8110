//! `check --format json`: one versioned document (schema:
//! docs/json-schema/check-v1.json). Version 1 only ever gains optional
//! fields; anything that would break a reader gets a new version number.

use crate::discover::Kind;
use crate::edit;
use crate::engine::FileResult;
use crate::source::Source;
use serde_json::{json, Value};

/// The schema version this module writes.
pub const VERSION: u32 = 1;

pub fn kind_name(kind: Option<Kind>) -> Value {
    match kind {
        Some(Kind::Compose) => json!("compose"),
        Some(Kind::Dockerfile) => json!("dockerfile"),
        Some(Kind::Source) => json!("source"),
        None => Value::Null,
    }
}

/// One edit with byte offsets (for programs) and 1-based line/column in
/// characters, the end exclusive (for people and SARIF).
pub fn edit_json(src: &Source, e: &edit::Edit) -> Value {
    let (start_line, start_col) = src.line_col(e.range.start);
    let (end_line, end_col) = src.line_col(e.range.end);
    json!({
        "start": e.range.start,
        "end": e.range.end,
        "start_line": start_line,
        "start_col": start_col,
        "end_line": end_line,
        "end_col": end_col,
        "text": e.text,
    })
}

fn file_json(r: &FileResult) -> Value {
    let error = r.error.as_ref().map_or(
        Value::Null,
        |e| json!({"line": e.line, "col": e.col, "message": e.message}),
    );
    let findings: Vec<Value> = r
        .out
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "line": f.line,
                "col": f.col,
                "message": f.message,
                "fixable": f.fixable,
            })
        })
        .collect();
    let notes: Vec<Value> = r
        .out
        .notes
        .iter()
        .map(|n| {
            let mut note =
                json!({"subject": n.subject, "rule": n.rule, "kind": n.kind, "text": n.text});
            if n.short.is_some() {
                note["short"] = json!(n.line());
            }
            if let Some(s) = &n.shared {
                note["shared"] = json!({"key": s.key, "text": s.text});
            }
            note
        })
        .collect();
    let fix = match (&r.source, &r.fixed) {
        (Some(src), Some(_)) => json!({
            "edits": edit::sorted(&r.out.edits)
                .iter()
                .map(|e| edit_json(src, e))
                .collect::<Vec<_>>()
        }),
        _ => Value::Null,
    };
    let mut file = json!({
        "path": r.display,
        "kind": kind_name(r.kind),
        "error": error,
        "findings": findings,
        "notes": notes,
        "fix": fix,
    });
    // Where harden's knowledge of each service comes from, and the images
    // it could not learn about: a bot can open pull requests only for the
    // services harden knows.
    if !r.out.knowledge.is_empty() {
        file["knowledge"] = r
            .out
            .knowledge
            .iter()
            .map(|(subject, k)| json!({"subject": subject, "source": k.label()}))
            .collect();
    }
    if !r.out.unknown_images.is_empty() {
        file["unknown_images"] = r
            .out
            .unknown_images
            .iter()
            .map(|u| {
                json!({
                    "service": u.service,
                    "image": u.image,
                    "reasons": u.reasons,
                    "skipped": u.skipped,
                })
            })
            .collect();
    }
    file
}

/// Counts over all files, as the text summary gives them.
pub fn summary_json(results: &[FileResult]) -> Value {
    let findings = results.iter().map(|r| r.out.findings.len()).sum::<usize>();
    let count = |p: &dyn Fn(&FileResult) -> bool| results.iter().filter(|r| p(r)).count();
    json!({
        "files": results.len(),
        "checked": count(&|r| r.error.is_none()),
        "errors": count(&|r| r.error.is_some()),
        "with_findings": count(&|r| !r.out.findings.is_empty()),
        "findings": findings,
        "fixable": results.iter().flat_map(|r| &r.out.findings).filter(|f| f.fixable).count(),
        "changed": count(&|r| r.fixed.is_some()),
    })
}

pub fn document(results: &[FileResult]) -> Value {
    let mut doc = json!({
        "version": VERSION,
        "tool": {"name": "harden", "version": env!("CARGO_PKG_VERSION")},
        "files": results.iter().map(file_json).collect::<Vec<_>>(),
        "summary": summary_json(results),
    });
    if let Some(c) = crate::config::in_use() {
        doc["config"] = json!(c);
    }
    doc
}

/// The document, pretty-printed, with a final newline.
pub fn render(results: &[FileResult]) -> String {
    super::pretty_json(&document(results))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::Edit;
    use crate::finding::Finding;
    use crate::finding::Output;

    #[test]
    fn edits_carry_bytes_and_character_positions() {
        let text = "a: é\nservices:\n";
        let src = Source::new("c.yml".into(), "c.yml".into(), text.into());
        let at = text.find("services").unwrap_or(0);
        let r = FileResult {
            path: "c.yml".into(),
            display: "c.yml".into(),
            kind: Some(Kind::Compose),
            source: Some(src.into()),
            out: Output {
                findings: vec![Finding::new("writable-rootfs", 2, 1, "m")],
                edits: vec![Edit::replace(3..5, "e"), Edit::insert(at, "x\n")],
                ..Default::default()
            },
            fixed: Some(String::new()),
            error: None,
            more: false,
        };
        let doc = document(&[r]);
        let edits = &doc["files"][0]["fix"]["edits"];
        assert_eq!(
            edits[0],
            json!({"start": 3, "end": 5, "start_line": 1, "start_col": 4, "end_line": 1, "end_col": 5, "text": "e"})
        );
        assert_eq!(edits[1]["start_line"], 2);
        assert_eq!(edits[1]["start_col"], 1);
        assert_eq!(doc["summary"]["findings"], 1);
        assert_eq!(doc["summary"]["changed"], 1);
        assert_eq!(doc["files"][0]["kind"], "compose");
        assert_eq!(doc["version"], 1);
    }

    #[test]
    fn an_unreadable_file_has_an_error_and_no_fix() {
        let r = FileResult {
            path: "x".into(),
            display: "x".into(),
            kind: None,
            source: None,
            out: Output::default(),
            fixed: None,
            error: Some(crate::error::FileError {
                line: 3,
                col: 7,
                message: "bad".into(),
            }),
            more: false,
        };
        let doc = document(&[r]);
        assert_eq!(
            doc["files"][0]["error"],
            json!({"line": 3, "col": 7, "message": "bad"})
        );
        assert_eq!(doc["files"][0]["fix"], Value::Null);
        assert_eq!(doc["files"][0]["kind"], Value::Null);
        assert_eq!(doc["summary"]["errors"], 1);
        assert!(render(&[]).ends_with("}\n"));
    }
}
