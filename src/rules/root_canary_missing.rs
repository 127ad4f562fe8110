//! `root-canary-missing`: a few lines at program start that warn on stderr
//! when the process runs as uid 0 make a regression to root visible in the
//! logs, long after the Dockerfile review is forgotten. harden follows the
//! final stage's CMD/ENTRYPOINT to the program's entry source in the build
//! context, reports when it has no uid-0 check, and points at a ready
//! snippet. It never edits application source: that is the author's call.

use super::{Output, RuleInfo};
use crate::dockerfile::analyze::DfCtx;
use crate::dockerfile::Form;
use crate::finding::Finding;
use std::path::{Component, Path, PathBuf};

pub const NAME: &str = "root-canary-missing";

pub const INFO: RuleInfo = RuleInfo {
    name: NAME,
    summary: "the program's entry point does not warn when it runs as uid 0",
    explanation: "A container that silently runs as root again after a base-image bump or a \
Dockerfile edit is only noticed in an audit. A root canary, a few lines at program start that \
print one warning on stderr when the effective uid is 0 and carry on, makes the regression \
visible in the logs the day it ships. harden follows the final stage's CMD/ENTRYPOINT to the \
entry source in the build context (Python script, module or ASGI/WSGI app, Node script or \
`npm start`, shell entrypoint, Go main package) and reports when no uid-0 check is there; a \
Java entry is always reported since its source is not read. It never edits application \
source. Ready snippets: `harden explain root-canary-missing --lang LANG`, where LANG is one \
of python, node, go, java, sh. Exempt a Dockerfile with \
`# harden: allow root-canary-missing -- <reason>`.",
    fix: "",
};

/// The runtimes harden ships a canary snippet for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    #[value(alias = "py")]
    Python,
    #[value(alias = "js", alias = "javascript")]
    Node,
    #[value(alias = "golang")]
    Go,
    Java,
    #[value(alias = "shell")]
    Sh,
}

impl Lang {
    pub const ALL: [Lang; 5] = [Lang::Python, Lang::Node, Lang::Go, Lang::Java, Lang::Sh];

    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Node => "node",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::Sh => "sh",
        }
    }

    /// The ready snippet, from templates/canary/.
    pub fn snippet(self) -> &'static str {
        match self {
            Lang::Python => include_str!("../../templates/canary/python.py"),
            Lang::Node => include_str!("../../templates/canary/node.js"),
            Lang::Go => include_str!("../../templates/canary/go.go"),
            Lang::Java => include_str!("../../templates/canary/java.java"),
            Lang::Sh => include_str!("../../templates/canary/sh.sh"),
        }
    }

    /// Where the snippet goes, said in the note that shows it.
    fn placement(self, file: &str) -> String {
        match self {
            Lang::Go => format!("add this file next to `{file}` as canary.go"),
            Lang::Java => "add this class and call `RootCanary.warn(...)` first in main()".into(),
            _ => format!("add this at the start of `{file}`"),
        }
    }
}

/// What the command of the image starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Source files in the build context; the first is the one named, and a
    /// uid-0 check in any of them counts (package `__init__.py` files run on
    /// import, every file of a Go main package can hold an `init`).
    Source { lang: Lang, files: Vec<PathBuf> },
    /// A runtime whose source harden does not read.
    Unchecked { lang: Lang, program: String },
}

/// The entry and the instruction (CMD or ENTRYPOINT) that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub entry: Entry,
    pub instruction: usize,
}

pub fn check_dockerfile(ctx: &DfCtx, out: &mut Output) {
    if ctx.allows(NAME) {
        return;
    }
    let Some(context) = ctx.hints.context.as_deref() else {
        return;
    };
    let Some(found) = entry(ctx, context) else {
        return;
    };
    let Some(ins) = ctx.df.instructions.get(found.instruction) else {
        return;
    };
    let (line, col) = ctx.src.line_col(ins.range.start);
    let (lang, shown, message, lead) = match &found.entry {
        Entry::Source { lang, files } => {
            if files
                .iter()
                .any(|f| read_source(f).is_some_and(|t| has_canary(*lang, &t)))
            {
                return;
            }
            let Some(first) = files.first() else {
                return;
            };
            let shown = relative(first, context);
            let message = format!(
                "`{shown}`, started by this {}, does not warn when it runs as uid 0; see `harden explain {NAME} --lang {}`",
                ins.keyword,
                lang.name()
            );
            let lead = format!("`{shown}` has no root canary");
            (*lang, shown, message, lead)
        }
        Entry::Unchecked { lang, program } => {
            let message = format!(
                "`{program}` starts a {} program whose source harden does not read: make sure it warns when it runs as uid 0; see `harden explain {NAME} --lang {}`",
                capitalised(lang.name()),
                lang.name()
            );
            let lead = format!("`{program}` is not checked for a root canary; if it has none");
            (*lang, program.clone(), message, lead)
        }
    };
    out.findings.push(
        Finding::new(NAME, line, col, message)
            .report_only()
            .warning(),
    );
    out.review(
        &ctx.subject(),
        NAME,
        format!(
            "{lead}, {} (harden does not edit application source):\n{}",
            lang.placement(&shown),
            lang.snippet().trim_end()
        ),
    );
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `path` relative to the build context, with `/` separators.
fn relative(path: &Path, context: &Path) -> String {
    path.strip_prefix(context)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Source files larger than this are not read: an entry point is small.
const MAX_SOURCE: u64 = 1 << 20;

fn read_source(path: &Path) -> Option<String> {
    crate::fsio::read_lossy_within(path, MAX_SOURCE.min(crate::fsio::max_file_size()))
}

// ---------------------------------------------------------------------------
// The command the image runs.

/// One word of the command and the instruction it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    text: String,
    from: usize,
}

/// The final stage's effective ENTRYPOINT + CMD as words (shell form run
/// through `/bin/sh -c`, as Docker does).
fn command(ctx: &DfCtx) -> Option<Vec<Word>> {
    let mut entrypoint = None;
    let mut cmd = None;
    for (i, ins) in ctx.chain_instructions() {
        match ins.keyword.as_str() {
            // A new ENTRYPOINT resets the CMD inherited from an earlier stage.
            "ENTRYPOINT" => {
                entrypoint = Some(i);
                cmd = None;
            }
            "CMD" => cmd = Some(i),
            _ => {}
        }
    }
    let words = |i: usize| -> (Vec<Word>, bool) {
        let Some(ins) = ctx.df.instructions.get(i) else {
            return (Vec::new(), false);
        };
        let w = |t: &str| Word {
            text: t.to_string(),
            from: i,
        };
        match &ins.form {
            Form::Exec(v) => (v.iter().map(|t| w(t)).collect(), true),
            Form::Shell => (vec![w("/bin/sh"), w("-c"), w(&ins.args)], false),
        }
    };
    let mut argv = Vec::new();
    let mut exec_entrypoint = true;
    if let Some(e) = entrypoint {
        let (w, exec) = words(e);
        argv = w;
        exec_entrypoint = exec;
    }
    if let Some(c) = cmd {
        // A shell-form ENTRYPOINT ignores CMD.
        if exec_entrypoint {
            argv.extend(words(c).0);
        }
    }
    (!argv.is_empty()).then_some(argv)
}

/// Split a shell command line into its simple commands (at `&&`, `||`,
/// `;`, `|`, `&` and line breaks), each a list of words with quotes removed.
/// `$(...)` and backticks stay inside their word.
fn shell_commands(s: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    let end_word = |words: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(&n) = chars.peek() {
                                if matches!(n, '"' | '\\' | '$' | '`') {
                                    word.push(n);
                                    chars.next();
                                    continue;
                                }
                            }
                            word.push('\\');
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(n) => word.push(n),
                    None => {}
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                in_word = true;
                word.push('$');
                let mut depth = 0usize;
                for q in chars.by_ref() {
                    word.push(q);
                    match q {
                        '(' => depth += 1,
                        ')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '`' => {
                in_word = true;
                word.push('`');
                for q in chars.by_ref() {
                    word.push(q);
                    if q == '`' {
                        break;
                    }
                }
            }
            '#' if !in_word => {
                // A comment runs to the end of the line.
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                end_word(&mut words, &mut word, &mut in_word);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            ';' | '&' | '|' | '\n' => {
                end_word(&mut words, &mut word, &mut in_word);
                if matches!(c, '&' | '|') && chars.peek() == Some(&c) {
                    chars.next();
                }
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() => end_word(&mut words, &mut word, &mut in_word),
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut words, &mut word, &mut in_word);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// The command a shell line finally runs: its last simple command.
fn last_command(s: &str, from: usize) -> Vec<Word> {
    shell_commands(s)
        .pop()
        .unwrap_or_default()
        .into_iter()
        .map(|text| Word { text, from })
        .collect()
}

fn base(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

/// Strip what only wraps the program: `exec`, `env`, init shims (tini,
/// dumb-init), privilege droppers (`gosu user`), and `sh -c "..."`.
fn unwrap(mut argv: Vec<Word>) -> Vec<Word> {
    for _ in 0..12 {
        while argv.first().is_some_and(|w| is_assignment(&w.text)) {
            argv.remove(0);
        }
        let Some(first) = argv.first() else {
            break;
        };
        let skip_flags = |argv: &mut Vec<Word>, n: usize| {
            argv.drain(..n.min(argv.len()));
            while argv.first().is_some_and(|w| w.text.starts_with('-')) {
                let stop = argv.first().is_some_and(|w| w.text == "--");
                argv.remove(0);
                if stop {
                    break;
                }
            }
        };
        match base(&first.text) {
            "exec" | "nohup" | "--" => {
                argv.remove(0);
            }
            "env" | "tini" | "tini-static" | "dumb-init" | "catatonit" => skip_flags(&mut argv, 1),
            "gosu" | "su-exec" => skip_flags(&mut argv, 2),
            s if SHELLS.contains(&s) => {
                let at_c = argv.iter().skip(1).position(|w| {
                    w.text.starts_with('-') && !w.text.starts_with("--") && w.text.contains('c')
                });
                match at_c.and_then(|i| argv.get(i + 2)) {
                    Some(script) => {
                        argv = last_command(&script.text, script.from);
                    }
                    None => break,
                }
            }
            _ => break,
        }
    }
    argv
}

// ---------------------------------------------------------------------------
// From container paths back to the build context.

/// `a/./b/../c` joined onto `base` when relative; always absolute, no
/// trailing slash; `..` never climbs above `/`.
fn join_abs(base: &str, p: &str) -> String {
    let full = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{base}/{p}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            x => parts.push(x),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A relative path inside the build context, or `None` when it would leave it.
fn inside(context: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel.trim_start_matches('/'));
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    Some(context.join(rel))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

fn exists(p: &Path, kind: Kind) -> bool {
    match kind {
        Kind::File => p.is_file(),
        Kind::Dir => p.is_dir(),
    }
}

/// A COPY or ADD: sources, absolute destination, and the stage it copies from.
struct Copy {
    sources: Vec<String>,
    dest: String,
    dest_is_dir: bool,
    /// `None`: the build context; `Some(stage)`: an earlier stage.
    from: Option<usize>,
}

/// Shell glob with `*` and `?` on one path segment.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some(pi);
                mark = ni;
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    ni = mark;
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

/// Where a file in the image comes from.
enum Origin {
    Context(PathBuf),
    Stage(usize, String),
}

/// Directories and files searched by name at most this deep in the build context.
const SEARCH_DEPTH: usize = 8;
/// And at most this many entries visited.
const SEARCH_ENTRIES: usize = 20_000;

struct Resolver<'a, 'c> {
    ctx: &'a DfCtx<'c>,
    context: &'a Path,
}

impl Resolver<'_, '_> {
    /// The stage and the stages it builds on, oldest first.
    fn chain(&self, stage: usize) -> Vec<usize> {
        let mut chain = vec![stage];
        let mut cur = stage;
        while let Some(p) = self.ctx.df.stages.get(cur).and_then(|s| s.parent) {
            if chain.contains(&p) {
                break;
            }
            chain.push(p);
            cur = p;
        }
        chain.reverse();
        chain
    }

    /// Instruction indices of the stage's chain before `before`, in build order.
    fn instructions(&self, stage: usize, before: usize) -> Vec<usize> {
        self.chain(stage)
            .into_iter()
            .filter_map(|s| self.ctx.df.stages.get(s))
            .flat_map(|s| s.instructions.clone())
            .filter(|&i| i < before)
            .collect()
    }

    fn stage_end(&self, stage: usize) -> usize {
        self.ctx
            .df
            .stages
            .get(stage)
            .map_or(0, |s| s.instructions.end)
    }

    /// The working directory in effect at instruction `before`.
    fn workdir(&self, stage: usize, before: usize) -> String {
        let mut wd = "/".to_string();
        for i in self.instructions(stage, before) {
            let Some(ins) = self.ctx.df.instructions.get(i) else {
                continue;
            };
            if ins.keyword == "WORKDIR" {
                let dir = self.ctx.df.resolve_at(i, &ins.args);
                wd = join_abs(&wd, dir.trim());
            }
        }
        wd
    }

    fn stage_named(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(s) = self
            .ctx
            .df
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Some(s.index);
        }
        name.parse::<usize>()
            .ok()
            .filter(|&i| i < self.ctx.df.stages.len())
    }

    fn copy(&self, stage: usize, i: usize) -> Option<Copy> {
        let df = self.ctx.df;
        let ins = df.instructions.get(i)?;
        if !matches!(ins.keyword.as_str(), "COPY" | "ADD") || !ins.heredocs.is_empty() {
            return None;
        }
        let from = match ins.flags.iter().find_map(|f| f.strip_prefix("--from=")) {
            Some(name) => Some(self.stage_named(&df.resolve_at(i, name))?),
            None => None,
        };
        let rest = ins.args_after_flags(df.escape);
        let words: Vec<String> = if rest.starts_with('[') {
            serde_json::from_str(rest).ok()?
        } else {
            rest.split_whitespace()
                .map(|w| df.resolve_at(i, w))
                .collect()
        };
        let (dest, sources) = words.split_last()?;
        if sources.is_empty() {
            return None;
        }
        let dest_is_dir = dest.ends_with('/') || sources.len() > 1;
        let dest = join_abs(&self.workdir(stage, i), dest);
        Some(Copy {
            sources: sources.to_vec(),
            dest,
            dest_is_dir,
            from,
        })
    }

    /// Where the image's `path` (absolute) comes from, looking at the COPY
    /// and ADD instructions of `stage` before `before`, latest first.
    fn trace(&self, stage: usize, before: usize, path: &str, kind: Kind) -> Option<Origin> {
        for i in self.instructions(stage, before).into_iter().rev() {
            let Some(owner) = self.ctx.df.instructions.get(i).and_then(|x| x.stage) else {
                continue;
            };
            let Some(copy) = self.copy(owner, i) else {
                continue;
            };
            for src in copy.sources.iter().rev() {
                if src.contains("://") || src.starts_with("git@") {
                    continue;
                }
                let src_clean = join_abs("/", src);
                let src_rel = src_clean.trim_start_matches('/');
                let src_base = base(&src_clean);
                let src_is_dir = match copy.from {
                    None => inside(self.context, src_rel).is_some_and(|p| p.is_dir()),
                    Some(_) => src.ends_with('/') || src.ends_with("/."),
                };
                let mut candidates: Vec<String> = Vec::new();
                let within = if copy.dest == "/" {
                    Some(path.trim_start_matches('/'))
                } else {
                    path.strip_prefix(&copy.dest)
                        .and_then(|r| r.strip_prefix('/'))
                };
                if path == copy.dest && !copy.dest_is_dir && !src_is_dir {
                    candidates.push(src_rel.to_string());
                }
                if let Some(rel) = within.filter(|r| !r.is_empty()) {
                    if src.contains(['*', '?']) {
                        if !rel.contains('/') && glob(src_base, rel) {
                            let dir = src_rel.rsplit_once('/').map_or("", |(d, _)| d);
                            candidates.push(format!("{dir}/{rel}"));
                        }
                    } else if src_is_dir {
                        candidates.push(format!("{src_rel}/{rel}"));
                    } else if rel == src_base {
                        candidates.push(src_rel.to_string());
                    } else if copy.from.is_some() && !copy.dest_is_dir {
                        candidates.push(format!("{src_rel}/{rel}"));
                    }
                }
                for c in candidates {
                    match copy.from {
                        None => {
                            if let Some(p) = inside(self.context, &c).filter(|p| exists(p, kind)) {
                                return Some(Origin::Context(p));
                            }
                        }
                        Some(s) => return Some(Origin::Stage(s, join_abs("/", &c))),
                    }
                }
            }
        }
        None
    }

    /// The build-context file or directory the image's `path` comes from,
    /// following copies between stages.
    fn locate_in(&self, stage: usize, before: usize, path: &str, kind: Kind) -> Option<PathBuf> {
        let (mut stage, mut before, mut path) = (stage, before, path.to_string());
        for _ in 0..8 {
            match self.trace(stage, before, &path, kind)? {
                Origin::Context(p) => return Some(p),
                Origin::Stage(s, p) => {
                    before = self.stage_end(s);
                    stage = s;
                    path = p;
                }
            }
        }
        None
    }

    fn final_end(&self) -> usize {
        self.ctx.df.instructions.len()
    }

    /// A source file of the final image: traced through COPY, else found by
    /// name in the build context (the match sharing most trailing path
    /// components with `path` wins; at least `min_tail` must agree).
    fn locate(&self, path: &str, min_tail: usize) -> Option<PathBuf> {
        let stage = self.ctx.final_stage();
        self.locate_in(stage, self.final_end(), path, Kind::File)
            .or_else(|| self.by_name(path, min_tail))
    }

    fn by_name(&self, path: &str, min_tail: usize) -> Option<PathBuf> {
        let want: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let name = *want.last()?;
        let walker = ignore::WalkBuilder::new(self.context)
            .max_depth(Some(SEARCH_DEPTH))
            .filter_entry(|e| {
                !matches!(
                    e.file_name().to_str(),
                    Some("node_modules" | "__pycache__" | "venv" | "site-packages" | "target")
                )
            })
            .build();
        let mut best: Option<(usize, usize, PathBuf)> = None;
        for entry in walker.take(SEARCH_ENTRIES).flatten() {
            if entry.file_name().to_str() != Some(name)
                || !entry.file_type().is_some_and(|t| t.is_file())
            {
                continue;
            }
            let rel = relative(entry.path(), self.context);
            let have: Vec<&str> = rel.split('/').collect();
            let tail = want
                .iter()
                .rev()
                .zip(have.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            if tail < min_tail.max(1) {
                continue;
            }
            let key = (usize::MAX - tail, have.len(), entry.path().to_path_buf());
            if best
                .as_ref()
                .is_none_or(|b| (b.0, b.1, &b.2) > (key.0, key.1, &key.2))
            {
                best = Some(key);
            }
        }
        best.map(|b| b.2)
    }

    // -----------------------------------------------------------------------
    // From the command to the entry.

    fn entry(&self, argv: Vec<Word>, wd: &str, depth: usize) -> Option<Located> {
        if depth > 4 {
            return None;
        }
        let argv = unwrap(argv);
        let first = argv.first()?;
        let args = argv.get(1..).unwrap_or(&[]);
        let prog = base(&first.text);
        let at = first.from;
        if is_python(prog) {
            return self.python(args, wd, at);
        }
        match prog {
            "uvicorn" | "gunicorn" | "hypercorn" | "daphne" => self.server_app(args, wd, at),
            "fastapi" => self.fastapi(args, wd, at),
            "node" | "nodejs" => self.node(args, wd, at),
            "npm" | "yarn" | "pnpm" => self.npm(prog, args, wd, depth),
            "java" => Some(Located {
                entry: Entry::Unchecked {
                    lang: Lang::Java,
                    program: argv
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                },
                instruction: at,
            }),
            s if SHELLS.contains(&s) => {
                let script = args.iter().find(|w| !w.text.starts_with('-'))?;
                let file = self.locate(&join_abs(wd, &script.text), 1)?;
                Some(source(Lang::Sh, vec![file], script.from))
            }
            _ => self.program(first, wd),
        }
    }

    /// A program named by path (or found on PATH): a script in the build
    /// context, or a Go binary built in an earlier stage.
    fn program(&self, word: &Word, wd: &str) -> Option<Located> {
        let name = word.text.as_str();
        let paths: Vec<String> = if name.contains('/') {
            vec![join_abs(wd, name)]
        } else {
            let path = self
                .ctx
                .df
                .resolve_in_stage(self.ctx.final_stage(), "${PATH}");
            let path = if path.trim().is_empty() {
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()
            } else {
                path
            };
            path.split(':')
                .filter(|d| d.starts_with('/'))
                .map(|d| join_abs(d, name))
                .collect()
        };
        let stage = self.ctx.final_stage();
        let mut file = paths
            .iter()
            .find_map(|p| self.locate_in(stage, self.final_end(), p, Kind::File));
        // A script named by its path may be copied in a way harden cannot
        // follow (a RUN mv, an ADD of an archive): look for it by name.
        if file.is_none() && name.contains('/') && has_script_extension(name) {
            file = paths.first().and_then(|p| self.by_name(p, 1));
        }
        if let Some(f) = file {
            if let Some(lang) = script_lang(&f) {
                return Some(source(lang, vec![f], word.from));
            }
        }
        paths.iter().find_map(|p| self.go_main(p, word.from))
    }

    fn python(&self, args: &[Word], wd: &str, at: usize) -> Option<Located> {
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            match t {
                "-m" => {
                    let module = args.get(i + 1)?;
                    return self.python_module(&module.text, args.get(i + 2..)?, wd, module.from);
                }
                "-c" => return None,
                "-X" | "-W" | "--check-hash-based-pycs" => i += 2,
                _ if t.starts_with("-m") && t.len() > 2 => {
                    let module = t.get(2..)?;
                    return self.python_module(module, args.get(i + 1..)?, wd, a.from);
                }
                _ if t.starts_with('-') => i += 1,
                _ => {
                    let file = self.locate(&join_abs(wd, t), 1)?;
                    return Some(source(Lang::Python, vec![file], at.max(a.from)));
                }
            }
        }
        None
    }

    fn python_module(&self, module: &str, rest: &[Word], wd: &str, at: usize) -> Option<Located> {
        match module {
            "uvicorn" | "gunicorn" | "hypercorn" | "daphne" => self.server_app(rest, wd, at),
            "fastapi" => self.fastapi(rest, wd, at),
            _ => self.module_files(module, wd, "__main__.py", at),
        }
    }

    /// The file of a dotted module (`a/b.py`, or the package's `init`
    /// file), with the `__init__.py` of every package on the way.
    fn module_files(&self, module: &str, base_dir: &str, init: &str, at: usize) -> Option<Located> {
        if module.is_empty()
            || !module
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            return None;
        }
        let rel = module.replace('.', "/");
        let depth = rel.split('/').count();
        let (file, parents) = [
            (format!("{rel}.py"), depth - 1),
            (format!("{rel}/{init}"), depth),
        ]
        .into_iter()
        .find_map(|(cand, parents)| {
            let tail = cand.split('/').count();
            self.locate(&join_abs(base_dir, &cand), tail)
                .map(|f| (f, parents))
        })?;
        let mut files = vec![file.clone()];
        let mut dir = file.parent();
        for _ in 0..parents {
            let Some(d) = dir else { break };
            let init = d.join("__init__.py");
            if init.is_file() && init != file {
                files.push(init);
            }
            dir = d.parent();
        }
        Some(source(Lang::Python, files, at))
    }

    /// `uvicorn app.main:app`, `gunicorn pkg.wsgi:application`: the module
    /// of the app, relative to `--app-dir`/`--chdir` when given.
    fn server_app(&self, args: &[Word], wd: &str, at: usize) -> Option<Located> {
        const VALUE_FLAGS: &[&str] = &[
            "--host",
            "--port",
            "-b",
            "--bind",
            "-w",
            "--workers",
            "-k",
            "--worker-class",
            "--log-level",
            "--log-config",
            "--timeout",
            "-t",
            "-c",
            "--config",
            "--root-path",
            "--env-file",
            "--app-dir",
            "--chdir",
            "--uds",
            "--fd",
            "--threads",
            "--access-logfile",
            "--error-logfile",
            "--access-log",
            "--error-log",
            "-n",
            "--name",
            "--pythonpath",
            "-u",
            "--user",
            "-g",
            "--group",
            "--limit-concurrency",
            "--backlog",
            "--timeout-keep-alive",
            "--graceful-timeout",
            "--keep-alive",
            "--max-requests",
            "--max-requests-jitter",
            "--forwarded-allow-ips",
            "--ssl-keyfile",
            "--ssl-certfile",
            "--certfile",
            "--keyfile",
            "--loop",
            "--http",
            "--ws",
            "--lifespan",
            "--interface",
            "--reload-dir",
            "-p",
            "-e",
        ];
        let mut base_dir = wd.to_string();
        let mut positional: Vec<&Word> = Vec::new();
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            if VALUE_FLAGS.contains(&t) {
                if matches!(t, "--app-dir" | "--chdir") {
                    if let Some(v) = args.get(i + 1) {
                        base_dir = join_abs(wd, &v.text);
                    }
                }
                i += 2;
                continue;
            }
            if let Some(v) = t
                .strip_prefix("--app-dir=")
                .or_else(|| t.strip_prefix("--chdir="))
            {
                base_dir = join_abs(wd, v);
            } else if !t.starts_with('-') {
                positional.push(a);
            }
            i += 1;
        }
        let module_of = |w: &&Word| -> Option<String> {
            let m = w.text.split(':').next()?;
            let ok = m.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && m.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
            ok.then(|| m.to_string())
        };
        let spec = positional
            .iter()
            .filter(|w| w.text.contains(':'))
            .find_map(|w| module_of(w).map(|m| (m, w.from)))
            .or_else(|| {
                positional
                    .iter()
                    .find_map(|w| module_of(w).map(|m| (m, w.from)))
            });
        let (module, from) = spec?;
        self.module_files(&module, &base_dir, "__init__.py", at.max(from))
    }

    /// `fastapi run [path]`: the path given, or the files the FastAPI CLI
    /// looks for by default.
    fn fastapi(&self, args: &[Word], wd: &str, at: usize) -> Option<Located> {
        const VALUE_FLAGS: &[&str] = &[
            "--host",
            "--port",
            "--app",
            "--workers",
            "--root-path",
            "--entrypoint",
            "-e",
        ];
        let mut i = 0;
        let mut path: Option<&Word> = None;
        let mut entrypoint: Option<&Word> = None;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            if matches!(t, "--entrypoint" | "-e") {
                entrypoint = args.get(i + 1);
            }
            if VALUE_FLAGS.contains(&t) {
                i += 2;
                continue;
            }
            let subcommand = i == 0 && matches!(t, "run" | "dev");
            if !t.starts_with('-') && !subcommand && path.is_none() {
                path = Some(a);
            }
            i += 1;
        }
        if let Some(e) = entrypoint {
            let module = e.text.split(':').next().unwrap_or("");
            return self.module_files(module, wd, "__init__.py", at.max(e.from));
        }
        if let Some(p) = path {
            let file = self.locate(&join_abs(wd, &p.text), 1)?;
            return Some(source(Lang::Python, vec![file], at.max(p.from)));
        }
        let stage = self.ctx.final_stage();
        [
            "main.py",
            "app.py",
            "api.py",
            "app/main.py",
            "app/app.py",
            "app/api.py",
        ]
        .iter()
        .find_map(|c| self.locate_in(stage, self.final_end(), &join_abs(wd, c), Kind::File))
        .map(|f| source(Lang::Python, vec![f], at))
    }

    fn node(&self, args: &[Word], wd: &str, at: usize) -> Option<Located> {
        const VALUE_FLAGS: &[&str] = &[
            "-r",
            "--require",
            "--import",
            "--loader",
            "--experimental-loader",
            "-C",
            "--conditions",
            "--env-file",
            "--title",
        ];
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            match t {
                "-e" | "--eval" | "-p" | "--print" | "-i" | "--interactive" => return None,
                _ if VALUE_FLAGS.contains(&t) => i += 2,
                _ if t.starts_with('-') => i += 1,
                _ => return self.node_script(t, wd, at.max(a.from)),
            }
        }
        None
    }

    /// A Node script as `node` resolves it: the file, with `.js`, `.mjs`
    /// or `.cjs` added, or a directory's package `main` or `index.js`.
    fn node_script(&self, script: &str, wd: &str, at: usize) -> Option<Located> {
        let path = join_abs(wd, script);
        let stage = self.ctx.final_stage();
        let exact = ["", ".js", ".mjs", ".cjs", "/index.js"]
            .iter()
            .find_map(|ext| {
                self.locate_in(stage, self.final_end(), &format!("{path}{ext}"), Kind::File)
            });
        let file = match exact {
            Some(f) => f,
            None => {
                if let Some(main) = self.package_json(&path).and_then(|p| main_of(&p)) {
                    return self.node_script(&main, &path, at);
                }
                self.by_name(&path, 1)
                    .filter(|f| has_script_extension(&f.to_string_lossy()))?
            }
        };
        Some(source(Lang::Node, vec![file], at))
    }

    /// The parsed package.json of a directory of the image.
    fn package_json(&self, dir: &str) -> Option<serde_json::Value> {
        let stage = self.ctx.final_stage();
        let file = self.locate_in(
            stage,
            self.final_end(),
            &join_abs(dir, "package.json"),
            Kind::File,
        )?;
        serde_json::from_str(&read_source(&file)?).ok()
    }

    /// `npm start`, `npm run NAME`, `yarn NAME`: the package's script.
    fn npm(&self, prog: &str, args: &[Word], wd: &str, depth: usize) -> Option<Located> {
        let mut words = args.iter().filter(|w| !w.text.starts_with('-'));
        let sub = words.next()?;
        let name = match sub.text.as_str() {
            "start" => "start".to_string(),
            "run" | "run-script" => words.next()?.text.clone(),
            other if prog != "npm" => other.to_string(),
            _ => return None,
        };
        let package = self.package_json(wd);
        let script = package
            .as_ref()
            .and_then(|p| p.get("scripts")?.get(&name)?.as_str().map(str::to_string));
        if let Some(script) = script {
            let argv = last_command(&script, sub.from);
            if let Some(found) = self.entry(argv, wd, depth + 1) {
                return Some(found);
            }
        }
        // Without a start script npm runs `node server.js`.
        if name == "start" {
            let main = package.as_ref().and_then(main_of);
            return self.node_script(main.as_deref().unwrap_or("server.js"), wd, sub.from);
        }
        None
    }

    /// A Go binary at `path` built by `go build` in some stage: the main
    /// package's files in the build context.
    fn go_main(&self, path: &str, at: usize) -> Option<Located> {
        let final_stage = self.ctx.final_stage();
        let (stage, path) = match self.trace(final_stage, self.final_end(), path, Kind::File) {
            Some(Origin::Stage(s, p)) => (s, p),
            Some(Origin::Context(_)) => return None,
            None => (final_stage, path.to_string()),
        };
        let (run, pkg_dir) = self.go_build(stage, &path)?;
        let dir = self.go_package_dir(stage, run, &pkg_dir)?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "go")
                    && !p.to_string_lossy().ends_with("_test.go")
                    && read_source(p).is_some_and(|t| is_package_main(&t))
            })
            .collect();
        files.sort();
        // Name the file that holds main() first.
        if let Some(i) = files
            .iter()
            .position(|f| read_source(f).is_some_and(|t| t.contains("func main(")))
        {
            let f = files.remove(i);
            files.insert(0, f);
        }
        (!files.is_empty()).then(|| source(Lang::Go, files, at))
    }

    /// The `go build` in `stage` that writes `binary`: its RUN and the
    /// package directory (absolute in that stage, or a module path).
    fn go_build(&self, stage: usize, binary: &str) -> Option<(usize, String)> {
        const VALUE_FLAGS: &[&str] = &[
            "-o",
            "-ldflags",
            "-gcflags",
            "-asmflags",
            "-gccgoflags",
            "-tags",
            "-mod",
            "-modfile",
            "-p",
            "-pkgdir",
            "-installsuffix",
            "-buildmode",
            "-compiler",
            "-overlay",
            "-pgo",
            "-toolexec",
            "-C",
        ];
        let mut fallback = None;
        for i in self
            .instructions(stage, self.stage_end(stage))
            .into_iter()
            .rev()
        {
            let Some(ins) = self.ctx.df.instructions.get(i) else {
                continue;
            };
            if ins.keyword != "RUN" || !ins.args.contains("go build") {
                continue;
            }
            let mut wd = self.workdir(stage, i);
            let text = ins.args_after_flags(self.ctx.df.escape);
            for cmd in shell_commands(text) {
                let mut words = cmd.iter().skip_while(|w| is_assignment(w)).peekable();
                let first = words.next().map(String::as_str);
                if first == Some("cd") {
                    if let Some(d) = words.next() {
                        wd = join_abs(&wd, d);
                    }
                    continue;
                }
                if first != Some("go") || words.next().map(String::as_str) != Some("build") {
                    continue;
                }
                let rest: Vec<&String> = words.collect();
                let mut out: Option<String> = None;
                let mut pkg: Option<String> = None;
                let mut j = 0;
                while let Some(w) = rest.get(j) {
                    if let Some(o) = w.strip_prefix("-o=") {
                        out = Some(o.to_string());
                    } else if VALUE_FLAGS.contains(&w.as_str()) {
                        if w.as_str() == "-o" {
                            out = rest.get(j + 1).map(|s| s.to_string());
                        }
                        j += 1;
                    } else if !w.starts_with('-') && pkg.is_none() {
                        pkg = Some(w.to_string());
                    }
                    j += 1;
                }
                let pkg = pkg.unwrap_or_else(|| ".".into());
                let pkg_name = base(pkg.trim_end_matches('/')).to_string();
                let built = match out {
                    Some(o) if o.ends_with('/') => join_abs(&join_abs(&wd, &o), &pkg_name),
                    Some(o) => join_abs(&wd, &o),
                    None => join_abs(&wd, &pkg_name),
                };
                let pkg_dir = if pkg.starts_with('.') || pkg.starts_with('/') {
                    join_abs(&wd, &pkg)
                } else {
                    pkg
                };
                if built == binary {
                    return Some((i, pkg_dir));
                }
                if base(&built) == base(binary) && fallback.is_none() {
                    fallback = Some((i, pkg_dir));
                }
            }
        }
        fallback
    }

    /// The build-context directory of a Go package built at `run`.
    fn go_package_dir(&self, stage: usize, run: usize, pkg: &str) -> Option<PathBuf> {
        if pkg.starts_with('/') {
            if let Some(d) = self.locate_in(stage, run, pkg, Kind::Dir) {
                return Some(d);
            }
            // `COPY . .` into the WORKDIR is the usual shape; when the copy
            // cannot be followed, try the path under the context directly.
            let wd = self.workdir(stage, run);
            let rel = pkg.strip_prefix(&wd)?.trim_start_matches('/');
            return inside(self.context, rel).filter(|p| p.is_dir());
        }
        // A module path: strip the module named in go.mod.
        let gomod = read_source(&self.context.join("go.mod"))?;
        let module = gomod
            .lines()
            .find_map(|l| l.trim().strip_prefix("module "))?
            .trim()
            .trim_matches('"');
        let rel = pkg.strip_prefix(module)?.trim_start_matches('/');
        inside(self.context, rel).filter(|p| p.is_dir())
    }
}

fn source(lang: Lang, files: Vec<PathBuf>, instruction: usize) -> Located {
    Located {
        entry: Entry::Source { lang, files },
        instruction,
    }
}

fn is_python(prog: &str) -> bool {
    prog.strip_prefix("python")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn is_package_main(text: &str) -> bool {
    text.lines().any(|l| {
        l.trim_start()
            .strip_prefix("package ")
            .is_some_and(|n| n.trim() == "main" || n.trim_start().starts_with("main "))
    })
}

fn has_script_extension(name: &str) -> bool {
    [".py", ".js", ".mjs", ".cjs", ".sh", ".bash"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// The `main` of a package.json.
fn main_of(package: &serde_json::Value) -> Option<String> {
    package
        .get("main")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The language of a script, by its extension or its `#!` line.
fn script_lang(path: &Path) -> Option<Lang> {
    let name = path.file_name()?.to_string_lossy();
    if name.ends_with(".py") {
        return Some(Lang::Python);
    }
    if name.ends_with(".js") || name.ends_with(".mjs") || name.ends_with(".cjs") {
        return Some(Lang::Node);
    }
    if name.ends_with(".sh") || name.ends_with(".bash") {
        return Some(Lang::Sh);
    }
    let text = read_source(path)?;
    let shebang = text.lines().next()?.strip_prefix("#!")?;
    let mut words = shebang.split_whitespace();
    let mut interp = base(words.next()?);
    if interp == "env" {
        interp = words.find(|w| !w.starts_with('-'))?;
    }
    if is_python(interp) {
        Some(Lang::Python)
    } else if matches!(interp, "node" | "nodejs") {
        Some(Lang::Node)
    } else if SHELLS.contains(&interp) {
        Some(Lang::Sh)
    } else {
        None
    }
}

/// Find the program's entry from the final stage's CMD/ENTRYPOINT.
pub fn entry(ctx: &DfCtx, context: &Path) -> Option<Located> {
    let argv = command(ctx)?;
    let r = Resolver { ctx, context };
    let wd = r.workdir(ctx.final_stage(), r.final_end());
    r.entry(argv, &wd, 0)
}

// ---------------------------------------------------------------------------
// Is there a uid-0 check?

/// The lines of code, comments removed (a `#` or `//` outside quotes, and
/// `/* */` blocks for Node and Go).
fn code_lines(lang: Lang, text: &str) -> Vec<String> {
    let hash = matches!(lang, Lang::Python | Lang::Sh);
    let mut out = Vec::new();
    let mut in_block = false;
    for raw in text.lines() {
        let mut line = String::new();
        let mut quote: Option<char> = None;
        let mut chars = raw.chars().peekable();
        let mut prev = ' ';
        while let Some(c) = chars.next() {
            if in_block {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    in_block = false;
                }
                continue;
            }
            match quote {
                Some(q) => {
                    if c == '\\' {
                        line.push(c);
                        if let Some(n) = chars.next() {
                            line.push(n);
                        }
                        continue;
                    }
                    if c == q {
                        quote = None;
                    }
                }
                None => {
                    if matches!(c, '"' | '\'' | '`') {
                        quote = Some(c);
                    } else if (hash && c == '#' && prev.is_whitespace())
                        || (!hash && c == '/' && chars.peek() == Some(&'/'))
                    {
                        break;
                    } else if !hash && c == '/' && chars.peek() == Some(&'*') {
                        chars.next();
                        in_block = true;
                        continue;
                    }
                }
            }
            // Shell command substitution and backticks are code, not strings.
            if lang == Lang::Sh && quote == Some('`') {
                quote = None;
            }
            line.push(c);
            prev = c;
        }
        if !line.trim().is_empty() {
            out.push(line);
        }
    }
    out
}

/// The expressions that read the uid, per language.
fn uid_reads(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python => &["getuid()", "geteuid()"],
        Lang::Node => &["getuid()", "geteuid()", "getuid?.()", "geteuid?.()"],
        Lang::Go => &["Getuid()", "Geteuid()"],
        Lang::Sh => &["id -u", "id -un", "$EUID", "${EUID}", "$UID", "${UID}"],
        Lang::Java => &[],
    }
}

const OPS: &[&str] = &["===", "!==", "==", "!=", "-eq", "-ne", "="];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `0` or `root`, not followed by more of a word or number.
fn starts_with_zero(s: &str) -> bool {
    let s = s.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\''));
    ["0", "root"].iter().any(|lit| {
        s.strip_prefix(lit)
            .is_some_and(|r| !r.starts_with(|c: char| is_word_char(c) || c == '.'))
    })
}

fn ends_with_zero(s: &str) -> bool {
    let s = s.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\''));
    ["0", "root"].iter().any(|lit| {
        s.strip_suffix(lit)
            .is_some_and(|r| !r.ends_with(|c: char| is_word_char(c) || c == '.'))
    })
}

/// What precedes a uid read, without its receiver (`os.`, `process.`,
/// `/usr/bin/`) and the opening of a substitution or call.
fn before_read(lang: Lang, before: &str) -> &str {
    let b = before
        .trim_end_matches(|c: char| is_word_char(c) || c == '.' || (lang == Lang::Sh && c == '/'));
    b.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '$' | '(' | '`'))
}

/// Whether the uid read at `line[start..end]` is compared with zero (or
/// tested for truth, where the language allows).
fn compared_with_zero(lang: Lang, line: &str, start: usize, end: usize) -> bool {
    let (Some(before), Some(after)) = (line.get(..start), line.get(end..)) else {
        return false;
    };
    let after = after.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '`' | '}')
    });
    if OPS
        .iter()
        .any(|op| after.strip_prefix(op).is_some_and(starts_with_zero))
    {
        return true;
    }
    let before = before_read(lang, before);
    if OPS
        .iter()
        .any(|op| before.strip_suffix(op).is_some_and(ends_with_zero))
    {
        return true;
    }
    // Truthiness (`if not os.geteuid():`) only when nothing compares the value.
    if after.starts_with(['=', '!', '<', '>', '-']) {
        return false;
    }
    match lang {
        Lang::Python => {
            let b = before.trim_end_matches(|c: char| c.is_whitespace() || c == '(');
            b.ends_with("not") || b.ends_with("if") || b.ends_with("elif")
        }
        Lang::Node => {
            let b = before.trim_end();
            b.ends_with('!') || b.ends_with("if (") || b.ends_with("if(")
        }
        Lang::Sh => before.trim_end().ends_with("case") && after.starts_with("in"),
        _ => false,
    }
}

/// The variable a uid read is assigned to: `uid = os.getuid()`,
/// `uid := os.Getuid()`, `const uid = process.getuid()`, `uid=$(id -u)`.
fn assigned_name(lang: Lang, before: &str) -> Option<String> {
    let b = before_read(lang, before).trim_end();
    let b = b.strip_suffix(":=").or_else(|| b.strip_suffix('='))?;
    if b.ends_with(['=', '!', '<', '>']) {
        return None;
    }
    let b = b.trim_end();
    let name: String = b
        .chars()
        .rev()
        .take_while(|&c| is_word_char(c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// Whether a source already warns (or refuses) when it runs as uid 0.
pub fn has_canary(lang: Lang, text: &str) -> bool {
    let code = code_lines(lang, text);
    let reads = uid_reads(lang);
    let mut vars: Vec<String> = Vec::new();
    for line in &code {
        for read in reads {
            for (pos, _) in line.match_indices(read) {
                let end = pos + read.len();
                // `id -u` is not `id -un`, and `$UID` is not `$UIDS`.
                if line[end..].starts_with(|c: char| is_word_char(c))
                    && read.ends_with(is_word_char)
                {
                    continue;
                }
                if compared_with_zero(lang, line, pos, end) {
                    return true;
                }
                if let Some(name) = assigned_name(lang, &line[..pos]) {
                    vars.push(name);
                }
            }
        }
    }
    if lang == Lang::Sh
        && code
            .iter()
            .any(|l| l.contains("case") && reads.iter().any(|r| l.contains(r)))
        && code.iter().any(|l| {
            let t = l.trim_start().trim_start_matches(['"', '\'', '(']);
            t.starts_with("0)")
                || t.starts_with("0\")")
                || t.starts_with("0'")
                || t.starts_with("0|")
        })
    {
        return true;
    }
    for var in &vars {
        let refs = if lang == Lang::Sh {
            vec![format!("${var}"), format!("${{{var}}}")]
        } else {
            vec![var.clone()]
        };
        for line in &code {
            for r in &refs {
                for (pos, _) in line.match_indices(r.as_str()) {
                    let end = pos + r.len();
                    let before_ok = !line[..pos].ends_with(|c: char| is_word_char(c) || c == '.');
                    let after_ok = !line[end..].starts_with(is_word_char);
                    if before_ok && after_ok && compared_with_zero(lang, line, pos, end) {
                        return true;
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::analyze::{DfCtx, Hints};
    use crate::source::Source;

    fn words(v: &[&str]) -> Vec<Word> {
        v.iter()
            .map(|t| Word {
                text: t.to_string(),
                from: 0,
            })
            .collect()
    }

    fn texts(v: &[Word]) -> Vec<&str> {
        v.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn shell_lines_split_into_commands() {
        assert_eq!(
            shell_commands("cd /app && exec python 'my app.py' --name \"a \\\"b\\\"\""),
            vec![
                vec!["cd", "/app"],
                vec!["exec", "python", "my app.py", "--name", "a \"b\""]
            ]
        );
        assert_eq!(
            shell_commands("[ \"$(id -u)\" -eq 0 ] || exit 1; run # a comment\nnext"),
            vec![
                vec!["[", "$(id -u)", "-eq", "0", "]"],
                vec!["exit", "1"],
                vec!["run"],
                vec!["next"]
            ]
        );
        assert!(shell_commands("").is_empty());
        // Unbalanced quotes and substitutions end at the end of the text.
        assert_eq!(shell_commands("echo 'open"), vec![vec!["echo", "open"]]);
        assert_eq!(shell_commands("x $(a (b"), vec![vec!["x", "$(a (b"]]);
    }

    #[test]
    fn wrappers_are_unwrapped() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &["tini", "-g", "--", "python", "app.py"],
                &["python", "app.py"],
            ),
            (&["/usr/bin/dumb-init", "node", "s.js"], &["node", "s.js"]),
            (&["gosu", "app", "uvicorn", "a:b"], &["uvicorn", "a:b"]),
            (&["env", "-i", "A=1", "node", "s.js"], &["node", "s.js"]),
            (
                &["/bin/sh", "-c", "cd /srv && exec PORT=1 python -m api"],
                &["python", "-m", "api"],
            ),
            (
                &["bash", "-ec", "gunicorn app.wsgi"],
                &["gunicorn", "app.wsgi"],
            ),
            (&["sh", "/entry.sh", "run"], &["sh", "/entry.sh", "run"]),
            (&["sh", "-c"], &["sh", "-c"]),
            (&["exec"], &[]),
        ];
        for (input, want) in cases {
            assert_eq!(texts(&unwrap(words(input))), *want, "{input:?}");
        }
    }

    #[test]
    fn paths_and_globs() {
        assert_eq!(join_abs("/app", "./src/../main.py"), "/app/main.py");
        assert_eq!(join_abs("/app", "/opt/x/"), "/opt/x");
        assert_eq!(join_abs("/", "../../etc"), "/etc");
        assert_eq!(join_abs("/", "."), "/");
        assert!(inside(Path::new("/ctx"), "../etc/passwd").is_none());
        assert_eq!(
            inside(Path::new("/ctx"), "/a/b"),
            Some(PathBuf::from("/ctx/a/b"))
        );
        assert!(glob("*.py", "main.py"));
        assert!(glob("ma?n.*", "main.py"));
        assert!(!glob("*.py", "main.pyc"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "ac"));
    }

    #[test]
    fn python_checks() {
        let yes = [
            "import os\nif os.geteuid() == 0:\n    print('root', file=sys.stderr)\n",
            "import os\nif 0 == os.getuid():\n    pass\n",
            "from os import geteuid\nif not geteuid():\n    warn()\n",
            "uid = os.getuid()\nif uid == 0:  # root\n    log.warning('root')\n",
            "if os.getuid() != 0:\n    pass\nelse:\n    warn()\n",
        ];
        for y in yes {
            assert!(has_canary(Lang::Python, y), "{y}");
        }
        let no = [
            "import os\n# if os.getuid() == 0: warn\n",
            "print(os.getuid())\n",
            "if len(items) == 0:\n    pass\nprint(os.getuid())\n",
            "uid = os.getuid()\nif uid == 1000:\n    pass\n",
            "x = os.getuid() == 10\n",
            "",
        ];
        for n in no {
            assert!(!has_canary(Lang::Python, n), "{n}");
        }
    }

    #[test]
    fn node_go_and_shell_checks() {
        assert!(has_canary(
            Lang::Node,
            "if (process.getuid && process.getuid() === 0) { console.error('root'); }"
        ));
        assert!(has_canary(
            Lang::Node,
            "const uid = process.geteuid?.();\nif (uid === 0) warn();"
        ));
        assert!(has_canary(Lang::Node, "if (!process.geteuid()) warn();"));
        assert!(!has_canary(
            Lang::Node,
            "/* if (process.getuid() === 0) */\nconsole.log(process.getuid());"
        ));
        assert!(!has_canary(
            Lang::Node,
            "// process.getuid() === 0\nconst url = 'http://x'; // === 0"
        ));
        assert!(has_canary(
            Lang::Go,
            "func main() {\n\tif uid := os.Getuid(); uid == 0 {\n\t\tlog.Print(\"root\")\n\t}\n}"
        ));
        assert!(!has_canary(
            Lang::Go,
            "func main() {\n\tfmt.Println(os.Getuid())\n}"
        ));
        for y in [
            "if [ \"$(id -u)\" -eq 0 ]; then echo root >&2; fi",
            "[ `id -u` = 0 ] && echo root >&2",
            "if [[ $EUID == 0 ]]; then :; fi",
            "if [ \"$(/usr/bin/id -un)\" = \"root\" ]; then :; fi",
            "uid=$(id -u)\nif [ \"$uid\" -ne 0 ]; then exec \"$@\"; fi",
            "case \"$(id -u)\" in\n  0) echo root >&2 ;;\nesac",
            "test 0 -eq \"${UID}\" && echo root",
        ] {
            assert!(has_canary(Lang::Sh, y), "{y}");
        }
        for n in [
            "# [ \"$(id -u)\" -eq 0 ]\nexec \"$@\"",
            "echo \"running as $(id -u)\"",
            "[ \"$(id -u)\" -eq 1000 ]",
            "[ \"$UIDS\" = 0 ]",
        ] {
            assert!(!has_canary(Lang::Sh, n), "{n}");
        }
    }

    #[test]
    fn every_snippet_counts_as_a_canary() {
        for lang in [Lang::Python, Lang::Node, Lang::Go, Lang::Sh] {
            assert!(has_canary(lang, lang.snippet()), "{}", lang.name());
        }
        for lang in Lang::ALL {
            assert!(
                lang.snippet().contains(
                    "is running as root (uid 0); this container should run as a non-root user"
                ),
                "{}",
                lang.name()
            );
            assert!(INFO.explanation.contains(lang.name()));
        }
    }

    /// A build context in a temporary directory.
    struct Project {
        dir: tempfile::TempDir,
    }

    impl Project {
        fn new(files: &[(&str, &str)]) -> Self {
            let dir = tempfile::tempdir().unwrap();
            for (path, text) in files {
                let p = dir.path().join(path);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, text).unwrap();
            }
            Project { dir }
        }

        fn run(&self, dockerfile: &str) -> (Option<Located>, Output) {
            let src = Source::new("Dockerfile".into(), "Dockerfile".into(), dockerfile.into());
            let df = crate::dockerfile::parse(dockerfile).unwrap();
            let hints = Hints {
                context: Some(self.dir.path().to_path_buf()),
                ..Hints::default()
            };
            let ctx = DfCtx::new(&src, &df, &hints).unwrap();
            let mut out = Output::default();
            check_dockerfile(&ctx, &mut out);
            (entry(&ctx, self.dir.path()), out)
        }

        /// The entry's language and files, relative to the context.
        fn entry(&self, dockerfile: &str) -> Option<(Lang, Vec<String>)> {
            match self.run(dockerfile).0?.entry {
                Entry::Source { lang, files } => Some((
                    lang,
                    files.iter().map(|f| relative(f, self.dir.path())).collect(),
                )),
                Entry::Unchecked { lang, .. } => Some((lang, Vec::new())),
            }
        }
    }

    fn one(lang: Lang, file: &str) -> Option<(Lang, Vec<String>)> {
        Some((lang, vec![file.to_string()]))
    }

    #[test]
    fn python_entries() {
        let p = Project::new(&[
            ("src/app/__init__.py", ""),
            ("src/app/main.py", "app = App()\n"),
            ("src/app/wsgi.py", "application = make()\n"),
            ("tools/main.py", "print(1)\n"),
            ("manage.py", "run()\n"),
        ]);
        assert_eq!(
            p.entry("FROM python:3.12\nWORKDIR /code\nCOPY src/ /code/\nCMD uvicorn app.main:app --host 0.0.0.0\n"),
            Some((
                Lang::Python,
                vec!["src/app/main.py".into(), "src/app/__init__.py".into()]
            ))
        );
        assert_eq!(
            p.entry("FROM python:3.12\nWORKDIR /srv\nCOPY . .\nCMD [\"gunicorn\", \"-k\", \"uvicorn.workers.UvicornWorker\", \"--chdir\", \"src\", \"app.wsgi\"]\n"),
            Some((
                Lang::Python,
                vec!["src/app/wsgi.py".into(), "src/app/__init__.py".into()]
            ))
        );
        // Shell form with a migration first: the long-running command counts.
        assert_eq!(
            p.entry("FROM python:3.12\nWORKDIR /srv\nCOPY manage.py ./\nCMD python manage.py migrate && exec python3 -u manage.py serve\n"),
            one(Lang::Python, "manage.py")
        );
        // A copy harden cannot follow: found by name, the closest path wins.
        assert_eq!(
            p.entry("FROM python:3.12\nRUN fetch-app\nCMD [\"python\", \"/opt/app/main.py\"]\n"),
            one(Lang::Python, "src/app/main.py")
        );
        // A module that does not exist in the context.
        assert_eq!(
            p.entry("FROM python:3.12\nCOPY . .\nCMD [\"python\", \"-m\", \"http.server\"]\n"),
            None
        );
        assert_eq!(
            p.entry("FROM python:3.12\nCMD [\"python\", \"-c\", \"print(1)\"]\n"),
            None
        );
    }

    #[test]
    fn fastapi_cli_defaults() {
        let p = Project::new(&[("app/main.py", "app = FastAPI()\n")]);
        assert_eq!(
            p.entry("FROM python:3.12\nWORKDIR /code\nCOPY ./app /code/app\nCMD [\"fastapi\", \"run\", \"--port\", \"80\"]\n"),
            one(Lang::Python, "app/main.py")
        );
        assert_eq!(
            p.entry("FROM python:3.12\nWORKDIR /code\nCOPY ./app /code/app\nCMD [\"fastapi\", \"run\", \"app/main.py\", \"--port\", \"80\"]\n"),
            one(Lang::Python, "app/main.py")
        );
    }

    #[test]
    fn node_entries() {
        let p = Project::new(&[
            (
                "package.json",
                r#"{"main": "lib/server.js", "scripts": {"serve": "cross-env X=1 node dist/app.js"}}"#,
            ),
            ("lib/server.js", "listen()\n"),
            ("dist/app.js", "listen()\n"),
            ("bin/www", "#!/usr/bin/env node\nlisten()\n"),
        ]);
        assert_eq!(
            p.entry("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"-r\", \"dotenv/config\", \"lib/server\"]\n"),
            one(Lang::Node, "lib/server.js")
        );
        assert_eq!(
            p.entry("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \".\"]\n"),
            one(Lang::Node, "lib/server.js")
        );
        // No start script: npm falls back on package.json main here.
        assert_eq!(
            p.entry("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"npm\", \"start\"]\n"),
            one(Lang::Node, "lib/server.js")
        );
        // `cross-env` is not followed, so the script cannot be resolved.
        assert_eq!(
            p.entry("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"yarn\", \"serve\"]\n"),
            None
        );
        assert_eq!(
            p.entry("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"./bin/www\"]\n"),
            one(Lang::Node, "bin/www")
        );
    }

    #[test]
    fn shell_entrypoints() {
        let p = Project::new(&[
            ("docker/entrypoint.sh", "#!/bin/sh\nexec \"$@\"\n"),
            ("scripts/start", "#!/usr/bin/env bash\nexec app\n"),
        ]);
        assert_eq!(
            p.entry("FROM debian\nCOPY docker/entrypoint.sh /\nENTRYPOINT [\"/entrypoint.sh\"]\nCMD [\"app\"]\n"),
            one(Lang::Sh, "docker/entrypoint.sh")
        );
        assert_eq!(
            p.entry("FROM debian\nCOPY scripts/ /usr/local/bin/\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"start\"]\n"),
            one(Lang::Sh, "scripts/start")
        );
        assert_eq!(
            p.entry(
                "FROM debian\nCOPY docker/*.sh /opt/\nCMD [\"bash\", \"/opt/entrypoint.sh\"]\n"
            ),
            one(Lang::Sh, "docker/entrypoint.sh")
        );
        // A shell-form ENTRYPOINT ignores CMD.
        assert_eq!(
            p.entry("FROM debian\nCOPY scripts/start /start\nENTRYPOINT exec /start\nCMD [\"ignored.sh\"]\n"),
            one(Lang::Sh, "scripts/start")
        );
    }

    #[test]
    fn go_entries() {
        let main = "package main\n\nfunc main() {}\n";
        let p = Project::new(&[
            ("go.mod", "module example.com/svc\n\ngo 1.22\n"),
            ("cmd/api/main.go", main),
            ("cmd/api/extra.go", "package main\n\nvar x = 1\n"),
            ("cmd/api/main_test.go", "package main\n"),
            ("cmd/api/doc.txt", "package main\n"),
            ("worker/main.go", main),
        ]);
        assert_eq!(
            p.entry("FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/ ./cmd/api\nFROM scratch\nCOPY --from=build /out/api /api\nENTRYPOINT [\"/api\"]\n"),
            Some((
                Lang::Go,
                vec!["cmd/api/main.go".into(), "cmd/api/extra.go".into()]
            ))
        );
        // Module path, `cd` in the RUN, copy of a whole directory between stages.
        assert_eq!(
            p.entry("FROM golang AS b\nCOPY . /go/src/svc\nRUN cd /go/src/svc && go build -o bin/worker example.com/svc/worker\nFROM alpine\nCOPY --from=b /go/src/svc/bin/ /usr/local/bin/\nCMD [\"worker\"]\n"),
            one(Lang::Go, "worker/main.go")
        );
        // Single stage, no -o: the binary is named after the package.
        assert_eq!(
            p.entry(
                "FROM golang\nWORKDIR /w\nCOPY . .\nRUN go build ./worker\nCMD [\"./worker\"]\n"
            ),
            one(Lang::Go, "worker/main.go")
        );
        // A binary that no stage builds.
        assert_eq!(
            p.entry("FROM alpine\nCOPY --from=ghcr.io/x/tool:1 /tool /tool\nCMD [\"/tool\"]\n"),
            None
        );
    }

    #[test]
    fn findings_and_exceptions() {
        let p = Project::new(&[
            ("main.py", "import os\nprint('hi')\n"),
            (
                "ok.py",
                "import os\nif os.geteuid() == 0:\n    print('root')\n",
            ),
        ]);
        let (_, out) =
            p.run("FROM python:3.12\nWORKDIR /app\nCOPY . .\n  CMD [\"python\", \"main.py\"]\n");
        assert_eq!(out.findings.len(), 1);
        let f = &out.findings[0];
        assert_eq!((f.rule, f.line, f.col), (NAME, 4, 3));
        assert!(!f.fixable);
        assert_eq!(f.severity, crate::finding::Severity::Warning);
        assert!(f.message.contains("`main.py`"), "{}", f.message);
        assert!(f.message.contains("--lang python"));
        assert!(!f.message.contains('\n'));
        assert_eq!(out.notes.len(), 1);
        assert!(out.notes[0]
            .text
            .contains(Lang::Python.snippet().trim_end()));

        let (_, out) =
            p.run("FROM python:3.12\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"ok.py\"]\n");
        assert!(out.findings.is_empty());

        let (_, out) = p.run("FROM python:3.12\n# harden: allow root-canary-missing -- batch job, logs are not kept\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"main.py\"]\n");
        assert!(out.findings.is_empty() && out.notes.is_empty());

        // The finding sits on the instruction that names the program.
        let (_, out) = p.run("FROM python:3.12\nWORKDIR /app\nCOPY . .\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"python\", \"main.py\"]\n");
        assert_eq!(out.findings.first().map(|f| f.line), Some(5));

        let (_, out) = p.run("FROM eclipse-temurin:21\nCMD [\"java\", \"-jar\", \"/app.jar\"]\n");
        assert_eq!(out.findings.len(), 1);
        assert!(out.findings[0].message.contains("java -jar /app.jar"));
        assert!(out.notes[0].text.contains("RootCanary"));

        // Nothing to run, or nothing found: no finding.
        let (_, out) = p.run("FROM python:3.12\nRUN true\n");
        assert!(out.findings.is_empty());
        let (_, out) = p.run("FROM nginx\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n");
        assert!(out.findings.is_empty());
    }
}
