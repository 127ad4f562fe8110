//! What a rule is to the engine: its name and the code that checks each
//! kind of file, with what that code is given.

use crate::compose::service::Service;
use crate::compose::Ctx;
use crate::dockerfile::analyze::DfCtx;
use crate::finding::Output;
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
