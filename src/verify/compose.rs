//! The parts of a compose project that verify checks against: each service's
//! declared capabilities, its writable carve-outs, its healthcheck and its
//! `x-harden` exceptions. Read from the engine's normalised `config` JSON
//! where the engine offers it, otherwise from the file itself.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;
use yaml_rust2::{Yaml, YamlLoader};

/// Compose files bigger than this are refused: a project's compose file is a
/// few kilobytes, and the loader holds the whole tree in memory.
pub const MAX_COMPOSE_BYTES: u64 = 4 * 1024 * 1024;
/// Upper bound on nodes after alias expansion, so that a small file of nested
/// aliases cannot make the loader allocate without limit.
const MAX_EXPANDED_NODES: u64 = 1_000_000;

/// File names looked for in a directory, in the engines' order of preference.
pub const COMPOSE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// An error with the file and, where known, the 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeError(pub String);

impl std::fmt::Display for ComposeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The compose file for a PATH argument: the file itself, or the first of
/// [`COMPOSE_NAMES`] in a directory.
pub fn find_compose_file(path: &Path) -> Result<PathBuf, ComposeError> {
    if path.is_dir() {
        COMPOSE_NAMES
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                ComposeError(format!(
                    "{}: no compose file here (looked for {})",
                    path.display(),
                    COMPOSE_NAMES.join(", ")
                ))
            })
    } else if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(ComposeError(format!(
            "{}: no such file or directory",
            path.display()
        )))
    }
}

/// A path the service may write: a tmpfs or a writable volume/bind mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarveOut {
    pub target: String,
    /// `tmpfs`, `volume` or `bind`, as declared.
    pub kind: &'static str,
}

/// What verify needs to know about one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// Declared `cap_add`, upper case, without `CAP_`.
    pub cap_add: Vec<String>,
    pub carve_outs: Vec<CarveOut>,
    /// A healthcheck is declared and not disabled.
    pub healthcheck: bool,
    /// Built from a Dockerfile and not given an image name: the engine names
    /// the image after the project, so verify created it and removes it.
    pub builds_unnamed_image: bool,
    /// Rules exempted by `x-harden: {allow: [...]}`.
    pub allow: Vec<String>,
    /// The exception's written reason, shown next to each skipped check.
    pub allow_reason: Option<String>,
}

impl Service {
    pub fn allows(&self, rule: &str) -> bool {
        self.allow.iter().any(|r| r == rule)
    }
}

/// Services of a compose document (JSON from `config`, or converted YAML),
/// sorted by name so the report is stable.
pub fn services_from_value(doc: &Value) -> Result<Vec<Service>, ComposeError> {
    let services = doc
        .get("services")
        .and_then(Value::as_object)
        .ok_or_else(|| ComposeError("no `services` mapping".into()))?;
    let mut out: Vec<Service> = services
        .iter()
        .map(|(name, svc)| service_from_value(name, svc))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn service_from_value(name: &str, svc: &Value) -> Service {
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    let cap_add = strings(svc.get("cap_add"))
        .into_iter()
        .map(|c| {
            let up = c.trim().to_ascii_uppercase();
            up.strip_prefix("CAP_").map(str::to_string).unwrap_or(up)
        })
        .collect();

    let mut carve_outs = Vec::new();
    for t in strings(svc.get("tmpfs")) {
        let target = t.split(':').next().unwrap_or("").trim();
        if target.starts_with('/') {
            push_unique(&mut carve_outs, target, "tmpfs");
        }
    }
    if let Some(Value::Array(vols)) = svc.get("volumes") {
        for v in vols {
            if let Some((target, kind)) = volume_target(v) {
                push_unique(&mut carve_outs, &target, kind);
            }
        }
    }

    let healthcheck = match svc.get("healthcheck") {
        Some(Value::Object(h)) => {
            let disabled = h.get("disable").and_then(Value::as_bool) == Some(true)
                || h.get("test")
                    .and_then(Value::as_array)
                    .and_then(|t| t.first())
                    .and_then(Value::as_str)
                    == Some("NONE");
            h.contains_key("test") && !disabled
        }
        _ => false,
    };
    let allow = svc
        .get("x-harden")
        .map(|x| strings(x.get("allow")))
        .unwrap_or_default();
    let allow_reason = svc
        .get("x-harden")
        .and_then(|x| x.get("reason"))
        .and_then(Value::as_str)
        .map(str::to_string);

    Service {
        name: name.to_string(),
        cap_add,
        carve_outs,
        healthcheck,
        builds_unnamed_image: svc.get("build").is_some() && svc.get("image").is_none(),
        allow,
        allow_reason,
    }
}

fn push_unique(list: &mut Vec<CarveOut>, target: &str, kind: &'static str) {
    let target = if target.len() > 1 {
        target.trim_end_matches('/')
    } else {
        target
    };
    if !list.iter().any(|c| c.target == target) {
        list.push(CarveOut {
            target: target.to_string(),
            kind,
        });
    }
}

/// The container path of a writable volume entry (short `src:dst[:mode]` or
/// long form); `None` for read-only mounts and entries without a target.
fn volume_target(v: &Value) -> Option<(String, &'static str)> {
    match v {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            let (source, target, mode) = match parts.as_slice() {
                [t] => ("", *t, ""),
                [s, t] => (*s, *t, ""),
                [s, t, m, ..] => (*s, *t, *m),
                [] => return None,
            };
            if mode.split(',').any(|m| m == "ro") || !target.starts_with('/') {
                return None;
            }
            let kind =
                if source.starts_with('/') || source.starts_with('.') || source.starts_with('~') {
                    "bind"
                } else {
                    "volume"
                };
            Some((target.to_string(), kind))
        }
        Value::Object(m) => {
            if m.get("read_only").and_then(Value::as_bool) == Some(true) {
                return None;
            }
            let target = m.get("target").and_then(Value::as_str)?;
            let kind = match m.get("type").and_then(Value::as_str) {
                Some("tmpfs") => "tmpfs",
                Some("bind") => "bind",
                Some("volume") | None => "volume",
                Some(_) => return None,
            };
            target.starts_with('/').then(|| (target.to_string(), kind))
        }
        _ => None,
    }
}

/// Read and parse a compose file with yaml-rust2, refusing oversized files
/// and alias expansion beyond [`MAX_EXPANDED_NODES`].
pub fn load_yaml_file(path: &Path) -> Result<Value, ComposeError> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| ComposeError(format!("{shown}: {e}")))?;
    if meta.len() > MAX_COMPOSE_BYTES {
        return Err(ComposeError(format!(
            "{shown}: {} bytes is more than the {MAX_COMPOSE_BYTES} bytes verify reads",
            meta.len()
        )));
    }
    let bytes = crate::fsio::read_bytes(path, MAX_COMPOSE_BYTES)
        .map_err(|e| ComposeError(format!("{shown}: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ComposeError(format!("{shown}: the file is not valid UTF-8 text")))?;
    parse_yaml(&text).map_err(|e| ComposeError(format!("{shown}:{e}")))
}

/// Parse compose YAML text into JSON values. Errors read `line:col: message`.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    check_expansion(text)?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        let m = e.marker();
        format!("{}:{}: {}", m.line(), m.col() + 1, e.info())
    })?;
    match docs.first() {
        Some(doc) => Ok(yaml_to_json(doc)),
        None => Err("1:1: the file is empty".into()),
    }
}

/// Walk the event stream once and count the nodes the loader would build once
/// aliases are expanded, before the loader gets to build them.
fn check_expansion(text: &str) -> Result<(), String> {
    struct Counter {
        total: u64,
        anchor_sizes: HashMap<usize, u64>,
        open: Vec<(usize, u64)>,
        overflow: Option<Marker>,
    }
    impl MarkedEventReceiver for Counter {
        fn on_event(&mut self, ev: Event, mark: Marker) {
            if self.overflow.is_some() {
                return;
            }
            match ev {
                Event::Scalar(_, _, aid, _) => {
                    self.total += 1;
                    if aid > 0 {
                        self.anchor_sizes.insert(aid, 1);
                    }
                }
                Event::SequenceStart(aid, _) | Event::MappingStart(aid, _) => {
                    self.total += 1;
                    self.open.push((aid, self.total));
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    if let Some((aid, start)) = self.open.pop() {
                        if aid > 0 {
                            self.anchor_sizes.insert(aid, self.total - start + 1);
                        }
                    }
                }
                Event::Alias(aid) => {
                    let size = self.anchor_sizes.get(&aid).copied().unwrap_or(1);
                    self.total = self.total.saturating_add(size);
                }
                _ => {}
            }
            if self.total > MAX_EXPANDED_NODES {
                self.overflow = Some(mark);
            }
        }
    }
    let mut counter = Counter {
        total: 0,
        anchor_sizes: HashMap::new(),
        open: Vec::new(),
        overflow: None,
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut counter, true).map_err(|e| {
        let m = e.marker();
        format!("{}:{}: {}", m.line(), m.col() + 1, e.info())
    })?;
    match counter.overflow {
        Some(m) => Err(format!(
            "{}:{}: aliases expand to more than {MAX_EXPANDED_NODES} nodes",
            m.line(),
            m.col() + 1
        )),
        None => Ok(()),
    }
}

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => String::new(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HARDENED: &str = r#"# A hardened web service and its worker.
services:
  web:
    build: .
    read_only: true
    cap_drop: [ALL]
    cap_add: [net_bind_service]
    security_opt: ["no-new-privileges:true"]
    tmpfs:
      - /tmp:size=16m
      - /run/nginx/
    volumes:
      - data:/app/data
      - ./conf:/etc/app:ro
      - type: volume
        source: models
        target: /app/models
      - type: bind
        source: ./secrets
        target: /run/secrets
        read_only: true
    healthcheck:
      test: ["CMD-SHELL", "true"]
  vpn:
    image: example/vpn:1.4
    tmpfs: /tmp
    healthcheck:
      disable: true
    x-harden:
      allow: [writable-rootfs, default-capabilities]
      reason: "writes routing state under /etc/vpn"
volumes:
  data:
  models:
"#;

    #[test]
    fn reads_what_each_service_declares() {
        let doc = parse_yaml(HARDENED).expect("parses");
        let services = services_from_value(&doc).expect("services");
        let names: Vec<_> = services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["vpn", "web"]);
        let web = &services[1];
        assert_eq!(web.cap_add, ["NET_BIND_SERVICE"]);
        let targets: Vec<_> = web
            .carve_outs
            .iter()
            .map(|c| (c.target.as_str(), c.kind))
            .collect();
        assert_eq!(
            targets,
            [
                ("/tmp", "tmpfs"),
                ("/run/nginx", "tmpfs"),
                ("/app/data", "volume"),
                ("/app/models", "volume")
            ]
        );
        assert!(web.healthcheck);
        assert!(web.builds_unnamed_image);
        assert!(web.allow.is_empty());

        let vpn = &services[0];
        assert!(!vpn.healthcheck);
        assert!(!vpn.builds_unnamed_image);
        assert_eq!(vpn.carve_outs.len(), 1);
        assert!(vpn.allows("writable-rootfs"));
        assert!(vpn.allows("default-capabilities"));
        assert!(!vpn.allows("root-user"));
        assert_eq!(
            vpn.allow_reason.as_deref(),
            Some("writes routing state under /etc/vpn")
        );
    }

    #[test]
    fn reads_the_engines_normalised_json() {
        // The shape `docker compose config --format json` prints.
        let doc: Value = serde_json::from_str(
            r#"{"name":"p","services":{"api":{"cap_add":["CAP_CHOWN"],
            "tmpfs":["/tmp:size=512m"],
            "volumes":[{"type":"volume","source":"cache","target":"/var/cache/api"},
                       {"type":"bind","source":"/srv/x","target":"/x","read_only":true}],
            "healthcheck":{"test":["NONE"]}}}}"#,
        )
        .expect("json");
        let services = services_from_value(&doc).expect("services");
        let api = &services[0];
        assert_eq!(api.cap_add, ["CHOWN"]);
        assert_eq!(api.carve_outs.len(), 2);
        assert_eq!(api.carve_outs[1].target, "/var/cache/api");
        assert!(!api.healthcheck);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse_yaml("services:\n  web:\n    image: [a\n").unwrap_err();
        assert!(err.starts_with("4:1:") || err.starts_with("3:"), "{err}");
        let doc = parse_yaml("version: '3'\n").expect("parses");
        assert_eq!(
            services_from_value(&doc).unwrap_err().0,
            "no `services` mapping"
        );
        assert!(parse_yaml("").unwrap_err().contains("empty"));
    }

    #[test]
    fn refuses_an_alias_bomb() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let names = ["b", "c", "d", "e", "f", "g", "h"];
        let mut prev = "a";
        for n in names {
            text.push_str(&format!(
                "{n}: &{n} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = n;
        }
        let err = parse_yaml(&text).unwrap_err();
        assert!(err.contains("aliases expand"), "{err}");
        // Ordinary anchors and merge keys still load.
        let ok = parse_yaml("x: &d {a: 1}\nservices:\n  s:\n    <<: *d\n").expect("ok");
        assert!(ok.get("services").is_some());
    }

    #[test]
    fn finds_the_compose_file_in_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(find_compose_file(dir.path()).is_err());
        std::fs::write(dir.path().join("docker-compose.yml"), "services: {}\n").expect("write");
        std::fs::write(dir.path().join("compose.yaml"), "services: {}\n").expect("write");
        let found = find_compose_file(dir.path()).expect("found");
        assert!(found.ends_with("compose.yaml"));
        let direct = find_compose_file(&dir.path().join("docker-compose.yml")).expect("file");
        assert!(direct.ends_with("docker-compose.yml"));
        assert!(find_compose_file(&dir.path().join("missing.yaml")).is_err());
    }

    #[test]
    fn oversized_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("compose.yaml");
        let f = std::fs::File::create(&p).expect("create");
        f.set_len(MAX_COMPOSE_BYTES + 1).expect("len");
        let err = load_yaml_file(&p).unwrap_err();
        assert!(err.0.contains("more than"), "{}", err.0);
    }
}
