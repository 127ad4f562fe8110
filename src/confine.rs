//! The roots of a run: the folders harden was given (the PATHs, or the
//! folders of the `-f` files and of PATHs that are files). harden writes
//! only files whose canonical path lies inside one of them; a file it
//! reaches through a link (a symlinked Dockerfile, `build: ../backend`,
//! `include: [../x.yaml]`) is read for the plan and left alone, with a note
//! that says how to include it. Errors about a file outside the roots
//! never quote its content.

use crate::cli::Common;
use crate::engine::FileResult;
use crate::finding::{Note, NoteKind};
use std::path::{Component, Path, PathBuf};

/// The canonical folders a run may write in.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    dirs: Vec<PathBuf>,
}

impl Roots {
    /// The roots of a run with these options.
    pub fn of(common: &Common) -> Self {
        let mut paths: Vec<&Path> = common.paths.iter().map(PathBuf::as_path).collect();
        if paths.is_empty() && common.files.is_empty() {
            paths.push(Path::new("."));
        }
        let mut roots = Roots::from_paths(&paths);
        // An `-f` file names a file: its root is the folder it is written
        // in, even where the name is a link to a folder elsewhere (which
        // would otherwise make that folder a root).
        for f in &common.files {
            roots.add(parent_of(f));
        }
        roots
    }

    /// The roots for these paths: a folder is a root; a file's folder is.
    pub fn from_paths(given: &[&Path]) -> Self {
        let mut roots = Roots::default();
        for p in given {
            roots.add(if p.is_dir() { p } else { parent_of(p) });
        }
        roots
    }

    fn add(&mut self, dir: &Path) {
        if let Ok(d) = std::fs::canonicalize(dir) {
            if !self.dirs.contains(&d) {
                self.dirs.push(d);
            }
        }
    }

    /// Whether a canonical path lies inside a root.
    pub fn contains(&self, canonical: &Path) -> bool {
        self.dirs.iter().any(|d| canonical.starts_with(d))
    }

    /// Make a result safe to report and write: a file outside the roots
    /// loses its fix (the notes say what it needs and how to include it)
    /// and its error no longer quotes its content; an error about a file
    /// inside them is cut short and its control characters escaped.
    pub fn hold(&self, mut r: FileResult) -> FileResult {
        // A path that does not resolve (missing, a link loop) was not read:
        // its error quotes nothing of it, and nothing can be written there.
        let outside = (r.fixed.is_some() || r.error.is_some())
            && std::fs::canonicalize(&r.path).is_ok_and(|c| !self.contains(&c));
        if let Some(e) = &mut r.error {
            e.message = if outside {
                format!(
                    "cannot be used: {}; its content is not shown, since the file is outside \
                     the paths harden was given",
                    what_failed(&e.message)
                )
            } else {
                crate::escape::excerpt(&e.message, crate::escape::MAX_MESSAGE)
            };
        }
        if outside && r.fixed.take().is_some() {
            let needs = needs(&r.out.notes);
            let folder = std::fs::canonicalize(&r.path)
                .ok()
                .and_then(|c| c.parent().map(Path::to_path_buf))
                .map(|d| relative_to_cwd(&d))
                .unwrap_or_else(|| ".".into());
            r.out.notes.retain(|n| n.kind != NoteKind::Change);
            r.out.edits.clear();
            r.out.notes.insert(
                0,
                Note {
                    subject: String::new(),
                    rule: None,
                    text: format!(
                        "not changed: the file lies outside the paths harden was given \
                         (a link or a compose file leads there), so it was read for the plan \
                         only. It needs: {needs}. To harden it too, include its folder: \
                         `harden fix {folder}`"
                    ),
                    short: None,
                    shared: None,
                    kind: NoteKind::Review,
                    migration: false,
                },
            );
        }
        r
    }
}

/// The kind of failure in fixed words, so that no text that may come from
/// the file is shown.
fn what_failed(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("utf-8") {
        "it is not UTF-8 text"
    } else if m.contains("--max-file-size") {
        "it is larger than --max-file-size"
    } else if m.contains("not a regular file") {
        "it is not a regular file"
    } else if m.contains("permission denied") {
        "permission denied"
    } else if m.contains("no such file") {
        "it does not exist"
    } else {
        "it does not parse"
    }
}

/// What the rules would have changed, by rule, from the change notes.
fn needs(notes: &[Note]) -> String {
    let mut rules: Vec<&str> = Vec::new();
    for n in notes.iter().filter(|n| n.kind == NoteKind::Change) {
        if let Some(r) = n.rule {
            if !rules.contains(&r) {
                rules.push(r);
            }
        }
    }
    if rules.is_empty() {
        "the changes `harden fix` makes to the files beside it".into()
    } else {
        rules
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A folder as the user would type it from the working directory:
/// `../backend` rather than an absolute path, where one is shorter.
pub fn relative_to_cwd(dir: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .map(|cwd| relative(dir, &cwd))
        .unwrap_or_else(|| dir.to_path_buf());
    let s = shown.to_string_lossy().into_owned();
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

/// The folder a path is written in (`.` for a bare name).
fn parent_of(p: &Path) -> &Path {
    p.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// `to` relative to `from`, both absolute.
fn relative(to: &Path, from: &Path) -> PathBuf {
    let a: Vec<Component> = to.components().collect();
    let b: Vec<Component> = from.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common <= 1 && b.len() > 2 {
        return to.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &a[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("/w/backend"), Path::new("/w/app")),
            PathBuf::from("../backend")
        );
        assert_eq!(
            relative(Path::new("/w/app/x"), Path::new("/w/app")),
            PathBuf::from("x")
        );
        assert_eq!(
            relative(Path::new("/etc"), Path::new("/home/a/b")),
            PathBuf::from("/etc")
        );
    }

    #[test]
    fn messages_are_escaped_and_short() {
        let short = |m: &str| crate::escape::excerpt(m, crate::escape::MAX_MESSAGE);
        assert_eq!(short("a\x1b]0;x\x07b"), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(
            short(&"y".repeat(1000)).chars().count(),
            crate::escape::MAX_MESSAGE + 1
        );
        assert_eq!(
            what_failed("unknown instruction: ROOT:*:20228"),
            "it does not parse"
        );
    }
}
