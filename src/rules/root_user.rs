//! `root-user`: a process running as root in the container is root on the
//! host's kernel, one bug away from the host. Compose services that say
//! `user: root` are reported; Dockerfiles get a non-root `USER`.

use super::{Output, RuleInfo};
use crate::baseimage;
use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::dockerfile::analyze::DfCtx;
use crate::dockerfile::Form;
use crate::edit::Edit;
use crate::finding::Finding;
use crate::plan::ServicePlan;

pub const NAME: &str = "root-user";

pub const INFO: RuleInfo = RuleInfo {
    name: NAME,
    summary: "the container's process runs as root",
    explanation: "A process that runs as uid 0 in a container shares uid 0 with the host \
kernel: a container escape or a writable host mount makes it root on the host. The final \
stage of every Dockerfile should end with a non-root `USER` (CIS Docker Benchmark 4.1), \
created with the command the base image has, and no compose service should override it \
with `user: root`.",
    fix: "create or reuse a non-root user and switch to it",
};

/// `root`, `0`, `root:root`, `0:0`, `0:1000` ...: the user part is root.
pub fn is_root_user(spec: &str) -> bool {
    let user = spec.trim().split(':').next().unwrap_or("").trim();
    user == "root" || user == "0"
}

pub fn check_compose(ctx: &Ctx, svc: &Service, plan: &ServicePlan, out: &mut Output) {
    if svc.allows(NAME) {
        return;
    }
    if let Some((user, why)) = &plan.user {
        let image = svc
            .scalar("image")
            .and_then(|(n, _)| n.as_str())
            .unwrap_or("");
        out.findings.push(svc.finding(
            NAME,
            format!(
                "service `{}` runs `{image}` as root, though the image can run as a non-root user",
                svc.name
            ),
        ));
        if let Some(e) = ctx.add_entry(
            svc,
            "user",
            &crate::compose::patch::NewValue::Scalar(format!("\"{user}\"")),
            out,
        ) {
            out.edits.push(e);
            out.note(
                &format!("service {}", svc.name),
                NAME,
                format!("`user: \"{user}\"`: {why}"),
            );
            // An image whose entrypoint chowns its data to its user left
            // existing volumes owned by that user already.
            let chowned = plan
                .profile
                .as_ref()
                .is_some_and(|p| p.entrypoint_drops_privileges.is_some());
            if let Some(n) = crate::migration::note(svc.name, user, &plan.existing_volume_dirs)
                .filter(|_| !chowned)
            {
                out.review(&format!("service {}", svc.name), NAME, n);
            }
            // Bind mounts over the image's data directories keep the host's
            // ownership: the entrypoint that used to chown them as root no
            // longer can, and a host directory that does not exist yet is
            // created by Docker owned by root. (Other bind mounts, such as a
            // config file, are only read.)
            let data_dirs: Vec<&str> = plan
                .profile
                .iter()
                .flat_map(|p| p.write.iter().map(|w| w.path.as_str()))
                .collect();
            let binds: Vec<String> = crate::rules::unmounted_write_path::mounts(ctx, svc)
                .into_iter()
                .filter(|m| !m.named && !m.tmpfs && !m.read_only)
                .filter(|m| {
                    data_dirs
                        .iter()
                        .any(|d| m.target.trim_end_matches('/') == d.trim_end_matches('/'))
                })
                .map(|m| m.target)
                .collect();
            if !binds.is_empty() {
                out.review(
                    &format!("service {}", svc.name),
                    NAME,
                    format!(
                        "{} {} mounted from the host: its owner stays the host directory's (a missing one is created by Docker owned by root), so make it owned by `{user}` on the host (`chown -R {user} <host directory>`) before starting the service",
                        binds.join(", "),
                        if binds.len() == 1 { "is" } else { "are" }
                    ),
                );
            }
        }
        return;
    }
    if let Some((v, (line, col))) = svc.scalar("user") {
        if let Some(u) = v.as_str() {
            if is_root_user(u) {
                out.findings.push(
                    Finding::new(
                        NAME,
                        line,
                        col,
                        format!("service `{}` runs as root (`user: {u}`)", svc.name),
                    )
                    .report_only(),
                );
                out.review(
                    &format!("service {}", svc.name),
                    NAME,
                    format!("`user: {u}` is left as it is: set a non-root user the image has, or remove it so the image's USER applies"),
                );
            }
        }
    }
}

/// A user created by a `useradd`/`adduser` in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUser {
    pub name: String,
    pub uid: Option<u32>,
    /// The command creates a home directory (`useradd -m`, `adduser`
    /// without `-H`/`--no-create-home`).
    pub has_home: bool,
    /// 1-based line of the RUN that creates it.
    pub line: usize,
}

/// Options of useradd, busybox adduser and Debian's adduser that take a value.
const VALUE_FLAGS: &[&str] = &[
    "-u",
    "--uid",
    "-g",
    "--gid",
    "-G",
    "--groups",
    "-d",
    "--home-dir",
    "--home",
    "-h",
    "-s",
    "--shell",
    "-c",
    "--comment",
    "--gecos",
    "-k",
    "--skel",
    "-K",
    "--key",
    "-e",
    "--expiredate",
    "-f",
    "--inactive",
    "-p",
    "--password",
    "-b",
    "--base-dir",
    "-Z",
    "--selinux-user",
    "--ingroup",
    "--firstuid",
    "--lastuid",
    "-R",
    "--root",
    "-P",
    "--prefix",
];

/// Users created by shell commands in `script`.
pub fn users_created_by(script: &str, line: usize) -> Vec<CreatedUser> {
    let mut out = Vec::new();
    let cleaned = script.replace(['\\', '`'], " ");
    for cmd in cleaned.split(['&', ';', '|', '\n', '(', ')']) {
        let mut words = cmd.split_whitespace().peekable();
        // `sudo`, `exec` and friends in front do not change the command.
        while words
            .peek()
            .is_some_and(|w| matches!(*w, "sudo" | "exec" | "command" | "then" | "do" | "else"))
        {
            words.next();
        }
        let Some(tool) = words.next() else { continue };
        let tool = tool.rsplit('/').next().unwrap_or(tool);
        if tool != "useradd" && tool != "adduser" {
            continue;
        }
        let mut uid = None;
        let mut name = None;
        // useradd creates no home unless asked; both adduser tools do unless told not to.
        let mut has_home = tool == "adduser";
        while let Some(w) = words.next() {
            match w {
                "-m" | "--create-home" => has_home = true,
                "-M" | "--no-create-home" | "-H" => has_home = false,
                // A home the author chose (`-d /data/git`) is theirs to keep,
                // created or not: HOME is not pointed elsewhere.
                _ if w.starts_with("--home") || w == "-d" || (tool == "adduser" && w == "-h") => {
                    has_home = true
                }
                _ => {}
            }
            if let Some((flag, value)) = w.split_once('=').filter(|(f, _)| f.starts_with("--")) {
                if flag == "--uid" {
                    uid = value.parse().ok();
                }
                continue;
            }
            if VALUE_FLAGS.contains(&w) {
                let v = words.next();
                if w == "-u" || w == "--uid" {
                    uid = v.and_then(|v| v.trim_matches(['"', '\'']).parse().ok());
                }
                continue;
            }
            if w.starts_with('-') {
                continue;
            }
            name = Some(w.trim_matches(['"', '\'']).to_string());
            break;
        }
        // Only a real user name: not root, not a number, not a variable.
        if let Some(name) = name.filter(|n| baseimage::is_safe_user_name(n) && !is_root_user(n)) {
            out.push(CreatedUser {
                name,
                uid,
                line,
                has_home,
            });
        }
    }
    out
}

/// The user name harden creates: the service's name (or the folder's),
/// made a valid user name.
pub fn user_name_for(hint: Option<&str>) -> String {
    let mut name: String = hint
        .unwrap_or("")
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_string();
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        name = format!(
            "app{}",
            if name.is_empty() {
                String::new()
            } else {
                format!("-{name}")
            }
        );
    }
    name.truncate(32);
    let name = name.trim_end_matches('-').to_string();
    // A service or folder named `root` must not make the user root.
    if name == "root" {
        return "app-root".to_string();
    }
    if baseimage::is_safe_user_name(&name) {
        name
    } else {
        "app".to_string()
    }
}

/// How the final stage ends up running.
enum Current {
    /// A non-root USER is in effect.
    NonRoot,
    /// The last USER is root, after an earlier non-root one.
    BackToRoot {
        user_line: usize,
        earlier: Option<String>,
    },
    /// No USER anywhere in the chain.
    Unset,
    /// The last USER names a build argument (`USER $UID`) whose default is
    /// root: the author chose to decide the user at build time, so a USER
    /// after it would override that choice (and may name a user that the
    /// same build argument kept from being created).
    RootByBuildArg { user_line: usize, written: String },
}

fn current_user(ctx: &DfCtx) -> Current {
    let mut last: Option<(usize, String, String)> = None;
    let mut last_non_root: Option<String> = None;
    for (i, ins) in ctx.chain_instructions() {
        if ins.keyword == "USER" {
            let u = ctx.df.resolve_at(i, &ins.args).trim().to_string();
            if !is_root_user(&u) {
                last_non_root = Some(u.clone());
            }
            last = Some((ins.line, u, ins.args.trim().to_string()));
        }
    }
    match last {
        None => Current::Unset,
        Some((_, u, _)) if !is_root_user(&u) => Current::NonRoot,
        Some((line, _, written)) if written.contains('$') => Current::RootByBuildArg {
            user_line: line,
            written,
        },
        Some((line, _, _)) => Current::BackToRoot {
            user_line: line,
            earlier: last_non_root,
        },
    }
}

/// The final stage's ENTRYPOINT is set in the Dockerfile (so the base
/// image's privilege-dropping entrypoint no longer runs).
fn overrides_entrypoint(ctx: &DfCtx) -> bool {
    ctx.chain_instructions()
        .any(|(_, i)| i.keyword == "ENTRYPOINT")
}

/// UID for a user harden creates when nothing else is configured.
const DEFAULT_UID: u32 = crate::config::DEFAULT_UID;

/// A privilege-dropping tool the stage itself installs or starts with
/// (gosu, su-exec, setpriv, s6-overlay's /init): the author starts as root
/// on purpose and switches user later.
pub fn drops_privileges_itself(
    df: &crate::dockerfile::Dockerfile,
    chain: &[usize],
) -> Option<&'static str> {
    const TOOLS: &[&str] = &["gosu", "su-exec", "setpriv", "s6-setuidgid", "chpst"];
    let instructions = chain
        .iter()
        .filter_map(|s| df.stages.get(*s))
        .flat_map(|s| df.instructions[s.instructions.clone()].iter());
    for ins in instructions {
        let words: Vec<&str> = match &ins.form {
            Form::Exec(v) => v.iter().map(String::as_str).collect(),
            Form::Shell => ins.args.split_whitespace().collect(),
        };
        let program = |w: &str| {
            w.trim_matches(['"', '\'', ';', '&'])
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string()
        };
        match ins.keyword.as_str() {
            "ENTRYPOINT" | "CMD" => {
                if let Some(t) = words
                    .iter()
                    .find_map(|w| TOOLS.iter().find(|t| program(w) == **t))
                {
                    return Some(t);
                }
                if words.first().is_some_and(|w| *w == "/init") {
                    return Some("s6-overlay's /init");
                }
            }
            // Installing one is a clear sign it is used at start-up.
            "RUN" if words.iter().any(|w| matches!(*w, "install" | "add")) => {
                if let Some(t) = words
                    .iter()
                    .find_map(|w| TOOLS[..2].iter().find(|t| program(w) == **t))
                {
                    return Some(t);
                }
            }
            _ => {}
        }
    }
    None
}

/// The home directory to give the user: a carve-out when the plan has one.
pub fn home(ctx: &DfCtx) -> String {
    ctx.hints.home.clone().unwrap_or_else(|| "/tmp".to_string())
}

pub fn check_dockerfile(ctx: &DfCtx, out: &mut Output) {
    let stage = &ctx.df.stages[ctx.final_stage()];
    let from = &ctx.df.instructions[stage.from];
    let subject = ctx.subject();
    let base = &ctx.base;
    if base.windows {
        let why = format!(
            "Windows base image ({}): skipped, the baseline covers Linux containers",
            base.matched_rule
        );
        out.info(&subject, NAME, why);
        return;
    }
    if ctx.allows(NAME) {
        return;
    }
    out.info(
        &subject,
        NAME,
        format!("base image family: {}", base.matched_rule),
    );
    let (root_line, restore) = match current_user(ctx) {
        Current::NonRoot => return prepare_dirs_for_existing_user(ctx, out),
        Current::BackToRoot { user_line, earlier } => (Some(user_line), earlier),
        Current::RootByBuildArg { user_line, written } => {
            out.findings.push(
                Finding::new(
                    NAME,
                    user_line,
                    1,
                    format!("`USER {written}` is root with the default build arguments"),
                )
                .report_only(),
            );
            out.review(
                &subject,
                NAME,
                format!("`USER {written}` (line {user_line}) resolves to root with the build arguments' defaults; no USER added, since the build arguments choose the user: give them a non-root default (and make sure that user is created)"),
            );
            return;
        }
        Current::Unset => {
            if let Some(u) = &base.runs_as {
                out.info(
                    &subject,
                    NAME,
                    format!("the base image already runs as non-root user `{u}`"),
                );
                return;
            }
            if let Some(tool) = drops_privileges_itself(ctx.df, &ctx.chain) {
                out.review(
                    &subject,
                    NAME,
                    format!("no USER added: the stage starts as root on purpose and drops privileges with {tool}; a USER would break that. Check that the program it starts runs as a non-root user"),
                );
                return;
            }
            if let Some(tool) = base
                .drops_privileges
                .as_deref()
                .filter(|_| !overrides_entrypoint(ctx))
            {
                out.review(
                    &subject,
                    NAME,
                    format!("no USER added: the image's entrypoint starts as root and drops privileges itself ({tool}); a USER would break it, so the compose service gets the image's user or the capabilities that needs"),
                );
                return;
            }
            (None, None)
        }
    };
    let finding = match root_line {
        Some(l) => Finding::new(
            NAME,
            l,
            1,
            "the final stage switches back to `USER root` and runs as root",
        ),
        None => Finding::new(
            NAME,
            from.line,
            1,
            "the final stage runs as root (no non-root USER)",
        ),
    };

    let at = ctx.insertion_instruction();
    if ctx.df.instructions[at].eof_continuation {
        out.findings.push(finding.report_only());
        out.review(
            &subject,
            NAME,
            "the file ends inside a continuation line; end it, then run harden again",
        );
        return;
    }
    let Some(choice) = choose_user(ctx, restore, out) else {
        out.findings.push(finding.report_only());
        return;
    };
    out.findings.push(finding);

    let eol = ctx.df.eol;
    let mut text = String::new();
    if let Some(cmd) = &choice.create {
        text.push_str(&format!("RUN {}{eol}", ctx.run_lines(cmd)));
    } else if let Some(cmd) = dirs_command(ctx, choice.owner.as_deref().unwrap_or(&choice.user)) {
        text.push_str(&format!("RUN {}{eol}", ctx.run_lines(&cmd)));
        out.note(&subject, NAME, dirs_why(ctx));
    }
    out.note(&subject, NAME, choice.why.clone());
    if choice.needs_home {
        if let Some(line) = super::implicit_home::home_line(ctx, out, &choice.user) {
            text.push_str(&line);
            text.push_str(eol);
        }
    }
    // A numeric USER (harden.toml `numeric-user`) lets Kubernetes'
    // runAsNonRoot verify the user without reading the image's passwd.
    let user = match (&choice.ids, ctx.hints.numeric_user) {
        (Some(ids), true) => {
            out.note(
                &subject,
                NAME,
                format!(
                    "`USER {ids}` is `{}` by number (numeric-user in harden.toml)",
                    choice.user
                ),
            );
            ids.as_str()
        }
        _ => choice.user.as_str(),
    };
    text.push_str(&format!("USER {user}{eol}"));
    let (offset, needs_eol) = ctx.after_instruction(at);
    if needs_eol {
        text = format!("{eol}{}", text.strip_suffix(eol).unwrap_or(&text));
    }
    out.edits.push(Edit::insert(offset, text));
    keep_later_stages_as_root(ctx, &choice.user, out);
    if let Some(service) = &ctx.hints.service {
        let owner = choice.owner.clone().unwrap_or_else(|| choice.user.clone());
        if let Some(n) = crate::migration::note(service, &owner, &ctx.hints.existing_volumes) {
            out.review(&subject, NAME, n);
        }
    }
    let copies = ctx.df.instructions[stage.instructions.clone()]
        .iter()
        .any(|i| {
            matches!(i.keyword.as_str(), "COPY" | "ADD")
                && !i.flags.iter().any(|f| f.starts_with("--chown"))
        });
    if copies
        && choice
            .user
            .chars()
            .next()
            .is_some_and(|c| !c.is_ascii_digit())
    {
        out.review(
            &subject,
            NAME,
            format!("files added with COPY/ADD belong to root and are read-only for `{}`; where the program writes to one of them, add `--chown={}` to that COPY", choice.user, choice.user),
        );
    }
}

/// When the stage that gets a USER is a build target other stages build on
/// (`FROM dev AS build`), those stages would now run their RUN steps as the
/// new user: a `USER root` right after their FROM keeps them as they were.
fn keep_later_stages_as_root(ctx: &DfCtx, user: &str, out: &mut Output) {
    let run = ctx.final_stage();
    for stage in ctx.df.stages.iter().filter(|s| s.parent == Some(run)) {
        let first_user_or_run = ctx.df.instructions[stage.instructions.clone()]
            .iter()
            .find(|i| matches!(i.keyword.as_str(), "USER" | "RUN"));
        if first_user_or_run.is_none_or(|i| i.keyword == "USER") {
            continue;
        }
        let (offset, needs_eol) = ctx.after_instruction(stage.from);
        let eol = ctx.df.eol;
        let line = if needs_eol {
            format!("{eol}USER root")
        } else {
            format!("USER root{eol}")
        };
        out.edits.push(Edit::insert(offset, line));
        let name = stage
            .name
            .as_deref()
            .map(|n| format!(" `{n}`"))
            .unwrap_or_default();
        out.note(
            &ctx.subject(),
            NAME,
            format!("`USER root` at the start of stage{name}, which builds on this one: its RUN steps keep running as root, not as `{user}`"),
        );
    }
}

/// The user the final stage switches to, and how it comes to exist.
struct Choice {
    user: String,
    /// The shell command that creates it, when harden creates it.
    create: Option<String>,
    why: String,
    /// The user has no usable home directory of its own.
    needs_home: bool,
    /// `UID:GID` when known, for chown commands.
    owner: Option<String>,
    /// `UID:GID` when known, for a numeric USER.
    ids: Option<String>,
}

/// Reuse a user the Dockerfile or the base image already has; otherwise
/// create one with the command the base image family has.
fn choose_user(ctx: &DfCtx, restore: Option<String>, out: &mut Output) -> Option<Choice> {
    let base = &ctx.base;
    let subject = ctx.subject();
    if let Some(u) = restore {
        return Some(Choice {
            why: format!("`USER {u}` again after the last instruction that needs root"),
            user: u,
            create: None,
            needs_home: false,
            owner: None,
            ids: None,
        });
    }
    let created: Vec<CreatedUser> = ctx
        .chain_instructions()
        .filter(|(_, i)| i.keyword == "RUN")
        .flat_map(|(_, i)| {
            let mut script = match &i.form {
                Form::Exec(words) => words.join(" "),
                Form::Shell => i.args.clone(),
            };
            for h in &i.heredocs {
                script.push('\n');
                script.push_str(ctx.src.text.get(h.body.clone()).unwrap_or(""));
            }
            users_created_by(&script, i.line)
        })
        .collect();
    if let Some(c) = created.last() {
        return Some(Choice {
            why: format!(
                "`USER {}`: the user created on line {} was never switched to",
                c.name, c.line
            ),
            user: c.name.clone(),
            create: None,
            needs_home: !c.has_home,
            owner: c.uid.map(|u| format!("{u}:{u}")),
            ids: c.uid.map(|u| format!("{u}:{u}")),
        });
    }
    if let Some(numeric) = &base.family.numeric_user {
        return Some(Choice {
            why: format!("`USER {numeric}`: {} has no shell and no user database, so an unprivileged numeric id", base.family.name),
            user: numeric.clone(),
            create: None,
            needs_home: true,
            owner: Some(numeric.clone()),
            ids: Some(numeric.clone()),
        });
    }
    if let Some(u) = base
        .existing_users
        .iter()
        // Any user the base image is known for (node, ubuntu, nginx,
        // www-data ...): its files in the image already belong to it.
        .find(|u| u.uid != 0 && u.uid < 65534)
    {
        return Some(Choice {
            why: format!(
                "`USER {}`: the base image already has this user (uid {})",
                u.name, u.uid
            ),
            user: u.name.clone(),
            create: None,
            needs_home: false,
            owner: None,
            ids: Some(format!("{}:{}", u.uid, u.gid)),
        });
    }
    if !base.family.has_shell() {
        return match base.existing_users.iter().find(|u| u.uid != 0) {
            Some(u) => Some(Choice {
                why: format!("`USER {}`: the base image has no shell to create a user with, but has this one (uid {})", u.name, u.uid),
                user: u.name.clone(),
                create: None,
                needs_home: false,
                owner: Some(format!("{}:{}", u.uid, u.gid)),
                ids: Some(format!("{}:{}", u.uid, u.gid)),
            }),
            None => {
                out.review(&subject, NAME, "the base image has no shell and no known non-root user: add a USER by hand");
                None
            }
        };
    }
    let name = ctx.hints.user_name();
    if let Some(u) = base.user_named(&name) {
        return Some(Choice {
            why: format!(
                "`USER {name}`: the base image already has this user (uid {})",
                u.uid
            ),
            user: name,
            create: None,
            needs_home: false,
            owner: None,
            ids: Some(format!("{}:{}", u.uid, u.gid)),
        });
    }
    let uid = base.free_id(if ctx.hints.uid == 0 {
        DEFAULT_UID
    } else {
        ctx.hints.uid
    });
    // A configured GID is used as given; by default the group matches the UID.
    let gid = ctx.hints.gid.unwrap_or(uid);
    let home = home(ctx);
    let Some(mut cmd) = baseimage::render_create_user(base.family, &name, uid, gid, &home) else {
        out.review(
            &subject,
            NAME,
            format!(
                "cannot create a user on {}: add one by hand",
                base.family.name
            ),
        );
        return None;
    };
    if let Some(dirs) = dirs_command(ctx, &format!("{uid}:{gid}")) {
        cmd.push_str(&format!(" && {dirs}"));
    }
    if let Some(n) = &base.note {
        out.info(&subject, NAME, n.clone());
    }
    let dirs = if all_to_prepare(ctx).is_empty() {
        String::new()
    } else {
        format!("; {}", dirs_why(ctx))
    };
    Some(Choice {
        why: format!(
            "creates system user `{name}` (uid {uid}, gid {gid}, no home directory, no login shell) with {} and switches to it{dirs}",
            create_tool(&base.family.name)
        ),
        user: name,
        create: Some(cmd),
        needs_home: true,
        owner: Some(format!("{uid}:{gid}")),
        ids: Some(format!("{uid}:{gid}")),
    })
}

/// Whether some RUN of the final stage's chain already names `dir` (that is
/// also what keeps a second fix from preparing it again).
fn named_by_a_run(ctx: &DfCtx, dir: &str) -> bool {
    ctx.chain_instructions()
        .filter(|(_, i)| i.keyword == "RUN")
        .any(|(_, i)| i.args.split_whitespace().any(|w| w == dir))
}

/// Volume directories the Dockerfile does not create yet: a new named
/// volume copies the ownership of the image's directory, so each is created
/// and handed to the user. A directory some RUN already names is left alone.
fn dirs_to_prepare(ctx: &DfCtx) -> Vec<String> {
    ctx.hints
        .dirs
        .iter()
        .filter(|d| !named_by_a_run(ctx, d))
        .cloned()
        .collect()
}

/// tmpfs mountpoints whose mode the Dockerfile does not set yet. runc gives
/// a tmpfs the mode of the directory it covers (the `mode=` option loses),
/// and Podman copies the directory's files in with their owners: so the
/// image's directory gets the mode, and its files go to the user.
fn tmpfs_to_prepare(ctx: &DfCtx) -> Vec<(String, String)> {
    ctx.hints
        .tmpfs_dirs
        .iter()
        .filter(|(d, _)| !named_by_a_run(ctx, d) && !ctx.hints.dirs.contains(d))
        .cloned()
        .collect()
}

/// Every directory the Dockerfile prepares, for messages.
fn all_to_prepare(ctx: &DfCtx) -> Vec<String> {
    let mut all = dirs_to_prepare(ctx);
    all.extend(tmpfs_to_prepare(ctx).into_iter().map(|(d, _)| d));
    all
}

/// `mkdir -p DIRS && chown OWNER DIRS` for volumes, then `mkdir -p T &&
/// chown -R OWNER T && chmod MODE T` for tmpfs mountpoints, when there is
/// anything to prepare and the image has a shell.
fn dirs_command(ctx: &DfCtx, owner: &str) -> Option<String> {
    if !ctx.base.family.has_shell() {
        return None;
    }
    let mut parts = Vec::new();
    let dirs = dirs_to_prepare(ctx);
    if !dirs.is_empty() {
        let d = dirs.join(" ");
        parts.push(format!("mkdir -p {d} && chown {owner} {d}"));
    }
    let tmpfs = tmpfs_to_prepare(ctx);
    if !tmpfs.is_empty() {
        let t = tmpfs
            .iter()
            .map(|(d, _)| d.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        parts.push(format!("mkdir -p {t} && chown -R {owner} {t}"));
        // One chmod per mode, in the order the modes first appear.
        let mut modes: Vec<&str> = Vec::new();
        for (_, m) in &tmpfs {
            if !modes.contains(&m.as_str()) {
                modes.push(m);
            }
        }
        for m in modes {
            let ds: Vec<&str> = tmpfs
                .iter()
                .filter(|(_, x)| x == m)
                .map(|(d, _)| d.as_str())
                .collect();
            parts.push(format!("chmod {m} {}", ds.join(" ")));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" && "))
}

fn dirs_why(ctx: &DfCtx) -> String {
    let mut why = Vec::new();
    let dirs = dirs_to_prepare(ctx);
    if !dirs.is_empty() {
        why.push(format!(
            "creates {} owned by the user, so new named volumes mounted there start owned by it",
            dirs.join(", ")
        ));
    }
    let tmpfs = tmpfs_to_prepare(ctx);
    if !tmpfs.is_empty() {
        let list: Vec<String> = tmpfs.iter().map(|(d, m)| format!("{d} ({m})")).collect();
        why.push(format!(
            "gives the tmpfs mountpoints {} their mode and the user their files: runc mounts a tmpfs with its mountpoint's mode whatever `mode=` says, and Podman copies the image's files in",
            list.join(", ")
        ));
    }
    why.join("; ")
}

/// The final stage already runs as a non-root user, but new volume
/// directories must be created and handed to it: the RUN goes right before
/// the stage's last USER, where the build still runs as root.
fn prepare_dirs_for_existing_user(ctx: &DfCtx, out: &mut Output) {
    let stage = &ctx.df.stages[ctx.final_stage()];
    let Some((i, user)) = stage
        .instructions
        .clone()
        .rev()
        .map(|i| (i, &ctx.df.instructions[i]))
        .find(|(_, ins)| ins.keyword == "USER")
    else {
        if !all_to_prepare(ctx).is_empty() {
            out.review(
                &ctx.subject(),
                NAME,
                format!("prepare {} for the image's user in the Dockerfile, so the carve-outs mounted there are writable by it", all_to_prepare(ctx).join(", ")),
            );
        }
        return;
    };
    let owner = ctx.df.resolve_at(i, &user.args).trim().to_string();
    let Some(cmd) = dirs_command(ctx, &owner) else {
        return;
    };
    let eol = ctx.df.eol;
    let at = ctx.src.line_start(user.line);
    out.findings.push(Finding::new(
        super::unmounted_write_path::NAME,
        user.line,
        1,
        format!(
            "the directories of new carve-outs ({}) are not prepared for the user in the image",
            all_to_prepare(ctx).join(", ")
        ),
    ));
    out.edits.push(Edit::insert(
        at,
        format!("RUN {}{eol}", ctx.run_lines(&cmd)),
    ));
    out.note(
        &ctx.subject(),
        super::unmounted_write_path::NAME,
        dirs_why(ctx),
    );
}

fn create_tool(family: &str) -> &'static str {
    match baseimage::knowledge()
        .ok()
        .and_then(|k| k.families.iter().find(|f| f.name == family))
        .and_then(|f| f.create_user.as_deref())
    {
        Some(c) if c.contains("useradd") && c.contains("adduser") => {
            "useradd, or busybox adduser where useradd is missing"
        }
        Some(c) if c.contains("useradd") => "useradd",
        Some(c) if c.contains("adduser") => "busybox addgroup/adduser",
        _ => "the base image's tools",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::analyze::Hints;
    use crate::source::Source;

    /// The Dockerfile as the root-user rule rewrites it with `hints`.
    fn fixed(text: &str, hints: &Hints) -> String {
        let src = Source::new("Dockerfile".into(), "Dockerfile".into(), text.to_string());
        let df = crate::dockerfile::parse(text).expect("parses");
        let ctx = DfCtx::new(&src, &df, hints).expect("has a stage");
        let mut out = Output::default();
        check_dockerfile(&ctx, &mut out);
        crate::edit::apply(text, &out.edits).expect("edits do not overlap")
    }

    fn nginx_hints() -> Hints {
        Hints {
            service: Some("web".into()),
            uid: 1000,
            dirs: vec!["/srv/uploads".into()],
            tmpfs_dirs: vec![
                ("/var/lib/nginx".into(), "1777".into()),
                ("/var/log/nginx".into(), "1777".into()),
                ("/run".into(), "0755".into()),
            ],
            ..Hints::default()
        }
    }

    #[test]
    fn tmpfs_mountpoints_get_their_mode_and_files_go_to_the_user() {
        let text = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y nginx-light\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n";
        let once = fixed(text, &nginx_hints());
        assert!(
            once.contains(
                " && mkdir -p /srv/uploads \\\n && chown 1000:1000 /srv/uploads \\\n && mkdir -p /var/lib/nginx /var/log/nginx /run \\\n && chown -R 1000:1000 /var/lib/nginx /var/log/nginx /run \\\n && chmod 1777 /var/lib/nginx /var/log/nginx \\\n && chmod 0755 /run\n"
            ),
            "{once}"
        );
        // The RUN now names every directory: a second pass adds nothing.
        assert_eq!(fixed(&once, &nginx_hints()), once);
    }

    #[test]
    fn tmpfs_mountpoints_are_prepared_before_an_existing_user() {
        let text =
            "FROM debian:bookworm-slim\nRUN useradd --uid 1000 web\nUSER web\nCMD [\"nginx\"]\n";
        let hints = Hints {
            dirs: Vec::new(),
            ..nginx_hints()
        };
        let once = fixed(text, &hints);
        assert!(
            once.contains("RUN mkdir -p /var/lib/nginx /var/log/nginx /run \\\n && chown -R web /var/lib/nginx /var/log/nginx /run \\\n && chmod 1777 /var/lib/nginx /var/log/nginx \\\n && chmod 0755 /run\nUSER web\n"),
            "{once}"
        );
        assert_eq!(fixed(&once, &hints), once);
    }

    #[test]
    fn users_in_scripts() {
        let u = users_created_by(
            "groupadd -r app && useradd --no-log-init -r -g app -u 1001 app",
            3,
        );
        assert_eq!(
            u,
            vec![CreatedUser {
                name: "app".into(),
                uid: Some(1001),
                line: 3,
                has_home: false,
            }]
        );
        assert!(users_created_by("useradd -m -u 1500 worker", 1)[0].has_home);
        let u = users_created_by("addgroup -S web && adduser -S -D -H -h /srv -G web web", 1);
        assert_eq!(u[0].name, "web");
        let u = users_created_by("adduser --system --uid=999 --group worker", 1);
        assert_eq!((u[0].name.as_str(), u[0].uid), ("worker", Some(999)));
        assert!(users_created_by("apt-get install -y adduser", 1).is_empty());
        assert!(users_created_by("useradd -m $APP_USER", 1).is_empty());
        // Found by fuzzing: a garbled line must not make `0` a user to switch to.
        assert!(users_created_by("useradd --,0out/<<a", 1).is_empty());
        assert!(users_created_by("useradd 00", 1).is_empty());
    }

    #[test]
    fn user_names() {
        assert_eq!(user_name_for(Some("Web API")), "web-api");
        assert_eq!(user_name_for(Some("2fa")), "app-2fa");
        assert_eq!(user_name_for(None), "app");
        assert_eq!(user_name_for(Some("ocr_service")), "ocr_service");
        assert_eq!(user_name_for(Some("root")), "app-root");
        assert_eq!(user_name_for(Some("Root")), "app-root");
        assert_eq!(user_name_for(Some("root-")), "app-root");
    }

    #[test]
    fn root_spellings() {
        for u in ["root", "0", "0:0", "root:root", " 0:1000"] {
            assert!(is_root_user(u), "{u}");
        }
        for u in ["1000", "app", "1000:0", "rootless", "10"] {
            assert!(!is_root_user(u), "{u}");
        }
    }
}
