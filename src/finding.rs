//! What a rule reports: one problem at one place, and whether `fix` repairs it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Breaks the baseline: `check` fails on it.
    Error,
    /// Needs a person's judgement (an exception without reason, privileged mode).
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// 1-based line and column (in characters) of the offending text.
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// `harden fix` repairs it.
    pub fixable: bool,
}

impl Finding {
    pub fn new(rule: &'static str, line: usize, col: usize, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Error,
            line,
            col,
            message: message.into(),
            fixable: true,
        }
    }

    pub fn report_only(mut self) -> Self {
        self.fixable = false;
        self
    }

    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }
}

/// Why a line was added: shown after the diff so a reviewer knows what each
/// change is for without reading harden's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// What the note is about: a service (`service web`) or a stage.
    pub subject: String,
    /// The rule the change comes from, where there is one.
    pub rule: Option<&'static str>,
    pub text: String,
    pub kind: NoteKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    /// Why a line was added or changed.
    Change,
    /// What harden found out (the base image family, ...).
    Info,
    /// Something a person should check before merging.
    Review,
}
