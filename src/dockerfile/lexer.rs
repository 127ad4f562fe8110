//! A lossless Dockerfile lexer.
//!
//! It never rewrites text: it indexes the input (instruction byte ranges,
//! comments, heredoc bodies, stages) so that fixes can insert or replace bytes
//! at exact offsets and leave everything else as the author wrote it. The
//! rules follow BuildKit's Dockerfile frontend, not the older docker builder:
//!
//! - parser directives (`syntax`, `escape`, `check`) are only recognised
//!   before the first blank line, non-directive comment or instruction;
//! - a physical line ending in the escape character (then optional blanks)
//!   continues the instruction; comment and blank lines inside a continuation
//!   are skipped without ending it; a continuation still open at end of file
//!   simply ends the instruction;
//! - `RUN`, `COPY` and `ADD` (also under `ONBUILD`) in shell form may carry
//!   heredocs, whose bodies follow the instruction's last line in order;
//! - unknown instructions, and anything but `ARG` before the first `FROM`,
//!   are refused, as BuildKit refuses them.
//!
//! Variable substitution follows BuildKit's word processing: quotes are
//! removed, the escape character escapes the next character, unset variables
//! expand to nothing.

use crate::error::FileError;
use std::collections::HashMap;
use std::ops::Range;

/// A lexed Dockerfile. All ranges are byte offsets into the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character (`\` unless a `# escape=` directive says otherwise).
    pub escape: char,
    /// The line ending new lines must use: the file's first one, `\n` if none.
    pub eol: &'static str,
    /// The file starts with a UTF-8 byte-order mark (kept in the first gap).
    pub bom: bool,
    pub directives: Vec<Directive>,
    pub instructions: Vec<Instruction>,
    /// Comment lines outside heredoc bodies, in file order (directives excluded).
    pub comments: Vec<Comment>,
    pub stages: Vec<Stage>,
    /// `ARG`s before the first `FROM`: name and default, the default already
    /// expanded with the global `ARG`s declared before it (quotes removed).
    pub global_args: Vec<(String, Option<String>)>,
    /// Variables visible at the end of each stage (index = stage index).
    stage_scopes: Vec<Scope>,
    /// `ARG`/`ENV` declarations, with values expanded where they were declared.
    decls: Vec<Decl>,
}

/// A parser directive such as `# syntax=docker/dockerfile:1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lowercase name (`syntax`, `escape` or `check`).
    pub name: String,
    pub value: String,
    pub line: usize,
    /// From the `#` to the end of the line (line ending excluded).
    pub range: Range<usize>,
}

/// A comment line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// From the `#` to the end of the line (line ending excluded).
    pub range: Range<usize>,
    pub line: usize,
    /// The text after `#`, without surrounding whitespace.
    pub text: String,
    /// The line sits inside an instruction's continuation (BuildKit skips it).
    pub in_continuation: bool,
}

/// One logical instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Uppercase keyword (`RUN`).
    pub keyword: String,
    /// The keyword as written (`run`).
    pub keyword_text: String,
    /// From the keyword to the end of the last physical line (heredoc
    /// terminator included), without that line's line ending.
    pub range: Range<usize>,
    /// 1-based line of the keyword.
    pub line: usize,
    /// 1-based last physical line (heredoc bodies included): new instructions
    /// go on the line after it.
    pub end_line: usize,
    /// Arguments with continuations joined (escape and line break removed,
    /// comment and blank lines inside removed) and outer whitespace trimmed.
    pub args: String,
    /// Byte offset where the arguments start (end of keyword when empty).
    pub args_start: usize,
    /// Leading `--name[=value]` flags, as written (e.g. `--chown=app:app`).
    pub flags: Vec<String>,
    pub form: Form,
    pub heredocs: Vec<Heredoc>,
    /// Stage the instruction belongs to (`None` for global `ARG`s).
    pub stage: Option<usize>,
    /// The last line ends with the escape character at end of file: BuildKit
    /// accepts it as the end of the instruction, but it is worth a note.
    pub eof_continuation: bool,
    /// Pieces of the joined text: (offset in joined text, source offset, length).
    pieces: Vec<(usize, usize, usize)>,
    /// Offset of `args` in the joined text.
    args_offset: usize,
}

/// Exec (JSON array) or shell form of the arguments after the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    Shell,
    Exec(Vec<String>),
}

/// A heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word, quotes removed.
    pub delimiter: String,
    /// `<<-`: leading tabs are stripped from body lines and the terminator.
    pub strip_tabs: bool,
    /// The delimiter was quoted, so the body is not expanded.
    pub quoted: bool,
    /// Byte offset of the `<<`.
    pub start: usize,
    /// Body lines, each with its line ending (empty at the terminator line).
    pub body: Range<usize>,
    /// The terminator line, line ending excluded.
    pub terminator: Range<usize>,
}

/// A build stage, from its `FROM` to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// Index of the `FROM` instruction.
    pub from: usize,
    /// Image as written.
    pub image: String,
    /// Image with global `ARG` defaults substituted.
    pub resolved_image: String,
    /// Lowercase stage name (BuildKit compares names case-insensitively).
    pub name: Option<String>,
    /// `--platform` value as written.
    pub platform: Option<String>,
    /// The earlier stage this one builds on, when the image names one.
    pub parent: Option<usize>,
    /// Instruction indices, the `FROM` included.
    pub instructions: Range<usize>,
}

const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Instructions whose arguments BuildKit first tries to read as a JSON array.
const MAYBE_JSON: &[&str] = &["ADD", "CMD", "COPY", "ENTRYPOINT", "RUN", "SHELL", "VOLUME"];

/// Instructions that may carry heredocs.
const HEREDOC_KEYWORDS: &[&str] = &["ADD", "COPY", "RUN"];

const DIRECTIVES: &[&str] = &["syntax", "escape", "check"];

/// Variables in scope: ENV wins over ARG of the same name, as in BuildKit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Scope {
    env: HashMap<String, String>,
    /// `None`: declared without a value (expands to nothing).
    args: HashMap<String, Option<String>>,
}

impl Scope {
    fn lookup(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .cloned()
            .or_else(|| self.args.get(name).cloned().flatten())
    }

    fn apply(&mut self, d: &Decl) {
        match d.kind {
            DeclKind::Env => {
                self.env
                    .insert(d.name.clone(), d.value.clone().unwrap_or_default());
            }
            DeclKind::Arg => {
                self.args.insert(d.name.clone(), d.value.clone());
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeclKind {
    Arg,
    Env,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Decl {
    instruction: usize,
    kind: DeclKind,
    name: String,
    value: Option<String>,
}

/// A physical line: content `start..end` (line ending excluded), next line at `next`.
#[derive(Debug, Clone, Copy)]
struct PhysLine {
    start: usize,
    end: usize,
}

fn split_lines(text: &str) -> Vec<PhysLine> {
    let mut lines = Vec::new();
    let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    while start < text.len() {
        let rest = text.get(start..).unwrap_or("");
        let (nl, next) = match rest.find('\n') {
            Some(p) => (start + p, start + p + 1),
            None => (text.len(), text.len()),
        };
        let end = if nl > start && text.as_bytes().get(nl - 1) == Some(&b'\r') {
            nl - 1
        } else {
            nl
        };
        lines.push(PhysLine { start, end });
        start = next;
    }
    lines
}

fn slice(text: &str, r: Range<usize>) -> &str {
    text.get(r).unwrap_or("")
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or("");
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map(|p| p + 1).unwrap_or(0);
    let on_line = before.get(line_start..).unwrap_or("");
    let on_line = if line_start == 0 {
        on_line.strip_prefix('\u{feff}').unwrap_or(on_line)
    } else {
        on_line
    };
    (line, on_line.chars().count() + 1)
}

fn error_at(text: &str, offset: usize, message: impl Into<String>) -> FileError {
    let (line, col) = position(text, offset);
    FileError::new(line, col, message)
}

/// `#[ \t]*name[ \t]*=[ \t]*value[ \t]*` → (name, value), as BuildKit matches it.
fn directive_match(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix('#')?.trim_start_matches([' ', '\t']);
    let name_len = rest
        .char_indices()
        .take_while(|&(i, c)| {
            if i == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_alphanumeric()
            }
        })
        .count();
    if name_len == 0 {
        return None;
    }
    let name = rest.get(..name_len)?;
    let rest = rest
        .get(name_len..)?
        .trim_start_matches([' ', '\t'])
        .strip_prefix('=')?;
    let value = rest.trim_matches([' ', '\t']);
    if value.is_empty() {
        return None;
    }
    Some((name, value))
}

/// Removes a trailing escape character (and blanks after it): (kept text, continues).
fn strip_continuation(s: &str, escape: char) -> (&str, bool) {
    let t = s.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(kept) => (kept, true),
        None => (s, false),
    }
}

/// Splits into whitespace-separated words, keeping quotes and escapes (the
/// way BuildKit splits instruction arguments before expanding them).
fn split_words(s: &str, escape: char) -> Vec<Range<usize>> {
    words(s, escape).collect()
}

/// [`split_words`] one word at a time, so a caller that needs only the
/// first few words of a long command does not split the rest.
fn words(s: &str, escape: char) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut it = s.char_indices();
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut start: Option<usize> = None;
        let mut quote: Option<char> = None;
        while let Some((i, c)) = it.next() {
            if quote.is_none() && c.is_whitespace() {
                if let Some(st) = start {
                    return Some(st..i);
                }
                continue;
            }
            if start.is_none() {
                start = Some(i);
            }
            if c == escape && quote != Some('\'') {
                it.next();
                continue;
            }
            match quote {
                None if c == '\'' || c == '"' => quote = Some(c),
                Some(q) if q == c => quote = None,
                _ => {}
            }
        }
        done = true;
        start.map(|st| st..s.len())
    })
}

/// Expands variables and removes quotes and escapes, like BuildKit's
/// `ProcessWord`. Unsupported `${...}` operators (`#`, `%`, `/`) yield the
/// variable's value unchanged.
fn expand(s: &str, escape: char, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    expand_nested(s, escape, lookup, 0)
}

/// Nested `${a:-${b:-...}}` deeper than this is kept literally, so that
/// hostile input cannot exhaust the stack.
const MAX_NESTING: usize = 16;

/// For each `{` (by char index), the index of its matching `}`, skipping
/// escaped characters: one pass, so unclosed braces cost no rescans.
fn brace_matches(chars: &[(usize, char)], escape: char) -> Vec<Option<usize>> {
    let mut closes = vec![None; chars.len()];
    let mut open = Vec::new();
    let mut k = 0;
    while let Some(&(_, c)) = chars.get(k) {
        if c == escape {
            k += 2;
            continue;
        }
        if c == '{' {
            open.push(k);
        } else if c == '}' {
            if let Some(o) = open.pop() {
                if let Some(slot) = closes.get_mut(o) {
                    *slot = Some(k);
                }
            }
        }
        k += 1;
    }
    closes
}

fn expand_nested(
    s: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> String {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let closes = if s.contains("${") {
        brace_matches(&chars, escape)
    } else {
        Vec::new()
    };
    let ctx = Ctx {
        s,
        chars: &chars,
        closes: &closes,
        escape,
        lookup,
        depth,
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(&(pos, c)) = chars.get(i) {
        if c == escape {
            match chars.get(i + 1) {
                Some(&(_, n)) => {
                    out.push(n);
                    i += 2;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if c == '\'' {
            let close = chars
                .iter()
                .skip(i + 1)
                .position(|&(_, q)| q == '\'')
                .map(|p| p + i + 1);
            let inner_start = pos + 1;
            match close.and_then(|j| chars.get(j)) {
                Some(&(end, _)) => {
                    out.push_str(slice(s, inner_start..end));
                    i = close.unwrap_or(chars.len()) + 1;
                }
                None => {
                    out.push_str(slice(s, inner_start..s.len()));
                    i = chars.len();
                }
            }
        } else if c == '"' {
            i += 1;
            while let Some(&(_, d)) = chars.get(i) {
                if d == '"' {
                    i += 1;
                    break;
                }
                if d == escape {
                    match chars.get(i + 1) {
                        Some(&(_, n)) if n == '"' || n == '$' || n == escape => {
                            out.push(n);
                            i += 2;
                        }
                        _ => {
                            out.push(d);
                            i += 1;
                        }
                    }
                } else if d == '$' {
                    let (v, next) = ctx.dollar(i);
                    out.push_str(&v);
                    i = next;
                } else {
                    out.push(d);
                    i += 1;
                }
            }
        } else if c == '$' {
            let (v, next) = ctx.dollar(i);
            out.push_str(&v);
            i = next;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// What `$` expansion needs about the word being expanded.
struct Ctx<'a> {
    s: &'a str,
    chars: &'a [(usize, char)],
    closes: &'a [Option<usize>],
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    depth: usize,
}

impl Ctx<'_> {
    /// Expands the `$` reference at `chars[i]`: (value, index after it).
    fn dollar(&self, i: usize) -> (String, usize) {
        let (s, lookup) = (self.s, self.lookup);
        let at = |k: usize| self.chars.get(k).map(|&(_, c)| c);
        let off = |k: usize| self.chars.get(k).map(|&(p, _)| p).unwrap_or(s.len());
        match at(i + 1) {
            Some('{') => self.braced(i),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while at(j).is_some_and(is_name_char) {
                    j += 1;
                }
                let name = slice(s, off(i + 1)..off(j));
                (lookup(name).unwrap_or_default(), j)
            }
            _ => ("$".to_string(), i + 1),
        }
    }

    /// `${name}` and `${name<op>word}` starting at `chars[i]` (the `$`).
    fn braced(&self, i: usize) -> (String, usize) {
        let (s, escape, lookup) = (self.s, self.escape, self.lookup);
        let at = |k: usize| self.chars.get(k).map(|&(_, c)| c);
        let off = |k: usize| self.chars.get(k).map(|&(p, _)| p).unwrap_or(s.len());
        let Some(close) = self.closes.get(i + 1).copied().flatten() else {
            return ("$".to_string(), i + 1);
        };
        let name_start = i + 2;
        let mut j = name_start;
        while j < close && at(j).is_some_and(is_name_char) {
            j += 1;
        }
        let name = slice(s, off(name_start)..off(j));
        if name.is_empty() || self.depth >= MAX_NESTING {
            return (slice(s, off(i)..off(close + 1)).to_string(), close + 1);
        }
        let value = lookup(name);
        let ops = slice(s, off(j)..off(close));
        let (op, word) = if let Some(w) = ops.strip_prefix(":-") {
            (":-", w)
        } else if let Some(w) = ops.strip_prefix(":+") {
            (":+", w)
        } else if let Some(w) = ops.strip_prefix(":?") {
            (":?", w)
        } else if let Some(w) = ops.strip_prefix('-') {
            ("-", w)
        } else if let Some(w) = ops.strip_prefix('+') {
            ("+", w)
        } else if let Some(w) = ops.strip_prefix('?') {
            ("?", w)
        } else {
            ("", ops)
        };
        let word = || expand_nested(word, escape, lookup, self.depth + 1);
        let empty = value.as_deref().is_none_or(str::is_empty);
        let result = match op {
            ":-" if empty => word(),
            "-" if value.is_none() => word(),
            ":+" => {
                if empty {
                    String::new()
                } else {
                    word()
                }
            }
            "+" => {
                if value.is_none() {
                    String::new()
                } else {
                    word()
                }
            }
            _ => value.unwrap_or_default(),
        };
        (result, close + 1)
    }
}

/// `^\d*<<(-?)([^<]*)$` on a raw word, as BuildKit detects heredocs:
/// (offset of `<<` in the word, strip tabs, delimiter, quoted).
fn heredoc_word(word: &str) -> Option<(usize, bool, String, bool)> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = word.get(digits..)?.strip_prefix("<<")?;
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let name = expand(rest, '\\', &|_| None);
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((digits, strip_tabs, name, rest.contains(['"', '\''])))
}

/// Leading flags (`--x=y`) of an argument string and the offset of what follows.
fn split_flags(args: &str, escape: char) -> (Vec<String>, usize) {
    let mut flags = Vec::new();
    for w in words(args, escape) {
        let word = slice(args, w.clone());
        if word == "--" {
            return (flags, w.end);
        }
        if !word.starts_with("--") {
            return (flags, w.start);
        }
        flags.push(word.to_string());
    }
    (flags, args.len())
}

fn json_form(rest: &str) -> Form {
    if rest.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest) {
            return Form::Exec(v);
        }
    }
    Form::Shell
}

impl Instruction {
    /// Source byte offset of a byte offset into `args` (its end included).
    pub fn source_offset(&self, args_offset: usize) -> Option<usize> {
        if args_offset > self.args.len() {
            return None;
        }
        Some(self.joined_to_source(self.args_offset + args_offset))
    }

    fn joined_to_source(&self, off: usize) -> usize {
        for &(j, s, len) in &self.pieces {
            if off >= j && off < j + len {
                return s + (off - j);
            }
        }
        self.pieces
            .last()
            .map(|&(_, s, len)| s + len)
            .unwrap_or(self.range.start)
    }

    /// The arguments after the flags (e.g. the image of `FROM --platform=x img`).
    pub fn args_after_flags(&self, escape: char) -> &str {
        let (_, at) = split_flags(&self.args, escape);
        slice(&self.args, at..self.args.len())
    }
}

struct Lexer<'a> {
    text: &'a str,
    lines: Vec<PhysLine>,
    escape: char,
    comments: Vec<Comment>,
}

impl<'a> Lexer<'a> {
    fn line_text(&self, i: usize) -> &'a str {
        self.lines
            .get(i)
            .map(|l| slice(self.text, l.start..l.end))
            .unwrap_or("")
    }

    fn comment(&self, i: usize, in_continuation: bool) -> Option<Comment> {
        let l = self.lines.get(i)?;
        let content = self.line_text(i);
        let lead = content.len() - content.trim_start().len();
        let body = content.trim_start().strip_prefix('#')?;
        Some(Comment {
            range: l.start + lead..l.end,
            line: i + 1,
            text: body.trim().to_string(),
            in_continuation,
        })
    }

    /// Lexes the instruction starting on line `first`; returns it and the
    /// index of the next unread line.
    fn instruction(&mut self, first: usize) -> Result<(Instruction, usize), FileError> {
        let text = self.text;
        let escape = self.escape;
        let Some(&fl) = self.lines.get(first) else {
            return Err(error_at(text, text.len(), "unexpected end of file"));
        };
        let content = self.line_text(first);
        let lead = content.len() - content.trim_start().len();
        let start = fl.start + lead;
        let mut joined = String::new();
        // Most instructions are one line: one piece.
        let mut pieces = Vec::with_capacity(1);
        let (kept, mut cont) = strip_continuation(slice(content, lead..content.len()), escape);
        pieces.push((0, start, kept.len()));
        joined.push_str(kept);
        let mut last = first;
        let mut i = first + 1;
        let mut eof_continuation = false;
        while cont {
            if i >= self.lines.len() {
                eof_continuation = true;
                break;
            }
            let line = self.line_text(i);
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') {
                if let Some(c) = self.comment(i, true) {
                    self.comments.push(c);
                }
                i += 1;
                continue;
            }
            if trimmed.is_empty() {
                i += 1;
                continue;
            }
            let (kept, c) = strip_continuation(line, escape);
            let src = self.lines.get(i).map(|l| l.start).unwrap_or(text.len());
            pieces.push((joined.len(), src, kept.len()));
            joined.push_str(kept);
            last = i;
            cont = c;
            i += 1;
        }

        pieces.shrink_to_fit();
        let kw_end = joined.find(char::is_whitespace).unwrap_or(joined.len());
        let keyword_text = slice(&joined, 0..kw_end).to_string();
        let keyword = keyword_text.to_uppercase();
        if !KEYWORDS.contains(&keyword.as_str()) {
            return Err(error_at(
                text,
                start,
                format!(
                    "unknown instruction: {}",
                    crate::escape::excerpt(&keyword, 32)
                ),
            ));
        }
        let after_kw = slice(&joined, kw_end..joined.len());
        let args_offset = kw_end + (after_kw.len() - after_kw.trim_start().len());
        let args = after_kw.trim().to_string();
        let (flags, rest_at) = split_flags(&args, escape);
        let rest = slice(&args, rest_at..args.len()).to_string();
        let rest = rest.as_str();
        let form = if MAYBE_JSON.contains(&keyword.as_str()) {
            json_form(rest)
        } else {
            Form::Shell
        };
        let mut ins = Instruction {
            keyword,
            keyword_text,
            range: start..start,
            line: first + 1,
            end_line: first + 1,
            args,
            args_start: start,
            flags,
            form,
            heredocs: Vec::new(),
            stage: None,
            eof_continuation,
            pieces,
            args_offset,
        };
        ins.args_start = if ins.args.is_empty() {
            ins.joined_to_source(kw_end)
        } else {
            ins.joined_to_source(args_offset)
        };

        // Heredocs: only for RUN/COPY/ADD (directly or under ONBUILD) in shell form.
        let (hd_keyword, hd_rest) = if ins.keyword == "ONBUILD" {
            let inner_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let inner = slice(rest, 0..inner_end).to_uppercase();
            let inner_args = slice(rest, inner_end..rest.len()).trim();
            let (_, at) = split_flags(inner_args, escape);
            (inner, slice(inner_args, at..inner_args.len()).to_string())
        } else {
            (ins.keyword.clone(), rest.to_string())
        };
        if HEREDOC_KEYWORDS.contains(&hd_keyword.as_str())
            && json_form(&hd_rest) == Form::Shell
            && ins.args.contains("<<")
        {
            for w in split_words(&ins.args, '\\') {
                let Some((lt, strip_tabs, delimiter, quoted)) =
                    heredoc_word(slice(&ins.args, w.clone()))
                else {
                    continue;
                };
                let at = ins.joined_to_source(args_offset + w.start + lt);
                let body_start = self.lines.get(i).map(|l| l.start).unwrap_or(text.len());
                let terminator = loop {
                    let Some(&l) = self.lines.get(i) else {
                        return Err(error_at(
                            text,
                            at,
                            format!("unterminated heredoc: no line `{delimiter}` ends it"),
                        ));
                    };
                    let line = slice(text, l.start..l.end);
                    let candidate = if strip_tabs {
                        line.trim_start_matches('\t')
                    } else {
                        line
                    };
                    i += 1;
                    if candidate == delimiter {
                        last = i - 1;
                        break l;
                    }
                };
                ins.heredocs.push(Heredoc {
                    delimiter,
                    strip_tabs,
                    quoted,
                    start: at,
                    body: body_start..terminator.start,
                    terminator: terminator.start..terminator.end,
                });
            }
        }
        let end = self.lines.get(last).map(|l| l.end).unwrap_or(text.len());
        ins.range = start..end;
        ins.end_line = last + 1;
        Ok((ins, i))
    }
}

/// Builds stages and variable scopes as instructions arrive.
struct Semantics {
    instructions: Vec<Instruction>,
    stages: Vec<Stage>,
    global_args: Vec<(String, Option<String>)>,
    globals: Scope,
    stage_scopes: Vec<Scope>,
    decls: Vec<Decl>,
}

impl Semantics {
    fn add(&mut self, text: &str, escape: char, mut ins: Instruction) -> Result<(), FileError> {
        let index = self.instructions.len();
        let err = |message: String| error_at(text, ins.range.start, message);
        let rest = ins.args_after_flags(escape).to_string();
        match ins.keyword.as_str() {
            "FROM" => {
                let words: Vec<&str> = split_words(&rest, escape)
                    .into_iter()
                    .map(|w| slice(&rest, w))
                    .collect();
                let (image, name) = match words.as_slice() {
                    [image] => (*image, None),
                    [image, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
                        (*image, Some(name.to_lowercase()))
                    }
                    _ => {
                        return Err(err(
                            "FROM requires either one or three arguments (image [AS name])"
                                .to_string(),
                        ))
                    }
                };
                if let Some(n) = &name {
                    let valid = n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                        && n.chars().all(|c| {
                            c.is_ascii_lowercase()
                                || c.is_ascii_digit()
                                || matches!(c, '-' | '_' | '.')
                        });
                    if !valid {
                        return Err(err(format!(
                            "invalid name for build stage: {n:?}, name can't start with a number or contain symbols"
                        )));
                    }
                }
                let globals = &self.globals;
                let resolved_image = expand(image, escape, &|v| globals.lookup(v));
                let wanted = resolved_image.to_lowercase();
                let parent = self
                    .stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(wanted.as_str()));
                let platform = ins
                    .flags
                    .iter()
                    .find_map(|f| f.strip_prefix("--platform="))
                    .map(str::to_string);
                if let Some(prev) = self.stages.last_mut() {
                    prev.instructions.end = index;
                }
                let scope = parent
                    .and_then(|p| self.stage_scopes.get(p).cloned())
                    .unwrap_or_default();
                let stage = self.stages.len();
                self.stages.push(Stage {
                    index: stage,
                    from: index,
                    image: image.to_string(),
                    resolved_image,
                    name,
                    platform,
                    parent,
                    instructions: index..index + 1,
                });
                self.stage_scopes.push(scope);
                ins.stage = Some(stage);
            }
            "ARG" => {
                let words = split_words(&ins.args, escape);
                if words.is_empty() {
                    return Err(err("ARG requires at least one argument".to_string()));
                }
                let current = self.stages.len().checked_sub(1);
                for w in words {
                    let word = slice(&ins.args, w);
                    let (name, value) = match word.split_once('=') {
                        Some((n, v)) => (n.to_string(), Some(v)),
                        None => (word.to_string(), None),
                    };
                    let empty = Scope::default();
                    let scope = match current {
                        Some(s) => self.stage_scopes.get(s).unwrap_or(&empty),
                        None => &self.globals,
                    };
                    let value = match value {
                        Some(v) => Some(expand(v, escape, &|n| scope.lookup(n))),
                        // A global ARG re-declared in a stage brings its default
                        // in; otherwise an inherited value stays.
                        None if current.is_some() => match self.globals.args.get(&name) {
                            Some(global) => global.clone(),
                            None => scope.args.get(&name).cloned().flatten(),
                        },
                        None => None,
                    };
                    let decl = Decl {
                        instruction: index,
                        kind: DeclKind::Arg,
                        name: name.clone(),
                        value: value.clone(),
                    };
                    match current {
                        Some(s) => {
                            if let Some(sc) = self.stage_scopes.get_mut(s) {
                                sc.apply(&decl);
                            }
                        }
                        None => {
                            self.globals.apply(&decl);
                            self.global_args.push((name, value));
                        }
                    }
                    self.decls.push(decl);
                }
                ins.stage = current;
            }
            kw => {
                let Some(current) = self.stages.len().checked_sub(1) else {
                    return Err(err(format!(
                        "{kw} before the first FROM: only ARG may come before FROM"
                    )));
                };
                if kw == "ENV" {
                    let pairs = env_pairs(&ins.args, escape).map_err(err)?;
                    // All pairs of one ENV see the values from before it.
                    let empty = Scope::default();
                    let scope = self.stage_scopes.get(current).unwrap_or(&empty);
                    let decls: Vec<Decl> = pairs
                        .into_iter()
                        .map(|(name, raw)| Decl {
                            instruction: index,
                            kind: DeclKind::Env,
                            name,
                            value: Some(expand(&raw, escape, &|n| scope.lookup(n))),
                        })
                        .collect();
                    for decl in decls {
                        if let Some(sc) = self.stage_scopes.get_mut(current) {
                            sc.apply(&decl);
                        }
                        self.decls.push(decl);
                    }
                }
                ins.stage = Some(current);
            }
        }
        self.instructions.push(ins);
        if let Some(s) = self.stages.last_mut() {
            s.instructions.end = index + 1;
        }
        Ok(())
    }
}

/// `ENV k=v k2="v 2"` or legacy `ENV k v w`: (name, raw value) pairs.
fn env_pairs(args: &str, escape: char) -> Result<Vec<(String, String)>, String> {
    let words = split_words(args, escape);
    let Some(first) = words.first() else {
        return Err("ENV requires at least one argument".to_string());
    };
    if !slice(args, first.clone()).contains('=') {
        return match args.split_once(char::is_whitespace) {
            Some((k, v)) if !v.trim().is_empty() => Ok(vec![(k.to_string(), v.trim().to_string())]),
            _ => Err("ENV must have two arguments".to_string()),
        };
    }
    words
        .into_iter()
        .map(|w| {
            let word = slice(args, w);
            word.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    format!(
                        "syntax error: can't find = in {word:?}; must be of the form name=value"
                    )
                })
        })
        .collect()
}

/// Lexes a Dockerfile. Fails where BuildKit would refuse the file, and on
/// binary content.
pub fn parse(text: &str) -> Result<Dockerfile, FileError> {
    if let Some(nul) = text.find('\0') {
        return Err(error_at(text, nul, "binary content: NUL byte"));
    }
    let mut lx = Lexer {
        text,
        lines: split_lines(text),
        escape: '\\',
        comments: Vec::new(),
    };
    let mut sem = Semantics {
        instructions: Vec::new(),
        stages: Vec::new(),
        global_args: Vec::new(),
        globals: Scope::default(),
        stage_scopes: Vec::new(),
        decls: Vec::new(),
    };
    let mut directives: Vec<Directive> = Vec::new();
    let mut directives_done = false;
    let mut i = 0;
    while let Some(&l) = lx.lines.get(i) {
        let content = lx.line_text(i);
        let trimmed = content.trim_start();
        let lead = content.len() - trimmed.len();
        if !directives_done {
            match directive_match(trimmed) {
                Some((name, value)) if DIRECTIVES.contains(&name.to_lowercase().as_str()) => {
                    let name = name.to_lowercase();
                    if directives.iter().any(|d| d.name == name) {
                        return Err(error_at(
                            text,
                            l.start + lead,
                            format!("only one {name} parser directive can be used"),
                        ));
                    }
                    if name == "escape" {
                        lx.escape = match value {
                            "\\" => '\\',
                            "`" => '`',
                            _ => {
                                return Err(error_at(
                                    text,
                                    l.start + lead,
                                    format!(
                                        "invalid escape token '{value}' does not match ` or \\"
                                    ),
                                ))
                            }
                        };
                    }
                    directives.push(Directive {
                        name,
                        value: value.to_string(),
                        line: i + 1,
                        range: l.start + lead..l.end,
                    });
                    i += 1;
                    continue;
                }
                _ => directives_done = true,
            }
        }
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        if trimmed.starts_with('#') {
            if let Some(c) = lx.comment(i, false) {
                lx.comments.push(c);
            }
            i += 1;
            continue;
        }
        let (ins, next) = lx.instruction(i)?;
        sem.add(text, lx.escape, ins)?;
        i = next;
    }
    if sem.stages.is_empty() {
        return Err(FileError {
            line: 1,
            col: 1,
            message: "no FROM instruction".to_string(),
        });
    }
    // The vectors grew by doubling: an instruction is a few hundred bytes,
    // so the spare room of a small Dockerfile was several times its text.
    let mut df = Dockerfile {
        escape: lx.escape,
        eol: crate::source::eol_of(text),
        bom: text.starts_with('\u{feff}'),
        directives,
        instructions: sem.instructions,
        comments: lx.comments,
        stages: sem.stages,
        global_args: sem.global_args,
        stage_scopes: sem.stage_scopes,
        decls: sem.decls,
    };
    df.directives.shrink_to_fit();
    df.instructions.shrink_to_fit();
    df.comments.shrink_to_fit();
    df.stages.shrink_to_fit();
    df.global_args.shrink_to_fit();
    df.stage_scopes.shrink_to_fit();
    df.decls.shrink_to_fit();
    Ok(df)
}

impl Dockerfile {
    /// Substitutes `$VAR`/`${VAR...}` in `text` with the variables visible at
    /// the end of `stage`: its `ARG`s (a global `ARG` only once re-declared in
    /// the stage) and `ENV`s, and those inherited from the stages it builds
    /// on (BuildKit passes both `ENV` and `ARG` on to child stages). Quotes
    /// and escapes are removed as BuildKit does for `WORKDIR`, `USER`, `ENV`.
    /// An unknown stage leaves the text as it is.
    pub fn resolve_in_stage(&self, stage: usize, text: &str) -> String {
        match self.stage_scopes.get(stage) {
            Some(scope) => expand(text, self.escape, &|n| scope.lookup(n)),
            None => text.to_string(),
        }
    }

    /// Like [`Dockerfile::resolve_in_stage`], with only the declarations
    /// before `instruction` (what BuildKit sees when it runs that
    /// instruction; for a `FROM`, the global `ARG`s before it).
    pub fn resolve_at(&self, instruction: usize, text: &str) -> String {
        let ins = self.instructions.get(instruction);
        // FROM lines are expanded with the global ARGs only.
        let stage = ins.filter(|i| i.keyword != "FROM").and_then(|i| i.stage);
        let Some(stage) = stage else {
            let globals = self.global_scope(instruction);
            return expand(text, self.escape, &|n| globals.lookup(n));
        };
        let mut scope = self
            .stages
            .get(stage)
            .and_then(|s| s.parent)
            .and_then(|p| self.stage_scopes.get(p).cloned())
            .unwrap_or_default();
        let range = self
            .stages
            .get(stage)
            .map(|s| s.instructions.clone())
            .unwrap_or(0..0);
        for d in &self.decls {
            if d.instruction >= range.start && d.instruction < instruction {
                scope.apply(d);
            }
        }
        expand(text, self.escape, &|n| scope.lookup(n))
    }

    fn global_scope(&self, before: usize) -> Scope {
        let mut scope = Scope::default();
        for d in self.decls.iter().filter(|d| d.instruction < before) {
            if self
                .instructions
                .get(d.instruction)
                .is_some_and(|i| i.stage.is_none())
            {
                scope.apply(d);
            }
        }
        scope
    }

    /// The final stage (the image `docker build` produces by default).
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// `stage` and the stages it builds on (`FROM earlier AS this`), oldest
    /// first: what the image of `stage` is made of. The one walk of the
    /// chain; a loop in it (not possible in a valid file) ends the walk.
    pub fn chain(&self, stage: usize) -> Vec<usize> {
        let mut chain = Vec::new();
        let mut at = Some(stage).filter(|s| *s < self.stages.len());
        while let Some(i) = at.filter(|i| !chain.contains(i)) {
            chain.push(i);
            at = self.stages.get(i).and_then(|s| s.parent);
        }
        chain.reverse();
        chain
    }

    /// Instructions of a stage.
    pub fn stage_instructions(&self, stage: usize) -> &[Instruction] {
        self.stages
            .get(stage)
            .and_then(|s| self.instructions.get(s.instructions.clone()))
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests;
