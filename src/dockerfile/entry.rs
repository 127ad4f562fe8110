//! The program a Dockerfile's image starts, traced back to its source in
//! the build context: the final stage's ENTRYPOINT + CMD are split into
//! shell words, launchers and wrappers (`tini`, `gosu`, `sh -c`, `uvicorn`,
//! `npm start`...) are stepped over using `templates/launchers.toml`, and
//! the path the image runs is followed through COPY/ADD (between stages
//! too) to a file in the context, or to the Go package built into it.
//! Rules use it to look at the entry source; it reads files, never writes.

use super::shell_words::{self, basename, is_assignment};
use super::{Dockerfile, Form};
use crate::glob::Glob;
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The launcher tables, compiled in: `templates/launchers.toml` as build.rs
/// converts it to JSON, what a run parses (several times faster than TOML).
const LAUNCHERS_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/launchers.json"));
/// The file as written, which the tests compare the JSON copy with.
#[cfg(test)]
const LAUNCHERS: &str = include_str!("../../templates/launchers.toml");

/// `templates/launchers.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Launchers {
    wrappers: Wrappers,
    python: Python,
    fastapi: FastApi,
    node: Node,
    java: Java,
    ruby: Ruby,
    go: Go,
    search: Search,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrappers {
    prefixes: Vec<String>,
    init: Vec<String>,
    privilege_droppers: Vec<String>,
    shells: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Python {
    interpreter_value_flags: Vec<String>,
    servers: Vec<String>,
    server_value_flags: Vec<String>,
    server_dir_flags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FastApi {
    programs: Vec<String>,
    subcommands: Vec<String>,
    value_flags: Vec<String>,
    entrypoint_flags: Vec<String>,
    default_files: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Node {
    programs: Vec<String>,
    value_flags: Vec<String>,
    inline_flags: Vec<String>,
    package_managers: Vec<String>,
    run_subcommands: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Java {
    programs: Vec<String>,
    value_flags: Vec<String>,
    jar_flags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ruby {
    programs: Vec<String>,
    value_flags: Vec<String>,
    bundlers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Go {
    build_value_flags: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Search {
    skip_dirs: Vec<String>,
}

/// Parsed once. A unit test proves the compiled-in file parses; were it
/// not to, no launcher is known and fewer entries are found, nothing worse.
fn launchers() -> &'static Launchers {
    static CELL: OnceLock<Launchers> = OnceLock::new();
    CELL.get_or_init(|| serde_json::from_str(LAUNCHERS_JSON).unwrap_or_default())
}

/// Whether `list` holds `word`.
fn has(list: &[String], word: &str) -> bool {
    list.iter().any(|w| w == word)
}

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
    #[value(alias = "rb")]
    Ruby,
}

impl Lang {
    pub const ALL: [Lang; 6] = [
        Lang::Python,
        Lang::Node,
        Lang::Go,
        Lang::Java,
        Lang::Sh,
        Lang::Ruby,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Node => "node",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::Sh => "sh",
            Lang::Ruby => "ruby",
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

/// `path` relative to the build context, with `/` separators.
pub fn relative(path: &Path, context: &Path) -> String {
    path.strip_prefix(context)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Source files larger than this are not read: an entry point is small.
const MAX_SOURCE: u64 = 1 << 20;

/// A source file's text, or `None` when it is missing, not a file or too
/// large.
pub fn read_source(path: &Path) -> Option<String> {
    crate::fsio::read_lossy_within(path, MAX_SOURCE.min(crate::fsio::max_file_size()))
}

// ---------------------------------------------------------------------------

/// One word of the command and the instruction it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Word {
    text: String,
    from: usize,
}

/// The final stage's effective ENTRYPOINT + CMD as words (shell form run
/// through `/bin/sh -c`, as Docker does).
fn command(df: &Dockerfile, target: usize) -> Option<Vec<Word>> {
    let mut entrypoint = None;
    let mut cmd = None;
    let chain = df.chain(target);
    let instructions = chain
        .iter()
        .filter_map(|&s| df.stages.get(s))
        .flat_map(|s| s.instructions.clone());
    for i in instructions {
        let Some(ins) = df.instructions.get(i) else {
            continue;
        };
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
        let Some(ins) = df.instructions.get(i) else {
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

/// The command a shell line finally runs: its last simple command.
fn last_command(s: &str, from: usize) -> Vec<Word> {
    shell_words::commands(s)
        .pop()
        .unwrap_or_default()
        .into_iter()
        .map(|text| Word { text, from })
        .collect()
}

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
        let wrappers = &launchers().wrappers;
        match basename(&first.text) {
            p if has(&wrappers.prefixes, p) => {
                argv.remove(0);
            }
            p if has(&wrappers.init, p) => skip_flags(&mut argv, 1),
            p if has(&wrappers.privilege_droppers, p) => skip_flags(&mut argv, 2),
            s if has(&wrappers.shells, s) => {
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
    let whole = if p.starts_with('/') { "" } else { base };
    let mut parts: Vec<&str> = Vec::new();
    for part in whole.split('/').chain(p.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            x => parts.push(x),
        }
    }
    let mut out = String::with_capacity(base.len() + p.len() + 1);
    for part in &parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
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
        Kind::File => crate::fsio::is_file(p),
        Kind::Dir => crate::fsio::is_dir(p),
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

/// Where a file in the image comes from.
enum Origin {
    Context(PathBuf),
    Stage(usize, String),
}

/// Directories and files searched by name at most this deep in the build context.
const SEARCH_DEPTH: usize = 8;
/// And at most this many entries visited.
const SEARCH_ENTRIES: usize = 20_000;

struct Resolver<'a> {
    df: &'a Dockerfile,
    /// The stage that is built (the final one unless a target is given).
    target: usize,
    context: &'a Path,
    /// Each instruction's [`Self::copy`], read at its first use: a module
    /// is looked for under several names (`x.js`, `x/index.js`, ...), and
    /// each look walks back through the same COPY lines, every one asking
    /// for the working directory from the start of its stage.
    copies: std::cell::RefCell<Vec<Option<Option<std::rc::Rc<Copy>>>>>,
}

impl Resolver<'_> {
    /// Instruction indices of the stage's chain before `before`, in build order.
    fn instructions(&self, stage: usize, before: usize) -> Vec<usize> {
        self.df
            .chain(stage)
            .into_iter()
            .filter_map(|s| self.df.stages.get(s))
            .flat_map(|s| s.instructions.clone())
            .filter(|&i| i < before)
            .collect()
    }

    fn stage_end(&self, stage: usize) -> usize {
        self.df.stages.get(stage).map_or(0, |s| s.instructions.end)
    }

    /// The working directory in effect at instruction `before`.
    fn workdir(&self, stage: usize, before: usize) -> String {
        let mut wd = "/".to_string();
        for i in self.instructions(stage, before) {
            let Some(ins) = self.df.instructions.get(i) else {
                continue;
            };
            if ins.keyword == "WORKDIR" {
                let dir = self.df.resolve_at(i, &ins.args);
                wd = join_abs(&wd, dir.trim());
            }
        }
        wd
    }

    fn stage_named(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(s) = self
            .df
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Some(s.index);
        }
        name.parse::<usize>()
            .ok()
            .filter(|&i| i < self.df.stages.len())
    }

    /// [`Self::copy`] of instruction `i` of `stage` (its own), remembered.
    fn copy_at(&self, stage: usize, i: usize) -> Option<std::rc::Rc<Copy>> {
        if let Some(known) = self.copies.borrow().get(i).and_then(Option::as_ref) {
            return known.clone();
        }
        let read = self.copy(stage, i).map(std::rc::Rc::new);
        let mut copies = self.copies.borrow_mut();
        if copies.len() <= i {
            copies.resize(i + 1, None);
        }
        copies[i] = Some(read.clone());
        read
    }

    fn copy(&self, stage: usize, i: usize) -> Option<Copy> {
        let df = self.df;
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
            let Some(owner) = self.df.instructions.get(i).and_then(|x| x.stage) else {
                continue;
            };
            let Some(copy) = self.copy_at(owner, i) else {
                continue;
            };
            for src in copy.sources.iter().rev() {
                if src.contains("://") || src.starts_with("git@") {
                    continue;
                }
                let src_clean = join_abs("/", src);
                let src_rel = src_clean.trim_start_matches('/');
                let src_base = basename(&src_clean);
                let src_is_dir = match copy.from {
                    None => inside(self.context, src_rel).is_some_and(|p| crate::fsio::is_dir(&p)),
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
                        let matches = Glob::path(src_base).is_ok_and(|g| g.is_match(rel));
                        if !rel.contains('/') && matches {
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
        self.df.instructions.len()
    }

    /// A source file of the final image: traced through COPY, else found by
    /// name in the build context (the match sharing most trailing path
    /// components with `path` wins; at least `min_tail` must agree).
    fn locate(&self, path: &str, min_tail: usize) -> Option<PathBuf> {
        let stage = self.target;
        self.locate_in(stage, self.final_end(), path, Kind::File)
            .or_else(|| self.by_name(path, min_tail))
    }

    fn by_name(&self, path: &str, min_tail: usize) -> Option<PathBuf> {
        let want: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let name = *want.last()?;
        // The `.gitignore` files inside the context count (a stale `build/`
        // copy is not the entry), whether or not the context is a
        // repository's root; the ancestors' and the user's global ignore
        // files are not read: they say nothing of what a build copies, and
        // reading them for every Dockerfile of a large tree cost more than
        // the search itself.
        let walker = ignore::WalkBuilder::new(self.context)
            .parents(false)
            .git_ignore(false)
            .git_global(false)
            .git_exclude(false)
            .add_custom_ignore_filename(".gitignore")
            .max_depth(Some(SEARCH_DEPTH))
            .filter_entry(|e| {
                !e.file_name()
                    .to_str()
                    .is_some_and(|n| has(&launchers().search.skip_dirs, n))
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
        let prog = basename(&first.text);
        let at = first.from;
        if is_python(prog) {
            return self.python(args, wd, at);
        }
        let l = launchers();
        match prog {
            p if has(&l.python.servers, p) => self.server_app(args, wd, at),
            p if has(&l.fastapi.programs, p) => self.fastapi(args, wd, at),
            p if has(&l.node.programs, p) => self.node(args, wd, at),
            p if has(&l.node.package_managers, p) => self.npm(prog, args, wd, depth),
            p if has(&l.java.programs, p) => self.java(&argv, wd, at),
            p if has(&l.ruby.programs, p) => self.ruby(args, wd, at),
            p if has(&l.ruby.bundlers, p) && args.first().is_some_and(|w| w.text == "exec") => {
                self.entry(args.get(1..).unwrap_or(&[]).to_vec(), wd, depth + 1)
            }
            s if has(&l.wrappers.shells, s) => {
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
            let path = self.df.resolve_in_stage(self.target, "${PATH}");
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
        let stage = self.target;
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

    /// `java File.java` (single-file source launch) names the source;
    /// a jar or a class is a program whose source harden does not read.
    fn java(&self, argv: &[Word], wd: &str, at: usize) -> Option<Located> {
        let java = &launchers().java;
        let unchecked = || Located {
            entry: Entry::Unchecked {
                lang: Lang::Java,
                program: argv
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            },
            instruction: at,
        };
        let mut i = 1;
        while let Some(a) = argv.get(i) {
            let t = a.text.as_str();
            match t {
                _ if has(&java.jar_flags, t) => break,
                _ if has(&java.value_flags, t) => i += 2,
                _ if t.starts_with('-') => i += 1,
                _ if t.ends_with(".java") => {
                    return match self.locate(&join_abs(wd, t), 1) {
                        Some(file) => Some(source(Lang::Java, vec![file], at.max(a.from))),
                        None => Some(unchecked()),
                    };
                }
                _ => break,
            }
        }
        Some(unchecked())
    }

    /// `ruby [flags] app.rb`: the script.
    fn ruby(&self, args: &[Word], wd: &str, at: usize) -> Option<Located> {
        let ruby = &launchers().ruby;
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            match t {
                "-e" => return None,
                _ if has(&ruby.value_flags, t) => i += 2,
                _ if t.starts_with('-') => i += 1,
                _ => {
                    let file = self.locate(&join_abs(wd, t), 1)?;
                    return Some(source(Lang::Ruby, vec![file], at.max(a.from)));
                }
            }
        }
        None
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
                _ if has(&launchers().python.interpreter_value_flags, t) => i += 2,
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
        let l = launchers();
        if has(&l.python.servers, module) {
            self.server_app(rest, wd, at)
        } else if has(&l.fastapi.programs, module) {
            self.fastapi(rest, wd, at)
        } else {
            self.module_files(module, wd, "__main__.py", at)
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
        let python = &launchers().python;
        let mut base_dir = wd.to_string();
        let mut positional: Vec<&Word> = Vec::new();
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            if has(&python.server_value_flags, t) {
                if has(&python.server_dir_flags, t) {
                    if let Some(v) = args.get(i + 1) {
                        base_dir = join_abs(wd, &v.text);
                    }
                }
                i += 2;
                continue;
            }
            let dir_value = python.server_dir_flags.iter().find_map(|f| {
                t.strip_prefix(f.as_str())
                    .and_then(|rest| rest.strip_prefix('='))
            });
            if let Some(v) = dir_value {
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
        let fastapi = &launchers().fastapi;
        let mut i = 0;
        let mut path: Option<&Word> = None;
        let mut entrypoint: Option<&Word> = None;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            if has(&fastapi.entrypoint_flags, t) {
                entrypoint = args.get(i + 1);
            }
            if has(&fastapi.value_flags, t) {
                i += 2;
                continue;
            }
            let subcommand = i == 0 && has(&fastapi.subcommands, t);
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
        let stage = self.target;
        fastapi
            .default_files
            .iter()
            .find_map(|c| self.locate_in(stage, self.final_end(), &join_abs(wd, c), Kind::File))
            .map(|f| source(Lang::Python, vec![f], at))
    }

    fn node(&self, args: &[Word], wd: &str, at: usize) -> Option<Located> {
        let node = &launchers().node;
        let mut i = 0;
        while let Some(a) = args.get(i) {
            let t = a.text.as_str();
            match t {
                _ if has(&node.inline_flags, t) => return None,
                _ if has(&node.value_flags, t) => i += 2,
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
        let stage = self.target;
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
        let stage = self.target;
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
            run if has(&launchers().node.run_subcommands, run) => words.next()?.text.clone(),
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
        let final_stage = self.target;
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
        let value_flags = &launchers().go.build_value_flags;
        let mut fallback = None;
        for i in self
            .instructions(stage, self.stage_end(stage))
            .into_iter()
            .rev()
        {
            let Some(ins) = self.df.instructions.get(i) else {
                continue;
            };
            if ins.keyword != "RUN" || !ins.args.contains("go build") {
                continue;
            }
            let mut wd = self.workdir(stage, i);
            let text = ins.args_after_flags(self.df.escape);
            for cmd in shell_words::commands(text) {
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
                    } else if has(value_flags, w) {
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
                let pkg_name = basename(pkg.trim_end_matches('/')).to_string();
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
                if basename(&built) == basename(binary) && fallback.is_none() {
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
            return inside(self.context, rel).filter(|p| crate::fsio::is_dir(p));
        }
        // A module path: strip the module named in go.mod.
        let gomod = read_source(&self.context.join("go.mod"))?;
        let module = gomod
            .lines()
            .find_map(|l| l.trim().strip_prefix("module "))?
            .trim()
            .trim_matches('"');
        let rel = pkg.strip_prefix(module)?.trim_start_matches('/');
        inside(self.context, rel).filter(|p| crate::fsio::is_dir(p))
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
    [".py", ".js", ".mjs", ".cjs", ".sh", ".bash", ".rb"]
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
    if name.ends_with(".rb") {
        return Some(Lang::Ruby);
    }
    let text = read_source(path)?;
    let shebang = text.lines().next()?.strip_prefix("#!")?;
    let mut words = shebang.split_whitespace();
    let mut interp = basename(words.next()?);
    if interp == "env" {
        interp = words.find(|w| !w.starts_with('-'))?;
    }
    if is_python(interp) {
        Some(Lang::Python)
    } else if matches!(interp, "node" | "nodejs") {
        Some(Lang::Node)
    } else if has(&launchers().wrappers.shells, interp) {
        Some(Lang::Sh)
    } else if has(&launchers().ruby.programs, interp) {
        Some(Lang::Ruby)
    } else {
        None
    }
}

/// Find the program's entry from the final stage's CMD/ENTRYPOINT.
pub fn entry(df: &Dockerfile, target: usize, context: &Path) -> Option<Located> {
    let argv = command(df, target)?;
    let r = Resolver {
        df,
        target,
        context,
        copies: Default::default(),
    };
    let wd = r.workdir(target, r.final_end());
    r.entry(argv, &wd, 0)
}

// ---------------------------------------------------------------------------
// Is there a uid-0 check?

#[cfg(test)]
pub(crate) mod tests;
