//! Whether a fixed compose document still holds everything the old one
//! did, compared node by node on the two span trees: a file of tens of
//! thousands of services is compared without building a JSON value of
//! either document (which cost many times the file's size). The verdict
//! and its message are those of comparing the two documents' JSON data
//! ([`Document::to_json`] without merge keys): aliases are followed,
//! scalars compared as typed data, mappings by key in key order.

use crate::compose::tree::{Document, Kind, Limits, Node};
use serde_json::Value;
use std::collections::HashSet;

/// What a comparison needs besides the two nodes.
pub struct Compare<'a> {
    pub old: &'a Document,
    pub new: &'a Document,
    /// JSON pointers whose values the fix replaces on purpose.
    pub replaced: HashSet<&'a str>,
    /// Where something new may appear.
    pub may_grow: &'a dyn Fn(&str) -> bool,
    pub limits: &'a Limits,
}

impl Compare<'_> {
    /// The old document is contained in the new one: mappings keep their
    /// keys, sequences keep their items in order (new ones may be
    /// interleaved), scalars are equal; what is new (a key, an item, a value
    /// for a null) is at a path `may_grow` allows.
    pub fn documents(&self) -> Result<(), String> {
        self.old.check_limits(self.limits).map_err(|e| e.message)?;
        self.new.check_limits(self.limits).map_err(|e| e.message)?;
        let mut at = String::new();
        self.nodes(&self.old.root, &self.new.root, &mut at, 0)
    }

    fn added(&self, p: &str) -> Result<(), String> {
        if (self.may_grow)(p) {
            Ok(())
        } else {
            Err(format!(
                "`{p}` would be added, outside the services harden hardens"
            ))
        }
    }

    /// `at` is the pointer of `a` and `b`; it is as it was on return.
    fn nodes(&self, a: &Node, b: &Node, at: &mut String, depth: usize) -> Result<(), String> {
        if self.replaced.contains(at.as_str()) {
            return Ok(());
        }
        // `check_limits` bounds the depth already; this keeps the
        // recursion bounded even if it were wrong.
        if depth > self.limits.max_depth.saturating_add(1) {
            return Err(format!(
                "nesting deeper than {} levels",
                self.limits.max_depth
            ));
        }
        let a = resolved(self.old, a)?;
        let b = resolved(self.new, b)?;
        match (&a.kind, &b.kind) {
            (Kind::Map { entries: x, .. }, Kind::Map { entries: y, .. }) => {
                let (Some(mut x), Some(mut y)) = (keyed(x), keyed(y)) else {
                    // A key that is an alias or a collection: compared as
                    // JSON, which says what such a key is called.
                    return self.as_json(a, b, at);
                };
                x.sort_unstable_by(|p, q| p.0.cmp(q.0));
                y.sort_unstable_by(|p, q| p.0.cmp(q.0));
                let mut added: Vec<&str> = Vec::new();
                let mut j = 0;
                for (k, v) in &x {
                    while j < y.len() && y[j].0 < *k {
                        added.push(y[j].0);
                        j += 1;
                    }
                    let len = at.len();
                    push_token(at, k);
                    let r = match y.get(j) {
                        Some((yk, w)) if yk == k => {
                            j += 1;
                            self.nodes(v, w, at, depth + 1)
                        }
                        _ => Err(format!("`{at}` would be lost")),
                    };
                    at.truncate(len);
                    r?;
                }
                added.extend(y[j..].iter().map(|(k, _)| *k));
                for k in added {
                    let len = at.len();
                    push_token(at, k);
                    let r = self.added(at);
                    at.truncate(len);
                    r?;
                }
                Ok(())
            }
            (Kind::Seq { items: x, .. }, Kind::Seq { items: y, .. }) => {
                let mut j = 0;
                for (i, v) in x.iter().enumerate() {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&i.to_string());
                    let r = loop {
                        let Some(w) = y.get(j) else {
                            break Err(format!("`{at}` would be lost"));
                        };
                        j += 1;
                        let tried = self.nodes(v, w, at, depth + 1);
                        if tried.is_ok() {
                            break tried;
                        }
                    };
                    at.truncate(len);
                    r?;
                }
                if y.len() > x.len() {
                    let len = at.len();
                    at.push_str("/-");
                    let r = self.added(at);
                    at.truncate(len);
                    r?;
                }
                Ok(())
            }
            (
                Kind::Scalar {
                    value: v,
                    style: s,
                    tag: t,
                },
                Kind::Scalar {
                    value: w,
                    style: u,
                    tag: g,
                },
            ) if v == w && t == g && s == u => Ok(()),
            _ => {
                if !matches!(a.kind, Kind::Scalar { .. }) {
                    return Err(format!("`{at}` would change"));
                }
                let old = self.old.node_json(a, self.limits).map_err(|e| e.message)?;
                let same = matches!(b.kind, Kind::Scalar { .. })
                    && self.new.node_json(b, self.limits).map_err(|e| e.message)? == old;
                if same {
                    Ok(())
                } else if old == Value::Null {
                    // A key written without a value (`cap_drop:`) that the
                    // fix fills in.
                    self.added(at)
                } else {
                    Err(format!("`{at}` would change"))
                }
            }
        }
    }

    /// Two parts compared as their JSON data.
    fn as_json(&self, a: &Node, b: &Node, at: &str) -> Result<(), String> {
        let x = self.old.node_json(a, self.limits).map_err(|e| e.message)?;
        let y = self.new.node_json(b, self.limits).map_err(|e| e.message)?;
        json_contains(&x, &y, at, &self.replaced, self.may_grow)
    }
}

/// A node with its alias followed; an alias to nothing is an error, as
/// [`Document::to_json`] says it.
fn resolved<'d>(doc: &'d Document, node: &'d Node) -> Result<&'d Node, String> {
    let target = doc.resolve(node);
    match &target.kind {
        Kind::Alias { name } => Err(format!("unknown anchor `{name}`")),
        _ => Ok(target),
    }
}

/// A mapping's entries by key text, or none when a key is not a scalar
/// written as one (an alias, a collection).
fn keyed(entries: &[crate::compose::tree::Entry]) -> Option<Vec<(&str, &Node)>> {
    entries
        .iter()
        .map(|e| Some((e.key.as_str()?, &e.value)))
        .collect()
}

/// Appends `/key` to a JSON pointer, escaped as RFC 6901 says.
fn push_token(at: &mut String, key: &str) {
    at.push('/');
    for c in key.chars() {
        match c {
            '~' => at.push_str("~0"),
            '/' => at.push_str("~1"),
            c => at.push(c),
        }
    }
}

/// The same comparison on JSON data, for the parts of a document that
/// cannot be compared node by node.
fn json_contains(
    old: &Value,
    new: &Value,
    at: &str,
    replaced: &HashSet<&str>,
    may_grow: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    if replaced.contains(at) {
        return Ok(());
    }
    let added = |p: &str| {
        if may_grow(p) {
            Ok(())
        } else {
            Err(format!(
                "`{p}` would be added, outside the services harden hardens"
            ))
        }
    };
    let token = |k: &str| {
        let mut p = at.to_string();
        push_token(&mut p, k);
        p
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = token(k);
                match b.get(k) {
                    Some(w) => json_contains(v, w, &p, replaced, may_grow)?,
                    None => return Err(format!("`{p}` would be lost")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                added(&token(k))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => {
            let mut j = 0;
            for (i, v) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                loop {
                    let Some(w) = b.get(j) else {
                        return Err(format!("`{p}` would be lost"));
                    };
                    j += 1;
                    if json_contains(v, w, &p, replaced, may_grow).is_ok() {
                        break;
                    }
                }
            }
            if b.len() > a.len() {
                added(&format!("{at}/-"))?;
            }
            Ok(())
        }
        (a, b) if a == b => Ok(()),
        (Value::Null, _) => added(at),
        _ => Err(format!("`{at}` would change")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::tree;
    use crate::source::Source;
    use std::sync::Arc;

    fn doc(text: &str) -> Document {
        let src = Arc::new(Source::new("c.yml".into(), "c.yml".into(), text.into()));
        tree::parse(&src, &Limits::default()).unwrap().unwrap()
    }

    /// The verdict on the trees and on the two documents' JSON data.
    fn both(old: &str, new: &str, replaced: &[&str]) -> (Result<(), String>, Result<(), String>) {
        let (old, new) = (doc(old), doc(new));
        let limits = Limits::default();
        let may_grow = |p: &str| p.starts_with("/services/");
        let cmp = Compare {
            old: &old,
            new: &new,
            replaced: replaced.iter().copied().collect(),
            may_grow: &may_grow,
            limits: &limits,
        };
        let a = old.to_json(false, &limits).unwrap();
        let b = new.to_json(false, &limits).unwrap();
        let json = json_contains(&a, &b, "", &cmp.replaced, &may_grow);
        (cmp.documents(), json)
    }

    /// Every case gives the verdict and the message that comparing the JSON
    /// data gives.
    #[test]
    fn trees_and_json_agree() {
        let base = "x-a: &a {k: 1}\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\n";
        let cases: &[(&str, &[&str])] = &[
            // Unchanged.
            (base, &[]),
            // Keys added inside a service, a null filled in.
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: nginx\n    read_only: true\n    ports: [\"80:80\", 443]\n    cap_drop: [ALL]\n    env: *a\n    x: 1.0\n", &[]),
            // An item interleaved in a sequence.
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\", \"8080:8080\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &[]),
            // A key lost.
            ("x-a: &a {k: 1}\nservices:\n  web:\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &[]),
            // An item lost; an item typed differently (a string for 443).
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\"]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &[]),
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\", \"443\"]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &[]),
            // The same number written otherwise; a float become an int.
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: \"nginx\"\n    ports: ['80:80', 0x1BB]\n    cap_drop: ~\n    env: {k: 1}\n    x: 1.00\n", &[]),
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1\n", &[]),
            // An aliased value changed through its anchor.
            ("x-a: &a {k: 2}\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &[]),
            // A value replaced on purpose, and the same change not allowed.
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: httpd\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &["/services/web/image"]),
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: httpd\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &[]),
            // Something added outside the services; a new top-level key.
            ("x-a: &a {k: 1, read_only: true}\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &[]),
            ("x-a: &a {k: 1}\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\nvolumes: {}\n", &[]),
            // A mapping become a sequence; a key with `/` and `~` lost.
            ("x-a: &a [k]\nservices:\n  web:\n    image: nginx\n    ports: [\"80:80\", 443]\n    cap_drop:\n    env: *a\n    x: 1.0\n", &[]),
        ];
        for (new, replaced) in cases {
            let (tree, json) = both(base, new, replaced);
            assert_eq!(tree, json, "{new}");
        }
        let odd = "services:\n  a/b~c: {image: x}\n  ? [k, l]\n  : v\n";
        for new in [
            "services:\n  ? [k, l]\n  : v\n",
            "services:\n  a/b~c: {image: x}\n  ? [k, l]\n  : w\n",
            "services:\n  a/b~c: {image: x, user: u}\n  ? [k, l]\n  : v\n",
        ] {
            let (tree, json) = both(odd, new, &[]);
            assert_eq!(tree, json, "{new}");
        }
        // The cases say something: both kinds of verdict occur.
        assert!(both(base, base, &[]).0.is_ok());
        let lost = both(base, cases[3].0, &[]).0.unwrap_err();
        assert_eq!(lost, "`/services/web/image` would be lost");
    }
}
