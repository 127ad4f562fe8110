//! A property of `harden fix` on random trees with symbolic links (to
//! files and folders inside and outside the path given, dangling, in
//! loops), compose files whose build contexts, Dockerfiles and includes
//! point inside and outside: nothing outside the path is written, created
//! or removed, and harden never panics.

mod common;

use common::BIN;
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn cases(default: u32) -> Config {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    }
}

const DOCKERFILE: &str =
    "FROM debian:bookworm-slim\nRUN apt-get update\nCMD [\"sleep\", \"infinity\"]\n";
const COMPOSE: &str = "services:\n  db:\n    image: postgres:16\n";

/// Folders of the tree given to harden.
const DIRS: &[&str] = &["", "a", "a/b"];
/// Names a link or file may have.
const NAMES: &[&str] = &[
    "Dockerfile",
    "compose.yaml",
    "docker-compose.yml",
    "compose.override.yaml",
    "api.Dockerfile",
    "ctx",
];

/// What a link points at.
#[derive(Debug, Clone)]
enum Target {
    OutsideFile(usize),
    OutsideDir,
    AbsoluteOutside(usize),
    InsideFile(usize),
    InsideDir(usize),
    Itself,
    Dangling,
}

/// One entry of the tree.
#[derive(Debug, Clone)]
enum Entry {
    Compose {
        dir: usize,
        name: usize,
        builds: Vec<(usize, usize)>,
        include: Option<usize>,
    },
    Dockerfile {
        dir: usize,
        name: usize,
    },
    Link {
        dir: usize,
        name: usize,
        target: Target,
    },
}

const OUTSIDE_FILES: &[&str] = &[
    "Dockerfile",
    "compose.yaml",
    "sub/Dockerfile",
    "sub/compose.yaml",
];

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        (0..OUTSIDE_FILES.len()).prop_map(Target::OutsideFile),
        Just(Target::OutsideDir),
        (0..OUTSIDE_FILES.len()).prop_map(Target::AbsoluteOutside),
        (0..NAMES.len()).prop_map(Target::InsideFile),
        (0..DIRS.len()).prop_map(Target::InsideDir),
        Just(Target::Itself),
        Just(Target::Dangling),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        (
            0..DIRS.len(),
            1..4usize,
            prop::collection::vec((0..6usize, 0..3usize), 0..4),
            prop::option::of(0..3usize)
        )
            .prop_map(|(dir, name, builds, include)| Entry::Compose {
                dir,
                name,
                builds,
                include
            }),
        (0..DIRS.len(), prop_oneof![Just(0usize), Just(4usize)])
            .prop_map(|(dir, name)| Entry::Dockerfile { dir, name }),
        (0..DIRS.len(), 0..NAMES.len(), target()).prop_map(|(dir, name, target)| Entry::Link {
            dir,
            name,
            target
        }),
    ]
}

/// `..` steps from a folder of the tree to the folder holding it and
/// `outside`.
fn up(dir: usize) -> String {
    "../".repeat(1 + DIRS[dir].matches('/').count() + usize::from(!DIRS[dir].is_empty()))
}

fn build(context: usize, dockerfile: usize, dir: usize, outside: &Path) -> String {
    let ctx = match context {
        0 => ".".to_string(),
        1 => format!("{}outside", up(dir)),
        2 => outside.display().to_string(),
        3 => format!("{}outside/sub", up(dir)),
        4 => "ctx".to_string(),
        _ => "..".to_string(),
    };
    let df = match dockerfile {
        0 => "Dockerfile".to_string(),
        1 => outside.join("sub/Dockerfile").display().to_string(),
        _ => "api.Dockerfile".to_string(),
    };
    format!("    build:\n      context: {ctx}\n      dockerfile: {df}\n")
}

fn make_tree(base: &Path, entries: &[Entry]) {
    let root = base.join("root");
    let outside = base.join("outside");
    for f in OUTSIDE_FILES {
        let p = outside.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let text = if f.ends_with("Dockerfile") {
            DOCKERFILE
        } else {
            COMPOSE
        };
        std::fs::write(p, text).unwrap();
    }
    for d in DIRS {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for e in entries {
        let (dir, name) = match e {
            Entry::Compose { dir, name, .. }
            | Entry::Dockerfile { dir, name }
            | Entry::Link { dir, name, .. } => (*dir, *name),
        };
        let path = root.join(DIRS[dir]).join(NAMES[name]);
        if std::fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        match e {
            Entry::Compose {
                builds, include, ..
            } => {
                let mut text = String::new();
                if let Some(i) = include {
                    let inc = match i {
                        0 => format!("{}outside/compose.yaml", up(dir)),
                        1 => outside.join("sub/compose.yaml").display().to_string(),
                        _ => "compose.yaml".to_string(),
                    };
                    text.push_str(&format!("include:\n  - {inc}\n"));
                }
                text.push_str("services:\n  web:\n    image: nginx:1.27\n");
                for (n, (c, f)) in builds.iter().enumerate() {
                    text.push_str(&format!("  svc{n}:\n{}", build(*c, *f, dir, &outside)));
                }
                std::fs::write(&path, text).unwrap();
            }
            Entry::Dockerfile { .. } => std::fs::write(&path, DOCKERFILE).unwrap(),
            Entry::Link { target, .. } => {
                let to: PathBuf = match target {
                    Target::OutsideFile(i) => {
                        format!("{}outside/{}", up(dir), OUTSIDE_FILES[*i]).into()
                    }
                    Target::OutsideDir => format!("{}outside", up(dir)).into(),
                    Target::AbsoluteOutside(i) => outside.join(OUTSIDE_FILES[*i]),
                    Target::InsideFile(i) => NAMES[*i].into(),
                    Target::InsideDir(i) => root.join(DIRS[*i]),
                    Target::Itself => NAMES[name].into(),
                    Target::Dangling => "missing".into(),
                };
                std::os::unix::fs::symlink(to, &path).unwrap();
            }
        }
    }
}

/// Every entry under a folder, links not followed: path → what it is.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                todo.push(p.clone());
                "dir".to_string()
            } else {
                use std::os::unix::fs::MetadataExt;
                format!(
                    "{:o} {} {}",
                    m.mode(),
                    m.ino(),
                    std::fs::read_to_string(&p).unwrap()
                )
            };
            out.insert(p, what);
        }
    }
    out
}

proptest! {
    #![proptest_config(cases(32))]

    #[test]
    fn fix_writes_only_inside_the_paths_given(
        entries in prop::collection::vec(entry(), 1..10),
        how in 0..3usize,
    ) {
        let dir = tempfile::Builder::new().prefix("harden-prop-").tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        make_tree(&base, &entries);
        let before = snapshot(&base.join("outside"));
        let args: Vec<String> = match how {
            0 => vec!["fix".into(), "root".into()],
            1 => vec!["fix".into(), "root/a".into()],
            _ => vec!["fix".into(), "-f".into(), "root/compose.yaml".into(), "root/a".into()],
        };
        let out = std::process::Command::new(BIN)
            .args(&args)
            .current_dir(&base)
            .output()
            .unwrap();
        let code = out.status.code();
        prop_assert!(matches!(code, Some(0..=2)), "exit {:?}: {}", code, String::from_utf8_lossy(&out.stderr));
        let after = snapshot(&base.join("outside"));
        prop_assert_eq!(before, after, "{}", String::from_utf8_lossy(&out.stderr));
        // With only `root/a` given, nothing else under root changes either.
        if how == 1 {
            let top = base.join("root");
            for name in NAMES {
                let p = top.join(name);
                if let Ok(m) = std::fs::symlink_metadata(&p) {
                    if m.is_file() {
                        let text = std::fs::read_to_string(&p).unwrap();
                        prop_assert!(!text.contains("cap_drop") && !text.contains("USER "), "{} written", p.display());
                    }
                }
            }
        }
    }
}
