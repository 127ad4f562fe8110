//! Migration steps for existing named volumes. A volume created while a
//! service ran as root holds files owned by root; once the service runs as
//! a non-root user it can no longer write them. New volumes are fine (the
//! Dockerfile creates and chowns their directory, and Docker copies that
//! ownership into an empty volume), so only volumes the service already
//! used before the change need a one-time chown. Worked out from the files
//! as parsed before the fix and as re-parsed to verify it, and handed to
//! the reports as data.

use crate::compose::service::{self, Service};
use crate::compose::tree::{Document, Kind};
use crate::dockerfile::users::{is_root_user, users_created_by};
use crate::dockerfile::Dockerfile;
use crate::link::Links;
use crate::migration::Migration;
use std::collections::HashMap;
use std::path::Path;

/// (volume key, mount target) of every named volume a service mounts.
fn named_volumes(doc: &Document, svc: &Service) -> Vec<(String, String)> {
    let Some((node, _)) = svc.effective("volumes") else {
        return Vec::new();
    };
    let Kind::Seq { items, .. } = &node.kind else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let item = doc.resolve(item);
        let pair = match &item.kind {
            Kind::Scalar { value, .. } => {
                let mut parts = value.splitn(3, ':');
                match (parts.next(), parts.next()) {
                    (Some(src), Some(target)) => Some((src.to_string(), target.to_string())),
                    _ => None,
                }
            }
            Kind::Map { .. } => {
                let get = |k: &str| {
                    item.get(k)
                        .and_then(|e| doc.resolve(&e.value).as_str())
                        .map(str::to_string)
                };
                match get("type").as_deref() {
                    Some("volume") | None => get("source").zip(get("target")),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some((src, target)) = pair {
            let named = !src.is_empty()
                && !src.starts_with(['/', '.', '~', '$'])
                && !src.contains(['/', '\\']);
            if named {
                out.push((src, target));
            }
        }
    }
    out
}

/// Indices of the final stage and the stages it builds on, final first.
fn chain(df: &Dockerfile) -> Vec<usize> {
    let mut out = df
        .final_stage()
        .map(|s| df.chain(s.index))
        .unwrap_or_default();
    out.reverse();
    out
}

/// The user the final stage runs as (its last `USER`), and its uid/gid
/// where the Dockerfile or the base image tells.
fn dockerfile_user(df: &Dockerfile) -> Option<(String, Option<String>)> {
    let stages = chain(df);
    let user = stages.iter().find_map(|&s| {
        df.stage_instructions(s)
            .iter()
            .rev()
            .find(|i| i.keyword == "USER")
            .map(|i| i.args.split_whitespace().next().unwrap_or("").to_string())
    })?;
    if user.is_empty() || user.contains('$') {
        return None;
    }
    let owner = numeric_owner(&user).or_else(|| {
        let name = user.split(':').next().unwrap_or("");
        let created = stages.iter().find_map(|&s| {
            df.stage_instructions(s)
                .iter()
                .filter(|i| i.keyword == "RUN")
                .find_map(|i| {
                    let u = users_created_by(&i.args, i.line)
                        .into_iter()
                        .find(|u| u.name == name)?;
                    Some((u, created_gid(&i.args, name)))
                })
        });
        if let Some((c, gid)) = created {
            let uid = c.uid?;
            return Some(match gid {
                Some(g) => format!("{uid}:{g}"),
                None => uid.to_string(),
            });
        }
        let root = stages.last().and_then(|&s| df.stages.get(s))?;
        let base = crate::baseimage::classify(&root.resolved_image);
        base.user_named(name)
            .map(|u| format!("{}:{}", u.uid, u.gid))
    });
    Some((user, owner))
}

/// The numeric primary group (`-g`/`--gid`) of the command in `script`
/// that creates user `name`.
fn created_gid(script: &str, name: &str) -> Option<u32> {
    let cleaned = script.replace(['\\', '`'], " ");
    cleaned.split(['&', ';', '|', '\n']).find_map(|cmd| {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let creates = words
            .iter()
            .any(|w| w.ends_with("useradd") || w.ends_with("adduser"));
        if !creates || !words.iter().any(|w| w.trim_matches(['"', '\'']) == name) {
            return None;
        }
        words
            .iter()
            .enumerate()
            .find_map(|(i, w)| match w.split_once('=') {
                Some(("--gid", v)) => v.parse().ok(),
                _ if *w == "-g" || *w == "--gid" => words.get(i + 1)?.parse().ok(),
                _ => None,
            })
    })
}

/// `1000` or `1000:1000` as chown takes it, when the spec is numeric.
fn numeric_owner(spec: &str) -> Option<String> {
    let mut parts = spec.splitn(2, ':');
    let uid = parts.next()?;
    if uid.is_empty() || !uid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match parts.next() {
        Some(g) if !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()) => {
            Some(format!("{uid}:{g}"))
        }
        Some(_) => Some(uid.to_string()),
        None => Some(uid.to_string()),
    }
}

/// A compose file's Dockerfiles as parsed (`false`) or as fixed (`true`),
/// by canonical path.
pub type Dockerfiles<'a> = dyn Fn(&Path, bool) -> Option<&'a Dockerfile> + 'a;

/// The user a service runs as: `user:`, else its Dockerfile's `USER`.
fn service_user(
    links: &Links,
    dockerfiles: &Dockerfiles<'_>,
    compose_path: &Path,
    svc: &Service,
    fixed: bool,
) -> Option<(String, Option<String>)> {
    if let Some((node, _)) = svc.effective("user") {
        let spec = node.as_str()?.trim().to_string();
        if spec.is_empty() || spec.contains('$') {
            return None;
        }
        let owner = numeric_owner(&spec);
        return Some((spec, owner));
    }
    let (df_path, _, _) = links.built_by(compose_path, svc.name)?;
    dockerfile_user(dockerfiles(df_path, fixed)?)
}

/// The migrations a compose file's change calls for: every named volume a
/// service already mounted, where the service now runs as a non-root user
/// it did not run as before.
pub fn migrations(
    before: &Document,
    after: &Document,
    compose_path: &Path,
    links: &Links,
    dockerfiles: &Dockerfiles<'_>,
) -> Vec<Migration> {
    let mut old: HashMap<&str, Service> = HashMap::new();
    let mut out = Vec::new();
    for svc in service::services(after) {
        let Some((user, owner)) = service_user(links, dockerfiles, compose_path, &svc, true) else {
            continue;
        };
        if is_root_user(&user) {
            continue;
        }
        if old.is_empty() {
            old = service::services(before).map(|s| (s.name, s)).collect();
        }
        let Some(old) = old.get(svc.name) else {
            continue;
        };
        let was = service_user(links, dockerfiles, compose_path, old, false);
        if was.as_ref().is_some_and(|(u, _)| u == &user) {
            continue;
        }
        for (volume, target) in named_volumes(before, old) {
            out.push(Migration {
                service: svc.name.to_string(),
                volume,
                target,
                user: user.clone(),
                owner: owner.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_owners() {
        assert_eq!(numeric_owner("1000"), Some("1000".into()));
        assert_eq!(numeric_owner("1000:1001"), Some("1000:1001".into()));
        assert_eq!(numeric_owner("1000:staff"), Some("1000".into()));
        assert_eq!(numeric_owner("app"), None);
        assert_eq!(numeric_owner(""), None);
    }

    #[test]
    fn user_and_ids_from_the_final_stage() {
        let text = "FROM debian:12 AS base\n\
RUN groupadd --system --gid 1500 app \\\n && useradd --system --uid 1500 --gid 1500 app\n\
FROM base\nUSER app\n";
        let df = crate::dockerfile::parse(text).expect("parses");
        assert_eq!(
            dockerfile_user(&df),
            Some(("app".into(), Some("1500:1500".into())))
        );
        let busybox = "FROM alpine:3.20\nRUN adduser -D -u 1200 svc\nUSER svc\n";
        let df = crate::dockerfile::parse(busybox).expect("parses");
        assert_eq!(
            dockerfile_user(&df),
            Some(("svc".into(), Some("1200".into())))
        );
        let unknown = "FROM example/thing:1\nUSER worker\n";
        let df = crate::dockerfile::parse(unknown).expect("parses");
        assert_eq!(dockerfile_user(&df), Some(("worker".into(), None)));
        let none = "FROM debian:12\nRUN true\n";
        let df = crate::dockerfile::parse(none).expect("parses");
        assert_eq!(dockerfile_user(&df), None);
    }

    fn compose(text: &str) -> Document {
        let src = crate::source::Source::new("x/compose.yaml".into(), String::new(), text.into());
        crate::compose::parse(&src.into(), &crate::compose::tree::Limits::default())
            .ok()
            .flatten()
            .expect("parses")
    }

    #[test]
    fn named_volumes_of_a_service() {
        let doc = compose(
            "name: Shop\nservices:\n  a:\n    volumes:\n      - data:/d\n      - ./src:/src\n      - /host:/h:ro\n      - type: volume\n        source: cache\n        target: /c\n      - type: bind\n        source: x\n        target: /x\n      - logs:/l:rw\nvolumes:\n  data: {}\n  cache:\n    name: shared-cache\n  logs:\n    external: true\n",
        );
        let svc = service::services(&doc).next().expect("service");
        assert_eq!(
            named_volumes(&doc, &svc),
            vec![
                ("data".to_string(), "/d".to_string()),
                ("cache".to_string(), "/c".to_string()),
                ("logs".to_string(), "/l".to_string()),
            ]
        );
    }

    #[test]
    fn migration_only_where_the_user_changed() {
        let text = "services:\n  a:\n    image: x\n    user: root\n    volumes: [data:/d]\n  b:\n    image: y\n    user: \"70:70\"\n    volumes: [more:/m]\n";
        let fixed = text.replace("user: root", "user: \"1000:1000\"");
        let none = |_: &Path, _: bool| None;
        let m = migrations(
            &compose(text),
            &compose(&fixed),
            Path::new("/srv/shop/compose.yaml"),
            &Links::default(),
            &none,
        );
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(
            m[0].command(),
            "docker compose run --rm --no-deps --user 0 --cap-add CHOWN --cap-add DAC_READ_SEARCH --entrypoint chown a -R 1000:1000 /d"
        );
        assert_eq!((m[0].service.as_str(), m[0].target.as_str()), ("a", "/d"));
    }
}
