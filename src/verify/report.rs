//! The verify report: per project the machine's facts, warnings, and one
//! table per container and phase, as text for a terminal or as markdown for
//! a pull request.

use super::checks::{Check, Status};
use std::io::Write;

/// Output format of `harden verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Markdown,
}

/// The checks of one container at one point of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub service: String,
    pub container: String,
    /// Empty for the first start; `after restart`, `unhardened run`.
    pub phase: String,
    pub checks: Vec<Check>,
    /// The container's last log lines, shown when a check failed.
    pub logs: Vec<String>,
}

impl Table {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

/// Everything verify found about one compose file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub file: String,
    pub facts: String,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    pub tables: Vec<Table>,
    /// Set when the run ended in an error (after the tables it produced).
    pub error: Option<String>,
}

impl Report {
    /// The services with a failed check in any phase, by name.
    pub fn failing_services(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for t in self.tables.iter().filter(|t| t.failed()) {
            if !names.contains(&t.service) {
                names.push(t.service.clone());
            }
        }
        names.sort();
        names
    }

    pub fn passed(&self) -> bool {
        self.error.is_none() && self.failing_services().is_empty()
    }

    pub fn render(&self, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            Format::Text => self.text(out),
            Format::Markdown => self.markdown(out),
        }
    }

    fn verdict(&self) -> &'static str {
        if self.error.is_some() {
            "ERROR"
        } else if self.passed() {
            "all checks passed"
        } else {
            "FAILED"
        }
    }

    fn text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}: engine {}", clean(&self.file), clean(&self.facts))?;
        for w in &self.warnings {
            writeln!(out, "warning: {}", clean(w))?;
        }
        for n in &self.notes {
            writeln!(out, "note: {}", clean(n))?;
        }
        for t in &self.tables {
            let phase = if t.phase.is_empty() {
                String::new()
            } else {
                format!(" {}", t.phase)
            };
            writeln!(
                out,
                "service {} (container {}){phase}",
                clean(&t.service),
                clean(&t.container)
            )?;
            let width = t
                .checks
                .iter()
                .map(|c| c.name.chars().count())
                .max()
                .unwrap_or(0);
            for c in &t.checks {
                let word = match c.status {
                    Status::Pass => console::style("PASS").green(),
                    Status::Fail => console::style("FAIL").red().bold(),
                    Status::Skip => console::style("SKIP").yellow(),
                };
                writeln!(
                    out,
                    "  {:<width$}  {word}  {}",
                    clean(&c.name),
                    clean(&c.evidence)
                )?;
            }
            if t.failed() {
                if t.logs.iter().all(|l| l.trim().is_empty()) {
                    writeln!(out, "  (the container wrote no log output)")?;
                } else {
                    writeln!(out, "  last log lines:")?;
                    for l in &t.logs {
                        writeln!(out, "    | {}", clean(l))?;
                    }
                }
            }
        }
        let failing = self.failing_services();
        if !failing.is_empty() {
            writeln!(out, "failing services: {}", clean(&failing.join(", ")))?;
        }
        if let Some(e) = &self.error {
            writeln!(out, "error: {}", clean(e))?;
        }
        writeln!(out, "{}: {}", clean(&self.file), self.verdict())
    }

    fn markdown(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "### harden verify: {}: {}\n",
            md(&self.file),
            self.verdict()
        )?;
        writeln!(out, "Engine: {}\n", md(&self.facts))?;
        for w in &self.warnings {
            writeln!(out, "> **Warning:** {}\n", md(w))?;
        }
        for n in &self.notes {
            writeln!(out, "- {}", md(n))?;
        }
        if !self.notes.is_empty() {
            writeln!(out)?;
        }
        for t in &self.tables {
            let phase = if t.phase.is_empty() {
                String::new()
            } else {
                format!(", {}", md(&t.phase))
            };
            writeln!(
                out,
                "#### Service {} (container {}){phase}\n",
                md(&t.service),
                md(&t.container)
            )?;
            writeln!(out, "| check | result | evidence |")?;
            writeln!(out, "| --- | --- | --- |")?;
            for c in &t.checks {
                let word = match c.status {
                    Status::Pass => "✅ PASS",
                    Status::Fail => "❌ FAIL",
                    Status::Skip => "➖ SKIP",
                };
                writeln!(out, "| {} | {word} | {} |", md(&c.name), md(&c.evidence))?;
            }
            writeln!(out)?;
            if t.failed() && t.logs.iter().any(|l| !l.trim().is_empty()) {
                writeln!(out, "<details><summary>last log lines</summary>\n")?;
                for l in &t.logs {
                    writeln!(out, "    {}", clean(l))?;
                }
                writeln!(out, "\n</details>\n")?;
            }
        }
        let failing = self.failing_services();
        if !failing.is_empty() {
            writeln!(out, "Failing services: {}\n", md(&failing.join(", ")))?;
        }
        if let Some(e) = &self.error {
            writeln!(out, "Error: {}\n", md(e))?;
        }
        Ok(())
    }
}

/// Control characters (terminal escapes, newlines) from names, logs and
/// command output replaced, so they cannot rewrite what the reader sees.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Text for a markdown table cell or line: no HTML, no code spans, no table
/// breaks, no links or emphasis from names and evidence.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' | '*' | '_' | '[' | ']' | '\\' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            file: "shop/compose.yaml".into(),
            facts: "podman 4.3.1, podman-compose 1.0.6, runtime runc 1.1.5".into(),
            warnings: vec!["runc 1.1.5 ignores tmpfs mode=".into()],
            notes: vec![],
            tables: vec![Table {
                service: "web|<img src=x>".into(),
                container: "p_web_1".into(),
                phase: "after restart".into(),
                checks: vec![
                    Check::new("running", Status::Pass, "running after 3 s, 0 restarts"),
                    Check::new(
                        "writable /tmp",
                        Status::Fail,
                        "write probe failed as 1000:1000: `x`",
                    ),
                ],
                logs: vec!["\u{1b}[31mboom".into()],
            }],
            error: None,
        }
    }

    #[test]
    fn markdown_is_a_table_with_names_escaped() {
        let mut out = Vec::new();
        report().render(Format::Markdown, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("| check | result | evidence |"), "{text}");
        assert!(text.contains("| running | ✅ PASS | running after 3 s, 0 restarts |"));
        assert!(text.contains("web&#124;&lt;img src=x&gt;"), "{text}");
        assert!(text.contains("1000:1000: \\`x\\`"), "{text}");
        assert!(text.contains(", after restart"));
        assert!(text.contains("> **Warning:** runc 1.1.5 ignores tmpfs mode="));
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("FAILED"));
    }

    #[test]
    fn each_failing_service_is_named_once_across_phases() {
        let mut r = report();
        let mut first = r.tables[0].clone();
        first.phase = String::new();
        let mut other = first.clone();
        other.service = "api".into();
        r.tables.insert(0, first);
        r.tables.push(other);
        assert_eq!(r.failing_services(), ["api", "web|<img src=x>"]);
    }

    #[test]
    fn text_names_the_engine_and_the_failing_services() {
        let mut out = Vec::new();
        console::set_colors_enabled(false);
        report().render(Format::Text, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf8");
        assert!(
            text.starts_with("shop/compose.yaml: engine podman 4.3.1"),
            "{text}"
        );
        assert!(text.contains("service web|<img src=x> (container p_web_1) after restart"));
        assert!(text.contains("  writable /tmp  FAIL  write probe failed as 1000:1000"));
        assert!(text.contains("    | \u{fffd}[31mboom"));
        assert!(text.contains("failing services: web|<img src=x>"));
        assert!(text.trim_end().ends_with("shop/compose.yaml: FAILED"));
    }
}
