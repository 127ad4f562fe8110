//! `harden.toml`: the few choices a team makes once for a whole repository
//! (the UID and name of created users, the size of `/tmp`, rules to skip,
//! exemptions with reasons, images of its own). Every default equals the
//! baseline, so a repository without the file is hardened exactly as
//! DESIGN.md says. A config that cannot be trusted is an error with
//! `path:line:col`, never a silent fallback to defaults.

use crate::glob::Glob;
use crate::profiles::{self, ImageProfile};
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use toml::Spanned;

/// The file harden looks for in the working directory and its parents.
pub const FILE_NAME: &str = "harden.toml";

/// Defaults: the baseline of DESIGN.md.
pub const DEFAULT_UID: u32 = 1000;
pub const DEFAULT_USER_NAME: &str = "{service}";
pub const DEFAULT_TMPFS_SIZE: &str = "512m";

/// Placeholders a `user-name` pattern may use.
const PLACEHOLDERS: &[&str] = &["service", "folder"];

/// The highest UID/GID accepted: Linux IDs are 32-bit, and many tools
/// treat the top half as special, so stay below 2^31.
const MAX_ID: i64 = 2_147_483_647;

/// The configuration in effect for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from; `None` for the built-in baseline.
    pub path: Option<PathBuf>,
    /// The directory exception globs are relative to.
    pub dir: PathBuf,
    pub uid: u32,
    /// `None`: the same as the UID.
    pub gid: Option<u32>,
    /// Pattern for the names of created users: `{service}`, `{folder}`.
    pub user_name: String,
    /// Size of the `/tmp` tmpfs (`512m`).
    pub tmpfs_size: String,
    /// Write `USER uid:gid` rather than a name where the ids are known:
    /// Kubernetes' `runAsNonRoot` can only check a numeric user.
    pub numeric_user: bool,
    /// Rules not run at all.
    pub skip: Vec<String>,
    pub exceptions: Vec<Exception>,
    /// Extra known images, consulted before the built-in profiles.
    pub images: Vec<Arc<ImageProfile>>,
    /// How the facts of images are looked up.
    pub lookup: crate::image::Settings,
    /// What happens to a service whose image harden cannot learn about.
    pub unknown_images: UnknownImages,
    /// `fix` inserts a root canary into the entry module a Dockerfile runs
    /// (`canary = true`, or `fix --canary`).
    pub canary: bool,
}

/// `unknown-images` in harden.toml: what harden does with a service whose
/// image has no profile, no Dockerfile here, and could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownImages {
    /// Apply the baseline anyway, with a note saying what is not known.
    #[default]
    Harden,
    /// Report the service's findings but leave it unchanged.
    Skip,
}

/// One `[[exception]]`: rules a path and/or a service is exempted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// Glob relative to the config file's directory (`services/vpn/**`).
    pub path: Option<Glob>,
    /// Compose service name.
    pub service: Option<String>,
    pub allow: Vec<String>,
    pub reason: String,
    /// Line of the `[[exception]]` table in the config file.
    pub line: usize,
}

/// Why harden.toml turns a rule off for a file or service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exemption {
    /// Listed in `skip`: off everywhere, not worth a note per file.
    Skipped,
    /// An `[[exception]]` (`at` is `path:line` of its table): the reason is
    /// shown to reviewers, as an `x-harden` reason would be.
    Excepted { at: String, reason: String },
}

impl fmt::Display for Exemption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exemption::Skipped => write!(f, "skipped in {FILE_NAME}"),
            Exemption::Excepted { at, reason } => write!(f, "exempted by {at}: {reason}"),
        }
    }
}

/// A config that cannot be used, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.path, self.line, self.col, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    uid: Option<Spanned<i64>>,
    gid: Option<Spanned<i64>>,
    user_name: Option<Spanned<String>>,
    tmpfs_size: Option<Spanned<String>>,
    #[serde(default)]
    numeric_user: bool,
    #[serde(default)]
    unknown_images: UnknownImages,
    #[serde(default)]
    canary: bool,
    #[serde(default)]
    skip: Vec<Spanned<String>>,
    #[serde(default)]
    exception: Vec<Spanned<RawException>>,
    #[serde(default)]
    image: Vec<Spanned<ImageProfile>>,
    /// Registries read over plain HTTP (`host:port`), like --insecure-registry.
    #[serde(default)]
    insecure_registries: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    path: Option<Spanned<String>>,
    service: Option<Spanned<String>>,
    allow: Spanned<Vec<Spanned<String>>>,
    reason: Option<Spanned<String>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: None,
            dir: PathBuf::from("."),
            uid: DEFAULT_UID,
            gid: None,
            user_name: DEFAULT_USER_NAME.to_string(),
            tmpfs_size: DEFAULT_TMPFS_SIZE.to_string(),
            numeric_user: false,
            unknown_images: UnknownImages::Harden,
            canary: false,
            skip: Vec::new(),
            exceptions: Vec::new(),
            images: Vec::new(),
            lookup: crate::image::Settings::default(),
        }
    }
}

/// The built-in baseline, for code paths that run without a config.
pub fn baseline() -> &'static Config {
    static BASELINE: OnceLock<Config> = OnceLock::new();
    BASELINE.get_or_init(Config::default)
}

/// The nearest `harden.toml` for files in the folder `start`: in it or a
/// parent, up to the repository's root (the folder with `.git`). Outside a
/// repository only `start` itself is looked in: a harden.toml that someone
/// left in a shared parent (`/tmp`, a home folder) must not decide what a
/// project gets.
pub fn find(start: &Path) -> Option<PathBuf> {
    let start = std::fs::canonicalize(start).ok()?;
    let top = start
        .ancestors()
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())
        .unwrap_or(&start);
    for dir in start.ancestors() {
        let p = dir.join(FILE_NAME);
        if std::fs::symlink_metadata(&p).is_ok() {
            return Some(p);
        }
        if dir == top {
            break;
        }
    }
    None
}

/// The folder a config is looked up from for a PATH or `-f` file.
fn folder_of(target: &Path) -> PathBuf {
    if target.is_dir() {
        target.to_path_buf()
    } else {
        match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// The harden.toml this run uses, as reports name it (relative to the
/// working directory); unset when the run uses the built-in baseline.
static IN_USE: OnceLock<String> = OnceLock::new();

/// The harden.toml in use, for every report to name it.
pub fn in_use() -> Option<&'static str> {
    IN_USE.get().map(String::as_str)
}

/// The config for a run: `explicit` (`--config PATH`) when given; none
/// with `isolated`; else the nearest `harden.toml` of the targets (the
/// PATHs and `-f` files, the working directory without them), which must
/// be the same for all of them; else the baseline. Every file read is
/// bounded by `max_size`.
pub fn discover(
    explicit: Option<&Path>,
    targets: &[&Path],
    isolated: bool,
    max_size: u64,
) -> Result<Config, ConfigError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let baseline = || {
        Ok(Config {
            dir: cwd.clone(),
            ..Config::default()
        })
    };
    if isolated {
        return baseline();
    }
    let used = |c: Config| {
        let _ = IN_USE.set(c.shown());
        Ok(c)
    };
    if let Some(p) = explicit {
        return load_within(p, max_size).and_then(used);
    }
    let folders: Vec<PathBuf> = if targets.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        targets.iter().map(|t| folder_of(t)).collect()
    };
    let mut chosen: Option<(Option<PathBuf>, &Path)> = None;
    for (i, folder) in folders.iter().enumerate() {
        let target = targets.get(i).copied().unwrap_or(Path::new("."));
        let this = find(folder);
        match &chosen {
            None => chosen = Some((this, target)),
            Some((first, first_target)) if *first != this => {
                let name =
                    |c: Option<&Path>| c.map_or("none".to_string(), crate::paths::display_path);
                return Err(ConfigError {
                    path: crate::paths::display_path(target),
                    line: 1,
                    col: 1,
                    message: format!(
                        "the paths use different configurations ({} for {}, {} for this one); \
                         run harden once per project, or name one with --config",
                        name(first.as_deref()),
                        crate::paths::display_path(first_target),
                        name(this.as_deref())
                    ),
                });
            }
            Some(_) => {}
        }
    }
    match chosen {
        Some((Some(p), _)) => load_within(&p, max_size).and_then(used),
        _ => baseline(),
    }
}

/// [`load_within`] the default bound.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_within(path, crate::limits::DEFAULT_MAX_FILE_SIZE)
}

/// Read and check a config file: a regular file of at most `max_size`
/// bytes (a FIFO or a device is refused, not waited on).
pub fn load_within(path: &Path, max_size: u64) -> Result<Config, ConfigError> {
    let shown = crate::paths::display_path(path);
    let cannot = |message: String| ConfigError {
        path: shown.clone(),
        line: 1,
        col: 1,
        message: format!("cannot read the config file: {message}"),
    };
    let bytes = crate::fsio::read_bytes(path, max_size).map_err(cannot)?;
    let text = String::from_utf8(bytes).map_err(|_| cannot("it is not UTF-8 text".into()))?;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut cfg = parse(&text).map_err(|(at, message)| {
        let (line, col) = profiles::line_col(&text, at);
        ConfigError {
            path: shown,
            line,
            col,
            // What the parser quotes of the file: escaped and short.
            message: crate::escape::excerpt(&message, crate::escape::MAX_MESSAGE),
        }
    })?;
    cfg.path = Some(path.to_path_buf());
    cfg.dir = dir;
    Ok(cfg)
}

/// An error at a byte offset of the config text.
type Located = (usize, String);

fn at<T>(s: &Spanned<T>, message: impl Into<String>) -> Located {
    (s.span().start, message.into())
}

/// Parse and check the text of a config file (paths left at their defaults).
pub fn parse(text: &str) -> Result<Config, Located> {
    let raw: Raw = toml::from_str(text).map_err(|e| {
        (
            e.span().map_or(0, |s: Range<usize>| s.start),
            e.message().trim_end().to_string(),
        )
    })?;
    let mut cfg = Config::default();
    if let Some(u) = &raw.uid {
        cfg.uid = id(u, "uid")?;
        if cfg.uid == 0 {
            return Err(at(u, "uid 0 is root: the created user must not be root"));
        }
    }
    if let Some(g) = &raw.gid {
        cfg.gid = Some(id(g, "gid")?);
    }
    if let Some(n) = &raw.user_name {
        check_user_name(n.get_ref()).map_err(|m| at(n, m))?;
        cfg.user_name = n.get_ref().clone();
    }
    if let Some(s) = &raw.tmpfs_size {
        if !is_size(s.get_ref()) {
            return Err(at(
                s,
                format!(
                    "tmpfs-size `{}` is not a size: write a number of bytes with an optional k, m or g suffix, e.g. \"512m\"",
                    s.get_ref()
                ),
            ));
        }
        cfg.tmpfs_size = s.get_ref().clone();
    }
    cfg.numeric_user = raw.numeric_user;
    cfg.unknown_images = raw.unknown_images;
    cfg.canary = raw.canary;
    cfg.lookup
        .insecure_registries
        .clone_from(&raw.insecure_registries);
    for r in &raw.skip {
        known_rule(r, false)?;
        cfg.skip.push(r.get_ref().clone());
    }
    for e in &raw.exception {
        let (line, _) = profiles::line_col(text, e.span().start);
        cfg.exceptions.push(exception(e, line)?);
    }
    let mut repositories: Vec<String> = Vec::new();
    for (n, img) in raw.image.iter().enumerate() {
        let mut p = img.get_ref().clone();
        // Named like the built-in profiles (after the image), for the notes.
        p.id = p
            .images
            .first()
            .and_then(|r| r.rsplit('/').next())
            .map_or_else(|| format!("image {}", n + 1), str::to_string);
        // The span of an array-of-tables item covers its header only: look
        // for the offending key up to the next `[[image]]`.
        let end = raw
            .image
            .get(n + 1)
            .map_or(text.len(), |next| next.span().start);
        let table = text.get(img.span().start..end).unwrap_or("");
        profiles::validate_profile(&p).map_err(|(needle, message)| {
            let off = if needle.is_empty() {
                None
            } else {
                table.find(&needle)
            };
            (img.span().start + off.unwrap_or(0), message)
        })?;
        for r in &p.images {
            if repositories.contains(r) {
                let off = table.find(&format!("\"{r}\"")).unwrap_or(0);
                return Err((
                    img.span().start + off,
                    format!("repository `{r}` is listed by two [[image]] tables"),
                ));
            }
            repositories.push(r.clone());
        }
        cfg.images.push(Arc::new(p));
    }
    Ok(cfg)
}

fn id(v: &Spanned<i64>, key: &str) -> Result<u32, Located> {
    let n = *v.get_ref();
    if !(0..=MAX_ID).contains(&n) {
        return Err(at(v, format!("{key} must be between 0 and {MAX_ID}")));
    }
    u32::try_from(n).map_err(|_| at(v, format!("{key} must be between 0 and {MAX_ID}")))
}

fn known_rule(r: &Spanned<String>, all_ok: bool) -> Result<(), Located> {
    let name = r.get_ref();
    if all_ok && name == "all" {
        return Ok(());
    }
    rule_name(name).map_err(|m| at(r, m))
}

/// Whether `name` is a rule, and if not, an error that lists the rules.
fn rule_name(name: &str) -> Result<(), String> {
    if crate::registry::get(name).is_some() {
        return Ok(());
    }
    let names: Vec<&str> = crate::registry::names().collect();
    Err(format!(
        "unknown rule `{name}` (the rules are: {})",
        names.join(", ")
    ))
}

fn exception(e: &Spanned<RawException>, line: usize) -> Result<Exception, Located> {
    let raw = e.get_ref();
    let reason = match &raw.reason {
        Some(r) if !r.get_ref().trim().is_empty() => r.get_ref().trim().to_string(),
        Some(r) => {
            return Err(at(
                r,
                "the exception's reason is empty: say why the baseline does not apply",
            ))
        }
        None => {
            return Err(at(
                e,
                "an exception needs a `reason`: say why the baseline does not apply",
            ))
        }
    };
    if raw.allow.get_ref().is_empty() {
        return Err(at(&raw.allow, "`allow` names no rule"));
    }
    for r in raw.allow.get_ref() {
        known_rule(r, true)?;
    }
    if raw.path.is_none() && raw.service.is_none() {
        return Err(at(
            e,
            "an exception needs a `path` or a `service` (to turn a rule off everywhere, use `skip`)",
        ));
    }
    let path = match &raw.path {
        Some(p) => {
            let g = p.get_ref();
            if g.is_empty() || g.starts_with('/') || g.split('/').any(|s| s == "..") {
                return Err(at(
                    p,
                    format!("path `{g}` must be a glob relative to the config file's directory, without `..`"),
                ));
            }
            Some(Glob::path(g).map_err(|m| at(p, m))?)
        }
        None => None,
    };
    if let Some(s) = &raw.service {
        if s.get_ref().trim().is_empty() {
            return Err(at(s, "`service` is empty"));
        }
    }
    Ok(Exception {
        path,
        service: raw.service.as_ref().map(|s| s.get_ref().clone()),
        allow: raw
            .allow
            .get_ref()
            .iter()
            .map(|a| a.get_ref().clone())
            .collect(),
        reason,
        line,
    })
}

/// `{service}`, `{folder}` and the characters a user name may hold.
fn check_user_name(pattern: &str) -> Result<(), String> {
    let mut rest = pattern;
    let mut literal = String::new();
    let mut placeholders = 0;
    while let Some(open) = rest.find(['{', '}']) {
        literal.push_str(rest.get(..open).unwrap_or(""));
        let tail = rest.get(open..).unwrap_or("");
        if tail.starts_with('}') {
            return Err(format!("user-name `{pattern}` has a `}}` without `{{`"));
        }
        let Some(close) = tail.find('}') else {
            return Err(format!("user-name `{pattern}` has a `{{` without `}}`"));
        };
        let name = tail.get(1..close).unwrap_or("");
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "user-name `{pattern}` uses unknown placeholder `{{{name}}}` (known: {{service}}, {{folder}})"
            ));
        }
        placeholders += 1;
        rest = tail.get(close + 1..).unwrap_or("");
    }
    literal.push_str(rest);
    if let Some(c) = literal
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "user-name `{pattern}` contains `{c}`: use lowercase letters, digits, `_`, `-` and the placeholders {{service}}, {{folder}}"
        ));
    }
    if placeholders == 0 && literal.is_empty() {
        return Err("user-name is empty".into());
    }
    if pattern.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return Err(format!(
            "user-name `{pattern}` must start with a letter or `_`"
        ));
    }
    if pattern == "root" {
        return Err("user-name `root` is the superuser: the created user must not be root".into());
    }
    Ok(())
}

/// A tmpfs `size=` value: bytes, or a number with a k, m or g suffix.
fn is_size(s: &str) -> bool {
    let digits = s.strip_suffix(['k', 'm', 'g', 'K', 'M', 'G']).unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.bytes().any(|b| b != b'0')
}

impl Config {
    /// Whether `rule` is turned off everywhere.
    /// Narrow the rules of this run as `--select` and `--ignore` ask: rules
    /// outside a non-empty `select`, and every rule in `ignore`, are added
    /// to `skip`. An unknown rule name is an error, as in harden.toml.
    pub fn restrict(&mut self, select: &[String], ignore: &[String]) -> Result<(), String> {
        for name in select.iter().chain(ignore) {
            rule_name(name)?;
        }
        let off = crate::registry::names()
            .filter(|n| !select.is_empty() && !select.iter().any(|s| s == n))
            .map(str::to_string)
            .chain(ignore.iter().cloned());
        for name in off.collect::<Vec<String>>() {
            if !self.skips(&name) {
                self.skip.push(name);
            }
        }
        Ok(())
    }

    pub fn skips(&self, rule: &str) -> bool {
        self.skip.iter().any(|s| s == rule)
    }

    /// `file` relative to the config's directory, `/`-separated; `None`
    /// when it lies outside it.
    fn relative(&self, file: &Path) -> Option<String> {
        let abs = std::fs::canonicalize(file).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|c| c.join(file))
                .unwrap_or_else(|_| file.to_path_buf())
        });
        let rel = abs.strip_prefix(&self.dir).ok()?;
        Some(rel.to_string_lossy().replace('\\', "/"))
    }

    /// The exception exempting `file` (and `service`, when it is one
    /// service's) from `rule`, if any.
    pub fn exception_for(
        &self,
        file: &Path,
        service: Option<&str>,
        rule: &str,
    ) -> Option<&Exception> {
        // Resolving the path costs system calls: only when an exception
        // names paths (this runs for every rule of every service).
        if !self.exceptions.iter().any(|e| e.path.is_some()) {
            return self.exceptions.iter().find(|e| {
                e.allow.iter().any(|a| a == rule || a == "all")
                    && e.service.as_deref().is_none_or(|s| service == Some(s))
                    && e.path.is_none()
            });
        }
        let rel = self.relative(file);
        self.exceptions.iter().find(|e| {
            e.allow.iter().any(|a| a == rule || a == "all")
                && e.service.as_deref().is_none_or(|s| service == Some(s))
                && e.path
                    .as_ref()
                    .is_none_or(|g| rel.as_deref().is_some_and(|r| g.is_match(r)))
        })
    }

    /// Whether and why `file` (and `service`) is exempted from `rule`.
    pub fn exemption(&self, file: &Path, service: Option<&str>, rule: &str) -> Option<Exemption> {
        if self.skips(rule) {
            return Some(Exemption::Skipped);
        }
        self.exception_for(file, service, rule)
            .map(|e| Exemption::Excepted {
                at: format!("{}:{}", self.shown(), e.line),
                reason: e.reason.clone(),
            })
    }

    /// Every rule `file` (and `service`) is exempted from by this config.
    pub fn exemptions(&self, file: &Path, service: Option<&str>) -> Vec<(String, Exemption)> {
        crate::registry::names()
            .filter_map(|r| self.exemption(file, service, r).map(|e| (r.to_string(), e)))
            .collect()
    }

    /// The config's path as notes show it: relative to the working
    /// directory, with `../` when it was found in a parent.
    pub fn shown(&self) -> String {
        let Some(path) = self.path.as_deref() else {
            return FILE_NAME.to_string();
        };
        if path.is_absolute() {
            if let Ok(cwd) = std::env::current_dir() {
                for (up, dir) in cwd.ancestors().enumerate() {
                    if let Ok(rest) = path.strip_prefix(dir) {
                        let rest = rest.to_string_lossy().replace('\\', "/");
                        return format!("{}{rest}", "../".repeat(up));
                    }
                }
            }
        }
        crate::paths::display_path(path)
    }

    /// The profile of a known image: the config's own first.
    pub fn profile_for(&self, image: &str) -> Option<&Arc<ImageProfile>> {
        profiles::profile_with(&self.images, image)
    }

    /// The name of a created user from the `user-name` pattern. `{service}`
    /// falls back to the folder for a Dockerfile no compose service builds.
    pub fn user_name(&self, service: Option<&str>, folder: Option<&str>) -> String {
        crate::dockerfile::users::user_name(&self.user_name, service, folder)
    }
}

#[cfg(test)]
mod tests;
