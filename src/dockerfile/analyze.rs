//! Dockerfile rules driver: which user the final stage runs as, which base
//! image family it builds on, and where new instructions may go.

use super::{Dockerfile, Instruction};
use crate::baseimage::{self, BaseImage};
use crate::source::Source;
use std::path::PathBuf;

/// What harden knows about a Dockerfile from outside it.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// The compose service that builds this Dockerfile, if any.
    pub service: Option<String>,
    /// What a created user is named after (`{service}` in `user-name`),
    /// when it is not `service`: the image several services build, or the
    /// folder.
    pub name: Option<String>,
    /// The name of the folder that holds the Dockerfile.
    pub folder: Option<String>,
    /// The UID to create a user with (1000 unless configured).
    pub uid: u32,
    /// The GID to create it with; `None`: the same as the UID.
    pub gid: Option<u32>,
    /// The `user-name` pattern (`{service}`, `{folder}`); empty: `{service}`.
    pub user_name: String,
    /// `USER uid:gid` instead of the name, where the ids are known.
    pub numeric_user: bool,
    /// Rules harden.toml skips or exempts this file from, with why.
    pub exempt: Vec<(String, crate::config::Exemption)>,
    /// The directory HOME should point to, when a carve-out offers one.
    pub home: Option<String>,
    /// `build.args` of the compose service, which override ARG defaults.
    pub build_args: Vec<(String, String)>,
    /// The stage the service runs (`build.target`), lowercase; the last
    /// stage when `None`.
    pub target: Option<String>,
    /// Directories to create and hand to the user (volume-backed carve-outs).
    pub dirs: Vec<String>,
    /// Of those, the ones the service mounted before harden: volumes that
    /// may already exist, holding files owned by root.
    pub existing_volumes: Vec<String>,
    /// The build context (the compose service's `build.context`, else the
    /// Dockerfile's folder): where the program's sources are looked for.
    pub context: Option<PathBuf>,
    /// Mountpoints of tmpfs carve-outs with the mode they need (runc gives
    /// a tmpfs its mountpoint's mode): (path, octal mode).
    pub tmpfs_dirs: Vec<(String, String)>,
    /// How to look up a base image no rule knows (harden.toml and the
    /// command line); `None`: its facts are not looked up.
    pub lookup: Option<crate::image::Settings>,
    /// Insert a root canary into the entry module (`fix --canary`).
    pub canary: bool,
}

impl Hints {
    /// The name of a user created for this Dockerfile.
    pub fn user_name(&self) -> String {
        let pattern = match self.user_name.as_str() {
            "" => crate::config::DEFAULT_USER_NAME,
            p => p,
        };
        let named = self.name.as_deref().or(self.service.as_deref());
        super::users::user_name(pattern, named, self.folder.as_deref())
    }

    /// Fill in what harden.toml says about the Dockerfile at `path`.
    pub fn configure(&mut self, config: &crate::config::Config, path: &std::path::Path) {
        self.uid = config.uid;
        self.gid = config.gid;
        self.user_name = config.user_name.clone();
        self.numeric_user = config.numeric_user;
        self.canary = config.canary;
        self.exempt = config.exemptions(path, self.service.as_deref());
        self.lookup = Some(config.lookup.clone());
    }
}

/// Why a Dockerfile whose final base no rule knows is a Windows one: the
/// backtick escape directive (used for Windows paths), or another stage built
/// on a known Windows image (all stages of one build share its platform).
fn windows_evidence(df: &Dockerfile) -> Option<String> {
    if df.escape == '`' {
        return Some(
            "the `escape` directive sets the backtick, the Windows convention".to_string(),
        );
    }
    df.stages.iter().find_map(|s| {
        let b = baseimage::classify(&s.resolved_image);
        b.windows
            .then(|| format!("stage FROM {} is a Windows image", s.image))
    })
}

/// The parsed Dockerfile with what the rules share.
pub struct DfCtx<'a> {
    pub src: &'a Source,
    pub df: &'a Dockerfile,
    pub hints: &'a Hints,
    /// The final stage and the stages it builds on, oldest first.
    pub chain: Vec<usize>,
    pub base: BaseImage,
    /// `# harden: allow RULE -- reason` comments: (rules, reason, line).
    pub exceptions: Vec<(Vec<String>, Option<String>, usize)>,
    /// The rules the Dockerfile is exempted from, as the engine decided
    /// once (from harden.toml and the comments above).
    pub exempt: Vec<&'static str>,
}

/// Instructions that describe how the image runs rather than what it
/// contains; they stay at the end of the stage, after a new `USER`.
const TRAILING: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "STOPSIGNAL",
    "ONBUILD",
    "MAINTAINER",
];

impl<'a> DfCtx<'a> {
    pub fn new(src: &'a Source, df: &'a Dockerfile, hints: &'a Hints) -> Option<Self> {
        let last = run_stage(df, hints.target.as_deref())?;
        let chain = df.chain(last);
        let root = df.stages.get(*chain.first()?)?;
        // `FROM ${BASE}` with no default expands to nothing: classify what
        // was written, so notes say the image is chosen at build time.
        // Build arguments from the compose file win over ARG defaults.
        let with_args = substitute_args(&root.image, &hints.build_args);
        let image = if with_args.as_deref().is_some_and(|i| !i.contains('$')) {
            with_args.as_deref().unwrap_or_default()
        } else if root.resolved_image.trim().is_empty() {
            &root.image
        } else {
            &root.resolved_image
        };
        let mut base = baseimage::classify(image);
        if base.family.name == "unknown" {
            if let Some(why) = windows_evidence(df) {
                base = base.into_windows(image, &why);
            }
        }
        // An image no rule knows says itself which users it has, which it
        // runs as and how a user is created on it.
        if base.family.name == "unknown" && base.image.is_some() {
            if let Some(settings) = &hints.lookup {
                match crate::image::lookup(image.trim(), settings) {
                    Ok(f) => base.learn(&f),
                    Err(unknown) => base.unreadable = Some(unknown.to_string()),
                }
            }
        }
        let exceptions = df
            .comments
            .iter()
            .filter(|c| !c.in_continuation)
            .filter_map(|c| parse_exception(&c.text).map(|(r, why)| (r, why, c.line)))
            .collect();
        Some(DfCtx {
            src,
            df,
            hints,
            chain,
            base,
            exceptions,
            exempt: Vec::new(),
        })
    }

    /// How notes name the final stage.
    pub fn subject(&self) -> String {
        let stage = &self.df.stages[self.final_stage()];
        let which = if self.final_stage() + 1 == self.df.stages.len() {
            "final stage"
        } else {
            "build target stage"
        };
        match &stage.name {
            Some(n) => format!("{which} `{n}` (FROM {})", stage.image),
            None => format!("{which} (FROM {})", stage.image),
        }
    }

    pub fn final_stage(&self) -> usize {
        self.chain.last().copied().unwrap_or(0)
    }

    /// Instructions of the final stage and of the stages it builds on, in
    /// build order, with their indices.
    pub fn chain_instructions(&self) -> impl Iterator<Item = (usize, &'a Instruction)> + '_ {
        self.chain.iter().flat_map(move |s| {
            let r = self.df.stages[*s].instructions.clone();
            r.map(move |i| (i, &self.df.instructions[i]))
        })
    }

    /// The home directory to give the user: a carve-out when the plan has one.
    pub fn home(&self) -> String {
        self.hints
            .home
            .clone()
            .unwrap_or_else(|| "/tmp".to_string())
    }

    /// Whether the Dockerfile is exempted from `rule`: asked only by a rule
    /// that writes another rule's lines (the engine runs no exempted rule).
    pub fn allows(&self, rule: &str) -> bool {
        self.exempt.contains(&rule)
    }

    /// Whether a `# harden: allow` comment names `rule` (or `all`).
    pub fn excepted(&self, rule: &str) -> bool {
        self.exceptions
            .iter()
            .any(|(r, _, _)| r.iter().any(|x| x == rule || x == "all"))
    }

    /// Index of the instruction new lines go after: the last one of the
    /// final stage that is not part of its trailing run-time metadata.
    pub fn insertion_instruction(&self) -> usize {
        let stage = &self.df.stages[self.final_stage()];
        let mut at = stage.from;
        for i in stage.instructions.clone() {
            if !TRAILING.contains(&self.df.instructions[i].keyword.as_str()) {
                at = i;
            }
        }
        at
    }

    /// Byte offset of the start of the line after instruction `i`, and
    /// whether a line ending must come first (the file's last line has none).
    pub fn after_instruction(&self, i: usize) -> (usize, bool) {
        let line = self.df.instructions[i].end_line;
        let at = self.src.line_end_incl(line);
        let needs_eol = at == self.src.text.len() && !self.src.text.ends_with('\n');
        (at, needs_eol)
    }

    /// Where a RUN that makes `dirs` must go when the final stage declares
    /// one of them with a VOLUME at or before instruction `at`: the start of
    /// that VOLUME's line, since the classic builder and Buildah discard
    /// what a later step changes in a declared volume. `None`: nothing in
    /// the way.
    pub fn before_volume(&self, dirs: &[String], at: usize) -> Option<usize> {
        let stage = &self.df.stages[self.final_stage()];
        stage
            .instructions
            .clone()
            .filter(|&i| i <= at)
            .map(|i| &self.df.instructions[i])
            .find(|ins| {
                ins.keyword == "VOLUME"
                    && ins
                        .args
                        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '"'))
                        .any(|w| {
                            let w = w.trim_end_matches('/');
                            !w.is_empty() && dirs.iter().any(|d| d.trim_end_matches('/') == w)
                        })
            })
            .map(|ins| self.src.line_start(ins.line))
    }

    /// A shell command split over lines at ` && `, with the file's escape
    /// character and line ending, as the body of a `RUN`.
    pub fn run_lines(&self, command: &str) -> String {
        let eol = self.df.eol;
        let esc = self.df.escape;
        command
            .split(" && ")
            .collect::<Vec<_>>()
            .join(&format!(" {esc}{eol} && "))
    }
}

/// `harden: allow root-user, implicit-home -- reason` → (rules, reason).
fn parse_exception(comment: &str) -> Option<(Vec<String>, Option<String>)> {
    let rest = comment.strip_prefix("harden:")?.trim_start();
    let rest = rest.strip_prefix("allow")?;
    let (rules, reason) = match rest.split_once("--") {
        Some((r, why)) => (r, Some(why.trim().to_string()).filter(|w| !w.is_empty())),
        None => (rest, None),
    };
    let rules: Vec<String> = rules
        .split([',', ' '])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    Some((rules, reason))
}

/// `image` with `$NAME` / `${NAME}` / `${NAME:-default}` replaced by the
/// build arguments that name them; `None` when none applies.
fn substitute_args(image: &str, args: &[(String, String)]) -> Option<String> {
    if args.is_empty() || !image.contains('$') {
        return None;
    }
    let mut out = image.to_string();
    let mut changed = false;
    for (name, value) in args {
        for pattern in [format!("${{{name}}}"), format!("${name}")] {
            if out.contains(&pattern) {
                out = out.replace(&pattern, value);
                changed = true;
            }
        }
        // `${NAME:-default}` and `${NAME-default}`.
        while let Some(start) = out
            .find(&format!("${{{name}:-"))
            .or_else(|| out.find(&format!("${{{name}-")))
        {
            let Some(len) = out[start..].find('}') else {
                break;
            };
            out.replace_range(start..start + len + 1, value);
            changed = true;
        }
    }
    changed.then_some(out)
}

/// The stage a container runs: the one `build.target` names, else the last.
pub fn run_stage(df: &Dockerfile, target: Option<&str>) -> Option<usize> {
    target
        .and_then(|t| df.stages.iter().position(|s| s.name.as_deref() == Some(t)))
        .or_else(|| df.stages.len().checked_sub(1))
}

#[cfg(test)]
mod tests {
    use super::{parse_exception, DfCtx, Hints};
    use crate::source::Source;

    fn base_of(text: &str) -> crate::baseimage::BaseImage {
        let src = Source::new("Dockerfile".into(), "Dockerfile".into(), text.into());
        let df = crate::dockerfile::parse(text).expect("lexes");
        let hints = Hints::default();
        DfCtx::new(&src, &df, &hints).expect("has a stage").base
    }

    #[test]
    fn from_a_build_argument_without_default_is_named_as_written() {
        let b = base_of("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app /app\n");
        assert!(
            b.matched_rule
                .starts_with("${BASE_IMAGE} → unknown (unresolved build argument"),
            "{}",
            b.matched_rule
        );
        assert!(!b.windows);
    }

    #[test]
    fn windows_evidence_only_for_unknown_final_bases() {
        let escape = base_of("# escape=`\nFROM acme/agent:3\nCMD [\"agent.exe\"]\n");
        assert!(escape.windows, "{}", escape.matched_rule);
        let known = base_of("# escape=`\nFROM debian:bookworm-slim\nCMD [\"agent\"]\n");
        assert!(!known.windows, "{}", known.matched_rule);
        let linux = base_of("FROM golang:1.23 AS build\nFROM acme/runtime:2\nCMD [\"/app\"]\n");
        assert!(!linux.windows, "{}", linux.matched_rule);
    }

    #[test]
    fn exception_comments() {
        assert_eq!(
            parse_exception("harden: allow root-user -- the entrypoint drops to uid 999"),
            Some((
                vec!["root-user".into()],
                Some("the entrypoint drops to uid 999".into())
            ))
        );
        assert_eq!(
            parse_exception("harden: allow root-user, implicit-home"),
            Some((vec!["root-user".into(), "implicit-home".into()], None))
        );
        assert_eq!(
            parse_exception("harden: allow root-user --  "),
            Some((vec!["root-user".into()], None))
        );
        assert_eq!(parse_exception("install deps"), None);
    }
}
