//! Globs over paths (`harden.toml` exceptions) and image names
//! (`templates/base-images.toml`). Paths are matched by `globset`, which
//! compiles to an automaton: a recursive backtracking matcher took seconds
//! on a pattern of ten stars, and a config file must not be able to hang
//! harden. Image-name patterns have no separators to respect: a loop that
//! remembers only its last star matches them in at most pattern × text
//! steps, where compiling the base-image table's 280 patterns into one
//! automaton cost more than the rest of a run on one Dockerfile.
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

/// Many text patterns, each `*` (any run of characters, `/` included) and
/// `?` (one character) with every other character matching itself: the
/// literal ones found by one hash look-up, the others tried in turn.
#[derive(Clone, Debug)]
pub struct TextGlobs {
    literal: std::collections::HashMap<String, Vec<usize>>,
    wild: Vec<(usize, Vec<char>)>,
    len: usize,
}

impl TextGlobs {
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<TextGlobs, String> {
        let mut set = TextGlobs {
            literal: std::collections::HashMap::new(),
            wild: Vec::new(),
            len: 0,
        };
        for (i, pattern) in patterns.into_iter().enumerate() {
            if pattern.contains(['*', '?']) {
                set.wild.push((i, pattern.chars().collect()));
            } else {
                set.literal.entry(pattern.to_string()).or_default().push(i);
            }
            set.len = i + 1;
        }
        Ok(set)
    }

    /// For each pattern, in the order given, whether it matches `s`.
    pub fn matches(&self, s: &str) -> Vec<bool> {
        let mut hits = vec![false; self.len];
        for &i in self.literal.get(s).into_iter().flatten() {
            hits[i] = true;
        }
        if !self.wild.is_empty() {
            let text: Vec<char> = s.chars().collect();
            for (i, pattern) in &self.wild {
                if wildcard(pattern, &text) {
                    hits[*i] = true;
                }
            }
        }
        hits
    }
}

/// Whether `pattern` (`*` and `?` special) matches all of `text`. On a
/// mismatch after a star, the star takes one more character and matching
/// resumes after it; earlier stars never need to be revisited, so the
/// time is at most the pattern's length times the text's.
fn wildcard(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    // (pattern position after the last star, text position it resumes at)
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                p += 1;
                star = Some((p, t));
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((after, from)) => {
                    p = after;
                    t = from + 1;
                    star = Some((after, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
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
        assert!(!text("*a*a*a*a*a*b", &"a".repeat(20_000)));
        assert!(text("a*b?c*", "aXXbYcZZ"));
        assert!(text("*debug-nonroot*", "latest-debug-nonroot"));
        assert!(!text("jammy*", "focal-jammy"));
        assert!(text("*-dev", "3.12-dev"));
        assert!(!text("*-dev", "3.12-dev1"));
        assert!(text("**", "a/b"));
        assert!(text("é?*", "éñx"));
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
        let twice = TextGlobs::new(["python", "*", "python"]).unwrap();
        assert_eq!(twice.matches("python"), [true, true, true]);
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
