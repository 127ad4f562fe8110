//! The registry of rules: every rule's name, summary, fix and explanation,
//! read from the front matter of its page in `templates/explain/<rule>.md`
//! (embedded by build.rs, which also converts the front matter to JSON). It is the one place a rule is described; the
//! lower layers (config, the exemption parsers) check rule names here, and
//! the rules layer pairs each entry with the code that runs it.

use serde::Deserialize;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/pages.rs"));

/// A rule as its page describes it.
#[derive(Debug, Clone)]
pub struct RuleMeta {
    pub name: &'static str,
    /// One line, for lists and SARIF's short description.
    pub summary: String,
    /// What `harden fix` does about a finding, for help lines; empty for a
    /// rule that only reports.
    pub fix: String,
    /// One paragraph, for SARIF's full description.
    pub explanation: String,
    /// The rule's place among the others: the order fixes are made and
    /// findings listed in.
    pub order: u32,
    /// The page as `harden explain` prints it (after the front matter).
    pub page: &'static str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Front {
    order: u32,
    summary: String,
    #[serde(default)]
    fix: String,
    explanation: String,
}

const FENCE: &str = "+++\n";

/// (front matter, page) of a rule page; `None` without front matter.
pub fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(FENCE)?;
    let end = rest.find(&format!("\n{FENCE}"))?;
    Some((&rest[..end + 1], &rest[end + 1 + FENCE.len()..]))
}

/// The rule of page `name`, from its text and its front matter as JSON.
fn parse(name: &'static str, text: &'static str, front: &str) -> Result<RuleMeta, String> {
    let (_, page) = split_front_matter(text)
        .ok_or_else(|| format!("templates/explain/{name}.md: no `+++` front matter"))?;
    let f: Front = serde_json::from_str(front)
        .map_err(|e| format!("templates/explain/{name}.md: front matter: {e}"))?;
    Ok(RuleMeta {
        name,
        summary: f.summary,
        fix: f.fix,
        explanation: f.explanation,
        order: f.order,
        page,
    })
}

/// Every rule, in order. The pages are part of the binary and a test reads
/// them all, so a page that does not parse is a build defect: it is left
/// out rather than stopping the run.
pub fn rules() -> &'static [RuleMeta] {
    static RULES: OnceLock<Vec<RuleMeta>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut all: Vec<RuleMeta> = PAGES
            .iter()
            .zip(FRONT_MATTER)
            .filter_map(|((n, t), f)| parse(n, t, f).ok())
            .collect();
        all.sort_by_key(|r| r.order);
        all
    })
}

/// The rule called `name`.
pub fn get(name: &str) -> Option<&'static RuleMeta> {
    rules().iter().find(|r| r.name == name)
}

/// Every rule's name, in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    rules().iter().map(|r| r.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_valid_front_matter_and_its_own_order() {
        for ((name, text), json) in PAGES.iter().zip(FRONT_MATTER) {
            // The TOML as written, for a message that points into it.
            let (front, _) = split_front_matter(text).expect("a page has front matter");
            let written: Front = toml::from_str(front)
                .unwrap_or_else(|e| panic!("templates/explain/{name}.md: front matter: {e}"));
            let rule = parse(name, text, json).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                (rule.order, rule.summary, rule.fix, rule.explanation),
                (
                    written.order,
                    written.summary,
                    written.fix,
                    written.explanation
                ),
                "{name}: the JSON copy says what the page says"
            );
        }
        let mut orders: Vec<u32> = rules().iter().map(|r| r.order).collect();
        orders.dedup();
        assert_eq!(orders.len(), PAGES.len(), "two rules share an order");
        assert!(rules().iter().all(|r| !r.summary.is_empty()));
    }

    #[test]
    fn front_matter_is_split_from_the_page() {
        let (front, page) = split_front_matter("+++\norder = 1\n+++\n# x: y\n").unwrap();
        assert_eq!((front, page), ("order = 1\n", "# x: y\n"));
        assert_eq!(split_front_matter("# x: y\n"), None);
    }
}
