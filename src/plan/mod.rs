//! The plan: for each compose service, everything harden infers about what
//! it must be allowed to do (the paths it writes, the capabilities its
//! entrypoint needs, the user it can run as, the cache variables to
//! redirect), each with the reason it was inferred. The compose edits and
//! the Dockerfile edits are both derived from it, so they cannot disagree.

use crate::compose::mounts::{covered, mounts, Mount, TMP};
use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::dockerfile::{Dockerfile, Form};
use crate::profiles::{self, ImageProfile, WriteKind};
pub mod dirs;
pub mod user;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// How a carve-out is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carve {
    /// A named volume, declared at the top level: persistent data.
    /// `cache`: nothing to carry over from an older container: a directory
    /// harden chose for library caches, where nothing was written before,
    /// or one a profile marks `disposable` (a socket directory).
    Volume { name: String, cache: bool },
    /// A tmpfs with its options (`size=64m,mode=1777`): scratch space.
    Tmpfs { options: String },
}

/// A path the service writes that is not yet writable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarveOut {
    pub path: String,
    pub carve: Carve,
    /// Borrowed when constant: the `/tmp` reason recurs for every service.
    pub why: Cow<'static, str>,
    /// The reason in a few words, where `why` says more (the notes' short
    /// form); `None`: `why` is short already.
    pub short: Option<Cow<'static, str>>,
    /// The rest of the explanation, said once per report: the baseline's
    /// for `/tmp`, a profile's reasoning for a path.
    pub shared: Option<crate::finding::Shared>,
}

impl CarveOut {
    /// The entry for the service's `tmpfs:` or `volumes:` list.
    pub fn entry(&self) -> String {
        match &self.carve {
            Carve::Volume { name, .. } => format!("{name}:{}", self.path),
            Carve::Tmpfs { options } if options.is_empty() => self.path.clone(),
            Carve::Tmpfs { options } => format!("{}:{options}", self.path),
        }
    }
}

/// An environment variable that moves a library's cache into a carve-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    pub why: String,
}

#[derive(Debug, Clone, Default)]
pub struct ServicePlan {
    /// New carve-outs, in the order they are added.
    pub carve_outs: Vec<CarveOut>,
    /// Every named-volume path of the service (existing and new): a linked
    /// Dockerfile creates and chowns them so a fresh volume belongs to the user.
    pub volume_dirs: Vec<String>,
    /// Named-volume paths the service already had: volumes that may already
    /// exist with files owned by root.
    pub existing_volume_dirs: Vec<String>,
    /// Mountpoints of new tmpfs carve-outs that ask for a mode
    /// (`mode=1777`), with that mode. runc gives a tmpfs the mode of the
    /// directory it is mounted on, whatever the `mode=` option says (and
    /// Podman 4 rejects `uid=`), so a linked Dockerfile sets the mode on the
    /// image's directory itself.
    pub tmpfs_dirs: Vec<(String, String)>,
    /// Cache variables to add to the service's environment.
    pub env: Vec<EnvVar>,
    /// Capabilities to add back, with why.
    pub cap_add: Vec<(String, String)>,
    /// Kernel parameters for `sysctls` (name, value, why): what lets the
    /// service do without a capability (port 80 without NET_BIND_SERVICE).
    pub sysctls: Vec<(String, String, String)>,
    /// `user:` to set, with why (known images that can run as non-root).
    pub user: Option<(String, String)>,
    /// The known-image profile used, for notes: shared, not copied per service.
    pub profile: Option<Arc<ImageProfile>>,
    /// Things a person should check.
    pub review: Vec<String>,
    /// The service runs an image harden has no profile for and no
    /// Dockerfile of: where it writes is not known.
    pub unknown_image: Option<String>,
    /// What the image itself said, for an image without a profile.
    pub facts: Option<Arc<crate::image::facts::ImageFacts>>,
    /// Why the image could not be read, for an image without a profile
    /// that the service does not build here.
    pub unreadable: Option<crate::image::Unknown>,
    /// A Dockerfile of the project builds the image the service runs
    /// (its own `build:`, or the image another service or a bake target
    /// builds, run by name): harden knows it from that Dockerfile.
    pub built_here: bool,
}

/// What the plan needs of a Dockerfile that the service builds.
pub struct Built<'a> {
    pub dockerfile: &'a Dockerfile,
    /// The stage the service runs (`build.target`), lowercase.
    pub target: Option<&'a str>,
    /// The packages the build context's dependency manifests list, as
    /// (package, manifest file name): [`context_packages`], read once per
    /// context by the caller, since a project's compose files (base,
    /// override, variants) plan the same service several times.
    pub packages: Packages,
}

/// A build context's packages, as (package, manifest file name), shared by
/// the services that build it.
pub type Packages = std::rc::Rc<Vec<(String, String)>>;

/// What the plan infers from names and commands: data, in
/// templates/inference.toml.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Inference {
    directory_variables: DirectoryVariables,
    system_paths: SystemPaths,
    #[serde(default)]
    program: Vec<Program>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DirectoryVariables {
    suffixes: Vec<String>,
    prefixes: Vec<String>,
    data_suffixes: Vec<String>,
    not: Vec<String>,
    not_suffixes: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SystemPaths {
    paths: Vec<String>,
}

/// A program whose known write paths become tmpfs carve-outs.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Program {
    name: String,
    tmpfs: Vec<ProgramTmpfs>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramTmpfs {
    path: String,
    options: String,
    why: String,
}

/// `templates/inference.toml` as build.rs converts it to JSON: what a run parses
/// (several times faster than TOML).
const INFERENCE_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/inference.json"));
/// The file as written, which the tests compare the JSON copy with.
#[cfg(test)]
const INFERENCE: &str = include_str!("../../templates/inference.toml");

/// The embedded file is part of the binary and a test parses it, so a
/// broken one is a build defect: it reads as empty rather than panicking.
fn inference() -> &'static Inference {
    static LOADED: std::sync::OnceLock<Inference> = std::sync::OnceLock::new();
    LOADED.get_or_init(|| serde_json::from_str(INFERENCE_JSON).unwrap_or_default())
}

/// Environment variables names that carry a directory the app writes.
fn is_dir_variable(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let d = &inference().directory_variables;
    if d.not.contains(&n) || d.not_suffixes.iter().any(|s| n.ends_with(s.as_str())) {
        return false;
    }
    d.suffixes.iter().any(|s| n.ends_with(s.as_str()))
        || d.prefixes.iter().any(|s| n.starts_with(s.as_str()))
        || d.data_suffixes
            .iter()
            .any(|s| n.ends_with(s.as_str()) && n.contains("DATA"))
}

/// Directories that hold the image's own software: never carve-outs.
fn is_system_path(p: &str) -> bool {
    p == "/"
        || inference().system_paths.paths.iter().any(|s| {
            p.strip_prefix(s.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// A volume name suffix from a path: `/app/models` → `models`.
fn slug(path: &str) -> String {
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("data");
    let s: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(['-', '.']).to_string();
    if s.is_empty() {
        "data".into()
    } else {
        s
    }
}

/// Looks like a file (has an extension) rather than a directory.
fn looks_like_file(p: &str) -> bool {
    p.rsplit('/')
        .next()
        .is_some_and(|l| l.contains('.') && !l.starts_with('.'))
}

pub struct Planner<'a> {
    mounts: Vec<Mount>,
    plan: ServicePlan,
    service: &'a str,
    taken_volume_names: Vec<String>,
}

/// The name of a new named volume of `service`: `SERVICE-SUFFIX`, where
/// characters a volume name may not hold become `-` (a `:` would split the
/// mount entry). It starts with a letter or digit: in a service's
/// `volumes:` a source starting with `.` or `/` is a host path, not a
/// volume (a service `..` would mount `..-data` from the host), and Docker
/// refuses any other first character.
fn volume_name(service: &str, suffix: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let name = format!("{}-{}", clean(service), clean(suffix));
    match name.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()) {
        "" => "data".to_string(),
        rest => rest.to_string(),
    }
}

impl<'a> Planner<'a> {
    fn covered(&self, path: &str) -> bool {
        covered(&self.mounts, path)
            || self
                .plan
                .carve_outs
                .iter()
                .any(|c| c.path == path || path.starts_with(&format!("{}/", c.path)))
    }

    fn volume(&mut self, path: &str, suffix: &str, why: impl Into<Cow<'static, str>>) {
        self.add_volume(path, suffix, why.into(), false);
    }

    fn add_volume(&mut self, path: &str, suffix: &str, why: Cow<'static, str>, cache: bool) {
        if self.covered(path) {
            return;
        }
        let base = volume_name(self.service, suffix);
        let mut name = base.clone();
        let mut n = 2;
        while self.taken_volume_names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        self.taken_volume_names.push(name.clone());
        self.plan.volume_dirs.push(path.to_string());
        self.plan.carve_outs.push(CarveOut {
            path: path.to_string(),
            carve: Carve::Volume { name, cache },
            why,
            short: None,
            shared: None,
        });
    }

    fn tmpfs(&mut self, path: &str, options: String, why: impl Into<Cow<'static, str>>) {
        if self.covered(path) {
            return;
        }
        self.plan.carve_outs.push(CarveOut {
            path: path.to_string(),
            carve: Carve::Tmpfs { options },
            why: why.into(),
            short: None,
            shared: None,
        });
    }

    /// The carve-out just planned at `path`, to give its note a short form.
    fn planned(&mut self, path: &str) -> Option<&mut CarveOut> {
        self.plan
            .carve_outs
            .iter_mut()
            .rev()
            .find(|c| c.path == path)
    }
}

/// A profile's reason split after its first sentence: what the path is,
/// and the reasoning that follows (empty when there is none).
/// A sentence ends at a full stop (not an ellipsis) before a capital.
fn first_sentence(why: &str) -> (&str, &str) {
    let end = why.match_indices(". ").map(|(i, _)| i).find(|&i| {
        !why[..i].ends_with('.') && why[i + 2..].starts_with(|c: char| c.is_uppercase())
    });
    match end {
        Some(i) => (&why[..i], why[i + 2..].trim()),
        None => (why.trim_end_matches('.'), ""),
    }
}

/// The shell a service's `command:` starts with (`sh -c "valkey-server ..."`),
/// which official entrypoints do not recognise as their server.
fn shell_command(svc: &Service) -> Option<String> {
    use crate::compose::tree::Kind;
    let (node, _) = svc.effective("command")?;
    let first = match &node.kind {
        Kind::Seq { items, .. } => items.first()?.as_str()?.to_string(),
        _ => node.as_str()?.split_whitespace().next()?.to_string(),
    };
    let name = first.rsplit('/').next().unwrap_or(&first);
    matches!(name, "sh" | "bash" | "ash" | "dash").then_some(first)
}

/// Infer the plan for one service. `exempt` lists the rules the service is
/// exempted from (carve-outs are pointless when the root stays writable).
pub fn plan_service(
    ctx: &Ctx,
    svc: &Service,
    built: Option<&Built>,
    top_level_volumes: &[String],
    exempt: &[&str],
) -> ServicePlan {
    let mut p = Planner {
        mounts: mounts(ctx, svc),
        plan: ServicePlan::default(),
        service: svc.name,
        taken_volume_names: top_level_volumes.to_vec(),
    };
    for m in &p.mounts {
        // Named and anonymous volumes both start from the image's directory
        // (an anonymous one even survives a recreate): chowned in the
        // Dockerfile for the new user, or the user cannot write them.
        if !m.tmpfs && !m.read_only && (m.named || m.anonymous()) {
            p.plan.volume_dirs.push(m.target.clone());
            p.plan.existing_volume_dirs.push(m.target.clone());
        }
    }
    let read_only_applies =
        !exempt.contains(&"writable-rootfs") && !exempt.contains(&"unmounted-write-path");

    // The image: the service's own, or the base of the Dockerfile it builds.
    // As Compose resolves it (`postgres:${VERSION}` with the `.env`).
    let image = svc.scalar("image").and_then(|(n, _)| n.as_str()).map(|s| {
        crate::image::interpolate::image_reference(s, &ctx.src.path, &ctx.config.lookup.env_files)
            .unwrap_or_else(|| s.to_string())
    });
    let base_image = built
        .and_then(|b| {
            let i = crate::dockerfile::analyze::run_stage(b.dockerfile, b.target)?;
            b.dockerfile.stages.get(i)
        })
        .map(|s| s.resolved_image.clone());
    let profile = match (built, &image) {
        (None, Some(img)) => ctx.config.profile_for(img),
        // A Dockerfile that only adds to a known image (FROM postgres + init scripts).
        (Some(_), _) => base_image
            .as_deref()
            .and_then(|b| ctx.config.profile_for(b)),
        _ => None,
    };
    p.plan.profile = profile.cloned();

    if read_only_applies {
        p.tmpfs(TMP, format!("size={}", ctx.config.tmpfs_size), "scratch space in memory, since the root filesystem is read-only (programs and libraries write temporary files there)");
        if let Some(c) = p.planned(TMP) {
            c.short = Some(Cow::Borrowed(""));
            c.shared = Some(crate::finding::Shared::known("baseline"));
        }
    }

    if let Some(prof) = profile {
        let image_ref = if built.is_some() {
            base_image.clone().unwrap_or_default()
        } else {
            image.clone().unwrap_or_default()
        };
        let has_user = svc.scalar("user").and_then(|(n, _)| n.as_str()).is_some();
        let run_as = prof.user_for(&image_ref);
        let will_run_as = match (&run_as, has_user, built.is_some()) {
            (_, _, _) if !prof.runs_as_root_by_default => true,
            (Some(u), false, false) => {
                p.plan.user = Some((
                    format!("{}:{}", u.uid, u.gid),
                    format!(
                        "runs as the image's own `{}` user: {}",
                        u.name,
                        prof.user.as_ref().map(|x| x.why.as_str()).unwrap_or("")
                    ),
                ));
                true
            }
            (_, true, _) => true,
            // A Dockerfile on a known image ends with a non-root USER (the
            // root-user rule sees to it) unless the image drops privileges
            // itself: only then does its entrypoint need capabilities.
            (_, false, true) => built.is_some_and(|b| !dockerfile_keeps_root(b)),
            _ => false,
        };
        if read_only_applies {
            let mounted = |path: &str| p.mounts.iter().any(|m| m.target == path);
            let writes: Vec<_> = prof
                .writes_for(&image_ref)
                .filter(|w| w.when_mounted.as_deref().is_none_or(mounted))
                .filter(|w| !w.unless_mounted.as_deref().is_some_and(mounted))
                .collect();
            for w in writes {
                let why = format!("{} ({} image profile)", w.why, prof.id);
                // A profile's reason starts with what the path is; the rest,
                // why it is carved out this way, is said once per report.
                let (short, rest) = first_sentence(&w.why);
                let shared = (!rest.is_empty()).then(|| crate::finding::Shared {
                    key: Cow::Owned(rest.to_string()),
                    brief: Cow::Borrowed(""),
                    text: Cow::Owned(format!("{} ({} image profile): {rest}", w.path, prof.id)),
                });
                let brief = |p: &mut Planner, path: &str| {
                    if let Some(c) = p.planned(path) {
                        if c.short.is_none() {
                            c.short = Some(Cow::Owned(short.to_string()));
                            c.shared.clone_from(&shared);
                        }
                    }
                };
                match w.kind {
                    WriteKind::Volume => {
                        p.add_volume(
                            &w.path,
                            w.name.as_deref().unwrap_or("data"),
                            why.into(),
                            w.disposable,
                        );
                        brief(&mut p, &w.path);
                    }
                    // harden's own /tmp is already planned: a profile can
                    // only ask for it to allow exec (JVM native libraries).
                    WriteKind::Tmpfs if w.path == TMP => {
                        let planned = p.plan.carve_outs.iter_mut().find(|c| c.path == TMP);
                        if let Some(CarveOut {
                            carve: Carve::Tmpfs { options },
                            why: planned_why,
                            short: planned_short,
                            ..
                        }) = planned
                        {
                            if w.exec && !options.split(',').any(|o| o == "exec") {
                                options.push_str(",exec");
                                *planned_why = format!("{planned_why}; exec: {why}").into();
                                *planned_short = Some(format!("exec: {short}").into());
                            }
                        }
                    }
                    WriteKind::Tmpfs => {
                        let mut opts = Vec::new();
                        if let Some(s) = &w.size {
                            opts.push(format!("size={s}"));
                        }
                        if let Some(m) = &w.mode {
                            opts.push(format!("mode={m}"));
                        }
                        if let Some(u) = w.uid {
                            opts.push(format!("uid={u}"));
                        }
                        if let Some(g) = w.gid {
                            opts.push(format!("gid={g}"));
                        }
                        if w.exec {
                            opts.push("exec".to_string());
                        }
                        p.tmpfs(&w.path, opts.join(","), why);
                        brief(&mut p, &w.path);
                    }
                }
            }
        }
        if !will_run_as && prof.runs_as_root_by_default {
            for c in &prof.caps.needed_as_root {
                p.plan.cap_add.push((
                    c.clone(),
                    prof.caps
                        .why
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                ));
            }
        }
        // Only entrypoint scripts look at the command; a server that drops
        // privileges itself (nginx) does so however it is started.
        let entrypoint_drops = matches!(
            prof.entrypoint_drops_privileges.as_deref(),
            Some("gosu" | "su-exec" | "setpriv")
        );
        if !will_run_as && entrypoint_drops {
            if let Some(shell) = shell_command(svc) {
                p.plan.review.push(format!(
                    "`command:` starts with `{shell}`: the image's entrypoint takes its root branch (chown, then the drop to its own user) only when the command is the server itself, so here the server would run as root, with nothing chowned; start the command with the server (exec form), or set the image's user"
                ));
            }
        }
        // Sharing the host's or another container's network namespace, the
        // service can neither set `net.*` sysctls nor have its own
        // unprivileged port range.
        let shared_network = svc
            .effective("network_mode")
            .and_then(|(n, _)| n.as_str())
            .is_some_and(|m| {
                m == "host" || m.starts_with("service:") || m.starts_with("container:")
            });
        for s in &prof.sysctl {
            if !(shared_network && s.needs_own_network()) {
                p.plan
                    .sysctls
                    .push((s.name.clone(), s.value.clone(), s.why.clone()));
            }
        }
        if prof.ports_below_1024
            && shared_network
            && !p.plan.cap_add.iter().any(|(c, _)| c == "NET_BIND_SERVICE")
        {
            p.plan.cap_add.push(("NET_BIND_SERVICE".into(), "listens below port 1024 in a shared network namespace (network_mode), where no sysctl can lower the unprivileged port range".into()));
        }
        let mounts = &p.mounts;
        let notes: Vec<String> = prof
            .notes_with_mounts(&image_ref, |path| mounts.iter().any(|m| m.target == path))
            .map(str::to_string)
            .collect();
        for n in notes {
            p.plan.review.push(n);
        }
    }

    // An image without a profile: what the image itself says.
    if let (None, None, Some(img)) = (built, profile, &image) {
        let found = crate::image::lookup(img, &ctx.config.lookup);
        if let Err(unknown) = &found {
            p.plan.unreadable = Some(unknown.clone());
        }
        if let Ok(f) = found {
            let has_user = svc.scalar("user").and_then(|(n, _)| n.as_str()).is_some();
            let advice = crate::image::advice::advise(&f, has_user, read_only_applies);
            p.plan.user = advice.user;
            p.plan.cap_add.extend(advice.cap_add);
            for crate::image::advice::Carve::Volume(path, suffix, why) in advice.carves {
                p.volume(&path, &suffix, why);
            }
            p.plan.review.extend(advice.review);
            p.plan.facts = Some(f);
        }
    }

    p.plan.built_here = built.is_some();
    if let Some(b) = built {
        if read_only_applies {
            plan_from_dockerfile(&mut p, b);
        }
    }
    if read_only_applies {
        plan_from_environment(&mut p, ctx, svc, built);
        // Nothing tells harden where an unknown image writes: say so
        // rather than imply the carve-outs are complete.
        if built.is_none() && profile.is_none() && p.plan.facts.is_none() {
            // Named as the author wrote it.
            p.plan.unknown_image = svc
                .scalar("image")
                .and_then(|(n, _)| n.as_str())
                .map(str::to_string);
        }
    }
    p.plan.tmpfs_dirs = tmpfs_modes(&p.plan.carve_outs);
    p.plan
}

/// Each tmpfs carve-out with a `mode=` option: (path, mode).
fn tmpfs_modes(carve_outs: &[CarveOut]) -> Vec<(String, String)> {
    carve_outs
        .iter()
        .filter_map(|c| match &c.carve {
            Carve::Tmpfs { options } => options
                .split(',')
                .find_map(|o| o.strip_prefix("mode="))
                .filter(|m| !m.is_empty() && m.bytes().all(|b| (b'0'..=b'7').contains(&b)))
                .map(|m| (c.path.clone(), m.to_string())),
            Carve::Volume { .. } => None,
        })
        .collect()
}

/// Whether the stage a service runs keeps starting as root: no USER in it
/// or the stages it builds on, on a base image whose entrypoint drops
/// privileges itself (the root-user rule leaves those alone).
fn dockerfile_keeps_root(b: &Built) -> bool {
    let df = b.dockerfile;
    let Some(run) = crate::dockerfile::analyze::run_stage(df, b.target) else {
        return false;
    };
    let chain = df.chain(run);
    if chain.iter().any(|&i| {
        df.stage_instructions(i)
            .iter()
            .any(|ins| ins.keyword == "USER")
    }) {
        return false;
    }
    let root_image = chain
        .first()
        .and_then(|&i| df.stages.get(i))
        .map_or("", |s| s.resolved_image.as_str());
    crate::baseimage::classify(root_image)
        .drops_privileges
        .is_some()
}

/// VOLUME paths, directory variables and runtime defaults from the
/// Dockerfile, and cache redirects from the dependency manifests next to it.
fn plan_from_dockerfile(p: &mut Planner, b: &Built) {
    let df = b.dockerfile;
    let Some(last) = crate::dockerfile::analyze::run_stage(df, b.target) else {
        return;
    };
    // The final stage first.
    let mut chain = df.chain(last);
    chain.reverse();
    // Started as root on purpose, dropping privileges later: with no
    // capabilities that switch fails.
    if let Some(tool) = crate::dockerfile::users::drops_privileges_itself(df, &chain) {
        p.plan.review.push(format!(
            "the Dockerfile starts as root and switches user with {tool}, which needs SETUID and SETGID (and CHOWN if it chowns at start): add them with `cap_add`, or make the image start as its user"
        ));
    }
    let mut cmdline = String::new();
    for s in chain.iter().rev() {
        for i in df.stages[*s].instructions.clone() {
            let ins = &df.instructions[i];
            match ins.keyword.as_str() {
                "VOLUME" => {
                    let args = df.resolve_at(i, &ins.args);
                    let paths: Vec<String> = match &ins.form {
                        Form::Exec(v) => v.clone(),
                        Form::Shell => args.split_whitespace().map(str::to_string).collect(),
                    };
                    for path in paths {
                        let path = path.trim_end_matches('/').to_string();
                        if path.starts_with('/') && !is_system_path(&path) {
                            let s = slug(&path);
                            p.volume(&path, &s, format!("declared `VOLUME {path}` in the Dockerfile (line {}): the image expects to write there", ins.line));
                        }
                    }
                }
                "ENV" => {
                    for (k, v) in env_pairs(&df.resolve_at(i, &ins.args)) {
                        if is_dir_variable(&k)
                            && v.starts_with('/')
                            && !v.contains(':')
                            && !is_system_path(&v)
                            && !looks_like_file(&v)
                        {
                            let s = slug(&v);
                            p.volume(&v, &s, format!("`{k}={v}` (Dockerfile line {}) tells the program to keep data there", ins.line));
                        }
                    }
                }
                "CMD" | "ENTRYPOINT" => {
                    cmdline = match &ins.form {
                        Form::Exec(v) => v.join(" "),
                        Form::Shell => ins.args.clone(),
                    };
                }
                _ => {}
            }
        }
    }
    // Programs whose packaged builds write known places (templates/inference.toml).
    let program = cmdline
        .split_whitespace()
        .next()
        .and_then(|w| w.rsplit('/').next());
    if let Some(known) = program
        .and_then(|name| inference().program.iter().find(|k| k.name == name))
        .filter(|_| p.plan.profile.is_none())
    {
        for t in &known.tmpfs {
            p.tmpfs(&t.path, t.options.clone(), t.why.clone());
        }
    }
    plan_caches(p, &b.packages);
}

/// The packages the dependency manifests in the build context `context`
/// list (requirements*.txt but those for development or tests,
/// pyproject.toml, Pipfile, package.json), as (package, file name).
pub fn context_packages(context: &Path) -> Vec<(String, String)> {
    let mut packages = Vec::new();
    // The folder is listed once and only the files it has are opened: a
    // tree of thousands of contexts would otherwise try every name in each.
    let listed: Vec<String> = std::fs::read_dir(context)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let read = |name: &str| {
        listed
            .iter()
            .any(|n| n == name)
            .then(|| crate::fsio::read_utf8(&context.join(name)))
            .flatten()
    };
    let mut names: Vec<&String> = listed
        .iter()
        .filter(|n| n.starts_with("requirements") && n.ends_with(".txt"))
        .filter(|n| !n.contains("dev") && !n.contains("test"))
        .collect();
    names.sort();
    for n in names {
        if let Some(t) = read(n) {
            packages.extend(
                profiles::parse_python_requirements(&t)
                    .into_iter()
                    .map(|p| (p, n.clone())),
            );
        }
    }
    if let Some(t) = read("pyproject.toml") {
        packages.extend(
            profiles::parse_pyproject_dependencies(&t)
                .into_iter()
                .map(|p| (p, "pyproject.toml".to_string())),
        );
    }
    if let Some(t) = read("Pipfile") {
        packages.extend(
            profiles::parse_pipfile(&t)
                .into_iter()
                .map(|p| (p, "Pipfile".to_string())),
        );
    }
    if let Some(t) = read("package.json") {
        packages.extend(
            profiles::parse_package_json_dependencies(&t)
                .into_iter()
                .map(|p| (p, "package.json".to_string())),
        );
    }
    packages
}

/// Library caches: one volume, with each library's variables pointing into
/// it, for the packages the build context lists.
fn plan_caches(p: &mut Planner, packages: &[(String, String)]) {
    let root = format!("/var/cache/{}", p.service);
    let mut libs: Vec<String> = Vec::new();
    for (pkg, file) in packages {
        let Some(lib) = profiles::cache_library(pkg) else {
            continue;
        };
        if lib.downloads_at_install {
            continue;
        }
        let mut used = false;
        for e in lib.active_env() {
            if p.plan.env.iter().any(|x| x.name == e.var) {
                used = true;
                continue;
            }
            let value = if e.subdir.is_empty() {
                root.clone()
            } else {
                format!("{root}/{}", e.subdir)
            };
            p.plan.env.push(EnvVar {
                name: e.var.clone(),
                value,
                why: format!("{} ({pkg} in {file})", e.why),
            });
            used = true;
        }
        if used && !libs.contains(&lib.name().to_string()) {
            libs.push(lib.name().to_string());
        }
    }
    if !libs.is_empty() {
        if !p.plan.env.iter().any(|e| e.name == "XDG_CACHE_HOME") {
            p.plan.env.insert(
                0,
                EnvVar {
                    name: "XDG_CACHE_HOME".into(),
                    value: root.clone(),
                    why: "the default cache root for libraries that follow the XDG convention"
                        .into(),
                },
            );
        }
        p.add_volume(
            &root,
            "cache",
            format!(
                "model and library caches of {} kept across restarts",
                libs.join(", ")
            )
            .into(),
            true,
        );
    }
}

/// Directory variables set in the compose file's `environment`.
fn plan_from_environment(p: &mut Planner, ctx: &Ctx, svc: &Service, _built: Option<&Built>) {
    for (k, v) in crate::compose::environment(ctx, svc) {
        if is_dir_variable(&k)
            && v.starts_with('/')
            && !v.contains(':')
            && !v.contains('$')
            && !is_system_path(&v)
            && !looks_like_file(&v)
        {
            let s = slug(&v);
            p.volume(
                &v,
                &s,
                format!(
                    "`{k}={v}` in the service's environment tells the program to keep data there"
                ),
            );
        }
    }
    plan_from_command(p, ctx, svc);
    // Variables the service already sets are not redirected again.
    let set: Vec<String> = crate::compose::environment(ctx, svc)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    p.plan.env.retain(|e| !set.contains(&e.name));
}

/// A service whose own `command:` or `entrypoint:` writes a file (a shell
/// redirection or `tee`, e.g. `envsubst < t > /etc/nginx/conf.d/default.conf`)
/// outside every mount fails on a read-only root filesystem. Which
/// directory to carve out is the author's call (a tmpfs there hides what the
/// image put in it), so it becomes a review note, not an edit.
fn plan_from_command(p: &mut Planner, ctx: &Ctx, svc: &Service) {
    let mut seen: Vec<String> = Vec::new();
    for key in ["entrypoint", "command"] {
        let Some((v, _)) = svc.effective(key) else {
            continue;
        };
        let words = match v.as_str() {
            Some(s) => s.to_string(),
            None => ctx.strings(v).join(" "),
        };
        for path in written_paths(&words) {
            let dir = match path.rsplit_once('/') {
                Some(("", _)) | None => continue,
                Some((d, _)) => d.to_string(),
            };
            if p.covered(&path)
                || path.starts_with("/dev/")
                || path.starts_with("/proc/")
                || seen.contains(&path)
            {
                continue;
            }
            p.plan.review.push(format!(
                "`{key}` writes {path}, on the read-only root filesystem: mount a tmpfs (scratch) or a volume on {dir} (it hides what the image has there), or have it write below a carve-out"
            ));
            seen.push(path);
        }
    }
}

/// Absolute paths a shell command line writes with `>`, `>>` or `tee`.
fn written_paths(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let clean = |w: &str| -> Option<String> {
        let w = w.trim_matches(['"', '\'', ';', '&', '|', ')', '(']);
        (w.starts_with('/') && !w.contains('$') && w.len() > 1).then(|| w.to_string())
    };
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let mut i = 0;
    while let Some(w) = words.get(i) {
        // `>file`, `>>file`, `2>file`, or `>` and the file as the next word.
        let redirect = w
            .find('>')
            .filter(|&at| w[..at].chars().all(|c| c.is_ascii_digit()))
            .map(|at| w[at..].trim_start_matches('>'));
        match redirect {
            Some(rest) if rest.starts_with('&') => {}
            Some("") => {
                if let Some(p) = words.get(i + 1).and_then(|n| clean(n)) {
                    out.push(p);
                }
                i += 1;
            }
            Some(rest) => out.extend(clean(rest)),
            None if *w == "tee" => {
                let mut j = i + 1;
                while let Some(n) = words.get(j) {
                    if n.starts_with('-') {
                        j += 1;
                        continue;
                    }
                    match clean(n) {
                        Some(p) => out.push(p),
                        None => break,
                    }
                    j += 1;
                }
            }
            None => {}
        }
        i += 1;
    }
    out
}

/// `K=V K2="v 2"` or legacy `K V` from an ENV instruction (already resolved).
pub fn env_pairs(args: &str) -> Vec<(String, String)> {
    let args = args.trim();
    let first = args.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        return match args.split_once(char::is_whitespace) {
            Some((k, v)) => vec![(k.to_string(), v.trim().to_string())],
            None => Vec::new(),
        };
    }
    args.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches(['"', '\'']).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_are_volumes_not_host_paths() {
        assert_eq!(volume_name("web", "data"), "web-data");
        assert_eq!(volume_name("my app:1", "cache"), "my-app-1-cache");
        assert_eq!(volume_name("..", "data"), "data");
        assert_eq!(volume_name(".x", "data"), "x-data");
        assert_eq!(volume_name("/x", "data"), "x-data");
        assert_eq!(volume_name("-", "-"), "data");
        assert_eq!(volume_name("_w", ".cache"), "w-.cache");
    }

    #[test]
    fn paths_a_command_writes() {
        assert_eq!(
            written_paths("/bin/sh -c \"envsubst < /etc/nginx/t.conf > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'\""),
            ["/etc/nginx/conf.d/default.conf"]
        );
        assert_eq!(
            written_paths("sh -c 'echo ok >>/var/log/app.log; cat x | tee -a /srv/out.txt /srv/b 2>/dev/null'"),
            ["/var/log/app.log", "/srv/out.txt", "/srv/b", "/dev/null"]
        );
        // Not writes: comparisons in arguments, fd duplication, relative paths.
        assert!(written_paths("app --level=info 2>&1 > out.txt").is_empty());
        assert!(written_paths("python -m app").is_empty());
    }

    #[test]
    fn a_profile_reason_splits_after_its_first_sentence() {
        assert_eq!(
            first_sentence("unix socket (/run). A named volume, not a tmpfs: x. Y."),
            ("unix socket (/run)", "A named volume, not a tmpfs: x. Y.")
        );
        assert_eq!(
            first_sentence("for SELECT ... INTO OUTFILE; made on start"),
            ("for SELECT ... INTO OUTFILE; made on start", "")
        );
        assert_eq!(first_sentence("pid file."), ("pid file", ""));
    }

    #[test]
    fn inference_file_parses() {
        let i: Inference = toml::from_str(INFERENCE).expect("templates/inference.toml parses");
        assert_eq!(
            format!("{i:?}"),
            format!("{:?}", inference()),
            "the JSON copy"
        );
        assert!(!i.system_paths.paths.is_empty() && !i.program.is_empty());
    }

    #[test]
    fn directory_variables() {
        assert!(is_dir_variable("MODEL_DIR"));
        assert!(is_dir_variable("UPLOAD_PATH"));
        assert!(is_dir_variable("DATA_ROOT"));
        assert!(!is_dir_variable("PATH"));
        assert!(!is_dir_variable("PYTHONPATH"));
        assert!(!is_dir_variable("LOG_LEVEL"));
        assert!(looks_like_file("/var/log/app.log"));
        assert!(!looks_like_file("/app/models"));
        assert!(is_system_path("/usr/share/x"));
        assert!(!is_system_path("/usrdata"));
        assert_eq!(slug("/app/Models/"), "models");
    }

    #[test]
    fn tmpfs_modes_come_from_the_options() {
        let t = |path: &str, options: &str| CarveOut {
            path: path.into(),
            carve: Carve::Tmpfs {
                options: options.into(),
            },
            why: Cow::Borrowed(""),
            short: None,
            shared: None,
        };
        let carve_outs = [
            t("/tmp", "size=512m"),
            t("/var/lib/nginx", "size=64m,mode=1777"),
            t("/run", "mode=0755,size=1m"),
            t("/odd", "mode=rwx"),
            CarveOut {
                path: "/app/data".into(),
                carve: Carve::Volume {
                    name: "data".into(),
                    cache: false,
                },
                why: Cow::Borrowed(""),
                short: None,
                shared: None,
            },
        ];
        assert_eq!(
            tmpfs_modes(&carve_outs),
            vec![
                ("/var/lib/nginx".to_string(), "1777".to_string()),
                ("/run".to_string(), "0755".to_string()),
            ]
        );
    }

    #[test]
    fn env_instruction_forms() {
        assert_eq!(
            env_pairs("A=1 B=\"/x\""),
            vec![("A".into(), "1".into()), ("B".into(), "/x".into())]
        );
        assert_eq!(
            env_pairs("MODEL_DIR /app/models"),
            vec![("MODEL_DIR".into(), "/app/models".into())]
        );
    }
}
