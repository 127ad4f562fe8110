//! Embeds every rule page under templates/explain/ in the binary, so that
//! a new rule's page is picked up without a list to edit: the page's front
//! matter is the rule's registration (name, summary, fix, explanation).
//!
//! Also sets `HARDEN_KNOWLEDGE_DATE`, the newest `checked` date of the
//! built-in image profiles (templates/images/*.toml), which `--version`
//! prints: how current the knowledge compiled into this binary is.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/explain");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut pages: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("templates/explain is readable")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".md")?.to_string();
            Some((name, path.display().to_string()))
        })
        .collect();
    pages.sort();
    let mut out = String::from(
        "/// Every rule page, (rule name, text), in name order.\npub const PAGES: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &pages {
        println!("cargo:rerun-if-changed={path}");
        writeln!(out, "    ({name:?}, include_str!({path:?})),").expect("a String takes writes");
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("pages.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");

    knowledge_date();
    base_images_json();
}

/// `templates/base-images.toml` as JSON in OUT_DIR: the binary parses it at
/// the first Dockerfile of every run, and JSON parses several times faster
/// than TOML. A table that is not valid TOML fails the build here.
fn base_images_json() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/base-images.toml");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).expect("templates/base-images.toml is readable");
    let value: toml::Value =
        toml::from_str(&text).unwrap_or_else(|e| panic!("templates/base-images.toml: {e}"));
    let json = serde_json::to_string(&value).expect("TOML values convert to JSON");
    let target =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("base-images.json");
    std::fs::write(target, json).expect("OUT_DIR is writable");
}

/// Passes the newest profile `checked` date to the compiler; "unknown" (and
/// a build warning) when no profile has one.
fn knowledge_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/images");
    println!("cargo:rerun-if-changed={}", dir.display());
    let newest = std::fs::read_dir(&dir)
        .expect("templates/images is readable")
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension()? != "toml" {
                return None;
            }
            println!("cargo:rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(&path).expect("a profile is readable");
            checked_date(&text)
        })
        .max();
    let date = newest.unwrap_or_else(|| {
        println!("cargo:warning=no profile in templates/images has a `checked` date");
        "unknown".to_string()
    });
    println!("cargo:rustc-env=HARDEN_KNOWLEDGE_DATE={date}");
}

/// A profile's top-level `checked` value when it is a plain `YYYY-MM-DD`
/// date; other values (a month, a sentence) say nothing comparable and are
/// skipped. A line scan rather than a TOML parser keeps the build script
/// free of dependencies: it skips multi-line strings (whose lines may look
/// like keys) and stops at the first table, where the top-level keys end.
/// A test of the binary checks the result against the real parser.
fn checked_date(text: &str) -> Option<String> {
    let mut open: Option<&str> = None;
    for line in text.lines() {
        if let Some(delim) = open {
            if line.contains(delim) {
                open = None;
            }
            continue;
        }
        if line.starts_with('[') {
            return None;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        for delim in ["\"\"\"", "'''"] {
            if let Some(rest) = value.strip_prefix(delim) {
                if !rest.contains(delim) {
                    open = Some(delim);
                }
            }
        }
        if key.trim() == "checked" {
            let quote = value.chars().next().filter(|c| matches!(c, '"' | '\''))?;
            let (date, _) = value[1..].split_once(quote)?;
            return is_date(date).then(|| date.to_string());
        }
    }
    None
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
