//! Linking compose services to the Dockerfiles they build, so that both
//! files are hardened for the same service: the user is named after it, and
//! (as the plan grows) the directories it writes agree in both.

use crate::compose::service;
use crate::compose::tree::Document;
use crate::dockerfile::analyze::Hints;
use crate::hash::Map;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The default UID for a created user.
pub const DEFAULT_UID: u32 = crate::config::DEFAULT_UID;

/// One service that builds a Dockerfile.
#[derive(Debug, Clone)]
struct Link {
    /// The service, and its compose file, canonical.
    service: String,
    compose: PathBuf,
    /// The service's build context, canonical.
    context: PathBuf,
    /// `build.target`: the stage the service runs.
    target: Option<String>,
    /// `build.args`.
    args: Vec<(String, String)>,
    /// `image:`, the name the built image is tagged with.
    image: Option<String>,
    /// A bake target (`service` is its name), not a compose service.
    bake: bool,
}

/// A stage some service of the project runs, and the service whose plan
/// it follows: of the services that build it, the first by compose file
/// and name, so the choice does not depend on the order files are read.
#[derive(Debug, Clone)]
pub struct StageUse {
    /// `build.target`, lowercase; `None`: the last stage.
    pub target: Option<String>,
    /// The owning service's compose file (canonical) and name.
    pub compose: PathBuf,
    pub service: String,
}

/// The maps keyed by a path hold its bytes: the paths are canonical, one
/// spelling each, and hashing a `Path` goes component by component,
/// several times the cost, for look-ups made tens of thousands of times
/// in a large tree.
#[derive(Debug, Default)]
pub struct Links {
    /// Keyed by the Dockerfile's canonical path: every service that builds
    /// it, sorted by compose file and service name.
    by_dockerfile: Map<OsString, Vec<Link>>,
    /// Compose file → service → (Dockerfile, build context, target stage),
    /// paths canonical; services in name order.
    by_service: Map<OsString, BTreeMap<String, BuiltBy>>,
    /// The (compose file, service) pairs of `by_service` by the Dockerfile
    /// they run, so that the services of one Dockerfile are found without
    /// a scan of all.
    runners: Map<OsString, std::collections::BTreeSet<(PathBuf, String)>>,
    /// Images built here (`build` + `image`, bake targets' `tags`), by
    /// repository ([`repository`]): the Dockerfile that builds each, and
    /// the builder's compose file and name (the first of them by order).
    by_image: BTreeMap<String, (PathBuf, String, BuiltBy)>,
    /// The builder of each image by the folder of its compose or bake
    /// file: a service running the image by name is linked to the builder
    /// in its own folder or the nearest folder above, never to a sibling
    /// project's that tags an image with the same name.
    builders: Map<(String, OsString), BuiltBy>,
    /// Dockerfiles as the compose file names them (not canonical), in
    /// order, each with its canonical path.
    found: Vec<(PathBuf, PathBuf)>,
    /// The file names of the linked Dockerfiles, for a check without a
    /// system call.
    names: std::collections::HashSet<std::ffi::OsString>,
    /// Paths already resolved ([`Links::canonical`]), keyed by their bytes:
    /// hashing a `Path` goes component by component, several times the
    /// cost of hashing its bytes, for a look-up made tens of thousands of
    /// times in a large tree.
    canon: std::sync::Mutex<Map<std::ffi::OsString, PathBuf>>,
}

/// The Dockerfile a service builds, its build context, and the stage it
/// runs (`build.target`).
pub type BuiltBy = (PathBuf, PathBuf, Option<String>);

pub use crate::paths::{canonical, normalize};

/// A service that builds a local Dockerfile, as one compose file says,
/// with its paths resolved ([`Links::scan`]).
#[derive(Debug, Clone)]
pub struct Builds {
    service: String,
    /// The Dockerfile as the compose file names it, and canonical.
    path: PathBuf,
    dockerfile: PathBuf,
    context: PathBuf,
    target: Option<String>,
    args: Vec<(String, String)>,
    image: Option<String>,
    /// A bake target, not a compose service.
    bake: bool,
    /// A bake target's other tags.
    tags: Vec<String>,
}

impl Builds {
    /// The Dockerfile built, canonical.
    pub fn dockerfile(&self) -> &Path {
        &self.dockerfile
    }

    /// The Dockerfile as the compose file names it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The image it is tagged with, by [`repository`].
    pub fn repository(&self) -> Option<String> {
        self.image.as_deref().map(repository)
    }
}

impl Links {
    /// The path with symlinks and `..` resolved, remembered: the same few
    /// paths (a compose file, a Dockerfile, a context) are asked for many
    /// times, and each resolution is a system call per path component.
    /// A file that is not a link resolves through its folder, which is
    /// resolved once for all the files in it.
    pub fn canonical(&self, p: &Path) -> PathBuf {
        if let Some(c) = self
            .canon
            .lock()
            .ok()
            .and_then(|m| m.get(p.as_os_str()).cloned())
        {
            return c;
        }
        // One path, several spellings: the walk writes `./proj/api`, a
        // compose file's reference `proj/./api` or `proj/api/`. Each is
        // resolved as the spelling without `.` components or extra
        // separators, which name the same file whatever the links.
        let clean: PathBuf = p
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        if clean.as_os_str() != p.as_os_str() && !clean.as_os_str().is_empty() {
            let c = self.canonical(&clean);
            if let Ok(mut m) = self.canon.lock() {
                m.insert(p.as_os_str().to_os_string(), c.clone());
            }
            return c;
        }
        let through_folder = match (p.parent(), p.components().next_back()) {
            (Some(parent), Some(std::path::Component::Normal(name)))
                if !parent.as_os_str().is_empty() =>
            {
                std::fs::symlink_metadata(p)
                    .ok()
                    .filter(|m| !m.file_type().is_symlink())
                    .map(|_| self.canonical(parent).join(name))
            }
            _ => None,
        };
        let c = through_folder.unwrap_or_else(|| canonical(p));
        if let Ok(mut m) = self.canon.lock() {
            m.insert(p.as_os_str().to_os_string(), c.clone());
        }
        c
    }

    /// The services of a compose file that build a local Dockerfile. Reads
    /// only: compose files are scanned on every core, then [`Self::add`]ed.
    pub fn scan(&self, compose_path: &Path, doc: &Document) -> Vec<Builds> {
        let dir = compose_path.parent().unwrap_or(Path::new(""));
        let mut out = Vec::new();
        for svc in service::services(doc) {
            let Some((build, _)) = svc.effective("build") else {
                continue;
            };
            let (context, dockerfile, target) = match build.as_str() {
                Some(ctx) => (ctx.to_string(), "Dockerfile".to_string(), None),
                None => {
                    let get = |k: &str| {
                        build
                            .get(k)
                            .and_then(|e| doc.resolve(&e.value).as_str().map(str::to_string))
                    };
                    if build.get("dockerfile_inline").is_some() {
                        continue;
                    }
                    (
                        get("context").unwrap_or_else(|| ".".into()),
                        get("dockerfile").unwrap_or_else(|| "Dockerfile".into()),
                        // The stage the service runs, when it is not the last.
                        get("target")
                            .filter(|t| !t.contains("${"))
                            .map(|t| t.to_ascii_lowercase()),
                    )
                }
            };
            // Remote contexts and interpolated paths are not files harden can read.
            if context.contains("://")
                || context.starts_with("git@")
                || context.contains("${")
                || dockerfile.contains("${")
            {
                continue;
            }
            let path = dir.join(&context).join(&dockerfile);
            if !crate::fsio::is_file(&path) {
                continue;
            }
            let image = svc
                .effective("image")
                .and_then(|(n, _)| n.as_str())
                // A tag chosen at run time (`app:${TAG:-latest}`) still
                // names the repository.
                .filter(|i| !repository(i).contains('$') && !i.trim().is_empty())
                .map(str::to_string);
            out.push(Builds {
                image,
                bake: false,
                tags: Vec::new(),
                service: svc.name.to_string(),
                dockerfile: self.canonical(&path),
                path,
                context: self.canonical(&dir.join(&context)),
                target,
                args: build_args(doc, build),
            });
        }
        out
    }

    /// Record what [`Self::scan`] found in a compose file. Which service a
    /// Dockerfile follows does not depend on the order of the calls.
    pub fn add(&mut self, compose_path: &Path, builds: Vec<Builds>) {
        if builds.is_empty() {
            return;
        }
        let compose = self.canonical(compose_path);
        for b in builds {
            self.link_service(
                (compose.clone(), b.service.clone()),
                (b.dockerfile.clone(), b.context.clone(), b.target.clone()),
            );
            if !self.by_dockerfile.contains_key(b.dockerfile.as_os_str()) {
                if let Some(n) = b.dockerfile.file_name() {
                    self.names.insert(n.to_os_string());
                }
                self.found.push((normalize(&b.path), b.dockerfile.clone()));
            }
            for key in b.image.iter().chain(&b.tags).map(|i| repository(i)) {
                let builder = (compose.clone(), b.service.clone());
                let built = (b.dockerfile.clone(), b.context.clone(), b.target.clone());
                let folder = compose.parent().unwrap_or(Path::new(""));
                self.builders
                    .entry((key.clone(), folder.as_os_str().to_os_string()))
                    .or_insert_with(|| built.clone());
                match self.by_image.get(&key) {
                    Some((c, s, _)) if (c, s) <= (&builder.0, &builder.1) => {}
                    _ => {
                        self.by_image.insert(key, (builder.0, builder.1, built));
                    }
                }
            }
            let links = self
                .by_dockerfile
                .entry(b.dockerfile.into_os_string())
                .or_default();
            let link = Link {
                service: b.service,
                compose: compose.clone(),
                context: b.context,
                target: b.target,
                args: b.args,
                image: b.image,
                bake: b.bake,
            };
            // The same service read twice (a file walked and named): once.
            if links
                .iter()
                .any(|l| l.compose == link.compose && l.service == link.service)
            {
                continue;
            }
            let at = links
                .iter()
                .position(|l| (&l.compose, &l.service) > (&link.compose, &link.service))
                .unwrap_or(links.len());
            links.insert(at, link);
        }
    }

    /// Services of a compose file that run by name (`image:`, no `build:`)
    /// an image another service or a bake target of the project builds:
    /// each is linked to that Dockerfile as if it built it, so its plan
    /// knows the image's user, entrypoint and directories. Called once every
    /// builder is [`Self::add`]ed.
    pub fn add_runs(&mut self, compose_path: &Path, doc: &Document) {
        if self.by_image.is_empty() {
            return;
        }
        let compose = self.canonical(compose_path);
        for svc in service::services(doc) {
            if svc.effective("build").is_some() {
                continue;
            }
            let Some(image) = svc.effective("image").and_then(|(n, _)| n.as_str()) else {
                continue;
            };
            // The builder in the runner's folder or the nearest folder
            // above it: folders side by side are separate projects.
            let repo = repository(image);
            let Some(built) = compose
                .parent()
                .unwrap_or(Path::new(""))
                .ancestors()
                .find_map(|dir| {
                    self.builders
                        .get(&(repo.clone(), dir.as_os_str().to_os_string()))
                })
                .cloned()
            else {
                continue;
            };
            let key = (compose.clone(), svc.name.to_string());
            if self.service(&key.0, &key.1).is_none() {
                self.link_service(key, built);
            }
        }
    }

    /// A variant's services build what the same services of its base build,
    /// unless the variant says otherwise (a `build:` of its own is already
    /// recorded; `image:` alone, run by name, is [`Self::add_runs`]'s).
    pub fn inherit(&mut self, variant: &Path, base: &Path, doc: &Document) {
        let (variant, base) = (self.canonical(variant), self.canonical(base));
        for svc in service::services(doc) {
            if svc.effective("image").is_some() {
                continue;
            }
            let key = (variant.clone(), svc.name.to_string());
            if self.service(&key.0, &key.1).is_some() {
                continue;
            }
            if let Some(built) = self.service(&base, &key.1) {
                let built = built.clone();
                self.link_service(key, built);
            }
        }
    }

    /// Every service that runs a stage of the Dockerfile at `path` (builds
    /// it, or runs the image it builds by name): compose file (canonical),
    /// service, and the stage (`None`: the last), in order.
    pub fn services_of(&self, path: &Path) -> Vec<(&Path, &str, Option<&str>)> {
        let df = self.canonical(path);
        let Some(keys) = self.runners.get(df.as_os_str()) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|(c, s)| Some((c, s, self.service(c, s)?)))
            .filter(|(_, _, (d, _, _))| *d == df)
            .map(|(c, s, (_, _, t))| (c.as_path(), s.as_str(), t.as_deref()))
            .collect()
    }

    /// What the service `name` of the compose file `compose` (canonical)
    /// runs, when it is linked.
    fn service(&self, compose: &Path, name: &str) -> Option<&BuiltBy> {
        self.by_service.get(compose.as_os_str())?.get(name)
    }

    /// Record that a service runs what `built` builds, in both directions.
    fn link_service(&mut self, key: (PathBuf, String), built: BuiltBy) {
        let old = self
            .by_service
            .get(key.0.as_os_str())
            .and_then(|m| m.get(&key.1));
        if let Some((old, _, _)) = old {
            if let Some(keys) = self.runners.get_mut(old.as_os_str()) {
                keys.remove(&key);
            }
        }
        self.runners
            .entry(built.0.clone().into_os_string())
            .or_default()
            .insert(key.clone());
        self.by_service
            .entry(key.0.into_os_string())
            .or_default()
            .insert(key.1, built);
    }

    /// The images (by [`repository`]) that services of a compose file run
    /// by name, with no `build:`, and that no builder read so far builds.
    pub fn unbuilt_runs(&self, doc: &Document) -> Vec<String> {
        self.unbuilt(doc).collect()
    }

    /// Whether some service of `doc` runs an image [`Self::unbuilt_runs`]
    /// would list, asked without listing them: a file of tens of thousands
    /// of services would list as many images, at the run's peak of memory.
    pub fn runs_unbuilt(&self, doc: &Document) -> bool {
        self.unbuilt(doc).next().is_some()
    }

    fn unbuilt<'d>(&'d self, doc: &'d Document) -> impl Iterator<Item = String> + 'd {
        service::services(doc)
            .filter(|svc| svc.effective("build").is_none())
            .filter_map(|svc| svc.effective("image").and_then(|(n, _)| n.as_str()))
            .map(repository)
            .filter(|r| !r.contains('$'))
            .filter(|r| !self.by_image.contains_key(r))
    }

    /// The image built here that a service runs by name: the builder's
    /// compose file (canonical) and name, for the notes.
    pub fn builder_of(&self, image: &str) -> Option<(&Path, &str)> {
        self.by_image
            .get(&repository(image))
            .map(|(c, s, _)| (c.as_path(), s.as_str()))
    }

    /// Every image built here, by [`repository`] in name order: the
    /// Dockerfile that builds it (canonical), and its builder's file
    /// (canonical; a compose or bake file) and name, for the project report.
    pub fn images(&self) -> impl Iterator<Item = (&str, &Path, &Path, &str)> {
        self.by_image
            .iter()
            .map(|(r, (c, s, b))| (r.as_str(), b.0.as_path(), c.as_path(), s.as_str()))
    }

    /// The targets of a bake file that build a local Dockerfile, as
    /// [`Self::scan`] gives a compose file's services; each is tagged with
    /// its first tag.
    pub fn scan_bake(&self, bake_path: &Path, targets: &[crate::bake::Target]) -> Vec<Builds> {
        let dir = bake_path.parent().unwrap_or(Path::new(""));
        targets
            .iter()
            .filter(|t| !t.context.contains("://") && !t.context.starts_with("git@"))
            .filter_map(|t| {
                let path = dir.join(&t.context).join(&t.dockerfile);
                path.is_file().then(|| Builds {
                    service: t.name.clone(),
                    dockerfile: self.canonical(&path),
                    path,
                    context: self.canonical(&dir.join(&t.context)),
                    target: t.stage.clone(),
                    args: Vec::new(),
                    image: t.tags.first().cloned(),
                    bake: true,
                    tags: t.tags.iter().skip(1).cloned().collect(),
                })
            })
            .collect()
    }

    /// Record every service of a compose file that builds a local Dockerfile.
    pub fn add_compose(&mut self, compose_path: &Path, doc: &Document) {
        let builds = self.scan(compose_path, doc);
        self.add(compose_path, builds);
    }

    /// The Dockerfile and build context of a service, canonical paths.
    pub fn built_by(&self, compose_path: &Path, service: &str) -> Option<&BuiltBy> {
        self.service(&self.canonical(compose_path), service)
    }

    /// The Dockerfiles (canonical) that the services of a compose file build.
    pub fn built_from(&self, compose_path: &Path) -> Vec<&Path> {
        self.by_service
            .get(self.canonical(compose_path).as_os_str())
            .into_iter()
            .flat_map(|services| services.values())
            .map(|(df, _, _)| df.as_path())
            .collect()
    }

    /// Every stage the project's services run from the Dockerfile at
    /// `path`, each once, with the service it follows; empty when no
    /// service builds it (then its last stage is the one it runs).
    pub fn stages(&self, path: &Path) -> Vec<StageUse> {
        let mut out: Vec<StageUse> = Vec::new();
        for l in self
            .by_dockerfile
            .get(self.canonical(path).as_os_str())
            .into_iter()
            .flatten()
        {
            if !out.iter().any(|u| u.target == l.target) {
                out.push(StageUse {
                    target: l.target.clone(),
                    compose: l.compose.clone(),
                    service: l.service.clone(),
                });
            }
        }
        out
    }

    /// What a user created for the Dockerfile at `path` is named after,
    /// the same whichever compose file was read first: the one service
    /// that builds it; of several services, the image they build (`image:`,
    /// its last path part without tag), else none (the folder).
    fn user_name_hint(links: &[Link]) -> Option<String> {
        let first = links.first()?;
        if !first.bake && links.iter().all(|l| l.service == first.service) {
            return Some(first.service.clone());
        }
        links
            .iter()
            .find_map(|l| l.image.as_deref().and_then(image_base_name))
    }

    /// Whether some compose service builds the Dockerfile at `path`. The
    /// name check comes first, so most files cost no system call.
    pub fn is_linked(&self, path: &Path) -> bool {
        path.file_name().is_some_and(|n| self.names.contains(n))
            && self
                .by_dockerfile
                .contains_key(self.canonical(path).as_os_str())
    }

    /// Linked Dockerfiles that are not among `listed`, to be hardened too.
    pub fn unlisted(&self, listed: &[PathBuf]) -> Vec<PathBuf> {
        if self.found.is_empty() {
            return Vec::new();
        }
        // Only a listed file with a linked Dockerfile's name can be one.
        let listed: crate::hash::Set<std::ffi::OsString> = listed
            .iter()
            .filter(|p| p.file_name().is_some_and(|n| self.names.contains(n)))
            .map(|p| self.canonical(p).into_os_string())
            .collect();
        self.found
            .iter()
            .filter(|(_, canonical)| !listed.contains(canonical.as_os_str()))
            .map(|(named, _)| named.clone())
            .collect()
    }

    /// What the Dockerfile rules should know about the file at `path` from
    /// its link: the service that builds it (none when no service does),
    /// the build context, target and arguments. The plan of that service
    /// adds the rest ([`crate::engine`]).
    pub fn hints_for(&self, path: &Path) -> Hints {
        self.hints_for_stage(path, None)
    }

    /// [`Self::hints_for`] the stage a [`StageUse`] names: its target, and
    /// the context and arguments of the service that builds it.
    pub fn hints_for_stage(&self, path: &Path, stage: Option<&StageUse>) -> Hints {
        let links = self
            .by_dockerfile
            .get(self.canonical(path).as_os_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let link = match stage {
            Some(u) => links
                .iter()
                .find(|l| l.compose == u.compose && l.service == u.service),
            None => links.first(),
        };
        let folder = self
            .canonical(path)
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        Hints {
            service: link.map(|l| l.service.clone()),
            name: Self::user_name_hint(links)
                .or_else(|| folder.clone().filter(|_| !links.is_empty())),
            folder,
            uid: DEFAULT_UID,
            home: None,
            context: link
                .map(|l| l.context.clone())
                .or_else(|| self.canonical(path).parent().map(Path::to_path_buf)),
            target: link.and_then(|l| l.target.clone()),
            build_args: link.map(|l| l.args.clone()).unwrap_or_default(),
            ..Hints::default()
        }
    }
}

/// An image reference without its tag or digest, as the registry names
/// the repository: `docker.io/library/app:1` and `app` are one image.
pub fn repository(image: &str) -> String {
    let name = image.trim().split('@').next().unwrap_or_default();
    // The tag starts at the first `:` of the last path part (a registry's
    // port comes before a `/`).
    let last = name.rfind('/').map_or(0, |i| i + 1);
    let name = match name[last..].find(':') {
        Some(c) => &name[..last + c],
        None => name,
    };
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    let name = name.strip_prefix("library/").unwrap_or(name);
    name.to_ascii_lowercase()
}

/// The last path part of an image name without its tag or digest:
/// `ghcr.io/org/app:1.2` → `app`.
pub fn image_base_name(image: &str) -> Option<String> {
    let name = image.split('@').next()?;
    let last = name.rsplit('/').next()?;
    let last = last.split(':').next()?;
    Some(last.to_string()).filter(|n| !n.is_empty())
}

/// `build.args` as (name, value) pairs, mapping or `NAME=value` list; an
/// argument without a value (taken from the environment) is left out.
fn build_args(doc: &Document, build: &crate::compose::tree::Node) -> Vec<(String, String)> {
    use crate::compose::tree::Kind;
    let Some(args) = build.get("args").map(|e| doc.resolve(&e.value)) else {
        return Vec::new();
    };
    match &args.kind {
        Kind::Map { entries, .. } => entries
            .iter()
            .filter_map(|e| {
                Some((
                    e.key.as_str()?.to_string(),
                    doc.resolve(&e.value).as_str()?.to_string(),
                ))
            })
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        Kind::Seq { items, .. } => items
            .iter()
            .filter_map(|i| {
                doc.resolve(i)
                    .as_str()?
                    .split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::{image_base_name, repository};

    #[test]
    fn image_names() {
        assert_eq!(repository("docker.io/library/App:1.2"), "app");
        assert_eq!(
            repository("registry:5000/org/app:${TAG:-latest}"),
            "registry:5000/org/app"
        );
        assert_eq!(repository("org/app@sha256:abcd"), "org/app");
        assert_eq!(
            image_base_name("ghcr.io/acme/storefront:1.4").as_deref(),
            Some("storefront")
        );
        assert_eq!(image_base_name("registry:5000/app").as_deref(), Some("app"));
    }
}
