//! `harden.toml`: the few choices a team makes once for a whole repository
//! (the UID and name of created users, the size of `/tmp`, rules to skip,
//! exemptions with reasons, images of its own). Every default equals the
//! baseline, so a repository without the file is hardened exactly as
//! DESIGN.md says. A config that cannot be trusted is an error with
//! `path:line:col`, never a silent fallback to defaults.

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
}

/// One `[[exception]]`: rules a path and/or a service is exempted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// Glob relative to the config file's directory (`services/vpn/**`).
    pub path: Option<String>,
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

/// The nearest `harden.toml` in `start` or one of its parents.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// The config for a run: `explicit` (`--config PATH`) when given, else the
/// nearest `harden.toml` from the working directory up, else the baseline.
pub fn discover(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    if let Some(p) = explicit {
        return load(p);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match find(&cwd) {
        Some(p) => load(&p),
        None => Ok(Config {
            dir: cwd,
            ..Config::default()
        }),
    }
}

/// Read and check a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = crate::run::display_path(path);
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: shown.clone(),
        line: 1,
        col: 1,
        message: format!(
            "cannot read the config file: {}",
            crate::discover::io_message(&e)
        ),
    })?;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut cfg = parse(&text).map_err(|(at, message)| {
        let (line, col) = profiles::line_col(&text, at);
        ConfigError {
            path: shown,
            line,
            col,
            message,
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
    if (all_ok && name == "all") || crate::rules::info(name).is_some() {
        return Ok(());
    }
    let names: Vec<&str> = crate::rules::RULES.iter().map(|r| r.name).collect();
    Err(at(
        r,
        format!(
            "unknown rule `{name}` (the rules are: {})",
            names.join(", ")
        ),
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
    if let Some(p) = &raw.path {
        let g = p.get_ref();
        if g.is_empty() || g.starts_with('/') || g.split('/').any(|s| s == "..") {
            return Err(at(
                p,
                format!("path `{g}` must be a glob relative to the config file's directory, without `..`"),
            ));
        }
    }
    if let Some(s) = &raw.service {
        if s.get_ref().trim().is_empty() {
            return Err(at(s, "`service` is empty"));
        }
    }
    Ok(Exception {
        path: raw.path.as_ref().map(|p| p.get_ref().clone()),
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
    Ok(())
}

/// A tmpfs `size=` value: bytes, or a number with a k, m or g suffix.
fn is_size(s: &str) -> bool {
    let digits = s.strip_suffix(['k', 'm', 'g', 'K', 'M', 'G']).unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.bytes().any(|b| b != b'0')
}

/// `*` matches within one path segment, `**` any number of segments, `?`
/// one character; everything else matches itself.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&pat, &segs)
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => {
            (0..=segs.len()).any(|i| match_segments(rest, segs.get(i..).unwrap_or(&[])))
        }
        Some((p, rest)) => match segs.split_first() {
            Some((s, more)) => {
                match_segment(p.as_bytes(), s.as_bytes()) && match_segments(rest, more)
            }
            None => false,
        },
    }
}

fn match_segment(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| match_segment(rest, s.get(i..).unwrap_or(&[]))),
        Some((b'?', rest)) => !s.is_empty() && match_segment(rest, s.get(1..).unwrap_or(&[])),
        Some((c, rest)) => s.first() == Some(c) && match_segment(rest, s.get(1..).unwrap_or(&[])),
    }
}

impl Config {
    /// Whether `rule` is turned off everywhere.
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
                    .as_deref()
                    .is_none_or(|g| rel.as_deref().is_some_and(|r| glob_match(g, r)))
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
        crate::rules::RULES
            .iter()
            .filter_map(|r| {
                self.exemption(file, service, r.name)
                    .map(|e| (r.name.to_string(), e))
            })
            .collect()
    }

    /// The config's path as notes show it: relative to the working
    /// directory, with `../` when it was found in a parent.
    fn shown(&self) -> String {
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
        crate::run::display_path(path)
    }

    /// The profile of a known image: the config's own first.
    pub fn profile_for(&self, image: &str) -> Option<&Arc<ImageProfile>> {
        profiles::profile_with(&self.images, image)
    }

    /// The name of a created user from the `user-name` pattern. `{service}`
    /// falls back to the folder for a Dockerfile no compose service builds.
    pub fn user_name(&self, service: Option<&str>, folder: Option<&str>) -> String {
        let service = service.or(folder).unwrap_or("");
        let raw = self
            .user_name
            .replace("{service}", service)
            .replace("{folder}", folder.unwrap_or(""));
        crate::rules::root_user::user_name_for(Some(&raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, usize, String) {
        let (off, m) = parse(text).expect_err("should fail");
        let (l, c) = profiles::line_col(text, off);
        (l, c, m)
    }

    #[test]
    fn empty_is_baseline() {
        assert_eq!(parse("").unwrap(), Config::default());
        assert_eq!(parse("# nothing\n").unwrap(), Config::default());
    }

    #[test]
    fn documented_defaults_equal_the_baseline() {
        let text = "uid = 1000\nuser-name = \"{service}\"\ntmpfs-size = \"512m\"\nskip = []\n";
        let c = parse(text).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn full_config() {
        let text = r#"uid = 2000
gid = 3000
user-name = "svc-{service}"
tmpfs-size = "1g"
skip = ["cache-on-rootfs"]

[[exception]]
path = "services/vpn/**"
allow = ["writable-rootfs", "default-capabilities"]
reason = "writes routing state; OPS-112"

[[exception]]
service = "legacy"
allow = ["all"]
reason = "retired next quarter"
"#;
        let c = parse(text).unwrap();
        assert_eq!((c.uid, c.gid), (2000, Some(3000)));
        assert_eq!(c.user_name, "svc-{service}");
        assert_eq!(c.tmpfs_size, "1g");
        assert_eq!(c.skip, vec!["cache-on-rootfs"]);
        assert_eq!(c.exceptions.len(), 2);
        assert_eq!(c.exceptions[0].line, 7);
        assert_eq!(c.exceptions[1].service.as_deref(), Some("legacy"));
    }

    #[test]
    fn errors_have_places() {
        assert_eq!(err("uid = 0\n").0, 1);
        let (l, c, m) = err("uid = 1000\ncolour = 1\n");
        assert_eq!((l, c), (2, 1), "{m}");
        assert!(m.contains("colour"), "{m}");
        let (l, c, m) = err("uid = -5\n");
        assert_eq!((l, c), (1, 7));
        assert!(m.contains("between"), "{m}");
        let (l, c, _) = err("uid = \"x\"\n");
        assert_eq!((l, c), (1, 7));
        let (l, c, m) = err("tmpfs-size = \"lots\"\n");
        assert_eq!((l, c), (1, 14));
        assert!(m.contains("not a size"));
        let (l, c, m) = err("skip = [\"root-user\", \"nope\"]\n");
        assert_eq!((l, c), (1, 22));
        assert!(m.contains("unknown rule `nope`"));
        let (l, _, m) = err("user-name = \"{svc}\"\n");
        assert_eq!(l, 1);
        assert!(m.contains("{svc}"), "{m}");
        let (l, c, m) = err("\n[[exception]]\nservice = \"vpn\"\nallow = [\"writable-rootfs\"]\n");
        assert_eq!((l, c), (2, 1), "{m}");
        assert!(m.contains("reason"));
        let (l, c, m) = err(
            "[[exception]]\nservice = \"vpn\"\nallow = [\"writable-rootfs\"]\nreason = \" \"\n",
        );
        assert_eq!((l, c), (4, 10), "{m}");
        let (l, c, m) = err(
            "[[exception]]\nservice = \"vpn\"\nallow = [\"writeable-rootfs\"]\nreason = \"x\"\n",
        );
        assert_eq!((l, c), (3, 10), "{m}");
        let (l, _, m) = err("[[exception]]\nallow = [\"all\"]\nreason = \"x\"\n");
        assert_eq!(l, 1);
        assert!(m.contains("skip"));
        let (l, c, m) = err("[[exception]]\nservice = \"a\"\nallow = []\nreason = \"x\"\n");
        assert_eq!((l, c), (3, 9), "{m}");
        let (l, c, m) =
            err("[[exception]]\nservice = \"a\"\nallow = [\"all\"]\nreason = \"x\"\nextra = 1\n");
        assert_eq!((l, c), (5, 1), "{m}");
    }

    #[test]
    fn user_name_patterns() {
        assert!(check_user_name("{service}").is_ok());
        assert!(check_user_name("app-{folder}").is_ok());
        assert!(check_user_name("worker").is_ok());
        assert!(check_user_name("{service").is_err());
        assert!(check_user_name("svc}").is_err());
        assert!(check_user_name("Web").is_err());
        assert!(check_user_name("").is_err());
        assert!(check_user_name("1{service}").is_err());
        let c = Config {
            user_name: "svc-{service}".into(),
            ..Config::default()
        };
        assert_eq!(c.user_name(Some("Web API"), Some("web")), "svc-web-api");
        assert_eq!(c.user_name(None, Some("api")), "svc-api");
        assert_eq!(Config::default().user_name(Some("web"), None), "web");
        assert_eq!(Config::default().user_name(None, None), "app");
    }

    #[test]
    fn sizes() {
        for ok in ["512m", "1g", "65536", "64K"] {
            assert!(is_size(ok), "{ok}");
        }
        for bad in ["", "m", "0", "0m", "1.5g", "512mb", "-1m", "1 m"] {
            assert!(!is_size(bad), "{bad}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("services/vpn/**", "services/vpn/Dockerfile"));
        assert!(glob_match(
            "services/vpn/**",
            "services/vpn/a/b/compose.yaml"
        ));
        assert!(!glob_match("services/vpn/**", "services/web/Dockerfile"));
        assert!(glob_match("**/Dockerfile", "Dockerfile"));
        assert!(glob_match("**/Dockerfile", "a/b/Dockerfile"));
        assert!(glob_match("*/compose.y?ml", "api/compose.yaml"));
        assert!(!glob_match("*/compose.yaml", "a/b/compose.yaml"));
        assert!(glob_match("docker-compose*.yml", "docker-compose.prod.yml"));
        assert!(!glob_match("Dockerfile", "Dockerfile.dev"));
    }

    #[test]
    fn image_profiles() {
        let text = r#"
[[image]]
images = ["registry.example.internal/team/queue"]
source = "our own image; writes its spool under /var/spool/queue"
checked = "2026-01-10"
runs_as_root_by_default = false
ports = [7000]
ports_below_1024 = false
caps = { needed_as_root = [], why = "runs as uid 4000 from the start" }
[[image.write]]
path = "/var/spool/queue"
kind = "volume"
name = "spool"
why = "the message spool"
"#;
        let c = parse(text).unwrap();
        assert_eq!(c.images.len(), 1);
        let p = c
            .profile_for("registry.example.internal/team/queue:3.1")
            .unwrap();
        assert_eq!(p.write[0].path, "/var/spool/queue");
        // Built-ins still answer.
        assert!(c.profile_for("postgres:16").is_some());

        let bad = text.replace("ports_below_1024 = false", "ports_below_1024 = true");
        let (l, c, m) = err(&bad);
        assert_eq!((l, c), (8, 1), "{m}");
        assert!(m.contains("disagrees"));
    }

    #[test]
    fn exemptions_by_path_and_service() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("services/vpn")).unwrap();
        std::fs::write(root.join("services/vpn/Dockerfile"), "FROM alpine\n").unwrap();
        std::fs::write(root.join("compose.yaml"), "services: {}\n").unwrap();
        let mut c = parse(
            "skip = [\"privileged\"]\n[[exception]]\npath = \"services/vpn/**\"\nallow = [\"root-user\"]\nreason = \"needs raw sockets\"\n[[exception]]\nservice = \"db\"\npath = \"compose.yaml\"\nallow = [\"writable-rootfs\"]\nreason = \"legacy\"\n",
        )
        .unwrap();
        c.dir = root.clone();
        let df = root.join("services/vpn/Dockerfile");
        let compose = root.join("compose.yaml");
        assert!(c.exception_for(&df, None, "root-user").is_some());
        assert!(c.exception_for(&df, None, "implicit-home").is_none());
        assert!(c
            .exception_for(&compose, Some("db"), "writable-rootfs")
            .is_some());
        assert!(c
            .exception_for(&compose, Some("web"), "writable-rootfs")
            .is_none());
        assert!(c
            .exception_for(&df, Some("db"), "writable-rootfs")
            .is_none());
        let ex = c.exemptions(&df, None);
        assert_eq!(
            ex.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
            vec!["root-user", "privileged"]
        );
        assert!(ex[0].1.to_string().contains("needs raw sockets"));
        assert_eq!(ex[1].1, Exemption::Skipped);
    }

    #[test]
    fn found_in_a_parent() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(find(&deep).filter(|p| p.starts_with(dir.path())), None);
        std::fs::write(dir.path().join("a/harden.toml"), "uid = 1234\n").unwrap();
        assert_eq!(find(&deep), Some(dir.path().join("a/harden.toml")));
        let c = load(&dir.path().join("a/harden.toml")).unwrap();
        assert_eq!(c.uid, 1234);
    }
}
