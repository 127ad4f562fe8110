//! What a rule reports: one problem at one place, and whether `fix` repairs
//! it; notes on why a line was added; and a rule's whole output for a file.

use crate::edit::Edit;
use crate::migration::Migration;
use serde::Serialize;
use std::borrow::Cow;

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
    /// The whole explanation: `--verbose` and the JSON report give it.
    pub text: String,
    /// The one line the notes show by default, where `text` says more
    /// than a reviewer needs on every line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short: Option<Short>,
    /// An explanation that many notes share (the baseline, unknown images,
    /// a canary snippet): reports say it once and refer to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<Shared>,
    pub kind: NoteKind,
    /// A review note about existing volumes: the reports that list the
    /// output's [`Output::migrations`] on their own leave it out.
    #[serde(skip)]
    pub migration: bool,
}

/// A note in a few words: what changed (or what to do), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Short {
    /// The change itself (`read_only: true`, volume `db-data:/data`): what a
    /// summary lists.
    pub what: String,
    /// The reason in a few words; empty where a shared explanation gives it.
    pub why: String,
}

impl Note {
    /// The line shown by default.
    pub fn line(&self) -> std::borrow::Cow<'_, str> {
        match &self.short {
            Some(s) if s.why.is_empty() => s.what.as_str().into(),
            Some(s) => format!("{} — {}", s.what, s.why).into(),
            None => self.text.as_str().into(),
        }
    }

    /// What changed, without the reason: the summaries list it.
    pub fn what(&self) -> &str {
        self.short.as_ref().map_or(&self.text, |s| &s.what)
    }

    /// Whether the short form shows it: a note whose short form is empty
    /// is said by its subject's header there (the base image family).
    pub fn shown_short(&self) -> bool {
        self.short.as_ref().is_none_or(|s| !s.what.is_empty())
    }

    /// Sets the line shown by default, what changed and why in a few words;
    /// `text` stays the whole explanation.
    pub fn brief(&mut self, what: impl Into<String>, why: impl Into<String>) -> &mut Self {
        self.short = Some(Short {
            what: what.into(),
            why: why.into(),
        });
        self
    }

    /// Refers to an explanation said once per report.
    pub fn shares(&mut self, key: impl Into<String>, text: impl Into<String>) -> &mut Self {
        self.shared = Some(Shared {
            key: Cow::Owned(key.into()),
            brief: Cow::Borrowed(""),
            text: Cow::Owned(text.into()),
        });
        self
    }

    /// Refers to one of the explanations in `templates/notes.toml`.
    pub fn shares_known(&mut self, key: &str) -> &mut Self {
        self.shared = Some(Shared::known(key));
        self
    }
}

/// An explanation said once per report and referred to by the notes that
/// carry it. Notes with the same `key` share it, and change notes of one
/// subject that share one are shown on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shared {
    /// Tells explanations apart; the text itself where nothing shorter does.
    /// Those of `templates/notes.toml` are borrowed from it, not copied: a
    /// file of tens of thousands of services has a note sharing one for
    /// each change.
    pub key: Cow<'static, str>,
    /// The explanation in a few words, for a line whose notes give no
    /// reason of their own (empty where they do).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub brief: Cow<'static, str>,
    pub text: Cow<'static, str>,
}

/// The explanations many notes share: `templates/notes.toml` as build.rs
/// converts it to JSON, what a run parses (several times faster than TOML).
const SHARED_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/notes.json"));
/// The file as written, which the tests compare the JSON copy with.
#[cfg(test)]
const SHARED: &str = include_str!("../templates/notes.toml");

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedText {
    #[serde(default)]
    brief: String,
    text: String,
}

fn shared_texts() -> &'static std::collections::BTreeMap<String, SharedText> {
    static LOADED: std::sync::OnceLock<std::collections::BTreeMap<String, SharedText>> =
        std::sync::OnceLock::new();
    // The embedded file is part of the binary and a test parses it: a
    // broken one is a build defect, read as empty rather than a panic.
    LOADED.get_or_init(|| serde_json::from_str(SHARED_JSON).unwrap_or_default())
}

impl Shared {
    /// The explanation `templates/notes.toml` gives under `key`.
    pub fn known(key: &str) -> Shared {
        match shared_texts().get_key_value(key) {
            Some((k, t)) => Shared {
                key: Cow::Borrowed(k.as_str()),
                brief: Cow::Borrowed(t.brief.as_str()),
                text: Cow::Borrowed(t.text.as_str()),
            },
            None => Shared {
                key: Cow::Owned(key.to_string()),
                brief: Cow::Borrowed(""),
                text: Cow::Borrowed(""),
            },
        }
    }
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

/// Where what harden knows of a service comes from: the reports' summaries
/// say it per service, so a reviewer can tell knowledge from guesswork.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "name", rename_all = "kebab-case")]
pub enum Knowledge {
    /// A known-image profile in `templates/images/` (its id).
    Profile(String),
    /// What the image itself says (config, files), read from a store.
    ImageFacts,
    /// Worked out from the Dockerfile it builds, its environment and its
    /// dependencies.
    Inferred,
    /// Nothing: no profile, no Dockerfile here, and the image unreadable.
    Unknown,
    /// A Dockerfile stage's base image and the family
    /// `templates/base-images.toml` puts it in (`node:20 → debian`).
    BaseFamily(String),
}

impl Knowledge {
    pub fn label(&self) -> String {
        match self {
            Knowledge::Profile(id) => format!("{id} image profile"),
            Knowledge::ImageFacts => "image facts".into(),
            Knowledge::Inferred => "inferred".into(),
            Knowledge::Unknown => "unknown image".into(),
            Knowledge::BaseFamily(f) => format!("{f} family"),
        }
    }
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
    /// Where the knowledge of each service comes from, by subject
    /// (`service web`), in file order.
    pub knowledge: Vec<(String, Knowledge)>,
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
    fn push_note(
        &mut self,
        kind: NoteKind,
        subject: &str,
        rule: &'static str,
        text: String,
    ) -> &mut Note {
        self.notes.push(Note {
            subject: subject.to_string(),
            rule: Some(rule).filter(|r| !r.is_empty()),
            text,
            short: None,
            shared: None,
            kind,
            migration: false,
        });
        let last = self.notes.len() - 1;
        &mut self.notes[last]
    }

    /// Why a change was made.
    pub fn note(
        &mut self,
        subject: &str,
        rule: &'static str,
        text: impl Into<String>,
    ) -> &mut Note {
        self.push_note(NoteKind::Change, subject, rule, text.into())
    }

    /// What harden found out, without changing anything.
    pub fn info(
        &mut self,
        subject: &str,
        rule: &'static str,
        text: impl Into<String>,
    ) -> &mut Note {
        self.push_note(NoteKind::Info, subject, rule, text.into())
    }

    /// Something a person should check before merging.
    pub fn review(
        &mut self,
        subject: &str,
        rule: &'static str,
        text: impl Into<String>,
    ) -> &mut Note {
        self.push_note(NoteKind::Review, subject, rule, text.into())
    }

    /// A review note that existing volumes need a one-time chown.
    pub fn migration_review(
        &mut self,
        subject: &str,
        rule: &'static str,
        text: String,
    ) -> &mut Note {
        let n = self.push_note(NoteKind::Review, subject, rule, text);
        n.migration = true;
        n
    }
}

/// A JSON pointer segment, escaped as RFC 6901 says.
pub fn pointer(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shared_explanation_parses_and_says_something() {
        let texts: std::collections::BTreeMap<String, SharedText> =
            toml::from_str(SHARED).expect("templates/notes.toml");
        assert_eq!(
            format!("{texts:?}"),
            format!("{:?}", shared_texts()),
            "the JSON copy"
        );
        for key in [
            "baseline",
            "unknown-image-caps",
            "unknown-image-writes",
            "carry-over",
            "migration",
            "copy-chown",
            "volume-dirs",
        ] {
            let t = texts.get(key).map(|t| t.text.as_str()).unwrap_or("");
            assert!(t.len() > 40, "{key}: {t:?}");
            assert_eq!(Shared::known(key).text, t);
        }
    }
}
