//! Reading a container's process state from `/proc`: the `status` fields that
//! prove who the process runs as and what it may do, and the `mountinfo` lines
//! that prove which paths are mounted read-only. These are the kernel's own
//! word, so they hold for images without a shell.

pub use crate::caps::{cap_bit, cap_names};

/// The fields of `/proc/PID/status` that verify looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStatus {
    /// Real, effective, saved and filesystem UIDs.
    pub uids: Vec<u32>,
    /// Real, effective, saved and filesystem GIDs (empty if not reported).
    pub gids: Vec<u32>,
    /// The effective capability set as the kernel prints it (hex).
    pub cap_eff_hex: String,
    pub cap_eff: u64,
    /// `None` on kernels too old to report it.
    pub no_new_privs: Option<bool>,
}

/// Parse `/proc/PID/status`; `None` when the `Uid:` or `CapEff:` line is
/// missing or malformed, because then the text is not a status file at all.
pub fn parse_status(text: &str) -> Option<ProcStatus> {
    let mut uids = None;
    let mut gids = Vec::new();
    let mut cap = None;
    let mut nnp = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Uid" => {
                let parsed: Result<Vec<u32>, _> =
                    value.split_whitespace().map(str::parse).collect();
                uids = parsed.ok().filter(|v| !v.is_empty());
            }
            "Gid" => {
                gids = value
                    .split_whitespace()
                    .map(str::parse)
                    .collect::<Result<Vec<u32>, _>>()
                    .unwrap_or_default();
            }
            "CapEff" => {
                cap = u64::from_str_radix(value, 16)
                    .ok()
                    .map(|bits| (value.to_string(), bits));
            }
            "NoNewPrivs" => nnp = Some(value == "1"),
            _ => {}
        }
    }
    let (cap_eff_hex, cap_eff) = cap?;
    Some(ProcStatus {
        uids: uids?,
        gids,
        cap_eff_hex,
        cap_eff,
        no_new_privs: nnp,
    })
}

/// One process of a container: who it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// A process from its `status` text (effective uid and gid); `None` when
/// the text is not a status file.
pub fn parse_process(text: &str) -> Option<Process> {
    let s = parse_status(text)?;
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .map(str::trim)
    };
    Some(Process {
        pid: field("Pid").and_then(|p| p.parse().ok()).unwrap_or(0),
        name: field("Name").unwrap_or("").to_string(),
        uid: s.uids.get(1).copied().unwrap_or(s.uids[0]),
        gid: s.gids.get(1).or(s.gids.first()).copied().unwrap_or(0),
    })
}

/// The user a write probe of a carve-out runs as: the main process's,
/// except where the main process is root and the path belongs to the
/// non-root user one of the service's processes runs as (an s6 `/init` or
/// an entrypoint that stays root and starts its services as their own
/// user): root without CAP_DAC_OVERRIDE could not write there, the
/// service's own process can, and it is the one that does.
pub fn probe_user(main_uid: u32, owner: Option<u32>, processes: &[Process]) -> Option<&Process> {
    let owner = owner.filter(|o| *o != 0 && main_uid == 0)?;
    processes.iter().find(|p| p.uid == owner)
}

/// How a path is mounted, from one `mountinfo` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub target: String,
    pub read_only: bool,
    pub fs_type: String,
}

/// Parse `/proc/PID/mountinfo` (proc(5)): field 5 is the mount point, field 6
/// the per-mount options, and the filesystem type follows the ` - ` separator.
/// Octal escapes in mount points (`\040` for a space) are decoded.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let mut fields = head.split(' ');
            let target = fields.nth(4)?;
            let options = fields.next()?;
            let fs_type = tail.split(' ').next().unwrap_or("").to_string();
            Some(Mount {
                target: unescape_octal(target),
                read_only: options.split(',').any(|o| o == "ro"),
                fs_type,
            })
        })
        .collect()
}

/// The mount that covers `path`: the last-mounted one with the longest
/// matching mount point, as the kernel resolves it.
pub fn mount_for<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let path = path.trim_end_matches('/');
    let mut best: Option<&Mount> = None;
    for m in mounts {
        let t = m.target.trim_end_matches('/');
        let covers = t.is_empty()
            || path == t
            || (path.starts_with(t) && path.as_bytes().get(t.len()) == Some(&b'/'));
        if covers && best.is_none_or(|b| t.len() >= b.target.trim_end_matches('/').len()) {
            best = Some(m);
        }
    }
    best
}

/// Most symbolic links followed while resolving one path, as the kernel's
/// own limit (ELOOP).
const MAX_LINKS: usize = 40;

/// `path` with every symbolic link resolved as the container sees it, with
/// `root` the container's root directory seen from the host
/// (`/proc/PID/root`): an absolute link restarts at the container's root,
/// never the host's. Components that do not exist are kept as written.
/// The engine resolves a mount target the same way before mounting, so
/// `/var/run/postgresql` is mounted at `/run/postgresql` where `/var/run`
/// links to `/run`.
pub fn resolve_in(root: &std::path::Path, path: &str) -> Option<String> {
    let mut todo: Vec<String> = path.split('/').rev().map(str::to_string).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let rel: std::path::PathBuf = done.iter().chain(std::iter::once(&c)).collect();
        let host = root.join(&rel);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                let target = std::fs::read_link(&host).ok()?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(target.split('/').rev().map(str::to_string));
            }
            _ => done.push(c),
        }
    }
    Some(format!("/{}", done.join("/")))
}

fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(digits) = bytes.get(i + 1..i + 4) {
                if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                    let v = digits
                        .iter()
                        .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                    if let Ok(b) = u8::try_from(v) {
                        out.push(b);
                        i += 4;
                        continue;
                    }
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_HARDENED: &str = "Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\n\
Tgid:\t32486\nPid:\t32486\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n\
CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n";

    // What a root process gets from an engine's default capability set.
    const STATUS_DEFAULT_ROOT: &str = "Name:\tnginx\nUid:\t0\t0\t0\t0\n\
CapEff:\t00000000800405fb\nNoNewPrivs:\t0\n";

    #[test]
    fn parses_a_hardened_process() {
        let s = parse_status(STATUS_HARDENED).expect("status");
        assert_eq!(s.uids, vec![1000, 1000, 1000, 1000]);
        assert_eq!(s.gids, vec![1000, 1000, 1000, 1000]);
        assert_eq!(s.cap_eff, 0);
        assert_eq!(s.cap_eff_hex, "0000000000000000");
        assert_eq!(s.no_new_privs, Some(true));
    }

    #[test]
    fn decodes_the_default_capability_set() {
        let s = parse_status(STATUS_DEFAULT_ROOT).expect("status");
        assert_eq!(s.uids, vec![0, 0, 0, 0]);
        assert_eq!(s.no_new_privs, Some(false));
        assert_eq!(
            cap_names(s.cap_eff),
            [
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "FSETID",
                "KILL",
                "SETGID",
                "SETUID",
                "SETPCAP",
                "NET_BIND_SERVICE",
                "SYS_CHROOT",
                "SETFCAP"
            ]
        );
    }

    #[test]
    fn unknown_bits_are_named_by_number() {
        assert_eq!(cap_names(1 << 50), ["CAP_50"]);
    }

    #[test]
    fn cap_bits_accept_compose_spellings() {
        assert_eq!(cap_bit("NET_BIND_SERVICE"), Some(1 << 10));
        assert_eq!(cap_bit("cap_net_bind_service"), Some(1 << 10));
        assert_eq!(cap_bit(" CHOWN "), Some(1));
        assert_eq!(cap_bit("ALL"), None);
        assert_eq!(cap_bit("NOT_A_CAP"), None);
    }

    #[test]
    fn rejects_text_that_is_not_a_status_file() {
        assert_eq!(parse_status(""), None);
        assert_eq!(parse_status("Uid:\t1000\n"), None);
        assert_eq!(parse_status("Uid:\tx\nCapEff:\t0\n"), None);
        assert_eq!(parse_status("Uid:\t1\nCapEff:\tzz\n"), None);
        assert_eq!(parse_status("cat: /proc/1/status: No such file"), None);
    }

    const MOUNTINFO: &str = "\
80 53 0:40 / / ro,relatime - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w
82 80 0:43 / /tmp rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=16384k
84 80 0:45 / /run rw,nosuid,nodev,relatime - tmpfs tmpfs rw
88 80 254:0 /var/lib/containers/storage/volumes/p_data/_data /app/data rw,relatime - ext4 /dev/vda rw
90 80 254:0 /srv/conf /etc/my\\040app ro,relatime - ext4 /dev/vda rw
";

    #[test]
    fn finds_the_mount_covering_a_path() {
        let mounts = parse_mountinfo(MOUNTINFO);
        assert_eq!(mounts.len(), 5);
        let root = mount_for(&mounts, "/").expect("root");
        assert!(root.read_only);
        assert_eq!(root.fs_type, "overlay");
        let tmp = mount_for(&mounts, "/tmp/").expect("tmp");
        assert_eq!((tmp.target.as_str(), tmp.read_only), ("/tmp", false));
        assert_eq!(
            mount_for(&mounts, "/app/data/sub").expect("data").target,
            "/app/data"
        );
        // A path that merely starts with a mount point's name is not under it.
        assert_eq!(mount_for(&mounts, "/tmpfoo").expect("root").target, "/");
        assert_eq!(
            mount_for(&mounts, "/etc/my app").expect("esc").target,
            "/etc/my app"
        );
    }

    #[test]
    fn links_resolve_inside_the_containers_root() {
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        std::fs::create_dir_all(r.join("run/postgresql")).expect("mkdir");
        std::fs::create_dir_all(r.join("var/lib")).expect("mkdir");
        std::os::unix::fs::symlink("/run", r.join("var/run")).expect("link");
        std::os::unix::fs::symlink("../run/postgresql", r.join("var/lib/pg")).expect("link");
        std::os::unix::fs::symlink("loop", r.join("loop")).expect("link");
        let resolve = |p: &str| resolve_in(r, p);
        assert_eq!(
            resolve("/var/run/postgresql").as_deref(),
            Some("/run/postgresql")
        );
        assert_eq!(
            resolve("/var/run/postgresql/").as_deref(),
            Some("/run/postgresql")
        );
        assert_eq!(
            resolve("/var/lib/pg/x").as_deref(),
            Some("/run/postgresql/x")
        );
        assert_eq!(
            resolve("/srv/missing/dir").as_deref(),
            Some("/srv/missing/dir")
        );
        assert_eq!(resolve("/").as_deref(), Some("/"));
        assert_eq!(resolve("/loop"), None);
    }

    #[test]
    fn malformed_mountinfo_lines_are_skipped() {
        let mounts = parse_mountinfo("garbage\n1 2 3\n\\\n80 53 0:40 / / ro - \n");
        assert_eq!(mounts.len(), 1);
        assert_eq!(unescape_octal("a\\0"), "a\\0");
        assert_eq!(unescape_octal("\\777x"), "\\777x");
    }

    fn process(pid: u32, name: &str, uid: u32) -> Process {
        Process {
            pid,
            name: name.into(),
            uid,
            gid: uid,
        }
    }

    #[test]
    fn a_process_is_read_from_its_status() {
        let text = "Name:\tbusybox\nPid:\t42\nUid:\t911\t911\t911\t911\nGid:\t911\t911\t911\t911\nCapEff:\t0000000000000000\n";
        assert_eq!(parse_process(text), Some(process(42, "busybox", 911)));
        assert_eq!(parse_process("Name:\tx\n"), None);
    }

    #[test]
    fn root_main_processes_probe_as_the_owner_their_services_run_as() {
        let procs = [process(1, "init", 0), process(9, "busybox", 911)];
        // s6: /init is root, /config belongs to abc, which httpd runs as.
        assert_eq!(probe_user(0, Some(911), &procs).map(|p| p.pid), Some(9));
        // A root-owned path (nginx's /run) is written by the root master.
        assert_eq!(probe_user(0, Some(0), &procs), None);
        // An owner no process runs as proves nothing about the service.
        assert_eq!(probe_user(0, Some(70), &procs), None);
        // A non-root main process is the service's user already.
        assert_eq!(probe_user(999, Some(911), &procs), None);
        assert_eq!(probe_user(0, None, &procs), None);
    }
}
