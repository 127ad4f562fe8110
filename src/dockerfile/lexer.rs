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

use std::collections::HashMap;
use std::fmt;
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

/// Input BuildKit would refuse, with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    /// 1-based, counted in characters.
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

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

fn error_at(text: &str, offset: usize, message: impl Into<String>) -> ParseError {
    let (line, col) = position(text, offset);
    ParseError {
        line,
        col,
        message: message.into(),
    }
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
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut it = s.char_indices();
    while let Some((i, c)) = it.next() {
        if quote.is_none() && c.is_whitespace() {
            if let Some(st) = start.take() {
                words.push(st..i);
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
    if let Some(st) = start {
        words.push(st..s.len());
    }
    words
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
    for w in split_words(args, escape) {
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
    fn instruction(&mut self, first: usize) -> Result<(Instruction, usize), ParseError> {
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
                format!("unknown instruction: {}", crate::fsio::excerpt(&keyword)),
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
    fn add(&mut self, text: &str, escape: char, mut ins: Instruction) -> Result<(), ParseError> {
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
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
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
        return Err(ParseError {
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

    /// Instructions of a stage.
    pub fn stage_instructions(&self, stage: usize) -> &[Instruction] {
        self.stages
            .get(stage)
            .and_then(|s| self.instructions.get(s.instructions.clone()))
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYTHON_WEB: &str =
        include_str!("../../tests/fixtures/dockerfile/lexer/python-web.Dockerfile");
    const GO_SERVICE: &str =
        include_str!("../../tests/fixtures/dockerfile/lexer/go-service.Dockerfile");
    const NODE_HEREDOC: &str =
        include_str!("../../tests/fixtures/dockerfile/lexer/node-heredoc.Dockerfile");

    fn ok(text: &str) -> Dockerfile {
        match parse(text) {
            Ok(d) => d,
            Err(e) => panic!("parse failed: {e}\n{text}"),
        }
    }

    fn err(text: &str) -> (usize, usize, String) {
        match parse(text) {
            Ok(d) => panic!("expected an error, got {d:#?}"),
            Err(e) => (e.line, e.col, e.message),
        }
    }

    fn keywords(d: &Dockerfile) -> Vec<&str> {
        d.instructions.iter().map(|i| i.keyword.as_str()).collect()
    }

    fn text_of<'t>(text: &'t str, r: &Range<usize>) -> &'t str {
        &text[r.clone()]
    }

    /// Gaps and instruction ranges concatenated give back the input, the
    /// ranges are ordered, and every gap holds only blank lines, comments,
    /// directives, line endings or the byte-order mark.
    fn assert_round_trip(text: &str) {
        let d = ok(text);
        let mut out = String::new();
        let mut pos = 0;
        for ins in &d.instructions {
            assert!(ins.range.start >= pos, "ranges overlap at {:?}", ins.range);
            let gap = &text[pos..ins.range.start];
            for line in gap.trim_start_matches('\u{feff}').split('\n') {
                let l = line.trim();
                assert!(l.is_empty() || l.starts_with('#'), "gap holds {l:?}");
            }
            out.push_str(gap);
            let body = &text[ins.range.clone()];
            assert!(body.starts_with(&ins.keyword_text), "{body:?}");
            assert!(!body.ends_with('\n') && !body.ends_with('\r'));
            out.push_str(body);
            pos = ins.range.end;
        }
        let tail = &text[pos..];
        assert!(tail
            .lines()
            .all(|l| l.trim().is_empty() || l.trim().starts_with('#')));
        out.push_str(tail);
        assert_eq!(out, text);
    }

    #[test]
    fn simple_file() {
        let text = "FROM alpine:3.20\nRUN apk add --no-cache curl\nUSER 1000\n";
        let d = ok(text);
        assert_eq!(keywords(&d), ["FROM", "RUN", "USER"]);
        let run = &d.instructions[1];
        assert_eq!(text_of(text, &run.range), "RUN apk add --no-cache curl");
        assert_eq!((run.line, run.end_line), (2, 2));
        assert_eq!(run.args, "apk add --no-cache curl");
        assert_eq!(run.args_start, text.find("apk").unwrap());
        assert_eq!(run.form, Form::Shell);
        assert_eq!(run.stage, Some(0));
        assert_eq!(d.stages.len(), 1);
        assert_eq!(d.stages[0].image, "alpine:3.20");
        assert_eq!(d.stages[0].instructions, 0..3);
        assert_eq!(d.escape, '\\');
        assert_eq!(d.eol, "\n");
        assert!(d.directives.is_empty() && d.comments.is_empty());
        assert_round_trip(text);
    }

    #[test]
    fn multi_stage_with_parent_stage() {
        let d = ok(PYTHON_WEB);
        let names: Vec<_> = d.stages.iter().map(|s| s.name.as_deref()).collect();
        assert_eq!(names, [Some("builder"), Some("test"), None]);
        assert_eq!(d.stages[1].image, "builder");
        assert_eq!(d.stages[1].parent, Some(0));
        assert_eq!(d.stages[0].parent, None);
        assert_eq!(d.stages[2].parent, None);
        // Stage ranges tile the instructions after the global ARGs.
        assert_eq!(d.stages[0].instructions.start, 2);
        assert_eq!(d.stages[0].instructions.end, d.stages[1].instructions.start);
        assert_eq!(d.stages[1].instructions.end, d.stages[2].instructions.start);
        assert_eq!(d.stages[2].instructions.end, d.instructions.len());
        assert_eq!(d.final_stage().map(|s| s.index), Some(2));
        assert_eq!(d.stage_instructions(1).len(), 3);
        assert_eq!(d.instructions[0].stage, None);
        assert_eq!(d.directives[0].name, "syntax");
        assert_eq!(d.directives[0].value, "docker/dockerfile:1.7");
        assert_eq!(d.comments.len(), 2);
        assert_eq!(
            d.comments[1].text,
            "Runtime image: no compiler, only the wheels."
        );
        let run = &d.instructions[6];
        assert_eq!(run.keyword, "RUN");
        assert_eq!((run.line, run.end_line), (11, 13));
        assert!(run.args.starts_with("apt-get update  && apt-get install"));
        assert_round_trip(PYTHON_WEB);
    }

    #[test]
    fn stage_names_are_case_insensitive() {
        let d = ok("FROM golang:1.23 AS Build\nRUN go build\nFROM BUILD\n");
        assert_eq!(d.stages[0].name.as_deref(), Some("build"));
        assert_eq!(d.stages[1].parent, Some(0));
        // A later stage's name is not a parent.
        let d = ok("FROM later\nFROM alpine AS later\n");
        assert_eq!(d.stages[0].parent, None);
    }

    #[test]
    fn global_arg_resolves_from_image() {
        let d = ok("ARG BASE=python:3.12-slim\nFROM ${BASE}\nRUN true\n");
        assert_eq!(d.stages[0].image, "${BASE}");
        assert_eq!(d.stages[0].resolved_image, "python:3.12-slim");
        assert_eq!(
            d.global_args,
            [("BASE".to_string(), Some("python:3.12-slim".to_string()))]
        );
        let d = ok(PYTHON_WEB);
        assert_eq!(d.stages[0].resolved_image, "python:3.12-slim");
        assert_eq!(d.stages[2].resolved_image, "python:3.12-slim");
        let d = ok(GO_SERVICE);
        assert_eq!(d.stages[0].resolved_image, "golang:1.23-bookworm");
        assert_eq!(d.stages[0].platform.as_deref(), Some("$BUILDPLATFORM"));
        assert_eq!(d.instructions[1].flags, ["--platform=$BUILDPLATFORM"]);
    }

    #[test]
    fn substitution_forms() {
        let text = "ARG A=alpine\nARG EMPTY=\nARG UNSET\n\
                    FROM scratch\n";
        let d = ok(text);
        let r = |s: &str| d.resolve_at(3, s);
        assert_eq!(r("$A:3"), "alpine:3");
        assert_eq!(r("${A}:3"), "alpine:3");
        assert_eq!(r("${NOPE:-debian}"), "debian");
        assert_eq!(r("${EMPTY:-debian}"), "debian");
        assert_eq!(r("${EMPTY-debian}"), "");
        assert_eq!(r("${UNSET-debian}"), "debian");
        assert_eq!(r("${A:+set}"), "set");
        assert_eq!(r("${NOPE:+set}"), "");
        assert_eq!(r("${EMPTY+set}"), "set");
        assert_eq!(r("${NOPE:-${A}}"), "alpine");
        assert_eq!(r("'$A' \"$A\" \\$A $"), "$A alpine $A $");
        assert_eq!(r("${A"), "${A");
    }

    #[test]
    fn backtick_escape_windows_style() {
        let text = "# escape=`\r\n\r\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\r\n\
                    RUN powershell -Command `\r\n    New-Item -ItemType Directory C:\\app ; `\r\n    \
                    Write-Host done\r\nWORKDIR C:\\app\r\n";
        let d = ok(text);
        assert_eq!(d.escape, '`');
        assert_eq!(d.eol, "\r\n");
        assert_eq!(keywords(&d), ["FROM", "RUN", "WORKDIR"]);
        let run = &d.instructions[1];
        assert_eq!(
            run.args,
            "powershell -Command     New-Item -ItemType Directory C:\\app ;     Write-Host done"
        );
        assert_eq!((run.line, run.end_line), (4, 6));
        assert!(text_of(text, &run.range).ends_with("Write-Host done"));
        // A backslash is an ordinary character here.
        assert_eq!(d.instructions[2].args, "C:\\app");
        assert_round_trip(text);
    }

    #[test]
    fn comments_and_blank_lines_inside_continuations() {
        let d = ok(NODE_HEREDOC);
        let run = &d.instructions[3];
        assert_eq!(run.keyword, "RUN");
        assert_eq!(run.args, "npm ci     --omit=dev     --no-audit");
        assert_eq!((run.line, run.end_line), (6, 10));
        let inner: Vec<_> = d.comments.iter().filter(|c| c.in_continuation).collect();
        assert_eq!(inner.len(), 1);
        assert_eq!(inner[0].line, 7);
        assert_eq!(
            inner[0].text,
            "keep dev dependencies out of the runtime image"
        );
        assert!(run.range.contains(&inner[0].range.start));
        // Both directives are recognised.
        let names: Vec<_> = d.directives.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["syntax", "escape"]);
        // Mapping args offsets back to the source crosses the skipped lines.
        let at = run.args.find("--no-audit").unwrap();
        let src = run.source_offset(at).unwrap();
        assert_eq!(&NODE_HEREDOC[src..src + 10], "--no-audit");
        assert_eq!(run.source_offset(run.args.len() + 1), None);
        assert_round_trip(NODE_HEREDOC);
    }

    #[test]
    fn continuation_at_end_of_file_ends_the_instruction() {
        let text = "FROM alpine\nRUN echo hi \\";
        let d = ok(text);
        let run = &d.instructions[1];
        assert!(run.eof_continuation);
        assert_eq!(run.args, "echo hi");
        assert_eq!(text_of(text, &run.range), "RUN echo hi \\");
        let text = "FROM alpine\nRUN echo hi \\\n# trailing note\n\n";
        let d = ok(text);
        let run = &d.instructions[1];
        assert!(run.eof_continuation);
        assert_eq!(run.end_line, 2);
        assert!(d.comments[0].in_continuation);
        assert!(!d.instructions[0].eof_continuation);
        assert_round_trip(text);
    }

    #[test]
    fn heredocs() {
        let d = ok(NODE_HEREDOC);
        let text = NODE_HEREDOC;
        let copy = d.instructions.iter().find(|i| i.line == 17).unwrap();
        assert_eq!(copy.keyword, "COPY");
        assert_eq!(copy.end_line, 19);
        assert_eq!(copy.heredocs.len(), 1);
        let h = &copy.heredocs[0];
        assert_eq!(h.delimiter, "EOF");
        assert!(!h.strip_tabs && !h.quoted);
        assert_eq!(
            text_of(text, &h.body),
            "{\"port\": 3000, \"greeting\": \"héllo wörld\"}\n"
        );
        assert_eq!(text_of(text, &h.terminator), "EOF");
        assert_eq!(&text[h.start..h.start + 5], "<<EOF");
        assert!(text_of(text, &copy.range).ends_with("wörld\"}\nEOF"));

        let setup = d.instructions.iter().find(|i| i.line == 20).unwrap();
        assert_eq!(setup.end_line, 24);
        assert_eq!(setup.heredocs[0].delimiter, "SETUP");
        assert!(setup.heredocs[0].strip_tabs);
        assert_eq!(text_of(text, &setup.heredocs[0].terminator), "\tSETUP");

        let two = d.instructions.iter().find(|i| i.line == 25).unwrap();
        let delims: Vec<_> = two.heredocs.iter().map(|h| h.delimiter.as_str()).collect();
        assert_eq!(delims, ["FIRST", "SECOND"]);
        assert!(!two.heredocs[0].quoted && two.heredocs[1].quoted);
        assert_eq!(text_of(text, &two.heredocs[0].body), "first body $HOME\n");
        assert_eq!(text_of(text, &two.heredocs[1].body), "second body $HOME\n");
        assert_eq!(two.end_line, 29);
        // The instruction after the heredocs starts right after the terminator.
        let next = d.instructions.iter().find(|i| i.line == 30).unwrap();
        assert_eq!(next.keyword, "COPY");
        // Lines inside a heredoc body are not comments, even when they start with #.
        let d = ok("FROM alpine\nRUN <<\"EOT\" bash\n# not a comment\necho hi\nEOT\n");
        assert!(d.comments.is_empty());
        assert_eq!(d.instructions[1].heredocs[0].delimiter, "EOT");
        assert!(d.instructions[1].heredocs[0].quoted);
        // Exec form and other instructions never start heredocs; ONBUILD RUN does.
        let d = ok("FROM alpine\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\nLABEL x=\"<<EOF\"\n");
        assert!(d.instructions.iter().all(|i| i.heredocs.is_empty()));
        let d = ok("FROM alpine\nONBUILD RUN <<EOF\necho later\nEOF\nUSER 1\n");
        assert_eq!(d.instructions[1].heredocs.len(), 1);
        assert_eq!(keywords(&d), ["FROM", "ONBUILD", "USER"]);
        // A quoted `<<` is not a heredoc.
        let d = ok("FROM alpine\nRUN echo '<<EOF' > /x\nUSER 1\n");
        assert!(d.instructions[1].heredocs.is_empty());
    }

    #[test]
    fn exec_and_shell_forms() {
        let d = ok(
            "FROM alpine\nCMD [\"gunicorn\", \"app:app\"]\nENTRYPOINT [\"a\", 1]\n\
             RUN [ \"echo\" ]\nCOPY --chown=app:app [\"a b\", \"/dst/\"]\nCMD echo [x]\n",
        );
        let forms: Vec<_> = d.instructions.iter().map(|i| i.form.clone()).collect();
        assert_eq!(
            forms,
            [
                Form::Shell,
                Form::Exec(vec!["gunicorn".into(), "app:app".into()]),
                Form::Shell,
                Form::Exec(vec!["echo".into()]),
                Form::Exec(vec!["a b".into(), "/dst/".into()]),
                Form::Shell,
            ]
        );
        assert_eq!(d.instructions[4].flags, ["--chown=app:app"]);
    }

    #[test]
    fn lowercase_keywords() {
        let text = "from alpine as Base\nrun echo hi\nFrom base\nuser nobody\n";
        let d = ok(text);
        assert_eq!(keywords(&d), ["FROM", "RUN", "FROM", "USER"]);
        assert_eq!(d.instructions[1].keyword_text, "run");
        assert_eq!(d.stages[1].parent, Some(0));
        assert_round_trip(text);
    }

    #[test]
    fn crlf_matches_lf() {
        let lf = PYTHON_WEB;
        let crlf = lf.replace('\n', "\r\n");
        let (a, b) = (ok(lf), ok(&crlf));
        assert_eq!(b.eol, "\r\n");
        assert_eq!(a.instructions.len(), b.instructions.len());
        for (x, y) in a.instructions.iter().zip(&b.instructions) {
            assert_eq!(
                (&x.keyword, &x.args, x.line, x.end_line),
                (&y.keyword, &y.args, y.line, y.end_line)
            );
            assert_eq!(
                text_of(lf, &x.range),
                text_of(&crlf, &y.range).replace('\r', "")
            );
            assert!(!text_of(&crlf, &y.range).ends_with('\r'));
        }
        assert_eq!(a.comments.len(), b.comments.len());
        assert_eq!(a.stages.len(), b.stages.len());
        assert_round_trip(&crlf);
        let heredoc = NODE_HEREDOC.replace('\n', "\r\n");
        let d = ok(&heredoc);
        let copy = d.instructions.iter().find(|i| i.line == 17).unwrap();
        assert_eq!(text_of(&heredoc, &copy.heredocs[0].terminator), "EOF");
        assert_round_trip(&heredoc);
    }

    #[test]
    fn non_ascii_comments_and_values() {
        let text =
            "\u{feff}# Größe: ça va ✓\nFROM debian:12\nLABEL description=\"Café ☕ service\"\n\
                    ENV GREETING=\"grüß dich\"\nRUN echo \"$GREETING\" # ünïcode\n";
        let d = ok(text);
        assert!(d.bom);
        assert_eq!(d.comments[0].text, "Größe: ça va ✓");
        assert_eq!(d.comments[0].range.start, 3);
        assert_eq!(d.instructions[1].args, "description=\"Café ☕ service\"");
        assert_eq!(d.resolve_in_stage(0, "$GREETING"), "grüß dich");
        assert_round_trip(text);
        // Column numbers count characters, not bytes.
        let (line, col, _) = err("FROM debian\nRUN ä && \\\nbläh <<EOF\n");
        assert_eq!((line, col), (3, 6));
    }

    #[test]
    fn legacy_forms_and_multiple_args() {
        let d = ok(NODE_HEREDOC);
        assert_eq!(d.resolve_in_stage(1, "$NODE_ENV"), "production");
        let label = d
            .instructions
            .iter()
            .find(|i| i.keyword == "LABEL")
            .unwrap();
        assert_eq!(label.args, "org.opencontainers.image.title \"Shop front\"");
        // ARG with several names is valid for BuildKit.
        let d = ok("FROM alpine\nARG A B=2\nRUN echo $A $B\n");
        assert_eq!(d.resolve_in_stage(0, "[$A][$B]"), "[][2]");
        let d = ok("FROM alpine\nENV PATH /opt/bin:$PATH and more\n");
        assert_eq!(d.resolve_in_stage(0, "$PATH"), "/opt/bin: and more");
    }

    #[test]
    fn resolve_in_stage_scopes() {
        let text = "ARG VERSION=1.0\nARG ONLY_GLOBAL=g\n\
            FROM alpine AS base\nARG VERSION\nARG LOCAL=l-$VERSION\n\
            ENV APP_HOME=/srv/app DATA=\"$APP_HOME/data\" QUOTED='a b'\nENV LEGACY some value\n\
            FROM base AS child\nENV CHILD=${APP_HOME}/child\n\
            FROM alpine\nRUN true\n";
        let d = ok(text);
        let r = |s, t| d.resolve_in_stage(s, t);
        assert_eq!(r(0, "$VERSION"), "1.0");
        assert_eq!(r(0, "$ONLY_GLOBAL"), "", "global ARGs need re-declaring");
        assert_eq!(r(0, "$LOCAL"), "l-1.0");
        // Pairs in one ENV see the values from before the instruction.
        assert_eq!(r(0, "$DATA"), "/data");
        assert_eq!(r(0, "$QUOTED|$LEGACY"), "a b|some value");
        // ENV and ARG are inherited by a stage built on another.
        assert_eq!(r(1, "$CHILD $VERSION"), "/srv/app/child 1.0");
        assert_eq!(r(2, "[$APP_HOME]"), "[]");
        assert_eq!(r(9, "$X"), "$X");
        // resolve_at sees only what precedes the instruction.
        let env_at = d.instructions.iter().position(|i| i.line == 6).unwrap();
        assert_eq!(d.resolve_at(env_at, "[$APP_HOME][$LOCAL]"), "[][l-1.0]");
        assert_eq!(d.resolve_at(env_at + 1, "$APP_HOME"), "/srv/app");
        assert_eq!(d.resolve_at(1, "$VERSION"), "1.0");
        // ENV wins over ARG of the same name.
        let d = ok("FROM alpine\nARG MODE=arg\nENV MODE=env\nARG MODE=arg2\n");
        assert_eq!(d.resolve_in_stage(0, "$MODE"), "env");
    }

    #[test]
    fn directives_only_at_the_top() {
        let d = ok("# SYNTAX = docker/dockerfile:1\n#escape=`\nFROM alpine\n");
        assert_eq!(d.directives.len(), 2);
        assert_eq!(d.directives[0].name, "syntax");
        assert_eq!(d.directives[0].value, "docker/dockerfile:1");
        assert_eq!(d.escape, '`');
        // After a comment, a blank line or an instruction they are comments.
        for text in [
            "# a comment\n# escape=`\nFROM alpine\n",
            "\n# escape=`\nFROM alpine\n",
            "FROM alpine\n# escape=`\n",
            "# unknown=1\n# escape=`\nFROM alpine\n",
        ] {
            let d = ok(text);
            assert_eq!(d.escape, '\\', "{text:?}");
            assert!(d.comments.iter().any(|c| c.text == "escape=`"));
        }
        let d = ok("# check=skip=JSONArgsRecommended\nFROM alpine\n");
        assert_eq!(d.directives[0].value, "skip=JSONArgsRecommended");
    }

    #[test]
    fn errors_with_positions() {
        let cases: &[(&str, (usize, usize), &str)] = &[
            (
                "FROM alpine\nRUN <<EOF\necho hi\n",
                (2, 5),
                "unterminated heredoc",
            ),
            (
                "FROM alpine\nRUN <<A <<B\na\nA\nb\n",
                (2, 9),
                "unterminated heredoc",
            ),
            ("", (1, 1), "no FROM instruction"),
            ("# only a comment\nARG X=1\n", (1, 1), "no FROM instruction"),
            ("FROM alpine\nRUN echo a\0b\n", (2, 11), "NUL"),
            (
                "FROM alpine\n  FOO bar\n",
                (2, 3),
                "unknown instruction: FOO",
            ),
            (
                "RUN echo hi\nFROM alpine\n",
                (1, 1),
                "RUN before the first FROM",
            ),
            ("ARG X\nFROM alpine AS\n", (2, 1), "FROM requires"),
            (
                "FROM alpine AS 1st\n",
                (1, 1),
                "invalid name for build stage",
            ),
            ("FROM alpine\nENV\n", (2, 1), "ENV requires"),
            ("FROM alpine\nENV A=1 B\n", (2, 1), "can't find ="),
            ("FROM alpine\nENV A\n", (2, 1), "two arguments"),
            ("FROM alpine\nARG\n", (2, 1), "ARG requires"),
            ("# escape=x\nFROM alpine\n", (1, 1), "invalid escape token"),
            (
                "# syntax=a\n# syntax=b\nFROM alpine\n",
                (2, 1),
                "only one syntax",
            ),
        ];
        for (text, pos, message) in cases {
            let (line, col, got) = err(text);
            assert_eq!((line, col), *pos, "{text:?}: {got}");
            assert!(got.contains(message), "{text:?}: {got}");
        }
    }

    #[test]
    fn never_panics_on_truncated_input() {
        for text in [PYTHON_WEB, GO_SERVICE, NODE_HEREDOC] {
            let crlf = text.replace('\n', "\r\n");
            for t in [text, crlf.as_str()] {
                for (i, _) in t.char_indices() {
                    if let Ok(d) = parse(&t[..i]) {
                        for ins in &d.instructions {
                            assert!(t[..i].get(ins.range.clone()).is_some());
                        }
                    }
                }
            }
        }
        for odd in [
            "\\",
            "`",
            "$",
            "${",
            "FROM a\nRUN ${A:-${B",
            "FROM a\nENV A='x",
            "\u{feff}",
        ] {
            let _ = parse(odd);
            let _ = parse(&format!("FROM a\nRUN {odd}\n"));
        }
        // Hostile nesting and unclosed braces: bounded depth, no rescans.
        let deep = format!("{}x{}", "${A:-".repeat(5000), "}".repeat(5000));
        let d = ok(&format!(
            "FROM a\nENV B={deep}\nENV C=$B{}\n",
            "${".repeat(50_000)
        ));
        assert!(d.resolve_in_stage(0, "$B").starts_with("${A:-"));
        let shallow = format!("{}x{}", "${A:-".repeat(3), "}".repeat(3));
        assert_eq!(d.resolve_in_stage(0, &shallow), "x");
    }

    #[test]
    fn round_trip_all_fixtures() {
        for text in [PYTHON_WEB, GO_SERVICE, NODE_HEREDOC] {
            assert_round_trip(text);
            assert_round_trip(text.trim_end());
            assert_round_trip(&text.replace('\n', "\r\n"));
        }
        let d = ok(GO_SERVICE);
        let allow: Vec<_> = d
            .comments
            .iter()
            .filter(|c| c.text.starts_with("harden:"))
            .collect();
        assert_eq!(allow.len(), 1);
        assert_eq!(allow[0].line, 15);
        assert_eq!(
            text_of(GO_SERVICE, &allow[0].range),
            "# harden: allow root-user -- binds port 443 directly, see OPS-77"
        );
    }

    /// dockerfile-parser 0.9 agrees on where each instruction starts and
    /// which keyword it has, for the files it can parse. Its span ends where
    /// ours does, except that for some instructions (FROM) it leaves out
    /// trailing blanks on the last line, which ours keeps (the range runs to
    /// the line ending so that an insertion after it lands on a new line).
    #[test]
    fn agrees_with_dockerfile_parser() {
        let simple =
            "FROM alpine:3.20 AS base  \nRUN apk add --no-cache \\  \n      curl \\\n      jq \t\n\
                      USER 1000\nFROM base\nENTRYPOINT [\"jq\"]\n";
        let mut compared = 0;
        for text in [PYTHON_WEB, GO_SERVICE, simple] {
            let theirs = dockerfile_parser::Dockerfile::parse(text)
                .unwrap_or_else(|e| panic!("dockerfile-parser refused a fixture: {e}"));
            let ours = ok(text);
            assert_eq!(theirs.instructions.len(), ours.instructions.len());
            for (t, o) in theirs.instructions.iter().zip(&ours.instructions) {
                let span = t.span();
                assert_eq!(span.start, o.range.start);
                // Ours runs to the end of the line; for some instructions
                // (FROM) its grammar stops before trailing blanks.
                assert!(span.end <= o.range.end, "{:?}", &text[span.start..span.end]);
                assert!(text[span.end..o.range.end].trim().is_empty());
                compared += 1;
            }
        }
        assert!(compared >= 30, "only {compared} instructions compared");
        // It refuses the heredoc fixture, which is why harden has its own lexer.
        assert!(dockerfile_parser::Dockerfile::parse(NODE_HEREDOC).is_err());
    }
}
