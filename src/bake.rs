//! `docker buildx bake` files: which Dockerfile builds which image tags.
//! A compose service that runs one of those images by name is hardened
//! with that Dockerfile's knowledge. The JSON form is read whole; of the
//! HCL form, only plain targets (`target "x" { dockerfile = "..." ...}`
//! with quoted strings and lists of them): variables, functions and
//! `inherits` are left out, since harden cannot evaluate them.

use std::path::Path;

/// The bake file names `docker buildx bake` reads by default, in a folder.
pub const FILE_NAMES: &[&str] = &[
    "docker-bake.json",
    "docker-bake.override.json",
    "docker-bake.hcl",
    "docker-bake.override.hcl",
];

/// One bake target, paths as written (relative to the bake file's folder).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// `context`; `.` when unset.
    pub context: String,
    /// `dockerfile`, relative to the context; `Dockerfile` when unset.
    pub dockerfile: String,
    /// `target`: the stage built.
    pub stage: Option<String>,
    pub tags: Vec<String>,
}

/// The targets of a bake file, by its name's extension; those that name a
/// value harden cannot know (`${VAR}`) in their paths are left out.
pub fn targets(path: &Path, text: &str) -> Vec<Target> {
    let json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let found = if json {
        from_json(text)
    } else {
        from_hcl(text)
    };
    found
        .into_iter()
        .filter(|t| !t.context.contains("${") && !t.dockerfile.contains("${"))
        .map(|mut t| {
            t.tags.retain(|tag| !tag.contains("${"));
            t
        })
        .collect()
}

fn target(name: &str, get: impl Fn(&str) -> Option<String>, tags: Vec<String>) -> Target {
    Target {
        name: name.to_string(),
        context: get("context").unwrap_or_else(|| ".".into()),
        dockerfile: get("dockerfile").unwrap_or_else(|| "Dockerfile".into()),
        stage: get("target").map(|s| s.to_ascii_lowercase()),
        tags,
    }
}

/// `{"target": {"name": {"context": ..., "dockerfile": ..., "tags": [...]}}}`.
fn from_json(text: &str) -> Vec<Target> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let Some(targets) = value.get("target").and_then(|t| t.as_object()) else {
        return Vec::new();
    };
    targets
        .iter()
        .map(|(name, t)| {
            let get = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let tags = t
                .get("tags")
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            target(name, get, tags)
        })
        .collect()
}

/// The plain HCL form: `target "name" { key = "value" tags = ["a", "b"] }`,
/// with `#` and `//` comments; anything else in a block is skipped.
fn from_hcl(text: &str) -> Vec<Target> {
    let tokens = hcl_tokens(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let block = matches!(
            (&tokens[i], tokens.get(i + 1), tokens.get(i + 2)),
            (Tok::Word(w), Some(Tok::Str(_)), Some(Tok::Punct('{'))) if w == "target"
        );
        if !block {
            i += 1;
            continue;
        }
        let Tok::Str(name) = &tokens[i + 1] else {
            break;
        };
        i += 3;
        let mut values: Vec<(String, String)> = Vec::new();
        let mut tags = Vec::new();
        let mut depth = 1;
        while i < tokens.len() && depth > 0 {
            match (&tokens[i], tokens.get(i + 1), tokens.get(i + 2)) {
                (Tok::Punct('{'), _, _) => depth += 1,
                (Tok::Punct('}'), _, _) => depth -= 1,
                (Tok::Word(k), Some(Tok::Punct('=')), Some(Tok::Str(v))) if depth == 1 => {
                    values.push((k.clone(), v.clone()));
                    i += 2;
                }
                (Tok::Word(k), Some(Tok::Punct('=')), Some(Tok::Punct('[')))
                    if depth == 1 && k == "tags" =>
                {
                    i += 3;
                    while let Some(t) = tokens.get(i) {
                        match t {
                            Tok::Str(s) => tags.push(s.clone()),
                            Tok::Punct(',') => {}
                            _ => break,
                        }
                        i += 1;
                    }
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        let get = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        out.push(target(name, get, tags));
    }
    out
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
}

/// Words, double-quoted strings (with `\"` and `\\` escapes) and the
/// punctuation the plain form uses; comments dropped.
fn hcl_tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '"' => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                s.push(n);
                            }
                        }
                        '"' => break,
                        _ => s.push(c),
                    }
                }
                out.push(Tok::Str(s));
            }
            '{' | '}' | '[' | ']' | '=' | ',' | '(' | ')' => out.push(Tok::Punct(c)),
            c if c.is_alphanumeric() || c == '_' || c == '-' => {
                let mut w = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '-' || n == '.' {
                        w.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Tok::Word(w));
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_hcl_targets() {
        let text = r#"
# Release images.
group "default" {
  targets = ["api", "docs"]
}

variable "TAG" {
  default = "dev"
}

target "api" {
  context    = "./services/api"
  dockerfile = "Dockerfile.release" // the slim one
  target     = "Runtime"
  tags       = [
    "ghcr.io/acme/api:latest",
    "ghcr.io/acme/api:${TAG}",
  ]
  args = {
    PYTHON = "3.12"
  }
}

target "docs" {
  tags = ["acme/docs"]
}
"#;
        let t = targets(Path::new("docker-bake.hcl"), text);
        assert_eq!(
            t,
            vec![
                Target {
                    name: "api".into(),
                    context: "./services/api".into(),
                    dockerfile: "Dockerfile.release".into(),
                    stage: Some("runtime".into()),
                    tags: vec!["ghcr.io/acme/api:latest".into()],
                },
                Target {
                    name: "docs".into(),
                    context: ".".into(),
                    dockerfile: "Dockerfile".into(),
                    stage: None,
                    tags: vec!["acme/docs".into()],
                },
            ]
        );
    }

    #[test]
    fn json_targets() {
        let text = r#"{"group": {"default": {"targets": ["web"]}},
          "target": {"web": {"context": "web", "tags": ["acme/web:1", "acme/web:latest"]},
                     "tmp": {"context": "${CTX}"}}}"#;
        let t = targets(Path::new("docker-bake.json"), text);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name, "web");
        assert_eq!(t[0].context, "web");
        assert_eq!(t[0].tags, ["acme/web:1", "acme/web:latest"]);
        assert!(targets(Path::new("docker-bake.json"), "{not json").is_empty());
    }
}
