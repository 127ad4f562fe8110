//! The invariants every fuzz target checks, shared with `tests/fuzz_corpus.rs`
//! (which includes this file by path) so that `cargo test` replays the seed
//! corpus through exactly the checks the fuzzer ran, on a stable toolchain.
//!
//! A failed invariant panics with a message saying which one: libFuzzer
//! reports that as a crash and keeps the input.

#![allow(dead_code)]

use harden::compose::tree::{self, Kind as NodeKind, Limits, Node};
use harden::discover::Kind;
use harden::source::Source;
use serde_json::Value;

/// Inputs beyond this are skipped: real files are far smaller, and a bound
/// keeps every execution short so a slow path shows up as a timeout.
pub const MAX_INPUT: usize = 64 * 1024;

/// The fuzz targets, by name (the name is also the corpus folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    DockerfileLexer,
    ComposeTree,
    FixCompose,
    FixDockerfile,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::DockerfileLexer,
        Target::ComposeTree,
        Target::FixCompose,
        Target::FixDockerfile,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::DockerfileLexer => "dockerfile_lexer",
            Target::ComposeTree => "compose_tree",
            Target::FixCompose => "fix_compose",
            Target::FixDockerfile => "fix_dockerfile",
        }
    }
}

/// Run one input through a target's checks; panics when one fails.
pub fn check(target: Target, data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    // harden refuses non-UTF-8 files before any parser sees them.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match target {
        Target::DockerfileLexer => dockerfile_lexer(text),
        Target::ComposeTree => compose_tree(text),
        Target::FixCompose => fix(Kind::Compose, text),
        Target::FixDockerfile => fix(Kind::Dockerfile, text),
    }
}

/// Every range the lexer reports lies inside the text on character
/// boundaries, because fixes slice and insert at those offsets.
fn dockerfile_lexer(text: &str) {
    let Ok(df) = harden::dockerfile::parse(text) else {
        return;
    };
    let ok = |r: &std::ops::Range<usize>| r.start <= r.end && text.get(r.clone()).is_some();
    for i in &df.instructions {
        assert!(
            ok(&i.range),
            "instruction range {:?} out of the text",
            i.range
        );
        assert!(
            i.args_start <= text.len() && text.is_char_boundary(i.args_start),
            "args_start {} is not a character boundary",
            i.args_start
        );
        for h in &i.heredocs {
            assert!(
                ok(&h.body) && ok(&h.terminator),
                "heredoc range out of the text"
            );
        }
    }
    for c in &df.comments {
        assert!(ok(&c.range), "comment range {:?} out of the text", c.range);
    }
    for s in &df.stages {
        assert!(
            s.instructions.end <= df.instructions.len() && s.from < df.instructions.len(),
            "stage {} points past the instructions",
            s.index
        );
    }
}

/// Spans are inside the text on character boundaries; the data converts to
/// JSON with and without merge keys (or fails with an error, never a panic).
fn compose_tree(text: &str) {
    let src = std::sync::Arc::new(Source::new(
        "fuzz.yml".into(),
        "fuzz.yml".into(),
        text.to_string(),
    ));
    let limits = Limits::default();
    let Ok(Some(doc)) = tree::parse(&src, &limits) else {
        return;
    };
    spans_ok(text, &doc.root, 0);
    let _ = doc.to_json(true, &limits);
    let _ = doc.to_json(false, &limits);
}

fn spans_ok(text: &str, node: &Node, depth: usize) {
    assert!(depth <= 300, "tree deeper than the depth limit");
    assert!(
        node.start() <= node.end() && text.get(node.start()..node.end()).is_some(),
        "node span {}..{} is not a slice of the text",
        node.start(),
        node.end()
    );
    match &node.kind {
        NodeKind::Seq { items, .. } => items.iter().for_each(|n| spans_ok(text, n, depth + 1)),
        NodeKind::Map { entries, .. } => entries.iter().for_each(|e| {
            spans_ok(text, &e.key, depth + 1);
            spans_ok(text, &e.value, depth + 1);
        }),
        NodeKind::Scalar { .. } | NodeKind::Alias { .. } => {}
    }
}

/// The whole fix pipeline: when a fix succeeds its output parses, keeps
/// every value the author wrote (except the documented rewrites), is pure
/// line insertion for Dockerfiles, and a second fix changes nothing.
fn fix(kind: Kind, text: &str) {
    let name = match kind {
        Kind::Compose => "compose.yaml",
        Kind::Dockerfile => "Dockerfile",
        // A program's source is only edited from the Dockerfile that runs it.
        Kind::Source => return,
    };
    let Ok(Some(fixed)) = harden::run::fix_one(kind, name, text.to_string()) else {
        return;
    };
    match kind {
        Kind::Compose => {
            let before = compose_data(text).expect("the input parsed once already");
            let after = compose_data(&fixed)
                .unwrap_or_else(|e| panic!("the fixed file does not parse: {e}\n{fixed}"));
            if let Err(e) = contained(&before, &after, &mut Vec::new()) {
                panic!("the fix lost data: {e}\n--- before\n{text}\n--- after\n{fixed}");
            }
        }
        Kind::Source => {}
        Kind::Dockerfile => {
            if let Err(e) = harden::dockerfile::parse(&fixed) {
                panic!("the fixed Dockerfile does not lex: {e}\n{fixed}");
            }
            assert!(
                is_pure_insertion(text, &fixed),
                "a Dockerfile fix must only insert lines\n--- before\n{text}\n--- after\n{fixed}"
            );
        }
    }
    if text.contains("\r\n") && !text.replace("\r\n", "").contains('\n') {
        assert_eq!(
            fixed.matches('\n').count(),
            fixed.matches("\r\n").count(),
            "a CRLF file gained LF line endings\n{fixed}"
        );
    }
    match harden::run::fix_one(kind, name, fixed.clone()) {
        Ok(None) => {}
        Ok(Some(again)) => {
            panic!("a second fix changes the file\n--- first\n{fixed}\n--- second\n{again}")
        }
        Err(e) => panic!(
            "a second fix fails ({}:{}: {})\n{fixed}",
            e.line, e.col, e.message
        ),
    }
}

/// The data as written (merge keys kept as plain keys), as JSON.
pub fn compose_data(text: &str) -> Result<Value, String> {
    let src = std::sync::Arc::new(Source::new(
        "c.yml".into(),
        "c.yml".into(),
        text.to_string(),
    ));
    let limits = Limits::default();
    match tree::parse(&src, &limits) {
        Ok(Some(doc)) => doc.to_json(false, &limits).map_err(|e| e.to_string()),
        Ok(None) => Ok(Value::Null),
        Err(e) => Err(e.to_string()),
    }
}

/// `old` is contained in `new`: mappings keep their keys, sequences keep
/// their items in order (new ones may be interleaved), scalars are equal;
/// except the rewrites README.md documents: `read_only` becomes `true`, a
/// `no-new-privileges` that is off becomes `no-new-privileges:true`, a
/// scalar that must grow becomes a list starting with it, and an empty value
/// is filled in.
pub fn contained(old: &Value, new: &Value, at: &mut Vec<String>) -> Result<(), String> {
    fn here(at: &[String]) -> String {
        format!("/{}", at.join("/"))
    }
    match (old, new) {
        (Value::Null, _) => Ok(()),
        (_, Value::Bool(true)) if at.last().is_some_and(|k| k == "read_only") => Ok(()),
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let Some(w) = b.get(k) else {
                    return Err(format!("{}/{k} was lost", here(at)));
                };
                at.push(k.clone());
                let r = contained(v, w, at);
                at.pop();
                r?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => {
            let mut rest = b.iter();
            for (i, v) in a.iter().enumerate() {
                at.push(i.to_string());
                let found = rest.any(|w| contained(v, w, at).is_ok());
                at.pop();
                if !found {
                    return Err(format!("{}/{i} was lost or reordered", here(at)));
                }
            }
            Ok(())
        }
        (Value::String(s), Value::String(t))
            if nnp_off(s) && t.eq_ignore_ascii_case("no-new-privileges:true") =>
        {
            Ok(())
        }
        (a, Value::Array(b)) if !a.is_array() && !a.is_object() && b.first() == Some(a) => Ok(()),
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{} changed from {a} to {b}", here(at))),
    }
}

fn nnp_off(s: &str) -> bool {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let s = s.to_ascii_lowercase();
    matches!(
        s.strip_prefix("no-new-privileges"),
        Some(":false" | "=false" | ":0" | "=0")
    )
}

/// Every line of `old` appears in `new`, byte for byte and in order (the last
/// line may gain a line ending when lines are appended after it; a final
/// bare CR then becomes a CRLF).
pub fn is_pure_insertion(old: &str, new: &str) -> bool {
    let mut new_lines = new.split_inclusive('\n');
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    for (i, l) in old_lines.iter().enumerate() {
        let last = i + 1 == old_lines.len();
        loop {
            let Some(n) = new_lines.next() else {
                return false;
            };
            let gained_eol = n
                .strip_suffix('\n')
                .is_some_and(|m| m == *l || m.strip_suffix('\r') == Some(l));
            if n == *l || (last && !l.ends_with('\n') && gained_eol) {
                break;
            }
        }
    }
    true
}
