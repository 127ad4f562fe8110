//! Compose files that tests and CI run (`docker-compose.test.yml`,
//! `compose.ci.yaml`, files in a `test/`, `tests/` or `ci/` folder): the
//! data their services write belongs to one run, so the plan's data
//! volumes become tmpfs mounts, which start empty every time, instead of
//! named volumes that carry state from one run to the next.

use crate::compose::service::Service;
use crate::plan::{Carve, ServicePlan};
use std::borrow::Cow;
use std::path::Path;

/// The words in a compose file's name, or the names of its folder and
/// the folder above, that say tests or CI run it.
const TEST_WORDS: &[&str] = &["test", "tests", "ci"];

/// Whether tests or CI run the compose file at `path`: a word of its name
/// (split at `.`, `-` and `_`, the extension left out) or the name of its
/// folder or of the folder above is one of [`TEST_WORDS`].
pub fn is_test_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(&name);
    if stem.split(['.', '-', '_']).any(|w| TEST_WORDS.contains(&w)) {
        return true;
    }
    path.ancestors()
        .skip(1)
        .take(2)
        .filter_map(|d| d.file_name())
        .any(|d| TEST_WORDS.contains(&d.to_string_lossy().to_ascii_lowercase().as_str()))
}

/// Why a data path of a test file is a tmpfs.
const WHY: &str = "a tmpfs, not a named volume, since tests or CI run this file: the data belongs to one run, and a volume would carry it into the next";
/// The same, in a few words, for the notes' short form.
const SHORT_WHY: &str = "a tmpfs, since tests or CI run this file";

/// Turn the plan's data volumes into tmpfs mounts of `size`, world-writable
/// (mode 1777, which the Dockerfile gives the mountpoint too, for runtimes
/// that take a tmpfs's mode from it). Cache volumes stay: what they hold is
/// worth keeping between runs. A known image whose entrypoint prepares its
/// data directory as root (chown, then a drop to its own user) is left to
/// do so, since a tmpfs cannot be given to its user on every engine: the
/// plan's `user:` for it is dropped and the capabilities that branch
/// needs come back.
pub fn for_one_run(plan: &mut ServicePlan, svc: &Service, size: &str) {
    let mut moved = Vec::new();
    for c in &mut plan.carve_outs {
        if let Carve::Volume { cache: false, .. } = c.carve {
            c.carve = Carve::Tmpfs {
                options: format!("size={size},mode=1777"),
            };
            c.why = Cow::Owned(format!("{}; {WHY}", c.why));
            if let Some(short) = &c.short {
                c.short = Some(Cow::Owned(format!("{short}; {SHORT_WHY}")));
            }
            moved.push(c.path.clone());
        }
    }
    plan.volume_dirs.retain(|d| !moved.contains(d));
    for path in &moved {
        plan.tmpfs_dirs.push((path.clone(), "1777".to_string()));
    }
    let Some(profile) = plan.profile.clone() else {
        return;
    };
    // Its data on a tmpfs, added now or by an earlier run of harden.
    let image = svc
        .scalar("image")
        .and_then(|(n, _)| n.as_str())
        .unwrap_or_default();
    let mounts = crate::compose::mounts::mounts_of(svc.doc, svc);
    let on_tmpfs = profile
        .writes_for(image)
        .filter(|w| w.kind == crate::profiles::WriteKind::Volume && !w.disposable)
        .any(|w| moved.contains(&w.path) || mounts.iter().any(|m| m.tmpfs && m.target == w.path));
    if !on_tmpfs {
        return;
    }
    let prepares_as_root = profile.runs_as_root_by_default
        && matches!(
            profile.entrypoint_drops_privileges.as_deref(),
            Some("gosu" | "su-exec" | "setpriv")
        );
    if !prepares_as_root || plan.user.is_none() || svc.effective("user").is_some() {
        return;
    }
    plan.user = None;
    let why = profile
        .caps
        .why
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for c in &profile.caps.needed_as_root {
        if !plan.cap_add.iter().any(|(have, _)| have == c) {
            plan.cap_add.push((c.clone(), why.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_test_file;
    use std::path::Path;

    #[test]
    fn test_and_ci_files() {
        for p in [
            "docker-compose.test.yml",
            "compose.ci.yaml",
            "app/docker-compose-test.yml",
            "tests/compose.yaml",
            "test/integration/docker-compose.yml",
            "ci/docker-compose.yml",
        ] {
            assert!(is_test_file(Path::new(p)), "{p}");
        }
        for p in [
            "docker-compose.yml",
            "compose.prod.yaml",
            "docker-compose.testing-tools.yml",
            "tests/fixtures/projects/shop/compose.yaml",
            "contest/compose.yaml",
            "examples/e2e/web/compose.yaml",
        ] {
            assert!(!is_test_file(Path::new(p)), "{p}");
        }
    }
}
