//! `harden explain RULE`.

use crate::rules;
use std::process::ExitCode;

pub fn explain(rule: &str) -> ExitCode {
    match rules::info(rule) {
        Some(r) => {
            println!("{}: {}\n\n{}", r.name, r.summary, r.explanation);
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: unknown rule `{rule}`. The rules are:");
            for r in rules::RULES {
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
