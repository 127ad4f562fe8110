//! `check --format text`: one line per finding, `path:line:col`, like a
//! compiler, and a summary.

use crate::run::{plural, FileResult};
use console::Style;

pub fn findings(results: &[FileResult], color: bool) -> String {
    let red = Style::new().red().bold().force_styling(color);
    let yellow = Style::new().yellow().bold().force_styling(color);
    let bold = Style::new().bold().force_styling(color);
    let mut out = String::new();
    for r in results {
        for f in &r.out.findings {
            let sev = match f.severity {
                crate::finding::Severity::Error => red.apply_to(format!("error[{}]", f.rule)),
                crate::finding::Severity::Warning => {
                    yellow.apply_to(format!("warning[{}]", f.rule))
                }
            };
            let fix = if f.fixable { " (fixable)" } else { "" };
            out.push_str(&format!(
                "{}: {sev} {}{fix}\n",
                bold.apply_to(format!("{}:{}:{}", r.display, f.line, f.col)),
                f.message
            ));
        }
    }
    out
}

pub fn summary(results: &[FileResult]) -> String {
    let count: usize = results.iter().map(|r| r.out.findings.len()).sum();
    let fixable: usize = results
        .iter()
        .map(|r| r.out.findings.iter().filter(|f| f.fixable).count())
        .sum();
    let files = results
        .iter()
        .filter(|r| !r.out.findings.is_empty())
        .count();
    let checked = results.iter().filter(|r| r.error.is_none()).count();
    if count == 0 {
        format!("No findings in {checked} file{}.\n", plural(checked))
    } else {
        format!(
            "Found {count} finding{} in {files} of {checked} file{} ({fixable} fixable with `harden fix`).\n",
            plural(count),
            plural(checked)
        )
    }
}
