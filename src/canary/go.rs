//! Go: an `init()` function in the main package's file that holds `main`,
//! after its imports, with the imports the snippet needs added to that
//! file's own import declarations (in the first group, in sorted order, as
//! gofmt keeps them). Go runs every `init` before `main`.

use super::{around, block, Lines, Placed};
use crate::dockerfile::entry::Lang;
use crate::edit::Edit;

/// The file's package clause and import declarations.
struct Header {
    /// The line of `package main`.
    package: usize,
    /// Each import spec: (line, alias, path).
    specs: Vec<(usize, Option<String>, String)>,
    /// The first `import (` group: the lines of `import (` and `)`.
    group: Option<(usize, usize)>,
    /// The line after the last import declaration (after the package
    /// clause when there is none).
    end: usize,
}

/// The template's import paths and the rest of it (the function).
fn template_parts() -> (Vec<&'static str>, String) {
    let t = super::template(Lang::Go);
    let mut imports = Vec::new();
    let mut rest = String::new();
    for line in t.lines() {
        match line.strip_prefix("import ") {
            Some(p) => imports.push(p.trim().trim_matches('"')),
            None if rest.is_empty() && line.trim().is_empty() => {}
            None => {
                rest.push_str(line);
                rest.push('\n');
            }
        }
    }
    (imports, rest)
}

/// The code of a line, its `//` comment removed (no string in an import
/// line holds `//`).
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("").trim()
}

/// `alias "path"` or `"path"`.
fn spec(code: &str) -> Option<(Option<String>, String)> {
    let (alias, path) = match code.split_once(char::is_whitespace) {
        Some((a, p)) => (Some(a.to_string()), p.trim()),
        None => (None, code),
    };
    let path = path.strip_prefix('"')?.strip_suffix('"')?;
    Some((alias, path.to_string()))
}

fn header(lines: &Lines<'_>) -> Result<Header, String> {
    let mut i = 0;
    let mut in_comment = false;
    let package = loop {
        let Some(line) = lines.get(i) else {
            return Err("no `package` clause".into());
        };
        let t = line.trim();
        if in_comment || t.starts_with("/*") {
            in_comment = !t.contains("*/");
        } else if t.starts_with("package ") {
            break i;
        } else if !(t.is_empty() || t.starts_with("//")) {
            return Err(format!("line {} comes before the `package` clause", i + 1));
        }
        i += 1;
    };
    let mut h = Header {
        package,
        specs: Vec::new(),
        group: None,
        end: package + 1,
    };
    let mut i = package + 1;
    while let Some(line) = lines.get(i) {
        let c = code(line);
        if c.is_empty() {
            i += 1;
            continue;
        }
        let Some(rest) = c.strip_prefix("import") else {
            break;
        };
        let rest = rest.trim();
        if rest == "(" {
            let open = i;
            i += 1;
            loop {
                let Some(l) = lines.get(i) else {
                    return Err(format!(
                        "the import group of line {} does not end",
                        open + 1
                    ));
                };
                let c = code(l);
                if c == ")" {
                    break;
                }
                if !c.is_empty() {
                    let (alias, path) = spec(c)
                        .ok_or_else(|| format!("line {} is no import harden reads", i + 1))?;
                    h.specs.push((i, alias, path));
                }
                i += 1;
            }
            if h.group.is_none() {
                h.group = Some((open, i));
            }
        } else {
            let (alias, path) =
                spec(rest).ok_or_else(|| format!("line {} is no import harden reads", i + 1))?;
            h.specs.push((i, alias, path));
        }
        i += 1;
        h.end = i;
    }
    Ok(h)
}

/// Whether the file imports `path` under its own name; an error when it
/// imports it under another.
fn imported(h: &Header, path: &str) -> Result<bool, String> {
    let own = path.rsplit('/').next().unwrap_or(path);
    for (line, alias, p) in &h.specs {
        if p == path {
            return match alias.as_deref() {
                None => Ok(true),
                Some(a) if a == own => Ok(true),
                Some(a) => Err(format!(
                    "line {} imports \"{path}\" as `{a}`; the canary needs it as `{own}`",
                    line + 1
                )),
            };
        }
    }
    Ok(false)
}

pub(super) fn insert(text: &str, lines: &Lines<'_>) -> Result<Placed, String> {
    let h = header(lines)?;
    let eol = crate::source::eol_of(text);
    let (needed, function) = template_parts();
    let mut missing = Vec::new();
    for path in needed {
        if !imported(&h, path)? {
            missing.push(path);
        }
    }
    let function = block(Lang::Go, text, lines, &function, "");
    let mut edits = Vec::new();
    match (h.group, h.specs.is_empty()) {
        (Some((open, close)), _) => {
            // In the first run of specs of the first group, sorted.
            let first_run: Vec<&(usize, Option<String>, String)> = {
                let mut run = Vec::new();
                for s in h.specs.iter().filter(|s| s.0 > open && s.0 < close) {
                    if run
                        .last()
                        .is_some_and(|l: &&(usize, _, _)| (l.0 + 1..s.0).any(|k| lines.is_blank(k)))
                    {
                        break;
                    }
                    run.push(s);
                }
                run
            };
            let indent = first_run
                .first()
                .and_then(|s| lines.get(s.0))
                .map(|l| l[..l.len() - l.trim_start().len()].to_string())
                .unwrap_or_else(|| "\t".into());
            for path in &missing {
                let at = first_run
                    .iter()
                    .find(|s| s.2.as_str() > *path)
                    .map_or_else(|| first_run.last().map_or(open + 1, |s| s.0 + 1), |s| s.0);
                edits.push(Edit::insert(
                    lines.start(at),
                    format!("{indent}\"{path}\"{eol}"),
                ));
            }
            edits.push(around(text, lines, h.end, &function));
        }
        (None, false) => {
            let mut s = String::new();
            for path in &missing {
                s.push_str(&format!("import \"{path}\"{eol}"));
            }
            if !s.is_empty() {
                edits.push(Edit::insert(lines.start(h.end), s));
            }
            edits.push(around(text, lines, h.end, &function));
        }
        (None, true) => {
            let mut s = String::new();
            if !missing.is_empty() {
                s.push_str(eol);
                for path in &missing {
                    s.push_str(&format!("import \"{path}\"{eol}"));
                }
            }
            s.push_str(eol);
            s.push_str(&function);
            if h.end < lines.len() && !lines.is_blank(h.end) {
                s.push_str(eol);
            }
            edits.push(Edit::insert(lines.start(h.end), s));
        }
    }
    let after = if h.specs.is_empty() {
        "after the `package` clause"
    } else {
        "after the imports"
    };
    Ok(Placed {
        edits,
        line: h.end + 1,
        after,
    })
}

/// The edited file still has one package clause, reads as a header, and
/// imports what the canary uses under its own name; its braces balance.
pub(super) fn recheck(old: &str, new: &str) -> Result<(), String> {
    let (old_lines, new_lines) = (Lines::of(old), Lines::of(new));
    let (before, after) = (header(&old_lines)?, header(&new_lines)?);
    if old_lines.get(before.package) != new_lines.get(after.package) {
        return Err("the package clause would change".into());
    }
    for path in template_parts().0 {
        if !imported(&after, path)? {
            return Err(format!("\"{path}\" would not be imported"));
        }
    }
    if super::java::balance(new) != super::java::balance(old) {
        return Err("the braces would not balance".into());
    }
    Ok(())
}
