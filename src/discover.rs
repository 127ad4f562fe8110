//! Finding the files to harden: walking directories (respecting .gitignore)
//! and classifying files by name.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Dockerfile,
    Compose,
    /// A program's source file (an entry module `fix --canary` edits):
    /// never found by walking, only reached from a Dockerfile.
    Source,
}

/// A file to read, or a path that could not be used.
#[derive(Debug, Clone)]
pub enum Found {
    File { path: PathBuf, kind: Kind },
    Error { path: PathBuf, message: String },
}

/// Classify a file name the way DESIGN.md lists them.
pub fn classify_name(name: &str) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    if yaml
        && (lower.starts_with("docker-compose")
            || lower == "compose.yml"
            || lower == "compose.yaml"
            || lower.starts_with("compose."))
    {
        return Some(Kind::Compose);
    }
    if lower == "dockerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
        || lower == "containerfile"
        || lower.starts_with("containerfile.")
    {
        return Some(Kind::Dockerfile);
    }
    None
}

/// A file named explicitly is taken even when its name is unusual: YAML by
/// extension is Compose, anything else a Dockerfile.
fn classify_explicit(path: &Path) -> Kind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    classify_name(&name).unwrap_or_else(|| {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".yml") || lower.ends_with(".yaml") {
            Kind::Compose
        } else {
            Kind::Dockerfile
        }
    })
}

/// Expand the given paths into files, sorted and de-duplicated per argument.
/// Symbolic links found while walking are followed only when they stay inside
/// the walked tree. Folders are walked on every core.
pub fn discover(paths: &[PathBuf]) -> Vec<Found> {
    discover_on(paths, crate::par::cores())
}

/// [`discover`] on one thread: for the folders read around the files a run
/// was given (a project's root), where the walk is usually small and the
/// parallel walker's idle threads, which poll every millisecond, would add
/// that millisecond to a run on one file.
pub fn discover_here(paths: &[PathBuf]) -> Vec<Found> {
    discover_on(paths, 1)
}

fn discover_on(paths: &[PathBuf], threads: usize) -> Vec<Found> {
    let mut out = Vec::new();
    let mut seen: crate::hash::Set<PathBuf> = crate::hash::Set::default();
    for root in paths {
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                out.push(Found::Error {
                    path: root.clone(),
                    message: io_message(&e),
                });
                continue;
            }
        };
        if !meta.is_dir() {
            if seen.insert(root.clone()) {
                out.push(Found::File {
                    path: root.clone(),
                    kind: classify_explicit(root),
                });
            }
            continue;
        }
        let canon_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
        // On every core for the run's own paths: listing folders and
        // reading ignore files was a tenth of a run over a large tree. The
        // sort below restores the order.
        let found = std::sync::Mutex::new(Vec::new());
        let walk = ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_global(global_gitignore_may_apply())
            .filter_entry(|e| e.file_name() != ".git")
            .follow_links(false)
            .threads(threads)
            .clone();
        if threads > 1 {
            walk.build_parallel().run(|| {
                let (found, root, canon_root) = (&found, root, &canon_root);
                Box::new(move |entry| {
                    if let Some(f) = visit(entry, root, canon_root) {
                        if let Ok(mut found) = found.lock() {
                            found.push(f);
                        }
                    }
                    ignore::WalkState::Continue
                })
            });
        } else if let Ok(mut found) = found.lock() {
            found.extend(walk.build().filter_map(|e| visit(e, root, &canon_root)));
        }
        let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
        // Every path starts with `root`: their bytes give the paths' order.
        found.sort_by(|a, b| crate::paths::order(found_path(a), found_path(b)));
        for f in found {
            if seen.insert(found_path(&f).to_path_buf()) {
                out.push(f);
            }
        }
    }
    out
}

/// What one entry of the walk is to harden: a file it reads, an error to
/// report, or nothing.
fn visit(
    entry: Result<ignore::DirEntry, ignore::Error>,
    root: &Path,
    canon_root: &Path,
) -> Option<Found> {
    let entry = match entry {
        Ok(e) => e,
        Err(e) => {
            let path = match &e {
                ignore::Error::WithPath { path, .. } => path.clone(),
                _ => root.to_path_buf(),
            };
            return Some(Found::Error {
                path,
                message: e.to_string(),
            });
        }
    };
    let ft = entry.file_type()?;
    let kind = classify_name(&entry.file_name().to_string_lossy())?;
    let path = entry.path().to_path_buf();
    if ft.is_symlink() {
        match std::fs::canonicalize(&path) {
            Ok(target) if target.starts_with(canon_root) && target.is_file() => {}
            Ok(_) => return None, // points out of the tree or at a non-file: not ours to edit
            Err(e) => {
                return Some(Found::Error {
                    path,
                    message: io_message(&e),
                })
            }
        }
    } else if !ft.is_file() {
        return None;
    }
    Some(Found::File { path, kind })
}

fn found_path(f: &Found) -> &Path {
    match f {
        Found::File { path, .. } | Found::Error { path, .. } => path,
    }
}

pub use crate::paths::io_message;

/// Whether the user may have a global gitignore: git's default one exists,
/// or a git config file sets `core.excludesFile`. When neither, the walk
/// skips looking for one, which compiles a regular expression to read the
/// config files (a third of the start-up of a run on one file) for the same
/// result.
fn global_gitignore_may_apply() -> bool {
    /// A git config file larger than this is not read here.
    const GIT_CONFIG_MAX: u64 = 1 << 20;
    use std::path::PathBuf;
    let env_path = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env_path("HOME");
    let config_home =
        env_path("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
    if config_home
        .as_ref()
        .is_some_and(|c| c.join("git/ignore").exists())
    {
        return true;
    }
    let configs = [
        env_path("GIT_CONFIG_GLOBAL"),
        home.map(|h| h.join(".gitconfig")),
        config_home.map(|c| c.join("git/config")),
        env_path("GIT_CONFIG_SYSTEM").or_else(|| Some(PathBuf::from("/etc/gitconfig"))),
    ];
    configs
        .into_iter()
        .flatten()
        .any(|p| match std::fs::metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            // Unreadable or larger than a config file is: let the walk
            // decide, as it always did.
            _ => crate::fsio::read_bytes(&p, GIT_CONFIG_MAX).map_or(true, |bytes| {
                bytes
                    .windows(b"excludesfile".len())
                    .any(|w| w.eq_ignore_ascii_case(b"excludesfile"))
            }),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for n in [
            "compose.yaml",
            "compose.yml",
            "compose.prod.yaml",
            "docker-compose.yml",
            "docker-compose.override.yaml",
        ] {
            assert_eq!(classify_name(n), Some(Kind::Compose), "{n}");
        }
        for n in [
            "Dockerfile",
            "Dockerfile.dev",
            "api.Dockerfile",
            "Containerfile",
        ] {
            assert_eq!(classify_name(n), Some(Kind::Dockerfile), "{n}");
        }
        for n in [
            "values.yaml",
            "Dockerfile.md.txt.yaml",
            "README.md",
            "compose.json",
        ] {
            assert_ne!(classify_name(n), Some(Kind::Compose), "{n}");
        }
    }
}
