//! The directories a Dockerfile prepares for the plan's carve-outs: named
//! volumes created and handed to the user (a new volume copies the
//! ownership of the image's directory), tmpfs mountpoints given their mode.
//! The plan says which and how; root-user writes the RUN, since it must
//! come while the build still runs as root.

use crate::dockerfile::analyze::DfCtx;

/// The rule these lines belong to: an exemption from it prepares nothing.
const UNMOUNTED_WRITE_PATH: &str = "unmounted-write-path";

/// Whether some RUN of the final stage's chain already names `dir` (that is
/// also what keeps a second fix from preparing it again).
fn named_by_a_run(ctx: &DfCtx, dir: &str) -> bool {
    ctx.chain_instructions()
        .filter(|(_, i)| i.keyword == "RUN")
        .any(|(_, i)| i.args.split_whitespace().any(|w| w == dir))
}

/// Volume directories the Dockerfile does not create yet: a new named
/// volume copies the ownership of the image's directory, so each is created
/// and handed to the user. A directory some RUN already names is left
/// alone; none where the Dockerfile is exempted from unmounted-write-path,
/// whose lines these are.
pub fn dirs_to_prepare(ctx: &DfCtx) -> Vec<String> {
    if ctx.allows(UNMOUNTED_WRITE_PATH) {
        return Vec::new();
    }
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
pub fn tmpfs_to_prepare(ctx: &DfCtx) -> Vec<(String, String)> {
    if ctx.allows(UNMOUNTED_WRITE_PATH) {
        return Vec::new();
    }
    ctx.hints
        .tmpfs_dirs
        .iter()
        .filter(|(d, _)| !named_by_a_run(ctx, d) && !ctx.hints.dirs.contains(d))
        .cloned()
        .collect()
}

/// Every directory the Dockerfile prepares, for messages.
pub fn all_to_prepare(ctx: &DfCtx) -> Vec<String> {
    let mut all = dirs_to_prepare(ctx);
    all.extend(tmpfs_to_prepare(ctx).into_iter().map(|(d, _)| d));
    all
}

/// `mkdir -p DIRS && chown OWNER DIRS` for volumes, then `mkdir -p T &&
/// chown -R OWNER T && chmod MODE T` for tmpfs mountpoints, when there is
/// anything to prepare and the image has a shell.
pub fn dirs_command(ctx: &DfCtx, owner: &str) -> Option<String> {
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

/// What [`dirs_why`] says, in a few words: the notes' short form, with the
/// reason said once per report.
pub fn dirs_brief(ctx: &DfCtx) -> String {
    let mut what = Vec::new();
    let dirs = dirs_to_prepare(ctx);
    if !dirs.is_empty() {
        what.push(format!("creates {} owned by the user", dirs.join(", ")));
    }
    let tmpfs = tmpfs_to_prepare(ctx);
    if !tmpfs.is_empty() {
        let list: Vec<String> = tmpfs.iter().map(|(d, m)| format!("{d} ({m})")).collect();
        what.push(format!("sets the mode of {}", list.join(", ")));
    }
    what.join("; ")
}

pub fn dirs_why(ctx: &DfCtx) -> String {
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_rule_named_is_registered() {
        assert!(crate::registry::get(super::UNMOUNTED_WRITE_PATH).is_some());
    }
}
