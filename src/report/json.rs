//! `check --format json`: one versioned document (schema:
//! docs/json-schema/check-v1.json). Version 1 only ever gains optional
//! fields; anything that would break a reader gets a new version number.

use crate::discover::Kind;
use crate::edit::Edit;
use crate::engine::FileResult;
use crate::finding::{Finding, Note, NoteKind};
use crate::report::{write_pretty, PrettySeq};
use crate::source::Source;
use serde::ser::{Serialize, Serializer};
use std::io::{self, Write};

/// The schema version this module writes.
pub const VERSION: u32 = 1;

pub fn kind_name(kind: Option<Kind>) -> Option<&'static str> {
    match kind {
        Some(Kind::Compose) => Some("compose"),
        Some(Kind::Dockerfile) => Some("dockerfile"),
        Some(Kind::Source) => Some("source"),
        None => None,
    }
}

/// A sequence written from a slice, each member as `f` makes it.
struct Each<'a, T, F>(&'a [T], F);

fn each<'a, T, S: Serialize, F: Fn(&'a T) -> S>(items: &'a [T], f: F) -> Each<'a, T, F> {
    Each(items, f)
}

impl<'a, T, S: Serialize, F: Fn(&'a T) -> S> Serialize for Each<'a, T, F> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        s.collect_seq(self.0.iter().map(&self.1))
    }
}

// Fields in key order: the report has always listed keys sorted.

/// One edit with byte offsets (for programs) and 1-based line/column in
/// characters, the end exclusive (for people and SARIF).
#[derive(serde::Serialize)]
pub struct EditJson<'a> {
    end: usize,
    end_col: usize,
    end_line: usize,
    start: usize,
    start_col: usize,
    start_line: usize,
    text: &'a str,
}

pub fn edit_json<'a>(src: &Source, e: &'a Edit) -> EditJson<'a> {
    let (start_line, start_col) = src.line_col(e.range.start);
    let (end_line, end_col) = src.line_col(e.range.end);
    EditJson {
        end: e.range.end,
        end_col,
        end_line,
        start: e.range.start,
        start_col,
        start_line,
        text: &e.text,
    }
}

#[derive(serde::Serialize)]
struct ErrorJson<'a> {
    col: usize,
    line: usize,
    message: &'a str,
}

#[derive(serde::Serialize)]
struct FindingJson<'a> {
    col: usize,
    fixable: bool,
    line: usize,
    message: &'a str,
    rule: &'a str,
    severity: &'static str,
}

fn finding_json(f: &Finding) -> FindingJson<'_> {
    FindingJson {
        col: f.col,
        fixable: f.fixable,
        line: f.line,
        message: &f.message,
        rule: f.rule,
        severity: f.severity.as_str(),
    }
}

#[derive(serde::Serialize)]
struct SharedJson<'a> {
    key: &'a str,
    text: &'a str,
}

#[derive(serde::Serialize)]
struct NoteJson<'a> {
    kind: NoteKind,
    rule: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared: Option<SharedJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    short: Option<std::borrow::Cow<'a, str>>,
    subject: &'a str,
    text: &'a str,
}

fn note_json(n: &Note) -> NoteJson<'_> {
    NoteJson {
        kind: n.kind,
        rule: n.rule,
        shared: n.shared.as_ref().map(|s| SharedJson {
            key: &s.key,
            text: &s.text,
        }),
        short: n.short.as_ref().map(|_| n.line()),
        subject: &n.subject,
        text: &n.text,
    }
}

/// A file's fix: its edits in file order.
struct FixJson<'a> {
    src: &'a Source,
    edits: Vec<&'a Edit>,
}

impl Serialize for FixJson<'_> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("edits", &each(&self.edits, |e| edit_json(self.src, e)))?;
        m.end()
    }
}

/// The edits in file order (stable: insertions at one place keep theirs).
pub fn sorted(edits: &[Edit]) -> Vec<&Edit> {
    let mut v: Vec<&Edit> = edits.iter().collect();
    v.sort_by_key(|e| (e.range.start, e.range.end));
    v
}

/// One file as the report gives it.
struct FileJson<'a>(&'a FileResult);

impl Serialize for FileJson<'_> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        use serde::ser::SerializeMap;
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "error",
            &r.error.as_ref().map(|e| ErrorJson {
                col: e.col,
                line: e.line,
                message: &e.message,
            }),
        )?;
        m.serialize_entry("findings", &each(&r.out.findings, finding_json))?;
        let fix = match (&r.source, &r.fixed) {
            (Some(src), Some(_)) => Some(FixJson {
                src,
                edits: sorted(&r.out.edits),
            }),
            _ => None,
        };
        m.serialize_entry("fix", &fix)?;
        drop(fix);
        m.serialize_entry("kind", &kind_name(r.kind))?;
        // Where harden's knowledge of each service comes from, and the
        // images it could not learn about: a bot can open pull requests
        // only for the services harden knows.
        if !r.out.knowledge.is_empty() {
            m.serialize_entry(
                "knowledge",
                &each(&r.out.knowledge, |(subject, k)| KnowledgeJson {
                    source: k.label(),
                    subject,
                }),
            )?;
        }
        m.serialize_entry("notes", &each(&r.out.notes, note_json))?;
        m.serialize_entry("path", &r.display)?;
        if !r.out.unknown_images.is_empty() {
            m.serialize_entry(
                "unknown_images",
                &each(&r.out.unknown_images, |u| UnknownJson {
                    image: &u.image,
                    reasons: &u.reasons,
                    service: &u.service,
                    skipped: u.skipped,
                }),
            )?;
        }
        m.end()
    }
}

#[derive(serde::Serialize)]
struct KnowledgeJson<'a> {
    source: String,
    subject: &'a str,
}

#[derive(serde::Serialize)]
struct UnknownJson<'a> {
    image: &'a str,
    reasons: &'a [String],
    service: &'a str,
    skipped: bool,
}

/// Counts over all files, as the text summary gives them.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    changed: usize,
    checked: usize,
    errors: usize,
    files: usize,
    findings: usize,
    fixable: usize,
    with_findings: usize,
}

impl Summary {
    pub fn add(&mut self, r: &FileResult) {
        self.files += 1;
        if r.error.is_none() {
            self.checked += 1;
        } else {
            self.errors += 1;
        }
        if !r.out.findings.is_empty() {
            self.with_findings += 1;
        }
        self.findings += r.out.findings.len();
        self.fixable += r.out.findings.iter().filter(|f| f.fixable).count();
        if r.fixed.is_some() {
            self.changed += 1;
        }
    }
}

#[derive(serde::Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

/// The report written as the files come: the head, then each file where it
/// goes in the document, then the summary. Nothing of a file is kept once
/// it is written but its counts.
pub struct Stream {
    files: PrettySeq,
    summary: Summary,
}

impl Stream {
    /// The document's opening, up to its list of files.
    pub fn start(w: &mut impl Write) -> io::Result<Stream> {
        w.write_all(b"{\n")?;
        if let Some(c) = crate::config::in_use() {
            w.write_all(b"  \"config\": ")?;
            write_pretty(w, c, 1)?;
            w.write_all(b",\n")?;
        }
        w.write_all(b"  \"files\": ")?;
        Ok(Stream {
            files: PrettySeq::start(w, 1)?,
            summary: Summary::default(),
        })
    }

    pub fn file(&mut self, w: &mut impl Write, r: &FileResult) -> io::Result<()> {
        self.summary.add(r);
        self.files.item(w, &FileJson(r))
    }

    /// The summary and the rest, with a final newline.
    pub fn finish(self, w: &mut impl Write) -> io::Result<()> {
        self.files.end(w)?;
        w.write_all(b",\n  \"summary\": ")?;
        write_pretty(w, &self.summary, 1)?;
        w.write_all(b",\n  \"tool\": ")?;
        let tool = Tool {
            name: "harden",
            version: env!("CARGO_PKG_VERSION"),
        };
        write_pretty(w, &tool, 1)?;
        write!(w, ",\n  \"version\": {VERSION}\n}}\n")
    }
}

/// The document, pretty-printed, with a final newline.
pub fn render(results: &[FileResult]) -> String {
    let mut out = Vec::new();
    let written = Stream::start(&mut out).and_then(|mut s| {
        for r in results {
            s.file(&mut out, r)?;
        }
        s.finish(&mut out)
    });
    // Writing to memory does not fail.
    debug_assert!(written.is_ok());
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn document(results: &[FileResult]) -> Value {
        serde_json::from_str(&render(results)).unwrap_or_default()
    }
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
