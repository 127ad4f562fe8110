//! Globs over paths (`harden.toml` exceptions) and image names
//! (`templates/base-images.toml`), matched by `globset`, which compiles to
//! an automaton: a backtracking matcher took seconds on a pattern of ten
//! stars, and a config file must not be able to hang harden.
//!
//! harden documents `*`, `**` and `?` only, so every other character,
//! `[`, `{` and `\` included, matches itself.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A compiled path pattern; equal when written the same.
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
        Self::build(pattern, &alternatives)
    }

    fn build(text: &str, alternatives: &[&str]) -> Result<Glob, String> {
        let mut set = GlobSetBuilder::new();
        for alt in alternatives {
            let glob = GlobBuilder::new(&literal_brackets(alt))
                .literal_separator(true)
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

/// Many text patterns (as [`Glob::text`]) compiled into one automaton, so
/// one pass over a string says which of them match: base-image rules hold
/// about two hundred patterns, and an image is classified several times.
#[derive(Clone, Debug)]
pub struct TextGlobs {
    set: GlobSet,
    len: usize,
}

impl TextGlobs {
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<TextGlobs, String> {
        let mut set = GlobSetBuilder::new();
        let mut len = 0;
        for pattern in patterns {
            set.add(text_glob(pattern)?);
            len += 1;
        }
        let set = set.build().map_err(|e| format!("globs: {}", e.kind()))?;
        Ok(TextGlobs { set, len })
    }

    /// For each pattern, in the order given, whether it matches `s`.
    pub fn matches(&self, s: &str) -> Vec<bool> {
        let mut hits = vec![false; self.len];
        for i in self.set.matches(s) {
            if let Some(hit) = hits.get_mut(i) {
                *hit = true;
            }
        }
        hits
    }
}

fn text_glob(pattern: &str) -> Result<globset::Glob, String> {
    GlobBuilder::new(&literal_brackets(pattern))
        .literal_separator(false)
        .backslash_escape(false)
        .build()
        .map_err(|e| format!("glob `{pattern}`: {}", e.kind()))
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
    use super::{Glob, TextGlobs};

    fn path(p: &str, s: &str) -> bool {
        Glob::path(p).expect("valid").is_match(s)
    }

    fn text(p: &str, s: &str) -> bool {
        TextGlobs::new([p]).expect("valid").matches(s) == [true]
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
        assert!(Glob::path("[").is_ok() && TextGlobs::new(["}"]).is_ok());
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

    #[test]
    fn many_text_globs_in_one_pass() {
        let set = TextGlobs::new(["python", "*-alpine*", "bitnami/*", "ubi?"]).unwrap();
        assert_eq!(set.matches("python"), [true, false, false, false]);
        assert_eq!(set.matches("3.12-alpine3.20"), [false, true, false, false]);
        assert_eq!(set.matches("bitnami/a/b"), [false, false, true, false]);
        assert_eq!(set.matches("ubi10"), [false, false, false, false]);
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
