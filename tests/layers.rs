//! The import graph of `src/` has no circle and no arrow pointing up the
//! layers. Every `use crate::…` (grouped `use crate::{a, b::c}` too),
//! `use super::…`, `use` of a child module and inline `crate::x::y` path
//! outside test code is an arrow from the file's module to the module it
//! names; the layers, lowest first, are written below. A module may use
//! its own layer and the layers under it, and no circle may form, inside
//! a layer or across.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first: (name, module paths). A module belongs to the
/// layer of the longest path listed that is it or one of its parents.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundation",
        &[
            "error",
            "source",
            "edit",
            "finding",
            "migration",
            "paths",
            "limits",
            "registry",
            "par",
            "glob",
            "hash",
            "escape",
            "fsio",
            "caps",
            "tmpfiles",
        ],
    ),
    (
        "readers",
        &[
            "canary",
            "compose",
            "dockerfile",
            "config",
            "baseimage",
            "profiles",
            "image",
            "bake",
        ],
    ),
    ("project model", &["discover", "link", "project"]),
    ("plan", &["plan"]),
    ("rules", &["rules"]),
    ("engine", &["engine"]),
    ("reports", &["report"]),
    (
        "commands",
        &["run", "cli", "write", "confine", "verify", "crate"],
    ),
];

/// Arrows not yet removed, each with the change that removes it. Keep this
/// empty: an entry is debt, listed so that it cannot grow unnoticed.
const PENDING: &[(&str, &str, &str)] = &[];

/// The module path of a source file: `src/rules/root_user.rs` →
/// `rules::root_user`, `src/compose/mod.rs` → `compose`, lib.rs → `crate`.
fn module_of(rel: &Path) -> String {
    let s = rel.with_extension("").to_string_lossy().replace('\\', "/");
    let s = s.strip_suffix("/mod").unwrap_or(&s);
    match s {
        "lib" | "main" => "crate".to_string(),
        _ => s.replace('/', "::"),
    }
}

fn layer_of(module: &str) -> usize {
    let mut best: Option<(usize, usize)> = None;
    for (i, (_, mods)) in LAYERS.iter().enumerate() {
        for m in *mods {
            let hit = module == *m || module.starts_with(&format!("{m}::"));
            if hit && best.is_none_or(|(len, _)| m.len() > len) {
                best = Some((m.len(), i));
            }
        }
    }
    match best {
        Some((_, i)) => i,
        None => panic!("module `{module}` is in no layer: add it to LAYERS in tests/layers.rs"),
    }
}

/// The text without comments and without `#[cfg(test)]` items (a test may
/// drive the whole pipeline; the layering is about the product's code).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    for line in text.lines() {
        let code = match line.find("//") {
            // Not inside a string such as "https://…": good enough for
            // import lines, which hold no strings.
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        let trimmed = code.trim();
        if skip_depth.is_none() && trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = code.matches('{').count() as i32;
        let closes = code.matches('}').count() as i32;
        if pending_test {
            pending_test = false;
            if trimmed.ends_with(';') {
                // `mod tests;`: a file of its own, skipped by name.
                continue;
            }
            skip_depth = Some(depth);
        }
        depth += opens - closes;
        match skip_depth {
            Some(d) if depth <= d => skip_depth = None,
            Some(_) => {}
            None => {
                out.push_str(code);
                out.push('\n');
            }
        }
    }
    out
}

/// Split `a, b::{c, d}, e` at the commas of the top level.
fn split_top(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

/// Every path a use tree names: `a::{b, c::{d, e}}` → a::b, a::c::d, a::c::e.
fn expand(tree: &str) -> Vec<String> {
    // `x as y` keeps `x`; then whitespace means nothing.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut joined = String::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "as" {
            i += 2;
            continue;
        }
        joined.push_str(words[i]);
        i += 1;
    }
    expand_tree(&joined)
}

fn expand_tree(tree: &str) -> Vec<String> {
    match tree.find('{') {
        None => vec![tree.trim_end_matches("::self").to_string()],
        Some(open) => {
            let prefix = &tree[..open];
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            split_top(inner)
                .into_iter()
                .flat_map(expand_tree)
                .map(|p| {
                    format!("{prefix}{p}")
                        .trim_end_matches("::self")
                        .to_string()
                })
                .collect()
        }
    }
}

/// The modules named by the use trees and inline paths of `code`, as full
/// paths (not yet cut to a known module).
fn named_paths(module: &str, code: &str, children: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let absolute = |p: &str| -> Option<String> {
        if let Some(rest) = p.strip_prefix("crate::") {
            Some(rest.to_string())
        } else if let Some(rest) = p.strip_prefix("super::") {
            Some(if parent.is_empty() {
                rest.to_string()
            } else {
                format!("{parent}::{rest}")
            })
        } else if let Some(rest) = p.strip_prefix("self::") {
            Some(format!("{module}::{rest}"))
        } else {
            let first = p.split("::").next()?;
            let child = if module == "crate" {
                first.to_string()
            } else {
                format!("{module}::{first}")
            };
            children.contains(&child).then(|| {
                if module == "crate" {
                    p.to_string()
                } else {
                    format!("{module}::{p}")
                }
            })
        }
    };
    // `use` items, which may span lines.
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let item = line.trim_start();
        let item = item
            .strip_prefix("pub ")
            .or_else(|| item.strip_prefix("pub(crate) "))
            .unwrap_or(item);
        let Some(tree) = item.strip_prefix("use ") else {
            continue;
        };
        let mut tree = tree.to_string();
        while !tree.contains(';') {
            match lines.next() {
                Some(l) => tree.push_str(l),
                None => break,
            }
        }
        let tree = tree.split(';').next().unwrap_or("");
        for p in expand(tree) {
            out.extend(absolute(&p));
        }
    }
    // Inline paths: `crate::a::b`, `super::a`.
    for prefix in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(prefix) {
            let start = from + i;
            let before = code[..start].chars().last();
            from = start + prefix.len();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: String = code[start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.extend(absolute(path.trim_end_matches(':')));
        }
    }
    out
}

/// The longest known module that is `path` or a parent of it.
fn resolve(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|m| modules.contains(m))
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut todo = vec![src.clone()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.file_name().is_some_and(|n| n != "tests.rs")
            {
                files.push(p);
            }
        }
    }
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(f.strip_prefix(&src).unwrap()))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let module = module_of(f.strip_prefix(&src).unwrap());
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| {
                m.rsplit_once("::")
                    .map_or(module == "crate", |(p, _)| p == module)
            })
            .cloned()
            .collect();
        let to = edges.entry(module.clone()).or_default();
        for p in named_paths(&module, &code, &children) {
            if let Some(m) = resolve(&p, &modules).filter(|m| *m != module) {
                to.insert(m);
            }
        }
    }
    edges
}

#[test]
fn no_arrow_points_up_the_layers() {
    let mut up = Vec::new();
    for (from, tos) in graph() {
        for to in tos {
            if layer_of(&to) > layer_of(&from)
                && !PENDING.iter().any(|(f, t, _)| *f == from && *t == to)
            {
                up.push(format!(
                    "{from} ({}) -> {to} ({})",
                    LAYERS[layer_of(&from)].0,
                    LAYERS[layer_of(&to)].0
                ));
            }
        }
    }
    assert!(up.is_empty(), "imports up the layers:\n{}", up.join("\n"));
}

#[test]
fn no_circle() {
    let g = graph();
    // Depth-first search; a node met again while on the stack closes a circle.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        found: &mut Vec<String>,
    ) {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            let pending = PENDING.iter().any(|(f, t, _)| f == &n && t == m);
            match state.get(m.as_str()) {
                _ if pending => {}
                Some(1) => {
                    let at = stack.iter().position(|s| s == m).unwrap_or(0);
                    found.push(format!("{} -> {m}", stack[at..].join(" -> ")));
                }
                Some(_) => {}
                None => visit(m, g, state, stack, found),
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
    }
    let (mut state, mut found) = (BTreeMap::new(), Vec::new());
    for n in g.keys() {
        if !state.contains_key(n) {
            visit(n, &g, &mut state, &mut Vec::new(), &mut found);
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

/// The checker itself: grouped, nested, inline and relative paths count.
#[test]
fn the_checker_reads_every_form_of_path() {
    let modules: BTreeSet<String> = ["a", "a::b", "c", "c::d", "e", "f", "g::h", "g"]
        .into_iter()
        .map(String::from)
        .collect();
    let code = code_of(
        "use crate::{a::b::X, c::{self, d::Y}};\nuse super::h::Z;\nfn f() { crate::e::go(); }\n// crate::f::not_code\n#[cfg(test)]\nmod tests {\n    use crate::f::Only;\n}\n",
    );
    let mut named: Vec<String> = named_paths("g::x", &code, &BTreeSet::new())
        .iter()
        .filter_map(|p| resolve(p, &modules))
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(named, ["a::b", "c", "c::d", "e", "g::h"]);
    assert_eq!(module_of(Path::new("rules/mod.rs")), "rules");
    assert_eq!(layer_of("rules::root_user"), 4);
    assert_eq!(layer_of("compose::tree"), 1);
}
