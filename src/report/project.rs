//! `--explain-project`: the project model as harden understood it (which
//! compose files combine and how, the stages each Dockerfile runs and for
//! which services, the images built here and who runs them, the files
//! treated as tests or CI), so a user can see why harden did what it did.
//! Text for people, or one versioned JSON document
//! (docs/json-schema/project-v1.json). Every name printed comes from a
//! file, so the text goes through [`crate::escape::terminal`].

use crate::escape::terminal;
use serde_json::{json, Value};

/// The schema version the JSON document follows.
pub const VERSION: u32 = 1;

/// Every project root of the run, in path order.
#[derive(Debug, Default)]
pub struct Project {
    pub roots: Vec<Root>,
}

/// What harden found under one project root. Paths are as harden shows
/// them everywhere (relative to the working directory).
#[derive(Debug, Default)]
pub struct Root {
    pub path: String,
    pub composes: Vec<Compose>,
    pub dockerfiles: Vec<Dockerfile>,
    pub images: Vec<Image>,
    pub runs: Vec<RunsBuilt>,
}

/// A compose file and how it combines with the others.
#[derive(Debug)]
pub struct Compose {
    pub path: String,
    /// Named by the run (walked or given); `false`: read only because it
    /// decides how the run's files are hardened.
    pub named: bool,
    /// Tests or CI run it: its data goes on a tmpfs.
    pub test: bool,
    pub relations: Vec<Relation>,
}

/// How a compose file relates to others.
#[derive(Debug, PartialEq, Eq)]
pub enum Relation {
    /// Compose reads it on top of this base by default.
    OverrideOf(String),
    /// One of the run's `-f` files: the whole chain, in order.
    FileChain(Vec<String>),
    /// Used with `-f` on top of these bases; `script`: the script and line
    /// whose `-f` chain says so (none: found beside its base).
    VariantOf {
        bases: Vec<String>,
        script: Option<(String, usize)>,
    },
    /// A top-level `include` of that file names it.
    IncludedBy(String),
    /// Some of its services extend services of that file.
    Extends(String),
}

/// A Dockerfile and the stages the project runs from it.
#[derive(Debug)]
pub struct Dockerfile {
    pub path: String,
    pub stages: Vec<Stage>,
}

/// A stage (`None`: the last) and the services and bake targets that
/// build or run it; none: nothing in the project builds the file.
#[derive(Debug)]
pub struct Stage {
    pub stage: Option<String>,
    pub services: Vec<Builder>,
}

/// What builds an image: a compose service or a bake target, and its file.
#[derive(Debug)]
pub struct Builder {
    pub bake: bool,
    pub name: String,
    pub file: String,
}

/// An image built here, by repository name, and the Dockerfile it comes from.
#[derive(Debug)]
pub struct Image {
    pub name: String,
    pub dockerfile: String,
    pub builder: Builder,
}

/// A service that runs, by name, an image built here.
#[derive(Debug)]
pub struct RunsBuilt {
    pub service: String,
    pub file: String,
    pub image: String,
    pub builder: Builder,
}

fn builder_text(b: &Builder) -> String {
    let what = if b.bake { "bake target" } else { "service" };
    format!("{what} {} ({})", terminal(&b.name), terminal(&b.file))
}

fn stage_text(stage: &Option<String>) -> String {
    match stage {
        Some(s) => format!("stage {}", terminal(s)),
        None => "last stage".to_string(),
    }
}

fn relation_text(r: &Relation) -> String {
    let list = |v: &[String]| {
        v.iter()
            .map(|s| terminal(s).into_owned())
            .collect::<Vec<_>>()
            .join(" -f ")
    };
    match r {
        Relation::OverrideOf(b) => format!(
            "override of {} (Compose reads both by default)",
            terminal(b)
        ),
        Relation::FileChain(c) => format!("-f chain of the run: -f {}", list(c)),
        Relation::VariantOf { bases, script } => {
            let whence = match script {
                Some((f, line)) => format!("-f chain found in {} line {line}", terminal(f)),
                None => "beside its base".to_string(),
            };
            let bases = bases
                .iter()
                .map(|s| terminal(s).into_owned())
                .collect::<Vec<_>>()
                .join(" + ");
            format!("variant of {bases} ({whence})")
        }
        Relation::IncludedBy(f) => format!("included by {}", terminal(f)),
        Relation::Extends(f) => format!("extends services of {}", terminal(f)),
    }
}

/// The text report: per project root, its compose files and how they
/// combine, its Dockerfiles and the stages run, images built here, the
/// services that run them, and the files treated as tests or CI.
pub fn text(p: &Project) -> String {
    let mut out = String::new();
    if p.roots.is_empty() {
        out.push_str("No compose file or Dockerfile found.\n");
    }
    for (n, r) in p.roots.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        out.push_str(&format!("Project root {}\n", terminal(&r.path)));
        if !r.composes.is_empty() {
            out.push_str("  Compose files:\n");
            for c in &r.composes {
                let context = if c.named {
                    ""
                } else {
                    " [not named by the run; read for the project]"
                };
                out.push_str(&format!("    {}{context}\n", terminal(&c.path)));
                for rel in &c.relations {
                    out.push_str(&format!("      {}\n", relation_text(rel)));
                }
            }
        }
        if !r.dockerfiles.is_empty() {
            out.push_str("  Dockerfiles:\n");
            for d in &r.dockerfiles {
                out.push_str(&format!("    {}\n", terminal(&d.path)));
                for s in &d.stages {
                    let who = if s.services.is_empty() {
                        "no service of the project builds or runs it".to_string()
                    } else {
                        let names: Vec<String> = s.services.iter().map(builder_text).collect();
                        format!("run by {}", names.join(", "))
                    };
                    out.push_str(&format!("      {}: {who}\n", stage_text(&s.stage)));
                }
            }
        }
        if !r.images.is_empty() {
            out.push_str("  Images built here:\n");
            for i in &r.images {
                out.push_str(&format!(
                    "    {} <- {}, built by {}\n",
                    terminal(&i.name),
                    terminal(&i.dockerfile),
                    builder_text(&i.builder)
                ));
            }
        }
        if !r.runs.is_empty() {
            out.push_str("  Services that run an image built here:\n");
            for s in &r.runs {
                out.push_str(&format!(
                    "    {} ({}) runs {}, built by {}\n",
                    terminal(&s.service),
                    terminal(&s.file),
                    terminal(&s.image),
                    builder_text(&s.builder)
                ));
            }
        }
        let tests: Vec<&Compose> = r.composes.iter().filter(|c| c.test).collect();
        if !tests.is_empty() {
            out.push_str("  Test and CI files (data on tmpfs, not volumes):\n");
            for c in tests {
                out.push_str(&format!("    {}\n", terminal(&c.path)));
            }
        }
    }
    out
}

fn builder_json(b: &Builder) -> Value {
    json!({
        "kind": if b.bake { "bake-target" } else { "service" },
        "name": b.name,
        "file": b.file,
    })
}

fn relation_json(r: &Relation) -> Value {
    match r {
        Relation::OverrideOf(b) => json!({"kind": "override-of", "files": [b]}),
        Relation::FileChain(c) => json!({"kind": "file-chain", "files": c}),
        Relation::VariantOf { bases, script } => {
            let mut v = json!({"kind": "variant-of", "files": bases});
            if let Some((f, line)) = script {
                v["script"] = json!({"file": f, "line": line});
            }
            v
        }
        Relation::IncludedBy(f) => json!({"kind": "included-by", "files": [f]}),
        Relation::Extends(f) => json!({"kind": "extends", "files": [f]}),
    }
}

/// The same as [`text`], one JSON document (schema:
/// docs/json-schema/project-v1.json).
pub fn json(p: &Project) -> String {
    let projects: Vec<Value> = p
        .roots
        .iter()
        .map(|r| {
            json!({
                "root": r.path,
                "compose_files": r.composes.iter().map(|c| json!({
                    "path": c.path,
                    "named": c.named,
                    "test": c.test,
                    "relations": c.relations.iter().map(relation_json).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "dockerfiles": r.dockerfiles.iter().map(|d| json!({
                    "path": d.path,
                    "stages": d.stages.iter().map(|s| json!({
                        "stage": s.stage,
                        "services": s.services.iter().map(builder_json).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "images": r.images.iter().map(|i| json!({
                    "name": i.name,
                    "dockerfile": i.dockerfile,
                    "builder": builder_json(&i.builder),
                })).collect::<Vec<_>>(),
                "runs": r.runs.iter().map(|s| json!({
                    "service": s.service,
                    "file": s.file,
                    "image": s.image,
                    "builder": builder_json(&s.builder),
                })).collect::<Vec<_>>(),
                "test_files": r.composes.iter().filter(|c| c.test).map(|c| c.path.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    super::pretty_json(&json!({
        "version": VERSION,
        "tool": {"name": "harden", "version": env!("CARGO_PKG_VERSION")},
        "projects": projects,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_files_are_escaped() {
        let p = Project {
            roots: vec![Root {
                path: ".".into(),
                composes: vec![Compose {
                    path: "evil\u{1b}[31m.yml".into(),
                    named: true,
                    test: false,
                    relations: vec![Relation::IncludedBy("x\u{7}.yml".into())],
                }],
                ..Root::default()
            }],
        };
        let t = text(&p);
        assert!(!t.contains('\u{1b}') && !t.contains('\u{7}'), "{t}");
        assert!(t.contains("included by x"), "{t}");
    }
}
