//! What harden reads and prints, through the binary: services Compose runs
//! are analysed however the file reaches them (aliases, merges), names from
//! the files cannot inject into any report, every `--format` agrees on the
//! findings and the exit status, and the names harden makes up are valid.

mod common;

use common::{harden, scratch, Run};
use serde_json::Value;
use std::path::Path;

const FORMATS: [&str; 5] = ["text", "json", "sarif", "github", "markdown"];

/// `harden check --format FORMAT` on `dir`.
fn check(dir: &Path, format: &str) -> Run {
    harden(dir, &["check", "--format", format, "."])
}

/// (rule, line) of every finding a report lists, in its order, read the
/// way a reader of that format would.
fn findings(format: &str, run: &Run) -> Vec<(String, usize)> {
    let out = &run.stdout;
    match format {
        "text" => out
            .lines()
            .filter_map(|l| {
                let (place, rest) = l.split_once(": error[").or(l.split_once(": warning["))?;
                let rule = rest.split_once(']')?.0;
                let line = place.split(':').nth(1)?.parse().ok()?;
                Some((rule.to_string(), line))
            })
            .collect(),
        "github" => out
            .lines()
            .filter_map(|l| {
                let (props, _) = l.split_once("::")?.1.split_once("::")?;
                let rule = props.split_once("title=harden ")?.1;
                let line = props
                    .split_once("line=")?
                    .1
                    .split(',')
                    .next()?
                    .parse()
                    .ok()?;
                Some((rule.to_string(), line))
            })
            .collect(),
        "json" => {
            let v: Value = serde_json::from_str(out).expect("json report");
            v["files"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|f| f["findings"].as_array().unwrap().clone())
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap().to_string(),
                        f["line"].as_u64().unwrap() as usize,
                    )
                })
                .collect()
        }
        "sarif" => {
            let v: Value = serde_json::from_str(out).expect("sarif report");
            v["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let region = &r["locations"][0]["physicalLocation"]["region"];
                    (
                        r["ruleId"].as_str().unwrap().to_string(),
                        region["startLine"].as_u64().unwrap() as usize,
                    )
                })
                .collect()
        }
        "markdown" => out
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix("- line ")?;
                let (line, rest) = rest.split_once(", ")?;
                let rule = rest.split_once('`')?.1.split_once('`')?.0;
                Some((rule.to_string(), line.parse().ok()?))
            })
            .collect(),
        _ => unreachable!("no format {format}"),
    }
}

/// Every format gives the same exit status and the same findings; the
/// status and the findings.
fn same_in_every_format(dir: &Path) -> (i32, Vec<(String, usize)>) {
    let first = check(dir, "text");
    let want = findings("text", &first);
    for format in FORMATS {
        let run = check(dir, format);
        assert_eq!(
            run.code, first.code,
            "exit status of --format {format} differs from text's\n{}\n{}",
            run.stdout, run.stderr
        );
        assert_eq!(
            findings(format, &run),
            want,
            "findings of --format {format} differ from text's\n{}",
            run.stdout
        );
    }
    (first.code, want)
}

/// Service names that YAML would read as numbers, booleans or times are
/// names to Compose (`0x10` is the service `0x10`, not 16): every format
/// reports their findings, none fails on them.
#[test]
fn names_that_look_like_numbers_give_the_same_result_in_every_format() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  0x10:\n    image: nginx:1.27\n    read_only: false\n  1e3:\n    image: redis:7\n  true:\n    image: alpine:3.20\n  0o17:\n    image: alpine:3.20\n  12:30:\n    image: alpine:3.20\n",
    )
    .unwrap();
    let (code, found) = same_in_every_format(dir.path());
    assert_eq!(code, 1);
    // `read_only: false` of `0x10` is on line 4; the others have none.
    for line in [4, 5, 7, 9, 11] {
        assert!(
            found
                .iter()
                .any(|(r, l)| r == "writable-rootfs" && *l == line),
            "no writable-rootfs finding on line {line}: {found:?}"
        );
    }
    // The fix they all describe is one that applies and holds.
    let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    common::git_apply(dir.path(), &dry.stdout);
    let again = harden(dir.path(), &["check", "."]);
    assert!(
        !again.stdout.contains("writable-rootfs"),
        "{}",
        again.stdout
    );
}

/// The top-level volume names a dry run's patch adds, and the sources of the
/// `volumes:` entries it adds to services.
fn added_volumes(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter_map(|l| l.strip_prefix("+      - "))
        .filter_map(|entry| {
            let (source, target) = entry.split_once(':')?;
            target.starts_with('/').then(|| source.to_string())
        })
        .collect()
}

/// Services named `..` and `.x` got the volumes `..-data` and `.x-data`,
/// which Compose mounts as host directories: a volume harden names starts
/// with a letter or digit.
#[test]
fn generated_volume_names_are_never_host_paths() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  ..:\n    image: postgres:16\n  .x:\n    image: postgres:16\n  /db:\n    image: postgres:16\n",
    )
    .unwrap();
    let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    let volumes = added_volumes(&dry.stdout);
    // Each of the three services gets postgres's volumes (data, socket).
    assert!(
        volumes.len() >= 3 && volumes.len().is_multiple_of(3),
        "{}",
        dry.stdout
    );
    for v in &volumes {
        assert!(
            v.starts_with(|c: char| c.is_ascii_alphanumeric()),
            "volume `{v}` would be a host path:\n{}",
            dry.stdout
        );
    }
    let distinct: std::collections::HashSet<_> = volumes.iter().collect();
    assert_eq!(distinct.len(), volumes.len(), "{volumes:?}");
    common::git_apply(dir.path(), &dry.stdout);
}

/// A service named `root` does not make the user it builds root.
#[test]
fn a_service_named_root_gets_a_user_that_is_not_root() {
    let dir = scratch();
    std::fs::create_dir(dir.path().join("root")).unwrap();
    std::fs::write(
        dir.path().join("root/Dockerfile"),
        "FROM debian:bookworm-slim\nCOPY worker.sh /usr/local/bin/worker.sh\nCMD [\"/usr/local/bin/worker.sh\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  root:\n    build: ./root\n",
    )
    .unwrap();
    let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    let user = dry
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("+USER "))
        .unwrap_or_else(|| panic!("no USER added:\n{}", dry.stdout));
    assert_ne!(user.trim(), "root", "{}", dry.stdout);
    assert!(
        !dry.stdout.lines().any(|l| l.starts_with('+')
            && l.contains("useradd")
            && l.trim_end().ends_with(" root")),
        "{}",
        dry.stdout
    );
}

/// `user-name = "root"` would make every created user the superuser: a
/// configuration error at its place, exit 2, nothing written.
#[test]
fn user_name_root_is_refused() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("harden.toml"),
        "uid = 1000\nuser-name = \"root\"\n",
    )
    .unwrap();
    let compose = "services:\n  web:\n    image: nginx:1.27\n";
    std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    for args in [&["check", "."][..], &["fix", "."]] {
        let run = harden(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr
                .starts_with("harden.toml:2:13: error: user-name `root`"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap(),
        compose
    );
}

/// Writes `compose.yaml` into a new scratch folder.
fn project(compose: &str) -> tempfile::TempDir {
    let dir = scratch();
    std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    dir
}

/// Every way a compose file can hand Compose a service through an alias or
/// a merge: (what it is, the file, the line of `privileged: true`).
const HIDDEN: &[(&str, &str, usize)] = &[
    (
        "services: *s",
        "x-stack: &s\n  agent:\n    image: registry.example.com/ops/agent:3.1\n    privileged: true\n\nservices: *s\n",
        4,
    ),
    (
        "services: {<<: *s}",
        "x-stack: &s\n  agent:\n    image: registry.example.com/ops/agent:3.1\n    privileged: true\n\nservices:\n  <<: *s\n  web:\n    image: nginx:1.27\n",
        4,
    ),
    (
        "services: {<<: [*a, *s]}",
        "x-a: &a\n  web:\n    image: nginx:1.27\nx-stack: &s\n  agent:\n    image: registry.example.com/ops/agent:3.1\n    privileged: true\n\nservices:\n  <<: [*a, *s]\n",
        7,
    ),
    (
        "agent: *w",
        "x-agent: &w\n  image: registry.example.com/ops/agent:3.1\n  privileged: true\n\nservices:\n  agent: *w\n",
        3,
    ),
    (
        "*p as a key inside the service",
        "x-keys:\n  - &p privileged\n  - &ro read_only\n\nservices:\n  agent:\n    image: registry.example.com/ops/agent:3.1\n    *ro : false\n    *p : true\n",
        9,
    ),
    (
        "<<: *base at the top, bringing services",
        "x-base: &base\n  services:\n    agent:\n      image: registry.example.com/ops/agent:3.1\n      privileged: true\n<<: *base\n",
        5,
    ),
    (
        "*k as the services key",
        "x-k: &k services\n*k :\n  agent:\n    image: registry.example.com/ops/agent:3.1\n    privileged: true\n",
        5,
    ),
    (
        "*name as the key",
        "x-name: &n agent\n\nservices:\n  *n :\n    image: registry.example.com/ops/agent:3.1\n    privileged: true\n",
        6,
    ),
];

/// A `privileged: true` service that Compose runs is found however the
/// file reaches it, in every format, and the dry run's patch applies.
#[test]
fn services_behind_aliases_and_merges_are_checked() {
    for (what, compose, line) in HIDDEN {
        let dir = project(compose);
        let (code, found) = same_in_every_format(dir.path());
        assert_eq!(code, 1, "{what}: {found:?}");
        assert!(
            found.contains(&("privileged".to_string(), *line)),
            "{what}: no privileged finding on line {line}: {found:?}"
        );
        let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
        assert!(dry.code < 2, "{what}: {}", dry.stderr);
        if !dry.stdout.is_empty() {
            common::git_apply(dir.path(), &dry.stdout);
        }
    }
}

/// A service whose mapping is written elsewhere (an anchor others may
/// share) is reported, not edited: its findings say `harden fix` does not
/// repair them, and a review note says why and what to do.
#[test]
fn services_written_elsewhere_are_reported_not_edited() {
    for (what, compose, _) in HIDDEN.iter().filter(|(w, ..)| !w.contains("key")) {
        let dir = project(compose);
        let fix = harden(dir.path(), &["fix", "."]);
        assert!(fix.code < 2, "{what}: {}", fix.stderr);
        assert!(
            fix.stderr.contains("harden does not edit it in place"),
            "{what}: no review note\n{}",
            fix.stderr
        );
        let after = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
        let agent_before = compose.split("services:").next().unwrap();
        assert!(
            after.starts_with(agent_before),
            "{what}: the anchor was edited\n{after}"
        );
        let json = check(dir.path(), "json");
        let v: Value = serde_json::from_str(&json.stdout).unwrap();
        let agent: Vec<&Value> = v["files"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["message"].as_str().unwrap().contains("`agent`"))
            .collect();
        assert!(agent.len() > 1, "{what}: {}", json.stdout);
        assert!(
            agent.iter().all(|f| f["fixable"] == Value::Bool(false)),
            "{what}: {}",
            json.stdout
        );
    }
}

/// The key written in the services mapping wins over a merged one, and of
/// two merged mappings the first wins, as Compose merges them.
#[test]
fn merged_services_resolve_as_compose_resolves_them() {
    let dir = project(
        "x-old: &old\n  web:\n    image: nginx:1.27\n    privileged: true\nx-new: &new\n  web:\n    image: nginx:1.27\n    cap_add: [NET_ADMIN]\n  db:\n    image: postgres:16\n    privileged: true\n\nservices:\n  <<: [*new, *old]\n  web:\n    image: nginx:1.27\n",
    );
    let (_, found) = same_in_every_format(dir.path());
    let privileged: Vec<usize> = found
        .iter()
        .filter(|(r, _)| r == "privileged")
        .map(|(_, l)| *l)
        .collect();
    assert_eq!(privileged, [11], "only db is privileged: {found:?}");
    let text = check(dir.path(), "text").stdout;
    assert!(
        !text.contains("NET_ADMIN"),
        "web of x-new is not used:\n{text}"
    );
    // The explicit `web` is edited in place; the merged `db` is not.
    let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    common::git_apply(dir.path(), &dry.stdout);
    let after = std::fs::read_to_string(dir.path().join("compose.yaml")).unwrap();
    assert!(
        after.contains("  web:\n    image: nginx:1.27\n    read_only: true\n"),
        "{after}"
    );
    assert!(
        after.starts_with("x-old: &old\n  web:\n    image: nginx:1.27\n    privileged: true\nx-new: &new\n  web:\n    image: nginx:1.27\n    cap_add: [NET_ADMIN]\n  db:\n    image: postgres:16\n    privileged: true\n\n"),
        "{after}"
    );
}

/// The text of a markdown line outside its code spans (CommonMark: a run
/// of backticks opens a span that the next run of the same length closes).
fn outside_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..open]);
        let run = rest[open..].chars().take_while(|&c| c == '`').count();
        let after = &rest[open + run..];
        let fence = "`".repeat(run);
        // The closing run is exactly `run` backticks long.
        let mut close = None;
        let mut from = 0;
        while let Some(i) = after[from..].find(&fence) {
            let at = from + i;
            let len = after[at..].chars().take_while(|&c| c == '`').count();
            if len == run {
                close = Some(at);
                break;
            }
            from = at + len;
        }
        match close {
            Some(at) => rest = &after[at + run..],
            None => {
                out.push_str(&fence);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Raw control characters in a report meant for people (tabs and line
/// breaks aside).
fn raw_controls(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c)
        })
        .collect()
}

/// A compose file whose names try to take over the reader's terminal, the
/// job log and the pull request page.
const HOSTILE: &str = "services:\n  \"web\\e[2J\\e]0;owned\\a\\u202e\":\n    image: nginx:1.27\n  \"x`<img src=x onerror=alert(1)>`\":\n    image: redis:7\n  \"</details><a href=https://example.com>[click](https://example.com)\":\n    image: redis:7\n    privileged: true\n";

#[test]
fn names_cannot_inject_into_any_report() {
    let dir = project(HOSTILE);
    for format in FORMATS {
        let run = check(dir.path(), format);
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        if matches!(format, "text" | "github" | "markdown") {
            assert_eq!(
                raw_controls(&run.stdout),
                Vec::<char>::new(),
                "{format}:\n{}",
                run.stdout
            );
            assert!(
                run.stdout.contains("\\u{1b}[2J"),
                "{format}: the escape sequence is not shown:\n{}",
                run.stdout
            );
        }
    }
    // The notes of a fix, and the markdown pull request body.
    let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    assert_eq!(
        raw_controls(&dry.stderr),
        Vec::<char>::new(),
        "{}",
        dry.stderr
    );
    assert!(
        dry.stderr.contains("service web\\u{1b}[2J"),
        "{}",
        dry.stderr
    );
    common::git_apply(dir.path(), &dry.stdout);
    std::fs::write(dir.path().join("compose.yaml"), HOSTILE).unwrap();
    for args in [
        &["check", "--format", "markdown", "."][..],
        &["fix", "--dry-run", "--format", "markdown", "."],
    ] {
        let md = harden(dir.path(), args).stdout;
        assert_eq!(raw_controls(&md), Vec::<char>::new(), "{md}");
        let mut in_fence = false;
        for line in md.lines() {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                continue;
            }
            if in_fence {
                continue;
            }
            // harden's own folds: a `</details>` alone, and a summary that
            // holds no tag but its own.
            if line == "</details>" {
                continue;
            }
            if let Some(summary) = line.strip_prefix("<details><summary>") {
                let inner = summary
                    .strip_suffix("</summary>")
                    .unwrap_or_else(|| panic!("{line}"))
                    .replace("<code>", "")
                    .replace("</code>", "");
                assert!(
                    !inner.contains('<'),
                    "{args:?}: markup in a summary: {line}"
                );
                continue;
            }
            // Escaped brackets (`\]`) are text, not a link.
            let text = outside_code_spans(line).replace("\\]", "");
            for markup in ["<img", "</details", "<a ", "](http"] {
                assert!(
                    !text.contains(markup),
                    "{args:?}: `{markup}` outside a code span: {line}\n{md}"
                );
            }
        }
        assert!(
            md.contains("service `` x`<img src=x onerror=alert(1)>` `` runs"),
            "the backtick name is one code span:\n{md}"
        );
    }
}

/// GitHub annotations: no escape sequence reaches the job's log, and a
/// line break cannot start a workflow command of its own.
#[test]
fn github_annotations_cannot_run_commands() {
    let dir = project("services:\n  \"web\\n::add-mask::x\\e[31m\":\n    image: nginx:1.27\n");
    let run = check(dir.path(), "github");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(raw_controls(&run.stdout), Vec::<char>::new());
    assert!(
        run.stdout
            .lines()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("web%0A::add-mask::x\\u{1b}[31m"),
        "{}",
        run.stdout
    );
}

/// A file path with a line break would break the report and the patch: it
/// is refused with a clear message (exit 2), the other files are fixed,
/// and `git apply` accepts the patch; a path with an escape sequence is
/// shown escaped.
#[test]
fn paths_with_line_breaks_or_controls_are_refused() {
    let dir = scratch();
    let compose = "services:\n  web:\n    image: nginx:1.27\n";
    for sub in ["ok", "a\nb", "c\u{1b}[2Jd"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        std::fs::write(dir.path().join(sub).join("compose.yaml"), compose).unwrap();
    }
    for format in FORMATS {
        let run = check(dir.path(), format);
        assert_eq!(run.code, 2, "{format}: {}{}", run.stdout, run.stderr);
        assert_eq!(
            raw_controls(&run.stderr),
            Vec::<char>::new(),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("a\\nb/compose.yaml:1:1: error: the path contains a line break (\\n)"),
            "{format}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(
                "c\\u{1b}[2Jd/compose.yaml:1:1: error: the path contains a control character"
            ),
            "{format}: {}",
            run.stderr
        );
        if format != "json" && format != "sarif" {
            assert_eq!(
                raw_controls(&run.stdout),
                Vec::<char>::new(),
                "{format}: {}",
                run.stdout
            );
        }
    }
    let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(dry.code, 2, "{}", dry.stderr);
    assert!(
        dry.stdout.starts_with("--- a/ok/compose.yaml\n"),
        "{}",
        dry.stdout
    );
    assert_eq!(dry.stdout.matches("--- a/").count(), 1, "{}", dry.stdout);
    common::git_apply(dir.path(), &dry.stdout);
    // Nothing is written to the refused files.
    let fix = harden(dir.path(), &["fix", "."]);
    assert_eq!(fix.code, 2);
    for sub in ["a\nb", "c\u{1b}[2Jd"] {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(sub).join("compose.yaml")).unwrap(),
            compose
        );
    }
}

/// Every patch harden prints applies, whatever the folder names hold that
/// a path may: spaces at either end, quotes, a backslash, non-ASCII.
#[test]
fn patches_apply_for_unusual_but_valid_paths() {
    let dir = scratch();
    let folders = [
        "my dir",
        " lead",
        "trail ",
        "q\"x",
        "\"start",
        "back\\slash",
        "ü",
    ];
    for sub in folders {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        std::fs::write(
            dir.path().join(sub).join("compose.yaml"),
            "services:\n  web:\n    image: nginx:1.27\n",
        )
        .unwrap();
    }
    let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    assert_eq!(dry.stdout.matches("--- a/").count(), folders.len());
    common::git_apply(dir.path(), &dry.stdout);
    for sub in folders {
        let text = std::fs::read_to_string(dir.path().join(sub).join("compose.yaml")).unwrap();
        assert!(text.contains("read_only: true"), "{sub}: {text}");
    }
}

/// A file whose fix harden refuses (an input its fuzzing found) is an error
/// for `fix`, but `check` reports its findings and exit status alike in
/// every format, and says that `harden fix` will not change it.
#[test]
fn a_refused_fix_does_not_change_what_check_reports() {
    let input = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/fix_compose/crash-b75fa8ad81d7b6e0815bb9187c4a975cd0136649");
    let dir = project(&std::fs::read_to_string(input).unwrap());
    let fix = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(fix.code, 2, "the fix is refused: {}", fix.stderr);
    assert!(fix.stderr.contains("the fix was refused"), "{}", fix.stderr);
    let (code, found) = same_in_every_format(dir.path());
    assert_eq!(code, 1);
    assert!(!found.is_empty());
    let json: Value = serde_json::from_str(&check(dir.path(), "json").stdout).unwrap();
    let file = &json["files"][0];
    assert_eq!(file["error"], Value::Null);
    assert_eq!(file["fix"], Value::Null);
    assert!(
        file["notes"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("`harden fix` will not change this file: the fix was refused"),
        "{file}"
    );
}

/// The commands harden suggests (copy a path out, chown an existing
/// volume) take a hostile service name as one quoted argument, never as
/// more shell.
#[test]
fn suggested_commands_quote_names() {
    let dir = project(
        "services:\n  \"x;touch pwned\":\n    image: redis:7\n    volumes:\n      - cache:/data\n  \"y$(id)\":\n    image: postgres:16\nvolumes:\n  cache:\n",
    );
    let dry = harden(dir.path(), &["fix", "--dry-run", "."]);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    assert!(
        dry.stderr
            .contains("`docker compose cp 'y$(id):/var/lib/postgresql/data' ./saved`"),
        "{}",
        dry.stderr
    );
    let md = harden(
        dir.path(),
        &["fix", "--dry-run", "--format", "markdown", "."],
    )
    .stdout;
    assert!(
        md.contains("--entrypoint chown 'x;touch pwned' -R 999:999 /data\n"),
        "{md}"
    );
    assert!(!md.contains("chown x;touch"), "{md}");
}
