//! The examples in README.md do what README.md says.

mod common;

use common::*;
use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// Fenced blocks of `lang` in README.md, in order.
fn blocks(lang: &str) -> Vec<String> {
    let text = readme();
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l.trim_end() == format!("```{lang}") {
            out.push(
                lines
                    .by_ref()
                    .take_while(|l| !l.starts_with("```"))
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n",
            );
        }
    }
    out
}

/// The two set-up commands at the top: the example is the bundled one, and
/// the test command is `cargo test`.
#[test]
fn setup_commands() {
    let first = &blocks("sh")[0];
    assert!(
        first.contains("cargo run --release -- fix --dry-run examples/ocr-service"),
        "{first}"
    );
    assert!(first.contains("cargo test"), "{first}");
    assert!(Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ocr-service/docker-compose.yml")
        .is_file());
    let dir = scratch();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        dir.path(),
    );
    let r = harden(dir.path(), &["fix", "--dry-run", "ocr-service"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
}

/// Every subcommand the usage block lists exists, with the options it shows.
#[test]
fn usage_block() {
    let text = readme();
    let usage = text
        .split("## Usage")
        .nth(1)
        .unwrap()
        .split("```")
        .nth(1)
        .unwrap();
    let lines: Vec<&str> = usage.lines().filter(|l| l.starts_with("harden ")).collect();
    assert!(lines.len() >= 6, "{usage}");
    for line in lines {
        let sub = line.split_whitespace().nth(1).unwrap();
        let help = harden(Path::new("."), &[sub, "--help"]);
        assert_eq!(help.code, 0, "`harden {sub} --help`: {}", help.stderr);
        for opt in line
            .split_whitespace()
            .filter(|w| w.trim_start_matches('[').starts_with("--"))
        {
            let opt = opt.trim_start_matches('[').trim_end_matches(']');
            let opt = opt.split(['=', ']']).next().unwrap();
            assert!(
                help.stdout.contains(opt),
                "`harden {sub}` has no {opt}:\n{}",
                help.stdout
            );
        }
    }
}

/// The exception example: honoured, with its reason, so nothing is reported
/// for the rule it allows.
#[test]
fn exception_example() {
    let yaml = blocks("yaml")
        .into_iter()
        .find(|b| b.contains("x-harden"))
        .expect("the exception example");
    let dir = scratch();
    let text = yaml.replace(
        "  vpn:\n",
        "  vpn:\n    image: registry.example.com/net/vpn:2\n",
    );
    std::fs::write(dir.path().join("compose.yaml"), text).unwrap();
    let r = harden(dir.path(), &["check", "compose.yaml"]);
    assert!(!r.stdout.contains("[writable-rootfs]"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("[undocumented-exception]"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("[default-capabilities]"), "{}", r.stdout);
}

/// The completions and man page lines run.
#[test]
fn completions_and_man() {
    let text = readme();
    let block = text
        .split("## Shell completions and man page")
        .nth(1)
        .unwrap()
        .split("```")
        .nth(1)
        .unwrap();
    let lines: Vec<&str> = block.lines().filter(|l| l.starts_with("harden ")).collect();
    assert_eq!(lines.len(), 4, "{block}");
    for line in lines {
        let args: Vec<&str> = line
            .split('>')
            .next()
            .unwrap()
            .split_whitespace()
            .skip(1)
            .collect();
        let r = harden(Path::new("."), &args);
        assert_eq!(r.code, 0, "{line}: {}", r.stderr);
        assert!(!r.stdout.is_empty(), "{line}");
    }
}
