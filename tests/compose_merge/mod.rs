//! Compose's merge of `-f base -f variant` (`docker compose config`), as
//! the Compose specification's merge rules say, for the tests: the merged
//! project, and what goes wrong in it for the keys harden adds.

#![allow(dead_code)]

use serde_json::{Map, Value};

/// Keys whose sequences merge by mount target: an entry of the later file
/// replaces the one at the same target.
const BY_TARGET: &[&str] = &["volumes", "tmpfs"];

/// Keys whose sequence the later file replaces whole.
const REPLACED: &[&str] = &["command", "entrypoint", "healthcheck"];

/// `over` merged onto `base`: mappings key by key, scalars and the
/// [`REPLACED`] keys overridden, [`BY_TARGET`] sequences by mount target,
/// other sequences (`cap_add`, `cap_drop`, `security_opt`, `ports`, ...)
/// unioned.
pub fn merge(base: &Value, over: &Value) -> Value {
    merge_at(None, base, over)
}

fn merge_at(key: Option<&str>, base: &Value, over: &Value) -> Value {
    match (base, over) {
        (_, _) if key.is_some_and(|k| REPLACED.contains(&k)) => over.clone(),
        (Value::Object(b), Value::Object(o)) => {
            let mut out: Map<String, Value> = b.clone();
            for (k, v) in o {
                let merged = match b.get(k) {
                    Some(bv) => merge_at(Some(k), bv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(b), Value::Array(o)) if key.is_some_and(|k| BY_TARGET.contains(&k)) => {
            let k = key.unwrap_or_default();
            let mut out: Vec<Value> = b
                .iter()
                .filter(|e| {
                    let t = mount_target(k, e);
                    !o.iter().any(|n| mount_target(k, n) == t)
                })
                .cloned()
                .collect();
            out.extend(o.iter().cloned());
            Value::Array(out)
        }
        (Value::Array(b), Value::Array(o)) => {
            let mut out = b.clone();
            for v in o {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Value::Array(out)
        }
        _ => over.clone(),
    }
}

/// Where a service's mount puts it in the container: the part after the
/// source of a short volume (`name:/data:ro` → `/data`), a long volume's
/// `target`, a tmpfs's path without its options.
pub fn mount_target(key: &str, entry: &serde_json::Value) -> Option<String> {
    if let Some(t) = entry.get("target").and_then(|t| t.as_str()) {
        return Some(t.to_string());
    }
    let s = entry.as_str()?;
    let parts: Vec<&str> = s.split(':').collect();
    Some(match (key, parts.as_slice()) {
        ("tmpfs", [path, ..]) => path.to_string(),
        (_, [target]) => target.to_string(),
        (_, [_, target, ..]) => target.to_string(),
        _ => return None,
    })
}

/// What goes wrong when Compose merges `variant` on `base`
/// (`docker compose -f base -f variant config`), for the keys harden adds:
/// volumes and tmpfs merge by mount target, so a target both files mount
/// is a mount one of them loses (or, across the two keys, one Docker
/// refuses); cap_add, cap_drop and security_opt are unioned, so an entry
/// in both was added twice; a scalar the variant sets overrides the base's
/// (only the author's own, in `variant_before`, may).
pub fn merge_problems(
    base: &serde_json::Value,
    variant: &serde_json::Value,
    variant_before: &serde_json::Value,
) -> Vec<String> {
    let mut out = Vec::new();
    let Some(services) = variant["services"].as_object() else {
        return out;
    };
    for (name, v) in services {
        let b = &base["services"][name];
        let list = |s: &serde_json::Value, key: &str| -> Vec<serde_json::Value> {
            s[key].as_array().cloned().unwrap_or_default()
        };
        let mut merged_targets: Vec<String> = Vec::new();
        for key in ["volumes", "tmpfs"] {
            let base_targets: Vec<String> = list(b, key)
                .iter()
                .filter_map(|e| mount_target(key, e))
                .collect();
            for t in list(v, key).iter().filter_map(|e| mount_target(key, e)) {
                if base_targets.contains(&t) {
                    out.push(format!("{name}: {key} {t} in both files"));
                }
                merged_targets.push(t);
            }
            merged_targets.extend(base_targets);
        }
        let mut seen = std::collections::HashSet::new();
        for t in &merged_targets {
            if !seen.insert(t) {
                out.push(format!("{name}: {t} mounted twice once merged"));
            }
        }
        for key in ["cap_add", "cap_drop", "security_opt"] {
            let base_items = list(b, key);
            for item in list(v, key) {
                if base_items.contains(&item) {
                    out.push(format!("{name}: {key} {item} in both files"));
                }
            }
        }
        for key in ["read_only", "user", "privileged", "image"] {
            let authored = !variant_before["services"][name][key].is_null();
            if !v[key].is_null() && !b[key].is_null() && !authored {
                out.push(format!(
                    "{name}: the variant's {key} overrides the base's {}",
                    b[key]
                ));
            }
        }
    }
    out
}
