use super::*;
use crate::source::Source;
use serde_json::Value;
use std::sync::Arc;

fn source(text: &str) -> Arc<Source> {
    Arc::new(Source::new(
        "compose.yaml".into(),
        "compose.yaml".into(),
        text.to_string(),
    ))
}

fn parsed(text: &str) -> (Arc<Source>, Document) {
    let s = source(text);
    let d = match parse(&s, &Limits::default()) {
        Ok(Some(d)) => d,
        other => panic!("expected a document, got {other:?}"),
    };
    check_tree(&s, &d.root);
    (s, d)
}

/// Found by fuzzing: explicit keys inside a flow mapping, after a stray
/// byte-order mark, gave a mapping a span that ends before it starts.
#[test]
fn a_node_without_a_span_in_the_text_is_an_error() {
    let e = parse_err(" ? # *?{ :?s  : |\n ?  \u{feff}{ :?s  : |\n\n    ? ? ?  ?s:{ :?s |\n \n    ? ~ l\n ? ? ? ? q");
    assert!(
        e.message.contains("cannot tell where this node ends"),
        "{e:?}"
    );
    assert!(e.line >= 1 && e.col >= 1);
}

fn parse_err(text: &str) -> YamlError {
    match parse(&source(text), &Limits::default()) {
        Err(e) => e,
        Ok(d) => panic!("expected an error, got {d:?}"),
    }
}

/// The text a node covers.
fn span<'a>(s: &'a Source, n: &Node) -> &'a str {
    &s.text[n.start()..n.end()]
}

/// Follow a path of map keys and `#index` sequence positions.
fn at<'a>(n: &'a Node, path: &str) -> &'a Node {
    let mut n = n;
    for step in path.split('/') {
        n = match (&n.kind, step.strip_prefix('#')) {
            (Kind::Seq { items, .. }, Some(i)) => &items[i.parse::<usize>().unwrap()],
            _ => &n.get(step).unwrap_or_else(|| panic!("no key {step}")).value,
        };
    }
    n
}

fn key_of<'a>(n: &'a Node, path: &str) -> &'a Node {
    let (parent, last) = path
        .rsplit_once('/')
        .map_or((n, path), |(p, l)| (at(n, p), l));
    &parent.get(last).unwrap().key
}

/// Invariants every node of every tree must hold.
fn check_tree(s: &Source, n: &Node) {
    let text = &s.text;
    assert!(n.start() <= n.end() && n.end() <= text.len(), "{n:?}");
    assert!(text.is_char_boundary(n.start()) && text.is_char_boundary(n.end()));
    let slice = span(s, n);
    if !slice.is_empty() {
        assert!(!slice.ends_with(['\n', '\r']), "{slice:?}");
    }
    match &n.kind {
        Kind::Scalar { value, style, .. } => match style {
            ScalarStyle::Plain if !value.contains(['\n', ' ']) => assert_eq!(slice, &**value),
            ScalarStyle::Plain => assert!(!slice.ends_with([' ', '\t'])),
            ScalarStyle::SingleQuoted => {
                assert!(slice.len() >= 2 && slice.starts_with('\'') && slice.ends_with('\''))
            }
            ScalarStyle::DoubleQuoted => {
                assert!(slice.len() >= 2 && slice.starts_with('"') && slice.ends_with('"'))
            }
            ScalarStyle::Literal => assert!(slice.starts_with('|')),
            ScalarStyle::Folded => assert!(slice.starts_with('>')),
        },
        Kind::Alias { name } => assert_eq!(slice, format!("*{name}")),
        Kind::Seq { items, style } => {
            match style {
                Style::Flow => assert!(slice.starts_with('[') && slice.ends_with(']')),
                Style::Block => {
                    assert!(slice.starts_with("- ") || slice.starts_with("-\n") || slice == "-");
                    assert_eq!(n.end(), items.last().unwrap().end());
                }
            }
            for i in items {
                assert!(
                    i.start() >= n.start() && i.end() <= n.end(),
                    "{i:?} in {n:?}"
                );
                check_tree(s, i);
            }
        }
        Kind::Map { entries, style } => {
            if *style == Style::Block || !slice.starts_with('{') {
                assert_eq!(n.end(), entries.last().unwrap().value.end());
            } else {
                assert!(slice.ends_with('}'));
            }
            for e in entries {
                for c in [&e.key, &e.value] {
                    assert!(
                        c.start() >= n.start() && c.end() <= n.end(),
                        "{c:?} in {n:?}"
                    );
                    check_tree(s, c);
                }
                assert!(e.key.end() <= e.value.start());
            }
        }
    }
}

#[test]
fn spans_at_every_indentation_width() {
    for width in [2, 3, 4, 8] {
        let i1 = " ".repeat(width);
        let i2 = i1.repeat(2);
        let text = format!(
            "services:\n{i1}web:\n{i2}image: nginx:1.27\n{i2}ports:\n{i2}{i1}- \"8080:80\"\n\
             {i2}read_only: false  # why\n{i1}db:\n{i2}image: postgres:16\n\n\
             volumes:\n{i1}data: {{}}\n"
        );
        let (s, d) = parsed(&text);
        let web = at(&d.root, "services/web");
        assert_eq!(
            span(&s, web),
            format!("image: nginx:1.27\n{i2}ports:\n{i2}{i1}- \"8080:80\"\n{i2}read_only: false")
        );
        assert_eq!(d.line_col(web), (3, 2 * width));
        assert_eq!(span(&s, at(&d.root, "services/web/image")), "nginx:1.27");
        assert_eq!(
            span(&s, key_of(&d.root, "services/web/read_only")),
            "read_only"
        );
        assert_eq!(span(&s, at(&d.root, "services/web/read_only")), "false");
        assert_eq!(
            span(&s, at(&d.root, "services/web/ports/#0")),
            "\"8080:80\""
        );
        assert_eq!(d.col(at(&d.root, "services/web/ports")), 3 * width);
        let services = at(&d.root, "services");
        assert!(span(&s, services).starts_with("web:"));
        assert!(span(&s, services).ends_with("image: postgres:16"));
        assert_eq!(d.last_content_line_end(services), services.end());
        assert_eq!(span(&s, at(&d.root, "volumes/data")), "{}");
        assert!(matches!(
            at(&d.root, "services").kind,
            Kind::Map {
                style: Style::Block,
                ..
            }
        ));
    }
}

#[test]
fn flush_and_indented_sequences() {
    let text = "services:\n  app:\n    cap_drop:\n    - ALL\n    cap_add:\n      - NET_BIND_SERVICE\n      - CHOWN\n    security_opt:\n    - no-new-privileges:true\n    user: \"1000\"\n";
    let (s, d) = parsed(text);
    let drop = at(&d.root, "services/app/cap_drop");
    assert_eq!(span(&s, drop), "- ALL");
    assert_eq!(d.line_col(drop), (4, 4));
    assert!(matches!(
        drop.kind,
        Kind::Seq {
            style: Style::Block,
            ..
        }
    ));
    let add = at(&d.root, "services/app/cap_add");
    assert_eq!(span(&s, add), "- NET_BIND_SERVICE\n      - CHOWN");
    assert_eq!(d.line_col(add), (6, 6));
    assert_eq!(
        span(&s, at(&d.root, "services/app/security_opt/#0")),
        "no-new-privileges:true"
    );
    assert_eq!(span(&s, at(&d.root, "services/app/user")), "\"1000\"");
}

#[test]
fn flow_collections_single_and_multi_line() {
    let text = "services:\n  app:\n    command: [\"python\", \"-m\", 'app']\n    environment: {LOG_LEVEL: info, WORKERS: 4}\n    healthcheck:\n      test: [\n        \"CMD\", \"curl\", \"-f\",\n        \"http://localhost:8080/health\"\n        ]\n      interval: 30s\n    labels: { team: core,\n      tier: web }\n    dns: [1.1.1.1, 8.8.8.8,]\n    extra: [a: b, {c: d}]\n";
    let (s, d) = parsed(text);
    let cmd = at(&d.root, "services/app/command");
    assert_eq!(span(&s, cmd), "[\"python\", \"-m\", 'app']");
    assert!(matches!(
        cmd.kind,
        Kind::Seq {
            style: Style::Flow,
            ..
        }
    ));
    assert_eq!(span(&s, at(&d.root, "services/app/command/#2")), "'app'");
    let env = at(&d.root, "services/app/environment");
    assert_eq!(span(&s, env), "{LOG_LEVEL: info, WORKERS: 4}");
    assert!(matches!(
        env.kind,
        Kind::Map {
            style: Style::Flow,
            ..
        }
    ));
    assert_eq!(
        span(&s, at(&d.root, "services/app/environment/WORKERS")),
        "4"
    );
    let test = at(&d.root, "services/app/healthcheck/test");
    assert_eq!(
        span(&s, test),
        "[\n        \"CMD\", \"curl\", \"-f\",\n        \"http://localhost:8080/health\"\n        ]"
    );
    assert_eq!(
        span(&s, at(&d.root, "services/app/healthcheck/interval")),
        "30s"
    );
    assert_eq!(
        span(&s, at(&d.root, "services/app/labels")),
        "{ team: core,\n      tier: web }"
    );
    assert_eq!(
        span(&s, at(&d.root, "services/app/dns")),
        "[1.1.1.1, 8.8.8.8,]"
    );
    let extra = at(&d.root, "services/app/extra");
    assert_eq!(span(&s, at(extra, "#0")), "a: b");
    assert!(matches!(
        at(extra, "#0").kind,
        Kind::Map {
            style: Style::Flow,
            ..
        }
    ));
    assert_eq!(span(&s, at(extra, "#1")), "{c: d}");
    let json = d.to_json(true, &Limits::default()).unwrap();
    assert_eq!(json["services"]["app"]["environment"]["WORKERS"], 4);
    assert_eq!(json["services"]["app"]["dns"][1], "8.8.8.8");
    assert_eq!(json["services"]["app"]["extra"][0]["a"], "b");
}

#[test]
fn quoted_keys_and_values() {
    let text = "services:\n  \"web\":\n    labels:\n      \"com.example.team\": 'platform'\n      'com.example.note': 'it''s fine'   # note\n      \"x\" : \"a \\\"b\\\" c\"\n";
    let (s, d) = parsed(text);
    let web = key_of(&d.root, "services/web");
    assert_eq!(span(&s, web), "\"web\"");
    let labels = at(&d.root, "services/web/labels");
    assert_eq!(
        span(&s, key_of(labels, "com.example.team")),
        "\"com.example.team\""
    );
    assert_eq!(span(&s, at(labels, "com.example.team")), "'platform'");
    assert_eq!(span(&s, at(labels, "com.example.note")), "'it''s fine'");
    assert_eq!(at(labels, "com.example.note").as_str(), Some("it's fine"));
    assert_eq!(span(&s, at(labels, "x")), "\"a \\\"b\\\" c\"");
    assert!(span(&s, labels).ends_with(" c\""));
}

const MERGES: &str = "x-defaults: &default\n  restart: unless-stopped\n  logging:\n    driver: json-file\nx-limits: &limits\n  mem_limit: 512m\n  restart: always\nservices:\n  web:\n    <<: *default\n    image: nginx\n    restart: \"no\"\n  worker:\n    <<: [*limits, *default]\n    image: worker\n";

#[test]
fn anchors_aliases_and_merge_keys() {
    let (s, d) = parsed(MERGES);
    let defaults = at(&d.root, "x-defaults");
    assert_eq!(d.anchor_of(defaults), Some("default"));
    assert_eq!(d.line_col(defaults), (2, 2));
    assert!(span(&s, defaults).starts_with("restart: unless-stopped"));
    assert!(span(&s, defaults).ends_with("driver: json-file"));
    let merge = at(&d.root, "services/web/<<");
    assert_eq!(span(&s, merge), "*default");
    assert_eq!(d.line(merge), 10);
    assert!(std::ptr::eq(d.resolve(merge), defaults));
    assert!(std::ptr::eq(
        d.anchor("limits").unwrap(),
        at(&d.root, "x-limits")
    ));
    let list = at(&d.root, "services/worker/<<");
    assert_eq!(span(&s, list), "[*limits, *default]");
    assert!(std::ptr::eq(d.resolve(at(list, "#1")), defaults));

    let merged = d.to_json(true, &Limits::default()).unwrap();
    let web = &merged["services"]["web"];
    assert_eq!(web["restart"], "no");
    assert_eq!(web["logging"]["driver"], "json-file");
    assert_eq!(web["image"], "nginx");
    assert!(web.get("<<").is_none());
    let worker = &merged["services"]["worker"];
    assert_eq!(worker["restart"], "always");
    assert_eq!(worker["mem_limit"], "512m");
    assert_eq!(worker["logging"]["driver"], "json-file");

    let plain = d.to_json(false, &Limits::default()).unwrap();
    assert_eq!(plain["services"]["web"]["<<"]["restart"], "unless-stopped");
    assert!(plain["services"]["web"].get("logging").is_none());
    assert_eq!(plain["services"]["worker"]["<<"][0]["mem_limit"], "512m");
}

#[test]
fn later_anchor_with_same_name_wins_for_later_aliases() {
    let text = "a: &x one\nb: *x\nc: &x two\nd: *x\n";
    let (_, d) = parsed(text);
    assert_eq!(d.resolve(at(&d.root, "b")).as_str(), Some("one"));
    assert_eq!(d.resolve(at(&d.root, "d")).as_str(), Some("two"));
    let json = d.to_json(true, &Limits::default()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"a": "one", "b": "one", "c": "two", "d": "two"})
    );
}

#[test]
fn bad_merge_value_is_an_error() {
    let (_, d) = parsed("a: &s text\nb:\n  <<: *s\n");
    let e = d.to_json(true, &Limits::default()).unwrap_err();
    assert!(e.message.contains("merge key"), "{e}");
    assert!(d.to_json(false, &Limits::default()).is_ok());
}

#[test]
fn block_scalars_with_hash_lines_and_trailing_blanks() {
    let text = "services:\n  app:\n    command: |\n      set -e\n      # part of the script\n      exec app --port 8080\n\n\n    entrypoint: >-\n      /bin/sh -c\n      \"exec app\"\n\n  # belongs to worker\n  worker:\n    command: |+\n      run\n\n    healthcheck:\n      test: |2\n          indented more\n        base\n\n# trailing comment\n";
    let (s, d) = parsed(text);
    let cmd = at(&d.root, "services/app/command");
    assert_eq!(
        span(&s, cmd),
        "|\n      set -e\n      # part of the script\n      exec app --port 8080"
    );
    assert_eq!(
        cmd.as_str(),
        Some("set -e\n# part of the script\nexec app --port 8080\n")
    );
    assert_eq!(d.line_col(cmd), (3, 13));
    let app = at(&d.root, "services/app");
    assert!(span(&s, app).ends_with("\"exec app\""));
    assert_eq!(
        at(&d.root, "services/app/entrypoint").as_str(),
        Some("/bin/sh -c \"exec app\"")
    );
    let keep = at(&d.root, "services/worker/command");
    assert_eq!(span(&s, keep), "|+\n      run");
    assert_eq!(keep.as_str(), Some("run\n\n"));
    let test = at(&d.root, "services/worker/healthcheck/test");
    assert_eq!(span(&s, test), "|2\n          indented more\n        base");
    assert_eq!(test.as_str(), Some("  indented more\nbase\n"));
    let services = at(&d.root, "services");
    assert!(span(&s, services).ends_with("        base"));
    assert_eq!(d.root.end(), services.end());
}

#[test]
fn comments_after_the_last_key_belong_to_the_next_one() {
    let text = "services:\n  web:\n    image: nginx\n    read_only: false  # why\n\n    # The worker runs batch jobs.\n  worker:\n    image: worker\n";
    let (s, d) = parsed(text);
    let web = at(&d.root, "services/web");
    assert!(s.text[..web.end()].ends_with("read_only: false"));
    assert_eq!(span(&s, at(&d.root, "services/web/read_only")), "false");
    let worker = key_of(&d.root, "services/worker");
    assert_eq!(d.line_col(worker), (7, 2));
}

#[test]
fn non_ascii_before_nodes_with_crlf() {
    let text = "# Überblick: 日本語 🚀\r\nservices:\r\n  wéb:\r\n    image: \"nginx\" # 🚀 commentaire\r\n    environment:\r\n      GREETING: héllo wörld 日本語\r\n      EMOJI: 🚀🚀\r\n    labels: [é, 日本]\r\n    command: |\r\n      echo 日本語\r\n      echo é\r\n\r\n  db:\r\n    image: postgres\r\n";
    let (s, d) = parsed(text);
    assert_eq!(span(&s, at(&d.root, "services/wéb/image")), "\"nginx\"");
    let greeting = at(&d.root, "services/wéb/environment/GREETING");
    assert_eq!(span(&s, greeting), "héllo wörld 日本語");
    let emoji = at(&d.root, "services/wéb/environment/EMOJI");
    assert_eq!(span(&s, emoji), "🚀🚀");
    assert_eq!(d.line_col(emoji), (7, 13));
    assert_eq!(span(&s, at(&d.root, "services/wéb/labels")), "[é, 日本]");
    assert_eq!(span(&s, at(&d.root, "services/wéb/labels/#1")), "日本");
    let cmd = at(&d.root, "services/wéb/command");
    assert_eq!(span(&s, cmd), "|\r\n      echo 日本語\r\n      echo é");
    assert_eq!(cmd.as_str(), Some("echo 日本語\necho é\n"));
    assert_eq!(span(&s, at(&d.root, "services/db/image")), "postgres");
    assert!(span(&s, at(&d.root, "services/wéb")).ends_with("echo é"));
}

#[test]
fn plain_multi_line_scalars() {
    let text = "services:\n  app:\n    command: python -m app\n      --workers 4\n\n      --verbose  # comment\n    image: app\n    args: [one\n      two, three]\n";
    let (s, d) = parsed(text);
    let cmd = at(&d.root, "services/app/command");
    assert_eq!(
        span(&s, cmd),
        "python -m app\n      --workers 4\n\n      --verbose"
    );
    assert_eq!(cmd.as_str(), Some("python -m app --workers 4\n--verbose"));
    assert_eq!(
        span(&s, at(&d.root, "services/app/args/#0")),
        "one\n      two"
    );
}

#[test]
fn document_without_final_newline() {
    let (s, d) = parsed("services:\n  web:\n    image: nginx");
    assert_eq!(at(&d.root, "services/web/image").end(), s.text.len());
    let (s, d) = parsed("services:\n  web:\n    command: |\n      run");
    assert_eq!(
        span(&s, at(&d.root, "services/web/command")),
        "|\n      run"
    );
    assert_eq!(d.root.end(), s.text.len());
}

#[test]
fn document_start_marker_and_directives() {
    let text = "%YAML 1.2\n---\n# compose\nservices:\n  web:\n    image: nginx\n...\n";
    let (s, d) = parsed(text);
    assert_eq!((d.line(&d.root), d.col(&d.root)), (4, 0));
    assert!(span(&s, &d.root).ends_with("image: nginx"));
    let (s, d) = parsed("--- # comment\nservices: {}\n");
    assert_eq!(span(&s, &d.root), "services: {}");
}

#[test]
fn empty_streams() {
    for text in ["", "\n\n", "# only a comment\n\n# another\n"] {
        assert!(
            parse(&source(text), &Limits::default()).unwrap().is_none(),
            "{text:?}"
        );
    }
    let (_, d) = parsed("---\n");
    assert!(d.root.is_null());
    assert_eq!(d.root.start(), 3);
    assert_eq!(d.to_json(true, &Limits::default()).unwrap(), Value::Null);
}

#[test]
fn implicit_nulls_sit_after_their_indicator() {
    let text = "services:\n  web:\n  db:   # nothing yet\n    image: postgres\nvolumes:\n  data:\nlist:\n  -\n  - x\n  - &anchored\n";
    let (s, d) = parsed(text);
    let web = at(&d.root, "services/web");
    assert!(web.is_null());
    assert_eq!(web.start(), web.end());
    assert_eq!(web.start(), "services:\n  web:".len());
    let data = at(&d.root, "volumes/data");
    assert_eq!(
        &s.text[..data.start()],
        "services:\n  web:\n  db:   # nothing yet\n    image: postgres\nvolumes:\n  data:"
    );
    let first = at(&d.root, "list/#0");
    assert!(s.text[..first.start()].ends_with("list:\n  -"));
    let anchored = at(&d.root, "list/#2");
    assert_eq!(d.anchor_of(anchored), Some("anchored"));
    assert!(s.text[..anchored.end()].ends_with("- &anchored"));
    assert_eq!(at(&d.root, "volumes").end(), data.end());
    assert_eq!(
        at(&d.root, "services").end(),
        at(&d.root, "services/db/image").end()
    );
}

/// Nine levels of nine aliases each: a billion strings from 400 bytes.
fn billion_laughs() -> String {
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    text
}

#[test]
fn alias_bomb_fails_fast() {
    let text = billion_laughs();
    let started = std::time::Instant::now();
    let (_, d) = parsed(&text);
    let e = d.to_json(true, &Limits::default()).unwrap_err();
    assert!(
        e.message.contains("alias expansion exceeds 1000000 nodes"),
        "{e}"
    );
    assert_eq!(e.line, 7);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The same shape within budget expands.
    let small = Limits {
        max_depth: crate::limits::DEFAULT_MAX_YAML_DEPTH,
        max_nodes: crate::limits::DEFAULT_MAX_YAML_NODES,
    };
    let text3: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let (_, d3) = parsed(&text3);
    let json = d3.to_json(true, &small).unwrap();
    assert_eq!(json["c"][8][8][8], "lol");
}

#[test]
fn alias_to_its_own_ancestor_is_an_error() {
    let e = parse_err("a: &x\n  b: *x\n");
    assert!(e.message.contains("contains it"), "{e}");
    assert_eq!((e.line, e.col), (2, 6));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let flow = format!("x: {}", "[".repeat(10_000));
    let e = parse_err(&flow);
    assert_eq!(e.line, 1);
    assert!(
        e.message.contains("nesting deeper") || e.message.contains("recursion"),
        "{e}"
    );
    let block: String = (0..300)
        .map(|i| format!("{}- \n", " ".repeat(i * 2)))
        .collect();
    let e = parse_err(&block);
    assert!(e.message.contains("nesting deeper than 256"), "{e}");
    let limits = Limits {
        max_depth: 3,
        max_nodes: 100,
    };
    let e = parse(&source("a:\n  b:\n    c:\n      d: 1\n"), &limits).unwrap_err();
    assert_eq!((e.line, e.col), (4, 7));
    // Depth reached through aliases counts too.
    let text = "a: &a [[1]]\nb: &b [*a]\nc: [*b]\n";
    let limits = Limits {
        max_depth: 3,
        max_nodes: 100,
    };
    let d = parse(&source(text), &limits).unwrap().unwrap();
    let e = d.to_json(false, &limits).unwrap_err();
    // `b` is the root map, its sequence and the two levels of `a`.
    assert!(e.message.contains("after expanding alias `a`"), "{e}");
    assert_eq!((e.line, e.col), (2, 8));
}

#[test]
fn duplicate_keys_are_refused() {
    let e = parse_err("services:\n  web:\n    image: a\n    read_only: true\n    image: b\n");
    assert_eq!((e.line, e.col), (5, 5));
    assert_eq!(e.message, "duplicate key `image`");
    let e = parse_err("labels: {a: 1, \"a\": 2}\n");
    assert_eq!((e.line, e.col), (1, 16));
    let e = parse_err("services:\n  web: {}\n  web: {}\n");
    assert_eq!(e.line, 3);
}

/// A mapping of thousands of keys takes its children off the shared
/// stack whole, with a nested one and its parent's earlier keys kept;
/// a duplicate among many keys (hashed, not searched) is still found.
#[test]
fn large_collections_keep_every_child_in_order() {
    let mut text = String::from("name: big\nx-list: [a, b]\nservices:\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "  s{i}:\n    image: app:{i}\n    ports: [\"{i}\"]\n"
        ));
    }
    text.push_str("volumes:\n  data: {}\n");
    let (s, d) = parsed(&text);
    let Kind::Map { entries, .. } = &d.root.kind else {
        panic!("root is a mapping")
    };
    let keys: Vec<_> = entries.iter().filter_map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["name", "x-list", "services", "volumes"]);
    let Kind::Map { entries, .. } = &at(&d.root, "services").kind else {
        panic!("services is a mapping")
    };
    assert_eq!(entries.len(), 3000);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.key.as_str(), Some(format!("s{i}").as_str()));
    }
    assert_eq!(span(&s, at(&d.root, "services/s2999/image")), "app:2999");
    assert_eq!(d.line(at(&d.root, "services/s2999")), 3 + 2999 * 3 + 2);
    let e = parse_err(&text.replace("  s2500:", "  s17:"));
    assert_eq!(e.message, "duplicate key `s17`");
    assert_eq!(e.line, 4 + 2500 * 3);
}

#[test]
fn more_than_one_document_is_refused() {
    let e = parse_err("services:\n  web:\n    image: a\n---\nservices: {}\n");
    assert_eq!((e.line, e.col), (4, 1));
    assert_eq!(
        e.message,
        "multiple YAML documents are not supported in a compose file"
    );
}

#[test]
fn parse_errors_carry_one_based_positions() {
    let e = parse_err("services:\n  web:\n    image: \"unterminated\n");
    assert!(e.line >= 3, "{e}");
    let e = parse_err("services:\n  web:\n    command: [\n      \"run\",\n      \"x\"\n    ]\n");
    assert_eq!((e.line, e.col), (6, 5));
    assert!(e.message.contains("closing bracket"), "{e}");
    let e = parse_err("a: 1\r\rb: 2\n");
    assert_eq!((e.line, e.col), (1, 5));
}

#[test]
fn scalars_resolve_with_the_core_schema() {
    let text = "a: ~\nb: null\nc:\nd: true\ne: False\nf: 42\ng: 0x1F\nh: 0o17\ni: +7\nj: 3.5\nk: 1e3\nl: .inf\nm: .nan\nn: \"42\"\no: '~'\np: |\n  7\nq: 9223372036854775808\nr: !!str 12\ns: !!int 12\nt: yes\n1: one\ntrue: two\n";
    let (_, d) = parsed(text);
    let j = d.to_json(true, &Limits::default()).unwrap();
    assert_eq!(j["a"], Value::Null);
    assert_eq!(j["b"], Value::Null);
    assert_eq!(j["c"], Value::Null);
    assert_eq!(j["d"], true);
    assert_eq!(j["e"], false);
    assert_eq!(j["f"], 42);
    assert_eq!(j["g"], 31);
    assert_eq!(j["h"], 15);
    assert_eq!(j["i"], 7);
    assert_eq!(j["j"], 3.5);
    assert_eq!(j["k"], 1000.0);
    assert_eq!(j["l"], ".inf");
    assert_eq!(j["m"], ".nan");
    assert_eq!(j["n"], "42");
    assert_eq!(j["o"], "~");
    assert_eq!(j["p"], "7\n");
    assert_eq!(j["q"], 9223372036854775808.0);
    assert_eq!(j["r"], "12");
    assert_eq!(j["s"], 12);
    assert_eq!(j["t"], "yes");
    assert_eq!(j["1"], "one");
    assert_eq!(j["true"], "two");
}

#[test]
fn large_file_builds_in_one_pass() {
    let mut text = String::from("services:\n");
    for i in 0..5000 {
        text.push_str(&format!(
            "  svc{i}:\n    image: registry.example/team/app:{i}  # pinned\n    environment:\n      NAME: \"service {i}\"\n    ports: [\"{p}:80\"]\n    command: |\n      run --id {i}\n\n",
            p = 10000 + i
        ));
    }
    let (s, d) = parsed(&text);
    let services = at(&d.root, "services");
    let Kind::Map { entries, .. } = &services.kind else {
        panic!()
    };
    assert_eq!(entries.len(), 5000);
    assert_eq!(
        span(&s, at(services, "svc4999/command")),
        "|\n      run --id 4999"
    );
    assert_eq!(
        d.to_json(true, &Limits::default()).unwrap()["services"]["svc17"]["ports"][0],
        "10017:80"
    );
}

#[test]
fn every_prefix_parses_or_fails_cleanly() {
    let fixtures = [
        MERGES.to_string(),
        billion_laughs(),
        "\u{feff}# Überblick 🚀\r\nservices:\r\n  wéb:\r\n    image: \"nginx\" # 🚀\r\n    labels: [é, 日本]\r\n    command: |\r\n      echo 日本語\r\n\r\n    env: {A: 1,\r\n      B: 2}\r\n".to_string(),
        "services:\n  app:\n    command: python -m app\n      --workers 4\n    cap_drop:\n    - ALL\n    x: &e\n    y: [a: b, {c: d}, 'q''s']\n    ? complex\n    : value\n    t: !!str 12\n    z: >-\n      # in\n      w\n\n  # next\n  b:\n".to_string(),
    ];
    for (n, text) in fixtures.iter().enumerate() {
        // Mutations are many; the alias bomb is long and adds nothing here.
        for (at, _) in text.char_indices().filter(|_| n != 1) {
            for ins in [
                "#", ":", "- ", "[", "]", "\"", "'", "|", ">", "&x ", "*x", "\n", " ", "é", "{",
                ",", "? ",
            ] {
                let mutated = format!("{}{ins}{}", &text[..at], &text[at..]);
                let s = source(&mutated);
                if let Ok(Some(d)) = parse(&s, &Limits::default()) {
                    check_tree(&s, &d.root);
                    let _ = d.to_json(true, &Limits::default());
                }
            }
        }
        for (cut, _) in text.char_indices() {
            let s = source(&text[..cut]);
            if let Ok(Some(d)) = parse(&s, &Limits::default()) {
                check_tree(&s, &d.root);
                let _ = d.to_json(true, &Limits::default());
            }
        }
    }
}

#[test]
fn properties_comments_and_bom_around_collections() {
    let text = "\u{feff}services:\n  app:\n    cap_drop: # drop everything\n      - ALL\n    volumes: &vols\n    - data:/data\n    x-list:\n    - &item name: a\n      other: b\n    command: | # the script\n      run\n    tmpfs: !!seq\n      - /tmp\n";
    let (s, d) = parsed(text);
    assert_eq!(d.root.start(), 3);
    assert_eq!(span(&s, at(&d.root, "services/app/cap_drop")), "- ALL");
    let vols = at(&d.root, "services/app/volumes");
    assert_eq!(d.anchor_of(vols), Some("vols"));
    assert_eq!(span(&s, vols), "- data:/data");
    let item = at(&d.root, "services/app/x-list/#0");
    // The key's own anchor opens the mapping's text: `col` stays the
    // mapping's indentation, where sibling keys go.
    assert_eq!(span(&s, item), "&item name: a\n      other: b");
    assert_eq!(d.col(item), 6);
    assert_eq!(d.anchor_of(key_of(item, "name")), Some("item"));
    let cmd = at(&d.root, "services/app/command");
    assert_eq!(span(&s, cmd), "| # the script\n      run");
    let tmpfs = at(&d.root, "services/app/tmpfs");
    assert_eq!(d.tag_of(tmpfs), Some("!!seq"));
    assert_eq!(span(&s, tmpfs), "- /tmp");
}
