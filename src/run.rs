//! One run of harden: discover, read, analyze, fix, verify, and report.

use crate::cli::{CheckArgs, ColorChoice, Common, FixArgs, FixFormat, Format};
use crate::compose::{self, FileError};
use crate::config::Config;
use crate::discover::{self, Found, Kind};
use crate::edit;
use crate::report;
use crate::rules::Output;
use crate::source::Source;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Everything harden learned about one file.
#[derive(Debug)]
pub struct FileResult {
    pub path: PathBuf,
    pub display: String,
    pub kind: Option<Kind>,
    /// The text as read (absent when it could not be read).
    pub source: Option<Source>,
    pub out: Output,
    /// The fixed text, when the fix changes anything and passed verification.
    pub fixed: Option<String>,
    pub error: Option<FileError>,
}

impl FileResult {
    fn failed(path: PathBuf, display: String, kind: Option<Kind>, error: FileError) -> Self {
        FileResult {
            path,
            display,
            kind,
            source: None,
            out: Output::default(),
            fixed: None,
            error: Some(error),
        }
    }
}

/// The path shown to a user and in diffs: relative to the working directory.
pub fn display_path(path: &Path) -> String {
    let rel = if path.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| path.to_path_buf())
    } else {
        path.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect()
    };
    rel.to_string_lossy().replace('\\', "/")
}

fn at_start(message: impl Into<String>) -> FileError {
    FileError {
        line: 1,
        col: 1,
        message: message.into(),
    }
}

/// Read a file as UTF-8 text within the size limit.
pub fn read_text(path: &Path, max_size: u64) -> Result<String, FileError> {
    let meta = std::fs::metadata(path).map_err(|e| at_start(discover::io_message(&e)))?;
    if !meta.is_file() {
        return Err(at_start("not a regular file"));
    }
    if meta.len() > max_size {
        return Err(at_start(format!(
            "the file is {} bytes, more than the limit of {max_size} (--max-file-size)",
            meta.len()
        )));
    }
    // Read at most one byte past the limit: the file may grow after the check.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max_size.saturating_add(1)).read_to_end(&mut bytes))
        .map_err(|e| at_start(discover::io_message(&e)))?;
    if bytes.len() as u64 > max_size {
        return Err(at_start(format!(
            "the file grew past the limit of {max_size} bytes while it was read (--max-file-size)"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = String::from_utf8_lossy(&bytes[..good]);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError {
            line,
            col,
            message: "the file is not valid UTF-8 text".into(),
        }
    })
}

/// A file read and parsed, before the rules run.
enum Parsed {
    Compose(Option<compose::tree::Document>),
    Dockerfile(crate::dockerfile::Dockerfile),
}

fn parse(src: &Source, kind: Kind, limits: &compose::tree::Limits) -> Result<Parsed, FileError> {
    match kind {
        Kind::Compose => compose::parse(src, limits).map(Parsed::Compose),
        Kind::Dockerfile => crate::dockerfile::parse(&src.text)
            .map(Parsed::Dockerfile)
            .map_err(|e| FileError {
                line: e.line,
                col: e.col,
                message: e.message,
            }),
    }
}

/// Apply the edits, then re-parse and check that nothing the author wrote
/// changed meaning; the fixed text, or why the fix is refused.
fn fix_text(
    src: &Source,
    parsed: &Parsed,
    out: &Output,
    limits: &compose::tree::Limits,
) -> Result<Option<String>, FileError> {
    if out.edits.is_empty() {
        return Ok(None);
    }
    let new_text = edit::apply(&src.text, &out.edits).map_err(|o| FileError {
        line: src.line_of(o.second.start),
        col: 1,
        message: "internal error: two fixes overlap here; nothing was changed".into(),
    })?;
    let new_src = Source::new(src.path.clone(), src.display.clone(), new_text);
    let verdict = match parsed {
        Parsed::Compose(Some(doc)) => compose::verify(doc, &new_src, &out.replaced, limits),
        Parsed::Compose(None) => Err("the file is empty".to_string()),
        Parsed::Dockerfile(df) => crate::dockerfile::analyze::verify(df, &src.text, &new_src.text),
    };
    verdict.map_err(|why| FileError {
        line: 1,
        col: 1,
        message: format!("the fix was refused because {why}; the file is left as it was"),
    })?;
    Ok(Some(new_src.text))
}

/// Fix one file's text on its own, as `harden fix` would with no other file
/// around it (no compose service linked to a Dockerfile), touching no file:
/// parse, plan, run the rules, apply and verify. `Ok(None)` when nothing
/// changes. Exists so the fix pipeline can be fuzzed and property-tested
/// without a file system.
pub fn fix_one(kind: Kind, display: &str, text: String) -> Result<Option<String>, FileError> {
    let limits = compose::tree::Limits::default();
    let src = Source::new(PathBuf::from(display), display.to_string(), text);
    let parsed = parse(&src, kind, &limits)?;
    let out = match &parsed {
        Parsed::Compose(Some(doc)) => {
            let project = compose::Project::default();
            let config = crate::config::baseline();
            let plans = compose::plans(&src, doc, &project, &|_| None, config);
            compose::analyze(&src, doc, &project, &plans, config)
        }
        Parsed::Compose(None) => Output::default(),
        Parsed::Dockerfile(df) => {
            let mut hints = crate::dockerfile::analyze::Hints {
                uid: crate::link::DEFAULT_UID,
                ..Default::default()
            };
            hints.configure(crate::config::baseline(), &src.path);
            crate::dockerfile::analyze::analyze(&src, df, &hints)
        }
    };
    fix_text(&src, &parsed, &out, &limits)
}

fn use_color(choice: ColorChoice, stream: console::Term) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stream.is_term()
        }
    }
}

fn inputs(common: &Common) -> Vec<Found> {
    let paths = if common.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        common.paths.clone()
    };
    discover::discover(&paths)
}

/// Read and parse every file, link compose services to the Dockerfiles
/// they build, then run the rules on each file and compute its fix.
/// `fixes`: compute (and verify) each file's fixed text; `check` in a
/// format that shows no fix skips that work.
fn run_all(common: &Common, config: &Config, fixes: bool) -> Vec<FileResult> {
    let limits = common.yaml_limits();
    let load = |path: PathBuf, kind: Kind| -> Loaded {
        let display = display_path(&path);
        let r = read_text(&path, common.max_file_size).and_then(|text| {
            let src = Source::new(path.clone(), display.clone(), text);
            let parsed = parse(&src, kind, &limits)?;
            Ok((src, parsed))
        });
        (path, display, Some(kind), r)
    };
    let mut loaded: Vec<Loaded> = crate::par::map_owned(inputs(common), |f| match f {
        Found::File { path, kind } => load(path, kind),
        Found::Error { path, message } => {
            let display = display_path(&path);
            (path, display, None, Err(at_start(message)))
        }
    });

    // Dockerfiles built by a compose service: hardened with it, named after it.
    let mut links = crate::link::Links::default();
    for (path, _, _, r) in &loaded {
        if let Ok((_, Parsed::Compose(Some(doc)))) = r {
            links.add_compose(path, doc);
        }
    }
    let listed: Vec<PathBuf> = loaded.iter().map(|l| l.0.clone()).collect();
    for extra in links.unlisted(&listed) {
        loaded.push(load(extra, Kind::Dockerfile));
    }

    // A base compose file and its override file form one project.
    let pairs = override_pairs(&loaded);
    let doc_at = |i: usize| match &loaded[i].3 {
        Ok((_, Parsed::Compose(Some(doc)))) => Some(doc),
        _ => None,
    };
    let project = |i: usize| compose::Project {
        overlay: pairs
            .iter()
            .find(|(b, _)| *b == i)
            .and_then(|(_, o)| Some((doc_at(*o)?, loaded[*o].1.rsplit('/').next().unwrap_or("")))),
        base: pairs
            .iter()
            .find(|(_, o)| *o == i)
            .and_then(|(b, _)| doc_at(*b)),
    };

    // One plan per service, read by the compose rules and, through the
    // links, by the rules of the Dockerfile it builds.
    // Dockerfiles by canonical path, resolved once (not per service).
    let dockerfiles: std::collections::HashMap<PathBuf, &crate::dockerfile::Dockerfile> = loaded
        .iter()
        .filter(|l| links.is_linked(&l.0))
        .filter_map(|(p, _, _, r)| match r {
            Ok((_, Parsed::Dockerfile(df))) => Some((crate::link::canonical(p), df)),
            _ => None,
        })
        .collect();
    let mut plans: Vec<Option<compose::Plans>> = Vec::new();
    for (i, (path, _, _, r)) in loaded.iter().enumerate() {
        let p = match r {
            Ok((src, Parsed::Compose(Some(doc)))) => {
                let built = |service: &str| -> Option<crate::plan::Built<'_>> {
                    let (df_path, context, target) = links.built_by(path, service)?;
                    Some(crate::plan::Built {
                        dockerfile: dockerfiles.get(df_path)?,
                        target: target.as_deref(),
                        context: context.as_path(),
                    })
                };
                Some(compose::plans(src, doc, &project(i), &built, config))
            }
            _ => None,
        };
        plans.push(p);
    }
    for ((path, ..), p) in loaded.iter().zip(&plans) {
        for (service, plan) in p.iter().flatten() {
            links.set_dirs(path, service, plan);
        }
    }

    let empty = compose::Plans::default();
    let indexed: Vec<(usize, &Loaded)> = loaded.iter().enumerate().collect();
    let outputs: Vec<Output> = crate::par::map(&indexed, |&(i, (path, _, _, r))| match r {
        Ok((src, Parsed::Compose(Some(doc)))) => compose::analyze(
            src,
            doc,
            &project(i),
            plans[i].as_ref().unwrap_or(&empty),
            config,
        ),
        Ok((src, Parsed::Dockerfile(df))) => {
            let mut hints = links.hints_for(path);
            hints.configure(config, path);
            crate::dockerfile::analyze::analyze(src, df, &hints)
        }
        _ => Output::default(),
    });

    let work: Vec<(Loaded, Output)> = loaded.into_iter().zip(outputs).collect();
    crate::par::map_owned(work, |((path, display, kind, r), out)| match r {
        Err(e) => FileResult::failed(path, display, kind, e),
        Ok((src, parsed)) => match if fixes {
            fix_text(&src, &parsed, &out, &limits)
        } else {
            Ok(None)
        } {
            Ok(fixed) => FileResult {
                path,
                display,
                kind,
                source: Some(src),
                out,
                fixed,
                error: None,
            },
            Err(e) => FileResult::failed(path, display, kind, e),
        },
    })
}

/// (base, override) index pairs: `compose.yaml` with `compose.override.yaml`,
/// `docker-compose.yml` with `docker-compose.override.yml` (either
/// extension), in the same folder, as Compose pairs them.
fn override_pairs(loaded: &[Loaded]) -> Vec<(usize, usize)> {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let stem = |n: &str| -> Option<(String, bool)> {
        let n = n.strip_suffix(".yaml").or_else(|| n.strip_suffix(".yml"))?;
        match n {
            "compose" | "docker-compose" => Some((n.to_string(), false)),
            "compose.override" | "docker-compose.override" => {
                Some((n.trim_end_matches(".override").to_string(), true))
            }
            _ => None,
        }
    };
    // Override files by (folder, base stem): one pass, not a search per file.
    let mut overrides: std::collections::HashMap<(Option<&Path>, String), usize> =
        std::collections::HashMap::new();
    for (o, (op, _, ok, _)) in loaded.iter().enumerate() {
        if let (Some(Kind::Compose), Some((s, true))) = (ok, stem(&name(op))) {
            overrides.entry((op.parent(), s)).or_insert(o);
        }
    }
    let mut out = Vec::new();
    if overrides.is_empty() {
        return out;
    }
    for (b, (bp, _, bk, _)) in loaded.iter().enumerate() {
        if *bk != Some(Kind::Compose) {
            continue;
        }
        if let Some((s, false)) = stem(&name(bp)) {
            if let Some(o) = overrides.get(&(bp.parent(), s)) {
                out.push((b, *o));
            }
        }
    }
    out
}

type Loaded = (
    PathBuf,
    String,
    Option<Kind>,
    Result<(Source, Parsed), FileError>,
);

/// Writes to a stream, treating a closed pipe (`harden ... | head`) as the
/// reader's choice rather than an error.
struct Out<W: Write> {
    w: W,
    closed: bool,
}

impl Out<std::io::StdoutLock<'static>> {
    fn stdout() -> Self {
        Out {
            w: std::io::stdout().lock(),
            closed: false,
        }
    }
}

impl Out<std::io::StderrLock<'static>> {
    fn stderr() -> Self {
        Out {
            w: std::io::stderr().lock(),
            closed: false,
        }
    }
}

impl<W: Write> Out<W> {
    fn put(&mut self, s: &str) {
        if !self.closed && self.w.write_all(s.as_bytes()).is_err() {
            self.closed = true;
        }
    }

    /// The diff must be out before the notes start on the other stream.
    fn flush(&mut self) {
        if !self.closed && self.w.flush().is_err() {
            self.closed = true;
        }
    }
}

fn report_errors(results: &[FileResult], err: &mut Out<impl Write>) -> bool {
    let mut any = false;
    for r in results {
        if let Some(e) = &r.error {
            any = true;
            err.put(&format!(
                "{}:{}:{}: error: {}\n",
                r.display, e.line, e.col, e.message
            ));
        }
    }
    any
}

/// The run's configuration; an unusable harden.toml stops the run before
/// any file is read (exit 2), since its exemptions would be ignored.
fn load_config(common: &Common) -> Result<Config, ExitCode> {
    crate::config::discover(common.config.as_deref()).map_err(|e| {
        let mut err = Out::stderr();
        err.put(&format!("{e}\n"));
        ExitCode::from(2)
    })
}

pub fn fix(args: &FixArgs) -> ExitCode {
    let config = match load_config(&args.common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let results = run_all(&args.common, &config, true);
    if args.dry_run && args.format == FixFormat::Markdown {
        // One document on standard output, errors included, nothing else.
        let mut stdout = Out::stdout();
        stdout.put(&report::markdown::render(&results, true));
        let errors = results.iter().any(|r| r.error.is_some());
        let changed = results.iter().any(|r| r.fixed.is_some());
        return if errors {
            ExitCode::from(2)
        } else if changed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
    let mut stdout = Out::stdout();
    let mut stderr = Out::stderr();
    let color = use_color(args.common.color, console::Term::stdout());
    let mut errors = report_errors(&results, &mut stderr);
    let mut changed = 0;
    for r in &results {
        let (Some(src), Some(fixed)) = (&r.source, &r.fixed) else {
            continue;
        };
        changed += 1;
        if args.dry_run {
            stdout.put(&report::diff::unified(
                &src.text,
                &r.out.edits,
                &r.display,
                color,
            ));
        } else if let Err(e) = crate::write::write_atomic(&r.path, &src.text, fixed) {
            errors = true;
            stderr.put(&format!("{}:1:1: error: {e}\n", r.display));
        }
    }
    stdout.flush();
    if !args.common.quiet {
        let err_color = use_color(args.common.color, console::Term::stderr());
        stderr.put(&report::notes::render(&results, err_color));
        let verb = if args.dry_run {
            "would be changed"
        } else {
            "changed"
        };
        stderr.put(&format!("{changed} file{} {verb}.\n", plural(changed)));
    }
    if errors {
        ExitCode::from(2)
    } else if args.dry_run && changed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn check(args: &CheckArgs) -> ExitCode {
    let config = match load_config(&args.common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Text and GitHub annotations show findings only: no fixed text needed.
    let fixes = !matches!(args.format, Format::Text | Format::Github);
    let results = run_all(&args.common, &config, fixes);
    let mut stdout = Out::stdout();
    let mut stderr = Out::stderr();
    let color = use_color(args.common.color, console::Term::stdout());
    let errors = report_errors(&results, &mut stderr);
    match args.format {
        Format::Text => stdout.put(&report::text::findings(&results, color)),
        Format::Json => stdout.put(&report::json::render(&results)),
        Format::Sarif => stdout.put(&report::sarif::render(&results)),
        Format::Github => stdout.put(&report::github::render(&results)),
        Format::Markdown => stdout.put(&report::markdown::render(&results, false)),
    }
    let count: usize = results.iter().map(|r| r.out.findings.len()).sum();
    if args.format == Format::Text && !args.common.quiet {
        stdout.put(&report::text::summary(&results));
    }
    if errors {
        ExitCode::from(2)
    } else if count > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
