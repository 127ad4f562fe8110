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

/// The phase of `--from-unhardened`'s first run, of the project as it was.
pub const UNHARDENED: &str = "unhardened run";

/// What a service that failed in its unhardened run is marked with.
const FAILS_BEFORE: &str = "fails before harden";

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

    /// The services whose unhardened run failed (`--from-unhardened`):
    /// their hardened failures are not harden's doing.
    pub fn failing_before_harden(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for t in self
            .tables
            .iter()
            .filter(|t| t.phase == UNHARDENED && t.failed())
        {
            if !names.contains(&t.service) {
                names.push(t.service.clone());
            }
        }
        names.sort();
        names
    }

    /// The failing services, each marked where it failed before harden.
    fn failing_list(&self) -> String {
        let before = self.failing_before_harden();
        self.failing_services()
            .iter()
            .map(|s| {
                if before.contains(s) {
                    format!("{s} ({FAILS_BEFORE})")
                } else {
                    s.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The mark after a table's title: its service failed unhardened too.
    fn mark(&self, t: &Table, before: &[String]) -> String {
        if t.phase != UNHARDENED && before.contains(&t.service) {
            format!(": {FAILS_BEFORE}")
        } else {
            String::new()
        }
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
        } else if self
            .failing_services()
            .iter()
            .all(|s| self.failing_before_harden().contains(s))
        {
            "FAILED, as before harden"
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
        let before = self.failing_before_harden();
        for t in &self.tables {
            let phase = if t.phase.is_empty() {
                String::new()
            } else {
                format!(" {}", t.phase)
            };
            writeln!(
                out,
                "service {} (container {}){phase}{}",
                clean(&t.service),
                clean(&t.container),
                self.mark(t, &before)
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
        if !self.failing_services().is_empty() {
            writeln!(out, "failing services: {}", clean(&self.failing_list()))?;
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
        let before = self.failing_before_harden();
        for t in &self.tables {
            let phase = if t.phase.is_empty() {
                String::new()
            } else {
                format!(", {}", md(&t.phase))
            };
            writeln!(
                out,
                "#### Service {} (container {}){phase}{}\n",
                md(&t.service),
                md(&t.container),
                self.mark(t, &before)
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
        if !self.failing_services().is_empty() {
            writeln!(out, "Failing services: {}\n", md(&self.failing_list()))?;
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
    fn a_service_that_failed_unhardened_is_marked_in_both_formats() {
        let mut r = report();
        let mut old = r.tables[0].clone();
        old.phase = UNHARDENED.into();
        old.checks = vec![Check::new("running", Status::Fail, "exited, exit code 1")];
        let mut api = r.tables[0].clone();
        api.service = "api".into();
        r.tables.insert(0, old);
        assert_eq!(r.failing_before_harden(), ["web|<img src=x>"]);
        console::set_colors_enabled(false);
        let mut out = Vec::new();
        r.render(Format::Text, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf8");
        assert!(
            text.contains("(container p_web_1) after restart: fails before harden\n"),
            "{text}"
        );
        assert!(
            !text.contains("unhardened run: fails before harden"),
            "{text}"
        );
        assert!(text.contains("failing services: web|<img src=x> (fails before harden)\n"));
        assert!(
            text.trim_end().ends_with("FAILED, as before harden"),
            "{text}"
        );
        let mut out = Vec::new();
        r.render(Format::Markdown, &mut out).expect("render");
        let md = String::from_utf8(out).expect("utf8");
        assert!(md.contains(": FAILED, as before harden"), "{md}");
        assert!(md.contains("after restart: fails before harden\n"), "{md}");
        // A service that fails only hardened is harden's: plain FAILED.
        r.tables.push(api);
        let mut out = Vec::new();
        r.render(Format::Text, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("failing services: api, web|<img src=x> (fails before harden)"));
        assert!(text.trim_end().ends_with(": FAILED"), "{text}");
        assert!(!r.passed());
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
