//! Knowledge about well-known images and caching libraries, kept as data.
//!
//! The profiles in `templates/images/*.toml` say, per image, which paths it
//! writes at run time, which non-root user it can run as, and which
//! capabilities its entrypoint needs when it keeps starting as root.
//! `templates/caches.toml` says which libraries download models or write
//! caches, and which environment variables move those writes. Everything is
//! embedded with `include_str!` and parsed once; a unit test fails when a file
//! is invalid or inconsistent, so a bad edit never reaches a release. At run
//! time a load failure yields no knowledge rather than a panic.
//!
//! Also here: small parsers that list the packages a project depends on
//! (requirements.txt, pyproject.toml, Pipfile, package.json), which is how the
//! cache rule finds the libraries in use.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Every image profile, by file stem. Adding a file means adding a line here,
/// and the test `every_template_file_is_embedded` keeps the two in step.
const IMAGE_FILES: &[(&str, &str)] = &[
    ("caddy", include_str!("../templates/images/caddy.toml")),
    (
        "elasticsearch",
        include_str!("../templates/images/elasticsearch.toml"),
    ),
    (
        "filebeat",
        include_str!("../templates/images/filebeat.toml"),
    ),
    ("grafana", include_str!("../templates/images/grafana.toml")),
    ("httpd", include_str!("../templates/images/httpd.toml")),
    ("kibana", include_str!("../templates/images/kibana.toml")),
    (
        "logstash",
        include_str!("../templates/images/logstash.toml"),
    ),
    ("mariadb", include_str!("../templates/images/mariadb.toml")),
    (
        "memcached",
        include_str!("../templates/images/memcached.toml"),
    ),
    ("minio", include_str!("../templates/images/minio.toml")),
    ("mongo", include_str!("../templates/images/mongo.toml")),
    ("mysql", include_str!("../templates/images/mysql.toml")),
    ("nginx", include_str!("../templates/images/nginx.toml")),
    (
        "opensearch",
        include_str!("../templates/images/opensearch.toml"),
    ),
    (
        "postgres",
        include_str!("../templates/images/postgres.toml"),
    ),
    (
        "prometheus",
        include_str!("../templates/images/prometheus.toml"),
    ),
    (
        "rabbitmq",
        include_str!("../templates/images/rabbitmq.toml"),
    ),
    ("redis", include_str!("../templates/images/redis.toml")),
    ("traefik", include_str!("../templates/images/traefik.toml")),
    ("valkey", include_str!("../templates/images/valkey.toml")),
];

const CACHES_FILE: &str = include_str!("../templates/caches.toml");
const CACHES_NAME: &str = "templates/caches.toml";

/// Linux capability names as Docker takes them (without `CAP_`), so a typo in
/// a profile is caught before it becomes a `cap_add` Docker rejects.
const KNOWN_CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
];

/// The ways an entrypoint or server is known to give up root.
const PRIVILEGE_DROPPERS: &[&str] = &["gosu", "su-exec", "setpriv", "server"];

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// Whether a written path keeps its content across container re-creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteKind {
    /// Persistent data: a named volume `<service>-<name>`.
    Volume,
    /// Scratch (pid files, sockets, temp files): a tmpfs.
    Tmpfs,
}

/// One path an image writes at run time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WritePath {
    pub path: String,
    pub kind: WriteKind,
    /// Volume suffix (volumes only).
    #[serde(default)]
    pub name: Option<String>,
    /// tmpfs size such as `64m` (tmpfs only).
    #[serde(default)]
    pub size: Option<String>,
    /// Octal tmpfs mode such as `1777` (tmpfs only).
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub gid: Option<u32>,
    /// tmpfs only: programs are executed from it (s6-overlay's /run).
    /// Docker mounts a compose tmpfs `noexec` unless told `exec`.
    #[serde(default)]
    pub exec: bool,
    /// Volume only: what it holds is made again at every start (a socket
    /// directory), so there is nothing to carry over from an older
    /// container and no note asks for it.
    #[serde(default)]
    pub disposable: bool,
    pub why: String,
    /// Only for tags of this major version and later (a tag without a
    /// version, such as `latest`, counts as the newest).
    #[serde(default)]
    pub major_from: Option<u32>,
    /// Only for tags of a major version below this one.
    #[serde(default)]
    pub major_below: Option<u32>,
    /// Only when the service mounts something at this path (nginx renders
    /// /etc/nginx/templates into conf.d only when templates are mounted;
    /// otherwise a carve-out there would hide the image's own config).
    #[serde(default)]
    pub when_mounted: Option<String>,
    /// Not when the service already mounts something at this path
    /// (PostgreSQL 18 refuses to start with a mount at the old data path:
    /// a volume above it would not help).
    #[serde(default)]
    pub unless_mounted: Option<String>,
}

/// A note for the person reviewing the change: plain text, or text for
/// some major versions only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ProfileNote {
    Text(String),
    Versioned {
        text: String,
        #[serde(default)]
        major_from: Option<u32>,
        #[serde(default)]
        major_below: Option<u32>,
        /// Only when the service mounts something at this path.
        #[serde(default)]
        when_mounted: Option<String>,
    },
}

/// Whether a major-version range holds for `major` (`None`: the tag names
/// no version, so the newest image).
fn in_range(major: Option<u32>, from: Option<u32>, below: Option<u32>) -> bool {
    match major {
        Some(m) => from.is_none_or(|f| m >= f) && below.is_none_or(|b| m < b),
        None => below.is_none(),
    }
}

/// The major version a tag starts with: `16.4-alpine` is 16; `latest`,
/// `alpine` and no tag name none.
pub fn tag_major(image: &str) -> Option<u32> {
    let tag = parse_local_ref(image)?.tag?;
    let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A tag-dependent change of the image's user (Alpine variants often differ).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserVariant {
    pub tag_contains: String,
    pub uid: u32,
    pub gid: u32,
}

/// The non-root user an image can run as directly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub why: String,
    #[serde(default, rename = "variant")]
    pub variants: Vec<UserVariant>,
}

/// The user to write into `user: "UID:GID"` for one image reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs<'a> {
    pub name: &'a str,
    pub uid: u32,
    pub gid: u32,
}

/// Capabilities the entrypoint needs when the service keeps starting as root.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    pub needed_as_root: Vec<String>,
    pub why: String,
}

/// Everything harden knows about one well-known image.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageProfile {
    /// File stem in templates/images (filled in by the loader).
    #[serde(skip)]
    pub id: String,
    /// Normalised repositories this profile matches.
    pub images: Vec<String>,
    /// Text in a tag that the major version follows, for images built on
    /// this one that tag by the base's version behind a marker
    /// (pgvector's `pg17`, `0.8.0-pg17`); other tags start with it.
    #[serde(default)]
    pub major_marker: Option<String>,
    /// What was checked and what is inferred.
    pub source: String,
    pub checked: String,
    /// Engines and runtimes a hardened project on this image was run on
    /// and worked (`Podman 4.3.1 + runc 1.1.5`); empty: not run yet, the
    /// profile is read from the image's files only. Built-in profiles must
    /// say; a harden.toml `[[image]]` may leave it out.
    #[serde(default)]
    pub proven_on: Option<Vec<String>>,
    pub runs_as_root_by_default: bool,
    #[serde(default)]
    pub entrypoint_drops_privileges: Option<String>,
    pub ports: Vec<u16>,
    /// Listens below 1024 by default: needs no capability on Docker >= 20.10
    /// (`net.ipv4.ip_unprivileged_port_start=0` in the container's network
    /// namespace), but needs `NET_BIND_SERVICE` with `network_mode: host`.
    pub ports_below_1024: bool,
    #[serde(default)]
    pub notes: Vec<ProfileNote>,
    #[serde(default)]
    pub user: Option<ProfileUser>,
    #[serde(default)]
    pub write: Vec<WritePath>,
    pub caps: Caps,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl ImageProfile {
    /// The user to run `image` as directly, honouring tag variants
    /// (`postgres:16-alpine` is uid 70, `postgres:16` uid 999). `None` when the
    /// image has no usable non-root user and must keep starting as root.
    pub fn user_for(&self, image: &str) -> Option<RunAs<'_>> {
        let user = self.user.as_ref()?;
        let tag = parse_local_ref(image).and_then(|r| r.tag);
        let variant = tag.as_deref().and_then(|tag| {
            user.variants
                .iter()
                .find(|v| tag.contains(v.tag_contains.as_str()))
        });
        Some(match variant {
            Some(v) => RunAs {
                name: &user.name,
                uid: v.uid,
                gid: v.gid,
            },
            None => RunAs {
                name: &user.name,
                uid: user.uid,
                gid: user.gid,
            },
        })
    }

    /// The major version `image`'s tag names: after the profile's marker
    /// when the tag has it followed by a number, else the tag's leading
    /// number.
    pub fn major_of(&self, image: &str) -> Option<u32> {
        let marked = self.major_marker.as_deref().and_then(|marker| {
            let tag = parse_local_ref(image)?.tag?;
            tag.match_indices(marker).find_map(|(i, _)| {
                let digits: String = tag[i + marker.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            })
        });
        marked.or_else(|| tag_major(image))
    }

    /// The paths `image` writes: those of its major version.
    pub fn writes_for<'a>(&'a self, image: &str) -> impl Iterator<Item = &'a WritePath> {
        let major = self.major_of(image);
        self.write
            .iter()
            .filter(move |w| in_range(major, w.major_from, w.major_below))
    }

    /// The notes that hold for `image`'s major version, leaving out those
    /// about a mount the service does not have.
    pub fn notes_for<'a>(&'a self, image: &str) -> impl Iterator<Item = &'a str> {
        self.notes_with_mounts(image, |_| false)
    }

    /// The notes that hold for `image`'s major version and the service's
    /// mounts (`mounted` tells whether a path is mounted).
    pub fn notes_with_mounts<'a>(
        &'a self,
        image: &str,
        mounted: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = &'a str> {
        let major = self.major_of(image);
        self.notes.iter().filter_map(move |n| match n {
            ProfileNote::Text(t) => Some(t.as_str()),
            ProfileNote::Versioned {
                text,
                major_from,
                major_below,
                when_mounted,
            } => (in_range(major, *major_from, *major_below)
                && when_mounted.as_deref().is_none_or(&mounted))
            .then_some(text.as_str()),
        })
    }

    /// Paths that become named volumes.
    pub fn volumes(&self) -> impl Iterator<Item = &WritePath> {
        self.write.iter().filter(|w| w.kind == WriteKind::Volume)
    }

    /// Paths that become tmpfs mounts.
    pub fn tmpfs(&self) -> impl Iterator<Item = &WritePath> {
        self.write.iter().filter(|w| w.kind == WriteKind::Tmpfs)
    }
}

/// Package ecosystem a cache library belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Python,
    Node,
}

/// One environment variable that redirects a library's writes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheEnv {
    pub var: String,
    /// Where the variable points, relative to the cache root ("" = the root).
    pub subdir: String,
    /// Still read by the library but superseded by this variable: report,
    /// never add.
    #[serde(default)]
    pub deprecated_for: Option<String>,
    pub why: String,
}

/// A library that downloads models or writes caches at run time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheLibrary {
    pub packages: Vec<String>,
    pub ecosystems: Vec<Ecosystem>,
    pub why: String,
    pub source: String,
    /// The download happens at install time (npm postinstall): the variable
    /// belongs in the Dockerfile before the install, pointing into the image.
    #[serde(default)]
    pub downloads_at_install: bool,
    #[serde(default)]
    pub env: Vec<CacheEnv>,
}

impl CacheLibrary {
    /// The main package name (the first listed).
    pub fn name(&self) -> &str {
        self.packages.first().map(String::as_str).unwrap_or("")
    }

    /// Variables to set (deprecated ones left out).
    pub fn active_env(&self) -> impl Iterator<Item = &CacheEnv> {
        self.env.iter().filter(|e| e.deprecated_for.is_none())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CachesFile {
    library: Vec<CacheLibrary>,
}

/// A problem in an embedded knowledge file, with a 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for KnowledgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for KnowledgeError {}

/// A dependency file that does not parse, with a 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepFileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for DepFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for DepFileError {}

// ---------------------------------------------------------------------------
// Loading and validation
// ---------------------------------------------------------------------------

static PROFILES: OnceLock<Result<Vec<Arc<ImageProfile>>, KnowledgeError>> = OnceLock::new();
static CACHES: OnceLock<Result<Vec<CacheLibrary>, KnowledgeError>> = OnceLock::new();

fn loaded_profiles() -> &'static Result<Vec<Arc<ImageProfile>>, KnowledgeError> {
    PROFILES.get_or_init(|| load_profiles(IMAGE_FILES))
}

fn loaded_caches() -> &'static Result<Vec<CacheLibrary>, KnowledgeError> {
    CACHES.get_or_init(|| load_caches(CACHES_NAME, CACHES_FILE))
}

/// Every image profile (empty if the embedded data failed to load, which the
/// test suite rules out). Shared, so that a plan can keep the profile it
/// used without copying it per service.
pub fn profiles() -> &'static [Arc<ImageProfile>] {
    match loaded_profiles() {
        Ok(p) => p,
        Err(_) => &[],
    }
}

/// Why the embedded knowledge failed to load, if it did.
pub fn load_error() -> Option<&'static KnowledgeError> {
    loaded_profiles()
        .as_ref()
        .err()
        .or_else(|| loaded_caches().as_ref().err())
}

/// The profile whose repositories include `image`'s, ignoring Docker Hub's
/// registry and `library/`, the tag and the digest.
pub fn profile_for(image: &str) -> Option<&'static ImageProfile> {
    let repository = parse_local_ref(image)?.repository;
    profiles()
        .iter()
        .find(|p| p.images.contains(&repository))
        .map(|p| &**p)
}

/// Like [`profile_for`], with `extra` profiles (from harden.toml) looked at
/// first, so a team can describe its own images or override a built-in one.
pub fn profile_with<'a>(
    extra: &'a [Arc<ImageProfile>],
    image: &str,
) -> Option<&'a Arc<ImageProfile>> {
    let repository = parse_local_ref(image)?.repository;
    extra
        .iter()
        .chain(profiles())
        .find(|p| p.images.contains(&repository))
}

/// Every cache library (empty if the embedded data failed to load).
pub fn cache_libraries() -> &'static [CacheLibrary] {
    match loaded_caches() {
        Ok(c) => c,
        Err(_) => &[],
    }
}

/// The cache library a package name belongs to, compared after PEP 503
/// normalisation (`Sentence_Transformers` finds `sentence-transformers`).
pub fn cache_library(package: &str) -> Option<&'static CacheLibrary> {
    let wanted = normalize_package_name(package);
    if wanted.is_empty() {
        return None;
    }
    cache_libraries().iter().find(|lib| {
        lib.packages
            .iter()
            .any(|p| normalize_package_name(p) == wanted)
    })
}

fn load_profiles(files: &[(&str, &str)]) -> Result<Vec<Arc<ImageProfile>>, KnowledgeError> {
    let mut out: Vec<Arc<ImageProfile>> = Vec::with_capacity(files.len());
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (id, text) in files {
        let profile = parse_profile(id, text)?;
        if profile.proven_on.is_none() {
            return Err(error_at(
                &file_name(id),
                text,
                "checked",
                "a built-in profile states `proven_on`: the engines it was run on, or [] when it has not been run".into(),
            ));
        }
        for image in &profile.images {
            if let Some(other) = owner.insert(image.clone(), profile.id.clone()) {
                return Err(error_at(
                    &file_name(id),
                    text,
                    &format!("\"{image}\""),
                    format!("repository `{image}` is already listed by profile `{other}`"),
                ));
            }
        }
        out.push(Arc::new(profile));
    }
    Ok(out)
}

fn file_name(id: &str) -> String {
    format!("templates/images/{id}.toml")
}

/// Parse and check one profile; `id` is its file stem.
fn parse_profile(id: &str, text: &str) -> Result<ImageProfile, KnowledgeError> {
    let file = file_name(id);
    let mut profile: ImageProfile =
        toml::from_str(text).map_err(|e| toml_error(&file, text, &e))?;
    profile.id = id.to_string();
    validate_profile(&profile)
        .map_err(|(needle, message)| error_at(&file, text, &needle, message))?;
    Ok(profile)
}

/// The first failed consistency rule, as (text to locate, message).
pub(crate) fn validate_profile(p: &ImageProfile) -> Result<(), (String, String)> {
    let fail = |needle: &str, message: String| Err((needle.to_string(), message));

    if p.images.is_empty() {
        return fail("images", "`images` lists no repository".into());
    }
    if p.major_marker
        .as_deref()
        .is_some_and(|m| m.trim().is_empty())
    {
        return fail("major_marker", "`major_marker` is empty".into());
    }
    for image in &p.images {
        match parse_local_ref(image) {
            Some(r) if r.repository == *image && r.tag.is_none() => {}
            _ => {
                return fail(
                    image,
                    format!(
                        "`{image}` is not a normalised repository (lowercase, no tag, digest, docker.io/ or library/)"
                    ),
                )
            }
        }
    }
    for (key, value) in [
        ("source", &p.source),
        ("checked", &p.checked),
        ("why", &p.caps.why),
    ] {
        if value.trim().is_empty() {
            return fail(key, format!("`{key}` is empty"));
        }
    }

    let below = p.ports.iter().any(|port| *port < 1024);
    if below != p.ports_below_1024 {
        return fail(
            "ports_below_1024",
            format!(
                "ports_below_1024 = {} disagrees with ports {:?}",
                p.ports_below_1024, p.ports
            ),
        );
    }

    if let Some(how) = &p.entrypoint_drops_privileges {
        if !PRIVILEGE_DROPPERS.contains(&how.as_str()) {
            return fail(
                how,
                format!("unknown entrypoint_drops_privileges `{how}` (expected one of {PRIVILEGE_DROPPERS:?})"),
            );
        }
        if !p.runs_as_root_by_default {
            return fail(
                how,
                "an image that does not start as root cannot drop privileges".into(),
            );
        }
        for needed in ["SETUID", "SETGID"] {
            if !p.caps.needed_as_root.iter().any(|c| c == needed) {
                return fail(
                    "needed_as_root",
                    format!(
                        "dropping privileges with `{how}` needs {needed} in caps.needed_as_root"
                    ),
                );
            }
        }
    }

    let mut seen_caps = BTreeSet::new();
    for cap in &p.caps.needed_as_root {
        if !KNOWN_CAPABILITIES.contains(&cap.as_str()) {
            return fail(
                cap,
                format!("unknown capability `{cap}` (write it without CAP_)"),
            );
        }
        if !seen_caps.insert(cap.as_str()) {
            return fail(cap, format!("capability `{cap}` is listed twice"));
        }
    }
    if !p.runs_as_root_by_default && !p.caps.needed_as_root.is_empty() {
        return fail(
            "needed_as_root",
            "an image that does not start as root needs no capabilities as root".into(),
        );
    }

    if let Some(user) = &p.user {
        if user.uid == 0 {
            return fail("uid", "the image's user must not be uid 0".into());
        }
        if user.name.trim().is_empty() || user.why.trim().is_empty() {
            return fail("[user]", "[user] needs a name and a why".into());
        }
        for v in &user.variants {
            if v.uid == 0 || v.tag_contains.is_empty() {
                return fail(
                    "tag_contains",
                    "a user variant needs a non-empty tag_contains and a non-zero uid".into(),
                );
            }
        }
    }

    let mut paths = BTreeSet::new();
    let mut names = BTreeSet::new();
    for w in &p.write {
        let path = w.path.as_str();
        if !path.starts_with('/') || path.len() < 2 || path.ends_with('/') || path.contains("//") {
            return fail(
                path,
                format!("write path `{path}` must be absolute, not `/`, without a trailing slash"),
            );
        }
        if !paths.insert(path) {
            return fail(path, format!("write path `{path}` is listed twice"));
        }
        for m in [&w.when_mounted, &w.unless_mounted].into_iter().flatten() {
            if !m.starts_with('/') || m.len() < 2 || m.ends_with('/') {
                return fail(
                    m,
                    format!("`{m}` (when_mounted/unless_mounted) must be an absolute path without a trailing slash"),
                );
            }
        }
        if let (Some(from), Some(below)) = (w.major_from, w.major_below) {
            if from >= below {
                return fail(
                    path,
                    format!("`{path}`: major_from must be below major_below"),
                );
            }
        }
        if w.why.trim().is_empty() {
            return fail(path, format!("write path `{path}` has no why"));
        }
        match w.kind {
            WriteKind::Volume => {
                let Some(name) = &w.name else {
                    return fail(path, format!("volume `{path}` has no name"));
                };
                if !is_volume_suffix(name) {
                    return fail(
                        name,
                        format!("volume name `{name}` must match [a-z0-9][a-z0-9_.-]*"),
                    );
                }
                // One name per version range: PostgreSQL 18 moved its data.
                if !names.insert((name.as_str(), w.major_from, w.major_below)) {
                    return fail(name, format!("volume name `{name}` is used twice"));
                }
                if w.size.is_some()
                    || w.mode.is_some()
                    || w.uid.is_some()
                    || w.gid.is_some()
                    || w.exec
                {
                    return fail(
                        path,
                        format!("volume `{path}` has tmpfs options (size/mode/uid/gid/exec)"),
                    );
                }
            }
            WriteKind::Tmpfs if w.disposable => {
                return fail(
                    path,
                    format!("tmpfs `{path}`: `disposable` is for volumes (a tmpfs always is)"),
                );
            }
            WriteKind::Tmpfs => {
                if w.name.is_some() {
                    return fail(path, format!("tmpfs `{path}` has a volume name"));
                }
                if looks_persistent(path) {
                    return fail(
                        path,
                        format!("tmpfs `{path}` looks like persistent data: make it a volume"),
                    );
                }
                if let Some(size) = &w.size {
                    if !is_tmpfs_size(size) {
                        return fail(size, format!("tmpfs size `{size}` is not like 64m"));
                    }
                }
                if let Some(mode) = &w.mode {
                    if !(3..=4).contains(&mode.len())
                        || !mode.chars().all(|c| ('0'..='7').contains(&c))
                    {
                        return fail(mode, format!("tmpfs mode `{mode}` is not octal"));
                    }
                }
            }
        }
    }

    for key in p.env.keys() {
        if !is_env_name(key) {
            return fail(key, format!("`{key}` is not an environment variable name"));
        }
    }
    Ok(())
}

fn is_volume_suffix(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
}

fn is_tmpfs_size(size: &str) -> bool {
    let digits = size.trim_end_matches(['k', 'm', 'g']);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && size.len() - digits.len() <= 1
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Data that a tmpfs would lose on every restart: database and state
/// directories by the usual conventions.
fn looks_persistent(path: &str) -> bool {
    path == "/var/lib"
        || path.starts_with("/var/lib/")
        || path == "/srv"
        || path.starts_with("/srv/")
        || path
            .split('/')
            .any(|seg| matches!(seg, "data" | "pgdata" | "storage"))
}

fn load_caches(file: &str, text: &str) -> Result<Vec<CacheLibrary>, KnowledgeError> {
    let parsed: CachesFile = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for lib in &parsed.library {
        validate_cache_library(lib)
            .map_err(|(needle, message)| error_at(file, text, &needle, message))?;
        for package in &lib.packages {
            let key = normalize_package_name(package);
            if let Some(other) = owner.insert(key, lib.name().to_string()) {
                return Err(error_at(
                    file,
                    text,
                    package,
                    format!("package `{package}` is already listed by `{other}`"),
                ));
            }
        }
    }
    Ok(parsed.library)
}

fn validate_cache_library(lib: &CacheLibrary) -> Result<(), (String, String)> {
    let fail = |needle: &str, message: String| Err((needle.to_string(), message));
    let name = lib.name();
    if name.is_empty() || lib.packages.iter().any(|p| p.trim().is_empty()) {
        return fail("packages", "a library needs non-empty package names".into());
    }
    if lib.ecosystems.is_empty() {
        return fail(name, format!("`{name}` lists no ecosystem"));
    }
    if lib.why.trim().is_empty() || lib.source.trim().is_empty() {
        return fail(name, format!("`{name}` needs a why and a source"));
    }
    let mut vars = BTreeSet::new();
    for env in &lib.env {
        if !is_env_name(&env.var) {
            return fail(
                &env.var,
                format!("`{}` is not an environment variable name", env.var),
            );
        }
        if !vars.insert(env.var.as_str()) {
            return fail(
                &env.var,
                format!("`{}` is listed twice for `{name}`", env.var),
            );
        }
        let sub = env.subdir.as_str();
        if sub.starts_with('/')
            || sub.ends_with('/')
            || sub.split('/').any(|s| s == ".." || s == ".")
        {
            return fail(
                sub,
                format!(
                    "subdir `{sub}` of {} must be relative, without . or ..",
                    env.var
                ),
            );
        }
        if env.why.trim().is_empty() {
            return fail(&env.var, format!("{} of `{name}` has no why", env.var));
        }
    }
    for env in &lib.env {
        if let Some(successor) = &env.deprecated_for {
            let ok = lib
                .env
                .iter()
                .any(|e| e.var == *successor && e.deprecated_for.is_none());
            if !ok {
                return fail(
                    successor,
                    format!(
                        "{} is deprecated for {successor}, which `{name}` does not list as active",
                        env.var
                    ),
                );
            }
        }
    }
    Ok(())
}

/// An error located at the first occurrence of `needle` (or 1:1).
fn error_at(file: &str, text: &str, needle: &str, message: String) -> KnowledgeError {
    let (line, column) = if needle.is_empty() {
        (1, 1)
    } else {
        text.find(needle)
            .map(|offset| line_col(text, offset))
            .unwrap_or((1, 1))
    };
    KnowledgeError {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> KnowledgeError {
    let (line, column) = e
        .span()
        .map(|span| line_col(text, span.start))
        .unwrap_or((1, 1));
    KnowledgeError {
        file: file.to_string(),
        line,
        column,
        message: e.message().to_string(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, column)
}

// ---------------------------------------------------------------------------
// Image references (deliberately minimal: just enough to match profiles)
// ---------------------------------------------------------------------------

struct LocalRef {
    repository: String,
    tag: Option<String>,
}

/// Registry, tag and digest handling sufficient for profile lookup. Docker
/// Hub's registry names and `library/` are dropped; any other registry stays
/// part of the repository, so `ghcr.io/x/postgres` is not `postgres`.
/// References with unexpanded variables or spaces match nothing.
fn parse_local_ref(image: &str) -> Option<LocalRef> {
    let image = image.trim();
    if image.is_empty() || image.contains('$') || image.chars().any(char::is_whitespace) {
        return None;
    }
    let without_digest = image.split('@').next().unwrap_or("");
    let last_slash = without_digest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match without_digest
        .get(last_slash..)
        .and_then(|last| last.find(':'))
    {
        Some(colon) => {
            let at = last_slash + colon;
            (
                without_digest.get(..at).unwrap_or(""),
                without_digest.get(at + 1..).map(str::to_string),
            )
        }
        None => (without_digest, None),
    };
    let name = name.to_ascii_lowercase();
    let (registry, rest) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, name.as_str()),
    };
    let hub = matches!(
        registry,
        None | Some("docker.io" | "index.docker.io" | "registry-1.docker.io")
    );
    let repository = if hub {
        rest.strip_prefix("library/").unwrap_or(rest).to_string()
    } else {
        name.clone()
    };
    if repository.is_empty()
        || repository.ends_with('/')
        || repository.starts_with('/')
        || repository.contains("//")
    {
        return None;
    }
    Some(LocalRef {
        repository,
        tag: tag.filter(|t| !t.is_empty()),
    })
}

// ---------------------------------------------------------------------------
// Dependency files
// ---------------------------------------------------------------------------

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
/// npm names (already lowercase, may hold `@` and `/`) pass through.
pub fn normalize_package_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// The PEP 508 name at the start of a requirement string, if it is one:
/// `transformers[torch]>=4; python_version>"3.8"` gives `transformers`, a URL
/// or a path gives nothing.
fn pep508_name(spec: &str) -> Option<&str> {
    let spec = spec.trim_start();
    let end = spec
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(|(i, _)| i)
        .unwrap_or(spec.len());
    let name = spec.get(..end)?;
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let last_ok = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !last_ok {
        return None;
    }
    let rest = spec.get(end..).unwrap_or("").trim_start();
    let follows_ok = match rest.chars().next() {
        None => true,
        Some(c) => "[(<>=!~;@,".contains(c),
    };
    // `name @ url` is a name; `pkg:...` or `./x` are not.
    (follows_ok && !rest.starts_with("://")).then_some(name)
}

/// `#egg=name` in a VCS or archive URL.
fn egg_name(spec: &str) -> Option<&str> {
    let (_, after) = spec.split_once("#egg=")?;
    let egg = after.split(['&', ' ', '\t', '[']).next().unwrap_or("");
    pep508_name(egg).filter(|n| n.len() == egg.len())
}

/// Name of a wheel or sdist file (`foo_bar-1.2-py3-none-any.whl`).
fn archive_name(spec: &str) -> Option<&str> {
    let token = spec.split_whitespace().next()?;
    let token = token.split(['#', '?']).next().unwrap_or(token);
    let is_archive = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .any(|ext| token.ends_with(ext));
    if !is_archive {
        return None;
    }
    let file = token.rsplit('/').next().unwrap_or(token);
    let bytes = file.as_bytes();
    let cut = (0..bytes.len()).find(|&i| {
        bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
    })?;
    let name = file.get(..cut)?;
    pep508_name(name).filter(|n| n.len() == name.len())
}

fn push_unique(out: &mut Vec<String>, name: &str) {
    let name = normalize_package_name(name);
    if !name.is_empty() && !out.contains(&name) {
        out.push(name);
    }
}

/// Package names from a requirements file, PEP 503-normalised, in order of
/// first appearance. Comments, options (`-r`, `-c`, `--index-url`, ...),
/// extras, versions and markers are dropped; VCS and archive URLs count only
/// when they name their package (`#egg=`, `name @ url`, a wheel file name).
pub fn parse_python_requirements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(continued) = line.strip_suffix('\\') {
            logical.push_str(continued);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        requirement_line(&logical, &mut out);
        logical.clear();
    }
    if !logical.is_empty() {
        requirement_line(&logical, &mut out);
    }
    out
}

fn requirement_line(line: &str, out: &mut Vec<String>) {
    let line = strip_requirement_comment(line).trim();
    if line.is_empty() {
        return;
    }
    let spec = if let Some(rest) = line.strip_prefix("--editable") {
        rest.trim_start_matches('=').trim()
    } else if let Some(rest) = line.strip_prefix("-e") {
        rest.trim()
    } else if line.starts_with('-') {
        return;
    } else {
        line
    };
    if let Some(name) = egg_name(spec).or_else(|| archive_name(spec)) {
        push_unique(out, name);
    } else if let Some(name) = pep508_name(spec) {
        push_unique(out, name);
    }
}

/// pip treats `#` as a comment at line start or after whitespace, so a
/// URL fragment such as `#egg=` survives.
fn strip_requirement_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return line.get(..i).unwrap_or("");
        }
        prev_space = c.is_whitespace();
    }
    line
}

fn parse_toml_table(text: &str) -> Result<toml::Table, DepFileError> {
    text.parse::<toml::Table>().map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((1, 1));
        DepFileError {
            line,
            column,
            message: e.message().to_string(),
        }
    })
}

/// Like [`parse_pyproject_dependencies`], with the parse error.
pub fn try_parse_pyproject_dependencies(text: &str) -> Result<Vec<String>, DepFileError> {
    let table = parse_toml_table(text)?;
    let mut out = Vec::new();
    if let Some(deps) = table
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
    {
        for spec in deps.iter().filter_map(|d| d.as_str()) {
            if let Some(name) = egg_name(spec).or_else(|| pep508_name(spec)) {
                push_unique(&mut out, name);
            }
        }
    }
    if let Some(deps) = table
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_table())
    {
        let mut keys: Vec<String> = deps
            .keys()
            .filter(|k| !k.eq_ignore_ascii_case("python"))
            .map(|k| normalize_package_name(k))
            .collect();
        keys.sort();
        for name in &keys {
            push_unique(&mut out, name);
        }
    }
    Ok(out)
}

/// Package names from pyproject.toml, PEP 503-normalised: `[project].dependencies`
/// (PEP 621) in file order, then `[tool.poetry.dependencies]` keys (without
/// `python`) sorted, since TOML tables carry no order. Invalid TOML gives
/// none; see [`try_parse_pyproject_dependencies`] for the error.
pub fn parse_pyproject_dependencies(text: &str) -> Vec<String> {
    try_parse_pyproject_dependencies(text).unwrap_or_default()
}

/// Like [`parse_package_json_dependencies`], with the parse error.
pub fn try_parse_package_json_dependencies(text: &str) -> Result<Vec<String>, DepFileError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| DepFileError {
        line: e.line().max(1),
        column: e.column().max(1),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    if let Some(deps) = value.get("dependencies").and_then(|d| d.as_object()) {
        for name in deps.keys() {
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
        // JSON objects carry no order that serde_json promises to keep.
        out.sort();
    }
    Ok(out)
}

/// Package names in package.json's `dependencies` (what ships to
/// production; `devDependencies` are left out), lowercased, sorted. Invalid JSON
/// gives none; see [`try_parse_package_json_dependencies`] for the error.
pub fn parse_package_json_dependencies(text: &str) -> Vec<String> {
    try_parse_package_json_dependencies(text).unwrap_or_default()
}

/// Like [`parse_pipfile`], with the parse error.
pub fn try_parse_pipfile(text: &str) -> Result<Vec<String>, DepFileError> {
    let table = parse_toml_table(text)?;
    let mut out = Vec::new();
    if let Some(packages) = table.get("packages").and_then(|p| p.as_table()) {
        let mut keys: Vec<String> = packages.keys().map(|k| normalize_package_name(k)).collect();
        keys.sort();
        for name in &keys {
            push_unique(&mut out, name);
        }
    }
    Ok(out)
}

/// Package names in a Pipfile's `[packages]` (not `[dev-packages]`),
/// PEP 503-normalised and sorted. Invalid TOML gives none; see [`try_parse_pipfile`].
pub fn parse_pipfile(text: &str) -> Vec<String> {
    try_parse_pipfile(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid profile to mutate in the negative tests.
    const GOOD: &str = r#"
images = ["example/db"]
source = "test"
checked = "today"
proven_on = []
runs_as_root_by_default = true
entrypoint_drops_privileges = "gosu"
ports = [5000]
ports_below_1024 = false

[user]
name = "db"
uid = 999
gid = 999
why = "owns its data"

[[write]]
path = "/var/lib/db"
kind = "volume"
name = "data"
why = "data"

[[write]]
path = "/run/db"
kind = "tmpfs"
size = "16m"
mode = "1777"
why = "socket"

[caps]
needed_as_root = ["CHOWN", "SETUID", "SETGID"]
why = "gosu"
"#;

    fn err(text: &str) -> KnowledgeError {
        match parse_profile("bad", text) {
            Ok(p) => panic!("expected an error, parsed {:?}", p.images),
            Err(e) => e,
        }
    }

    #[test]
    fn embedded_knowledge_loads() {
        assert_eq!(load_error(), None);
        assert_eq!(profiles().len(), IMAGE_FILES.len());
        assert!(cache_libraries().len() >= 20);
    }

    #[test]
    fn every_template_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/images");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("templates/images is readable")
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".toml").map(str::to_string)
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = IMAGE_FILES.iter().map(|(id, _)| id.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn each_profile_matches_its_repositories_in_every_spelling() {
        for p in profiles() {
            for repo in &p.images {
                let hub = !repo.split('/').next().unwrap_or("").contains('.');
                let mut spellings = vec![
                    repo.clone(),
                    format!("{repo}:1.2.3"),
                    format!("{repo}:latest@sha256:0123abcd"),
                    format!("{repo}@sha256:0123abcd"),
                    repo.to_uppercase(),
                ];
                if hub {
                    spellings.push(format!("docker.io/{repo}:7"));
                    spellings.push(format!("index.docker.io/{repo}"));
                    if !repo.contains('/') {
                        spellings.push(format!("library/{repo}:1"));
                        spellings.push(format!("docker.io/library/{repo}:1-alpine"));
                    }
                }
                for s in spellings {
                    let found = profile_for(&s).map(|f| f.id.as_str());
                    assert_eq!(found, Some(p.id.as_str()), "{s}");
                }
            }
        }
    }

    #[test]
    fn brief_repositories_are_covered() {
        for (image, id) in [
            ("postgres:16-alpine", "postgres"),
            ("docker.io/library/redis:7", "redis"),
            ("mysql:8.4", "mysql"),
            ("mariadb:11", "mariadb"),
            ("mongo:7", "mongo"),
            ("nginx:1.27-alpine", "nginx"),
            ("httpd:2.4", "httpd"),
            ("rabbitmq:3-management", "rabbitmq"),
            ("memcached:1.6", "memcached"),
            ("traefik:v3.1", "traefik"),
            ("caddy:2", "caddy"),
            ("grafana/grafana:11.0.0", "grafana"),
            ("grafana/grafana-oss", "grafana"),
            ("prom/prometheus:v2.53.0", "prometheus"),
            ("minio/minio:RELEASE.2024-06-04T19-20-08Z", "minio"),
            (
                "docker.elastic.co/elasticsearch/elasticsearch:8.14.1",
                "elasticsearch",
            ),
            ("elasticsearch:8.14.1", "elasticsearch"),
            ("opensearchproject/opensearch:2", "opensearch"),
        ] {
            assert_eq!(
                profile_for(image).map(|p| p.id.as_str()),
                Some(id),
                "{image}"
            );
        }
    }

    #[test]
    fn unlisted_repositories_do_not_match() {
        for image in [
            "bitnami/redis:7",
            "bitnami/postgresql",
            "ghcr.io/acme/postgres:16",
            "localhost:5000/postgres:16",
            "registry.example.com:5000/nginx",
            "postgresql",
            "${REGISTRY}/postgres:16",
            "",
            "   ",
            ":16",
            "/postgres",
            "postgres extra",
        ] {
            assert!(profile_for(image).is_none(), "{image:?}");
        }
    }

    #[test]
    fn user_follows_tag_variants() {
        let pg = profile_for("postgres").expect("postgres profile");
        let uid = |image: &str| pg.user_for(image).map(|u| (u.uid, u.gid));
        assert_eq!(uid("postgres:16"), Some((999, 999)));
        assert_eq!(uid("postgres"), Some((999, 999)));
        assert_eq!(uid("postgres:16-alpine3.20"), Some((70, 70)));
        assert_eq!(uid("docker.io/library/postgres:alpine"), Some((70, 70)));
        let redis = profile_for("redis").expect("redis profile");
        assert_eq!(redis.user_for("redis:7-alpine").map(|u| u.gid), Some(1000));
        assert_eq!(redis.user_for("redis:7").map(|u| u.gid), Some(999));
        let caddy = profile_for("caddy").expect("caddy profile");
        assert!(caddy.user_for("caddy:2").is_none());
    }

    #[test]
    fn postgres_caps_cover_restart_on_an_existing_volume() {
        let pg = profile_for("postgres:17").expect("postgres profile");
        let caps = &pg.caps.needed_as_root;
        for needed in ["CHOWN", "DAC_READ_SEARCH", "SETUID", "SETGID"] {
            assert!(caps.iter().any(|c| c == needed), "{needed}");
        }
        // Narrowest set: read-only traversal, no blanket override.
        assert!(!caps.iter().any(|c| c == "DAC_OVERRIDE" || c == "FOWNER"));
        let volumes = |image: &str| -> Vec<&str> {
            pg.writes_for(image)
                .filter(|w| w.kind == WriteKind::Volume)
                .map(|w| w.path.as_str())
                .collect()
        };
        assert_eq!(
            volumes("postgres:17"),
            ["/var/lib/postgresql/data", "/run/postgresql"]
        );
        // The socket directory is a named volume at its real path: a tmpfs
        // over the image's directory is root-owned on runc < 1.1.8 and
        // Podman 4.3, and postgres cannot create its lock file there.
        assert!(!pg.tmpfs().any(|t| t.path.ends_with("/postgresql")));
    }

    /// PostgreSQL 18 keeps its data below the image's new volume at
    /// /var/lib/postgresql; a tag without a version is the newest image.
    #[test]
    fn writes_and_notes_follow_the_major_version() {
        let pg = profile_for("postgres").expect("postgres profile");
        let data = |image: &str| -> Vec<&str> {
            pg.writes_for(image)
                .filter(|w| w.name.as_deref() == Some("data"))
                .map(|w| w.path.as_str())
                .collect()
        };
        for old in [
            "postgres:16.4",
            "postgres:9.6-alpine",
            "postgres:17-bookworm",
        ] {
            assert_eq!(data(old), ["/var/lib/postgresql/data"], "{old}");
            assert!(!pg.notes_for(old).any(|n| n.contains("18")), "{old}");
        }
        for new in [
            "postgres:18",
            "postgres:18.1-alpine",
            "postgres",
            "postgres:latest",
            "postgres:alpine",
        ] {
            assert_eq!(data(new), ["/var/lib/postgresql"], "{new}");
            assert!(
                pg.notes_for(new).any(|n| n.contains("18 and later")),
                "{new}"
            );
        }
        assert_eq!(tag_major("postgres:16.4-alpine3.20"), Some(16));
        assert_eq!(tag_major("registry.example.com:5000/postgres"), None);
    }

    /// Images built on the official one (PostGIS, pgvector) share its
    /// profile; pgvector names the PostgreSQL version after `pg`.
    #[test]
    fn images_built_on_postgres_share_its_profile() {
        let pg = profile_for("postgres").expect("postgres profile");
        for (image, major, uid) in [
            ("postgis/postgis:16-3.4", Some(16), 999),
            ("postgis/postgis:17-3.5-alpine", Some(17), 70),
            ("postgis/postgis", None, 999),
            ("pgvector/pgvector:pg16", Some(16), 999),
            ("pgvector/pgvector:0.8.0-pg17-bookworm", Some(17), 999),
            ("pgvector/pgvector:0.8.1-pg18", Some(18), 999),
            ("postgres:16.4", Some(16), 999),
        ] {
            let p = profile_for(image).expect(image);
            assert!(std::ptr::eq(p, pg), "{image}");
            assert_eq!(p.major_of(image), major, "{image}");
            assert_eq!(p.user_for(image).map(|u| u.uid), Some(uid), "{image}");
        }
        let data = |image: &str| -> Vec<&str> {
            pg.writes_for(image)
                .filter(|w| w.name.as_deref() == Some("data"))
                .map(|w| w.path.as_str())
                .collect()
        };
        assert_eq!(
            data("pgvector/pgvector:0.8.0-pg17"),
            ["/var/lib/postgresql/data"]
        );
        assert_eq!(data("pgvector/pgvector:pg18"), ["/var/lib/postgresql"]);
        // The marker only counts with a number after it.
        assert_eq!(pg.major_of("postgres:16-pgdg"), Some(16));
    }

    #[test]
    fn low_ports_are_flagged() {
        for (image, low) in [
            ("nginx", true),
            ("httpd", true),
            ("caddy", true),
            ("traefik", true),
            ("postgres", false),
        ] {
            let p = profile_for(image).expect("profile");
            assert_eq!(p.ports_below_1024, low, "{image}");
        }
    }

    #[test]
    fn good_profile_parses() {
        let p = parse_profile("good", GOOD).expect("valid");
        assert_eq!(p.id, "good");
        assert_eq!(
            p.volumes().next().and_then(|v| v.name.as_deref()),
            Some("data")
        );
    }

    #[test]
    fn unknown_kind_is_rejected_with_position() {
        let e = err(&GOOD.replace("kind = \"tmpfs\"", "kind = \"bind\""));
        assert_eq!(e.file, "templates/images/bad.toml");
        assert!(e.line > 1, "{e}");
    }

    #[test]
    fn volume_without_name_is_rejected() {
        let e = err(&GOOD.replace("name = \"data\"\n", ""));
        assert!(e.message.contains("has no name"), "{e}");
    }

    #[test]
    fn persistent_tmpfs_is_rejected() {
        let text = GOOD.replace("path = \"/run/db\"", "path = \"/var/lib/db/cache\"");
        let e = err(&text);
        assert!(e.message.contains("persistent"), "{e}");
        let e = err(&GOOD.replace("path = \"/run/db\"", "path = \"/srv/app/data\""));
        assert!(e.message.contains("persistent"), "{e}");
    }

    #[test]
    fn inconsistent_profiles_are_rejected() {
        let cases = [
            (
                GOOD.replace("size = \"16m\"", "name = \"sock\""),
                "volume name",
            ),
            (
                GOOD.replace("\"CHOWN\", ", "\"CAP_CHOWN\", "),
                "unknown capability",
            ),
            (GOOD.replace("\"SETUID\", ", ""), "SETUID"),
            (
                GOOD.replace("ports = [5000]", "ports = [80]"),
                "ports_below_1024",
            ),
            (
                GOOD.replace(
                    "runs_as_root_by_default = true",
                    "runs_as_root_by_default = false",
                ),
                "cannot drop privileges",
            ),
            (
                GOOD.replace("path = \"/run/db\"", "path = \"/var/lib/db\""),
                "listed twice",
            ),
            (
                GOOD.replace("path = \"/run/db\"", "path = \"/opt/app/data\""),
                "persistent",
            ),
            (
                GOOD.replace("path = \"/run/db\"", "path = \"run/db\""),
                "absolute",
            ),
            (
                GOOD.replace("\"example/db\"", "\"example/db:1\""),
                "normalised",
            ),
            (
                GOOD.replace("\"example/db\"", "\"library/db\""),
                "normalised",
            ),
            (GOOD.replace("mode = \"1777\"", "mode = \"rwx\""), "octal"),
            (GOOD.replace("size = \"16m\"", "size = \"lots\""), "size"),
            (GOOD.replace("uid = 999", "uid = 0"), "uid 0"),
            (GOOD.replace("\"gosu\"", "\"sudo\""), "unknown entrypoint"),
            (GOOD.replace("why = \"socket\"", "why = \" \""), "no why"),
            (
                format!("{GOOD}\n[env]\nlower = \"x\"\n"),
                "environment variable",
            ),
        ];
        for (text, expected) in cases {
            let e = err(&text);
            assert!(
                e.message.contains(expected),
                "expected {expected:?}, got {e}"
            );
        }
    }

    #[test]
    fn unknown_fields_and_bad_toml_are_rejected() {
        let e = err(&GOOD.replace("why = \"gosu\"", "why = \"gosu\"\nneeded = []"));
        assert!(e.message.contains("unknown field"), "{e}");
        let e = err("images = [\n");
        assert!(e.line >= 1 && e.column >= 1);
    }

    #[test]
    fn built_in_profiles_say_where_they_were_proven() {
        let text = GOOD.replace("proven_on = []\n", "");
        assert!(
            parse_profile("good", &text).is_ok(),
            "harden.toml may leave it out"
        );
        let e = load_profiles(&[("good", text.as_str())]).expect_err("built-in without proven_on");
        assert!(e.message.contains("proven_on"), "{e}");
        for p in profiles() {
            assert!(p.proven_on.is_some(), "{}", p.id);
        }
        for proven in [
            "postgres",
            "redis",
            "nginx",
            "mariadb",
            "memcached",
            "caddy",
        ] {
            let p = profile_for(proven).expect(proven);
            let on = p.proven_on.as_deref().unwrap_or_default();
            assert!(
                on.iter().any(|e| e.contains("Podman 4.3.1")),
                "{proven}: {on:?}"
            );
        }
    }

    #[test]
    fn tmpfs_only_options_and_when_mounted_are_checked() {
        let e = err(&GOOD.replace("name = \"data\"\n", "name = \"data\"\nexec = true\n"));
        assert!(e.message.contains("tmpfs options"), "{e}");
        let e = err(&GOOD.replace(
            "why = \"socket\"",
            "why = \"socket\"\nwhen_mounted = \"etc/x/\"",
        ));
        assert!(e.message.contains("when_mounted"), "{e}");
        let ok = GOOD.replace(
            "why = \"socket\"",
            "why = \"socket\"\nexec = true\nwhen_mounted = \"/etc/db/templates\"",
        );
        let p = parse_profile("good", &ok).expect("valid");
        let t = p.tmpfs().next().expect("tmpfs");
        assert!(t.exec);
        assert_eq!(t.when_mounted.as_deref(), Some("/etc/db/templates"));
    }

    #[test]
    fn elastic_images_already_run_as_1000() {
        for (image, gid) in [
            ("docker.elastic.co/logstash/logstash:8.15.0", 1000),
            ("docker.elastic.co/kibana/kibana:8.15.0", 0),
            ("docker.elastic.co/beats/filebeat:8.15.0", 1000),
            ("docker.elastic.co/elasticsearch/elasticsearch:8.15.0", 0),
        ] {
            let p = profile_for(image).expect(image);
            assert!(!p.runs_as_root_by_default, "{image}");
            assert!(p.caps.needed_as_root.is_empty(), "{image}");
            let u = p.user_for(image).expect("user");
            assert_eq!((u.uid, u.gid), (1000, gid), "{image}");
        }
        // JVM programs load native libraries they extract to /tmp.
        for image in ["logstash:8.15.0", "elasticsearch:8.15.0"] {
            let p = profile_for(image).expect(image);
            assert!(p.tmpfs().any(|t| t.path == "/tmp" && t.exec), "{image}");
        }
    }

    #[test]
    fn valkey_follows_the_redis_entrypoint() {
        let v = profile_for("valkey/valkey:8.0").expect("valkey profile");
        let r = profile_for("redis:7").expect("redis profile");
        assert_eq!(v.caps.needed_as_root, r.caps.needed_as_root);
        assert!(v.caps.needed_as_root.iter().any(|c| c == "DAC_READ_SEARCH"));
        assert_eq!(v.user_for("valkey/valkey:8.0").map(|u| u.uid), Some(999));
        assert!(v
            .notes_for("valkey/valkey:8.0")
            .any(|n| n.contains("command:")));
    }

    #[test]
    fn a_repository_may_belong_to_one_profile_only() {
        let files = [("one", GOOD), ("two", GOOD)];
        let e = load_profiles(&files).expect_err("duplicate repository");
        assert!(e.message.contains("already listed by profile `one`"), "{e}");
        assert_eq!(e.file, "templates/images/two.toml");
    }

    #[test]
    fn line_col_counts_characters() {
        let text = "a\nbé c\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 2), (2, 1));
        assert_eq!(line_col(text, 5), (2, 3)); // the space after é
        assert_eq!(line_col(text, 4), (2, 2)); // inside é: back to its start
        assert_eq!(line_col(text, 999), (3, 1));
    }

    // ----- caches -------------------------------------------------------

    #[test]
    fn cache_lookup_normalises_names() {
        for (asked, main) in [
            ("Sentence_Transformers", "sentence-transformers"),
            ("sentence.transformers", "sentence-transformers"),
            ("huggingface_hub", "huggingface-hub"),
            ("TORCH", "torch"),
            ("torchvision", "torchvision"),
            ("tensorflow-cpu", "tensorflow"),
            ("openai-whisper", "openai-whisper"),
            ("@playwright/test", "playwright"),
            ("puppeteer", "puppeteer"),
        ] {
            assert_eq!(
                cache_library(asked).map(CacheLibrary::name),
                Some(main),
                "{asked}"
            );
        }
        for absent in ["whisper", "onnxruntime", "requests", "", "--"] {
            assert!(cache_library(absent).is_none(), "{absent:?}");
        }
    }

    #[test]
    fn cache_variables_point_into_subdirectories() {
        let var = |package: &str, var: &str| {
            cache_library(package)
                .and_then(|lib| lib.env.iter().find(|e| e.var == var))
                .map(|e| e.subdir.clone())
        };
        assert_eq!(var("torch", "TORCH_HOME").as_deref(), Some("torch"));
        assert_eq!(
            var("transformers", "HF_HOME").as_deref(),
            Some("huggingface")
        );
        assert_eq!(
            var("matplotlib", "MPLCONFIGDIR").as_deref(),
            Some("matplotlib")
        );
        assert_eq!(var("numba", "NUMBA_CACHE_DIR").as_deref(), Some("numba"));
        assert_eq!(var("nltk", "NLTK_DATA").as_deref(), Some("nltk_data"));
        assert_eq!(
            var("easyocr", "EASYOCR_MODULE_PATH").as_deref(),
            Some("easyocr")
        );
        assert_eq!(var("keras", "KERAS_HOME").as_deref(), Some("keras"));
        assert_eq!(
            var("ultralytics", "YOLO_CONFIG_DIR").as_deref(),
            Some("ultralytics")
        );
        assert_eq!(var("openai-whisper", "XDG_CACHE_HOME").as_deref(), Some(""));
        assert_eq!(
            var("puppeteer", "PUPPETEER_CACHE_DIR").as_deref(),
            Some("puppeteer")
        );
        assert_eq!(
            var("sentence-transformers", "SENTENCE_TRANSFORMERS_HOME").as_deref(),
            Some("sentence_transformers")
        );
    }

    #[test]
    fn transformers_cache_is_deprecated_for_hf_home() {
        let lib = cache_library("transformers").expect("transformers");
        let old = lib
            .env
            .iter()
            .find(|e| e.var == "TRANSFORMERS_CACHE")
            .expect("listed");
        assert_eq!(old.deprecated_for.as_deref(), Some("HF_HOME"));
        let active: Vec<&str> = lib.active_env().map(|e| e.var.as_str()).collect();
        assert_eq!(active, ["HF_HOME"]);
    }

    #[test]
    fn install_time_downloads_are_marked() {
        assert!(cache_library("puppeteer").is_some_and(|l| l.downloads_at_install));
        assert!(
            cache_library("playwright").is_some_and(|l| l.downloads_at_install
                && l.ecosystems.contains(&Ecosystem::Node)
                && l.ecosystems.contains(&Ecosystem::Python))
        );
        assert!(cache_library("torch").is_some_and(|l| !l.downloads_at_install));
    }

    #[test]
    fn bad_cache_files_are_rejected() {
        let base = r#"
[[library]]
packages = ["foo"]
ecosystems = ["python"]
why = "w"
source = "s"
[[library.env]]
var = "FOO_HOME"
subdir = "foo"
why = "w"
"#;
        assert!(load_caches("c.toml", base).is_ok());
        let cases = [
            (
                base.replace("FOO_HOME", "foo-home"),
                "not an environment variable",
            ),
            (
                base.replace("subdir = \"foo\"", "subdir = \"/foo\""),
                "relative",
            ),
            (
                base.replace("subdir = \"foo\"", "subdir = \"../foo\""),
                "relative",
            ),
            (base.replace("[\"python\"]", "[]"), "no ecosystem"),
            (
                base.replace("why = \"w\"\n", "why = \"w\"\ndeprecated_for = \"BAR\"\n"),
                "deprecated",
            ),
            (
                format!("{base}{}", base.replace("[\"foo\"]", "[\"Foo\"]")),
                "already listed",
            ),
        ];
        for (text, expected) in cases {
            match load_caches("c.toml", &text) {
                Ok(_) => panic!("accepted: {text}"),
                Err(e) => assert!(
                    e.message.contains(expected),
                    "expected {expected:?}, got {e}"
                ),
            }
        }
        let e = load_caches("c.toml", "[[library]]\nkind = 1\n").expect_err("unknown field");
        assert_eq!(e.file, "c.toml");
        assert_eq!(e.line, 2, "{e}");
    }

    // ----- dependency files ---------------------------------------------

    #[test]
    fn requirements_txt() {
        let text = "\
# Production dependencies for the OCR worker
--index-url https://pypi.example.org/simple
--extra-index-url=https://mirror.example.org/simple
-r base.txt
-c constraints.txt
-f ./wheels

Flask==3.0.3  # web
gunicorn>=21.2,<23
transformers[torch]>=4.40
sentence_transformers ~= 2.7
numpy; python_version >= \"3.10\"
torch==2.3.1+cpu --hash=sha256:deadbeef \\
    --hash=sha256:cafef00d
Pillow
requests [socks] == 2.32.3
-e git+https://github.com/acme/kraken-fork.git@v5#egg=kraken
git+https://github.com/acme/easyocr-fork.git@main#egg=EasyOCR&subdirectory=src
https://files.example.org/pkgs/nltk-3.8.1-py3-none-any.whl
./vendor/local_pkg
https://example.org/archive/without-name
mylib @ https://example.org/mylib-1.0.tar.gz
pillow>=10
\tspacy==3.7.4\r
";
        assert_eq!(
            parse_python_requirements(text),
            [
                "flask",
                "gunicorn",
                "transformers",
                "sentence-transformers",
                "numpy",
                "torch",
                "pillow",
                "requests",
                "kraken",
                "easyocr",
                "nltk",
                "mylib",
                "spacy",
            ]
        );
    }

    #[test]
    fn requirements_edge_cases() {
        assert!(parse_python_requirements("").is_empty());
        assert!(parse_python_requirements("# only a comment\n\n   \n").is_empty());
        assert!(parse_python_requirements("\\").is_empty());
        assert_eq!(parse_python_requirements("torch\\"), ["torch"]);
        assert_eq!(
            parse_python_requirements("--editable=git+https://x/y#egg=numba"),
            ["numba"]
        );
        assert!(parse_python_requirements("-e .").is_empty());
        assert!(parse_python_requirements("é==1\n#egg=\n").is_empty());
    }

    #[test]
    fn pyproject_pep621_and_poetry() {
        let pep621 = r#"
[build-system]
requires = ["hatchling"]

[project]
name = "vision-api"
version = "0.4.0"
dependencies = [
    "fastapi>=0.110",
    "Sentence-Transformers[train]>=3; python_version >= '3.9'",
    "torch @ https://download.example.org/whl/cpu/torch-2.3.1-cp311-linux_x86_64.whl",
]

[project.optional-dependencies]
dev = ["pytest"]
"#;
        assert_eq!(
            parse_pyproject_dependencies(pep621),
            ["fastapi", "sentence-transformers", "torch"]
        );

        let poetry = r#"
[tool.poetry]
name = "ocr-service"
version = "1.2.0"

[tool.poetry.dependencies]
python = "^3.11"
easyocr = "^1.7"
matplotlib = { version = "^3.8", optional = true }
Numba = "*"

[tool.poetry.group.dev.dependencies]
black = "^24"
"#;
        assert_eq!(
            parse_pyproject_dependencies(poetry),
            ["easyocr", "matplotlib", "numba"]
        );
        assert!(parse_pyproject_dependencies("[project]\nname = \"x\"\n").is_empty());
    }

    #[test]
    fn invalid_pyproject_reports_position() {
        let text = "[project]\ndependencies = [\"torch\"\n";
        let e = try_parse_pyproject_dependencies(text).expect_err("invalid");
        assert!(e.line >= 2, "{e}");
        assert!(parse_pyproject_dependencies(text).is_empty());
    }

    #[test]
    fn package_json_runtime_dependencies_only() {
        let text = r#"{
  "name": "pdf-renderer",
  "version": "2.1.0",
  "private": true,
  "dependencies": {
    "express": "^4.19.2",
    "puppeteer": "^22.10.0",
    "@playwright/test": "1.44.1"
  },
  "devDependencies": {
    "jest": "^29.7.0",
    "eslint": "^9.4.0"
  }
}"#;
        assert_eq!(
            parse_package_json_dependencies(text),
            ["@playwright/test", "express", "puppeteer"]
        );
        assert!(parse_package_json_dependencies(r#"{"name": "x"}"#).is_empty());
        assert!(parse_package_json_dependencies("[1, 2]").is_empty());
        let e =
            try_parse_package_json_dependencies("{\n  \"dependencies\": {,}\n}").expect_err("bad");
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn pipfile_packages_only() {
        let text = r#"
[[source]]
url = "https://pypi.example.org/simple"
verify_ssl = true
name = "internal"

[packages]
django = "==5.0.6"
NLTK = "*"
"huggingface_hub" = {version = ">=0.23", extras = ["cli"]}

[dev-packages]
pytest = "*"

[requires]
python_version = "3.12"
"#;
        assert_eq!(parse_pipfile(text), ["django", "huggingface-hub", "nltk"]);
        assert!(try_parse_pipfile("[packages\n").is_err());
        assert!(parse_pipfile("[packages\n").is_empty());
    }

    #[test]
    fn odd_input_never_panics() {
        let inputs = [
            "",
            "\\",
            "#",
            "-",
            "@",
            ":",
            "/",
            "é",
            "a@",
            "@sha256:",
            "a:b:c/d",
            "[",
            "{",
            "\"",
            "x[",
            "x @",
            "x ; y",
            "#egg=",
            "-e",
            "--editable",
            "a-1.whl",
            "-1.whl",
            "\u{0}",
            "🦀==1",
            "[project]\ndependencies = [1, {a = 2}]",
            "[tool.poetry]\ndependencies = 3",
            "{\"dependencies\": [1]}",
            "[packages]\nx = 1",
        ];
        for input in inputs {
            let _ = profile_for(input);
            let _ = cache_library(input);
            let _ = parse_python_requirements(input);
            let _ = parse_pyproject_dependencies(input);
            let _ = parse_package_json_dependencies(input);
            let _ = parse_pipfile(input);
            let _ = normalize_package_name(input);
            for p in profiles() {
                let _ = p.user_for(input);
            }
        }
        assert_eq!(
            parse_pyproject_dependencies("[project]\ndependencies = [1, \"x\"]"),
            ["x"]
        );
    }

    #[test]
    fn normalisation_follows_pep_503() {
        assert_eq!(normalize_package_name("Foo__Bar.-baz"), "foo-bar-baz");
        assert_eq!(normalize_package_name(" torch "), "torch");
        assert_eq!(
            normalize_package_name("@Playwright/Test"),
            "@playwright/test"
        );
    }
}
