//! `root-user` (templates/explain/root-user.md): for a compose service, the
//! plan's `user:` (or a report of `user: root`); for a Dockerfile, a user
//! chosen or created on the base image's family and a `USER` for it.

use super::rule::{Files, Rule, ServiceCx};
use crate::finding::{NoteKind, Output};
use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::dockerfile::analyze::DfCtx;
use crate::dockerfile::users::{drops_privileges_itself, is_root_user};
use crate::plan::dirs::{all_to_prepare, dirs_brief, dirs_command, dirs_why};
use crate::edit::Edit;
use crate::finding::{Finding, Knowledge};
use crate::plan::ServicePlan;

pub const NAME: &str = "root-user";

pub const RULE: Rule = Rule {
    service: Some(|cx: &ServiceCx, out| check_compose(cx.ctx, cx.svc, cx.plan, out)),
    dockerfile: Some(check_dockerfile),
    ..Rule::new(NAME, Files::Both)
};

pub fn check_compose(ctx: &Ctx, svc: &Service, plan: &ServicePlan, out: &mut Output) {
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
            let what = format!("`user: \"{user}\"`");
            let note = out.note(&format!("service {}", svc.name), NAME, format!("{what}: {why}"));
            // The reason starts with whose user it is; how the image copes
            // with it follows, said once per report.
            match why.split_once(": ") {
                Some((short, rest)) => {
                    note.brief(what.clone(), short)
                        .shares(rest, format!("{short}: {rest}"));
                }
                None => {
                    note.brief(what.clone(), why.as_str());
                }
            }
            // An image whose entrypoint chowns its data to its user left
            // existing volumes owned by that user already.
            let chowned = plan
                .profile
                .as_ref()
                .is_some_and(|p| p.entrypoint_drops_privileges.is_some());
            if !chowned {
                let subject = format!("service {}", svc.name);
                migration_review(&subject, svc.name, user, &plan.existing_volume_dirs, out);
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
            let binds: Vec<String> = crate::compose::mounts::mounts(ctx, svc)
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
    // The short form names the family in the subject's header; the rule
    // that matched, and how, is for --verbose.
    out.info(
        &subject,
        NAME,
        format!("base image family: {}", base.matched_rule),
    )
    .brief("", "");
    let family = base.matched_rule.split(" (").next().unwrap_or_default();
    out.knowledge
        .push((subject.clone(), Knowledge::BaseFamily(family.to_string())));
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
                return prepare_dirs_as_root(ctx, u, out);
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
    let mut notes = Vec::new();
    let choice = crate::plan::user::choose(ctx, restore, &mut notes);
    for (kind, text) in notes {
        match kind {
            NoteKind::Info => out.info(&subject, NAME, text),
            _ => out.review(&subject, NAME, text),
        };
    }
    // A user harden creates also gets the carve-out directories prepared,
    // in the same RUN.
    let mut brief = None;
    let choice = choice.map(|mut c| {
        if let (Some(cmd), Some(owner)) = (&mut c.create, &c.owner) {
            if let Some(dirs) = dirs_command(ctx, owner) {
                cmd.push_str(&format!(" && {dirs}"));
            }
            if !all_to_prepare(ctx).is_empty() {
                brief = Some((c.why.clone(), dirs_brief(ctx)));
                c.why.push_str(&format!("; {}", dirs_why(ctx)));
            }
        }
        c
    });
    let Some(choice) = choice else {
        out.findings.push(finding.report_only());
        return;
    };
    out.findings.push(finding);

    let eol = ctx.df.eol;
    // The steps that run as root (a user created, directories made for
    // it), then the user's environment and the switch to it.
    let mut run = String::new();
    if choice.root_first && root_line.is_none() {
        run.push_str(&format!("USER root{eol}"));
        out.note(
            &subject,
            NAME,
            "`USER root` first: the base image may already run as another user, who could not create one",
        );
    }
    if let Some(cmd) = &choice.create {
        run.push_str(&format!("RUN {}{eol}", ctx.run_lines(cmd)));
    } else if let Some(cmd) = dirs_command(ctx, choice.owner.as_deref().unwrap_or(&choice.user)) {
        run.push_str(&format!("RUN {}{eol}", ctx.run_lines(&cmd)));
        out.note(&subject, NAME, dirs_why(ctx))
            .brief(dirs_brief(ctx), "")
            .shares_known("volume-dirs");
    }
    let note = out.note(&subject, NAME, choice.why.clone());
    if let Some((what, dirs)) = brief {
        note.brief(what, dirs).shares_known("volume-dirs");
    }
    let mut text = String::new();
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
    insert_after(ctx, at, run, text, out);
    keep_later_stages_as_root(ctx, &choice.user, out);
    if let Some(service) = &ctx.hints.service {
        let owner = choice.owner.clone().unwrap_or_else(|| choice.user.clone());
        migration_review(&subject, service, &owner, &ctx.hints.existing_volumes, out);
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
        )
        .brief(
            format!("COPY/ADD files stay root's, read-only for `{}`", choice.user),
            format!("add `--chown={}` where the program writes", choice.user),
        )
        .shares_known("copy-chown");
    }
}

/// The one-time chown that existing volumes at `paths` need now that
/// `service` runs as `owner`.
fn migration_review(subject: &str, service: &str, owner: &str, paths: &[String], out: &mut Output) {
    let Some(n) = crate::migration::note(service, owner, paths) else {
        return;
    };
    let commands: Vec<String> = paths
        .iter()
        .map(|p| crate::migration::chown_command(service, owner, p))
        .collect();
    out.migration_review(subject, NAME, n)
        .brief(
            format!(
                "migration: a volume at {} that already exists holds files owned by root",
                paths.join(", ")
            ),
            format!("once, before starting: {}", commands.join(" ; ")),
        )
        .shares_known("migration");
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

/// The base image already runs as non-root user `user` and the stage sets
/// no USER: directories the carve-outs need are made as root, and the
/// base's user is restored after them.
fn prepare_dirs_as_root(ctx: &DfCtx, user: &str, out: &mut Output) {
    let Some(cmd) = dirs_command(ctx, user) else {
        return;
    };
    let at = ctx.insertion_instruction();
    if ctx.df.instructions[at].eof_continuation {
        return;
    }
    let eol = ctx.df.eol;
    let subject = ctx.subject();
    let from = &ctx.df.instructions[ctx.df.stages[ctx.final_stage()].from];
    out.findings.push(Finding::new(
        super::unmounted_write_path::NAME,
        from.line,
        1,
        format!(
            "the directories of new carve-outs ({}) are not prepared for the image's user `{user}`",
            all_to_prepare(ctx).join(", ")
        ),
    ));
    let run = format!("USER root{eol}RUN {}{eol}", ctx.run_lines(&cmd));
    insert_after(ctx, at, run, format!("USER {user}{eol}"), out);
    out.note(
        &subject,
        NAME,
        format!("`USER root` for one RUN, then `USER {user}` again: {}", dirs_why(ctx)),
    );
}

/// Insert `run` (the steps that need root) and then `text` (the user's
/// environment and USER) after instruction `at`; `run` goes before the
/// VOLUME that declares a directory it makes, where there is one.
fn insert_after(ctx: &DfCtx, at: usize, run: String, mut text: String, out: &mut Output) {
    let eol = ctx.df.eol;
    match ctx
        .before_volume(&all_to_prepare(ctx), at)
        .filter(|_| !run.is_empty())
    {
        Some(before) => {
            out.edits.push(Edit::insert(before, run));
            out.note(&ctx.subject(), NAME, VOLUME_WHY);
        }
        None => text.insert_str(0, &run),
    }
    let (offset, needs_eol) = ctx.after_instruction(at);
    if needs_eol {
        text = format!("{eol}{}", text.strip_suffix(eol).unwrap_or(&text));
    }
    out.edits.push(Edit::insert(offset, text));
}

/// Why a RUN went before a VOLUME line rather than with the USER.
const VOLUME_WHY: &str = "the RUN goes before the VOLUME that declares its directory: a build step after a VOLUME cannot change what it declares";

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
    let at = ctx
        .before_volume(&all_to_prepare(ctx), i)
        .unwrap_or_else(|| ctx.src.line_start(user.line));
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

}
