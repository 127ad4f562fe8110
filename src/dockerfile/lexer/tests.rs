use super::*;

const PYTHON_WEB: &str =
    include_str!("../../../tests/fixtures/dockerfile/lexer/python-web.Dockerfile");
const GO_SERVICE: &str =
    include_str!("../../../tests/fixtures/dockerfile/lexer/go-service.Dockerfile");
const NODE_HEREDOC: &str =
    include_str!("../../../tests/fixtures/dockerfile/lexer/node-heredoc.Dockerfile");

fn ok(text: &str) -> Dockerfile {
    match parse(text) {
        Ok(d) => d,
        Err(e) => panic!("parse failed: {e}\n{text}"),
    }
}

fn err(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Ok(d) => panic!("expected an error, got {d:#?}"),
        Err(e) => (e.line, e.col, e.message),
    }
}

fn keywords(d: &Dockerfile) -> Vec<&str> {
    d.instructions.iter().map(|i| i.keyword.as_str()).collect()
}

fn text_of<'t>(text: &'t str, r: &Range<usize>) -> &'t str {
    &text[r.clone()]
}

/// Gaps and instruction ranges concatenated give back the input, the
/// ranges are ordered, and every gap holds only blank lines, comments,
/// directives, line endings or the byte-order mark.
fn assert_round_trip(text: &str) {
    let d = ok(text);
    let mut out = String::new();
    let mut pos = 0;
    for ins in &d.instructions {
        assert!(ins.range.start >= pos, "ranges overlap at {:?}", ins.range);
        let gap = &text[pos..ins.range.start];
        for line in gap.trim_start_matches('\u{feff}').split('\n') {
            let l = line.trim();
            assert!(l.is_empty() || l.starts_with('#'), "gap holds {l:?}");
        }
        out.push_str(gap);
        let body = &text[ins.range.clone()];
        assert!(body.starts_with(&ins.keyword_text), "{body:?}");
        assert!(!body.ends_with('\n') && !body.ends_with('\r'));
        out.push_str(body);
        pos = ins.range.end;
    }
    let tail = &text[pos..];
    assert!(tail
        .lines()
        .all(|l| l.trim().is_empty() || l.trim().starts_with('#')));
    out.push_str(tail);
    assert_eq!(out, text);
}

#[test]
fn simple_file() {
    let text = "FROM alpine:3.20\nRUN apk add --no-cache curl\nUSER 1000\n";
    let d = ok(text);
    assert_eq!(keywords(&d), ["FROM", "RUN", "USER"]);
    let run = &d.instructions[1];
    assert_eq!(text_of(text, &run.range), "RUN apk add --no-cache curl");
    assert_eq!((run.line, run.end_line), (2, 2));
    assert_eq!(run.args, "apk add --no-cache curl");
    assert_eq!(run.args_start, text.find("apk").unwrap());
    assert_eq!(run.form, Form::Shell);
    assert_eq!(run.stage, Some(0));
    assert_eq!(d.stages.len(), 1);
    assert_eq!(d.stages[0].image, "alpine:3.20");
    assert_eq!(d.stages[0].instructions, 0..3);
    assert_eq!(d.escape, '\\');
    assert_eq!(d.eol, "\n");
    assert!(d.directives.is_empty() && d.comments.is_empty());
    assert_round_trip(text);
}

#[test]
fn multi_stage_with_parent_stage() {
    let d = ok(PYTHON_WEB);
    let names: Vec<_> = d.stages.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, [Some("builder"), Some("test"), None]);
    assert_eq!(d.stages[1].image, "builder");
    assert_eq!(d.stages[1].parent, Some(0));
    assert_eq!(d.stages[0].parent, None);
    assert_eq!(d.stages[2].parent, None);
    // Stage ranges tile the instructions after the global ARGs.
    assert_eq!(d.stages[0].instructions.start, 2);
    assert_eq!(d.stages[0].instructions.end, d.stages[1].instructions.start);
    assert_eq!(d.stages[1].instructions.end, d.stages[2].instructions.start);
    assert_eq!(d.stages[2].instructions.end, d.instructions.len());
    assert_eq!(d.final_stage().map(|s| s.index), Some(2));
    assert_eq!(d.stage_instructions(1).len(), 3);
    assert_eq!(d.instructions[0].stage, None);
    assert_eq!(d.directives[0].name, "syntax");
    assert_eq!(d.directives[0].value, "docker/dockerfile:1.7");
    assert_eq!(d.comments.len(), 2);
    assert_eq!(
        d.comments[1].text,
        "Runtime image: no compiler, only the wheels."
    );
    let run = &d.instructions[6];
    assert_eq!(run.keyword, "RUN");
    assert_eq!((run.line, run.end_line), (11, 13));
    assert!(run.args.starts_with("apt-get update  && apt-get install"));
    assert_round_trip(PYTHON_WEB);
}

#[test]
fn stage_names_are_case_insensitive() {
    let d = ok("FROM golang:1.23 AS Build\nRUN go build\nFROM BUILD\n");
    assert_eq!(d.stages[0].name.as_deref(), Some("build"));
    assert_eq!(d.stages[1].parent, Some(0));
    // A later stage's name is not a parent.
    let d = ok("FROM later\nFROM alpine AS later\n");
    assert_eq!(d.stages[0].parent, None);
}

#[test]
fn global_arg_resolves_from_image() {
    let d = ok("ARG BASE=python:3.12-slim\nFROM ${BASE}\nRUN true\n");
    assert_eq!(d.stages[0].image, "${BASE}");
    assert_eq!(d.stages[0].resolved_image, "python:3.12-slim");
    assert_eq!(
        d.global_args,
        [("BASE".to_string(), Some("python:3.12-slim".to_string()))]
    );
    let d = ok(PYTHON_WEB);
    assert_eq!(d.stages[0].resolved_image, "python:3.12-slim");
    assert_eq!(d.stages[2].resolved_image, "python:3.12-slim");
    let d = ok(GO_SERVICE);
    assert_eq!(d.stages[0].resolved_image, "golang:1.23-bookworm");
    assert_eq!(d.stages[0].platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(d.instructions[1].flags, ["--platform=$BUILDPLATFORM"]);
}

#[test]
fn substitution_forms() {
    let text = "ARG A=alpine\nARG EMPTY=\nARG UNSET\n\
                    FROM scratch\n";
    let d = ok(text);
    let r = |s: &str| d.resolve_at(3, s);
    assert_eq!(r("$A:3"), "alpine:3");
    assert_eq!(r("${A}:3"), "alpine:3");
    assert_eq!(r("${NOPE:-debian}"), "debian");
    assert_eq!(r("${EMPTY:-debian}"), "debian");
    assert_eq!(r("${EMPTY-debian}"), "");
    assert_eq!(r("${UNSET-debian}"), "debian");
    assert_eq!(r("${A:+set}"), "set");
    assert_eq!(r("${NOPE:+set}"), "");
    assert_eq!(r("${EMPTY+set}"), "set");
    assert_eq!(r("${NOPE:-${A}}"), "alpine");
    assert_eq!(r("'$A' \"$A\" \\$A $"), "$A alpine $A $");
    assert_eq!(r("${A"), "${A");
}

#[test]
fn backtick_escape_windows_style() {
    let text = "# escape=`\r\n\r\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\r\n\
                    RUN powershell -Command `\r\n    New-Item -ItemType Directory C:\\app ; `\r\n    \
                    Write-Host done\r\nWORKDIR C:\\app\r\n";
    let d = ok(text);
    assert_eq!(d.escape, '`');
    assert_eq!(d.eol, "\r\n");
    assert_eq!(keywords(&d), ["FROM", "RUN", "WORKDIR"]);
    let run = &d.instructions[1];
    assert_eq!(
        run.args,
        "powershell -Command     New-Item -ItemType Directory C:\\app ;     Write-Host done"
    );
    assert_eq!((run.line, run.end_line), (4, 6));
    assert!(text_of(text, &run.range).ends_with("Write-Host done"));
    // A backslash is an ordinary character here.
    assert_eq!(d.instructions[2].args, "C:\\app");
    assert_round_trip(text);
}

#[test]
fn comments_and_blank_lines_inside_continuations() {
    let d = ok(NODE_HEREDOC);
    let run = &d.instructions[3];
    assert_eq!(run.keyword, "RUN");
    assert_eq!(run.args, "npm ci     --omit=dev     --no-audit");
    assert_eq!((run.line, run.end_line), (6, 10));
    let inner: Vec<_> = d.comments.iter().filter(|c| c.in_continuation).collect();
    assert_eq!(inner.len(), 1);
    assert_eq!(inner[0].line, 7);
    assert_eq!(
        inner[0].text,
        "keep dev dependencies out of the runtime image"
    );
    assert!(run.range.contains(&inner[0].range.start));
    // Both directives are recognised.
    let names: Vec<_> = d.directives.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["syntax", "escape"]);
    // Mapping args offsets back to the source crosses the skipped lines.
    let at = run.args.find("--no-audit").unwrap();
    let src = run.source_offset(at).unwrap();
    assert_eq!(&NODE_HEREDOC[src..src + 10], "--no-audit");
    assert_eq!(run.source_offset(run.args.len() + 1), None);
    assert_round_trip(NODE_HEREDOC);
}

#[test]
fn continuation_at_end_of_file_ends_the_instruction() {
    let text = "FROM alpine\nRUN echo hi \\";
    let d = ok(text);
    let run = &d.instructions[1];
    assert!(run.eof_continuation);
    assert_eq!(run.args, "echo hi");
    assert_eq!(text_of(text, &run.range), "RUN echo hi \\");
    let text = "FROM alpine\nRUN echo hi \\\n# trailing note\n\n";
    let d = ok(text);
    let run = &d.instructions[1];
    assert!(run.eof_continuation);
    assert_eq!(run.end_line, 2);
    assert!(d.comments[0].in_continuation);
    assert!(!d.instructions[0].eof_continuation);
    assert_round_trip(text);
}

#[test]
fn heredocs() {
    let d = ok(NODE_HEREDOC);
    let text = NODE_HEREDOC;
    let copy = d.instructions.iter().find(|i| i.line == 17).unwrap();
    assert_eq!(copy.keyword, "COPY");
    assert_eq!(copy.end_line, 19);
    assert_eq!(copy.heredocs.len(), 1);
    let h = &copy.heredocs[0];
    assert_eq!(h.delimiter, "EOF");
    assert!(!h.strip_tabs && !h.quoted);
    assert_eq!(
        text_of(text, &h.body),
        "{\"port\": 3000, \"greeting\": \"héllo wörld\"}\n"
    );
    assert_eq!(text_of(text, &h.terminator), "EOF");
    assert_eq!(&text[h.start..h.start + 5], "<<EOF");
    assert!(text_of(text, &copy.range).ends_with("wörld\"}\nEOF"));

    let setup = d.instructions.iter().find(|i| i.line == 20).unwrap();
    assert_eq!(setup.end_line, 24);
    assert_eq!(setup.heredocs[0].delimiter, "SETUP");
    assert!(setup.heredocs[0].strip_tabs);
    assert_eq!(text_of(text, &setup.heredocs[0].terminator), "\tSETUP");

    let two = d.instructions.iter().find(|i| i.line == 25).unwrap();
    let delims: Vec<_> = two.heredocs.iter().map(|h| h.delimiter.as_str()).collect();
    assert_eq!(delims, ["FIRST", "SECOND"]);
    assert!(!two.heredocs[0].quoted && two.heredocs[1].quoted);
    assert_eq!(text_of(text, &two.heredocs[0].body), "first body $HOME\n");
    assert_eq!(text_of(text, &two.heredocs[1].body), "second body $HOME\n");
    assert_eq!(two.end_line, 29);
    // The instruction after the heredocs starts right after the terminator.
    let next = d.instructions.iter().find(|i| i.line == 30).unwrap();
    assert_eq!(next.keyword, "COPY");
    // Lines inside a heredoc body are not comments, even when they start with #.
    let d = ok("FROM alpine\nRUN <<\"EOT\" bash\n# not a comment\necho hi\nEOT\n");
    assert!(d.comments.is_empty());
    assert_eq!(d.instructions[1].heredocs[0].delimiter, "EOT");
    assert!(d.instructions[1].heredocs[0].quoted);
    // Exec form and other instructions never start heredocs; ONBUILD RUN does.
    let d = ok("FROM alpine\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\nLABEL x=\"<<EOF\"\n");
    assert!(d.instructions.iter().all(|i| i.heredocs.is_empty()));
    let d = ok("FROM alpine\nONBUILD RUN <<EOF\necho later\nEOF\nUSER 1\n");
    assert_eq!(d.instructions[1].heredocs.len(), 1);
    assert_eq!(keywords(&d), ["FROM", "ONBUILD", "USER"]);
    // A quoted `<<` is not a heredoc.
    let d = ok("FROM alpine\nRUN echo '<<EOF' > /x\nUSER 1\n");
    assert!(d.instructions[1].heredocs.is_empty());
}

#[test]
fn exec_and_shell_forms() {
    let d = ok(
        "FROM alpine\nCMD [\"gunicorn\", \"app:app\"]\nENTRYPOINT [\"a\", 1]\n\
             RUN [ \"echo\" ]\nCOPY --chown=app:app [\"a b\", \"/dst/\"]\nCMD echo [x]\n",
    );
    let forms: Vec<_> = d.instructions.iter().map(|i| i.form.clone()).collect();
    assert_eq!(
        forms,
        [
            Form::Shell,
            Form::Exec(vec!["gunicorn".into(), "app:app".into()]),
            Form::Shell,
            Form::Exec(vec!["echo".into()]),
            Form::Exec(vec!["a b".into(), "/dst/".into()]),
            Form::Shell,
        ]
    );
    assert_eq!(d.instructions[4].flags, ["--chown=app:app"]);
}

#[test]
fn lowercase_keywords() {
    let text = "from alpine as Base\nrun echo hi\nFrom base\nuser nobody\n";
    let d = ok(text);
    assert_eq!(keywords(&d), ["FROM", "RUN", "FROM", "USER"]);
    assert_eq!(d.instructions[1].keyword_text, "run");
    assert_eq!(d.stages[1].parent, Some(0));
    assert_round_trip(text);
}

#[test]
fn crlf_matches_lf() {
    let lf = PYTHON_WEB;
    let crlf = lf.replace('\n', "\r\n");
    let (a, b) = (ok(lf), ok(&crlf));
    assert_eq!(b.eol, "\r\n");
    assert_eq!(a.instructions.len(), b.instructions.len());
    for (x, y) in a.instructions.iter().zip(&b.instructions) {
        assert_eq!(
            (&x.keyword, &x.args, x.line, x.end_line),
            (&y.keyword, &y.args, y.line, y.end_line)
        );
        assert_eq!(
            text_of(lf, &x.range),
            text_of(&crlf, &y.range).replace('\r', "")
        );
        assert!(!text_of(&crlf, &y.range).ends_with('\r'));
    }
    assert_eq!(a.comments.len(), b.comments.len());
    assert_eq!(a.stages.len(), b.stages.len());
    assert_round_trip(&crlf);
    let heredoc = NODE_HEREDOC.replace('\n', "\r\n");
    let d = ok(&heredoc);
    let copy = d.instructions.iter().find(|i| i.line == 17).unwrap();
    assert_eq!(text_of(&heredoc, &copy.heredocs[0].terminator), "EOF");
    assert_round_trip(&heredoc);
}

#[test]
fn non_ascii_comments_and_values() {
    let text = "\u{feff}# Größe: ça va ✓\nFROM debian:12\nLABEL description=\"Café ☕ service\"\n\
                    ENV GREETING=\"grüß dich\"\nRUN echo \"$GREETING\" # ünïcode\n";
    let d = ok(text);
    assert!(d.bom);
    assert_eq!(d.comments[0].text, "Größe: ça va ✓");
    assert_eq!(d.comments[0].range.start, 3);
    assert_eq!(d.instructions[1].args, "description=\"Café ☕ service\"");
    assert_eq!(d.resolve_in_stage(0, "$GREETING"), "grüß dich");
    assert_round_trip(text);
    // Column numbers count characters, not bytes.
    let (line, col, _) = err("FROM debian\nRUN ä && \\\nbläh <<EOF\n");
    assert_eq!((line, col), (3, 6));
}

#[test]
fn legacy_forms_and_multiple_args() {
    let d = ok(NODE_HEREDOC);
    assert_eq!(d.resolve_in_stage(1, "$NODE_ENV"), "production");
    let label = d
        .instructions
        .iter()
        .find(|i| i.keyword == "LABEL")
        .unwrap();
    assert_eq!(label.args, "org.opencontainers.image.title \"Shop front\"");
    // ARG with several names is valid for BuildKit.
    let d = ok("FROM alpine\nARG A B=2\nRUN echo $A $B\n");
    assert_eq!(d.resolve_in_stage(0, "[$A][$B]"), "[][2]");
    let d = ok("FROM alpine\nENV PATH /opt/bin:$PATH and more\n");
    assert_eq!(d.resolve_in_stage(0, "$PATH"), "/opt/bin: and more");
}

#[test]
fn resolve_in_stage_scopes() {
    let text = "ARG VERSION=1.0\nARG ONLY_GLOBAL=g\n\
            FROM alpine AS base\nARG VERSION\nARG LOCAL=l-$VERSION\n\
            ENV APP_HOME=/srv/app DATA=\"$APP_HOME/data\" QUOTED='a b'\nENV LEGACY some value\n\
            FROM base AS child\nENV CHILD=${APP_HOME}/child\n\
            FROM alpine\nRUN true\n";
    let d = ok(text);
    let r = |s, t| d.resolve_in_stage(s, t);
    assert_eq!(r(0, "$VERSION"), "1.0");
    assert_eq!(r(0, "$ONLY_GLOBAL"), "", "global ARGs need re-declaring");
    assert_eq!(r(0, "$LOCAL"), "l-1.0");
    // Pairs in one ENV see the values from before the instruction.
    assert_eq!(r(0, "$DATA"), "/data");
    assert_eq!(r(0, "$QUOTED|$LEGACY"), "a b|some value");
    // ENV and ARG are inherited by a stage built on another.
    assert_eq!(r(1, "$CHILD $VERSION"), "/srv/app/child 1.0");
    assert_eq!(r(2, "[$APP_HOME]"), "[]");
    assert_eq!(r(9, "$X"), "$X");
    // resolve_at sees only what precedes the instruction.
    let env_at = d.instructions.iter().position(|i| i.line == 6).unwrap();
    assert_eq!(d.resolve_at(env_at, "[$APP_HOME][$LOCAL]"), "[][l-1.0]");
    assert_eq!(d.resolve_at(env_at + 1, "$APP_HOME"), "/srv/app");
    assert_eq!(d.resolve_at(1, "$VERSION"), "1.0");
    // ENV wins over ARG of the same name.
    let d = ok("FROM alpine\nARG MODE=arg\nENV MODE=env\nARG MODE=arg2\n");
    assert_eq!(d.resolve_in_stage(0, "$MODE"), "env");
}

#[test]
fn directives_only_at_the_top() {
    let d = ok("# SYNTAX = docker/dockerfile:1\n#escape=`\nFROM alpine\n");
    assert_eq!(d.directives.len(), 2);
    assert_eq!(d.directives[0].name, "syntax");
    assert_eq!(d.directives[0].value, "docker/dockerfile:1");
    assert_eq!(d.escape, '`');
    // After a comment, a blank line or an instruction they are comments.
    for text in [
        "# a comment\n# escape=`\nFROM alpine\n",
        "\n# escape=`\nFROM alpine\n",
        "FROM alpine\n# escape=`\n",
        "# unknown=1\n# escape=`\nFROM alpine\n",
    ] {
        let d = ok(text);
        assert_eq!(d.escape, '\\', "{text:?}");
        assert!(d.comments.iter().any(|c| c.text == "escape=`"));
    }
    let d = ok("# check=skip=JSONArgsRecommended\nFROM alpine\n");
    assert_eq!(d.directives[0].value, "skip=JSONArgsRecommended");
}

#[test]
fn errors_with_positions() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        (
            "FROM alpine\nRUN <<EOF\necho hi\n",
            (2, 5),
            "unterminated heredoc",
        ),
        (
            "FROM alpine\nRUN <<A <<B\na\nA\nb\n",
            (2, 9),
            "unterminated heredoc",
        ),
        ("", (1, 1), "no FROM instruction"),
        ("# only a comment\nARG X=1\n", (1, 1), "no FROM instruction"),
        ("FROM alpine\nRUN echo a\0b\n", (2, 11), "NUL"),
        (
            "FROM alpine\n  FOO bar\n",
            (2, 3),
            "unknown instruction: FOO",
        ),
        (
            "RUN echo hi\nFROM alpine\n",
            (1, 1),
            "RUN before the first FROM",
        ),
        ("ARG X\nFROM alpine AS\n", (2, 1), "FROM requires"),
        (
            "FROM alpine AS 1st\n",
            (1, 1),
            "invalid name for build stage",
        ),
        ("FROM alpine\nENV\n", (2, 1), "ENV requires"),
        ("FROM alpine\nENV A=1 B\n", (2, 1), "can't find ="),
        ("FROM alpine\nENV A\n", (2, 1), "two arguments"),
        ("FROM alpine\nARG\n", (2, 1), "ARG requires"),
        ("# escape=x\nFROM alpine\n", (1, 1), "invalid escape token"),
        (
            "# syntax=a\n# syntax=b\nFROM alpine\n",
            (2, 1),
            "only one syntax",
        ),
    ];
    for (text, pos, message) in cases {
        let (line, col, got) = err(text);
        assert_eq!((line, col), *pos, "{text:?}: {got}");
        assert!(got.contains(message), "{text:?}: {got}");
    }
}

#[test]
fn never_panics_on_truncated_input() {
    for text in [PYTHON_WEB, GO_SERVICE, NODE_HEREDOC] {
        let crlf = text.replace('\n', "\r\n");
        for t in [text, crlf.as_str()] {
            for (i, _) in t.char_indices() {
                if let Ok(d) = parse(&t[..i]) {
                    for ins in &d.instructions {
                        assert!(t[..i].get(ins.range.clone()).is_some());
                    }
                }
            }
        }
    }
    for odd in [
        "\\",
        "`",
        "$",
        "${",
        "FROM a\nRUN ${A:-${B",
        "FROM a\nENV A='x",
        "\u{feff}",
    ] {
        let _ = parse(odd);
        let _ = parse(&format!("FROM a\nRUN {odd}\n"));
    }
    // Hostile nesting and unclosed braces: bounded depth, no rescans.
    let deep = format!("{}x{}", "${A:-".repeat(5000), "}".repeat(5000));
    let d = ok(&format!(
        "FROM a\nENV B={deep}\nENV C=$B{}\n",
        "${".repeat(50_000)
    ));
    assert!(d.resolve_in_stage(0, "$B").starts_with("${A:-"));
    let shallow = format!("{}x{}", "${A:-".repeat(3), "}".repeat(3));
    assert_eq!(d.resolve_in_stage(0, &shallow), "x");
}

#[test]
fn round_trip_all_fixtures() {
    for text in [PYTHON_WEB, GO_SERVICE, NODE_HEREDOC] {
        assert_round_trip(text);
        assert_round_trip(text.trim_end());
        assert_round_trip(&text.replace('\n', "\r\n"));
    }
    let d = ok(GO_SERVICE);
    let allow: Vec<_> = d
        .comments
        .iter()
        .filter(|c| c.text.starts_with("harden:"))
        .collect();
    assert_eq!(allow.len(), 1);
    assert_eq!(allow[0].line, 15);
    assert_eq!(
        text_of(GO_SERVICE, &allow[0].range),
        "# harden: allow root-user -- binds port 443 directly, see OPS-77"
    );
}

/// dockerfile-parser 0.9 agrees on where each instruction starts and
/// which keyword it has, for the files it can parse. Its span ends where
/// ours does, except that for some instructions (FROM) it leaves out
/// trailing blanks on the last line, which ours keeps (the range runs to
/// the line ending so that an insertion after it lands on a new line).
#[test]
fn agrees_with_dockerfile_parser() {
    let simple =
        "FROM alpine:3.20 AS base  \nRUN apk add --no-cache \\  \n      curl \\\n      jq \t\n\
                      USER 1000\nFROM base\nENTRYPOINT [\"jq\"]\n";
    let mut compared = 0;
    for text in [PYTHON_WEB, GO_SERVICE, simple] {
        let theirs = dockerfile_parser::Dockerfile::parse(text)
            .unwrap_or_else(|e| panic!("dockerfile-parser refused a fixture: {e}"));
        let ours = ok(text);
        assert_eq!(theirs.instructions.len(), ours.instructions.len());
        for (t, o) in theirs.instructions.iter().zip(&ours.instructions) {
            let span = t.span();
            assert_eq!(span.start, o.range.start);
            // Ours runs to the end of the line; for some instructions
            // (FROM) its grammar stops before trailing blanks.
            assert!(span.end <= o.range.end, "{:?}", &text[span.start..span.end]);
            assert!(text[span.end..o.range.end].trim().is_empty());
            compared += 1;
        }
    }
    assert!(compared >= 30, "only {compared} instructions compared");
    // It refuses the heredoc fixture, which is why harden has its own lexer.
    assert!(dockerfile_parser::Dockerfile::parse(NODE_HEREDOC).is_err());
}
