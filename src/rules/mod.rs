//! The rules, one file each, named for the problem they find. A rule reads
//! a parsed file (and the service's plan) and returns findings, edits and
//! notes; it never touches a file.

pub mod cache_on_rootfs;
pub mod default_capabilities;
pub mod implicit_home;
pub mod new_privileges;
pub mod privileged;
pub mod root_canary_missing;
pub mod root_user;
pub mod undocumented_exception;
pub mod unmounted_write_path;
pub mod writable_rootfs;

use crate::edit::Edit;
use crate::finding::{Finding, Note, NoteKind};

/// What one or more rules produced for one file.
#[derive(Debug, Default, Clone)]
pub struct Output {
    pub findings: Vec<Finding>,
    pub edits: Vec<Edit>,
    pub notes: Vec<Note>,
    /// JSON pointers (into the file's data) whose values a fix deliberately
    /// replaces, e.g. `/services/web/read_only`; every other value must
    /// survive the fix unchanged.
    pub replaced: Vec<String>,
}

impl Output {
    fn push_note(&mut self, kind: NoteKind, subject: &str, rule: &'static str, text: String) {
        self.notes.push(Note {
            subject: subject.to_string(),
            rule: Some(rule).filter(|r| !r.is_empty()),
            text,
            kind,
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
}

/// A rule's identity and its explanation for `harden explain`.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub explanation: &'static str,
    /// What `harden fix` does about a finding, for help lines; empty for a
    /// rule that only reports.
    pub fix: &'static str,
}

/// Every rule, in the order fixes are applied and findings listed.
pub const RULES: &[RuleInfo] = &[
    root_user::INFO,
    implicit_home::INFO,
    writable_rootfs::INFO,
    default_capabilities::INFO,
    new_privileges::INFO,
    unmounted_write_path::INFO,
    cache_on_rootfs::INFO,
    privileged::INFO,
    undocumented_exception::INFO,
    root_canary_missing::INFO,
];

pub fn info(name: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|r| r.name == name)
}

/// A JSON pointer segment, escaped as RFC 6901 says.
pub fn pointer(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}
