//! The document's data as JSON, for the engine and `verify`: aliases
//! expanded within the limits, merge keys applied as Compose does.

use serde_json::Value;
use yaml_rust2::Yaml;

use super::node::*;

impl Document {
    /// The document's data as JSON: aliases expanded within `limits`,
    /// plain scalars typed as yaml-rust2 types them (core schema), quoted and
    /// block scalars as strings, scalar keys as their text. With `merge_keys`, `<<`
    /// merges mappings as Docker Compose does (explicit keys win, then
    /// earlier mappings of a sequence); without, `<<` is an ordinary key.
    pub fn to_json(&self, merge_keys: bool, limits: &Limits) -> Result<Value, YamlError> {
        self.check_limits(limits)?;
        self.json_of(&self.root, merge_keys, 0, limits.max_depth)
    }

    /// One node's data as [`Document::to_json`] gives it without merge
    /// keys: what `verify` compares when a part of two documents cannot be
    /// compared node by node. Call [`Document::check_limits`] first.
    pub fn node_json(&self, node: &Node, limits: &Limits) -> Result<Value, YamlError> {
        self.json_of(node, false, 0, limits.max_depth)
    }

    /// The document stays within `limits` once aliases are expanded. Cheap:
    /// the sizes were computed while parsing, so a bomb costs no memory
    /// here, and a file can be refused as soon as it is read.
    pub fn check_limits(&self, limits: &Limits) -> Result<(), YamlError> {
        let max_nodes = limits.max_nodes as u64;
        for a in &self.aliases {
            let message = if a.before.saturating_add(a.size) > max_nodes {
                format!(
                    "alias expansion exceeds {} nodes (alias `{}`)",
                    limits.max_nodes, a.name
                )
            } else if a.depth > limits.max_depth {
                format!(
                    "nesting deeper than {} levels after expanding alias `{}`",
                    limits.max_depth, a.name
                )
            } else {
                continue;
            };
            return Err(YamlError {
                line: a.line,
                col: a.col + 1,
                message,
            });
        }
        if self.total_nodes > max_nodes {
            return Err(node_error(
                &self.src,
                &self.root,
                format!("document has more than {} nodes", limits.max_nodes),
            ));
        }
        if self.height > limits.max_depth {
            return Err(node_error(
                &self.src,
                &self.root,
                format!("nesting deeper than {} levels", limits.max_depth),
            ));
        }
        Ok(())
    }

    fn json_of(
        &self,
        node: &Node,
        merge: bool,
        depth: usize,
        max_depth: usize,
    ) -> Result<Value, YamlError> {
        // The checks in `to_json` bound this already; this guard keeps the
        // recursion bounded even if they were wrong.
        if depth > max_depth.saturating_add(1) {
            return Err(node_error(
                &self.src,
                node,
                format!("nesting deeper than {max_depth} levels"),
            ));
        }
        match &node.kind {
            Kind::Scalar { value, style, tag } => Ok(scalar_json(value, *style, *tag)),
            Kind::Alias { name } => {
                let target = self.resolve(node);
                if std::ptr::eq(target, node) {
                    return Err(node_error(
                        &self.src,
                        node,
                        format!("unknown anchor `{name}`"),
                    ));
                }
                self.json_of(target, merge, depth, max_depth)
            }
            Kind::Seq { items, .. } => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.json_of(item, merge, depth + 1, max_depth)?);
                }
                Ok(Value::Array(out))
            }
            Kind::Map { entries, .. } => {
                let mut out = serde_json::Map::new();
                let mut merges = Vec::new();
                for e in entries {
                    if merge && is_merge_key(&e.key) {
                        merges.push(&e.value);
                        continue;
                    }
                    // Compose names a key by its text as written: a service
                    // `0x10` is `0x10`, not 16, so scalar keys are not typed.
                    let key = match &self.resolve(&e.key).kind {
                        Kind::Scalar { value, .. } => value.to_string(),
                        _ => key_string(self.json_of(&e.key, merge, depth + 1, max_depth)?),
                    };
                    let value = self.json_of(&e.value, merge, depth + 1, max_depth)?;
                    out.insert(key, value);
                }
                for m in merges {
                    for source in self.merge_sources(m)? {
                        if let Value::Object(o) = self.json_of(source, merge, depth, max_depth)? {
                            for (k, v) in o {
                                out.entry(k).or_insert(v);
                            }
                        }
                    }
                }
                Ok(Value::Object(out))
            }
        }
    }

    /// The mappings a `<<` value names, in order of precedence.
    fn merge_sources<'a>(&'a self, value: &'a Node) -> Result<Vec<&'a Node>, YamlError> {
        let value = self.resolve(value);
        let bad = |n: &Node| {
            node_error(
                &self.src,
                n,
                "merge key `<<` needs a mapping or a sequence of mappings".to_string(),
            )
        };
        match &value.kind {
            Kind::Map { .. } => Ok(vec![value]),
            Kind::Seq { items, .. } => items
                .iter()
                .map(|item| {
                    let m = self.resolve(item);
                    if matches!(m.kind, Kind::Map { .. }) {
                        Ok(m)
                    } else {
                        Err(bad(item))
                    }
                })
                .collect(),
            _ => Err(bad(value)),
        }
    }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, Kind::Scalar { value, style: ScalarStyle::Plain, tag: Tag::None } if &**value == "<<")
}

/// A scalar's JSON value, typed the way yaml-rust2's loader types it.
fn scalar_json(value: &str, style: ScalarStyle, tag: Tag) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(value.to_string());
    }
    let yaml = match tag {
        Tag::None => Yaml::from_str(value),
        Tag::Bool => match value {
            "true" | "True" | "TRUE" => Yaml::Boolean(true),
            "false" | "False" | "FALSE" => Yaml::Boolean(false),
            _ => Yaml::String(value.to_string()),
        },
        Tag::Int => value
            .parse::<i64>()
            .map(Yaml::Integer)
            .unwrap_or_else(|_| Yaml::String(value.to_string())),
        Tag::Float => Yaml::Real(value.to_string()),
        Tag::Null if matches!(value, "" | "~" | "null") => Yaml::Null,
        _ => Yaml::String(value.to_string()),
    };
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            // .inf and .nan have no JSON form: keep the text.
            .unwrap_or(Value::String(s)),
        Yaml::String(s) => Value::String(s),
        _ => Value::String(value.to_string()),
    }
}

/// A key as a JSON object key: strings as they are, other scalars as their
/// JSON text, collections in a flow-like form. Not JSON for collections: a
/// key nested in a key would be escaped again at every level, and the text
/// would double in size each time (found by fuzzing).
fn key_string(key: Value) -> String {
    fn flow(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => out.push_str(s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    flow(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (k, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    flow(item, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    match key {
        Value::String(s) => s,
        other => {
            let mut out = String::new();
            flow(&other, &mut out);
            out
        }
    }
}
