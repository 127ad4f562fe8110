//! Image references as the engines read them: `[registry/]repository[:tag][@digest]`,
//! with Docker Hub and its `library/` namespace as the defaults.

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `ghcr.io`, `localhost:5000`.
    pub registry: String,
    /// `library/postgres`, `team/app`.
    pub repository: String,
    /// `None` when the reference names a digest only; `latest` is filled
    /// in when it names neither.
    pub tag: Option<String>,
    /// `sha256:...`.
    pub digest: Option<String>,
}

impl Reference {
    /// Parse a reference; `None` for text no engine would accept.
    pub fn parse(text: &str) -> Option<Reference> {
        let text = text.trim();
        if text.is_empty() || text.len() > 1024 || text.chars().any(char::is_whitespace) {
            return None;
        }
        let (name, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (text, None),
        };
        if let Some(d) = digest {
            let (alg, hex) = d.split_once(':')?;
            if alg.is_empty()
                || hex.len() < 32
                || !hex
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            {
                return None;
            }
        }
        // A tag follows the last `:` that comes after the last `/`.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
            None => (name, None),
        };
        if let Some(t) = tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
                && !t.starts_with(['.', '-']);
            if !ok {
                return None;
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" || registry == "registry-1.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        let valid_component = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        };
        if !path.split('/').all(valid_component) {
            return None;
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        let tag = match (tag, digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, None) => Some("latest".to_string()),
            (None, Some(_)) => None,
        };
        Some(Reference {
            registry,
            repository,
            tag,
            digest: digest.map(str::to_string),
        })
    }

    /// The tag or digest to ask a registry for (the digest wins).
    pub fn manifest_ref(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// The canonical form (`docker.io/library/postgres:16`).
    pub fn canonical(&self) -> String {
        let mut s = format!("{}/{}", self.registry, self.repository);
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// The registry's host for its API (Docker Hub's API lives elsewhere).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = Reference::parse(s).unwrap_or_else(|| panic!("{s} did not parse"));
        (r.registry, r.repository, r.tag, r.digest)
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_defaults() {
        assert_eq!(
            p("postgres"),
            (
                "docker.io".into(),
                "library/postgres".into(),
                Some("latest".into()),
                None
            )
        );
        assert_eq!(p("postgres:16").2.as_deref(), Some("16"));
        assert_eq!(p("bitnami/redis:7").1, "bitnami/redis");
        assert_eq!(p("docker.io/postgres").1, "library/postgres");
        assert_eq!(p("index.docker.io/library/postgres").0, "docker.io");
    }

    #[test]
    fn registries_are_told_by_a_dot_a_port_or_localhost() {
        assert_eq!(p("ghcr.io/org/app:1.2").0, "ghcr.io");
        assert_eq!(p("ghcr.io/org/app:1.2").1, "org/app");
        assert_eq!(p("localhost:5000/app").0, "localhost:5000");
        assert_eq!(p("localhost:5000/app").1, "app");
        assert_eq!(p("localhost/debian:bookworm-slim").0, "localhost");
        assert_eq!(p("127.0.0.1:41234/zoo/a:v1").2.as_deref(), Some("v1"));
        // No registry part: a namespace, on Docker Hub.
        assert_eq!(p("org/app").0, "docker.io");
    }

    #[test]
    fn digests_and_tags() {
        let r = p(&format!("postgres@{D}"));
        assert_eq!(r.2, None);
        assert_eq!(r.3.as_deref(), Some(D));
        let r = p(&format!("localhost:5000/app:1@{D}"));
        assert_eq!((r.2.as_deref(), r.3.as_deref()), (Some("1"), Some(D)));
        let full = Reference::parse(&format!("localhost:5000/app:1@{D}")).unwrap();
        assert_eq!(full.manifest_ref(), D);
        assert_eq!(full.canonical(), format!("localhost:5000/app:1@{D}"));
    }

    #[test]
    fn what_no_engine_accepts_is_refused() {
        for bad in [
            "",
            "Postgres",
            "postgres:",
            "postgres:bad tag",
            "a//b",
            "postgres@sha256:xyz",
            "postgres:${V}",
            "/postgres",
            "postgres:-1",
        ] {
            assert!(Reference::parse(bad).is_none(), "{bad}");
        }
    }
}
