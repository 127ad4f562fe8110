//! The project model: which files harden must harden together. A compose
//! file, its override file (as Compose pairs them), the files it includes
//! and the Dockerfiles its services build form one group; most files are a
//! group alone.

use crate::discover::Kind;
use crate::hash::{Map, Set};
use crate::link::Links;
use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::rc::Rc;

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
    let linked: Map<PathBuf, usize> = files
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
    let mut group_of: Map<usize, usize> = Map::default();
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
    let mut overrides: Map<(Option<&Path>, String), usize> = Map::default();
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

/// What harden learns about the folders around the files of a run, each
/// folder looked up once however many files share it: a tree of thousands
/// of files would otherwise repeat the same ancestor walks and script
/// reads for every file. Used on the thread that builds the project model.
pub struct Around {
    cwd: PathBuf,
    max_size: u64,
    /// Folder → the repository it is in (the nearest ancestor with `.git`).
    /// Keyed by the path's bytes, which hash faster than a `Path`.
    repo: RefCell<Map<OsString, Option<PathBuf>>>,
    /// Folder → the `-f` chains of its scripts ([`script_chains`]).
    scripts: RefCell<Map<OsString, Rc<Vec<ScriptChain>>>>,
}

/// A `-f` chain as a script writes it: the script, the line, the names.
pub type ScriptChain = (PathBuf, usize, Vec<String>);

impl Around {
    /// `cwd`: the working directory, canonical; `max_size`: the largest
    /// script read.
    pub fn new(cwd: PathBuf, max_size: u64) -> Self {
        Around {
            cwd,
            max_size,
            repo: RefCell::default(),
            scripts: RefCell::default(),
        }
    }

    /// The folder whose compose files may build the Dockerfile at `path`
    /// (canonical), so that a Dockerfile given alone is hardened for the
    /// stages its project runs: the repository's root (the nearest folder
    /// with `.git`), else the folder of the nearest harden.toml, else the
    /// working directory when the file is under it, else the file's folder.
    pub fn root_of(&self, path: &Path) -> PathBuf {
        let folder = path.parent().unwrap_or(Path::new("/"));
        if let Some(repo) = self.repo_of(folder) {
            return repo;
        }
        if let Some(config) = crate::config::find(folder) {
            if let Some(dir) = config.parent() {
                return dir.to_path_buf();
            }
        }
        if folder.starts_with(&self.cwd) {
            return self.cwd.clone();
        }
        folder.to_path_buf()
    }

    /// The nearest folder from `dir` up with `.git` in it; each folder
    /// on the way is asked once per run.
    fn repo_of(&self, dir: &Path) -> Option<PathBuf> {
        let mut cache = self.repo.borrow_mut();
        let mut walked: Vec<&Path> = Vec::new();
        let mut found = None;
        for d in dir.ancestors() {
            if let Some(known) = cache.get(d.as_os_str()) {
                found = known.clone();
                break;
            }
            walked.push(d);
            if std::fs::symlink_metadata(d.join(".git")).is_ok() {
                found = Some(d.to_path_buf());
                break;
            }
        }
        for d in walked {
            cache.insert(d.as_os_str().to_os_string(), found.clone());
        }
        found
    }

    /// The `-f` chains of the scripts in the folders from each compose
    /// file's (canonical) up to its project root ([`Self::root_of`]), as
    /// paths (joined to the script's folder, not resolved), each chain
    /// once.
    pub fn script_chains(&self, composes: &[PathBuf]) -> Vec<Vec<PathBuf>> {
        self.script_chains_found(composes)
            .into_iter()
            .map(|(_, _, chain)| chain)
            .collect()
    }

    /// [`Self::script_chains`], each chain with the script and line where
    /// it was first found, so a report can say where a variant comes from.
    pub fn script_chains_found(&self, composes: &[PathBuf]) -> Vec<(PathBuf, usize, Vec<PathBuf>)> {
        let mut seen: Set<&OsStr> = Set::default();
        for c in composes {
            let root = self.root_of(c);
            for dir in c.ancestors().skip(1) {
                if !seen.insert(dir.as_os_str()) || dir == root || !dir.starts_with(&root) {
                    break;
                }
            }
        }
        let mut folders: Vec<&Path> = seen.into_iter().map(Path::new).collect();
        // Canonical, so absolute: their bytes give the paths' order.
        folders.sort_by(|a, b| crate::paths::order(a, b));
        // The folders not read yet, read on every core: a tree has a
        // folder or more per project, each listed (with `scripts/` and
        // `bin/`) and its scripts read.
        let missing: Vec<&Path> = {
            let known = self.scripts.borrow();
            folders
                .iter()
                .copied()
                .filter(|f| !known.contains_key(f.as_os_str()))
                .collect()
        };
        let max_size = self.max_size;
        let read = crate::par::map(&missing, |f| script_chains(f, max_size));
        self.scripts.borrow_mut().extend(
            missing
                .iter()
                .zip(read)
                .map(|(f, chains)| (f.as_os_str().to_os_string(), Rc::new(chains))),
        );
        let mut out: Vec<(PathBuf, usize, Vec<PathBuf>)> = Vec::new();
        let mut seen: Set<Vec<PathBuf>> = Set::default();
        for folder in folders {
            for (file, line, names) in self.scripts_in(folder).iter() {
                let dir = file.parent().unwrap_or(Path::new(""));
                let chain: Vec<PathBuf> = names
                    .iter()
                    .map(|n| crate::paths::normalize(&dir.join(n)))
                    .collect();
                if seen.insert(chain.clone()) {
                    out.push((file.clone(), *line, chain));
                }
            }
        }
        out
    }

    fn scripts_in(&self, folder: &Path) -> Rc<Vec<ScriptChain>> {
        if let Some(known) = self.scripts.borrow().get(folder.as_os_str()) {
            return known.clone();
        }
        let found = Rc::new(script_chains(folder, self.max_size));
        self.scripts
            .borrow_mut()
            .insert(folder.as_os_str().to_os_string(), found.clone());
        found
    }
}

/// The file names Compose reads by default: a project's base file.
pub const BASE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// A compose file of the run, for [`variants`]: its path, and the names
/// of its services (`None` when it did not parse).
pub type ComposeFile<'a> = (&'a Path, Option<Vec<String>>);

/// Variants: compose files used on top of a base (`-f base -f variant`)
/// whose every service the base defines, so that the base is also run
/// alone. Each is (the files under it, in order; the variant). A variant
/// is the file beside a base file (`docker-compose.prod.yml` beside
/// `docker-compose.yml`), or a later file of a `-f` chain the project's
/// scripts run (`chains`, indices into `files`). Files already in a
/// project of several files (`taken`: override pairs, the run's `-f`
/// files) are left as they are.
pub fn variants(
    files: &[ComposeFile],
    chains: &[Vec<usize>],
    taken: &[usize],
) -> Vec<(Vec<usize>, usize)> {
    let services_in = |bases: &[usize], v: usize| -> bool {
        let Some(own) = files.get(v).and_then(|f| f.1.as_ref()) else {
            return false;
        };
        !own.is_empty()
            && own.iter().all(|s| {
                bases.iter().any(|&b| {
                    files
                        .get(b)
                        .and_then(|f| f.1.as_ref())
                        .is_some_and(|names| names.contains(s))
                })
            })
    };
    let mut out: Vec<(Vec<usize>, usize)> = Vec::new();
    for chain in chains {
        for (k, &v) in chain.iter().enumerate().skip(1) {
            let bases = &chain[..k];
            if !taken.contains(&v) && !out.iter().any(|(_, o)| *o == v) && services_in(bases, v) {
                out.push((bases.to_vec(), v));
            }
        }
    }
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
    };
    // The base files by folder and name: a tree of thousands of compose
    // files would otherwise compare every pair of paths.
    let mut bases_at: Map<(&Path, String), usize> = Map::default();
    for (i, (bp, _)) in files.iter().enumerate() {
        let n = name(bp);
        if BASE_NAMES.contains(&n.as_str()) {
            bases_at
                .entry((bp.parent().unwrap_or(Path::new("")), n))
                .or_insert(i);
        }
    }
    let taken: std::collections::HashSet<usize> = taken.iter().copied().collect();
    let mut in_chains: std::collections::HashSet<usize> = std::collections::HashSet::new();
    for (bases, o) in &out {
        in_chains.insert(*o);
        in_chains.extend(bases.iter().copied());
    }
    for (v, (vp, _)) in files.iter().enumerate() {
        if taken.contains(&v) || in_chains.contains(&v) || BASE_NAMES.contains(&name(vp).as_str()) {
            continue;
        }
        // The base beside it, by Compose's order of default names.
        let dir = vp.parent().unwrap_or(Path::new(""));
        let base = BASE_NAMES
            .iter()
            .find_map(|n| bases_at.get(&(dir, n.to_string())).copied());
        if let Some(b) = base.filter(|&b| services_in(&[b], v)) {
            in_chains.extend([b, v]);
            out.push((vec![b], v));
        }
    }
    out
}

/// The `-f` chains a project's own scripts run, as written there:
/// `docker compose -f a.yml -f b.yml up` (or `docker-compose`,
/// `podman-compose`, `--file`), with the names as written, from the
/// Makefiles and shell scripts in `dir` and its `scripts/` and `bin/`
/// folders, each with the script and the line it starts on. Names with a
/// variable in them are left out.
pub fn script_chains(dir: &Path, max_size: u64) -> Vec<ScriptChain> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for folder in [dir.to_path_buf(), dir.join("scripts"), dir.join("bin")] {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let n = e.file_name().to_string_lossy().to_ascii_lowercase();
            let script = n == "makefile"
                || n == "gnumakefile"
                || n.ends_with(".mk")
                || n.ends_with(".sh")
                || n.ends_with(".bash");
            if script && e.file_type().is_ok_and(|t| t.is_file()) {
                files.push(e.path());
            }
        }
    }
    files.sort();
    for f in files {
        let Ok(text) = crate::paths::read_text(&f, max_size) else {
            continue;
        };
        for (line, chain) in compose_file_chains(&text) {
            out.push((f.clone(), line, chain));
        }
    }
    out
}

/// Every compose command in a script's text with two or more `-f` files,
/// with the line (from 1) the command's line starts on.
fn compose_file_chains(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    // Lines joined where they continue with a backslash, each with the
    // number of its first line.
    let mut joined: Vec<(usize, String)> = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (n, l) in text.lines().enumerate() {
        let (start, mut acc) = open.take().unwrap_or((n + 1, String::new()));
        match l.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                acc.push(' ');
                open = Some((start, acc));
            }
            None => {
                acc.push_str(l);
                joined.push((start, acc));
            }
        }
    }
    joined.extend(open);
    for (number, line) in &joined {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut i = 0;
        while i < words.len() {
            let w = words[i].trim_start_matches(['(', '`', '@', '-']);
            let compose = match w {
                "docker-compose" | "podman-compose" => Some(i + 1),
                "docker" | "podman" if words.get(i + 1) == Some(&"compose") => Some(i + 2),
                _ => None,
            };
            let Some(mut j) = compose else {
                i += 1;
                continue;
            };
            let mut chain = Vec::new();
            let mut plain = true;
            while j < words.len() {
                let word = words[j];
                if matches!(word, "&&" | "||" | ";" | "|") || word.ends_with(';') {
                    break;
                }
                let file = match word {
                    "-f" | "--file" => {
                        j += 1;
                        words.get(j).copied()
                    }
                    // Compose's own options that take a value.
                    "-p"
                    | "--project-name"
                    | "--profile"
                    | "--env-file"
                    | "--project-directory"
                    | "--ansi"
                    | "--parallel"
                    | "--progress" => {
                        j += 2;
                        continue;
                    }
                    // The subcommand: what follows is its own.
                    w if !w.starts_with('-') => break,
                    _ => word.strip_prefix("--file="),
                };
                if let Some(f) = file {
                    let f = f.trim_matches(['"', '\'']);
                    if f.contains('$') || f.is_empty() {
                        plain = false;
                    }
                    chain.push(f.to_string());
                }
                j += 1;
            }
            if plain && chain.len() > 1 {
                out.push((*number, chain));
            }
            i = j.max(i + 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_chains_in_scripts() {
        let make = "up-prod:\n\tdocker compose -f docker-compose.yml \\\n\t  -f docker-compose.prod.yml up -d\n\
                    dev:\n\tdocker-compose --file=compose.yaml up\n\
                    ci:\n\t@docker compose -f \"compose.yaml\" --file compose.ci.yml run --rm -f x tests && docker compose down\n\
                    env:\n\tdocker compose -f compose.yaml -f compose.$(ENV).yml up\n";
        assert_eq!(
            compose_file_chains(make)
                .iter()
                .map(|(n, c)| (*n, c.iter().map(String::as_str).collect::<Vec<_>>()))
                .collect::<Vec<_>>(),
            vec![
                (2, vec!["docker-compose.yml", "docker-compose.prod.yml"]),
                (7, vec!["compose.yaml", "compose.ci.yml"]),
            ]
        );
    }

    #[test]
    fn a_variant_has_only_services_of_its_base() {
        let p = |s: &'static str| Path::new(s);
        let names = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
        let files: Vec<ComposeFile> = vec![
            (p("app/docker-compose.yml"), names(&["web", "db"])),
            (p("app/docker-compose.prod.yml"), names(&["web"])),
            (
                p("app/docker-compose.tools.yml"),
                names(&["web", "genkeys"]),
            ),
            (p("other/docker-compose.prod.yml"), names(&["web"])),
            (p("app/compose.ci.yml"), names(&["db"])),
        ];
        assert_eq!(variants(&files, &[], &[]), vec![(vec![0], 1), (vec![0], 4)]);
        assert_eq!(
            variants(&files, &[vec![0, 4]], &[]),
            vec![(vec![0], 4), (vec![0], 1)]
        );
        // A base in a project of its own still has variants.
        assert_eq!(variants(&files, &[], &[0, 1]), vec![(vec![0], 4)]);
    }
}
