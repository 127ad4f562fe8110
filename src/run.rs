//! One run of harden: discover, read, analyze, fix, verify, and report.

use crate::cli::{CheckArgs, ColorChoice, Common, FixArgs, FixFormat, Format};
use crate::compose;
use crate::config::Config;
use crate::discover::{self, Found, Kind};
pub use crate::engine::fix_one;
use crate::engine::{harden_group, parse, FileResult, Member, Parsed};
use crate::error::FileError;
use crate::finding::Output;
use crate::paths::{display_path, read_text};
use crate::report::{self, plural};
use crate::source::Source;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

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

/// The project model of a run: every file found, or read for the
/// project's sake, how the compose files combine, and what the Dockerfiles
/// build. What the rules need, and what `--explain-project` shows.
struct Model {
    slots: Vec<Slot>,
    links: crate::link::Links,
    /// Files read only for the services others `extends`.
    refs: Vec<(PathBuf, compose::tree::Document)>,
    /// The run's `-f` files, in order (slot indices).
    file_chain: Vec<usize>,
    /// (base, override) pairs outside the run's `-f` files.
    overrides: Vec<(usize, usize)>,
    /// The run's `-f` files and the override pairs.
    chains: Vec<Vec<usize>>,
    /// (bases, variant).
    variants: Vec<(Vec<usize>, usize)>,
    /// Slots read for the project's sake only: not reported.
    context: std::collections::HashSet<usize>,
    groups: Vec<Vec<usize>>,
    /// Repository roots and scripts around the run's files, each folder
    /// read once.
    around: crate::project::Around,
}

/// Reads and parses one file, within the run's limits.
fn loader(
    common: &Common,
) -> impl Fn(&Path, Kind) -> Result<(Arc<Source>, Parsed), FileError> + Sync + '_ {
    let limits = common.yaml_limits();
    move |path: &Path, kind: Kind| {
        if let Some(why) = crate::escape::refuse_path(path) {
            return Err(FileError::at_start(why));
        }
        let text = read_text(path, common.max_file_size)?;
        let src = Arc::new(Source::new(path.to_path_buf(), display_path(path), text));
        let parsed = parse(&src, kind, &limits)?;
        Ok((src, parsed))
    }
}

/// Read and parse every compose file, link compose services to the
/// Dockerfiles they build, find how the compose files combine, and group
/// the files that must be hardened together (a compose file, its override
/// file, the Dockerfiles they build).
fn model(common: &Common, load: &Loader<'_>) -> Model {
    crate::fsio::set_max_file_size(common.max_file_size);
    let around = crate::project::Around::new(
        crate::paths::canonical(Path::new(".")),
        common.max_file_size,
    );
    // Compose files are read, parsed and scanned for the Dockerfiles their
    // services build, on every core.
    let mut links = crate::link::Links::default();
    let scanned: Vec<(Slot, Vec<crate::link::Builds>)> =
        crate::par::map_owned(inputs(common), |f| match f {
            Found::File { path, kind } => {
                let display = display_path(&path);
                let mut builds = Vec::new();
                let pre = match kind {
                    Kind::Dockerfile | Kind::Source => Pre::Later,
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
                    (
                        path,
                        display,
                        None,
                        Pre::Failed(FileError::at_start(message)),
                    ),
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
    follow_references(&mut slots, &mut refs, &mut edges, load, &links);

    // Dockerfiles built by a compose service: hardened with it, named after
    // it (those of included files too).
    for (path, _, _, pre) in &slots[found..] {
        if let Pre::Parsed(done) = pre {
            if let (_, Parsed::Compose(Some(doc))) = &**done {
                links.add_compose(path, doc);
            }
        }
    }
    read_bake_files(common, &slots, &mut links);
    let listed: Vec<PathBuf> = slots.iter().map(|l| l.0.clone()).collect();
    for extra in links.unlisted(&listed) {
        let display = display_path(&extra);
        slots.push((extra, display, Some(Kind::Dockerfile), Pre::Later));
    }

    let context = project_context(common, &around, &mut slots, &mut links, load);
    // Services that run an image built here, once every builder is known.
    for (path, _, _, pre) in &slots {
        if let Pre::Parsed(done) = pre {
            if let (_, Parsed::Compose(Some(doc))) = &**done {
                links.add_runs(path, doc);
            }
        }
    }

    let mut chains: Vec<Vec<usize>> = Vec::new();
    if chain.len() > 1 {
        chains.push(chain.clone());
    }
    let mut overrides = Vec::new();
    let names: Vec<(&Path, Option<Kind>)> = slots.iter().map(|s| (s.0.as_path(), s.2)).collect();
    for (b, o) in crate::project::override_pairs_of(&names) {
        if !chains.iter().flatten().any(|&i| i == b || i == o) {
            chains.push(vec![b, o]);
            overrides.push((b, o));
        }
    }
    for c in &chains {
        edges.extend(c.windows(2).map(|w| (w[0], w[1])));
    }
    let variants = find_variants(&around, &slots, &chains, &links);
    for (bases, v) in &variants {
        edges.extend(bases.iter().map(|b| (*b, *v)));
        if let Pre::Parsed(done) = &slots[*v].3 {
            if let (_, Parsed::Compose(Some(doc))) = &**done {
                for b in bases.iter().rev() {
                    links.inherit(&slots[*v].0, &slots[*b].0, doc);
                }
            }
        }
    }
    let files: Vec<(&Path, Option<Kind>, bool)> = slots
        .iter()
        .map(|s| {
            let compose =
                matches!(&s.3, Pre::Parsed(d) if matches!(**d, (_, Parsed::Compose(Some(_)))));
            (s.0.as_path(), s.2, compose)
        })
        .collect();
    let groups = crate::project::groups(&files, &links, &edges);
    drop(files);
    Model {
        slots,
        links,
        refs,
        file_chain: chain,
        overrides,
        chains,
        variants,
        context,
        groups,
        around,
    }
}

/// Plan, run the rules and compute the fix of each group of the project
/// model ([`model`]) on every core.
/// Each file's result goes to `sink` in input order as soon as it is ready,
/// and its parse is dropped then, so memory follows the work in flight,
/// not the size of the tree.
/// `fixes`: compute (and verify) each file's fixed text; `check` in a
/// format that shows no fix skips that work. `parts`: the sink takes a
/// large compose file's results in several parts as they are found
/// (`more`; see [`FileResult::more`]).
/// `explain`: filled with the project model as `--explain-project` shows it.
/// `prepare` turns a result into what the sink needs (a rendered report,
/// say) on the worker threads.
fn run_stream<T: Send>(
    common: &Common,
    config: &Config,
    fixes: bool,
    parts: bool,
    explain: Option<&mut report::project::Project>,
    prepare: impl Fn(FileResult) -> T + Sync,
    mut sink: impl FnMut(T),
) {
    let limits = common.yaml_limits();
    crate::fsio::set_max_file_size(common.max_file_size);
    let roots = crate::confine::Roots::of(common);
    let prepare = |r: FileResult| prepare(roots.hold(r));
    let load = loader(common);
    let m = model(common, &load);
    if let Some(view) = explain {
        *view = project_view(&m);
    }
    let Model {
        slots,
        links,
        refs,
        chains,
        variants,
        context,
        groups,
        ..
    } = m;
    let total = slots.len();
    let refs: crate::engine::Refs<'_> = refs.iter().map(|(p, d)| (p.clone(), d)).collect();
    let (refs, chains, context, variants) = (&refs, &chains, &context, &variants);
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
                        (Pre::Later, None) => Err(FileError::at_start("not a file harden reads")),
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
            let at = |i: &usize| members.iter().position(|m| m.0 == *i);
            let variants: Vec<(Vec<usize>, usize)> = variants
                .iter()
                .filter(|(_, v)| group.contains(v))
                .filter_map(|(bases, v)| Some((bases.iter().filter_map(at).collect(), at(v)?)))
                .collect();
            // Files read for the project's sake only are not reported.
            let shown = |i: usize| !context.contains(&i);
            let part = |i: usize, r: FileResult| {
                if shown(i) {
                    part(i, vec![prepare(r)])
                }
            };
            let part = parts.then_some(&part as &dyn Fn(_, _));
            let layout = crate::engine::Layout { chains, variants };
            harden_group(members, &layout, refs, links, config, &limits, fixes, part)
                .into_iter()
                .map(|(i, rs)| {
                    let rs = if shown(i) {
                        rs.into_iter().map(&prepare).collect()
                    } else {
                        Vec::new()
                    };
                    (i, rs)
                })
                .collect()
        },
        // A slot's file, then the program sources its rules edit.
        |rs: Vec<T>| rs.into_iter().for_each(&mut sink),
    );
}

/// The parsed compose document of a slot, if it is one.
fn slot_doc(s: &Slot) -> Option<&compose::tree::Document> {
    match &s.3 {
        Pre::Parsed(d) => match &**d {
            (_, Parsed::Compose(Some(doc))) => Some(doc),
            _ => None,
        },
        _ => None,
    }
}

/// Variants among the run's compose files ([`crate::project::variants`]):
/// beside a base file, or later files of a `-f` chain the project's own
/// Makefiles and scripts run. Slot indices.
fn find_variants(
    around: &crate::project::Around,
    slots: &[Slot],
    chains: &[Vec<usize>],
    links: &crate::link::Links,
) -> Vec<(Vec<usize>, usize)> {
    let doc_of = slot_doc;
    // A variant needs a base: one compose file alone lists no service
    // names (a file of tens of thousands would hold them all).
    if slots.iter().filter_map(doc_of).nth(1).is_none() {
        return Vec::new();
    }
    let files: Vec<crate::project::ComposeFile> = slots
        .iter()
        .map(|s| {
            let names = doc_of(s).map(|doc| {
                compose::service::services(doc)
                    .map(|x| x.name.to_string())
                    .collect()
            });
            (s.0.as_path(), names)
        })
        .collect();
    let at: std::collections::HashMap<PathBuf, usize> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.2 == Some(Kind::Compose))
        .map(|(i, s)| (links.canonical(&s.0), i))
        .collect();
    let composes: Vec<PathBuf> = at.keys().cloned().collect();
    let mut script: Vec<Vec<usize>> = Vec::new();
    for names in around.script_chains(&composes) {
        let chain: Option<Vec<usize>> = names
            .iter()
            .map(|n| at.get(&links.canonical(n)).copied())
            .collect();
        if let Some(chain) = chain.filter(|c| !script.contains(c)) {
            script.push(chain);
        }
    }
    let taken: Vec<usize> = chains.iter().flatten().copied().collect();
    crate::project::variants(&files, &script, &taken)
}

/// The project model as `--explain-project` shows it: each file under its
/// project root ([`crate::project::Around::root_of`]), how the compose files
/// combine, the stages each Dockerfile runs and for which services, the
/// images built here and the services that run them by name.
fn project_view(m: &Model) -> report::project::Project {
    use report::project::{Builder, Compose, Dockerfile, Image, Relation, Root, RunsBuilt, Stage};
    use std::collections::BTreeMap;
    let links = &m.links;
    // How the run names each file it read; other files as found.
    let shown: std::collections::HashMap<PathBuf, &str> = m
        .slots
        .iter()
        .map(|s| (links.canonical(&s.0), s.1.as_str()))
        .collect();
    let name = |p: &Path| -> String {
        shown
            .get(&links.canonical(p))
            .map(|s| s.to_string())
            .unwrap_or_else(|| display_path(p))
    };
    let builder = |file: &Path, who: &str| Builder {
        bake: file
            .file_name()
            .is_some_and(|n| crate::bake::FILE_NAMES.contains(&n.to_string_lossy().as_ref())),
        name: who.to_string(),
        file: name(file),
    };
    let mut roots: BTreeMap<PathBuf, Root> = BTreeMap::new();
    let root_of = |p: &Path| m.around.root_of(&links.canonical(p));
    fn root(roots: &mut BTreeMap<PathBuf, Root>, r: PathBuf) -> &mut Root {
        let shown = display_path(&r);
        roots.entry(r).or_insert_with(|| Root {
            path: if shown.is_empty() { ".".into() } else { shown },
            ..Root::default()
        })
    }
    let doc_of = slot_doc;
    // Files the compose files name: (naming slot, how, the file).
    let mut named: Vec<(usize, compose::Reference, PathBuf)> = Vec::new();
    for (i, s) in m.slots.iter().enumerate() {
        if let Some(doc) = doc_of(s) {
            let dir = s.0.parent().unwrap_or(Path::new(""));
            for (how, file) in compose::references(doc) {
                named.push((i, how, links.canonical(&dir.join(file))));
            }
        }
    }
    let composes: Vec<PathBuf> = m
        .slots
        .iter()
        .filter(|s| s.2 == Some(Kind::Compose))
        .map(|s| links.canonical(&s.0))
        .collect();
    let scripts: Vec<(PathBuf, usize, Vec<PathBuf>)> = m
        .around
        .script_chains_found(&composes)
        .into_iter()
        .map(|(f, line, chain)| (f, line, chain.iter().map(|p| links.canonical(p)).collect()))
        .collect();
    let names = |v: &[usize]| -> Vec<String> { v.iter().map(|&i| m.slots[i].1.clone()).collect() };
    for (i, s) in m.slots.iter().enumerate() {
        match s.2 {
            Some(Kind::Compose) => {
                let mut relations = Vec::new();
                if m.file_chain.len() > 1 && m.file_chain.contains(&i) {
                    relations.push(Relation::FileChain(names(&m.file_chain)));
                }
                for (b, _) in m.overrides.iter().filter(|(_, o)| *o == i) {
                    relations.push(Relation::OverrideOf(m.slots[*b].1.clone()));
                }
                for (bases, _) in m.variants.iter().filter(|(_, v)| *v == i) {
                    let mut wanted: Vec<PathBuf> = bases
                        .iter()
                        .map(|&b| links.canonical(&m.slots[b].0))
                        .collect();
                    wanted.push(links.canonical(&s.0));
                    let script = scripts
                        .iter()
                        .find(|(_, _, c)| c.starts_with(&wanted))
                        .map(|(f, line, _)| (display_path(f), *line));
                    relations.push(Relation::VariantOf {
                        bases: names(bases),
                        script,
                    });
                }
                let me = links.canonical(&s.0);
                for (j, how, file) in &named {
                    if *file == me && matches!(how, compose::Reference::Include) {
                        let r = Relation::IncludedBy(m.slots[*j].1.clone());
                        if !relations.contains(&r) {
                            relations.push(r);
                        }
                    }
                }
                for (j, how, file) in &named {
                    if *j == i && matches!(how, compose::Reference::Extends) && *file != me {
                        let r = Relation::Extends(name(file));
                        if !relations.contains(&r) {
                            relations.push(r);
                        }
                    }
                }
                let c = Compose {
                    path: s.1.clone(),
                    named: !m.context.contains(&i),
                    test: crate::engine::ephemeral::is_test_file(&s.0),
                    relations,
                };
                root(&mut roots, root_of(&s.0)).composes.push(c);
                let Some(doc) = doc_of(s) else { continue };
                for svc in compose::service::services(doc) {
                    if svc.effective("build").is_some() {
                        continue;
                    }
                    let Some(image) = svc.effective("image").and_then(|(n, _)| n.as_str()) else {
                        continue;
                    };
                    if let Some((file, who)) = links.builder_of(image) {
                        let run = RunsBuilt {
                            service: svc.name.to_string(),
                            file: s.1.clone(),
                            image: image.to_string(),
                            builder: builder(file, who),
                        };
                        root(&mut roots, root_of(&s.0)).runs.push(run);
                    }
                }
            }
            Some(Kind::Dockerfile) => {
                let mut stages: Vec<Stage> = Vec::new();
                for (file, service, stage) in links.services_of(&s.0) {
                    let who = builder(file, service);
                    match stages.iter_mut().find(|u| u.stage.as_deref() == stage) {
                        Some(u) => u.services.push(who),
                        None => stages.push(Stage {
                            stage: stage.map(str::to_string),
                            services: vec![who],
                        }),
                    }
                }
                if stages.is_empty() {
                    stages.push(Stage {
                        stage: None,
                        services: Vec::new(),
                    });
                }
                root(&mut roots, root_of(&s.0))
                    .dockerfiles
                    .push(Dockerfile {
                        path: s.1.clone(),
                        stages,
                    });
            }
            _ => {}
        }
    }
    for (image, dockerfile, file, who) in links.images() {
        let i = Image {
            name: image.to_string(),
            dockerfile: name(dockerfile),
            builder: builder(file, who),
        };
        root(&mut roots, root_of(dockerfile)).images.push(i);
    }
    report::project::Project {
        roots: roots.into_values().collect(),
    }
}

/// Bake files (`docker-bake.hcl`, `docker-bake.json`) in the folders
/// the run names and beside its compose files: the images their targets
/// tag are built here, from the Dockerfiles they name. A bake file harden
/// cannot read or parse tells nothing (it is not a file harden edits).
fn read_bake_files(common: &Common, slots: &[Slot], links: &mut crate::link::Links) {
    let mut folders: std::collections::BTreeSet<PathBuf> = common
        .paths
        .iter()
        .filter(|p| p.is_dir())
        .cloned()
        .collect();
    for s in slots.iter().filter(|s| s.2 == Some(Kind::Compose)) {
        folders.insert(s.0.parent().unwrap_or(Path::new("")).to_path_buf());
    }
    let mut seen = std::collections::HashSet::new();
    for folder in folders {
        for name in crate::bake::FILE_NAMES {
            let path = folder.join(name);
            if !path.is_file() || !seen.insert(links.canonical(&path)) {
                continue;
            }
            let Ok(text) = read_text(&path, common.max_file_size) else {
                continue;
            };
            let builds = links.scan_bake(&path, &crate::bake::targets(&path, &text));
            links.add(&path, builds);
        }
    }
}

/// The compose files of the project around the run's files that the run
/// did not name but that decide how its files are hardened, read (with
/// the Dockerfiles they build that the run needs) as slots whose results
/// are not reported; returns those slots. They are: the compose files of
/// the project root (see [`crate::project::Around::root_of`]) that build one of
/// the run's Dockerfiles (`harden check path/Dockerfile`: every stage the
/// project runs is hardened and the user named the same whatever path was
/// given), the compose files beside a compose file of the run that
/// build an image one of its services runs by name, and the base file
/// beside a compose file of the run (a variant is hardened on its base).
fn project_context(
    common: &Common,
    around: &crate::project::Around,
    slots: &mut Vec<Slot>,
    links: &mut crate::link::Links,
    load: &Loader<'_>,
) -> std::collections::HashSet<usize> {
    use std::collections::{BTreeSet, HashSet};
    // Paths hash with foldhash here: SipHash over thousands of paths was
    // a visible part of this single-threaded step.
    use crate::hash::Set;
    let mut added = HashSet::new();
    let dockerfiles: Set<PathBuf> = slots
        .iter()
        .filter(|s| s.2 == Some(Kind::Dockerfile))
        .map(|s| links.canonical(&s.0))
        .collect();
    let docs = || slots.iter().filter_map(|s| Some((&s.0, slot_doc(s)?)));
    let mut beside: Set<PathBuf> = Set::default();
    for (path, doc) in docs() {
        if links.runs_unbuilt(doc) {
            if let Some(dir) = links.canonical(path).parent() {
                beside.insert(dir.to_path_buf());
            }
        }
    }
    let walked: Vec<PathBuf> = common
        .paths
        .iter()
        .filter(|p| p.is_dir())
        .map(|p| links.canonical(p))
        .collect();
    let roots: BTreeSet<PathBuf> = dockerfiles
        .iter()
        .map(|d| around.root_of(d))
        .filter(|r| !walked.iter().any(|w| r.starts_with(w)))
        .collect();
    // (file, whether every service of it that builds counts)
    let mut candidates: Vec<(PathBuf, bool)> = Vec::new();
    // The base file beside a compose file of the run: it may be the base
    // of a variant, hardened under it.
    for (path, _, kind, _) in slots.iter() {
        if *kind != Some(Kind::Compose) {
            continue;
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        let base = crate::project::BASE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|b| crate::fsio::is_file(b));
        if let Some(b) = base.filter(|b| links.canonical(b) != links.canonical(path)) {
            candidates.push((b, true));
        }
    }
    // The other files of a `-f` chain the project's scripts run with a
    // compose file of the run.
    let composes: Vec<PathBuf> = slots
        .iter()
        .filter(|s| s.2 == Some(Kind::Compose))
        .map(|s| links.canonical(&s.0))
        .collect();
    let chains = around.script_chains(&composes);
    let composes: Set<PathBuf> = composes.into_iter().collect();
    for chain in chains {
        if chain.iter().any(|p| composes.contains(&links.canonical(p))) {
            candidates.extend(chain.into_iter().filter(|p| p.is_file()).map(|p| (p, true)));
        }
    }
    let roots: Vec<PathBuf> = roots.into_iter().collect();
    for found in discover::discover_here(&roots) {
        if let Found::File {
            path,
            kind: Kind::Compose,
        } = found
        {
            candidates.push((path, false));
        }
    }
    // A folder under a walked one: the walk found its compose files.
    let mut beside: Vec<PathBuf> = beside
        .into_iter()
        .filter(|d| !walked.iter().any(|w| d.starts_with(w)))
        .collect();
    beside.sort();
    for dir in &beside {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| {
                discover::classify_name(&e.file_name().to_string_lossy()) == Some(Kind::Compose)
            })
            .map(|e| e.path())
            .collect();
        names.sort();
        candidates.extend(names.into_iter().map(|n| (n, false)));
    }
    if candidates.is_empty() {
        return added;
    }
    let mut listed: Set<PathBuf> = slots
        .iter()
        .filter(|s| s.2 == Some(Kind::Compose))
        .map(|s| links.canonical(&s.0))
        .collect();
    // The images the run's files run by name and no builder builds, where
    // a file not listed yet may build one.
    let wanted: HashSet<String> = if candidates
        .iter()
        .any(|(p, _)| !listed.contains(&links.canonical(p)))
    {
        docs().flat_map(|(_, d)| links.unbuilt_runs(d)).collect()
    } else {
        HashSet::new()
    };
    let mut needed: Vec<PathBuf> = Vec::new();
    for (path, whole) in candidates {
        if !listed.insert(links.canonical(&path)) {
            continue;
        }
        let Ok(done) = load(&path, Kind::Compose) else {
            continue;
        };
        let (_, Parsed::Compose(Some(doc))) = &done else {
            continue;
        };
        let builds: Vec<_> = links
            .scan(&path, doc)
            .into_iter()
            .filter(|b| {
                whole
                    || dockerfiles.contains(b.dockerfile())
                    || b.repository().is_some_and(|r| wanted.contains(&r))
            })
            .collect();
        if builds.is_empty() && !whole {
            continue;
        }
        for b in &builds {
            if !dockerfiles.contains(b.dockerfile())
                && !needed.iter().any(|n| links.canonical(n) == b.dockerfile())
            {
                needed.push(b.path().to_path_buf());
            }
        }
        links.add(&path, builds);
        added.insert(slots.len());
        let display = display_path(&path);
        slots.push((
            path,
            display,
            Some(Kind::Compose),
            Pre::Parsed(Box::new(done)),
        ));
    }
    for path in needed {
        added.insert(slots.len());
        let display = display_path(&path);
        slots.push((path, display, Some(Kind::Dockerfile), Pre::Later));
    }
    added
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
    let mut known: crate::hash::Map<PathBuf, usize> = crate::hash::Map::default();
    let mut todo: Vec<usize> = Vec::new();
    for (i, s) in slots.iter().enumerate() {
        if matches!(&s.3, Pre::Parsed(d) if matches!(**d, (_, Parsed::Compose(Some(_))))) {
            todo.push(i);
        }
    }
    if todo.is_empty() {
        return;
    }
    let mut seen_refs: crate::hash::Set<PathBuf> = crate::hash::Set::default();
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

/// Writes to a stream, treating a closed pipe (`harden ... | head`) as the
/// reader's choice rather than an error.
struct Out<W: Write> {
    w: W,
    closed: bool,
    /// A write that failed for another reason (a full disk): an error.
    failed: Option<String>,
}

impl Out<std::io::StdoutLock<'static>> {
    fn stdout() -> Self {
        Out {
            w: std::io::stdout().lock(),
            closed: false,
            failed: None,
        }
    }
}

impl Out<std::io::StderrLock<'static>> {
    fn stderr() -> Self {
        Out {
            w: std::io::stderr().lock(),
            closed: false,
            failed: None,
        }
    }
}

impl<W: Write> Out<W> {
    fn put(&mut self, s: &str) {
        if !self.closed {
            let r = self.w.write_all(s.as_bytes());
            self.record(r);
        }
    }

    /// Writes through `f` in large blocks (standard output is line
    /// buffered, and a report has millions of lines); `None` once the
    /// stream is closed or a write failed.
    fn write_with<T>(
        &mut self,
        f: impl FnOnce(&mut std::io::BufWriter<&mut W>) -> std::io::Result<T>,
    ) -> Option<T> {
        if self.closed {
            return None;
        }
        let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut self.w);
        let r = f(&mut w).and_then(|t| w.flush().map(|()| t));
        drop(w);
        match r {
            Ok(t) => Some(t),
            Err(e) => {
                self.record(Err(e));
                None
            }
        }
    }

    /// The diff must be out before the notes start on the other stream.
    fn flush(&mut self) {
        if !self.closed {
            let r = self.w.flush();
            self.record(r);
        }
    }

    /// A failed write closes the stream; one that is not a closed pipe is
    /// kept as the run's error.
    fn record(&mut self, r: std::io::Result<()>) {
        if let Err(e) = r {
            self.closed = true;
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                self.failed = Some(discover::io_message(&e));
            }
        }
    }

    /// The exit status, once everything is written: a report that could
    /// not be written is an error (exit 2), whatever it says.
    fn status(mut self, code: ExitCode) -> ExitCode {
        self.flush();
        match self.failed {
            Some(e) => {
                let _ = writeln!(std::io::stderr(), "error: cannot write the output: {e}");
                ExitCode::from(2)
            }
            None => code,
        }
    }
}

/// The run's configuration; an unusable harden.toml stops the run before
/// any file is read (exit 2), since its exemptions would be ignored.
fn load_config(common: &Common) -> Result<Config, ExitCode> {
    let targets: Vec<&Path> = common
        .paths
        .iter()
        .chain(&common.files)
        .map(PathBuf::as_path)
        .collect();
    let max = common.max_file_size;
    let mut config =
        crate::config::discover(common.config.as_deref(), &targets, common.isolated, max).map_err(
            |e| {
                let mut err = Out::stderr();
                err.put(&format!(
                    "{}\n",
                    crate::escape::terminal_keeping(&e.to_string(), &['\n'])
                ));
                ExitCode::from(2)
            },
        )?;
    common.apply_image_settings(&mut config.lookup);
    config
        .restrict(&common.select, &common.ignore)
        .map_err(|m| {
            Out::stderr().put(&format!("error: {m}\n"));
            ExitCode::from(2)
        })?;
    Ok(config)
}

/// The error line of a file that could not be read, parsed or fixed.
fn error_line(r: &FileResult) -> Option<String> {
    let e = r.error.as_ref()?;
    Some(format!(
        "{}:{}:{}: error: {}\n",
        crate::escape::terminal(&r.display),
        e.line,
        e.col,
        crate::escape::terminal(&e.message)
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
    let mut config = match load_config(&args.common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    config.canary |= args.canary;
    if args.dry_run && args.format == FixFormat::Markdown {
        // One document on standard output, errors included, nothing else.
        let mut view = report::project::Project::default();
        let explain = args.explain_project.then_some(&mut view);
        let mut md = report::markdown::Stream::new(true, args.common.verbose);
        let (mut errors, mut changed) = (false, false);
        let mut failed = None;
        run_stream(
            &args.common,
            &config,
            true,
            true,
            explain,
            |r| r,
            |r| {
                // A refused fix is an error here, which voids its parts' notes.
                let refused = r.source.is_some() && r.error.is_some();
                errors |= r.error.is_some();
                changed |= r.fixed.is_some();
                if failed.is_none() {
                    failed = md.file(&r, refused).err();
                }
            },
        );
        if args.explain_project {
            Out::stderr().put(&report::project::text(&view));
        }
        let mut stdout = Out::stdout();
        match failed {
            None => {
                stdout.write_with(|w| md.finish(w));
            }
            Some(e) => stdout.record(Err(e)),
        }
        return stdout.status(if errors {
            ExitCode::from(2)
        } else if changed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    let mut stdout = Out::stdout();
    let mut stderr = Out::stderr();
    let color = use_color(args.common.color, console::Term::stdout());
    let roots = crate::confine::Roots::of(&args.common);
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
    let mut view = report::project::Project::default();
    let explain = args.explain_project.then_some(&mut view);
    // A large compose file comes in parts (`more`): its notes gather in
    // the last of `kept` until the file's own result.
    let mut open = false;
    let gather = |kept: &mut Vec<FileResult>, open: &mut bool, r: FileResult| match kept.last_mut()
    {
        Some(last) if *open => {
            last.out.notes.extend(r.out.notes);
            last.out.knowledge.extend(r.out.knowledge);
        }
        _ => {
            *open = true;
            kept.push(FileResult {
                path: r.path,
                display: r.display,
                kind: r.kind,
                source: None,
                out: Output {
                    notes: r.out.notes,
                    knowledge: r.out.knowledge,
                    ..Output::default()
                },
                fixed: None,
                error: None,
                more: false,
            });
        }
    };
    run_stream(
        &args.common,
        &config,
        true,
        true,
        explain,
        diff,
        |(r, d)| {
            let quiet = args.common.quiet;
            if r.more {
                // Findings are not shown by `fix`; only the notes are kept.
                if !quiet {
                    gather(&mut kept, &mut open, r);
                }
                return;
            }
            // A refused fix changes nothing: the notes of its parts go.
            if open && r.error.is_some() {
                kept.pop();
                open = false;
            }
            errors |= report_error(&r, &mut stderr);
            if let (Some(src), Some(fixed)) = (&r.source, &r.fixed) {
                if args.dry_run {
                    changed += 1;
                    stdout.put(&d);
                } else {
                    match crate::write::write_atomic(&r.path, &src.text, fixed, &roots) {
                        Ok(()) => changed += 1,
                        Err(e) => {
                            errors = true;
                            stderr.put(&format!("{}:1:1: error: {e}\n", r.display));
                        }
                    }
                }
            }
            if !quiet {
                gather(&mut kept, &mut open, r);
                if kept.last().is_some_and(|k| k.out.notes.is_empty()) {
                    kept.pop();
                }
                open = false;
            }
        },
    );
    stdout.flush();
    // The project as harden understood it, before the notes it explains.
    if args.explain_project {
        stderr.put(&report::project::text(&view));
    }
    if !args.common.quiet {
        let err_color = use_color(args.common.color, console::Term::stderr());
        stderr.put(&report::notes::render(
            &kept,
            err_color,
            args.common.verbose,
        ));
        let verb = if args.dry_run {
            "would be changed"
        } else {
            "changed"
        };
        let config = crate::config::in_use()
            .map(|c| format!(" Configuration: {c}."))
            .unwrap_or_default();
        let more = if !args.common.verbose && report::notes::shortened(&kept) {
            " `--verbose` gives the notes in full."
        } else {
            ""
        };
        stderr.put(&format!(
            "{changed} file{} {verb}.{config}{more}\n",
            plural(changed)
        ));
    }
    stdout.status(if errors {
        ExitCode::from(2)
    } else if args.dry_run && changed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn check(args: &CheckArgs) -> ExitCode {
    let config = match load_config(&args.common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if args.explain_project {
        return explain_project(args);
    }
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
                true,
                None,
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
        // Written file by file as the results come, in input order.
        Format::Json => {
            let doc = stdout.write_with(|w| report::json::Stream::start(w));
            errors |= stream_report(args, &config, doc, &mut stdout, &mut stderr, &mut tally);
        }
        Format::Sarif => {
            let log = match report::sarif::Stream::start() {
                Ok(log) => Some(log),
                Err(e) => {
                    stderr.put(&format!(
                        "error: cannot write the output: {}\n",
                        discover::io_message(&e)
                    ));
                    errors = true;
                    None
                }
            };
            errors |= stream_report(args, &config, log, &mut stdout, &mut stderr, &mut tally);
        }
        Format::Markdown => {
            let md = report::markdown::Stream::new(false, args.common.verbose);
            errors |= stream_report(
                args,
                &config,
                Some(md),
                &mut stdout,
                &mut stderr,
                &mut tally,
            );
        }
    }
    stdout.status(if errors {
        ExitCode::from(2)
    } else if tally.fails(args.fail_on()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A report `check` writes file by file as the results come (JSON, SARIF).
trait FileReport {
    /// Takes a large file's results in parts ([`FileResult::more`]).
    const PARTS: bool;
    /// Writes one file's result; `Err` ends the report, with the message
    /// to give where the failure was not already recorded on `stdout`.
    /// `refused`: the file's fix was refused, which voids the notes of
    /// the parts before it.
    fn file(
        &mut self,
        stdout: &mut Out<StdoutLock>,
        r: &FileResult,
        refused: bool,
    ) -> Result<(), Option<String>>;
    /// The rest of the report, once every file is written.
    fn finish(self, w: &mut impl Write) -> std::io::Result<()>;
}

type StdoutLock = std::io::StdoutLock<'static>;

impl FileReport for report::json::Stream {
    const PARTS: bool = true;

    fn file(
        &mut self,
        stdout: &mut Out<StdoutLock>,
        r: &FileResult,
        refused: bool,
    ) -> Result<(), Option<String>> {
        stdout
            .write_with(|w| report::json::Stream::file(self, w, r, refused))
            .ok_or(None)
    }

    fn finish(self, w: &mut impl Write) -> std::io::Result<()> {
        report::json::Stream::finish(self, w)
    }
}

/// The document is written whole at the end, its pieces spooled.
impl FileReport for report::markdown::Stream {
    const PARTS: bool = true;

    fn file(
        &mut self,
        _: &mut Out<StdoutLock>,
        r: &FileResult,
        refused: bool,
    ) -> Result<(), Option<String>> {
        report::markdown::Stream::file(self, r, refused).map_err(|e| Some(discover::io_message(&e)))
    }

    fn finish(self, w: &mut impl Write) -> std::io::Result<()> {
        report::markdown::Stream::finish(self, w)
    }
}

impl FileReport for report::sarif::Stream {
    const PARTS: bool = true;

    fn file(
        &mut self,
        _: &mut Out<StdoutLock>,
        r: &FileResult,
        _: bool,
    ) -> Result<(), Option<String>> {
        report::sarif::Stream::file(self, r).map_err(|e| Some(discover::io_message(&e)))
    }

    fn finish(self, w: &mut impl Write) -> std::io::Result<()> {
        report::sarif::Stream::finish(self, w)
    }
}

/// `check` into a report written file by file (`report` is `None` when
/// it could not be started): each file's refused fix becomes a note, its
/// error goes to standard error, it is counted and written; a report that
/// cannot be written is dropped, and the files are still counted. Whether
/// any file (or the report) failed.
fn stream_report<R: FileReport>(
    args: &CheckArgs,
    config: &Config,
    mut report: Option<R>,
    stdout: &mut Out<StdoutLock>,
    stderr: &mut Out<std::io::StderrLock<'static>>,
    tally: &mut report::text::Tally,
) -> bool {
    let mut errors = false;
    run_stream(
        &args.common,
        config,
        true,
        R::PARTS,
        None,
        |r| r,
        |mut r| {
            let refused = r.source.is_some() && r.error.is_some();
            refused_fix_as_note(&mut r);
            errors |= report_error(&r, stderr);
            tally.add(&r);
            if let Some(rep) = &mut report {
                if let Err(message) = rep.file(stdout, &r, refused) {
                    if let Some(m) = message {
                        stderr.put(&format!("error: cannot write the output: {m}\n"));
                        errors = true;
                    }
                    report = None;
                }
            }
        },
    );
    if let Some(rep) = report {
        stdout.write_with(|w| rep.finish(w));
    }
    errors
}

/// `check --explain-project`: the project model instead of the findings,
/// as text or JSON; no rule runs. A file that cannot be read or parsed is
/// an error (exit 2), as for every report.
fn explain_project(args: &CheckArgs) -> ExitCode {
    let mut stdout = Out::stdout();
    let mut stderr = Out::stderr();
    let render: fn(&report::project::Project) -> String = match args.format {
        Format::Text => report::project::text,
        Format::Json => report::project::json,
        _ => {
            stderr.put("error: --explain-project prints text or json (--format text|json)\n");
            return ExitCode::from(2);
        }
    };
    let load = loader(&args.common);
    let m = model(&args.common, &load);
    let mut errors = false;
    for s in &m.slots {
        if let Pre::Failed(e) = &s.3 {
            errors = true;
            stderr.put(&format!(
                "{}:{}:{}: error: {}\n",
                crate::escape::terminal(&s.1),
                e.line,
                e.col,
                crate::escape::terminal(&e.message)
            ));
        }
    }
    stdout.put(&render(&project_view(&m)));
    stdout.status(if errors {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// A file that was read and analysed but whose fix harden refuses (the
/// only error a result with its text has) is an error for `fix`; `check`
/// reports its findings and exit status as the formats without fixes do,
/// and says in a review note that `harden fix` will not change the file.
fn refused_fix_as_note(r: &mut FileResult) {
    if r.source.is_none() {
        return;
    }
    if let Some(e) = r.error.take() {
        r.out.review(
            "whole file",
            "",
            format!("`harden fix` will not change this file: {}", e.message),
        );
    }
}
