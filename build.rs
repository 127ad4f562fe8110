//! Embeds every rule page under templates/explain/ in the binary, so that
//! a new rule's page is picked up without a list to edit: the page's front
//! matter is the rule's registration (name, summary, fix, explanation).
//!
//! Converts every TOML table the binary reads (templates/*.toml, each
//! image profile, each page's front matter) to JSON in OUT_DIR: a run
//! parses some of them at start, and JSON parses several times faster than
//! TOML (TOML was a third of a run on one small compose file). A table
//! that is not valid TOML fails the build here; the tests compare each
//! JSON copy with its TOML parsed by the binary's own types.
//!
//! Also sets `HARDEN_KNOWLEDGE_DATE`, the newest `checked` date of the
//! built-in image profiles (templates/images/*.toml), which `--version`
//! prints: how current the knowledge compiled into this binary is.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    pages(&out);
    let newest = images(&out);
    for name in [
        "base-images",
        "caches",
        "inference",
        "launchers",
        "notes",
        "users",
    ] {
        let path = templates().join(format!("{name}.toml"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text = read(&path);
        write(&out.join(format!("{name}.json")), &json_of(&path, &text));
    }
    knowledge_date(newest);
}

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` (TOML, read from `path`) parsed.
fn toml_of(path: &Path, text: &str) -> toml::Value {
    toml::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` (TOML, read from `path`) as JSON.
fn json_of(path: &Path, text: &str) -> String {
    serde_json::to_string(&toml_of(path, text)).expect("TOML values convert to JSON")
}

/// The files of `dir` ending in `.{ext}`, as (stem, path), in name order.
fn listed(dir: &Path, ext: &str) -> Vec<(String, PathBuf)> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let path = e.ok()?.path();
            let stem = path
                .file_name()?
                .to_str()?
                .strip_suffix(&format!(".{ext}"))?
                .to_string();
            Some((stem, path))
        })
        .collect();
    files.sort();
    files
}

/// `PAGES`, every rule page (rule name, text), and `FRONT_MATTER`, each
/// page's front matter as JSON ("" for a page without), in name order.
fn pages(out: &Path) {
    let pages = listed(&templates().join("explain"), "md");
    let mut code = String::from(
        "/// Every rule page, (rule name, text), in name order.\npub const PAGES: &[(&str, &str)] = &[\n",
    );
    let mut fronts = String::from(
        "/// Each page's front matter as JSON, in the order of [`PAGES`]; empty\n/// for a page without.\npub const FRONT_MATTER: &[&str] = &[\n",
    );
    for (name, path) in &pages {
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(code, "    ({name:?}, include_str!({:?})),", path.display())
            .expect("a String takes writes");
        let text = read(path);
        let front = text
            .strip_prefix("+++\n")
            .and_then(|rest| rest.find("\n+++\n").map(|end| &rest[..end + 1]))
            .map(|front| json_of(path, front))
            .unwrap_or_default();
        writeln!(fronts, "    {front:?},").expect("a String takes writes");
    }
    code.push_str("];\n");
    fronts.push_str("];\n");
    write(&out.join("pages.rs"), &(code + &fronts));
}

/// `IMAGE_FILES`: every image profile as (file stem, TOML, JSON), in name
/// order, so a new profile is picked up without a list to edit; and
/// `IMAGE_INDEX`: (repository, place in `IMAGE_FILES`) of every profile's
/// `images`, sorted, so a run finds the one profile it needs without
/// reading the others. Returns the newest `checked` date among them.
fn images(out: &Path) -> Option<String> {
    std::fs::create_dir_all(out.join("images")).expect("OUT_DIR is writable");
    let mut code = String::from(
        "/// Every image profile as (file stem, TOML, the same as JSON), in name\n/// order.\nconst IMAGE_FILES: &[(&str, &str, &str)] = &[\n",
    );
    let mut newest = None;
    let mut index: Vec<(String, usize)> = Vec::new();
    for (i, (id, path)) in listed(&templates().join("images"), "toml")
        .into_iter()
        .enumerate()
    {
        println!("cargo:rerun-if-changed={}", path.display());
        let json = out.join("images").join(format!("{id}.json"));
        let value = toml_of(&path, &read(&path));
        newest = newest.max(checked_date(&value));
        let images = value.get("images").and_then(toml::Value::as_array);
        for image in images.into_iter().flatten().filter_map(toml::Value::as_str) {
            index.push((image.to_string(), i));
        }
        write(
            &json,
            &serde_json::to_string(&value).expect("TOML values convert to JSON"),
        );
        writeln!(
            code,
            "    ({id:?}, include_str!({:?}), include_str!({:?})),",
            path.display(),
            json.display()
        )
        .expect("a String takes writes");
    }
    code.push_str("];\n");
    // A repository two profiles list is an error `profiles` reports; the
    // index keeps the first, as a run would.
    index.sort();
    index.dedup_by(|b, a| a.0 == b.0);
    code.push_str(
        "/// (repository, place in [`IMAGE_FILES`]) of every profile's `images`,\n/// sorted by repository.\nconst IMAGE_INDEX: &[(&str, usize)] = &[\n",
    );
    for (image, i) in &index {
        writeln!(code, "    ({image:?}, {i}),").expect("a String takes writes");
    }
    code.push_str("];\n");
    write(&out.join("images.rs"), &code);
    newest
}

/// Passes `newest`, the newest profile `checked` date, to the compiler;
/// "unknown" (and a build warning) when no profile has one.
fn knowledge_date(newest: Option<String>) {
    let date = newest.unwrap_or_else(|| {
        println!("cargo:warning=no profile in templates/images has a `checked` date");
        "unknown".to_string()
    });
    println!("cargo:rustc-env=HARDEN_KNOWLEDGE_DATE={date}");
}

/// A profile's top-level `checked` value when it is a plain `YYYY-MM-DD`
/// date; other values (a month, a sentence) say nothing comparable.
fn checked_date(profile: &toml::Value) -> Option<String> {
    let date = profile.get("checked")?.as_str()?;
    is_date(date).then(|| date.to_string())
}

/// `YYYY-MM-DD` with a month 01..=12 and a day 01..=31.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let month = (b[5] - b'0') * 10 + (b[6] - b'0');
    let day = (b[8] - b'0') * 10 + (b[9] - b'0');
    (1..=12).contains(&month) && (1..=31).contains(&day)
}
