//! The rules, one file each, named for the problem they find. A rule reads
//! a parsed file (and the service's plan) and returns findings, edits and
//! notes; it never touches a file, and it never asks whether it is exempted:
//! the engine runs only the rules that apply. What a rule finds and why is
//! written once, in `templates/explain/<rule>.md` (see [`crate::registry`]).
//!
//! Adding a rule: its file here, its page in templates/explain, and one line
//! in the `rules!` list below.

mod rule;

pub use rule::{Files, Rule, ServiceCx};

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
