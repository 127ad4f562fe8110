//! The user a Dockerfile's final stage runs as, when harden must choose
//! one: a user the file or the base image already has, else one created
//! with the command of the base image's family. The plan decides; the
//! root-user rule writes the lines.

use crate::baseimage;
use crate::config::DEFAULT_UID;
use crate::dockerfile::analyze::DfCtx;
use crate::dockerfile::users::{users_created_by, CreatedUser};
use crate::dockerfile::Form;
use crate::finding::NoteKind;

/// Notes the choice calls for, in order: (kind, text).
pub type Notes = Vec<(NoteKind, String)>;

/// The user the final stage switches to, and how it comes to exist.
pub struct Choice {
    pub user: String,
    /// The shell command that creates it, when harden creates it.
    pub create: Option<String>,
    pub why: String,
    /// The user has no usable home directory of its own.
    pub needs_home: bool,
    /// `UID:GID` when known, for chown commands.
    pub owner: Option<String>,
    /// `UID:GID` when known, for a numeric USER.
    pub ids: Option<String>,
    /// A `USER root` must come first: nothing is known about the base
    /// image, which may already run as a user that cannot create users.
    pub root_first: bool,
}

impl Choice {
    /// `name`, a user the base image already has.
    fn image_user(name: &str, u: &baseimage::ExistingUser) -> Choice {
        Choice {
            why: format!(
                "`USER {name}`: the base image already has this user (uid {})",
                u.uid
            ),
            user: name.to_string(),
            create: None,
            needs_home: false,
            owner: None,
            ids: Some(format!("{}:{}", u.uid, u.gid)),
            root_first: false,
        }
    }
}

/// Reuse a user the Dockerfile or the base image already has; otherwise
/// create one with the command the base image family has.
pub fn choose(ctx: &DfCtx, restore: Option<String>, notes: &mut Notes) -> Option<Choice> {
    let base = &ctx.base;
    if let Some(u) = restore {
        return Some(Choice {
            why: format!("`USER {u}` again after the last instruction that needs root"),
            user: u,
            create: None,
            needs_home: false,
            owner: None,
            ids: None,
            root_first: false,
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
            root_first: false,
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
            root_first: false,
        });
    }
    if let Some(u) = base
        .existing_users
        .iter()
        // Any user the base image is known for (node, ubuntu, nginx,
        // www-data ...): its files in the image already belong to it.
        .find(|u| u.uid != 0 && u.uid < 65534)
    {
        return Some(Choice::image_user(&u.name, u));
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
                root_first: false,
            }),
            None => {
                notes.push((NoteKind::Review, "the base image has no shell and no known non-root user: add a USER by hand".to_string()));
                None
            }
        };
    }
    let name = ctx.hints.user_name();
    if let Some(u) = base.user_named(&name) {
        return Some(Choice::image_user(&name, u));
    }
    let uid = base.free_id(if ctx.hints.uid == 0 {
        DEFAULT_UID
    } else {
        ctx.hints.uid
    });
    // A configured GID is used as given; by default the group matches the UID.
    let gid = ctx.hints.gid.unwrap_or(uid);
    let home = ctx.home();
    let Some(cmd) = baseimage::render_create_user(base.family, &name, uid, gid, &home) else {
        notes.push((
            NoteKind::Review,
            format!(
                "cannot create a user on {}: add one by hand",
                base.family.name
            ),
        ));
        return None;
    };
    if let Some(n) = &base.note {
        notes.push((NoteKind::Info, n.clone()));
    }
    if let Some(why) = &base.unreadable {
        notes.push((
            NoteKind::Info,
            format!("the base image's own users could not be read: {why}"),
        ));
    }
    // Nothing known about the base: the RUN decides at build time, so the
    // ids are not known here and files are handed over by name.
    if base.family.name == "unknown" && base.learned.is_none() {
        return Some(Choice {
            why: format!(
                "creates system user `{name}` (uid {uid} where free, no home directory, no login shell) at build time if the image lacks it, and switches to it"
            ),
            user: name.clone(),
            create: Some(cmd),
            needs_home: true,
            owner: Some(format!("{name}:{name}")),
            ids: None,
            root_first: true,
        });
    }
    Some(Choice {
        why: format!(
            "creates system user `{name}` (uid {uid}, gid {gid}, no home directory, no login shell) with {} and switches to it",
            create_tool(&base.family.name)
        ),
        user: name,
        create: Some(cmd),
        needs_home: true,
        owner: Some(format!("{uid}:{gid}")),
        ids: Some(format!("{uid}:{gid}")),
        root_first: false,
    })
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
