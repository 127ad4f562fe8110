//! What a rule reports: one problem at one place, and whether `fix` repairs
//! it; notes on why a line was added; and a rule's whole output for a file.

use crate::edit::Edit;
use crate::migration::Migration;
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
    /// A review note about existing volumes: the reports that list the
    /// output's [`Output::migrations`] on their own leave it out.
    #[serde(skip)]
    pub migration: bool,
}

/// The least severity that makes `harden check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 1 on errors only (the default).
    Error,
    /// Exit 1 on errors and warnings.
    Warning,
    /// Never exit 1 for findings.
    Never,
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

/// A service whose image harden could not learn about (no profile, no
/// Dockerfile here, and the image could not be read), with why: reports
/// list these apart, so that a reader (or a bot) can tell the services
/// harden knows from those it hardened blind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownImage {
    pub service: String,
    /// As the author wrote it.
    pub image: String,
    /// One reason per source tried (the engine's store, the registry).
    pub reasons: Vec<String>,
    /// Left unchanged (`unknown-images = "skip"`).
    pub skipped: bool,
}

/// What one or more rules produced for one file.
#[derive(Debug, Default, Clone)]
pub struct Output {
    pub findings: Vec<Finding>,
    pub edits: Vec<Edit>,
    pub notes: Vec<Note>,
    /// Named volumes to declare under the top-level `volumes:` (compose).
    pub new_volumes: Vec<String>,
    /// JSON pointers (into the file's data) whose values a fix deliberately
    /// replaces, e.g. `/services/web/read_only`; every other value must
    /// survive the fix unchanged.
    pub replaced: Vec<String>,
    /// Named volumes that need a one-time chown before the fixed service
    /// starts (the engine works them out once the fix is verified).
    pub migrations: Vec<Migration>,
    /// Services whose image harden could not learn about.
    pub unknown_images: Vec<UnknownImage>,
    /// Edits to other files than the one the rules read: the entry module
    /// a Dockerfile runs, which `fix --canary` gives a root canary.
    pub sources: Vec<SourceEdit>,
}

/// An edit to a program's source file, carried by the output of the
/// Dockerfile that runs it; the engine verifies it and makes it a file of
/// the run like any other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEdit {
    pub path: std::path::PathBuf,
    /// The text as read, which the edits apply to.
    pub text: String,
    pub edits: Vec<Edit>,
    /// The language's name (`python`): how the edited text is re-checked.
    pub lang: &'static str,
    /// Why the file changes, for its notes.
    pub note: Note,
}

impl Output {
    fn push_note(&mut self, kind: NoteKind, subject: &str, rule: &'static str, text: String) {
        self.notes.push(Note {
            subject: subject.to_string(),
            rule: Some(rule).filter(|r| !r.is_empty()),
            text,
            kind,
            migration: false,
        });
    }

    /// Why a change was made.
    pub fn note(&mut self, subject: &str, rule: &'static str, text: impl Into<String>) {
        self.push_note(NoteKind::Change, subject, rule, text.into());
    }

    /// What harden found out, without changing anything.
    pub fn info(&mut self, subject: &str, rule: &'static str, text: impl Into<String>) {
        self.push_note(NoteKind::Info, subject, rule, text.into());
    }

    /// Something a person should check before merging.
    pub fn review(&mut self, subject: &str, rule: &'static str, text: impl Into<String>) {
        self.push_note(NoteKind::Review, subject, rule, text.into());
    }

    /// A review note that existing volumes need a one-time chown.
    pub fn migration_review(&mut self, subject: &str, rule: &'static str, text: String) {
        self.push_note(NoteKind::Review, subject, rule, text);
        if let Some(n) = self.notes.last_mut() {
            n.migration = true;
        }
    }
}

/// A JSON pointer segment, escaped as RFC 6901 says.
pub fn pointer(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}
