//! The packages a project depends on, read from its manifests
//! (requirements*.txt, pyproject.toml, Pipfile, package.json), which is how
//! the cache rule finds the libraries in use. Lenient on purpose: a file
//! that does not parse yields no packages (the `try_` forms say why).

/// A dependency file that does not parse, with a 1-based position.
pub use crate::error::FileError as DepFileError;

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
/// npm names (already lowercase, may hold `@` and `/`) pass through.
pub fn normalize_package_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// The PEP 508 name at the start of a requirement string, if it is one:
/// `transformers[torch]>=4; python_version>"3.8"` gives `transformers`, a URL
/// or a path gives nothing.
fn pep508_name(spec: &str) -> Option<&str> {
    let spec = spec.trim_start();
    let end = spec
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(|(i, _)| i)
        .unwrap_or(spec.len());
    let name = spec.get(..end)?;
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let last_ok = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !last_ok {
        return None;
    }
    let rest = spec.get(end..).unwrap_or("").trim_start();
    let follows_ok = match rest.chars().next() {
        None => true,
        Some(c) => "[(<>=!~;@,".contains(c),
    };
    // `name @ url` is a name; `pkg:...` or `./x` are not.
    (follows_ok && !rest.starts_with("://")).then_some(name)
}

/// `#egg=name` in a VCS or archive URL.
fn egg_name(spec: &str) -> Option<&str> {
    let (_, after) = spec.split_once("#egg=")?;
    let egg = after.split(['&', ' ', '\t', '[']).next().unwrap_or("");
    pep508_name(egg).filter(|n| n.len() == egg.len())
}

/// Name of a wheel or sdist file (`foo_bar-1.2-py3-none-any.whl`).
fn archive_name(spec: &str) -> Option<&str> {
    let token = spec.split_whitespace().next()?;
    let token = token.split(['#', '?']).next().unwrap_or(token);
    let is_archive = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .any(|ext| token.ends_with(ext));
    if !is_archive {
        return None;
    }
    let file = token.rsplit('/').next().unwrap_or(token);
    let bytes = file.as_bytes();
    let cut = (0..bytes.len()).find(|&i| {
        bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
    })?;
    let name = file.get(..cut)?;
    pep508_name(name).filter(|n| n.len() == name.len())
}

fn push_unique(out: &mut Vec<String>, name: &str) {
    let name = normalize_package_name(name);
    if !name.is_empty() && !out.contains(&name) {
        out.push(name);
    }
}

/// Package names from a requirements file, PEP 503-normalised, in order of
/// first appearance. Comments, options (`-r`, `-c`, `--index-url`, ...),
/// extras, versions and markers are dropped; VCS and archive URLs count only
/// when they name their package (`#egg=`, `name @ url`, a wheel file name).
pub fn parse_python_requirements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(continued) = line.strip_suffix('\\') {
            logical.push_str(continued);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        requirement_line(&logical, &mut out);
        logical.clear();
    }
    if !logical.is_empty() {
        requirement_line(&logical, &mut out);
    }
    out
}

fn requirement_line(line: &str, out: &mut Vec<String>) {
    let line = strip_requirement_comment(line).trim();
    if line.is_empty() {
        return;
    }
    let spec = if let Some(rest) = line.strip_prefix("--editable") {
        rest.trim_start_matches('=').trim()
    } else if let Some(rest) = line.strip_prefix("-e") {
        rest.trim()
    } else if line.starts_with('-') {
        return;
    } else {
        line
    };
    if let Some(name) = egg_name(spec).or_else(|| archive_name(spec)) {
        push_unique(out, name);
    } else if let Some(name) = pep508_name(spec) {
        push_unique(out, name);
    }
}

/// pip treats `#` as a comment at line start or after whitespace, so a
/// URL fragment such as `#egg=` survives.
fn strip_requirement_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return line.get(..i).unwrap_or("");
        }
        prev_space = c.is_whitespace();
    }
    line
}

fn parse_toml_table(text: &str) -> Result<toml::Table, DepFileError> {
    text.parse::<toml::Table>().map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_col(text, span.start))
            .unwrap_or((1, 1));
        DepFileError {
            line,
            col: column,
            message: e.message().to_string(),
        }
    })
}

/// Like [`parse_pyproject_dependencies`], with the parse error.
pub fn try_parse_pyproject_dependencies(text: &str) -> Result<Vec<String>, DepFileError> {
    let table = parse_toml_table(text)?;
    let mut out = Vec::new();
    if let Some(deps) = table
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
    {
        for spec in deps.iter().filter_map(|d| d.as_str()) {
            if let Some(name) = egg_name(spec).or_else(|| pep508_name(spec)) {
                push_unique(&mut out, name);
            }
        }
    }
    if let Some(deps) = table
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_table())
    {
        push_keys(&mut out, deps, |k| !k.eq_ignore_ascii_case("python"));
    }
    Ok(out)
}

/// Package names from pyproject.toml, PEP 503-normalised: `[project].dependencies`
/// (PEP 621) in file order, then `[tool.poetry.dependencies]` keys (without
/// `python`) sorted, since TOML tables carry no order. Invalid TOML gives
/// none; see [`try_parse_pyproject_dependencies`] for the error.
pub fn parse_pyproject_dependencies(text: &str) -> Vec<String> {
    try_parse_pyproject_dependencies(text).unwrap_or_default()
}

/// Like [`parse_package_json_dependencies`], with the parse error.
pub fn try_parse_package_json_dependencies(text: &str) -> Result<Vec<String>, DepFileError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| DepFileError {
        line: e.line().max(1),
        col: e.column().max(1),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    if let Some(deps) = value.get("dependencies").and_then(|d| d.as_object()) {
        for name in deps.keys() {
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
        // JSON objects carry no order that serde_json promises to keep.
        out.sort();
    }
    Ok(out)
}

/// Package names in package.json's `dependencies` (what ships to
/// production; `devDependencies` are left out), lowercased, sorted. Invalid JSON
/// gives none; see [`try_parse_package_json_dependencies`] for the error.
pub fn parse_package_json_dependencies(text: &str) -> Vec<String> {
    try_parse_package_json_dependencies(text).unwrap_or_default()
}

/// Like [`parse_pipfile`], with the parse error.
pub fn try_parse_pipfile(text: &str) -> Result<Vec<String>, DepFileError> {
    let table = parse_toml_table(text)?;
    let mut out = Vec::new();
    if let Some(packages) = table.get("packages").and_then(|p| p.as_table()) {
        push_keys(&mut out, packages, |_| true);
    }
    Ok(out)
}

/// The keys of a TOML table of packages that `keep` accepts, normalised and
/// sorted (TOML tables carry no order), onto `out`.
fn push_keys(out: &mut Vec<String>, table: &toml::Table, keep: impl Fn(&str) -> bool) {
    let mut keys: Vec<String> = table
        .keys()
        .filter(|k| keep(k))
        .map(|k| normalize_package_name(k))
        .collect();
    keys.sort();
    for name in &keys {
        push_unique(out, name);
    }
}

/// Package names in a Pipfile's `[packages]` (not `[dev-packages]`),
/// PEP 503-normalised and sorted. Invalid TOML gives none; see [`try_parse_pipfile`].
pub fn parse_pipfile(text: &str) -> Vec<String> {
    try_parse_pipfile(text).unwrap_or_default()
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
