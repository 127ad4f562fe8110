//! `check --format github`: GitHub Actions workflow commands, one per
//! finding, so that a check job annotates the offending lines of a pull
//! request without any upload step.

use crate::engine::FileResult;
use crate::finding::Severity;

/// A command's message: GitHub decodes `%25`, `%0D` and `%0A`; any other
/// control character (an escape sequence would recolour the job's log) is
/// shown escaped.
pub fn escape_data(s: &str) -> String {
    crate::escape::terminal_keeping(s, &['\r', '\n'])
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as a message, and `:` and `,` too, which would
/// otherwise end the value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(level: &str, file: &str, line: usize, col: usize, title: &str, message: &str) -> String {
    format!(
        "::{level} file={},line={line},col={col},title={}::{}\n",
        escape_property(file),
        escape_property(title),
        escape_data(message)
    )
}

pub fn render(results: &[FileResult]) -> String {
    let mut out = String::new();
    for r in results {
        if let Some(e) = &r.error {
            out.push_str(&command(
                "error", &r.display, e.line, e.col, "harden", &e.message,
            ));
        }
        for f in &r.out.findings {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let message = if f.fixable {
                format!("{} (`harden fix` repairs this)", f.message)
            } else {
                f.message.clone()
            };
            out.push_str(&command(
                level,
                &r.display,
                f.line,
                f.col,
                &format!("harden {}", f.rule),
                &message,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;
    use crate::finding::Output;

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn one_line_per_finding_and_error() {
        let r = FileResult {
            path: "dir,1/compose.yaml".into(),
            display: "dir,1/compose.yaml".into(),
            kind: None,
            source: None,
            out: Output {
                findings: vec![
                    Finding::new("writable-rootfs", 4, 3, "service `web`:\nwritable"),
                    Finding::new("undocumented-exception", 9, 5, "no reason")
                        .report_only()
                        .warning(),
                ],
                ..Default::default()
            },
            fixed: None,
            error: Some(crate::error::FileError {
                line: 2,
                col: 1,
                message: "100% broken".into(),
            }),
            more: false,
        };
        assert_eq!(
            render(&[r]),
            "::error file=dir%2C1/compose.yaml,line=2,col=1,title=harden::100%25 broken\n\
::error file=dir%2C1/compose.yaml,line=4,col=3,title=harden writable-rootfs::service `web`:%0Awritable (`harden fix` repairs this)\n\
::warning file=dir%2C1/compose.yaml,line=9,col=5,title=harden undocumented-exception::no reason\n"
        );
    }
}
