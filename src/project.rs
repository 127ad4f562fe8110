//! The project model: which files harden must harden together. A compose
//! file, its override file (as Compose pairs them), the files it includes
//! and the Dockerfiles its services build form one group; most files are a
//! group alone.

use crate::discover::Kind;
use crate::link::Links;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The files that must be hardened together, each group sorted and the
/// groups in order of their first file: the compose files of one project
/// (`edges`: override and -f files, included and extended files) and the
/// Dockerfiles their services build (and, through a Dockerfile two compose
/// files build, both of them). Most files are a group alone.
///
/// `files`: each file's path, kind, and whether it is a parsed compose file
/// (whose services can build the linked Dockerfiles).
pub fn groups(
    files: &[(&Path, Option<Kind>, bool)],
    links: &Links,
    edges: &[(usize, usize)],
) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..files.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let join = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (root(parent, a), root(parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    };
    for &(a, b) in edges {
        if a < files.len() && b < files.len() {
            join(&mut parent, a, b);
        }
    }
    // Linked Dockerfiles by canonical path; the name check in `is_linked`
    // keeps the system calls to the few files that can be linked.
    let linked: HashMap<PathBuf, usize> = files
        .iter()
        .enumerate()
        .filter(|(_, s)| s.1 == Some(Kind::Dockerfile) && links.is_linked(s.0))
        .map(|(i, s)| (links.canonical(s.0), i))
        .collect();
    if !linked.is_empty() {
        for (c, s) in files.iter().enumerate() {
            if !s.2 {
                continue;
            }
            for df in links.built_from(s.0) {
                if let Some(&d) = linked.get(df) {
                    join(&mut parent, c, d);
                }
            }
        }
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for i in 0..files.len() {
        let r = root(&mut parent, i);
        match group_of.get(&r) {
            Some(&g) => out[g].push(i),
            None => {
                group_of.insert(r, out.len());
                out.push(vec![i]);
            }
        }
    }
    out
}

/// (base, override) index pairs: `compose.yaml` with `compose.override.yaml`,
/// `docker-compose.yml` with `docker-compose.override.yml` (either
/// extension), in the same folder, as Compose pairs them.
pub fn override_pairs_of(files: &[(&Path, Option<Kind>)]) -> Vec<(usize, usize)> {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let stem = |n: &str| -> Option<(String, bool)> {
        let n = n.strip_suffix(".yaml").or_else(|| n.strip_suffix(".yml"))?;
        match n {
            "compose" | "docker-compose" => Some((n.to_string(), false)),
            "compose.override" | "docker-compose.override" => {
                Some((n.trim_end_matches(".override").to_string(), true))
            }
            _ => None,
        }
    };
    // Override files by (folder, base stem): one pass, not a search per file.
    let mut overrides: HashMap<(Option<&Path>, String), usize> = HashMap::new();
    for (o, (op, ok)) in files.iter().enumerate() {
        if let (Some(Kind::Compose), Some((s, true))) = (ok, stem(&name(op))) {
            overrides.entry((op.parent(), s)).or_insert(o);
        }
    }
    let mut out = Vec::new();
    if overrides.is_empty() {
        return out;
    }
    for (b, (bp, bk)) in files.iter().enumerate() {
        if *bk != Some(Kind::Compose) {
            continue;
        }
        if let Some((s, false)) = stem(&name(bp)) {
            if let Some(o) = overrides.get(&(bp.parent(), s)) {
                out.push((b, *o));
            }
        }
    }
    out
}

/// The folder whose compose files may build the Dockerfile at `path`
/// (canonical), so that a Dockerfile given alone is hardened for the
/// stages its project runs: the repository's root (the nearest folder
/// with `.git`), else the folder of the nearest harden.toml, else the
/// working directory when the file is under it, else the file's folder.
pub fn root_of(path: &Path, cwd: &Path) -> PathBuf {
    let folder = path.parent().unwrap_or(Path::new("/"));
    if let Some(repo) = folder
        .ancestors()
        .find(|d| std::fs::symlink_metadata(d.join(".git")).is_ok())
    {
        return repo.to_path_buf();
    }
    if let Some(config) = crate::config::find(folder) {
        if let Some(dir) = config.parent() {
            return dir.to_path_buf();
        }
    }
    if folder.starts_with(cwd) {
        return cwd.to_path_buf();
    }
    folder.to_path_buf()
}
