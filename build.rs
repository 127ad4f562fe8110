//! Embeds every rule page under templates/explain/ in the binary, so that
//! a new rule's page is picked up without a list to edit: the page's front
//! matter is the rule's registration (name, summary, fix, explanation).

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
}
