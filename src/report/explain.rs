//! `harden explain RULE`: what a rule finds, why it matters, an example
//! before and after, how the fix behaves, when to review, references.
//!
//! The texts are data (`templates/explain/<rule>.md`, whose front matter is
//! the rule's entry in [`crate::registry`]). Their examples are code fences
//! tagged `LANG before PATH`, `LANG after PATH` or `LANG by-hand PATH`: a
//! test writes every `before` file, runs `harden fix` and compares the
//! result with each `after`, so the documentation cannot drift from what
//! harden does. The tags are dropped when the text is printed.

use crate::rules;
use console::Style;
use std::process::ExitCode;

/// Every rule's page as written, front matter included: (rule, text).
pub use crate::registry::PAGES as TEXTS;

/// The sections every explanation has, in order.
pub const SECTIONS: &[&str] = &[
    "## What it finds",
    "## Why it matters",
    "## Example",
    "## How the fix behaves",
    "## When to review",
    "## References",
];

/// The explanation of `rule`, as written in its template (after the front
/// matter, which the registry reads).
pub fn text(rule: &str) -> Option<&'static str> {
    crate::registry::get(rule).map(|r| r.page)
}

/// What an example file is in an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The input given to harden.
    Before,
    /// Exactly what `harden fix` makes of it.
    After,
    /// A change harden cannot make, written by a person: no finding of the
    /// rule is left in it.
    ByHand,
}

/// A tagged code fence of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example<'a> {
    pub lang: &'a str,
    pub role: Role,
    /// Where the file goes, relative to the example's project directory.
    pub path: &'a str,
    /// The file's text, with its final line ending.
    pub body: String,
}

/// `yaml before compose.yaml` → (lang, role, path).
fn fence_tag(info: &str) -> Option<(&str, Role, &str)> {
    let mut words = info.split_whitespace();
    let lang = words.next()?;
    let role = match words.next()? {
        "before" => Role::Before,
        "after" => Role::After,
        "by-hand" => Role::ByHand,
        _ => return None,
    };
    let path = words.next()?;
    Some((lang, role, path))
}

/// The tagged examples of an explanation, in order.
pub fn examples(md: &str) -> Vec<Example<'_>> {
    let mut out = Vec::new();
    let mut current: Option<Example> = None;
    for line in md.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => {
                if let Some((lang, role, path)) = fence_tag(info) {
                    current = Some(Example {
                        lang,
                        role,
                        path,
                        body: String::new(),
                    });
                }
            }
            (Some(_), Some("")) => out.extend(current.take()),
            (Some(ex), _) => {
                ex.body.push_str(line);
                ex.body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// The explanation as printed: fence tags reduced to the language, and on
/// a terminal headings in bold and code in colour.
pub fn render(md: &str, styled: bool) -> String {
    let heading = Style::new().bold().force_styling(styled);
    let code = Style::new().cyan().force_styling(styled);
    let mut out = String::new();
    let mut in_code = false;
    for line in md.lines() {
        if let Some(info) = line.strip_prefix("```") {
            in_code = !in_code;
            let lang = info.split_whitespace().next().unwrap_or("");
            out.push_str(&format!("```{lang}\n"));
        } else if in_code {
            out.push_str(&format!("{}\n", code.apply_to(line)));
        } else if line.starts_with('#') {
            out.push_str(&format!("{}\n", heading.apply_to(line)));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

pub fn explain(rule: &str) -> ExitCode {
    let styled = console::Term::stdout().is_term()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    match text(rule) {
        Some(md) => {
            print!("{}", render(md, styled));
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: unknown rule `{rule}`. The rules are:");
            for r in crate::registry::rules() {
                eprintln!("  {:<24} {}", r.name, r.summary);
            }
            ExitCode::from(2)
        }
    }
}

/// `harden explain root-canary-missing --lang LANG`: the ready snippet alone,
/// so it can be redirected into a file.
pub fn snippet(rule: &str, lang: rules::root_canary_missing::Lang) -> ExitCode {
    if rule != rules::root_canary_missing::NAME {
        eprintln!(
            "error: --lang applies to `{}` only",
            rules::root_canary_missing::NAME
        );
        return ExitCode::from(2);
    }
    print!("{}", lang.snippet());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_an_explanation_and_every_file_a_rule() {
        for r in rules::RULES {
            assert!(
                text(r.name).is_some(),
                "rule `{}` has no templates/explain/{}.md",
                r.name,
                r.name
            );
        }
        for (name, _) in TEXTS {
            assert!(
                rules::get(name).is_some(),
                "explanation for unknown rule `{name}`"
            );
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/explain");
        // The embedded text is the file's.
        for (name, md) in TEXTS {
            let on_disk = std::fs::read_to_string(dir.join(format!("{name}.md"))).unwrap();
            assert_eq!(*md, on_disk, "{name}");
        }
    }

    #[test]
    fn every_explanation_has_its_sections_and_an_example() {
        for (name, _) in TEXTS {
            let md = text(name).unwrap();
            assert!(
                md.starts_with(&format!("# {name}: ")),
                "{name}: the title names the rule"
            );
            let mut from = 0;
            for s in SECTIONS {
                let at = md
                    .get(from..)
                    .and_then(|rest| rest.find(&format!("\n{s}\n")))
                    .unwrap_or_else(|| panic!("{name}: section `{s}` missing or out of order"));
                from += at + 1;
            }
            let ex = examples(md);
            assert!(
                ex.iter().any(|e| e.role == Role::Before),
                "{name}: no `before` example"
            );
            assert!(
                ex.iter()
                    .any(|e| matches!(e.role, Role::After | Role::ByHand)),
                "{name}: no `after` or `by-hand` example"
            );
            for e in &ex {
                if e.role == Role::After {
                    assert!(
                        ex.iter()
                            .any(|b| b.role == Role::Before && b.path == e.path),
                        "{name}: `after {}` has no `before`",
                        e.path
                    );
                }
            }
            assert!(
                md.contains("CIS Docker Benchmark v1.6.0"),
                "{name}: no CIS reference"
            );
        }
    }

    #[test]
    fn fences() {
        let md = "text\n```yaml before compose.yaml\nservices: {}\n```\n\n```sh\nls\n```\n```dockerfile after app/Dockerfile\nFROM x\nUSER app\n```\n";
        let ex = examples(md);
        assert_eq!(ex.len(), 2);
        assert_eq!(
            (ex[0].lang, ex[0].role, ex[0].path, ex[0].body.as_str()),
            ("yaml", Role::Before, "compose.yaml", "services: {}\n")
        );
        assert_eq!(ex[1].body, "FROM x\nUSER app\n");
        let plain = render(md, false);
        assert!(plain.contains("```yaml\nservices: {}\n```\n"));
        assert!(!plain.contains("before"));
        assert!(plain.contains("```sh\nls\n```"));
        assert_eq!(fence_tag("yaml"), None);
        assert_eq!(fence_tag("yaml later x"), None);
    }
}
