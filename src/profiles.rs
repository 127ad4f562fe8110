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
//! [`manifests`] lists the packages a project depends on, which is how the
//! cache rule finds the libraries in use.

pub mod manifests;

pub(crate) use manifests::line_col;
pub use manifests::{
    normalize_package_name, parse_package_json_dependencies, parse_pipfile,
    parse_pyproject_dependencies, parse_python_requirements,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// A kernel parameter the service needs in its own namespaces (Compose
/// `sysctls`). Only namespaced parameters are accepted: an engine refuses
/// the others.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sysctl {
    pub name: String,
    pub value: String,
    pub why: String,
}

impl Sysctl {
    /// A `net.*` parameter lives in the network namespace: a service that
    /// shares another's (`network_mode: host`, `service:`, `container:`)
    /// cannot set it.
    pub fn needs_own_network(&self) -> bool {
        self.name.starts_with("net.")
    }
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
    /// Kernel parameters written to the service's `sysctls`.
    #[serde(default)]
    pub sysctl: Vec<Sysctl>,
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
    built_in(&repository).map(|p| &**p)
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
        .find(|p| p.images.contains(&repository))
        .or_else(|| built_in(&repository))
}

/// The built-in profile with this id (its file stem).
pub fn profile_by_id(id: &str) -> Option<&'static Arc<ImageProfile>> {
    let i = IMAGE_FILES.iter().position(|(stem, _)| *stem == id)?;
    parsed(i)
}

/// The built-in profile listing `repository`. Only that profile is parsed:
/// a run that meets one known image would otherwise parse all twenty (half
/// of the start-up of a run on one file).
fn built_in(repository: &str) -> Option<&'static Arc<ImageProfile>> {
    static INDEX: OnceLock<std::collections::HashMap<String, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for (i, (_, text)) in IMAGE_FILES.iter().enumerate() {
            for image in listed_images(text) {
                m.entry(image).or_insert(i);
            }
        }
        m
    });
    parsed(*index.get(repository)?)
}

/// The profile of file `i`, parsed at its first use.
fn parsed(i: usize) -> Option<&'static Arc<ImageProfile>> {
    static PARSED: OnceLock<Vec<OnceLock<Option<Arc<ImageProfile>>>>> = OnceLock::new();
    let cells = PARSED.get_or_init(|| IMAGE_FILES.iter().map(|_| OnceLock::new()).collect());
    let (id, text) = IMAGE_FILES.get(i)?;
    cells[i]
        .get_or_init(|| parse_profile(id, text).ok().map(Arc::new))
        .as_ref()
}

/// The repositories of a profile's top-level `images = [...]` line, read
/// without a TOML parser. The schema writes `images` on one line; a test
/// checks this against the parsed profiles, so an index and the profiles
/// never disagree.
fn listed_images(text: &str) -> Vec<String> {
    let Some(line) = text
        .lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .find(|l| l.starts_with("images") && l["images".len()..].trim_start().starts_with('='))
    else {
        return Vec::new();
    };
    let Some((_, rest)) = line.split_once('[') else {
        return Vec::new();
    };
    let Some((list, _)) = rest.split_once(']') else {
        return Vec::new();
    };
    list.split(',')
        .map(|w| w.trim().trim_matches('"').to_string())
        .filter(|w| !w.is_empty())
        .collect()
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
    // Every library's packages, normalised once per run: a tree's
    // manifests ask for thousands of packages.
    static BY_PACKAGE: std::sync::OnceLock<HashMap<String, usize>> = std::sync::OnceLock::new();
    let libs = cache_libraries();
    let index = BY_PACKAGE.get_or_init(|| {
        let mut index = HashMap::new();
        for (i, lib) in libs.iter().enumerate() {
            for p in &lib.packages {
                index.entry(normalize_package_name(p)).or_insert(i);
            }
        }
        index
    });
    index.get(&wanted).and_then(|&i| libs.get(i))
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

    let mut sysctls = BTreeSet::new();
    for s in &p.sysctl {
        let name = s.name.as_str();
        let namespaced = [
            "net.",
            "kernel.msg",
            "kernel.sem",
            "kernel.shm",
            "fs.mqueue.",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        let well_formed = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !namespaced || !well_formed {
            return fail(
                name,
                format!("sysctl `{name}` is not a namespaced kernel parameter (net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*)"),
            );
        }
        if !sysctls.insert(name) {
            return fail(name, format!("sysctl `{name}` is listed twice"));
        }
        if s.value.trim().is_empty() || s.why.trim().is_empty() {
            return fail(name, format!("sysctl `{name}` needs a value and a why"));
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

#[cfg(test)]
mod tests;
