//! `check --format text`: each finding as `path:line:col: severity[rule]
//! message` (the compiler convention editors jump to), then a code frame of
//! the offending line and, when `harden fix` repairs it, what the fix does;
//! a one-line summary closes the report.

use crate::finding::Severity;
use crate::report::frame::{self, FrameStyle};
use crate::run::{plural, FileResult};
use console::Style;

/// What `harden fix` does about a fixable finding of `rule`, for the `help:` line.
pub fn fix_help(rule: &str) -> String {
    match crate::rules::info(rule)
        .map(|r| r.fix)
        .filter(|f| !f.is_empty())
    {
        Some(fix) => format!("run `harden fix` to {fix}"),
        None => "harden reports this and does not change it".to_string(),
    }
}

pub fn findings(results: &[FileResult], color: bool) -> String {
    let red = Style::new().red().bold();
    let yellow = Style::new().yellow().bold();
    let bold = Style::new().bold().force_styling(color);
    let help = Style::new().cyan().bold().force_styling(color);
    let mut out = String::new();
    for r in results {
        for f in &r.out.findings {
            let (sev_style, word) = match f.severity {
                Severity::Error => (red.clone(), "error"),
                Severity::Warning => (yellow.clone(), "warning"),
            };
            let style = FrameStyle::new(color, sev_style.clone());
            let sev = sev_style
                .force_styling(color)
                .apply_to(format!("{word}[{}]", f.rule));
            out.push_str(&format!(
                "{}: {sev} {}\n",
                bold.apply_to(format!("{}:{}:{}", r.display, f.line, f.col)),
                frame::printable(&f.message)
            ));
            if let Some(src) = &r.source {
                let fr = frame::render(src, f.line, f.col, &style);
                out.push_str(&fr);
                if f.fixable && !fr.is_empty() {
                    let pad = " ".repeat(f.line.to_string().len());
                    out.push_str(&format!(
                        "{pad} {} {} {}\n",
                        style.gutter.apply_to("="),
                        help.apply_to("help:"),
                        fix_help(f.rule)
                    ));
                }
            }
            out.push('\n');
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
    let errors = results.len() - checked;
    let unreadable = if errors == 0 {
        String::new()
    } else {
        format!(" {errors} file{} could not be checked.", plural(errors))
    };
    if count == 0 {
        format!(
            "No findings in {checked} file{}.{unreadable}\n",
            plural(checked)
        )
    } else {
        format!(
            "Found {count} finding{} in {files} of {checked} file{} ({fixable} fixable with `harden fix`).{unreadable}\n",
            plural(count),
            plural(checked)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::rules::Output;
    use crate::source::Source;

    fn result(text: &str, findings: Vec<Finding>) -> FileResult {
        FileResult {
            path: "compose.yaml".into(),
            display: "compose.yaml".into(),
            kind: Some(crate::discover::Kind::Compose),
            source: Some(Source::new(
                "compose.yaml".into(),
                "compose.yaml".into(),
                text.into(),
            )),
            out: Output {
                findings,
                ..Default::default()
            },
            fixed: None,
            error: None,
        }
    }

    #[test]
    fn frame_with_help_for_fixable_and_none_for_report_only() {
        let r = result(
            "services:\n  web:\n    privileged: true\n",
            vec![
                Finding::new("writable-rootfs", 2, 3, "service `web` has a writable root"),
                Finding::new("privileged", 3, 5, "service `web` runs privileged")
                    .report_only()
                    .warning(),
            ],
        );
        let out = findings(&[r], false);
        assert_eq!(
            out,
            "compose.yaml:2:3: error[writable-rootfs] service `web` has a writable root\n  |\n2 |   web:\n  |   ^^^\n  = help: run `harden fix` to set `read_only: true`\n\n\
compose.yaml:3:5: warning[privileged] service `web` runs privileged\n  |\n3 |     privileged: true\n  |     ^^^^^^^^^^\n\n"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let r = result("a:\n", vec![Finding::new("writable-rootfs", 1, 1, "m")]);
        assert!(!findings(std::slice::from_ref(&r), false).contains('\x1b'));
        assert!(findings(&[r], true).contains('\x1b'));
    }

    #[test]
    fn summary_counts_findings_fixable_and_unreadable_files() {
        let a = result("a:\n", vec![Finding::new("writable-rootfs", 1, 1, "m")]);
        let mut b = result("b:\n", vec![]);
        b.error = Some(crate::compose::FileError {
            line: 1,
            col: 1,
            message: "bad".into(),
        });
        assert_eq!(
            summary(&[a, b]),
            "Found 1 finding in 1 of 1 file (1 fixable with `harden fix`). 1 file could not be checked.\n"
        );
        assert_eq!(summary(&[]), "No findings in 0 files.\n");
    }
}
