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
