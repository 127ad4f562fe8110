//! Migration of existing named volumes: a volume created while the service
//! ran as root holds files owned by root, which the new non-root user cannot
//! write. New volumes are fine (they copy ownership from the image); old
//! ones need a one-time chown, which harden spells out per volume.

/// The one-time command that hands `path` (a named volume mounted in
/// `service`) to `owner` (`UID:GID` or a user name), run through the
/// service's own image so the volume name and mount are the project's own.
pub fn chown_command(service: &str, owner: &str, path: &str) -> String {
    use crate::escape::shell_word;
    let (service, owner, path) = (shell_word(service), shell_word(owner), shell_word(path));
    format!(
        "docker compose run --rm --no-deps --user 0 --cap-add CHOWN --cap-add DAC_READ_SEARCH --entrypoint chown {service} -R {owner} {path}"
    )
}

/// How migration notes start.
const PREFIX: &str = "migration:";

/// The review note for all existing volumes of a service.
pub fn note(service: &str, owner: &str, paths: &[String]) -> Option<String> {
    if paths.is_empty() {
        return None;
    }
    let cmds: Vec<String> = paths
        .iter()
        .map(|p| chown_command(service, owner, p))
        .collect();
    Some(format!(
        "{PREFIX} the service now runs as `{owner}`; a volume at {} that already exists holds files owned by root. Once, before starting it: {}",
        paths.join(", "),
        cmds.join(" ; ")
    ))
}

/// One volume whose ownership must be fixed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub service: String,
    /// The volume's key in the compose file.
    pub volume: String,
    /// Where the service mounts it.
    pub target: String,
    /// The user the service now runs as, as written (`app`, `1000:1000`).
    pub user: String,
    /// `uid` or `uid:gid` for chown, when harden can tell.
    pub owner: Option<String>,
}

impl Migration {
    /// The one-time command that gives the volume to the user: the same
    /// one the notes give, run through the service itself, so Compose
    /// supplies the project's real volume name.
    pub fn command(&self) -> String {
        let owner = self.owner.as_deref().unwrap_or("UID:GID");
        chown_command(&self.service, owner, &self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command() {
        assert_eq!(
            chown_command("db", "999:999", "/var/lib/postgresql/data"),
            "docker compose run --rm --no-deps --user 0 --cap-add CHOWN --cap-add DAC_READ_SEARCH --entrypoint chown db -R 999:999 /var/lib/postgresql/data"
        );
        assert!(note("db", "1:1", &[]).is_none());
    }
}
