//! The plan: for each compose service, everything harden infers about what
//! it must be allowed to do (the paths it writes, the capabilities its
//! entrypoint needs, the user it can run as, the cache variables to
//! redirect), each with the reason it was inferred. The compose edits and
//! the Dockerfile edits are both derived from it, so they cannot disagree.

use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::dockerfile::{Dockerfile, Form};
use crate::profiles::{self, ImageProfile, WriteKind};
use crate::rules::unmounted_write_path::{covered, mounts, Mount, TMP};
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// How a carve-out is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carve {
    /// A named volume, declared at the top level: persistent data.
    /// `cache`: a directory harden chose for library caches, where nothing
    /// was written before.
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
}

/// What the plan needs of a Dockerfile that the service builds.
pub struct Built<'a> {
    pub dockerfile: &'a Dockerfile,
    /// The stage the service runs (`build.target`), lowercase.
    pub target: Option<&'a str>,
    /// The build context directory (dependency manifests are read there).
    pub context: &'a Path,
}

/// Environment variables names that carry a directory the app writes.
fn is_dir_variable(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let excluded = [
        "PATH",
        "PYTHONPATH",
        "LD_LIBRARY_PATH",
        "NODE_PATH",
        "GOPATH",
        "JAVA_HOME",
        "HOME",
        "PWD",
        "VIRTUAL_ENV",
        "CLASSPATH",
        "MANPATH",
        "PKG_CONFIG_PATH",
    ];
    if excluded.contains(&n.as_str()) || n.ends_with("_PATHS") {
        return false;
    }
    n.ends_with("_DIR")
        || n.ends_with("_PATH")
        || n.starts_with("DATA_")
        || n.ends_with("_DATA")
        || n.ends_with("_ROOT") && n.contains("DATA")
}

/// Directories that hold the image's own software: never carve-outs.
fn is_system_path(p: &str) -> bool {
    const SYSTEM: &[&str] = &[
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib64",
        "/etc",
        "/proc",
        "/sys",
        "/dev",
        "/boot",
        "/opt/conda/bin",
    ];
    p == "/"
        || SYSTEM
            .iter()
            .any(|s| p == *s || p.starts_with(&format!("{s}/")))
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
        // Volume names allow fewer characters than service names in
        // practice (a `:` would split the mount entry).
        let service: String = self
            .service
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let mut name = format!("{service}-{suffix}");
        let mut n = 2;
        while self.taken_volume_names.contains(&name) {
            name = format!("{service}-{suffix}-{n}");
            n += 1;
        }
        self.taken_volume_names.push(name.clone());
        self.plan.volume_dirs.push(path.to_string());
        self.plan.carve_outs.push(CarveOut {
            path: path.to_string(),
            carve: Carve::Volume { name, cache },
            why,
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
        });
    }
}

/// Infer the plan for one service. `exempt` lists the rules the service is
/// exempted from (carve-outs are pointless when the root stays writable).
pub fn plan_service(
    ctx: &Ctx,
    svc: &Service,
    built: Option<&Built>,
    top_level_volumes: &[String],
) -> ServicePlan {
    let mut p = Planner {
        mounts: mounts(ctx, svc),
        plan: ServicePlan::default(),
        service: svc.name,
        taken_volume_names: top_level_volumes.to_vec(),
    };
    for m in &p.mounts {
        if !m.tmpfs && !m.read_only && m.named {
            p.plan.volume_dirs.push(m.target.clone());
            p.plan.existing_volume_dirs.push(m.target.clone());
        }
    }
    let read_only_applies = !ctx.allows(svc, crate::rules::writable_rootfs::NAME)
        && !ctx.allows(svc, crate::rules::unmounted_write_path::NAME);

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
            for w in prof.writes_for(&image_ref) {
                let why = format!("{} ({} image profile)", w.why, prof.id);
                match w.kind {
                    WriteKind::Volume => {
                        p.volume(&w.path, w.name.as_deref().unwrap_or("data"), why)
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
                        p.tmpfs(&w.path, opts.join(","), why);
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
        if prof.ports_below_1024
            && svc.effective("network_mode").and_then(|(n, _)| n.as_str()) == Some("host")
        {
            p.plan.cap_add.push(("NET_BIND_SERVICE".into(), "listens below port 1024 with network_mode: host, where the container's unprivileged port range does not apply".into()));
        }
        for n in prof.notes_for(&image_ref) {
            p.plan.review.push(n.to_string());
        }
    }

    // An image without a profile: what the image itself says.
    if let (None, None, Some(img)) = (built, profile, &image) {
        if let Ok(f) = crate::image::lookup(img, &ctx.config.lookup) {
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
    let mut stage = Some(run);
    let mut root_image = String::new();
    let mut seen = 0;
    while let Some(i) = stage {
        let Some(s) = df.stages.get(i) else { break };
        if df.instructions[s.instructions.clone()]
            .iter()
            .any(|ins| ins.keyword == "USER")
        {
            return false;
        }
        root_image = s.resolved_image.clone();
        stage = s.parent;
        seen += 1;
        if seen > df.stages.len() {
            break;
        }
    }
    crate::baseimage::classify(&root_image)
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
    let mut chain = vec![last];
    while let Some(parent) = df
        .stages
        .get(*chain.last().unwrap_or(&last))
        .and_then(|s| s.parent)
    {
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
    }
    // Started as root on purpose, dropping privileges later: with no
    // capabilities that switch fails.
    if let Some(tool) = crate::rules::root_user::drops_privileges_itself(df, &chain) {
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
    // nginx from the distribution's packages writes its state under /var/lib/nginx and logs under /var/log/nginx.
    if cmdline
        .split_whitespace()
        .next()
        .is_some_and(|w| w.rsplit('/').next() == Some("nginx"))
        && p.plan.profile.is_none()
    {
        for (path, why) in [
            (
                "/var/lib/nginx",
                "nginx's body and proxy temp files (Debian's nginx packages)",
            ),
            (
                "/var/log/nginx",
                "nginx's log files, unless logging goes to stdout",
            ),
            (
                "/run",
                "nginx's pid file (/run/nginx.pid in Debian's packages)",
            ),
        ] {
            p.tmpfs(path, "size=64m,mode=1777".into(), why);
        }
    }
    plan_caches(p, b.context);
}

/// Library caches: one volume, with each library's variables pointing into it.
fn plan_caches(p: &mut Planner, context: &Path) {
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
            .then(|| std::fs::read_to_string(context.join(name)).ok())
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
    let root = format!("/var/cache/{}", p.service);
    let mut libs: Vec<String> = Vec::new();
    for (pkg, file) in &packages {
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
