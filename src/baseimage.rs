//! Base-image knowledge: which family a `FROM` image belongs to, which users
//! it already has, and the command that really creates a user on it.
//!
//! The knowledge is data (`templates/base-images.toml`), parsed once at first
//! use, so that adding an image is a data change reviewed with its source
//! rather than a new `match` arm. Stage inheritance (`FROM builder`) is the
//! caller's business: this module only classifies image references.

use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::glob::TextGlobs;
use crate::profiles::{self, ImageProfile};
use std::ops::Range;

/// The data file (`templates/base-images.toml`), compiled in so the binary
/// needs nothing at run time: converted to JSON when harden is built
/// (build.rs), since the table is read at the first Dockerfile of every
/// run and parsing its TOML was a third of a run on one small project.
const DATA: &str = include_str!(concat!(env!("OUT_DIR"), "/base-images.json"));

/// Placeholders a `create_user` template may use; anything else is a data
/// error caught by [`knowledge`].
const PLACEHOLDERS: [&str; 4] = ["{name}", "{uid}", "{gid}", "{home}"];

/// Registry host names that all mean Docker Hub; normalised away so that
/// `docker.io/library/python` and `python` match the same rules.
const DOCKER_HUB: [&str; 4] = [
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
];

// ---------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------

/// A parsed image reference: `[registry/][namespace/]name[:tag][@digest]`.
///
/// Docker Hub references are normalised (`docker.io/library/python` becomes
/// repository `python` with no registry) so rules match one spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (with port), `None` for Docker Hub.
    pub registry: Option<String>,
    /// Lower-cased repository path, without `library/` for Hub official images.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference as written after `FROM`. Returns `None` for text
    /// that is not a reference, including unresolved `${ARG}` expansions,
    /// because guessing at those would classify the wrong image.
    pub fn parse(s: &str) -> Option<ImageRef> {
        let s = s.trim();
        if s.is_empty() || s.contains('$') || s.chars().any(char::is_whitespace) {
            return None;
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                if !valid_digest(digest) {
                    return None;
                }
                (rest, Some(digest.to_string()))
            }
            None => (s, None),
        };
        // The tag separator is the last ':' after the last '/', so a
        // registry port (`localhost:5000/x`) is never mistaken for a tag.
        let last_slash = rest.rfind('/');
        let (name, tag) = match rest.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
                let (name, tag) = rest.split_at(colon);
                (name, Some(tag.get(1..).unwrap_or("")))
            }
            _ => (rest, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return None;
            }
        }
        let mut parts: Vec<&str> = name.split('/').collect();
        let first = parts.first().copied().unwrap_or("");
        let has_registry =
            parts.len() > 1 && (first.contains('.') || first.contains(':') || first == "localhost");
        let mut registry = None;
        if has_registry {
            let host = parts.remove(0).to_ascii_lowercase();
            if !valid_registry(&host) {
                return None;
            }
            if !DOCKER_HUB.contains(&host.as_str()) {
                registry = Some(host);
            }
        }
        if parts.is_empty() {
            return None;
        }
        let mut components = Vec::with_capacity(parts.len());
        for part in parts {
            let part = part.to_ascii_lowercase();
            if !valid_path_component(&part) {
                return None;
            }
            components.push(part);
        }
        if registry.is_none()
            && components.len() == 2
            && components.first().is_some_and(|c| c == "library")
        {
            components.remove(0);
        }
        Some(ImageRef {
            registry,
            repository: components.join("/"),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The name rules match against: `registry/repository`, or just the
    /// repository for Docker Hub.
    pub fn full_name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// The tag rules match against: the tag, else `latest` (what Docker
    /// pulls), except for a digest-only reference whose tag is unknown.
    pub fn effective_tag(&self) -> &str {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => tag,
            (None, None) => "latest",
            (None, Some(_)) => "",
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn valid_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some((algo, hex)) => {
            !algo.is_empty()
                && !hex.is_empty()
                && algo
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
        }
        None => false,
    }
}

fn valid_tag(t: &str) -> bool {
    let mut bytes = t.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphanumeric() || b == b'_' => {}
        _ => return false,
    }
    t.len() <= 128 && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn valid_registry(h: &str) -> bool {
    !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

fn valid_path_component(c: &str) -> bool {
    !c.is_empty()
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

// ---------------------------------------------------------------------------
// Families and rules (the data model)
// ---------------------------------------------------------------------------

/// What a `RUN` line can expect to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Posix,
    None,
    Windows,
}

/// A family of base images that share the way users are created.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub name: String,
    pub shell: Shell,
    /// Command template with `{name}`, `{uid}`, `{gid}`, `{home}`.
    pub create_user: Option<String>,
    pub nologin: Option<String>,
    pub package_manager: Option<String>,
    /// For images without `/etc/passwd` (scratch): the value for `USER`.
    pub numeric_user: Option<String>,
    pub note: Option<String>,
    pub source: String,
}

impl Family {
    /// Whether a POSIX `RUN` line can execute on this family.
    pub fn has_shell(&self) -> bool {
        self.shell == Shell::Posix
    }
}

/// A user an image is known to ship, so the caller can reuse it or avoid
/// its UID (`useradd --uid 1000` fails on Ubuntu 23.04+).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExistingUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    repository: Vec<String>,
    tag: Option<Vec<String>>,
    tag_min_version: Option<String>,
    family: String,
    #[serde(default)]
    users: Vec<ExistingUser>,
    runs_as: Option<String>,
    drops_privileges: Option<String>,
    profile: Option<String>,
    note: Option<String>,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    family: Vec<Family>,
    rule: Vec<RawRule>,
}

/// A validated image rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub repository: Vec<String>,
    pub tag: Option<Vec<String>>,
    pub tag_min_version: Option<String>,
    /// Where `repository` and `tag` sit in [`Knowledge`]'s pattern sets.
    repository_at: Range<usize>,
    tag_at: Option<Range<usize>>,
    min_version: Option<Vec<u64>>,
    family: usize,
    pub users: Vec<ExistingUser>,
    pub runs_as: Option<String>,
    pub drops_privileges: Option<String>,
    /// The image profile (templates/images/) that says which user the
    /// image has and how its entrypoint drops root, so those facts live in
    /// one file.
    profile: Option<&'static ImageProfile>,
    pub note: Option<String>,
    pub source: String,
}

impl Rule {
    /// The users `image`, matched by this rule, is known to have.
    fn users_of(&self, image: &str) -> Vec<ExistingUser> {
        let Some(profile) = self.profile else {
            return self.users.clone();
        };
        profile
            .user_for(image)
            .map(|u| ExistingUser {
                name: u.name.to_string(),
                uid: u.uid,
                gid: u.gid,
                home: None,
            })
            .into_iter()
            .collect()
    }

    /// The tool the image's entrypoint drops root with, if it does.
    fn drops_privileges(&self) -> Option<String> {
        match self.profile {
            Some(profile) => profile.entrypoint_drops_privileges.clone(),
            None => self.drops_privileges.clone(),
        }
    }
}

/// The whole data file, validated.
#[derive(Debug)]
pub struct Knowledge {
    pub families: Vec<Family>,
    pub rules: Vec<Rule>,
    /// Every rule's repository patterns, then every rule's tag patterns,
    /// each compiled into one set matched once per image.
    repositories: TextGlobs,
    tags: TextGlobs,
}

impl Knowledge {
    /// The family with this name, if the data defines it.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// The family a rule resolves to.
    pub fn rule_family(&self, rule: &Rule) -> Option<&Family> {
        self.families.get(rule.family)
    }
}

/// The parsed data, or why it is unusable. Parsed once; the tests make sure
/// the shipped file always loads.
pub fn knowledge() -> Result<&'static Knowledge, &'static str> {
    static CELL: OnceLock<Result<Knowledge, String>> = OnceLock::new();
    CELL.get_or_init(|| {
        serde_json::from_str(DATA)
            .map_err(|e| format!("templates/base-images.toml: {e}"))
            .and_then(validate)
    })
    .as_ref()
    .map_err(String::as_str)
}

/// The table written as `templates/base-images.toml` is, validated.
#[cfg(test)]
fn load(text: &str) -> Result<Knowledge, String> {
    toml::from_str(text)
        .map_err(|e| format!("templates/base-images.toml: {e}"))
        .and_then(validate)
}

fn validate(raw: RawData) -> Result<Knowledge, String> {
    let mut families: Vec<Family> = Vec::with_capacity(raw.family.len());
    for family in raw.family {
        if families.iter().any(|f| f.name == family.name) {
            return Err(format!("family `{}` is defined twice", family.name));
        }
        if family.source.trim().is_empty() {
            return Err(format!("family `{}` has no source", family.name));
        }
        if let Some(template) = &family.create_user {
            if family.shell != Shell::Posix {
                return Err(format!(
                    "family `{}` has a create_user command but no POSIX shell to run it",
                    family.name
                ));
            }
            check_template(template).map_err(|e| format!("family `{}`: {e}", family.name))?;
        }
        families.push(family);
    }
    for needed in ["unknown", "scratch", "windows"] {
        if !families.iter().any(|f| f.name == needed) {
            return Err(format!("family `{needed}` is required but missing"));
        }
    }
    let mut rules: Vec<Rule> = Vec::with_capacity(raw.rule.len());
    let (mut repository_count, mut tag_count) = (0, 0);
    for rule in raw.rule {
        if rules.iter().any(|r| r.id == rule.id) {
            return Err(format!("rule `{}` is defined twice", rule.id));
        }
        let family = families
            .iter()
            .position(|f| f.name == rule.family)
            .ok_or_else(|| format!("rule `{}` names unknown family `{}`", rule.id, rule.family))?;
        if rule.source.trim().is_empty() {
            return Err(format!("rule `{}` has no source", rule.id));
        }
        if rule.repository.is_empty() || rule.repository.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "rule `{}` needs non-empty repository patterns",
                rule.id
            ));
        }
        if rule.tag.as_ref().is_some_and(|t| t.is_empty()) {
            return Err(format!("rule `{}` has an empty tag list", rule.id));
        }
        let min_version = match &rule.tag_min_version {
            Some(v) => Some(parse_version(v).ok_or_else(|| {
                format!("rule `{}`: tag_min_version `{v}` is not a version", rule.id)
            })?),
            None => None,
        };
        if let Some(runs_as) = &rule.runs_as {
            let known = rule.users.iter().any(|u| &u.name == runs_as)
                || runs_as.bytes().all(|b| b.is_ascii_digit());
            if !known {
                return Err(format!(
                    "rule `{}` runs as `{runs_as}`, which is neither numeric nor among its users",
                    rule.id
                ));
            }
        }
        let profile = match &rule.profile {
            Some(id) => {
                if !rule.users.is_empty() || rule.drops_privileges.is_some() {
                    return Err(format!(
                        "rule `{}` takes its users and privilege dropper from profile `{id}`: it cannot list its own",
                        rule.id
                    ));
                }
                let found = profiles::profile_by_id(id);
                Some(found.map(|p| &**p).ok_or_else(|| {
                    format!("rule `{}` names unknown image profile `{id}`", rule.id)
                })?)
            }
            None => None,
        };
        let repository_at = repository_count..repository_count + rule.repository.len();
        repository_count = repository_at.end;
        let tag_at = rule.tag.as_ref().map(|t| {
            let at = tag_count..tag_count + t.len();
            tag_count = at.end;
            at
        });
        rules.push(Rule {
            id: rule.id,
            repository: rule.repository,
            tag: rule.tag,
            repository_at,
            tag_at,
            tag_min_version: rule.tag_min_version,
            min_version,
            family,
            users: rule.users,
            runs_as: rule.runs_as,
            drops_privileges: rule.drops_privileges,
            profile,
            note: rule.note,
            source: rule.source,
        });
    }
    let repositories = TextGlobs::new(
        rules
            .iter()
            .flat_map(|r| r.repository.iter().map(String::as_str)),
    )?;
    let tags = TextGlobs::new(
        rules
            .iter()
            .flat_map(|r| r.tag.iter().flatten().map(String::as_str)),
    )?;
    Ok(Knowledge {
        families,
        rules,
        repositories,
        tags,
    })
}

/// Rejects templates with placeholders the renderer would leave behind.
fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = rest.get(open..).unwrap_or("");
        let close = after
            .find('}')
            .ok_or_else(|| "unclosed `{` in create_user".to_string())?;
        let placeholder = after.get(..=close).unwrap_or("");
        if !PLACEHOLDERS.contains(&placeholder) {
            return Err(format!(
                "unknown placeholder `{placeholder}` in create_user"
            ));
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    if !template.contains("{name}") || !template.contains("{uid}") {
        return Err("create_user must use {name} and {uid}".to_string());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------

/// What harden knows about a base image.
#[derive(Debug, Clone)]
pub struct BaseImage {
    pub family: &'static Family,
    /// The parsed reference, `None` when it could not be parsed.
    pub image: Option<ImageRef>,
    pub existing_users: Vec<ExistingUser>,
    /// The non-root user the image already runs as, if any.
    pub runs_as: Option<String>,
    /// The tool the entrypoint uses to drop root itself (gosu, su-exec).
    pub drops_privileges: Option<String>,
    pub windows: bool,
    /// Which rule matched and why, for notes shown to people.
    pub matched_rule: String,
    /// Extra advice from the rule (e.g. the UID 1000 clash on Ubuntu).
    pub note: Option<String>,
    pub source: String,
    /// Group ids the image already has, beyond its users' own.
    pub taken_gids: Vec<u32>,
    /// Where the image's own facts came from, when they were read from the
    /// image (the engine's store or a registry) rather than known by rule.
    pub learned: Option<String>,
    /// Why the image's own facts could not be read, when they were asked.
    pub unreadable: Option<String>,
}

impl BaseImage {
    /// What the image itself says, for an image no rule knows: its users
    /// and groups (so no id is taken twice), the user it already runs as,
    /// and the tool it has to create a user with, which picks the family
    /// whose command is used.
    pub fn learn(&mut self, f: &crate::image::facts::ImageFacts) {
        use crate::image::facts::UserTool;
        let Ok(data) = knowledge() else { return };
        self.existing_users = f
            .users
            .iter()
            .filter(|u| u.uid != 0)
            .map(|u| ExistingUser {
                name: u.name.clone(),
                uid: u.uid,
                gid: u.gid,
                home: Some(u.home.clone()).filter(|h| !h.is_empty()),
            })
            .collect();
        self.taken_gids = f.groups.iter().map(|g| g.gid).collect();
        self.runs_as = match (f.user.uid, &f.user.name) {
            (Some(0), _) => None,
            (_, Some(name)) if name != "root" => Some(name.clone()),
            _ if !f.user.spec.is_empty()
                && !matches!(f.user.spec.as_str(), "0" | "root" | "0:0") =>
            {
                Some(f.user.spec.clone())
            }
            _ => None,
        };
        let family = match (&f.shell, &f.user_tool) {
            (None, _) if self.existing_users.is_empty() => "scratch",
            (None, _) => "distroless",
            (Some(_), UserTool::Useradd) => "debian",
            (Some(_), UserTool::BusyboxAdduser) => "alpine",
            (Some(_), _) => "unknown",
        };
        if let Some(fam) = data.family(family) {
            self.family = fam;
            self.note = None;
        }
        let tool = match (&f.shell, &f.user_tool) {
            (None, _) => "no shell",
            (Some(_), UserTool::Useradd) => "useradd",
            (Some(_), UserTool::BusyboxAdduser) => "busybox adduser",
            (Some(_), _) => "a shell but no known user tool",
        };
        let user = match &self.runs_as {
            Some(u) => format!("runs as `{u}`"),
            None => "runs as root".to_string(),
        };
        self.matched_rule = format!(
            "{}; read from the image ({}): {user}, {} users, {tool}",
            self.matched_rule,
            f.source,
            self.existing_users.len()
        );
        self.learned = Some(f.source.clone());
    }

    /// This image as a Windows one, for an image no rule knows that the
    /// Dockerfile itself shows to be Windows (`why`): the user commands of
    /// a Linux family would only break its build.
    pub fn into_windows(self, image: &str, why: &str) -> BaseImage {
        let Some(family) = knowledge().ok().and_then(|d| d.family("windows")) else {
            return self;
        };
        BaseImage {
            family,
            windows: true,
            matched_rule: format!("{} → windows ({why})", image.trim()),
            note: family.note.clone(),
            source: family.source.clone(),
            ..self
        }
    }

    /// A known user by name.
    pub fn user_named(&self, name: &str) -> Option<&ExistingUser> {
        self.existing_users.iter().find(|u| u.name == name)
    }

    /// A known user holding this UID: creating another one with it fails.
    pub fn user_with_uid(&self, uid: u32) -> Option<&ExistingUser> {
        self.existing_users.iter().find(|u| u.uid == uid)
    }

    /// The first id at or above `preferred` that no known user holds as UID
    /// or GID, so one number can serve as both.
    pub fn free_id(&self, preferred: u32) -> u32 {
        let mut id = preferred;
        while self
            .existing_users
            .iter()
            .any(|u| u.uid == id || u.gid == id)
            || self.taken_gids.contains(&id)
        {
            match id.checked_add(1) {
                Some(next) => id = next,
                None => break,
            }
        }
        id
    }
}

/// Classifies an image reference as written after `FROM`. Never fails: an
/// image no rule knows falls back to the `unknown` family, with a reason.
/// Each image is classified once per run: a tree's Dockerfiles name a few
/// bases thousands of times. The memo is bounded: a compose file of tens of
/// thousands of services, each its own image, must not keep them all.
pub fn classify(image: &str) -> BaseImage {
    const REMEMBERED: usize = 1024;
    type Seen = std::sync::Mutex<crate::hash::Map<String, BaseImage>>;
    static SEEN: std::sync::OnceLock<Seen> = std::sync::OnceLock::new();
    let seen = SEEN.get_or_init(Seen::default);
    if let Some(known) = seen.lock().ok().and_then(|m| m.get(image).cloned()) {
        return known;
    }
    let found = classify_uncached(image);
    if let Ok(mut m) = seen.lock() {
        if m.len() < REMEMBERED {
            m.insert(image.to_string(), found.clone());
        }
    }
    found
}

fn classify_uncached(image: &str) -> BaseImage {
    let data = match knowledge() {
        Ok(data) => data,
        Err(e) => return fallback(image, e),
    };
    let trimmed = image.trim();
    let unknown = |why: String, parsed: Option<ImageRef>| {
        let family = data.family("unknown").unwrap_or_else(|| fallback_family());
        BaseImage {
            family,
            image: parsed,
            existing_users: Vec::new(),
            runs_as: None,
            drops_privileges: None,
            windows: false,
            matched_rule: format!("{trimmed} → unknown ({why})"),
            note: family.note.clone(),
            source: family.source.clone(),
            taken_gids: Vec::new(),
            learned: None,
            unreadable: None,
        }
    };
    if trimmed.contains('$') {
        return unknown(
            "unresolved build argument: the image is chosen at build time".to_string(),
            None,
        );
    }
    let Some(parsed) = ImageRef::parse(trimmed) else {
        return unknown("not a valid image reference".to_string(), None);
    };
    let name = parsed.full_name();
    let tag = parsed.effective_tag().to_ascii_lowercase();
    // A mirror or a local rebuild of a known image (`localhost/debian`,
    // `registry.example.com/docker-hub/library/python`) is known by its last name.
    let last = name.rsplit('/').next().unwrap_or(&name).to_string();
    let candidates: Vec<(&str, Option<&str>)> = if last != name {
        vec![
            (name.as_str(), None),
            (
                last.as_str(),
                Some("by the image's last name component: a mirror or a rebuild of it"),
            ),
        ]
    } else {
        vec![(name.as_str(), None)]
    };
    let tag_hits = data.tags.matches(&tag);
    let candidates: Vec<_> = candidates
        .into_iter()
        .map(|(n, why)| (n, why, data.repositories.matches(n)))
        .collect();
    for (rule, name, by_last, repository_hits) in candidates
        .iter()
        .flat_map(|(n, why, hits)| data.rules.iter().map(move |r| (r, *n, *why, hits)))
        .filter(|(r, _, why, _)| why.is_none() || !r.repository.iter().any(|p| p == "*"))
    {
        let hits = Hits {
            repository: repository_hits,
            tag: &tag_hits,
        };
        let Some(mut reasons) = rule_matches(rule, name, &tag, hits) else {
            continue;
        };
        if let Some(why) = by_last {
            reasons.push(why.to_string());
        }
        let Some(family) = data.rule_family(rule) else {
            continue;
        };
        return BaseImage {
            family,
            image: Some(parsed),
            existing_users: rule.users_of(trimmed),
            runs_as: rule.runs_as.clone(),
            drops_privileges: rule.drops_privileges(),
            windows: family.shell == Shell::Windows,
            matched_rule: format!(
                "{trimmed} → {} (rule `{}`: {})",
                family.name,
                rule.id,
                reasons.join(", ")
            ),
            note: rule.note.clone().or_else(|| family.note.clone()),
            source: rule.source.clone(),
            taken_gids: Vec::new(),
            learned: None,
            unreadable: None,
        };
    }
    unknown(
        "no rule knows this image; assuming a POSIX shell with useradd or busybox adduser"
            .to_string(),
        Some(parsed),
    )
}

/// Which patterns of [`Knowledge`]'s sets match the image's name and tag.
#[derive(Clone, Copy)]
struct Hits<'a> {
    repository: &'a [bool],
    tag: &'a [bool],
}

/// The first of `patterns` (at `at` in a set) that `hits` marks.
fn first_hit<'a>(patterns: &'a [String], at: &Range<usize>, hits: &[bool]) -> Option<&'a str> {
    let i = hits.get(at.clone())?.iter().position(|&h| h)?;
    patterns.get(i).map(String::as_str)
}

/// Why `rule` matches, or `None` when it does not.
fn rule_matches(rule: &Rule, name: &str, tag: &str, hits: Hits) -> Option<Vec<String>> {
    let mut reasons = Vec::new();
    let repo_pattern = first_hit(&rule.repository, &rule.repository_at, hits.repository)?;
    if repo_pattern == "*" {
        reasons.push("any repository".to_string());
    } else {
        reasons.push(format!("repository `{name}` matches `{repo_pattern}`"));
    }
    if let (Some(patterns), Some(at)) = (&rule.tag, &rule.tag_at) {
        let pattern = first_hit(patterns, at, hits.tag)?;
        reasons.push(format!("tag `{tag}` matches `{pattern}`"));
    }
    if let (Some(min), Some(min_text)) = (&rule.min_version, &rule.tag_min_version) {
        match parse_version(tag) {
            Some(version) if version_cmp(&version, min).is_lt() => return None,
            Some(_) => reasons.push(format!("tag `{tag}` is version {min_text} or later")),
            None if tag.is_empty() => return None,
            None => reasons.push(format!(
                "tag `{tag}` has no version number, taken as the current release (≥ {min_text})"
            )),
        }
    }
    Some(reasons)
}

/// The leading dotted number of a tag (`3.12-slim` → [3, 12]), if any.
fn parse_version(tag: &str) -> Option<Vec<u64>> {
    let end = tag
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tag.len());
    let head = tag.get(..end)?.trim_end_matches('.');
    if head.is_empty() || !head.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    head.split('.')
        .map(|part| part.parse::<u64>().ok())
        .collect()
}

/// Compares versions, padding the shorter with zeros (8 == 8.0).
fn version_cmp(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let len = a.len().max(b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            std::cmp::Ordering::Equal => continue,
            other => return other,
        }
    }
    std::cmp::Ordering::Equal
}

/// Used only if the compiled-in data failed to load (the tests prevent
/// that): a family that creates no user, so nothing wrong gets written.
fn fallback_family() -> &'static Family {
    static FALLBACK: OnceLock<Family> = OnceLock::new();
    FALLBACK.get_or_init(|| Family {
        name: "unknown".to_string(),
        shell: Shell::Posix,
        create_user: None,
        nologin: None,
        package_manager: None,
        numeric_user: None,
        note: Some("base-image data failed to load; no user command available".to_string()),
        source: "built-in fallback".to_string(),
    })
}

fn fallback(image: &str, error: &str) -> BaseImage {
    BaseImage {
        family: fallback_family(),
        image: ImageRef::parse(image),
        existing_users: Vec::new(),
        runs_as: None,
        drops_privileges: None,
        windows: false,
        matched_rule: format!(
            "{} → unknown (base-image data unusable: {error})",
            image.trim()
        ),
        note: None,
        source: "built-in fallback".to_string(),
        taken_gids: Vec::new(),
        learned: None,
        unreadable: None,
    }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

/// Whether `name` can go into a shell command unquoted and is accepted by
/// both shadow and busybox (portable user name, at most 32 bytes).
pub fn is_safe_user_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b == b'_')
        && name.len() <= 32
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Whether `home` is an absolute path that needs no shell quoting.
pub fn is_safe_home(home: &str) -> bool {
    home.starts_with('/')
        && home
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
        && !home.split('/').any(|c| c == "..")
}

/// The shell command (for one `RUN` line) that creates `name` with these ids
/// on `family`. `None` when the family has no shell or no way to create a
/// user, or when `name`/`home` would need quoting (callers choose them, so
/// refusing is safer than quoting into three different tools).
pub fn render_create_user(
    family: &Family,
    name: &str,
    uid: u32,
    gid: u32,
    home: &str,
) -> Option<String> {
    if !family.has_shell() || !is_safe_user_name(name) || !is_safe_home(home) {
        return None;
    }
    let template = family.create_user.as_deref()?;
    let uid = uid.to_string();
    let gid = gid.to_string();
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    // One pass, so a substituted value is never itself re-substituted.
    while let Some(open) = rest.find('{') {
        out.push_str(rest.get(..open)?);
        let after = rest.get(open..)?;
        let (value, len) = if after.starts_with("{name}") {
            (name, 6)
        } else if after.starts_with("{uid}") {
            (uid.as_str(), 5)
        } else if after.starts_with("{gid}") {
            (gid.as_str(), 5)
        } else if after.starts_with("{home}") {
            (home, 6)
        } else {
            ("{", 1)
        };
        out.push_str(value);
        rest = after.get(len..)?;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests;
