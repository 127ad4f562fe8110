//! `check --format text`: each finding as `path:line:col: severity[rule]
//! message` (the compiler convention editors jump to), then a code frame of
//! the offending line and, when `harden fix` repairs it, what the fix does;
//! a one-line summary closes the report.

use crate::engine::FileResult;
use crate::escape;
use crate::finding::Severity;
use crate::report::frame::{self, FrameStyle};
use crate::report::plural;
use console::Style;

/// What `harden fix` does about a fixable finding of `rule`, for the `help:` line.
pub fn fix_help(rule: &str) -> String {
    match crate::registry::get(rule)
        .map(|r| r.fix.as_str())
        .filter(|f| !f.is_empty())
    {
        Some(fix) => format!("run `harden fix` to {fix}"),
        None => "harden reports this and does not change it".to_string(),
    }
}

/// The report of every finding in `results`, as one string.
pub fn findings(results: &[FileResult], color: bool) -> String {
    let mut out = String::new();
    for r in results {
        each_finding(r, color, |s| out.push_str(s));
    }
    out
}

/// Render the findings of one file, handing each finding's text to `put`
/// as soon as it is drawn, so a file with a hundred thousand findings is
/// never held as one string.
pub fn each_finding(r: &FileResult, color: bool, mut put: impl FnMut(&str)) {
    // Styles are built once: each holds a set of attributes to clone.
    let styles = [Severity::Error, Severity::Warning].map(|sev| {
        let s = match sev {
            Severity::Error => Style::new().red().bold(),
            Severity::Warning => Style::new().yellow().bold(),
        };
        FrameStyle::new(color, s)
    });
    let bold = Style::new().bold().force_styling(color);
    let help = Style::new().cyan().bold().force_styling(color);
    let mut out = String::new();
    {
        for f in &r.out.findings {
            out.clear();
            let (style, word) = match f.severity {
                Severity::Error => (&styles[0], "error"),
                Severity::Warning => (&styles[1], "warning"),
            };
            style.put(
                &mut out,
                &bold,
                format_args!("{}:{}:{}", escape::terminal(&r.display), f.line, f.col),
            );
            out.push_str(": ");
            style.put(&mut out, &style.caret, format_args!("{word}[{}]", f.rule));
            out.push(' ');
            out.push_str(&escape::terminal(&f.message));
            out.push('\n');
            if let Some(src) = &r.source {
                let fr = frame::render(src, f.line, f.col, style);
                out.push_str(&fr);
                if f.fixable && !fr.is_empty() {
                    out.push_str(&" ".repeat(f.line.to_string().len()));
                    out.push(' ');
                    style.put(&mut out, &style.gutter, "=");
                    out.push(' ');
                    style.put(&mut out, &help, "help:");
                    out.push(' ');
                    out.push_str(&fix_help(f.rule));
                    out.push('\n');
                }
            }
            out.push('\n');
            put(&out);
        }
    }
}

/// The counts the closing summary line gives, gathered file by file as
/// results stream past.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    findings: usize,
    fixable: usize,
    warnings: usize,
    files_with_findings: usize,
    checked: usize,
    errors: usize,
    /// The file whose findings are coming in parts had some already.
    open_with_findings: bool,
}

/// What one result adds to a [`Tally`]: counted where the result is made,
/// so that the result itself need not travel to the thread that prints.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    findings: usize,
    fixable: usize,
    warnings: usize,
    more: bool,
    error: bool,
}

impl Counts {
    pub fn of(r: &FileResult) -> Counts {
        Counts {
            findings: r.out.findings.len(),
            fixable: r.out.findings.iter().filter(|f| f.fixable).count(),
            warnings: (r.out.findings.iter())
                .filter(|f| f.severity == crate::finding::Severity::Warning)
                .count(),
            more: r.more,
            error: r.error.is_some(),
        }
    }
}

impl Tally {
    /// Count a file's result, or a part of it (`more`): a file counts once,
    /// when its last result comes.
    pub fn add(&mut self, r: &FileResult) {
        self.count(Counts::of(r));
    }

    /// [`Self::add`], from the counts of a result.
    pub fn count(&mut self, c: Counts) {
        self.findings += c.findings;
        self.fixable += c.fixable;
        self.warnings += c.warnings;
        let any = std::mem::take(&mut self.open_with_findings) || c.findings > 0;
        if c.more {
            self.open_with_findings = any;
            return;
        }
        self.files_with_findings += usize::from(any);
        if c.error {
            self.errors += 1;
        } else {
            self.checked += 1;
        }
    }

    /// Whether any finding reaches `fail_on`, so that `check` exits 1.
    pub fn fails(&self, fail_on: crate::finding::FailOn) -> bool {
        use crate::finding::FailOn;
        match fail_on {
            FailOn::Error => self.findings > self.warnings,
            FailOn::Warning => self.findings > 0,
            FailOn::Never => false,
        }
    }

    pub fn summary(&self) -> String {
        let Tally {
            findings: count,
            fixable,
            files_with_findings: files,
            checked,
            errors,
            ..
        } = *self;
        let unreadable = if errors == 0 {
            String::new()
        } else {
            format!(" {errors} file{} could not be checked.", plural(errors))
        };
        let unreadable = match crate::config::in_use() {
            Some(c) => format!("{unreadable} Configuration: {c}."),
            None => unreadable,
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
}

pub fn summary(results: &[FileResult]) -> String {
    let mut t = Tally::default();
    for r in results {
        t.add(r);
    }
    t.summary()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::finding::Output;
    use crate::source::Source;

    fn result(text: &str, findings: Vec<Finding>) -> FileResult {
        FileResult {
            path: "compose.yaml".into(),
            display: "compose.yaml".into(),
            kind: Some(crate::discover::Kind::Compose),
            source: Some(
                Source::new("compose.yaml".into(), "compose.yaml".into(), text.into()).into(),
            ),
            out: Output {
                findings,
                ..Default::default()
            },
            fixed: None,
            error: None,
            more: false,
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
        b.error = Some(crate::error::FileError {
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
