//! Inserting the root canary into an entry module (`harden fix --canary`):
//! where the snippet goes in each language, the snippet itself (from
//! `templates/canary/insert/`) in the file's line endings and indentation,
//! and the re-check of the edited text. Like `compose::patch`, it reads a
//! text and returns byte-range insertions; it never touches a file. A place
//! it cannot find for sure is an error saying why, never a guess.

mod go;
mod java;

use crate::dockerfile::entry::Lang;
use crate::edit::Edit;

/// The comment that marks an inserted canary: a file that carries it is
/// seen as having one, so a second fix adds nothing.
pub const MARKER: &str = "harden: root canary";

/// The snippet inserted for a language. Its indentation unit is four
/// spaces (a tab for Go), re-indented to the file's own.
pub fn template(lang: Lang) -> &'static str {
    match lang {
        Lang::Python => include_str!("../../templates/canary/insert/python.py"),
        Lang::Node => include_str!("../../templates/canary/insert/node.js"),
        Lang::Go => include_str!("../../templates/canary/insert/go.go"),
        Lang::Java => include_str!("../../templates/canary/insert/java.java"),
        Lang::Sh => include_str!("../../templates/canary/insert/sh.sh"),
        Lang::Ruby => include_str!("../../templates/canary/insert/ruby.rb"),
    }
}

/// The insertion for one entry module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Pure insertions at line starts.
    pub edits: Vec<Edit>,
    /// The 1-based line of the original text the canary goes before (one
    /// past the last line at the end of the file).
    pub line: usize,
    /// Where, in words, for the notes: "after the module docstring".
    pub after: &'static str,
}

/// Where and what to insert so that `text` warns when it runs as uid 0.
pub fn insert(lang: Lang, text: &str) -> Result<Placed, String> {
    let lines = Lines::of(text);
    match lang {
        Lang::Go => go::insert(text, &lines),
        Lang::Java => java::insert(text, &lines),
        _ => {
            let (at, after) = header_end(lang, &lines)?;
            let block = block(lang, text, &lines, template(lang), "");
            Ok(Placed {
                edits: vec![around(text, &lines, at, &block)],
                line: at + 1,
                after,
            })
        }
    }
}

/// The edited text checked again: it carries the marker, and what must stay
/// first in the file (a shebang, an encoding line, a docstring, `from
/// __future__` imports, `'use strict'`, Go's imports) is still there, the
/// same, in its place. `Err` says what the insertion would break.
pub fn recheck(lang: Lang, old: &str, new: &str) -> Result<(), String> {
    if !new.lines().any(|l| l.contains(MARKER)) {
        return Err("the canary is not in the edited text".into());
    }
    match lang {
        Lang::Go => go::recheck(old, new),
        Lang::Java => java::recheck(old, new),
        _ => {
            let (old_lines, new_lines) = (Lines::of(old), Lines::of(new));
            let before = facts(lang, &old_lines)?;
            let after = facts(lang, &new_lines)?;
            if before != after {
                return Err(format!(
                    "the start of the file would change meaning ({})",
                    what_must_stay(lang)
                ));
            }
            Ok(())
        }
    }
}

fn what_must_stay(lang: Lang) -> &'static str {
    match lang {
        Lang::Python => "shebang, encoding line, module docstring, `from __future__` imports",
        Lang::Node => "shebang, `'use strict'`",
        Lang::Ruby => "shebang, magic comments",
        _ => "shebang",
    }
}

// ---------------------------------------------------------------------------
// Lines.

/// The lines of a text with their byte offsets, without line endings.
pub(crate) struct Lines<'a> {
    text: &'a str,
    /// (start, end without the line ending) of each line.
    spans: Vec<(usize, usize)>,
}

impl<'a> Lines<'a> {
    /// A byte order mark stays first: the first line starts after it.
    pub(crate) fn of(text: &'a str) -> Self {
        let mut spans = Vec::new();
        let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                let end = if i > start && text.as_bytes()[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                spans.push((start, end));
                start = i + 1;
            }
        }
        if start < text.len() || (spans.is_empty() && start > 0) {
            spans.push((start, text.len()));
        }
        Lines { text, spans }
    }

    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        let &(s, e) = self.spans.get(i)?;
        self.text.get(s..e)
    }

    /// The byte offset where line `i` starts (the text's end past the last).
    pub(crate) fn start(&self, i: usize) -> usize {
        self.spans.get(i).map_or(self.text.len(), |s| s.0)
    }

    pub(crate) fn is_blank(&self, i: usize) -> bool {
        self.get(i).is_some_and(|l| l.trim().is_empty())
    }
}

/// The indentation unit of a file: a tab, or the smallest run of leading
/// spaces (two or more) of an indented line that is not a comment; `None`
/// when no line is indented.
fn indent_unit(lines: &Lines<'_>) -> Option<String> {
    let mut smallest: Option<usize> = None;
    for i in 0..lines.len() {
        let line = lines.get(i).unwrap_or("");
        let t = line.trim();
        if t.is_empty() || t.starts_with(['*', '#', '/']) {
            continue;
        }
        if line.starts_with('\t') {
            return Some("\t".into());
        }
        let n = line.len() - line.trim_start_matches(' ').len();
        if n > 1 && smallest.is_none_or(|s| n < s) {
            smallest = Some(n);
        }
    }
    smallest.map(|n| " ".repeat(n))
}

/// The unit for a language's file that has no indented line yet.
fn default_unit(lang: Lang) -> &'static str {
    match lang {
        Lang::Node | Lang::Ruby => "  ",
        Lang::Go => "\t",
        _ => "    ",
    }
}

/// A template's text in the file's line ending, each of its indentation
/// steps (four spaces, or a tab) made the file's unit, and every line
/// indented by `base` first.
fn block(lang: Lang, text: &str, lines: &Lines<'_>, template: &str, base: &str) -> String {
    let eol = crate::source::eol_of(text);
    let unit = indent_unit(lines).unwrap_or_else(|| default_unit(lang).to_string());
    let mut out = String::new();
    for line in template.lines() {
        if line.trim().is_empty() {
            out.push_str(eol);
            continue;
        }
        let mut rest = line;
        let mut steps = 0;
        while let Some(r) = rest
            .strip_prefix("    ")
            .or_else(|| rest.strip_prefix('\t'))
        {
            rest = r;
            steps += 1;
        }
        out.push_str(base);
        out.push_str(&unit.repeat(steps));
        out.push_str(rest);
        out.push_str(eol);
    }
    out
}

/// The insertion of `block` before line `at`, set apart from its
/// neighbours by one blank line where they are not blank already.
fn around(text: &str, lines: &Lines<'_>, at: usize, block: &str) -> Edit {
    let eol = crate::source::eol_of(text);
    let mut s = String::new();
    if at == lines.len() && !text.is_empty() && !text.ends_with('\n') {
        s.push_str(eol);
    }
    if at > 0 && !lines.is_blank(at - 1) {
        s.push_str(eol);
    }
    s.push_str(block);
    if at < lines.len() && !lines.is_blank(at) {
        s.push_str(eol);
    }
    Edit::insert(lines.start(at), s)
}

// ---------------------------------------------------------------------------
// Python, Node, shell and Ruby: the canary goes after what must stay first.

fn comment_lead(lang: Lang) -> &'static str {
    match lang {
        Lang::Node | Lang::Go | Lang::Java => "//",
        _ => "#",
    }
}

/// What must stay first, as (line range, text) pairs: compared before and
/// after the edit.
type Facts = Vec<(usize, usize, String)>;

/// The line the canary goes before, with where that is in words.
fn header_end(lang: Lang, lines: &Lines<'_>) -> Result<(usize, &'static str), String> {
    let (end, after, _) = scan(lang, lines)?;
    Ok((end, after))
}

/// What must stay first (see [`Facts`]).
fn facts(lang: Lang, lines: &Lines<'_>) -> Result<Facts, String> {
    Ok(scan(lang, lines)?.2)
}

/// The start of a file: the leading comment block (a shebang, an encoding
/// line or magic comments, a licence header), then, by language, a
/// module docstring and `from __future__` imports (Python) or the
/// directive prologue (Node).
fn scan(lang: Lang, lines: &Lines<'_>) -> Result<(usize, &'static str, Facts), String> {
    let lead = comment_lead(lang);
    let mut facts: Facts = Vec::new();
    let fact = |facts: &mut Facts, from: usize, to: usize| {
        let text = (from..to)
            .filter_map(|i| lines.get(i))
            .collect::<Vec<_>>()
            .join("\n");
        facts.push((from, to, text));
    };
    let mut i = 0;
    let mut end = 0;
    let mut after = "at the top of the file";
    // The leading comment block, with what must stay at its place in it.
    let mut in_block_comment = false;
    while let Some(line) = lines.get(i) {
        let t = line.trim();
        if in_block_comment {
            in_block_comment = !t.contains("*/");
        } else if i == 0 && t.starts_with("#!") {
            fact(&mut facts, 0, 1);
            after = "after the shebang line";
        } else if t.starts_with(lead) {
            let is_fact = match lang {
                Lang::Python => i < 2 && is_coding(t),
                Lang::Ruby => is_ruby_magic(t),
                _ => false,
            };
            if is_fact {
                fact(&mut facts, i, i + 1);
            }
            if t.contains(MARKER) {
                // An inserted canary: what follows is not the header.
                break;
            }
            after = "after the comments at the top";
        } else if lang == Lang::Node && t.starts_with("/*") {
            in_block_comment = !t.contains("*/");
            after = "after the comments at the top";
        } else if !t.is_empty() {
            break;
        }
        i += 1;
        if !t.is_empty() {
            end = i;
        }
    }
    if in_block_comment {
        return Err("a comment at the top of the file does not end".into());
    }
    match lang {
        Lang::Python => {
            let mut k = skip_blank_and_comments(lines, i, lead);
            if let Some(close) = docstring_end(lines, k)? {
                fact(&mut facts, k, close + 1);
                end = close + 1;
                after = "after the module docstring";
                k = skip_blank_and_comments(lines, end, lead);
            }
            while lines
                .get(k)
                .is_some_and(|l| l.starts_with("from __future__ import"))
            {
                let mut last = k;
                let line = lines.get(k).unwrap_or("");
                if line.contains('(') && !line.contains(')') {
                    while lines.get(last).is_some_and(|l| !l.contains(')')) {
                        last += 1;
                    }
                } else {
                    while lines
                        .get(last)
                        .is_some_and(|l| l.trim_end().ends_with('\\'))
                    {
                        last += 1;
                    }
                }
                if last >= lines.len() {
                    return Err("a `from __future__` import does not end".into());
                }
                fact(&mut facts, k, last + 1);
                end = last + 1;
                after = "after the `from __future__` imports";
                k = skip_blank_and_comments(lines, end, lead);
            }
        }
        Lang::Node => {
            let mut k = skip_blank_and_comments(lines, i, lead);
            while lines.get(k).is_some_and(is_directive) {
                fact(&mut facts, k, k + 1);
                end = k + 1;
                after = "after the `use strict` directive";
                k = skip_blank_and_comments(lines, end, lead);
            }
        }
        Lang::Sh => {
            // `set -eu` first: the canary runs under the script's options.
            let mut k = skip_blank_and_comments(lines, i, lead);
            while lines
                .get(k)
                .is_some_and(|l| l.trim_start().starts_with("set "))
            {
                end = k + 1;
                after = "after the `set` line";
                k = skip_blank_and_comments(lines, end, lead);
            }
        }
        _ => {}
    }
    Ok((end, after, facts))
}

fn skip_blank_and_comments(lines: &Lines<'_>, mut i: usize, lead: &str) -> usize {
    while let Some(l) = lines.get(i) {
        let t = l.trim();
        if !(t.is_empty() || (t.starts_with(lead) && !t.contains(MARKER))) {
            break;
        }
        i += 1;
    }
    i
}

/// PEP 263: `# -*- coding: latin-1 -*-`, `# vim: set fileencoding=utf-8 :`.
fn is_coding(comment: &str) -> bool {
    comment.contains("coding:") || comment.contains("coding=")
}

/// Ruby's magic comments, which only count in the first comment section.
fn is_ruby_magic(comment: &str) -> bool {
    let c = comment.trim_start_matches('#').trim().to_ascii_lowercase();
    c.contains("coding:")
        || [
            "frozen_string_literal:",
            "frozen-string-literal:",
            "warn_indent:",
            "shareable_constant_value:",
        ]
        .iter()
        .any(|k| c.starts_with(k))
}

/// `'use strict';` or any other directive of the prologue: a string
/// statement alone on its line.
fn is_directive(line: &str) -> bool {
    let t = line.trim().trim_end_matches(';').trim_end();
    t.len() >= 2
        && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"')))
        && !t[1..t.len() - 1].contains(['\'', '"'])
}

/// When line `k` opens a module docstring: the line it ends on. A string
/// followed by more code on its last line is no docstring harden dares
/// to step over.
fn docstring_end(lines: &Lines<'_>, k: usize) -> Result<Option<usize>, String> {
    let Some(line) = lines.get(k) else {
        return Ok(None);
    };
    let body = line.trim_start_matches(['r', 'R', 'u', 'U']);
    if line.starts_with(char::is_whitespace) || body.len() + 2 < line.len() {
        return Ok(None);
    }
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| body.starts_with(q));
    let Some(quote) = quote else {
        return Ok(None);
    };
    let raw = body.len() != line.len() && line.starts_with(['r', 'R']);
    // Find the closing quote from just after the opening one.
    let mut j = k;
    let mut rest: &str = &body[quote.len()..];
    loop {
        let mut chars = rest.char_indices();
        let mut close = None;
        while let Some((p, c)) = chars.next() {
            if c == '\\' && !raw {
                chars.next();
                continue;
            }
            if rest[p..].starts_with(quote) {
                close = Some(p + quote.len());
                break;
            }
        }
        if let Some(c) = close {
            let tail = rest[c..].trim();
            if !(tail.is_empty() || tail.starts_with('#')) {
                return Err(format!(
                    "line {} holds code after the module docstring",
                    j + 1
                ));
            }
            return Ok(Some(j));
        }
        if quote.len() == 1 {
            // A one-quote string ends on its line (or is continued with a
            // backslash, which is no docstring worth stepping over).
            return Err(format!(
                "the string on line {} does not end on its line",
                k + 1
            ));
        }
        j += 1;
        match lines.get(j) {
            Some(l) => rest = l,
            None => return Err("the module docstring does not end".into()),
        }
    }
}

#[cfg(test)]
mod tests;
