//! Globs over paths (`harden.toml` exceptions) and image names
//! (`templates/base-images.toml`), matched by `globset`, which compiles to
//! an automaton: a backtracking matcher took seconds on a pattern of ten
//! stars, and a config file must not be able to hang harden.
//!
//! harden documents `*`, `**` and `?` only, so every other character,
//! `[`, `{` and `\` included, matches itself.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A compiled pattern; equal when written the same.
#[derive(Clone, Debug)]
pub struct Glob {
    text: String,
    set: GlobSet,
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Glob {}

impl Glob {
    /// A path pattern: `*` and `?` stay within one segment, `**` spans any
    /// number of segments (none included, so `a/**` matches `a`); empty
    /// segments are ignored.
    pub fn path(pattern: &str) -> Result<Glob, String> {
        let norm = pattern
            .split('/')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        let mut alternatives = vec![norm.as_str()];
        // globset's `a/**` needs something below `a`.
        if let Some(stem) = norm.strip_suffix("/**") {
            alternatives.push(stem);
        }
        Self::build(pattern, &alternatives, true)
    }

    /// A pattern over plain text: `*` matches any run, `/` included, and
    /// `?` any one character.
    pub fn text(pattern: &str) -> Result<Glob, String> {
        Self::build(pattern, &[pattern], false)
    }

    fn build(text: &str, alternatives: &[&str], literal_separator: bool) -> Result<Glob, String> {
        let mut set = GlobSetBuilder::new();
        for alt in alternatives {
            let glob = GlobBuilder::new(&literal_brackets(alt))
                .literal_separator(literal_separator)
                .backslash_escape(false)
                .build()
                .map_err(|e| format!("glob `{text}`: {}", e.kind()))?;
            set.add(glob);
        }
        let set = set
            .build()
            .map_err(|e| format!("glob `{text}`: {}", e.kind()))?;
        Ok(Glob {
            text: text.to_string(),
            set,
        })
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.set.is_match(s)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// `[`, `]`, `{`, `}` written as one-character classes so they match
/// themselves.
fn literal_brackets(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if matches!(c, '[' | ']' | '{' | '}') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn path(p: &str, s: &str) -> bool {
        Glob::path(p).expect("valid").is_match(s)
    }

    fn text(p: &str, s: &str) -> bool {
        Glob::text(p).expect("valid").is_match(s)
    }

    #[test]
    fn path_globs() {
        assert!(path("services/vpn/**", "services/vpn/Dockerfile"));
        assert!(path("services/vpn/**", "services/vpn/a/b/compose.yaml"));
        assert!(path("services/vpn/**", "services/vpn"));
        assert!(!path("services/vpn/**", "services/web/Dockerfile"));
        assert!(path("**/Dockerfile", "Dockerfile"));
        assert!(path("**/Dockerfile", "a/b/Dockerfile"));
        assert!(path("a/**/b", "a/b"));
        assert!(path("a/**/b", "a/x/y/b"));
        assert!(path("*/compose.y?ml", "api/compose.yaml"));
        assert!(!path("*/compose.yaml", "a/b/compose.yaml"));
        assert!(!path("a?b", "a/b"));
        assert!(path("docker-compose*.yml", "docker-compose.prod.yml"));
        assert!(!path("Dockerfile", "Dockerfile.dev"));
        assert!(path("services//vpn/", "services/vpn"));
        assert!(path("**", "anything/at/all"));
    }

    #[test]
    fn only_stars_and_question_marks_are_special() {
        assert!(path("a[1]/{x,y}", "a[1]/{x,y}"));
        assert!(!path("a[1]", "a1"));
        assert!(!path("{x,y}", "x"));
        assert!(path(r"a\*", r"a\bc"));
        assert!(text("[x]*", "[x]yz"));
        assert!(Glob::path("[").is_ok() && Glob::text("}").is_ok());
    }

    #[test]
    fn text_globs_cross_slashes() {
        assert!(text("*", ""));
        assert!(text("*-alpine*", "3.12-alpine3.20"));
        assert!(!text("*-alpine*", "alpine"));
        assert!(text("bitnami/*", "bitnami/a/b"));
        assert!(text(
            "mcr.microsoft.com/dotnet/*",
            "mcr.microsoft.com/dotnet/sdk"
        ));
        assert!(!text("python", "python2"));
        assert!(text("*a*a*a*a*a*b", &format!("{}b", "a".repeat(200))));
        assert!(text(
            "registry.access.redhat.com/ubi?",
            "registry.access.redhat.com/ubi9"
        ));
        assert!(!text(
            "registry.access.redhat.com/ubi?",
            "registry.access.redhat.com/ubi10"
        ));
    }

    /// Ten stars against a 40-character segment took 7.9 s with the
    /// backtracking matcher; the bound is generous so a busy machine passes.
    #[test]
    fn pathological_patterns_are_fast() {
        let start = std::time::Instant::now();
        let stars = "a*".repeat(10) + "b";
        let subject = "a".repeat(40);
        assert!(!path(&stars, &subject));
        assert!(!text(&stars, &subject));
        assert!(path(&stars, &(subject.clone() + "b")));
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }
}
