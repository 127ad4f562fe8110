//! The third kind of file a run writes, after compose files and
//! Dockerfiles: a program's source that a Dockerfile rule edits (the root
//! canary of `fix --canary`). Each becomes a result of its own, after the
//! Dockerfile that runs it, so the diff, the atomic write, the confinement
//! to the run's roots and every report treat it as they treat the others;
//! its edits are applied and the new text checked here first.

use super::FileResult;
use crate::discover::Kind;
use crate::dockerfile::entry::Lang;
use crate::edit::{self, Edit};
use crate::error::FileError;
use crate::finding::{Output, SourceEdit};
use crate::source::Source;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

/// The results for the source edits of a group, each file once (two
/// Dockerfiles may run the same entry module): `seen` holds the files
/// already given a result.
pub fn results(edits: Vec<SourceEdit>, seen: &mut HashSet<PathBuf>) -> Vec<FileResult> {
    edits
        .into_iter()
        .filter(|e| seen.insert(crate::paths::canonical(&e.path)))
        .map(one)
        .collect()
}

fn one(e: SourceEdit) -> FileResult {
    let display = crate::paths::display_path(&e.path);
    let fixed = verify(&e.text, &e.edits, e.lang);
    let src = Arc::new(Source::new(e.path.clone(), display.clone(), e.text));
    let (fixed, error) = match fixed {
        Ok(new) => (Some(new), None),
        Err(why) => (
            None,
            Some(FileError {
                line: 1,
                col: 1,
                message: format!(
                    "the root canary was not inserted because {why}; the file is left as it was"
                ),
            }),
        ),
    };
    FileResult {
        path: e.path,
        display,
        kind: Some(Kind::Source),
        source: Some(src),
        out: Output {
            edits: e.edits,
            notes: vec![e.note],
            ..Output::default()
        },
        fixed,
        error,
        more: false,
    }
}

/// Apply the edits (pure insertions only) and check the new text: the
/// start of the file keeps its meaning and the rule sees the canary.
pub fn verify(old: &str, edits: &[Edit], lang: &str) -> Result<String, String> {
    let lang = Lang::ALL
        .into_iter()
        .find(|l| l.name() == lang)
        .ok_or_else(|| format!("harden knows no language `{lang}`"))?;
    if edits.is_empty() || !edits.iter().all(Edit::is_insertion) {
        return Err("a source edit may only insert".into());
    }
    let new = edit::apply(old, edits).map_err(|_| "two insertions overlap".to_string())?;
    crate::canary::recheck(lang, old, &new)?;
    if !crate::rules::root_canary_missing::has_canary(lang, &new) {
        return Err("the inserted canary would not be recognised".into());
    }
    Ok(new)
}
