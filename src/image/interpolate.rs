//! Compose's variable interpolation, for analysis only: harden reads
//! `image: postgres:${VERSION}` as the image Compose would run, and never
//! rewrites what the author wrote.
//!
//! The rules are the Compose specification's: `$VAR` and `${VAR}`,
//! `${VAR:-default}` / `${VAR-default}` (unset or empty / unset),
//! `${VAR:?err}` / `${VAR?err}` (an error), `${VAR:+alt}` / `${VAR+alt}`,
//! `$$` for a literal `$`, and interpolation inside the default.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Why a value could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpError {
    /// `${VAR:?message}` or `${VAR?message}` with the variable missing.
    Required { name: String, message: String },
    /// A `$` not followed by a name, `{`, or `$`; or an unclosed `${`.
    Invalid(String),
}

impl std::fmt::Display for InterpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterpError::Required { name, message } if message.is_empty() => {
                write!(f, "required variable {name} is missing a value")
            }
            InterpError::Required { name, message } => {
                write!(f, "required variable {name} is missing a value: {message}")
            }
            InterpError::Invalid(text) => write!(f, "invalid interpolation format in `{text}`"),
        }
    }
}

/// Variables to interpolate with: a lookup from a name to its value.
pub trait Vars {
    fn get(&self, name: &str) -> Option<&str>;
}

impl Vars for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Interpolate `text` with `vars`.
pub fn interpolate(text: &str, vars: &dyn Vars) -> Result<String, InterpError> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let Some(off) = text[i..].find('$') else {
            out.push_str(&text[i..]);
            break;
        };
        out.push_str(&text[i..i + off]);
        i += off;
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(&c) if is_name_start(c) => {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len() && is_name_char(bytes[end]) {
                    end += 1;
                }
                out.push_str(vars.get(&text[start..end]).unwrap_or(""));
                i = end;
            }
            Some(b'{') => {
                let close = matching_brace(text, i + 2)
                    .ok_or_else(|| InterpError::Invalid(text.to_string()))?;
                out.push_str(&braced(&text[i + 2..close], text, vars)?);
                i = close + 1;
            }
            _ => return Err(InterpError::Invalid(text.to_string())),
        }
    }
    Ok(out)
}

/// The index of the `}` closing a `${` whose body starts at `from`,
/// counting nested `${ ... }` in defaults.
fn matching_brace(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The value of one `${...}` body.
fn braced(body: &str, whole: &str, vars: &dyn Vars) -> Result<String, InterpError> {
    let b = body.as_bytes();
    if b.is_empty() || !is_name_start(b[0]) {
        return Err(InterpError::Invalid(whole.to_string()));
    }
    let mut end = 1;
    while end < b.len() && is_name_char(b[end]) {
        end += 1;
    }
    let name = &body[..end];
    let value = vars.get(name);
    let rest = &body[end..];
    if rest.is_empty() {
        return Ok(value.unwrap_or("").to_string());
    }
    let (colon, op, arg) = match rest.as_bytes() {
        [b':', op, ..] => (true, *op, &rest[2..]),
        [op, ..] => (false, *op, &rest[1..]),
        [] => unreachable!("rest is not empty"),
    };
    // With a colon, an empty value counts as missing.
    let present = match value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    match op {
        b'-' if present => Ok(value.unwrap_or("").to_string()),
        b'-' => interpolate(arg, vars),
        b'+' if present => interpolate(arg, vars),
        b'+' => Ok(String::new()),
        b'?' if present => Ok(value.unwrap_or("").to_string()),
        b'?' => Err(InterpError::Required {
            name: name.to_string(),
            message: interpolate(arg, vars)?,
        }),
        _ => Err(InterpError::Invalid(whole.to_string())),
    }
}

/// Parse a `.env` file as Compose does: `NAME=value` lines, `export`
/// allowed, `#` comments, single quotes literal, double quotes with
/// escapes, and values interpolated with what is defined before them (and
/// the process environment, which wins).
pub fn parse_dotenv(text: &str, env: &HashMap<String, String>) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((name, raw)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|c| is_name_char(c) || c == b'.') {
            continue;
        }
        let raw = raw.trim_start();
        let scope = Layered {
            top: env,
            under: &vars,
        };
        let value = if let Some(body) = raw.strip_prefix('\'') {
            quoted(body, '\'', &mut lines)
        } else if let Some(body) = raw.strip_prefix('"') {
            let v = unescape(&quoted(body, '"', &mut lines));
            interpolate(&v, &scope).unwrap_or(v)
        } else {
            let v = match raw.find(" #") {
                Some(i) => &raw[..i],
                None => raw,
            }
            .trim_end();
            interpolate(v, &scope).unwrap_or_else(|_| v.to_string())
        };
        vars.insert(name.to_string(), value);
    }
    vars
}

/// The text of a quoted value up to its closing quote, which may be on a
/// later line.
fn quoted<'a>(first: &str, quote: char, rest: &mut impl Iterator<Item = &'a str>) -> String {
    let mut value = String::new();
    let mut line = first.to_string();
    loop {
        let mut escaped = false;
        for (i, c) in line.char_indices() {
            if c == quote && !escaped {
                value.push_str(&line[..i]);
                return value;
            }
            escaped = quote == '"' && c == '\\' && !escaped;
        }
        value.push_str(&line);
        match rest.next() {
            Some(next) => {
                value.push('\n');
                line = next.to_string();
            }
            None => return value,
        }
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

/// The process environment over a `.env` file's values.
struct Layered<'a> {
    top: &'a HashMap<String, String>,
    under: &'a HashMap<String, String>,
}

impl Vars for Layered<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.top
            .get(name)
            .or_else(|| self.under.get(name))
            .map(String::as_str)
    }
}

/// The largest `.env` harden reads.
const MAX_DOTENV: u64 = 1024 * 1024;

fn process_env() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    })
}

/// The variables a compose project interpolates with: the process
/// environment over the env files (`--env-file`, or the project's `.env`).
pub struct ProjectEnv {
    files: HashMap<String, String>,
}

impl Vars for ProjectEnv {
    fn get(&self, name: &str) -> Option<&str> {
        process_env()
            .get(name)
            .or_else(|| self.files.get(name))
            .map(String::as_str)
    }
}

impl ProjectEnv {
    /// The env files read in order (a later one wins), each a bounded
    /// read of a regular file; one that cannot be read adds nothing.
    pub fn from_files(files: &[PathBuf]) -> Self {
        let mut vars = HashMap::new();
        for f in files {
            if let Ok(text) = crate::paths::read_text(f, MAX_DOTENV) {
                vars.extend(parse_dotenv(&text, process_env()));
            }
        }
        ProjectEnv { files: vars }
    }
}

/// The environment for the compose file at `compose_path`: the
/// `--env-file`s when given, else the `.env` beside the file. Read once
/// per folder and run.
pub fn project_env(compose_path: &Path, env_files: &[PathBuf]) -> Arc<ProjectEnv> {
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, Arc<ProjectEnv>>>> = OnceLock::new();
    let key = if env_files.is_empty() {
        compose_path.parent().unwrap_or(Path::new(".")).join(".env")
    } else {
        PathBuf::new()
    };
    let seen = SEEN.get_or_init(Default::default);
    if let Some(e) = seen.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return e;
    }
    let env = Arc::new(if env_files.is_empty() {
        ProjectEnv::from_files(std::slice::from_ref(&key))
    } else {
        ProjectEnv::from_files(env_files)
    });
    if let Ok(mut m) = seen.lock() {
        m.insert(key, env.clone());
    }
    env
}

/// An image reference as Compose resolves it, or `None` when it cannot
/// be resolved (a required variable is missing, the text is malformed).
pub fn image_reference(text: &str, compose_path: &Path, env_files: &[PathBuf]) -> Option<String> {
    if !text.contains('$') {
        return Some(text.to_string());
    }
    interpolate(text, &*project_env(compose_path, env_files))
        .ok()
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(text: &str, pairs: &[(&str, &str)]) -> Result<String, InterpError> {
        interpolate(text, &vars(pairs))
    }

    #[test]
    fn plain_and_braced_names() {
        let v = [("VERSION", "16"), ("REG", "ghcr.io")];
        assert_eq!(run("postgres:${VERSION}", &v).unwrap(), "postgres:16");
        assert_eq!(run("postgres:$VERSION", &v).unwrap(), "postgres:16");
        assert_eq!(
            run("$REG/app:$VERSION-alpine", &v).unwrap(),
            "ghcr.io/app:16-alpine"
        );
        // Unset: the empty string, as Compose does (with a warning).
        assert_eq!(run("postgres:${NOPE}", &v).unwrap(), "postgres:");
        // A name ends at the first character that cannot be in a name.
        assert_eq!(run("$VERSION.1", &v).unwrap(), "16.1");
    }

    #[test]
    fn defaults_distinguish_unset_from_empty() {
        let v = [("EMPTY", ""), ("SET", "15")];
        assert_eq!(run("${UNSET:-16}", &v).unwrap(), "16");
        assert_eq!(run("${EMPTY:-16}", &v).unwrap(), "16");
        assert_eq!(run("${SET:-16}", &v).unwrap(), "15");
        assert_eq!(run("${UNSET-16}", &v).unwrap(), "16");
        assert_eq!(run("${EMPTY-16}", &v).unwrap(), "");
        assert_eq!(run("${SET-16}", &v).unwrap(), "15");
    }

    #[test]
    fn required_variables() {
        let v = [("EMPTY", ""), ("SET", "1")];
        assert_eq!(
            run("${UNSET:?set it}", &v),
            Err(InterpError::Required {
                name: "UNSET".into(),
                message: "set it".into()
            })
        );
        assert!(run("${EMPTY:?x}", &v).is_err());
        assert_eq!(run("${EMPTY?x}", &v).unwrap(), "");
        assert!(run("${UNSET?x}", &v).is_err());
        assert_eq!(run("${SET:?x}", &v).unwrap(), "1");
    }

    #[test]
    fn alternatives() {
        let v = [("EMPTY", ""), ("SET", "1")];
        assert_eq!(run("a${SET:+-debug}", &v).unwrap(), "a-debug");
        assert_eq!(run("a${EMPTY:+-debug}", &v).unwrap(), "a");
        assert_eq!(run("a${EMPTY+-debug}", &v).unwrap(), "a-debug");
        assert_eq!(run("a${UNSET+-debug}", &v).unwrap(), "a");
    }

    #[test]
    fn escaped_dollar_and_nesting() {
        let v = [("B", "bee")];
        assert_eq!(run("cost $$5", &v).unwrap(), "cost $5");
        assert_eq!(run("$${B}", &v).unwrap(), "${B}");
        assert_eq!(run("${A:-${B}}", &v).unwrap(), "bee");
        assert_eq!(run("${A:-x${C:-y}z}", &v).unwrap(), "xyz");
    }

    #[test]
    fn malformed_text_is_an_error() {
        assert!(run("${", &[]).is_err());
        assert!(run("${A", &[]).is_err());
        assert!(run("${}", &[]).is_err());
        assert!(run("${1A}", &[]).is_err());
        assert!(run("a $ b", &[]).is_err());
        assert!(run("end$", &[]).is_err());
        assert!(run("${A*b}", &[]).is_err());
    }

    #[test]
    fn dotenv_files() {
        let env = vars(&[("FROM_SHELL", "shell")]);
        let text = "# versions\n\
                    VERSION=16\n\
                    export TAG = 3.1 # comment\n\
                    QUOTED='${VERSION} stays'\n\
                    DOUBLE=\"v${VERSION}\\n\"\n\
                    MULTI=\"a\nb\"\n\
                    SHELL_REF=${FROM_SHELL}-x\n\
                    not a line\n\
                    EMPTY=\n";
        let v = parse_dotenv(text, &env);
        assert_eq!(v["VERSION"], "16");
        assert_eq!(v["TAG"], "3.1");
        assert_eq!(v["QUOTED"], "${VERSION} stays");
        assert_eq!(v["DOUBLE"], "v16\n");
        assert_eq!(v["MULTI"], "a\nb");
        assert_eq!(v["SHELL_REF"], "shell-x");
        assert_eq!(v["EMPTY"], "");
        assert_eq!(v.len(), 7);
    }

    #[test]
    fn the_process_environment_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.env");
        std::fs::write(&f, "HARDEN_TEST_ONLY_IN_FILE=file\nPATH=from-file\n").unwrap();
        let e = ProjectEnv::from_files(&[f]);
        assert_eq!(e.get("HARDEN_TEST_ONLY_IN_FILE"), Some("file"));
        assert_ne!(e.get("PATH"), Some("from-file"));
    }

    #[test]
    fn a_directory_or_huge_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let e = ProjectEnv::from_files(&[dir.path().to_path_buf()]);
        assert!(e.files.is_empty());
        let big = dir.path().join("big.env");
        std::fs::write(&big, "A=1\n".repeat(300_000)).unwrap();
        assert!(ProjectEnv::from_files(&[big]).files.is_empty());
    }
}
