//! The rules, one file each, named for the problem they find. A rule reads
//! a parsed file (and the service's plan) and returns findings, edits and
//! notes; it never touches a file, and it never asks whether it is exempted:
//! the engine runs only the rules that apply. What a rule finds and why is
//! written once, in `templates/explain/<rule>.md` (see [`crate::registry`]).
//!
//! Adding a rule: its file here, its page in templates/explain, and one line
//! in [`rules!`] below.

use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::dockerfile::analyze::DfCtx;
pub use crate::finding::{pointer, Output};
use crate::plan::ServicePlan;

/// What a rule checks a compose service with.
pub struct ServiceCx<'a> {
    pub ctx: &'a Ctx<'a>,
    pub svc: &'a Service<'a>,
    pub plan: &'a ServicePlan,
    /// The rules the service is exempted from (`x-harden`, harden.toml), as
    /// the engine decided once: a rule asks only about another rule whose
    /// lines it writes for it.
    pub exempt: &'a [&'static str],
}

impl ServiceCx<'_> {
    /// Whether `rule` applies to the service (it is not exempted from it).
    pub fn applies(&self, rule: &str) -> bool {
        !self.exempt.contains(&rule)
    }
}

/// The files a rule judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Files {
    Compose,
    Dockerfile,
    Both,
}

/// One rule: its name (its page in templates/explain says the rest) and the
/// code that checks each kind of file.
#[derive(Clone, Copy)]
pub struct Rule {
    pub name: &'static str,
    pub files: Files,
    /// Checks one compose service against its plan.
    pub service: Option<fn(&ServiceCx, &mut Output)>,
    /// Checks the stage a Dockerfile runs. A rule whose line another
    /// rule's edit carries (`ENV HOME` goes in root-user's block) has none.
    pub dockerfile: Option<fn(&DfCtx, &mut Output)>,
    /// It judges the exceptions themselves, so only harden.toml can exempt
    /// from it, not the `x-harden` or `# harden: allow` it judges.
    pub judges_exceptions: bool,
}

impl Rule {
    pub const fn new(name: &'static str, files: Files) -> Rule {
        Rule {
            name,
            files,
            service: None,
            dockerfile: None,
            judges_exceptions: false,
        }
    }

    pub fn applies_to_dockerfiles(&self) -> bool {
        self.files != Files::Compose
    }
}

macro_rules! rules {
    ($($rule:ident),* $(,)?) => {
        $(pub mod $rule;)*
        /// Every rule, in the order of their pages' `order` (a test keeps
        /// them so): the order fixes are made and findings listed in.
        pub const RULES: &[Rule] = &[$($rule::RULE),*];
    };
}

rules! {
    root_user,
    implicit_home,
    writable_rootfs,
    default_capabilities,
    new_privileges,
    unmounted_write_path,
    cache_on_rootfs,
    privileged,
    undocumented_exception,
    root_canary_missing,
}

/// The rule called `name`.
pub fn get(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_has_a_page_in_the_registry_and_the_same_order() {
        let code: Vec<&str> = super::RULES.iter().map(|r| r.name).collect();
        let pages: Vec<&str> = crate::registry::names().collect();
        assert_eq!(code, pages);
    }
}
