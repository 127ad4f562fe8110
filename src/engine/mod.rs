//! The engine: runs the rules over parsed files and applies what they
//! produce. For a compose file it plans every service and runs each rule
//! that applies to it; for a Dockerfile, the rules of the stage it runs,
//! following the plan of the service that builds it. Exemptions
//! (`x-harden`, `# harden: allow`, harden.toml) are decided here, once per
//! service or Dockerfile, for every rule; then the edits are applied in one
//! pass and the result re-parsed and verified before anything is written.

mod contains;
pub mod dockerfiles;
pub mod ephemeral;
pub mod migrations;
pub mod services;
pub mod sources;

use crate::compose;
use crate::config::Config;
use crate::discover::Kind;
use crate::edit;
use crate::error::FileError;
use crate::finding::Output;
use crate::source::Source;
use std::path::{Path, PathBuf};
use std::rc::Rc;
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
    /// Only part of the file's results: more follow in a later result for
    /// the same file (a large compose file is handed on as it goes). When
    /// the file's own result then has an error, the fix was refused: the
    /// parts' findings stand, their notes, knowledge and unknown images do
    /// not (nothing changes).
    pub more: bool,
}

impl FileResult {
    pub fn failed(path: PathBuf, display: String, kind: Option<Kind>, error: FileError) -> Self {
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

/// A file read and parsed, before the rules run.
pub enum Parsed {
    Compose(Option<compose::tree::Document>),
    Dockerfile(crate::dockerfile::Dockerfile),
}

pub fn parse(
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
        Kind::Source => Err(FileError::at_start(
            "a program's source is edited from the Dockerfile that runs it, not read on its own",
        )),
    }
}

/// A fix that passed verification: the new text and its parse.
pub struct Fixed {
    pub src: Arc<Source>,
    pub parsed: Parsed,
}

impl Fixed {
    /// The fixed text, once its parse is no longer needed: the parse holds
    /// the text, so it is dropped first and the text is ours, not copied.
    pub fn into_text(self) -> String {
        let Fixed { src, parsed } = self;
        drop(parsed);
        Arc::try_unwrap(src).map_or_else(|s| s.text.clone(), |s| s.text)
    }
}

/// Apply the edits, then re-parse and check that nothing the author wrote
/// changed meaning; the fixed text with its parse, or why the fix is refused.
pub fn fix_text(
    src: &Source,
    parsed: &Parsed,
    out: &Output,
    limits: &compose::tree::Limits,
) -> Result<Option<Fixed>, FileError> {
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
        Parsed::Compose(Some(doc)) => {
            services::verify(doc, &new_src, &out.replaced, limits).map(|d| Parsed::Compose(Some(d)))
        }
        Parsed::Compose(None) => Err("the file is empty".to_string()),
        Parsed::Dockerfile(df) => {
            dockerfiles::verify(df, &src.text, &new_src.text).map(Parsed::Dockerfile)
        }
    };
    let parsed = verdict.map_err(|why| FileError {
        line: 1,
        col: 1,
        message: format!("the fix was refused because {why}; the file is left as it was"),
    })?;
    Ok(Some(Fixed {
        src: new_src,
        parsed,
    }))
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
            services::analyze(&src, doc, &project, &|_| None, config, services::Mode::Fix).0
        }
        Parsed::Compose(None) => Output::default(),
        Parsed::Dockerfile(df) => {
            let mut hints = crate::dockerfile::analyze::Hints {
                uid: crate::link::DEFAULT_UID,
                ..Default::default()
            };
            hints.configure(crate::config::baseline(), &src.path);
            // A file fixed on its own asks no engine and no registry.
            hints.lookup = None;
            dockerfiles::analyze(&src, df, &hints)
        }
    };
    Ok(fix_text(&src, &parsed, &out, &limits)?.map(Fixed::into_text))
}

/// A file of a group in the second pass: its slot index, path, display
/// name, kind, and its text and parse (or why there is none).
pub type Member = (
    usize,
    PathBuf,
    String,
    Option<Kind>,
    Result<(Arc<Source>, Parsed), FileError>,
);

/// How the compose files of a group combine, by member position.
#[derive(Debug, Default)]
pub struct Layout {
    /// Projects of several files read together (an override pair, the
    /// `-f` files), each in order.
    pub chains: Vec<Vec<usize>>,
    /// Variants: the files under each, in order, and the variant.
    pub variants: Vec<(Vec<usize>, usize)>,
}

/// Compose files read for their values only (named by `extends.file` or
/// `include` and not hardened themselves), by canonical path.
pub type Refs<'d> = crate::hash::Map<PathBuf, &'d compose::tree::Document>;

/// The files of `refs` that the documents of `own` name, directly or
/// through each other: a group sees the files its own services extend
/// or include, never those of an unrelated project elsewhere in the
/// tree (whose volume names would otherwise change the names chosen
/// here, and whose number would make every group's work grow with the
/// tree).
fn referenced<'d>(
    own: &[(PathBuf, &'d compose::tree::Document)],
    refs: &Refs<'d>,
    links: &crate::link::Links,
) -> Vec<(PathBuf, &'d compose::tree::Document)> {
    let mut out: Vec<(PathBuf, &'d compose::tree::Document)> = Vec::new();
    if refs.is_empty() {
        return out;
    }
    let mut todo: Vec<(PathBuf, &'d compose::tree::Document)> = own.to_vec();
    while let Some((path, doc)) = todo.pop() {
        let dir = path.parent().unwrap_or(Path::new(""));
        for (_, file) in compose::references(doc) {
            let key = links.canonical(&dir.join(&file));
            if out.iter().any(|(p, _)| *p == key) {
                continue;
            }
            if let Some((p, d)) = refs.get_key_value(&key) {
                out.push((p.clone(), *d));
                todo.push((p.clone(), *d));
            }
        }
    }
    out
}

/// Plan, analyze and fix the files of one group: compose files with their
/// override files and the Dockerfiles their services build. A variant is
/// analysed with its bases as hardened laid over it, so that it gets only
/// what base + variant merged still lacks, and never a key the base sets.
/// `layout` says how the group's compose files combine. `fixes`: compute
/// and verify each file's fix (else findings only). With `part`, a compose
/// file's results are handed on a few hundred at a time, each as a result
/// with `more` set, before the file's own result: without a fix its
/// findings; with one, its findings, notes, knowledge and unknown images,
/// while its edits stay for the fix, which the file's own result carries.
/// Each slot's result comes first in its list, followed by the program
/// sources its rules edit (the entry module a Dockerfile runs).
#[allow(clippy::too_many_arguments)]
pub fn harden_group(
    members: Vec<Member>,
    layout: &Layout,
    refs: &Refs<'_>,
    links: &crate::link::Links,
    config: &Config,
    limits: &compose::tree::Limits,
    fixes: bool,
    part: Option<&dyn Fn(usize, FileResult)>,
) -> Vec<(usize, Vec<FileResult>)> {
    let (chains, variants) = (&layout.chains, &layout.variants);
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
        let own: Vec<(PathBuf, &compose::tree::Document)> = members
            .iter()
            .enumerate()
            .filter_map(|(m, member)| Some((links.canonical(&member.1), doc_at(m)?)))
            .collect();
        let named = referenced(&own, refs, links);
        own.into_iter().chain(named).collect()
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
    let dockerfiles: crate::hash::Map<PathBuf, &crate::dockerfile::Dockerfile> = members
        .iter()
        .filter(|m| links.is_linked(&m.1))
        .filter_map(|m| match &m.4 {
            Ok((_, Parsed::Dockerfile(df))) => Some((links.canonical(&m.1), df)),
            _ => None,
        })
        .collect();
    // Each build context's manifests, read at its first service: the
    // group's files plan the same services several times.
    let packages: std::cell::RefCell<crate::hash::Map<PathBuf, crate::plan::Packages>> =
        Default::default();
    let built_in = |path: &Path, service: &str| -> Option<crate::plan::Built<'_>> {
        let (df_path, context, target) = links.built_by(path, service)?;
        let dockerfile = dockerfiles.get(df_path)?;
        let known = packages.borrow().get(context).cloned();
        let listed = known.unwrap_or_else(|| {
            let read = Rc::new(crate::plan::context_packages(context));
            packages.borrow_mut().insert(context.clone(), read.clone());
            read
        });
        Some(crate::plan::Built {
            dockerfile,
            target: target.as_deref(),
            packages: listed,
        })
    };

    // The bases of variants as hardened (each as it is when the fix does
    // not change it or is refused). A fix keeps the analysis and the fixed
    // text of a base that is not a variant itself for the base's own
    // result: the same work, done once.
    let mut hardened: Vec<(usize, Result<Option<Fixed>, FileError>)> = Vec::new();
    let mut analysed: Vec<(usize, (Output, services::Plans))> = Vec::new();
    for b in variants.iter().flat_map(|(bases, _)| bases) {
        if hardened.iter().any(|(h, _)| h == b) {
            continue;
        }
        let Some(Ok((src, parsed @ Parsed::Compose(Some(doc))))) = members.get(*b).map(|m| &m.4)
        else {
            continue;
        };
        let path = &members[*b].1;
        let built = |service: &str| built_in(path, service);
        let (out, kept) =
            services::analyze(src, doc, &project(*b), &built, config, services::Mode::Fix);
        hardened.push((*b, fix_text(src, parsed, &out, limits)));
        if fixes && !variants.iter().any(|(_, v)| v == b) {
            analysed.push((*b, (out, kept)));
        }
    }
    let under: Vec<(usize, Vec<(&compose::tree::Document, &str)>)> = variants
        .iter()
        .map(|(bases, v)| {
            let docs = bases
                .iter()
                .filter_map(|b| {
                    let fixed = hardened.iter().find(|(h, _)| h == b).and_then(|(_, f)| {
                        match f.as_ref().ok().and_then(Option::as_ref).map(|f| &f.parsed) {
                            Some(Parsed::Compose(Some(d))) => Some(d),
                            _ => None,
                        }
                    });
                    let doc = fixed.or_else(|| doc_at(*b))?;
                    Some((doc, members[*b].2.rsplit('/').next().unwrap_or("")))
                })
                .collect();
            (*v, docs)
        })
        .collect();
    let project = |m: usize| {
        let mut p = project(m);
        if let Some((_, docs)) = under.iter().find(|(v, _)| *v == m) {
            p.overlays = docs;
            p.bases = &[];
            p.variant = true;
        }
        p
    };
    // Compose files first: each service is planned and checked in one
    // pass, and only the plans of services that build one of the group's
    // Dockerfiles are kept, for that Dockerfile's rules.
    let mut outputs: Vec<Output> = Vec::with_capacity(members.len());
    let mut plans: Vec<Option<services::Plans>> = Vec::with_capacity(members.len());
    for (m, (i, path, display, kind, r)) in members.iter().enumerate() {
        let Ok((src, Parsed::Compose(Some(doc)))) = r else {
            outputs.push(Output::default());
            plans.push(None);
            continue;
        };
        let built = |service: &str| built_in(path, service);
        let mut spill = |out: Output| {
            if let Some(part) = part {
                part(
                    *i,
                    FileResult {
                        path: path.clone(),
                        display: display.clone(),
                        kind: *kind,
                        source: Some(src.clone()),
                        out,
                        fixed: None,
                        error: None,
                        more: true,
                    },
                );
            }
        };
        // Notes `explain_project` adds below go to services whose notes
        // would be handed on already: such a file is kept whole, so that
        // reports grouping notes by service see each service's together.
        let in_parts = part.is_some() && !(fixes && runs_built_here(doc, path, links));
        let mode = match (fixes, in_parts) {
            (_, false) => services::Mode::Fix,
            (true, true) => services::Mode::FixInParts { spill: &mut spill },
            (false, true) => services::Mode::Check { spill: &mut spill },
        };
        let early = analysed
            .iter()
            .position(|(b, _)| *b == m)
            .map(|at| analysed.swap_remove(at).1);
        let (mut out, kept) = match early {
            Some(done) => done,
            None => services::analyze(src, doc, &project(m), &built, config, mode),
        };
        if fixes {
            explain_project(
                &mut out,
                doc,
                path,
                links,
                under.iter().find(|(v, _)| *v == m),
            );
        }
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
    let plan_of = |compose: &Path, service: &str| -> Option<&crate::plan::ServicePlan> {
        let m = compose_paths
            .iter()
            .position(|c| c.as_deref() == Some(compose))?;
        plans.get(m)?.as_ref()?.get(service)
    };
    for ((_, path, _, _, r), out) in members.iter().zip(outputs.iter_mut()) {
        if let Ok((src, Parsed::Dockerfile(df))) = r {
            // One analysis per stage the project's services run, each
            // following the plan of the service that runs it.
            let uses = links.stages(path);
            let hints: Vec<crate::dockerfile::analyze::Hints> = if uses.is_empty() {
                vec![links.hints_for(path)]
            } else {
                uses.iter()
                    .map(|u| {
                        let mut hints = links.hints_for_stage(path, Some(u));
                        // The directories of every service that runs the
                        // stage (builds it, or runs its image by name).
                        for (compose, service, _) in links
                            .services_of(path)
                            .into_iter()
                            .filter(|(_, _, t)| *t == u.target.as_deref())
                        {
                            if let Some(plan) = plan_of(compose, service) {
                                follow_plan(&mut hints, plan);
                            }
                        }
                        hints
                    })
                    .collect()
            };
            let hints: Vec<_> = hints
                .into_iter()
                .map(|mut h| {
                    h.configure(config, path);
                    h
                })
                .collect();
            *out = dockerfiles::analyze_stages(src, df, &hints);
        }
    }
    drop(plans);

    // Dockerfiles first: a compose file's migrations read the user its
    // Dockerfiles run as once fixed.
    let mut fixed: Vec<Option<Result<Option<Fixed>, FileError>>> =
        members.iter().map(|_| None).collect();
    if fixes {
        for dockerfiles_first in [true, false] {
            for (m, member) in members.iter().enumerate() {
                let Ok((src, parsed)) = &member.4 else {
                    continue;
                };
                if matches!(parsed, Parsed::Dockerfile(_)) != dockerfiles_first {
                    continue;
                }
                let early = hardened
                    .iter()
                    .position(|(b, _)| *b == m && !variants.iter().any(|(_, v)| *v == m));
                let result = match early {
                    Some(at) => hardened.swap_remove(at).1,
                    None => fix_text(src, parsed, &outputs[m], limits),
                };
                if let Parsed::Compose(Some(before)) = parsed {
                    let after = match &result {
                        Ok(Some(Fixed {
                            parsed: Parsed::Compose(Some(after)),
                            ..
                        })) => Some(after),
                        // Unchanged, though its Dockerfiles may have changed.
                        Ok(None) => Some(before),
                        _ => None,
                    };
                    if let Some(after) = after {
                        outputs[m].migrations =
                            group_migrations(before, after, &members, &fixed, m, links);
                    }
                }
                fixed[m] = Some(result);
            }
        }
    }

    // Program sources the Dockerfile rules edit, each once in the group;
    // only a run that fixes writes them.
    let mut seen = std::collections::HashSet::new();
    let sources: Vec<Vec<FileResult>> = outputs
        .iter_mut()
        .map(|o| {
            let edits = std::mem::take(&mut o.sources);
            if fixes {
                sources::results(edits, &mut seen)
            } else {
                Vec::new()
            }
        })
        .collect();

    members
        .into_iter()
        .zip(outputs)
        .zip(fixed)
        .zip(sources)
        .map(|((((i, path, display, kind, r), out), fixed), sources)| {
            let result = match (r, fixed.unwrap_or(Ok(None))) {
                (Err(e), _) => FileResult::failed(path, display, kind, e),
                // A refused fix keeps the file's findings (with its text)
                // for `check`, which reports them in every format alike.
                (Ok((src, _)), Err(e)) => FileResult {
                    source: Some(src),
                    out: Output {
                        findings: out.findings,
                        ..Output::default()
                    },
                    ..FileResult::failed(path, display, kind, e)
                },
                (Ok((src, _)), Ok(fixed)) => FileResult {
                    path,
                    display,
                    kind,
                    source: Some(src),
                    out,
                    fixed: fixed.map(Fixed::into_text),
                    error: None,
                    more: false,
                },
            };
            let mut all = vec![result];
            all.extend(sources);
            (i, all)
        })
        .collect()
}

/// Whether a service of `doc` runs, without building it, an image a
/// Dockerfile of the project builds (what [`explain_project`] explains).
fn runs_built_here(doc: &compose::tree::Document, path: &Path, links: &crate::link::Links) -> bool {
    compose::service::services(doc)
        .any(|svc| svc.effective("build").is_none() && links.built_by(path, svc.name).is_some())
}

/// Notes on what the project around a compose file changed in how it was
/// hardened: a variant hardened on its bases, and services that run an
/// image a Dockerfile of the project builds without building it.
fn explain_project(
    out: &mut Output,
    doc: &compose::tree::Document,
    path: &Path,
    links: &crate::link::Links,
    variant: Option<&(usize, Vec<(&compose::tree::Document, &str)>)>,
) {
    if let Some((_, bases)) = variant {
        let names: Vec<String> = bases.iter().map(|(_, n)| format!("`{n}`")).collect();
        out.info(
            "whole file",
            "",
            format!(
                "a variant of {}, which defines every service it has: hardened as Compose merges them (the base first, then this file), it gets only what the merge still lacks and no key the base sets",
                names.join(" and ")
            ),
        );
    }
    for svc in compose::service::services(doc) {
        if svc.effective("build").is_some() {
            continue;
        }
        let Some((dockerfile, _, _)) = links.built_by(path, svc.name) else {
            continue;
        };
        let from = crate::paths::display_path(dockerfile);
        let what = match svc.effective("image").and_then(|(n, _)| n.as_str()) {
            Some(image) => format!("runs `{image}`, which `{from}` builds here"),
            None => format!("runs what `{from}` builds for it in the base file"),
        };
        out.info(
            &format!("service {}", svc.name),
            "",
            format!("{what}: planned from that Dockerfile (its user, volumes and entrypoint)"),
        );
    }
}

/// The migrations of compose member `m` (`before` as parsed, `after` as
/// fixed), reading the group's Dockerfiles as parsed or as fixed. A
/// Dockerfile that could not be read or fixed tells nothing.
fn group_migrations(
    before: &compose::tree::Document,
    after: &compose::tree::Document,
    members: &[Member],
    fixed: &[Option<Result<Option<Fixed>, FileError>>],
    m: usize,
    links: &crate::link::Links,
) -> Vec<crate::migration::Migration> {
    let dockerfile = |path: &Path, as_fixed: bool| -> Option<&crate::dockerfile::Dockerfile> {
        let k = members
            .iter()
            .position(|o| o.1.file_name() == path.file_name() && links.canonical(&o.1) == path)?;
        let before = match &members[k].4 {
            Ok((_, Parsed::Dockerfile(df))) => df,
            _ => return None,
        };
        match fixed.get(k)? {
            Some(Err(_)) => None,
            Some(Ok(Some(Fixed {
                parsed: Parsed::Dockerfile(df),
                ..
            }))) if as_fixed => Some(df),
            _ => Some(before),
        }
    };
    migrations::migrations(before, after, &members[m].1, links, &dockerfile)
}

/// What the plan of the service that builds a Dockerfile asks of it: the
/// named-volume directories to create for the user (and which of them were
/// mounted before harden ran), and the tmpfs mountpoints whose mode it sets.
/// Several services' plans add up: each directory once.
fn follow_plan(hints: &mut crate::dockerfile::analyze::Hints, plan: &crate::plan::ServicePlan) {
    fn add<T: Clone + PartialEq>(to: &mut Vec<T>, from: &[T]) {
        for x in from {
            if !to.contains(x) {
                to.push(x.clone());
            }
        }
    }
    add(&mut hints.dirs, &plan.volume_dirs);
    add(&mut hints.existing_volumes, &plan.existing_volume_dirs);
    add(&mut hints.tmpfs_dirs, &plan.tmpfs_dirs);
}
