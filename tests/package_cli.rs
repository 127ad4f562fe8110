//! What a published crate holds (`cargo package --list`): everything the
//! build compiles in (every file under templates/, build.rs, src/) and the
//! documentation, and none of the test suite.

use std::path::Path;
use std::process::Command;

fn templates(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("templates are readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            templates(&path, root, out);
        } else {
            let rel = path.strip_prefix(root).expect("under the root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn package_holds_the_knowledge_and_not_the_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(root)
        .output()
        .expect("run cargo package");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // Listing reads only the manifest and the tree; it fails for want of
        // the registry only where the lock file cannot be used offline.
        if stderr.contains("--offline") || stderr.contains("network") {
            eprintln!("skipped: cargo package --list needs the network here: {stderr}");
            return;
        }
        panic!("cargo package --list failed: {stderr}");
    }
    let listed: Vec<String> = String::from_utf8(out.stdout)
        .expect("UTF-8 list")
        .lines()
        .map(str::to_string)
        .collect();
    let has = |f: &str| listed.iter().any(|l| l == f);

    let mut wanted = Vec::new();
    templates(&root.join("templates"), root, &mut wanted);
    assert!(wanted.len() > 20, "templates/ found: {wanted:?}");
    wanted.extend(
        [
            "build.rs",
            "Cargo.toml",
            "Cargo.lock",
            "README.md",
            "CHANGELOG.md",
            "ARCHITECTURE.md",
            "src/main.rs",
            "src/lib.rs",
        ]
        .map(String::from),
    );
    for f in &wanted {
        assert!(has(f), "{f} is not in the package");
    }
    if root.join("LICENSE").exists() {
        assert!(has("LICENSE"), "LICENSE is not in the package");
    }
    for prefix in [
        "tests/",
        "snapshots/",
        "target/",
        "scripts/",
        ".ci/",
        "fuzz/",
        "examples/",
    ] {
        let leaked: Vec<&String> = listed.iter().filter(|l| l.starts_with(prefix)).collect();
        assert!(leaked.is_empty(), "{prefix} is packaged: {leaked:?}");
    }
}
