//! Property tests: generated compose files and Dockerfiles in the styles
//! people really write, fixed by the library pipeline (`run::fix_one`), must
//! keep every value the author wrote, validate against the compose schema,
//! be pure line insertion where the input is block style, and be idempotent;
//! for a smaller number of cases, the binary's diff must apply with
//! `git apply` and yield exactly what `harden fix` writes.
//!
//! 64 cases per property by default (`PROPTEST_CASES` overrides), so
//! `cargo test` stays fast.

mod common;

use common::fuzz_check as check;

use common::*;
use harden::discover::Kind;
use proptest::prelude::*;
use proptest::test_runner::Config;

fn cases(default: u32) -> Config {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    Config {
        cases: n,
        // Failures are reported with their shrunk input; nothing is persisted
        // next to the test file.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------- compose

/// How the file is laid out.
#[derive(Debug, Clone)]
struct Layout {
    indent: usize,
    /// `- item` indented under its key (true) or flush with it.
    seq_indented: bool,
    crlf: bool,
    final_newline: bool,
    comment_before: bool,
    comment_inside: bool,
    comment_after: bool,
    blank_between: bool,
    /// An `x-common` anchor merged into some services.
    anchor: bool,
}

/// One service.
#[derive(Debug, Clone)]
struct Svc {
    name: usize,
    name_quote: usize,
    image: usize,
    ports: Option<bool>,
    environment: Option<bool>,
    /// 0 absent, 1 `false`, 2 `true`.
    read_only: u8,
    /// 0 absent, 1 `[NET_RAW]` (block), 2 `ALL` present.
    cap_drop: u8,
    /// 0 absent, 1 off, 2 on, 3 other option only.
    nnp: u8,
    /// 0 absent, 1 scalar, 2 list.
    tmpfs: u8,
    command_flow: bool,
    label: Option<usize>,
    merge: bool,
    /// Written as one flow mapping.
    flow: bool,
    trailing_comment: bool,
}

const NAMES: &[&str] = &[
    "web",
    "db",
    "worker",
    "api-gateway",
    "cache_1",
    "v2.api",
    "Svc-3",
    "search",
];
const IMAGES: &[&str] = &[
    "nginx:1.27",
    "postgres:16",
    "redis:7-alpine",
    "python:3.12-slim",
    "ghcr.io/example/api:2.1",
    "busybox:1.36",
    "traefik:v3.1",
    "example/unknown@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
];
const LABELS: &[&str] = &[
    "Grüße aus Köln",
    "日本語のラベル",
    "plain",
    "with: colon",
    "emoji 🚀",
];

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::sample::select(vec![2usize, 3, 4, 8]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<[bool; 5]>(),
    )
        .prop_map(|(indent, seq_indented, crlf, final_newline, f)| Layout {
            indent,
            seq_indented,
            crlf,
            final_newline,
            comment_before: f[0],
            comment_inside: f[1],
            comment_after: f[2],
            blank_between: f[3],
            anchor: f[4],
        })
}

fn svc() -> impl Strategy<Value = Svc> {
    (
        (0..NAMES.len(), 0usize..3, 0..IMAGES.len()),
        (
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
        ),
        (0u8..3, 0u8..3, 0u8..4, 0u8..3),
        (
            any::<bool>(),
            prop::option::of(0..LABELS.len()),
            any::<bool>(),
        ),
        (prop::bool::weighted(0.15), any::<bool>()),
    )
        .prop_map(
            |(
                (name, name_quote, image),
                (ports, environment),
                (read_only, cap_drop, nnp, tmpfs),
                (command_flow, label, merge),
                (flow, trailing_comment),
            )| Svc {
                name,
                name_quote,
                image,
                ports,
                environment,
                read_only,
                cap_drop,
                nnp,
                tmpfs,
                command_flow,
                label,
                merge,
                flow,
                trailing_comment,
            },
        )
}

fn key(name: &str, quote: usize) -> String {
    match quote {
        1 => format!("'{name}'"),
        2 => format!("\"{name}\""),
        _ if name.contains(' ') => format!("\"{name}\""),
        _ => name.to_string(),
    }
}

/// Render a compose file; also says whether it is block style throughout
/// with nothing the fix must rewrite (then the fix must be pure insertion).
fn render_compose(l: &Layout, services: &[Svc]) -> (String, bool) {
    let i1 = " ".repeat(l.indent);
    let i2 = " ".repeat(l.indent * 2);
    let i3 = " ".repeat(l.indent * 3);
    let item = |under: &str| {
        if l.seq_indented {
            format!("{under}{}- ", " ".repeat(l.indent))
        } else {
            format!("{under}- ")
        }
    };
    let mut pure = true;
    let mut out = String::new();
    if l.comment_before {
        out.push_str("# Généré pour un test — les commentaires restent.\n\n");
    }
    let anchor = l.anchor && services.iter().any(|s| s.merge && !s.flow);
    if anchor {
        out.push_str(&format!(
            "x-common: &common\n{i1}restart: unless-stopped\n{i1}logging:\n{i2}driver: json-file\n\n"
        ));
    }
    out.push_str("services:\n");
    let mut seen = std::collections::HashSet::new();
    for (n, s) in services.iter().enumerate() {
        if !seen.insert(s.name) {
            continue;
        }
        if n > 0 && l.blank_between {
            out.push('\n');
        }
        if l.comment_inside && n == 0 {
            out.push_str(&format!("{i1}# the first service\n"));
        }
        let name = key(NAMES[s.name], s.name_quote);
        let image = IMAGES[s.image];
        if s.flow {
            pure = false;
            out.push_str(&format!(
                "{i1}{name}: {{image: \"{image}\", ports: [\"8080:80\"], command: [sleep, \"3600\"]}}\n"
            ));
            continue;
        }
        out.push_str(&format!("{i1}{name}:\n"));
        if anchor && s.merge {
            out.push_str(&format!("{i2}<<: *common\n"));
        }
        out.push_str(&format!("{i2}image: {image}"));
        out.push_str(if s.trailing_comment {
            "  # pinned by the release process\n"
        } else {
            "\n"
        });
        match s.ports {
            Some(true) => {
                out.push_str(&format!("{i2}ports:\n"));
                out.push_str(&format!("{}\"8080:80\"\n", item(&i2)));
                if l.comment_inside {
                    out.push_str(&format!("{i2}# https is terminated upstream\n"));
                }
                out.push_str(&format!("{}\"8443:443\"\n", item(&i2)));
            }
            Some(false) => {
                pure = false;
                out.push_str(&format!("{i2}ports: [\"5432:5432\"]\n"));
            }
            None => {}
        }
        match s.environment {
            Some(true) => {
                out.push_str(&format!(
                    "{i2}environment:\n{i3}LOG_LEVEL: info\n{i3}GREETING: \"héllo wörld\"\n"
                ));
            }
            Some(false) => {
                out.push_str(&format!("{i2}environment:\n{}LOG_LEVEL=debug\n", item(&i2)));
            }
            None => {}
        }
        match s.read_only {
            1 => {
                pure = false;
                out.push_str(&format!("{i2}read_only: false\n"));
            }
            2 => out.push_str(&format!("{i2}read_only: true\n")),
            _ => {}
        }
        match s.cap_drop {
            1 => out.push_str(&format!("{i2}cap_drop:\n{}NET_RAW\n", item(&i2))),
            2 => out.push_str(&format!("{i2}cap_drop:\n{}ALL\n", item(&i2))),
            _ => {}
        }
        match s.nnp {
            1 => {
                pure = false;
                out.push_str(&format!(
                    "{i2}security_opt:\n{}no-new-privileges:false\n",
                    item(&i2)
                ));
            }
            2 => out.push_str(&format!(
                "{i2}security_opt:\n{}no-new-privileges:true\n",
                item(&i2)
            )),
            3 => out.push_str(&format!(
                "{i2}security_opt:\n{}apparmor:docker-default\n",
                item(&i2)
            )),
            _ => {}
        }
        match s.tmpfs {
            1 => {
                pure = false;
                out.push_str(&format!("{i2}tmpfs: /run\n"));
            }
            2 => out.push_str(&format!("{i2}tmpfs:\n{}/run\n", item(&i2))),
            _ => {}
        }
        if s.command_flow {
            pure = false;
            out.push_str(&format!("{i2}command: [\"serve\", \"--port\", \"8080\"]\n"));
        }
        if let Some(lb) = s.label {
            out.push_str(&format!(
                "{i2}labels:\n{i3}\"org.example.note\": \"{}\"\n",
                LABELS[lb]
            ));
        }
    }
    if l.comment_after {
        out.push_str("\n# volumes are declared by the platform team\n");
    }
    if !l.final_newline {
        while out.ends_with('\n') {
            out.pop();
        }
    }
    if l.crlf {
        out = out.replace('\n', "\r\n");
    }
    (out, pure)
}

fn compose_input() -> impl Strategy<Value = (String, bool)> {
    (layout(), prop::collection::vec(svc(), 1..5)).prop_map(|(l, s)| render_compose(&l, &s))
}

/// The fixed text (`None` when nothing changes); a refused fix fails the case.
fn fixed(kind: Kind, name: &str, text: &str) -> Result<Option<String>, TestCaseError> {
    harden::run::fix_one(kind, name, text.to_string()).map_err(|e| {
        TestCaseError::fail(format!(
            "fix refused {}:{}: {}\n{text}",
            e.line, e.col, e.message
        ))
    })
}

fn compose_property(text: &str, pure: bool) -> Result<(), TestCaseError> {
    assert_schema_valid(text, "the generated input");
    let Some(fixed) = fixed(Kind::Compose, "compose.yaml", text)? else {
        return Ok(());
    };
    // Data preserved (with the documented rewrites), re-parse, idempotence.
    check::check(check::Target::FixCompose, text.as_bytes());
    assert_schema_valid(&fixed, "the fixed file");
    if pure {
        prop_assert!(
            is_pure_insertion(text, &fixed),
            "not pure insertion:\n{text}\n---\n{fixed}"
        );
    }
    if text.contains("\r\n") {
        prop_assert_eq!(fixed.matches('\n').count(), fixed.matches("\r\n").count());
    }
    let data = compose_json(&fixed);
    for (name, svc) in data["services"].as_object().into_iter().flatten() {
        prop_assert_eq!(&svc["read_only"], &serde_json::json!(true), "{}", name);
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn compose_fix_keeps_data_and_is_idempotent((text, pure) in compose_input()) {
        compose_property(&text, pure)?;
    }

    #[test]
    fn dockerfile_fix_is_insertion_and_idempotent(text in dockerfile_input()) {
        dockerfile_property(&text)?;
    }
}

proptest! {
    // Spawning harden and git is slow: a few cases are enough to show the
    // diff and the written file agree.
    #![proptest_config(cases(6))]

    #[test]
    fn compose_diff_applies_with_git((text, _) in compose_input()) {
        diff_applies("compose.yaml", &text, Kind::Compose)?;
    }

    #[test]
    fn dockerfile_diff_applies_with_git(text in dockerfile_input()) {
        diff_applies("Dockerfile", &text, Kind::Dockerfile)?;
    }
}

/// `harden fix --dry-run` prints a diff that `git apply` accepts and that
/// yields what the library computes and what `harden fix` writes.
fn diff_applies(name: &str, text: &str, kind: Kind) -> Result<(), TestCaseError> {
    let expected = harden::run::fix_one(kind, name, text.to_string())
        .map_err(|e| TestCaseError::fail(e.message))?;
    // In a folder named `app`, the user name harden derives from the folder
    // is the one `fix_one` uses.
    let rel = format!("app/{name}");
    let dir = scratch();
    std::fs::create_dir(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join(&rel), text).unwrap();
    let dry = harden(dir.path(), &["fix", "--dry-run", &rel]);
    let Some(expected) = expected else {
        prop_assert_eq!(dry.code, 0, "{}", dry.stderr);
        prop_assert_eq!(dry.stdout, "");
        return Ok(());
    };
    prop_assert_eq!(dry.code, 1, "{}", dry.stderr);
    let applied = scratch();
    std::fs::create_dir(applied.path().join("app")).unwrap();
    std::fs::write(applied.path().join(&rel), text).unwrap();
    git_apply(applied.path(), &dry.stdout);
    prop_assert_eq!(
        &std::fs::read_to_string(applied.path().join(&rel)).unwrap(),
        &expected
    );
    let fix = harden(dir.path(), &["fix", &rel]);
    prop_assert_eq!(fix.code, 0, "{}", fix.stderr);
    prop_assert_eq!(
        &std::fs::read_to_string(dir.path().join(&rel)).unwrap(),
        &expected
    );
    Ok(())
}

// ------------------------------------------------------------- Dockerfile

const BASES: &[&str] = &[
    "debian:bookworm-slim",
    "ubuntu:24.04",
    "ubuntu:22.04",
    "alpine:3.20",
    "python:3.12-slim",
    "node:22-alpine",
    "registry.access.redhat.com/ubi9/ubi:9.4",
    "registry.access.redhat.com/ubi9/ubi-minimal:9.4",
    "gcr.io/distroless/static-debian12",
    "scratch",
    "nginx:1.27",
    "eclipse-temurin:21-jre",
    "example.org/team/custom-base:3",
];

#[derive(Debug, Clone)]
struct DfSpec {
    /// None: no directive; Some(true): backtick; Some(false): explicit `\`.
    escape: Option<bool>,
    syntax: bool,
    stages: Vec<(usize, Vec<u8>)>,
    crlf: bool,
    final_newline: bool,
    lowercase: bool,
}

fn dockerfile_input() -> impl Strategy<Value = String> {
    (
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::collection::vec((0..BASES.len(), prop::collection::vec(0u8..9, 0..6)), 1..4),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(escape, syntax, stages, crlf, final_newline, lowercase)| {
            render_dockerfile(&DfSpec {
                escape,
                syntax,
                stages,
                crlf,
                final_newline,
                lowercase,
            })
        })
}

fn render_dockerfile(d: &DfSpec) -> String {
    let esc = if d.escape == Some(true) { '`' } else { '\\' };
    let kw = |k: &str| {
        if d.lowercase {
            k.to_lowercase()
        } else {
            k.to_string()
        }
    };
    let mut out = String::new();
    if d.syntax {
        out.push_str("# syntax=docker/dockerfile:1\n");
    }
    match d.escape {
        Some(true) => out.push_str("# escape=`\n"),
        Some(false) => out.push_str("# escape=\\\n"),
        None => {}
    }
    out.push_str("\n# Build and run the service.\nARG VERSION=1.0\n");
    let n = d.stages.len();
    for (si, (base, steps)) in d.stages.iter().enumerate() {
        let from = if si > 0 && *base % 4 == 0 {
            // Builds on the previous stage.
            format!("s{}", si - 1)
        } else {
            BASES[*base].to_string()
        };
        out.push_str(&format!("\n{} {from} AS s{si}\n", kw("FROM")));
        for step in steps {
            match step {
                0 => out.push_str(&format!(
                    "{} apt-get update {esc}\n    # keep the image small\n && apt-get install -y --no-install-recommends curl {esc}\n && rm -rf /var/lib/apt/lists/*\n",
                    kw("RUN")
                )),
                1 => out.push_str(&format!(
                    "{} <<EOF\nset -e\necho \"build ${{VERSION}}\" > /version\nEOF\n",
                    kw("RUN")
                )),
                2 => out.push_str(&format!("{} app /usr/local/bin/app\n", kw("COPY"))),
                3 => out.push_str(&format!("{} APP_HOME=/srv/app LANG=C.UTF-8\n", kw("ENV"))),
                4 => out.push_str(&format!("{} /srv/app\n", kw("WORKDIR"))),
                5 => out.push_str(&format!("{} 8080\n", kw("EXPOSE"))),
                6 => out.push_str(&format!("{} root\n", kw("USER"))),
                7 => out.push_str(&format!(
                    "{} <<-CONF /etc/app.conf\n\tlisten 8080\n\tCONF\n",
                    kw("COPY")
                )),
                _ => out.push_str(&format!(
                    "{} --mount=type=cache,target=/root/.cache {esc}\n    pip install --prefix=/install -r requirements.txt\n",
                    kw("RUN")
                )),
            }
        }
        if si + 1 == n {
            out.push_str(&format!(
                "{} [\"/usr/local/bin/app\", \"--serve\"]\n",
                kw("CMD")
            ));
        }
    }
    if !d.final_newline {
        while out.ends_with('\n') {
            out.pop();
        }
    }
    if d.crlf {
        out = out.replace('\n', "\r\n");
    }
    out
}

fn dockerfile_property(text: &str) -> Result<(), TestCaseError> {
    let Some(fixed) = fixed(Kind::Dockerfile, "Dockerfile", text)? else {
        return Ok(());
    };
    // Lexes again, pure insertion, idempotent, line endings kept.
    check::check(check::Target::FixDockerfile, text.as_bytes());
    prop_assert!(is_pure_insertion(text, &fixed));
    let df = harden::dockerfile::parse(&fixed).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let last = df.stages.last().expect("a stage");
    let final_user = df.instructions[last.instructions.clone()]
        .iter()
        .rev()
        .find(|i| i.keyword == "USER")
        .map(|i| i.args.clone());
    prop_assert!(
        final_user
            .as_deref()
            .is_some_and(|u| u != "root" && u != "0"),
        "the final stage does not end as a non-root user:\n{}",
        fixed
    );
    Ok(())
}

/// Found by `compose_fix_keeps_data_and_is_idempotent`: a flush sequence
/// (`- item` at its key's indentation) as a service's last entry. Items the
/// fix appended to it landed after the keys the fix inserted at the same
/// offset, i.e. in the wrong list; fixed by ordering list items before new
/// keys of the same depth (`compose::patch::order_insertions`).
#[test]
fn flush_sequence_ends_the_service() {
    for text in [
        "services:\n  web:\n    image: nginx:1.27\n    tmpfs:\n    - /run\n",
        "services:\n  web:\n    image: nginx:1.27\n    cap_drop:\n    - NET_RAW",
        "services:\n  web:\n    image: nginx:1.27\n    tmpfs:\n    - /run",
    ] {
        compose_property(text, true).unwrap();
    }
}
