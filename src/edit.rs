//! Edits are byte ranges plus replacement text. Rules produce them; they are
//! applied here, all at once, in one sorted pass. Rules never touch files.

use std::ops::Range;

/// Replace `range` of the original text with `text` (an insertion when the
/// range is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

impl Edit {
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit {
            range: at..at,
            text: text.into(),
        }
    }

    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Self {
        Edit {
            range,
            text: text.into(),
        }
    }

    pub fn is_insertion(&self) -> bool {
        self.range.is_empty()
    }
}

/// Two edits that touch the same bytes: a bug in a rule, never applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    pub first: Range<usize>,
    pub second: Range<usize>,
}

/// Sort edits by position; insertions at the same offset keep the order in
/// which they were produced, so a rule can emit lines in reading order.
pub fn sorted(edits: &[Edit]) -> Vec<Edit> {
    let mut v = edits.to_vec();
    v.sort_by_key(|e| (e.range.start, e.range.end));
    v
}

/// Apply all edits in one pass. Overlapping replacements are an error.
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, Overlap> {
    let edits = sorted(edits);
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut pos = 0;
    let mut prev: Option<&Edit> = None;
    for e in &edits {
        if e.range.start < pos || e.range.end > text.len() {
            let first = prev.map(|p| p.range.clone()).unwrap_or(0..0);
            return Err(Overlap {
                first,
                second: e.range.clone(),
            });
        }
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.text);
        pos = e.range.end;
        prev = Some(e);
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_one_pass_keeping_emission_order() {
        let t = "abc";
        let out = apply(
            t,
            &[
                Edit::insert(3, "1"),
                Edit::insert(3, "2"),
                Edit::replace(0..1, "A"),
            ],
        )
        .unwrap();
        assert_eq!(out, "Abc12");
    }

    #[test]
    fn overlap_is_refused() {
        let err = apply(
            "abcdef",
            &[Edit::replace(0..3, "x"), Edit::replace(2..4, "y")],
        );
        assert!(err.is_err());
    }
}
