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
use std::sync::Arc;

/// Everything harden learned about one file.
#[derive(Debug)]
pub struct FileResult {
    pub path: PathBuf,
    pub display: String,
    pub kind: Option<Kind>,
    /// The text as read (absent when it could not be read).
    pub source: Option<Arc<Source>>,
    pub out: Output,
    /// The fixed text, when the fix changes anything and passed verification.
    pub fixed: Option<String>,
    pub error: Option<FileError>,
    /// Only part of the file's findings: more follow in a later result for
    /// the same file (`check` hands a large file on as it goes).
    pub more: bool,
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
            more: false,
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
    // Sized from the metadata, so a large file is not read into a buffer
    // that doubled past it.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
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

fn parse(
    src: &Arc<Source>,
    kind: Kind,
    limits: &compose::tree::Limits,
) -> Result<Parsed, FileError> {
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
    let new_src = Arc::new(Source::new(src.path.clone(), src.display.clone(), new_text));
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
    // The new parse is gone, so the text is ours again, not copied.
    Ok(Some(
        Arc::try_unwrap(new_src).map_or_else(|s| s.text.clone(), |s| s.text),
    ))
}

/// Fix one file's text on its own, as `harden fix` would with no other file
/// around it (no compose service linked to a Dockerfile), touching no file:
/// parse, plan, run the rules, apply and verify. `Ok(None)` when nothing
/// changes. Exists so the fix pipeline can be fuzzed and property-tested
/// without a file system.
pub fn fix_one(kind: Kind, display: &str, text: String) -> Result<Option<String>, FileError> {
    let limits = compose::tree::Limits::default();
    let src = Arc::new(Source::new(
        PathBuf::from(display),
        display.to_string(),
        text,
    ));
    let parsed = parse(&src, kind, &limits)?;
    let out = match &parsed {
        Parsed::Compose(Some(doc)) => {
            let project = compose::Project::default();
            let config = crate::config::baseline();
            compose::analyze(&src, doc, &project, &|_| None, config, compose::Mode::Fix).0
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
    let mut paths = if common.paths.is_empty() && common.files.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        common.paths.clone()
    };
    paths.extend(common.files.iter().cloned());
    discover::discover(&paths)
}

/// What the first pass made of a file.
enum Pre {
    /// A compose file, read and parsed: its services name the Dockerfiles
    /// they build, which decides what belongs together.
    Parsed(Box<(Arc<Source>, Parsed)>),
    /// A Dockerfile: read in the second pass, with its group.
    Later,
    Failed(FileError),
}

/// A file found, and what the first pass made of it.
type Slot = (PathBuf, String, Option<Kind>, Pre);

/// A file of a group in the second pass: its slot index, path, display
/// name, kind, and its text and parse (or why there is none).
type Member = (
    usize,
    PathBuf,
    String,
    Option<Kind>,
    Result<(Arc<Source>, Parsed), FileError>,
);

/// Read and parse every compose file, link compose services to the
/// Dockerfiles they build, group the files that must be hardened together
/// (a compose file, its override file, the Dockerfiles they build), then
/// plan, run the rules and compute the fix of each group on every core.
/// Each file's result goes to `sink` in input order as soon as it is ready,
/// and its parse is dropped then, so memory follows the work in flight,
/// not the size of the tree.
/// `fixes`: compute (and verify) each file's fixed text; `check` in a
/// format that shows no fix skips that work, and gets a large compose
/// file's findings in several results as they are found (`more`).
/// `prepare` turns a result into what the sink needs (a rendered report,
/// say) on the worker threads.
fn run_stream<T: Send>(
    common: &Common,
    config: &Config,
    fixes: bool,
    prepare: impl Fn(FileResult) -> T + Sync,
    sink: impl FnMut(T),
) {
    let limits = common.yaml_limits();
    let load = |path: &Path, kind: Kind| -> Result<(Arc<Source>, Parsed), FileError> {
        let text = read_text(path, common.max_file_size)?;
        let src = Arc::new(Source::new(path.to_path_buf(), display_path(path), text));
        let parsed = parse(&src, kind, &limits)?;
        Ok((src, parsed))
    };
    // Compose files are read, parsed and scanned for the Dockerfiles their
    // services build, on every core.
    let mut links = crate::link::Links::default();
    let scanned: Vec<(Slot, Vec<crate::link::Builds>)> =
        crate::par::map_owned(inputs(common), |f| match f {
            Found::File { path, kind } => {
                let display = display_path(&path);
                let mut builds = Vec::new();
                let pre = match kind {
                    Kind::Dockerfile => Pre::Later,
                    Kind::Compose => match load(&path, kind) {
                        Ok(done) => {
                            if let (_, Parsed::Compose(Some(doc))) = &done {
                                builds = links.scan(&path, doc);
                            }
                            Pre::Parsed(Box::new(done))
                        }
                        Err(e) => Pre::Failed(e),
                    },
                };
                ((path, display, Some(kind), pre), builds)
            }
            Found::Error { path, message } => {
                let display = display_path(&path);
                (
                    (path, display, None, Pre::Failed(at_start(message))),
                    Vec::new(),
                )
            }
        });
    let mut slots: Vec<Slot> = Vec::with_capacity(scanned.len());
    for (slot, builds) in scanned {
        links.add(&slot.0, builds);
        slots.push(slot);
    }

    // The same file reached twice (walked, and named with -f): once. The
    // -f files, in order, are one project.
    let mut chain: Vec<usize> = Vec::new();
    if !common.files.is_empty() {
        let mut seen = std::collections::HashSet::new();
        slots.retain(|s| seen.insert(links.canonical(&s.0)));
        let at: std::collections::HashMap<PathBuf, usize> = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.2 == Some(Kind::Compose))
            .map(|(i, s)| (links.canonical(&s.0), i))
            .collect();
        chain = common
            .files
            .iter()
            .filter_map(|f| at.get(&links.canonical(f)).copied())
            .collect();
    }

    // Files the compose files name: `include`d files are part of the
    // project and hardened; files `extends` reads are read for their
    // values only, unless they were found anyway.
    let mut edges: Vec<(usize, usize)> = Vec::new();
    let mut refs: Vec<(PathBuf, compose::tree::Document)> = Vec::new();
    let found = slots.len();
    follow_references(&mut slots, &mut refs, &mut edges, &load, &links);

    // Dockerfiles built by a compose service: hardened with it, named after
    // it (those of included files too).
    for (path, _, _, pre) in &slots[found..] {
        if let Pre::Parsed(done) = pre {
            if let (_, Parsed::Compose(Some(doc))) = &**done {
                links.add_compose(path, doc);
            }
        }
    }
    let listed: Vec<PathBuf> = slots.iter().map(|l| l.0.clone()).collect();
    for extra in links.unlisted(&listed) {
        let display = display_path(&extra);
        slots.push((extra, display, Some(Kind::Dockerfile), Pre::Later));
    }

    let mut chains: Vec<Vec<usize>> = Vec::new();
    if chain.len() > 1 {
        chains.push(chain);
    }
    let names: Vec<(&Path, Option<Kind>)> = slots.iter().map(|s| (s.0.as_path(), s.2)).collect();
    for (b, o) in override_pairs_of(&names) {
        if !chains.iter().flatten().any(|&i| i == b || i == o) {
            chains.push(vec![b, o]);
        }
    }
    for c in &chains {
        edges.extend(c.windows(2).map(|w| (w[0], w[1])));
    }
    let groups = groups(&slots, &links, &edges);
    let total = slots.len();
    let refs: Vec<(PathBuf, &compose::tree::Document)> =
        refs.iter().map(|(p, d)| (p.clone(), d)).collect();
    let (refs, chains) = (&refs, &chains);
    let cells: Vec<std::sync::Mutex<Option<Slot>>> = slots
        .into_iter()
        .map(|s| std::sync::Mutex::new(Some(s)))
        .collect();
    let links = &links;
    crate::par::stream(
        groups,
        total,
        |group, part| {
            let members: Vec<Member> = group
                .iter()
                .filter_map(|&i| {
                    let (path, display, kind, pre) = cells.get(i)?.lock().ok()?.take()?;
                    let r = match (pre, kind) {
                        (Pre::Parsed(done), _) => Ok(*done),
                        (Pre::Failed(e), _) => Err(e),
                        (Pre::Later, Some(k)) => load(&path, k),
                        (Pre::Later, None) => Err(at_start("not a file harden reads")),
                    };
                    Some((i, path, display, kind, r))
                })
                .collect();
            let chains: Vec<Vec<usize>> = chains
                .iter()
                .filter(|c| c.iter().any(|i| group.contains(i)))
                .map(|c| {
                    c.iter()
                        .filter_map(|i| members.iter().position(|m| m.0 == *i))
                        .collect()
                })
                .collect();
            let part = |i: usize, r: FileResult| part(i, prepare(r));
            let fixes = if fixes {
                None
            } else {
                Some(&part as &dyn Fn(_, _))
            };
            harden_group(members, &chains, refs, links, config, &limits, fixes)
                .into_iter()
                .map(|(i, r)| (i, prepare(r)))
                .collect()
        },
        sink,
    );
}

/// Plan, analyze and fix the files of one group: compose files with their
/// override files and the Dockerfiles their services build. Without a fix
/// (`check`), `part` gets a compose file's findings a few hundred at a
/// time, each as a result with `more` set, before the file's own result.
fn harden_group(
    members: Vec<Member>,
    chains: &[Vec<usize>],
    refs: &[(PathBuf, &compose::tree::Document)],
    links: &crate::link::Links,
    config: &Config,
    limits: &compose::tree::Limits,
    part: Option<&dyn Fn(usize, FileResult)>,
) -> Vec<(usize, FileResult)> {
    let fixes = part.is_none();
    let doc_at = |m: usize| match members.get(m).map(|m| &m.4) {
        Some(Ok((_, Parsed::Compose(Some(doc))))) => Some(doc),
        _ => None,
    };
    // Projects of several files (a base file and its override file, or
    // the -f files): for each, the documents in order, with their names.
    let ordered: Vec<Vec<(usize, &compose::tree::Document, &str)>> = chains
        .iter()
        .map(|c| {
            c.iter()
                .filter_map(|&m| {
                    Some((m, doc_at(m)?, members[m].2.rsplit('/').next().unwrap_or("")))
                })
                .collect()
        })
        .collect();
    let overlays: Vec<Vec<(&compose::tree::Document, &str)>> = ordered
        .iter()
        .map(|c| c.iter().map(|&(_, d, n)| (d, n)).collect())
        .collect();
    let bases: Vec<Vec<&compose::tree::Document>> = ordered
        .iter()
        .map(|c| c.iter().map(|&(_, d, _)| d).collect())
        .collect();
    // Every compose document the group's files may name (`extends.file`):
    // the group's own and those read for `extends` only; their volume names
    // share one namespace. Resolved only when the group has several compose
    // files or one extends another file, since each path costs a system call.
    let names_others = (0..members.len()).filter(|&m| doc_at(m).is_some()).count() > 1
        || (0..members.len()).any(|m| {
            doc_at(m).is_some_and(|d| {
                compose::references(d)
                    .iter()
                    .any(|(how, _)| *how == compose::Reference::Extends)
            })
        });
    let others: Vec<(PathBuf, &compose::tree::Document)> = if names_others {
        members
            .iter()
            .enumerate()
            .filter_map(|(m, member)| Some((links.canonical(&member.1), doc_at(m)?)))
            .chain(refs.iter().map(|(p, d)| (p.clone(), *d)))
            .collect()
    } else {
        Vec::new()
    };
    let dirs: Vec<Option<PathBuf>> = members
        .iter()
        .enumerate()
        .map(|(m, member)| {
            doc_at(m)
                .filter(|_| names_others)
                .and_then(|_| links.canonical(&member.1).parent().map(Path::to_path_buf))
        })
        .collect();
    let project = |m: usize| {
        let mut p = compose::Project {
            others: &others,
            dir: dirs[m].as_deref(),
            ..compose::Project::default()
        };
        for (c, chain) in ordered.iter().enumerate() {
            if let Some(k) = chain.iter().position(|&(i, _, _)| i == m) {
                p.overlays = &overlays[c][k + 1..];
                p.bases = &bases[c][..k];
            }
        }
        p
    };

    // The group's Dockerfiles that compose services build, by canonical
    // path, resolved once (not per service).
    let dockerfiles: std::collections::HashMap<PathBuf, &crate::dockerfile::Dockerfile> = members
        .iter()
        .filter(|m| links.is_linked(&m.1))
        .filter_map(|m| match &m.4 {
            Ok((_, Parsed::Dockerfile(df))) => Some((links.canonical(&m.1), df)),
            _ => None,
        })
        .collect();
    // Compose files first: each service is planned and checked in one
    // pass, and only the plans of services that build one of the group's
    // Dockerfiles are kept, for that Dockerfile's rules.
    let mut outputs: Vec<Output> = Vec::with_capacity(members.len());
    let mut plans: Vec<Option<compose::Plans>> = Vec::with_capacity(members.len());
    for (m, (i, path, display, kind, r)) in members.iter().enumerate() {
        let Ok((src, Parsed::Compose(Some(doc)))) = r else {
            outputs.push(Output::default());
            plans.push(None);
            continue;
        };
        let built = |service: &str| -> Option<crate::plan::Built<'_>> {
            let (df_path, context, target) = links.built_by(path, service)?;
            Some(crate::plan::Built {
                dockerfile: dockerfiles.get(df_path)?,
                target: target.as_deref(),
                context: context.as_path(),
            })
        };
        let mut spill = |findings: Vec<crate::finding::Finding>| {
            if let Some(part) = part {
                part(
                    *i,
                    FileResult {
                        path: path.clone(),
                        display: display.clone(),
                        kind: *kind,
                        source: Some(src.clone()),
                        out: Output {
                            findings,
                            ..Output::default()
                        },
                        fixed: None,
                        error: None,
                        more: true,
                    },
                );
            }
        };
        let mode = if fixes {
            compose::Mode::Fix
        } else {
            compose::Mode::Check { spill: &mut spill }
        };
        let (out, kept) = compose::analyze(src, doc, &project(m), &built, config, mode);
        outputs.push(out);
        plans.push(Some(kept));
    }
    // The plan a linked Dockerfile follows: its owning service's.
    let compose_paths: Vec<Option<PathBuf>> = members
        .iter()
        .zip(&plans)
        .map(|(m, p)| {
            p.as_ref()
                .filter(|_| !dockerfiles.is_empty())
                .map(|_| links.canonical(&m.1))
        })
        .collect();
    let plan_of = |df: &Path| -> Option<&crate::plan::ServicePlan> {
        let (compose, service) = links.owner(df)?;
        let m = compose_paths
            .iter()
            .position(|c| c.as_deref() == Some(compose))?;
        plans.get(m)?.as_ref()?.get(service)
    };
    for ((_, path, _, _, r), out) in members.iter().zip(outputs.iter_mut()) {
        if let Ok((src, Parsed::Dockerfile(df))) = r {
            let mut hints = links.hints_for(path, plan_of(path));
            hints.configure(config, path);
            *out = crate::dockerfile::analyze::analyze(src, df, &hints);
        }
    }
    drop(plans);

    members
        .into_iter()
        .zip(outputs)
        .map(|((i, path, display, kind, r), out)| {
            let result = match r {
                Err(e) => FileResult::failed(path, display, kind, e),
                Ok((src, parsed)) => match if fixes {
                    fix_text(&src, &parsed, &out, limits)
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
                        more: false,
                    },
                    Err(e) => FileResult::failed(path, display, kind, e),
                },
            };
            (i, result)
        })
        .collect()
}

/// The files that must be hardened together, each group sorted and the
/// groups in order of their first file: the compose files of one project
/// (`edges`: override and -f files, included and extended files) and the
/// Dockerfiles their services build (and, through a Dockerfile two compose
/// files build, both of them). Most files are a group alone.
fn groups(slots: &[Slot], links: &crate::link::Links, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..slots.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let join = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (root(parent, a), root(parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    };
    for &(a, b) in edges {
        if a < slots.len() && b < slots.len() {
            join(&mut parent, a, b);
        }
    }
    // Linked Dockerfiles by canonical path; the name check in `is_linked`
    // keeps the system calls to the few files that can be linked.
    let linked: std::collections::HashMap<PathBuf, usize> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.2 == Some(Kind::Dockerfile) && links.is_linked(&s.0))
        .map(|(i, s)| (links.canonical(&s.0), i))
        .collect();
    if !linked.is_empty() {
        for (c, s) in slots.iter().enumerate() {
            if !matches!(&s.3, Pre::Parsed(d) if matches!(**d, (_, Parsed::Compose(Some(_))))) {
                continue;
            }
            for df in links.built_from(&s.0) {
                if let Some(&d) = linked.get(df) {
                    join(&mut parent, c, d);
                }
            }
        }
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut group_of: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for i in 0..slots.len() {
        let r = root(&mut parent, i);
        match group_of.get(&r) {
            Some(&g) => out[g].push(i),
            None => {
                group_of.insert(r, out.len());
                out.push(vec![i]);
            }
        }
    }
    out
}

/// Reads and parses one file.
type Loader<'a> = dyn Fn(&Path, Kind) -> Result<(Arc<Source>, Parsed), FileError> + Sync + 'a;

/// Files named by one compose file: the naming slot (none for a file read
/// for `extends` only), the folder names are relative to, and the names.
type Named = (Option<usize>, PathBuf, Vec<(compose::Reference, String)>);

/// Load the compose files that parsed compose files name, transitively:
/// an `include`d file becomes a slot of its own (hardened, in the includer's
/// group); a file only `extends` reads is loaded into `refs`. `edges` gets
/// (naming file, named file) for named files that are slots.
fn follow_references(
    slots: &mut Vec<Slot>,
    refs: &mut Vec<(PathBuf, compose::tree::Document)>,
    edges: &mut Vec<(usize, usize)>,
    load: &Loader<'_>,
    links: &crate::link::Links,
) {
    let mut known: std::collections::HashMap<PathBuf, usize> = std::collections::HashMap::new();
    let mut todo: Vec<usize> = Vec::new();
    for (i, s) in slots.iter().enumerate() {
        if matches!(&s.3, Pre::Parsed(d) if matches!(**d, (_, Parsed::Compose(Some(_))))) {
            todo.push(i);
        }
    }
    if todo.is_empty() {
        return;
    }
    let mut seen_refs: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    // (naming slot, or none for a file in `refs`; the document's folder; references)
    let mut queue: Vec<Named> = Vec::new();
    for i in todo {
        let (path, _, _, pre) = &slots[i];
        if let Pre::Parsed(d) = pre {
            if let (_, Parsed::Compose(Some(doc))) = &**d {
                let named = compose::references(doc);
                if !named.is_empty() {
                    queue.push((
                        Some(i),
                        path.parent().unwrap_or(Path::new("")).to_path_buf(),
                        named,
                    ));
                }
            }
        }
    }
    if queue.is_empty() {
        return;
    }
    for (i, s) in slots.iter().enumerate() {
        if s.2 == Some(Kind::Compose) {
            known.insert(links.canonical(&s.0), i);
        }
    }
    // Bounded: every file is loaded at most once.
    while let Some((from, dir, named)) = queue.pop() {
        for (how, file) in named {
            let path = dir.join(&file);
            let key = links.canonical(&path);
            if let Some(&j) = known.get(&key) {
                if let Some(i) = from {
                    edges.push((i, j));
                }
                continue;
            }
            if !path.is_file() {
                continue;
            }
            let next_dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
            match how {
                compose::Reference::Include => {
                    let display = display_path(&path);
                    let (pre, named) = match load(&path, Kind::Compose) {
                        Ok(done) => {
                            let named = match &done.1 {
                                Parsed::Compose(Some(doc)) => compose::references(doc),
                                _ => Vec::new(),
                            };
                            (Pre::Parsed(Box::new(done)), named)
                        }
                        Err(e) => (Pre::Failed(e), Vec::new()),
                    };
                    let j = slots.len();
                    slots.push((path, display, Some(Kind::Compose), pre));
                    known.insert(key, j);
                    if let Some(i) = from {
                        edges.push((i, j));
                    }
                    queue.push((Some(j), next_dir, named));
                }
                compose::Reference::Extends => {
                    if !seen_refs.insert(key.clone()) {
                        continue;
                    }
                    // A file read only for values: one that does not parse
                    // is simply not followed (Compose will say why).
                    // The document keeps its source.
                    if let Ok((_, Parsed::Compose(Some(doc)))) = load(&path, Kind::Compose) {
                        let named = compose::references(&doc);
                        refs.push((key, doc));
                        queue.push((None, next_dir, named));
                    }
                }
            }
        }
    }
}

/// (base, override) index pairs: `compose.yaml` with `compose.override.yaml`,
/// `docker-compose.yml` with `docker-compose.override.yml` (either
/// extension), in the same folder, as Compose pairs them.
fn override_pairs_of(files: &[(&Path, Option<Kind>)]) -> Vec<(usize, usize)> {
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
    for (o, (op, ok)) in files.iter().enumerate() {
        if let (Some(Kind::Compose), Some((s, true))) = (ok, stem(&name(op))) {
            overrides.entry((op.parent(), s)).or_insert(o);
        }
    }
    let mut out = Vec::new();
    if overrides.is_empty() {
        return out;
    }
    for (b, (bp, bk)) in files.iter().enumerate() {
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

/// The run's configuration; an unusable harden.toml stops the run before
/// any file is read (exit 2), since its exemptions would be ignored.
fn load_config(common: &Common) -> Result<Config, ExitCode> {
    let mut config = crate::config::discover(common.config.as_deref()).map_err(|e| {
        let mut err = Out::stderr();
        err.put(&format!("{e}\n"));
        ExitCode::from(2)
    })?;
    crate::image::Settings::apply_cli(&mut config.lookup, common);
    Ok(config)
}

/// Every file's result, in input order, for reports that need the whole run.
fn run_all(common: &Common, config: &Config, fixes: bool) -> Vec<FileResult> {
    let mut all = Vec::new();
    run_stream(common, config, fixes, |r| r, |r| all.push(r));
    all
}

/// The error line of a file that could not be read, parsed or fixed.
fn error_line(r: &FileResult) -> Option<String> {
    let e = r.error.as_ref()?;
    Some(format!(
        "{}:{}:{}: error: {}\n",
        r.display, e.line, e.col, e.message
    ))
}

fn report_error(r: &FileResult, err: &mut Out<impl Write>) -> bool {
    let Some(line) = error_line(r) else {
        return false;
    };
    err.put(&line);
    true
}

pub fn fix(args: &FixArgs) -> ExitCode {
    let config = match load_config(&args.common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if args.dry_run && args.format == FixFormat::Markdown {
        // One document on standard output, errors included, nothing else.
        let results = run_all(&args.common, &config, true);
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
    let mut errors = false;
    let mut changed = 0;
    // What the notes need of each file, kept once its diff is out or its
    // fix written: the file's name and notes, not its text or parse.
    let mut kept: Vec<FileResult> = Vec::new();
    // Diffs are drawn on the worker threads.
    let diff = |r: FileResult| {
        let d = match (&r.source, &r.fixed, args.dry_run) {
            (Some(src), Some(_), true) => {
                report::diff::unified(&src.text, &r.out.edits, &r.display, color)
            }
            _ => String::new(),
        };
        (r, d)
    };
    run_stream(&args.common, &config, true, diff, |(r, d)| {
        errors |= report_error(&r, &mut stderr);
        if let (Some(src), Some(fixed)) = (&r.source, &r.fixed) {
            changed += 1;
            if args.dry_run {
                stdout.put(&d);
            } else if let Err(e) = crate::write::write_atomic(&r.path, &src.text, fixed) {
                errors = true;
                stderr.put(&format!("{}:1:1: error: {e}\n", r.display));
            }
        }
        if !args.common.quiet && !r.out.notes.is_empty() {
            kept.push(FileResult {
                path: r.path,
                display: r.display,
                kind: r.kind,
                source: None,
                out: Output {
                    notes: r.out.notes,
                    ..Output::default()
                },
                fixed: None,
                error: None,
                more: false,
            });
        }
    });
    stdout.flush();
    if !args.common.quiet {
        let err_color = use_color(args.common.color, console::Term::stderr());
        stderr.put(&report::notes::render(&kept, err_color));
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
    let mut stdout = Out::stdout();
    let mut stderr = Out::stderr();
    let color = use_color(args.common.color, console::Term::stdout());
    let mut errors = false;
    let mut tally = report::text::Tally::default();
    match args.format {
        // Findings only, file by file as they come: no fixed text needed,
        // and nothing kept once printed.
        Format::Text | Format::Github => {
            // Drawn on the worker threads, except for a file with so many
            // findings that its report is better written as it is drawn.
            // Only what is printed and counted goes to this thread: a
            // result is freed on the thread that made it, since freeing
            // what another thread allocated contends for the allocator.
            let render = |r: FileResult| {
                let one = std::slice::from_ref(&r);
                let error = error_line(&r);
                let counts = report::text::Counts::of(&r);
                let shown = match args.format {
                    Format::Github => Ok(report::github::render(one)),
                    _ if r.out.findings.len() <= 1000 => Ok(report::text::findings(one, color)),
                    _ => Err(r),
                };
                (error, counts, shown)
            };
            run_stream(
                &args.common,
                &config,
                false,
                render,
                |(error, counts, shown)| {
                    if let Some(e) = error {
                        errors = true;
                        stderr.put(&e);
                    }
                    tally.count(counts);
                    match shown {
                        Ok(text) => stdout.put(&text),
                        Err(r) => report::text::each_finding(&r, color, |s| stdout.put(s)),
                    }
                },
            );
            if args.format == Format::Text && !args.common.quiet {
                stdout.put(&tally.summary());
            }
        }
        Format::Json | Format::Sarif | Format::Markdown => {
            let results = run_all(&args.common, &config, true);
            for r in &results {
                errors |= report_error(r, &mut stderr);
                tally.add(r);
            }
            stdout.put(&match args.format {
                Format::Json => report::json::render(&results),
                Format::Sarif => report::sarif::render(&results),
                _ => report::markdown::render(&results, false),
            });
        }
    }
    if errors {
        ExitCode::from(2)
    } else if tally.any() {
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
