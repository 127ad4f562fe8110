//! The parts of a compose project that verify checks against: each service's
//! declared capabilities, its writable carve-outs, its healthcheck, its
//! `x-harden` exception and probe, and what the engine would create under a
//! fixed name (`container_name`, the `image` a `build` is tagged with).
//! Read through the same span tree, limits and mount parser as `fix` and
//! `check`, so verify checks what harden reasons about.

use crate::compose::mounts::{mounts_of, Mount};
use crate::compose::service::{self, Service as TreeService};
use crate::compose::tree::{self, Document, Kind, Limits, Node};
use crate::source::Source;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
/// [`COMPOSE_NAMES`] in a directory. Absolute, because the engine runs in
/// the file's folder and a relative path would be read from there twice.
pub fn find_compose_file(path: &Path) -> Result<PathBuf, ComposeError> {
    let found = if path.is_dir() {
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
            })?
    } else if path.is_file() {
        path.to_path_buf()
    } else {
        return Err(ComposeError(format!(
            "{}: no such file or directory",
            path.display()
        )));
    };
    std::path::absolute(&found).map_err(|e| ComposeError(format!("{}: {e}", found.display())))
}

/// A path the service may write: a tmpfs or a writable volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarveOut {
    pub target: String,
    /// `tmpfs` or `volume`, as declared.
    pub kind: &'static str,
    /// A tmpfs's options as written (`size=64m,mode=1777`).
    pub options: String,
}

/// What verify needs to know about one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// Declared `cap_add`, upper case, without `CAP_`.
    pub cap_add: Vec<String>,
    /// Paths the service must be able to write: tmpfs mounts and volumes
    /// that are not read-only. Bind mounts and `:ro` mounts are the
    /// author's inputs, not carve-outs, and are never write-probed.
    pub carve_outs: Vec<CarveOut>,
    /// Mount targets that are declared inputs (bind mounts, `:ro`).
    pub inputs: Vec<String>,
    /// A healthcheck is declared and not disabled.
    pub healthcheck: bool,
    /// Built from a Dockerfile: verify tags the image itself.
    pub build: bool,
    /// `container_name`, which verify replaces in its own override so that
    /// it can never meet a container of the same name.
    pub container_name: Option<String>,
    /// Rules exempted by `x-harden: {allow: [...]}`.
    pub allow: Vec<String>,
    /// The exception's written reason, shown next to each skipped check.
    pub allow_reason: Option<String>,
    /// `x-harden: probe:` as argv (a string is run by `sh -c`).
    pub probe: Option<Vec<String>>,
}

impl Service {
    pub fn allows(&self, rule: &str) -> bool {
        self.allow.iter().any(|r| r == rule || r == "all")
    }
}

/// Read and parse a compose file within harden's limits (file size, YAML
/// depth, alias expansion) and list its services, sorted by name so that
/// the report is stable.
pub fn load(path: &Path) -> Result<Vec<Service>, ComposeError> {
    let shown = path.display().to_string();
    let text = crate::paths::read_text(path, crate::limits::DEFAULT_MAX_FILE_SIZE)
        .map_err(|e| ComposeError(format!("{shown}:{}:{}: {}", e.line, e.col, e.message)))?;
    parse(path, &text)
}

/// [`load`] on text already read; errors read `path:line:col: message`.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Service>, ComposeError> {
    let shown = path.display().to_string();
    let limits = Limits::default();
    let src = Arc::new(Source::new(
        path.to_path_buf(),
        shown.clone(),
        text.to_string(),
    ));
    let at = |e: tree::YamlError| ComposeError(format!("{shown}:{e}"));
    let doc = tree::parse(&src, &limits)
        .map_err(at)?
        .ok_or_else(|| ComposeError(format!("{shown}:1:1: the file is empty")))?;
    doc.check_limits(&limits).map_err(at)?;
    let has_services = doc
        .root
        .get("services")
        .is_some_and(|e| matches!(doc.resolve(&e.value).kind, Kind::Map { .. }));
    if !has_services {
        return Err(ComposeError(format!("{shown}:1:1: no `services` mapping")));
    }
    let mut out = Vec::new();
    for svc in service::services(&doc) {
        out.push(
            service_of(&doc, &svc)
                .map_err(|(line, col, m)| ComposeError(format!("{shown}:{line}:{col}: {m}")))?,
        );
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The scalar items of a list (or a lone scalar).
fn strings<'a>(doc: &'a Document, node: &'a Node) -> Vec<&'a str> {
    match &node.kind {
        Kind::Seq { items, .. } => items
            .iter()
            .filter_map(|i| doc.resolve(i).as_str())
            .collect(),
        _ => node.as_str().into_iter().collect(),
    }
}

fn service_of(doc: &Document, svc: &TreeService) -> Result<Service, (usize, usize, String)> {
    let value = |key: &str| svc.effective(key).map(|(v, _)| v);
    let cap_add = value("cap_add")
        .map(|v| strings(doc, v))
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let up = c.trim().to_ascii_uppercase();
            up.strip_prefix("CAP_").map(str::to_string).unwrap_or(up)
        })
        .collect();

    let mut carve_outs: Vec<CarveOut> = Vec::new();
    let mut inputs = Vec::new();
    for m in mounts_of(doc, svc) {
        if !m.target.starts_with('/') {
            continue;
        }
        if m.read_only || m.bind() {
            inputs.push(m.target);
            continue;
        }
        push_carve_out(&mut carve_outs, &m);
    }

    let healthcheck = value("healthcheck").is_some_and(|h| {
        let test = h.get("test").map(|e| doc.resolve(&e.value));
        let disabled = h
            .get("disable")
            .and_then(|e| doc.resolve(&e.value).as_str())
            .is_some_and(crate::compose::is_true)
            || test.is_some_and(|t| strings(doc, t).first() == Some(&"NONE"));
        test.is_some() && !disabled
    });
    let container_name = value("container_name")
        .and_then(Node::as_str)
        .map(str::to_string);
    let ex = svc.exception();
    if let Some(ex) = &ex {
        if ex.probe.as_ref().is_some_and(Vec::is_empty) {
            return Err((
                ex.line,
                ex.col,
                format!(
                    "`x-harden: probe` of service `{}` must be a command: a string (run by `sh -c`) or a list of strings",
                    svc.name
                ),
            ));
        }
    }
    let ex = ex.unwrap_or_default();
    Ok(Service {
        name: svc.name.to_string(),
        cap_add,
        carve_outs,
        inputs,
        healthcheck,
        build: value("build").is_some(),
        container_name,
        allow: ex.allow,
        allow_reason: ex.reason,
        probe: ex.probe,
    })
}

fn push_carve_out(list: &mut Vec<CarveOut>, m: &Mount) {
    if !list.iter().any(|c| c.target == m.target) {
        list.push(CarveOut {
            target: m.target.clone(),
            kind: if m.tmpfs { "tmpfs" } else { "volume" },
            options: m.options.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HARDENED: &str = r#"# A hardened web service and its worker.
services:
  web:
    build: .
    container_name: shop-web
    read_only: true
    cap_drop: [ALL]
    cap_add: [net_bind_service]
    security_opt: ["no-new-privileges:true"]
    tmpfs:
      - /tmp:size=16m
      - /run/nginx/:mode=1777
    volumes:
      - data:/app/data
      - ./conf:/etc/app:ro
      - ./templates:/etc/nginx/templates
      - type: volume
        source: models
        target: /app/models
      - type: bind
        source: ./secrets
        target: /run/secrets
        read_only: true
    healthcheck:
      test: ["CMD-SHELL", "true"]
    x-harden:
      probe: wget -qO- http://127.0.0.1/ | grep -q Welcome
  vpn:
    image: example/vpn:1.4
    tmpfs: /tmp
    healthcheck:
      disable: true
    x-harden:
      allow: [writable-rootfs, default-capabilities]
      reason: "writes routing state under /etc/vpn"
      probe: [ip, route, show]
volumes:
  data:
  models:
"#;

    fn services(text: &str) -> Result<Vec<Service>, ComposeError> {
        parse(Path::new("compose.yaml"), text)
    }

    #[test]
    fn reads_what_each_service_declares() {
        let services = services(HARDENED).expect("services");
        let names: Vec<_> = services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["vpn", "web"]);
        let web = &services[1];
        assert_eq!(web.cap_add, ["NET_BIND_SERVICE"]);
        let targets: Vec<_> = web
            .carve_outs
            .iter()
            .map(|c| (c.target.as_str(), c.kind, c.options.as_str()))
            .collect();
        assert_eq!(
            targets,
            [
                ("/tmp", "tmpfs", "size=16m"),
                ("/run/nginx", "tmpfs", "mode=1777"),
                ("/app/data", "volume", ""),
                ("/app/models", "volume", "")
            ]
        );
        // Inputs are never carve-outs, with `:ro` or without.
        assert_eq!(
            web.inputs,
            ["/etc/app", "/etc/nginx/templates", "/run/secrets"]
        );
        assert!(web.healthcheck);
        assert!(web.build);
        assert_eq!(web.container_name.as_deref(), Some("shop-web"));
        assert_eq!(
            web.probe.as_deref(),
            Some(
                &[
                    "sh".to_string(),
                    "-c".into(),
                    "wget -qO- http://127.0.0.1/ | grep -q Welcome".into()
                ][..]
            )
        );
        assert!(web.allow.is_empty());

        let vpn = &services[0];
        assert!(!vpn.healthcheck);
        assert!(!vpn.build);
        assert_eq!(vpn.carve_outs.len(), 1);
        assert!(vpn.allows("writable-rootfs"));
        assert!(vpn.allows("default-capabilities"));
        assert!(!vpn.allows("root-user"));
        assert_eq!(
            vpn.allow_reason.as_deref(),
            Some("writes routing state under /etc/vpn")
        );
        assert_eq!(
            vpn.probe.as_deref(),
            Some(&["ip".to_string(), "route".into(), "show".into()][..])
        );
    }

    #[test]
    fn merged_values_count_as_the_services_own() {
        let text = "x-base: &base\n  cap_add: [CHOWN]\n  tmpfs: [/run]\n  x-harden:\n    allow: [all]\n    reason: legacy\nservices:\n  db:\n    <<: *base\n    image: postgres:16\n";
        let db = &services(text).expect("services")[0];
        assert_eq!(db.cap_add, ["CHOWN"]);
        assert_eq!(db.carve_outs[0].target, "/run");
        assert!(db.allows("root-user"));
    }

    #[test]
    fn errors_carry_path_line_and_column() {
        let err = services("services:\n  web:\n    image: [a\n").unwrap_err();
        assert!(err.0.starts_with("compose.yaml:"), "{err}");
        assert_eq!(
            services("version: '3'\n").unwrap_err().0,
            "compose.yaml:1:1: no `services` mapping"
        );
        assert!(services("").unwrap_err().0.contains("empty"));
        let bad_probe = "services:\n  a:\n    image: x\n    x-harden:\n      probe: {cmd: true}\n";
        let err = services(bad_probe).unwrap_err();
        assert!(
            err.0.starts_with("compose.yaml:5:") && err.0.contains("probe"),
            "{err}"
        );
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
        text.push_str("services:\n  s:\n    image: x\n");
        let err = services(&text).unwrap_err();
        assert!(err.0.contains("alias expansion exceeds"), "{err}");
    }

    #[test]
    fn finds_the_compose_file_in_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(find_compose_file(dir.path()).is_err());
        std::fs::write(dir.path().join("docker-compose.yml"), "services: {}\n").expect("write");
        std::fs::write(dir.path().join("compose.yaml"), "services: {}\n").expect("write");
        let found = find_compose_file(dir.path()).expect("found");
        assert!(found.ends_with("compose.yaml"));
        assert!(found.is_absolute());
        let direct = find_compose_file(&dir.path().join("docker-compose.yml")).expect("file");
        assert!(direct.ends_with("docker-compose.yml"));
        assert!(find_compose_file(&dir.path().join("missing.yaml")).is_err());
    }

    #[test]
    fn oversized_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("compose.yaml");
        let f = std::fs::File::create(&p).expect("create");
        f.set_len(crate::limits::DEFAULT_MAX_FILE_SIZE + 1)
            .expect("len");
        let err = load(&p).unwrap_err();
        assert!(err.0.contains("more than the limit"), "{}", err.0);
    }
}
