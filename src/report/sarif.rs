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
use crate::finding::{Finding, Severity};
use crate::registry::{rules as registered, RuleMeta};
use crate::report::text::fix_help;
use crate::report::{write_pretty, PrettySeq};
use crate::source::Source;
use serde::{Serialize, Serializer};
use std::io::{self, Seek, Write};

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

// Fields in key order: the log has always listed keys sorted.

/// Where a file is: relative to the source root, or an absolute file URI
/// when harden was pointed outside the working directory.
#[derive(Serialize)]
struct Artifact {
    uri: String,
    #[serde(rename = "uriBaseId", skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

fn artifact(display: &str) -> Artifact {
    if display.starts_with('/') {
        Artifact {
            uri: format!("file://{}", uri_path(display)),
            uri_base_id: None,
        }
    } else {
        Artifact {
            uri: uri_path(display),
            uri_base_id: Some("%SRCROOT%"),
        }
    }
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_column: usize,
    start_line: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Physical,
}

fn location(display: &str, line: usize, col: usize) -> Location {
    Location {
        physical_location: Physical {
            artifact_location: artifact(display),
            region: Region {
                start_column: col.max(1),
                start_line: line.max(1),
            },
        },
    }
}

#[derive(Serialize)]
struct Level {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleJson<'a> {
    default_configuration: Level,
    full_description: Text<'a>,
    help: Text<'a>,
    id: &'a str,
    name: &'a str,
    short_description: Text<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletedRegion {
    end_column: usize,
    end_line: usize,
    start_column: usize,
    start_line: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement<'a> {
    deleted_region: DeletedRegion,
    inserted_content: Text<'a>,
}

/// A file's edits as SARIF replacements, in file order.
struct Replacements<'a> {
    src: &'a Source,
    edits: Vec<&'a edit::Edit>,
}

impl Serialize for Replacements<'_> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        s.collect_seq(self.edits.iter().map(|e| {
            let (sl, sc) = self.src.line_col(e.range.start);
            let (el, ec) = self.src.line_col(e.range.end);
            Replacement {
                deleted_region: DeletedRegion {
                    end_column: ec,
                    end_line: el,
                    start_column: sc,
                    start_line: sl,
                },
                inserted_content: Text { text: &e.text },
            }
        }))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange<'a> {
    artifact_location: Artifact,
    replacements: Replacements<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixJson<'a> {
    artifact_changes: [ArtifactChange<'a>; 1],
    description: Text<'a>,
}

/// A file's whole fix as one SARIF fix object.
struct Fix<'a> {
    description: String,
    r: &'a FileResult,
    src: &'a Source,
}

impl Serialize for Fix<'_> {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        FixJson {
            artifact_changes: [ArtifactChange {
                artifact_location: artifact(&self.r.display),
                replacements: Replacements {
                    src: self.src,
                    edits: crate::report::json::sorted(&self.r.out.edits),
                },
            }],
            description: Text {
                text: &self.description,
            },
        }
        .serialize(s)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    fixes: Option<[&'a Fix<'a>; 1]>,
    level: &'static str,
    locations: [Location; 1],
    message: Text<'a>,
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
}

fn rule_index(rule: &str) -> Option<usize> {
    registered().iter().position(|x| x.name == rule)
}

/// A file's fix, where it has one.
fn fix_of(r: &FileResult) -> Option<Fix<'_>> {
    match (&r.source, &r.fixed) {
        (Some(src), Some(_)) if !r.out.edits.is_empty() => Some(Fix {
            description: format!("Apply `harden fix` to {}", r.display),
            r,
            src,
        }),
        _ => None,
    }
}

/// One finding of the file `display` as a result, with the file's fix
/// where it rides on this finding.
fn result_json<'a>(display: &str, f: &'a Finding, fix: Option<&'a Fix<'a>>) -> ResultJson<'a> {
    ResultJson {
        fixes: fix.map(|x| [x]),
        level: level(f.severity),
        locations: [location(display, f.line, f.col)],
        message: Text { text: &f.message },
        rule_id: f.rule,
        rule_index: rule_index(f.rule),
    }
}

/// Writes one file's results, each as `item` lays it out; `carrier` is
/// the finding the fix rides on (by default the first fixable finding,
/// else the first one; `Some(None)`: none of these).
fn results_of(
    r: &FileResult,
    carrier: Option<Option<usize>>,
    item: &mut dyn FnMut(&ResultJson) -> io::Result<()>,
) -> io::Result<()> {
    let fix = fix_of(r);
    let mut fix = fix.as_ref();
    // The fix goes on the first fixable finding, else on the first one.
    let carrier =
        carrier.unwrap_or_else(|| Some(r.out.findings.iter().position(|f| f.fixable).unwrap_or(0)));
    for (i, f) in r.out.findings.iter().enumerate() {
        let rides = if Some(i) == carrier { fix.take() } else { None };
        item(&result_json(&r.display, f, rides))?;
    }
    // A program source harden edits for a finding of the Dockerfile
    // that runs it (`fix --canary`) has no finding of its own: its fix
    // is a note-level result there, so a viewer sees the changed file.
    if let (Some(fx), Some(src), Some(Kind::Source)) = (fix, &r.source, r.kind) {
        let note = r.out.notes.first();
        let rule = note.and_then(|n| n.rule).unwrap_or_default();
        let at = r.out.edits.first().map_or(0, |e| e.range.start);
        let (line, col) = src.line_col(at);
        item(&ResultJson {
            fixes: Some([fx]),
            level: "note",
            locations: [location(&r.display, line, col)],
            message: Text {
                text: note.map_or("", |n| n.text.as_str()),
            },
            rule_id: rule,
            rule_index: rule_index(rule),
        })?;
    }
    Ok(())
}

/// Results spooled in order, to be copied into the log after others.
struct Spooled {
    spool: io::BufWriter<tempfile::SpooledTempFile>,
    seq: PrettySeq,
}

impl Spooled {
    fn new() -> Spooled {
        Spooled {
            spool: io::BufWriter::with_capacity(
                1 << 16,
                tempfile::spooled_tempfile(HELD_IN_MEMORY),
            ),
            // Never the first of the log's results: the file's first
            // finding is written before them.
            seq: PrettySeq::continued(3),
        }
    }

    fn push(&mut self, x: &ResultJson) -> io::Result<()> {
        self.seq.item(&mut self.spool, x)
    }

    fn copy_to(self, w: &mut impl Write) -> io::Result<()> {
        let mut spool = self.spool.into_inner().map_err(|e| e.into_error())?;
        spool.seek(io::SeekFrom::Start(0))?;
        io::copy(&mut spool, w).map(|_| ())
    }
}

/// The findings of a large file from the parts before its own result
/// ([`FileResult::more`]). Its fix rides on its first fixable finding,
/// else its first, and is known only with its own result: those two are
/// held, the others spooled in order.
struct Held {
    first: Finding,
    /// The results after `first` and before the first fixable finding.
    between: Spooled,
    /// The first fixable finding after `first`.
    carrier: Option<Finding>,
    /// The results after the carrier (`first`, when it is fixable).
    after: Spooled,
}

impl Held {
    fn carries(&self) -> bool {
        self.first.fixable || self.carrier.is_some()
    }

    fn add(held: &mut Option<Held>, r: &FileResult) -> io::Result<()> {
        for f in &r.out.findings {
            let Some(h) = held else {
                *held = Some(Held {
                    first: f.clone(),
                    between: Spooled::new(),
                    carrier: None,
                    after: Spooled::new(),
                });
                continue;
            };
            if h.carries() {
                h.after.push(&result_json(&r.display, f, None))?;
            } else if f.fixable {
                h.carrier = Some(f.clone());
            } else {
                h.between.push(&result_json(&r.display, f, None))?;
            }
        }
        Ok(())
    }

    /// The file's results in order, its own result's last, the fix on
    /// the finding it rides on.
    fn finish(self, r: &FileResult, w: &mut impl Write, results: &mut PrettySeq) -> io::Result<()> {
        let fix = fix_of(r);
        let fix = fix.as_ref();
        let own_carrier = r.out.findings.iter().position(|f| f.fixable);
        let on_first = self.first.fixable || (self.carrier.is_none() && own_carrier.is_none());
        // The fix rides on a finding of the file's own result only where
        // none held is fixable and some of its own is.
        let own_carrier = own_carrier.filter(|_| !self.carries() && !on_first);
        results.item(
            w,
            &result_json(&r.display, &self.first, fix.filter(|_| on_first)),
        )?;
        self.between.copy_to(w)?;
        if let Some(c) = &self.carrier {
            results.item(w, &result_json(&r.display, c, fix))?;
        }
        self.after.copy_to(w)?;
        results_of(r, Some(own_carrier), &mut |x| results.item(w, x))
    }
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    locations: [Location; 1],
    message: Owned,
}

#[derive(Serialize)]
struct Owned {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation<'a> {
    execution_successful: bool,
    tool_execution_notifications: &'a [Notification],
}

#[derive(Serialize)]
struct Properties<'a> {
    config: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    information_uri: Option<&'static str>,
    name: &'static str,
    rules: Vec<RuleJson<'a>>,
    semantic_version: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

/// Results are known file by file, but the log says whether the run
/// succeeded (every file's error) before them: they are written to a
/// spool (in memory, on disk past a few MiB) as they come, and copied out
/// when the run ends, so no more than one file's results is held.
const SPOOL_IN_MEMORY: usize = 4 << 20;

/// A large file's results held back for its fix are spooled in memory up
/// to this size each, on disk past it (while the engine holds its trees).
const HELD_IN_MEMORY: usize = 256 << 10;

/// The log written as the files come.
pub struct Stream {
    spool: tempfile::SpooledTempFile,
    results: PrettySeq,
    notifications: Vec<Notification>,
    held: Option<Held>,
}

impl Stream {
    pub fn start() -> io::Result<Stream> {
        let mut spool = tempfile::spooled_tempfile(SPOOL_IN_MEMORY);
        let results = PrettySeq::start(&mut spool, 3)?;
        Ok(Stream {
            spool,
            results,
            notifications: Vec::new(),
            held: None,
        })
    }

    /// A file's result, or a part of it (`more`), whose findings are held
    /// until the file's own result comes.
    pub fn file(&mut self, r: &FileResult) -> io::Result<()> {
        if r.more {
            return Held::add(&mut self.held, r);
        }
        if let Some(e) = &r.error {
            self.notifications.push(Notification {
                level: "error",
                locations: [location(&r.display, e.line, e.col)],
                message: Owned {
                    text: format!("{}: {}", r.display, e.message),
                },
            });
        }
        let mut w = io::BufWriter::with_capacity(1 << 16, &mut self.spool);
        let results = &mut self.results;
        match self.held.take() {
            Some(held) => held.finish(r, &mut w, results)?,
            None => results_of(r, None, &mut |x| results.item(&mut w, x))?,
        }
        w.flush()
    }

    /// The whole log, with a final newline.
    pub fn finish(mut self, w: &mut impl Write) -> io::Result<()> {
        self.results.end(&mut self.spool)?;
        w.write_all(b"{\n  \"$schema\": ")?;
        write_pretty(w, SCHEMA, 1)?;
        w.write_all(b",\n  \"runs\": [\n    {\n      \"columnKind\": \"unicodeCodePoints\",\n      \"invocations\": ")?;
        let invocation = Invocation {
            execution_successful: self.notifications.is_empty(),
            tool_execution_notifications: &self.notifications,
        };
        write_pretty(w, &[invocation], 3)?;
        // The harden.toml in use, for whoever reads the report to see it.
        if let Some(config) = crate::config::in_use() {
            w.write_all(b",\n      \"properties\": ")?;
            write_pretty(w, &Properties { config }, 3)?;
        }
        w.write_all(b",\n      \"results\": ")?;
        self.spool.seek(io::SeekFrom::Start(0))?;
        io::copy(&mut self.spool, w)?;
        w.write_all(b",\n      \"tool\": ")?;
        let repo = env!("CARGO_PKG_REPOSITORY");
        let helps: Vec<String> = registered()
            .iter()
            .map(|r| {
                format!(
                    "{}\n\nFix: {}. See `harden explain {}`.",
                    r.explanation,
                    fix_help(r.name),
                    r.name
                )
            })
            .collect();
        let tool = Tool {
            driver: Driver {
                information_uri: Some(repo).filter(|r| !r.is_empty()),
                name: "harden",
                rules: registered()
                    .iter()
                    .zip(&helps)
                    .map(|(r, help)| rule_json(r, help))
                    .collect(),
                semantic_version: env!("CARGO_PKG_VERSION"),
                version: env!("CARGO_PKG_VERSION"),
            },
        };
        write_pretty(w, &tool, 3)?;
        w.write_all(b"\n    }\n  ],\n  \"version\": \"2.1.0\"\n}\n")
    }
}

fn rule_json<'a>(r: &'a RuleMeta, help: &'a str) -> RuleJson<'a> {
    RuleJson {
        default_configuration: Level {
            level: default_level(r.name),
        },
        full_description: Text {
            text: &r.explanation,
        },
        help: Text { text: help },
        id: r.name,
        name: r.name,
        short_description: Text { text: &r.summary },
    }
}

/// The SARIF log, pretty-printed, with a final newline.
pub fn render(results: &[FileResult]) -> String {
    let mut out = Vec::new();
    let written = Stream::start().and_then(|mut s| {
        for r in results {
            s.file(r)?;
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

    /// A file's findings, fixable as `fixable` says, handed on whole or
    /// cut at `cuts` into parts before the file's own result.
    fn cut(fixable: &[bool], cuts: &[usize]) -> Vec<FileResult> {
        let finding = |i: usize| {
            let f = Finding::new("writable-rootfs", i + 1, 1, format!("m{i}"));
            if fixable[i] {
                f
            } else {
                f.report_only()
            }
        };
        let mut bounds = vec![0];
        bounds.extend(cuts);
        bounds.push(fixable.len());
        let last = bounds.len() - 2;
        bounds
            .windows(2)
            .enumerate()
            .map(|(k, w)| {
                let more = k < last;
                let edits = if more {
                    Vec::new()
                } else {
                    vec![Edit::insert(0, "x\n")]
                };
                let mut r = result((w[0]..w[1]).map(finding).collect(), edits);
                r.more = more;
                if more {
                    r.fixed = None;
                }
                r
            })
            .collect()
    }

    /// The fix rides on the same finding whichever part it comes in.
    #[test]
    fn a_file_in_parts_is_logged_as_the_whole_file() {
        for fixable in [
            &[true, false, true, false][..],
            &[false, false, true, true],
            &[false, false, false, true],
            &[false, false, false, false],
        ] {
            let whole = render(&cut(fixable, &[]));
            for cuts in [&[1][..], &[2], &[1, 3], &[3]] {
                assert_eq!(
                    render(&cut(fixable, cuts)),
                    whole,
                    "{fixable:?} cut at {cuts:?}"
                );
            }
            let doc = document(&cut(fixable, &[1, 3]));
            let fixes = doc["runs"][0]["results"].as_array().map_or(0, |rs| {
                rs.iter().filter(|x| x.get("fixes").is_some()).count()
            });
            assert_eq!(fixes, 1, "{fixable:?}");
        }
    }
}
