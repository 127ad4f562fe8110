//! `harden --version` and `-V`: the package version and the knowledge date,
//! the newest plain-date `checked` of the built-in image profiles, computed
//! here with the TOML parser from templates/images (build.rs scans lines).

mod common;

use common::*;
use std::path::Path;

/// The newest `checked` over templates/images/*.toml that is a `YYYY-MM-DD`
/// date; a value that is not one is skipped, as the build does.
fn newest_checked() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/images");
    let mut dates = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("templates/images is readable") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("profile");
        let doc: toml::Table = toml::from_str(&text).expect("profile parses");
        let Some(checked) = doc.get("checked").and_then(|v| v.as_str()) else {
            continue;
        };
        let parts: Vec<&str> = checked.split('-').collect();
        let plain = parts.len() == 3
            && [4, 2, 2]
                .iter()
                .zip(&parts)
                .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
            && (1..=12).contains(&parts[1].parse::<u32>().unwrap())
            && (1..=31).contains(&parts[2].parse::<u32>().unwrap());
        if plain {
            dates.push(checked.to_string());
        }
    }
    assert!(!dates.is_empty(), "no profile has a dated `checked`");
    dates.into_iter().max().unwrap()
}

#[test]
fn version_prints_the_knowledge_date() {
    let dir = scratch();
    let expected = format!(
        "harden {} (knowledge {})\n",
        env!("CARGO_PKG_VERSION"),
        newest_checked()
    );
    for flag in ["--version", "-V"] {
        let r = harden(dir.path(), &[flag]);
        assert_eq!(r.code, 0, "{flag}: {}", r.stderr);
        assert_eq!(r.stdout, expected, "{flag}");
        assert_eq!(r.stderr, "", "{flag}");
    }
}
