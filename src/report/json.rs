//! `check --format json`: one versioned document (schema:
//! docs/json-schema/check-v1.json). Version 1 only ever gains optional
//! fields; anything that would break a reader gets a new version number.

use crate::discover::Kind;
use crate::edit::Edit;
use crate::engine::FileResult;
use crate::finding::{Finding, Knowledge, Note, NoteKind, UnknownImage};
use crate::report::{write_pretty, PrettyMap, PrettySeq};
use crate::source::Source;
use serde::ser::{Serialize, Serializer};
use std::io::{self, Seek, Write};

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

fn knowledge_json((subject, k): &(String, Knowledge)) -> KnowledgeJson<'_> {
    KnowledgeJson {
        source: k.label(),
        subject,
    }
}

fn unknown_json(u: &UnknownImage) -> UnknownJson<'_> {
    UnknownJson {
        image: &u.image,
        reasons: &u.reasons,
        service: &u.service,
        skipped: u.skipped,
    }
}

/// A large file's lists are spooled in memory up to this size each, on
/// disk past it (four at once, while the engine holds the file's trees).
const SPOOL_IN_MEMORY: usize = 256 << 10;

/// One list of a file's object, written as the file's parts come
/// ([`FileResult::more`]): its members so far are spooled, since the
/// object's keys come in key order (`error`, known last, first).
struct List {
    spool: tempfile::SpooledTempFile,
    seq: PrettySeq,
}

impl List {
    fn new() -> io::Result<List> {
        let mut spool = tempfile::spooled_tempfile(SPOOL_IN_MEMORY);
        // A file's lists sit three levels deep: files, file, key.
        let seq = PrettySeq::start(&mut spool, 3)?;
        Ok(List { spool, seq })
    }

    fn extend<T: Serialize>(&mut self, items: impl Iterator<Item = T>) -> io::Result<()> {
        let mut w = io::BufWriter::with_capacity(1 << 16, &mut self.spool);
        for x in items {
            self.seq.item(&mut w, &x)?;
        }
        w.flush()
    }

    fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// The members spooled, then `rest`.
    fn finish<T: Serialize>(
        mut self,
        w: &mut impl Write,
        rest: impl Iterator<Item = T>,
    ) -> io::Result<()> {
        self.spool.seek(io::SeekFrom::Start(0))?;
        io::copy(&mut self.spool, w)?;
        for x in rest {
            self.seq.item(w, &x)?;
        }
        self.seq.end(w)
    }
}

/// A large file's findings, notes, knowledge and unknown images from the
/// parts that came before its own result.
struct Parts {
    findings: List,
    knowledge: List,
    notes: List,
    unknown_images: List,
}

impl Parts {
    fn new() -> io::Result<Parts> {
        Ok(Parts {
            findings: List::new()?,
            knowledge: List::new()?,
            notes: List::new()?,
            unknown_images: List::new()?,
        })
    }

    fn add(&mut self, r: &FileResult) -> io::Result<()> {
        self.findings
            .extend(r.out.findings.iter().map(finding_json))?;
        self.knowledge
            .extend(r.out.knowledge.iter().map(knowledge_json))?;
        self.notes.extend(r.out.notes.iter().map(note_json))?;
        self.unknown_images
            .extend(r.out.unknown_images.iter().map(unknown_json))
    }
}

/// A list of the file's object: what its parts spooled, then `items`.
fn list<'a, T, S: Serialize>(
    w: &mut impl Write,
    spooled: Option<List>,
    items: &'a [T],
    f: impl Fn(&'a T) -> S,
) -> io::Result<()> {
    match spooled {
        Some(l) => l.finish(w, items.iter().map(f)),
        None => write_pretty(w, &each(items, f), 3),
    }
}

/// One file as the report gives it, keys in key order, after the lists
/// its parts spooled, if any.
fn write_file(w: &mut impl Write, r: &FileResult, parts: Option<Parts>) -> io::Result<()> {
    let (mut findings, mut knowledge, mut notes, mut unknown) = (None, None, None, None);
    if let Some(p) = parts {
        findings = Some(p.findings);
        knowledge = Some(p.knowledge).filter(|l| !l.is_empty());
        notes = Some(p.notes);
        unknown = Some(p.unknown_images).filter(|l| !l.is_empty());
    }
    let mut m = PrettyMap::start(w, 2)?;
    let error = r.error.as_ref().map(|e| ErrorJson {
        col: e.col,
        line: e.line,
        message: &e.message,
    });
    m.entry(w, "error", &error)?;
    m.key(w, "findings")?;
    list(w, findings, &r.out.findings, finding_json)?;
    let fix = match (&r.source, &r.fixed) {
        (Some(src), Some(_)) => Some(FixJson {
            src,
            edits: sorted(&r.out.edits),
        }),
        _ => None,
    };
    m.entry(w, "fix", &fix)?;
    drop(fix);
    m.entry(w, "kind", &kind_name(r.kind))?;
    // Where harden's knowledge of each service comes from, and the images
    // it could not learn about: a bot can open pull requests only for the
    // services harden knows.
    if knowledge.is_some() || !r.out.knowledge.is_empty() {
        m.key(w, "knowledge")?;
        list(w, knowledge, &r.out.knowledge, knowledge_json)?;
    }
    m.key(w, "notes")?;
    list(w, notes, &r.out.notes, note_json)?;
    m.entry(w, "path", &r.display)?;
    if unknown.is_some() || !r.out.unknown_images.is_empty() {
        m.key(w, "unknown_images")?;
        list(w, unknown, &r.out.unknown_images, unknown_json)?;
    }
    m.end(w)
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
    /// The file whose results are coming in parts had findings already.
    #[serde(skip)]
    open_with_findings: bool,
}

impl Summary {
    /// Count a file's result, or a part of it (`more`): a file counts
    /// once, when its own result comes.
    pub fn add(&mut self, r: &FileResult) {
        self.findings += r.out.findings.len();
        self.fixable += r.out.findings.iter().filter(|f| f.fixable).count();
        let any = std::mem::take(&mut self.open_with_findings) || !r.out.findings.is_empty();
        if r.more {
            self.open_with_findings = any;
            return;
        }
        self.files += 1;
        if r.error.is_none() {
            self.checked += 1;
        } else {
            self.errors += 1;
        }
        self.with_findings += usize::from(any);
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
/// it is written but its counts; a large file's parts are spooled until
/// its own result comes.
pub struct Stream {
    files: PrettySeq,
    summary: Summary,
    parts: Option<Parts>,
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
            parts: None,
        })
    }

    /// A file's result, or a part of it (`more`), which is kept aside
    /// until the file's own result comes. `refused`: the file's fix was
    /// refused, and its parts' notes, knowledge and unknown images with it
    /// (its findings stand).
    pub fn file(&mut self, w: &mut impl Write, r: &FileResult, refused: bool) -> io::Result<()> {
        self.summary.add(r);
        if r.more {
            let parts = match &mut self.parts {
                Some(p) => p,
                None => self.parts.insert(Parts::new()?),
            };
            return parts.add(r);
        }
        let mut parts = self.parts.take();
        if refused {
            if let Some(p) = &mut parts {
                p.knowledge = List::new()?;
                p.notes = List::new()?;
                p.unknown_images = List::new()?;
            }
        }
        self.files.item_with(w, |w| write_file(w, r, parts))
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
            s.file(&mut out, r, false)?;
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

    /// A file with findings, notes, knowledge and an unknown image each.
    fn full(n: usize) -> FileResult {
        let text = "services:\n  web:\n    image: app\n";
        let src = Source::new("c.yml".into(), "c.yml".into(), text.into());
        let mut out = Output::default();
        for i in 0..n {
            let subject = format!("service s{i}");
            out.findings
                .push(Finding::new("writable-rootfs", i + 1, 1, format!("m{i}")));
            out.note(&subject, "writable-rootfs", format!("n{i}"));
            out.knowledge.push((subject.clone(), Knowledge::Unknown));
            out.unknown_images.push(UnknownImage {
                service: format!("s{i}"),
                image: "app".into(),
                reasons: vec!["offline".into()],
                skipped: false,
            });
        }
        out.edits.push(Edit::insert(text.len(), "x\n"));
        FileResult {
            path: "c.yml".into(),
            display: "c.yml".into(),
            kind: Some(Kind::Compose),
            source: Some(src.into()),
            out,
            fixed: Some(String::new()),
            error: None,
            more: false,
        }
    }

    /// `whole` cut in two parts and the file's own result, as the engine
    /// hands on a large file.
    fn in_parts(whole: &FileResult) -> Vec<FileResult> {
        let cut = |from: usize, to: usize, more: bool| {
            let o = &whole.out;
            FileResult {
                path: whole.path.clone(),
                display: whole.display.clone(),
                kind: whole.kind,
                source: whole.source.clone(),
                out: Output {
                    findings: o.findings[from..to].to_vec(),
                    notes: o.notes[from..to].to_vec(),
                    knowledge: o.knowledge[from..to].to_vec(),
                    unknown_images: o.unknown_images[from..to].to_vec(),
                    edits: if more { Vec::new() } else { o.edits.clone() },
                    ..Output::default()
                },
                fixed: if more { None } else { whole.fixed.clone() },
                error: None,
                more,
            }
        };
        vec![cut(0, 2, true), cut(2, 3, true), cut(3, 5, false)]
    }

    #[test]
    fn a_file_in_parts_is_written_as_the_whole_file() {
        let mut parted = vec![full(1)];
        parted.extend(in_parts(&full(5)));
        parted.push(full(1));
        assert_eq!(render(&[full(1), full(5), full(1)]), render(&parted));
        let parted = in_parts(&full(5));
        let doc = document(&parted);
        assert_eq!(doc["summary"]["files"], 1);
        assert_eq!(doc["summary"]["with_findings"], 1);
        assert_eq!(doc["summary"]["findings"], 5);
        assert_eq!(doc["files"][0]["notes"].as_array().map(Vec::len), Some(5));
    }

    /// A refused fix keeps the findings of the parts before it, and loses
    /// their notes, knowledge and unknown images, as the whole file does.
    #[test]
    fn a_refused_fix_voids_the_notes_of_its_parts() {
        let mut parted = in_parts(&full(5));
        let last = parted.pop().unwrap();
        let refused = FileResult {
            out: Output {
                findings: last.out.findings,
                ..Output::default()
            },
            fixed: None,
            ..last
        };
        let mut out = Vec::new();
        let mut s = Stream::start(&mut out).unwrap();
        for r in &parted {
            s.file(&mut out, r, false).unwrap();
        }
        s.file(&mut out, &refused, true).unwrap();
        s.finish(&mut out).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        let file = &doc["files"][0];
        assert_eq!(file["findings"].as_array().map(Vec::len), Some(5));
        assert_eq!(file["notes"], json!([]));
        assert_eq!(file["knowledge"], Value::Null);
        assert_eq!(file["unknown_images"], Value::Null);
        assert_eq!(file["fix"], Value::Null);
    }
}
