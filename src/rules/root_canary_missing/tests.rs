//! The canary check on sources, and the rule on small projects.

use super::canary::has_canary;
use super::*;
use crate::dockerfile::analyze::Hints;
use crate::dockerfile::entry::tests::Project;
use crate::source::Source;

#[test]
fn python_checks() {
    let yes = [
        "import os\nif os.geteuid() == 0:\n    print('root', file=sys.stderr)\n",
        "import os\nif 0 == os.getuid():\n    pass\n",
        "from os import geteuid\nif not geteuid():\n    warn()\n",
        "uid = os.getuid()\nif uid == 0:  # root\n    log.warning('root')\n",
        "if os.getuid() != 0:\n    pass\nelse:\n    warn()\n",
    ];
    for y in yes {
        assert!(has_canary(Lang::Python, y), "{y}");
    }
    let no = [
        "import os\n# if os.getuid() == 0: warn\n",
        "print(os.getuid())\n",
        "if len(items) == 0:\n    pass\nprint(os.getuid())\n",
        "uid = os.getuid()\nif uid == 1000:\n    pass\n",
        "x = os.getuid() == 10\n",
        "",
    ];
    for n in no {
        assert!(!has_canary(Lang::Python, n), "{n}");
    }
}

#[test]
fn node_go_and_shell_checks() {
    assert!(has_canary(
        Lang::Node,
        "if (process.getuid && process.getuid() === 0) { console.error('root'); }"
    ));
    assert!(has_canary(
        Lang::Node,
        "const uid = process.geteuid?.();\nif (uid === 0) warn();"
    ));
    assert!(has_canary(Lang::Node, "if (!process.geteuid()) warn();"));
    assert!(!has_canary(
        Lang::Node,
        "/* if (process.getuid() === 0) */\nconsole.log(process.getuid());"
    ));
    assert!(!has_canary(
        Lang::Node,
        "// process.getuid() === 0\nconst url = 'http://x'; // === 0"
    ));
    assert!(has_canary(
        Lang::Go,
        "func main() {\n\tif uid := os.Getuid(); uid == 0 {\n\t\tlog.Print(\"root\")\n\t}\n}"
    ));
    assert!(!has_canary(
        Lang::Go,
        "func main() {\n\tfmt.Println(os.Getuid())\n}"
    ));
    for y in [
        "if [ \"$(id -u)\" -eq 0 ]; then echo root >&2; fi",
        "[ `id -u` = 0 ] && echo root >&2",
        "if [[ $EUID == 0 ]]; then :; fi",
        "if [ \"$(/usr/bin/id -un)\" = \"root\" ]; then :; fi",
        "uid=$(id -u)\nif [ \"$uid\" -ne 0 ]; then exec \"$@\"; fi",
        "case \"$(id -u)\" in\n  0) echo root >&2 ;;\nesac",
        "test 0 -eq \"${UID}\" && echo root",
    ] {
        assert!(has_canary(Lang::Sh, y), "{y}");
    }
    for n in [
        "# [ \"$(id -u)\" -eq 0 ]\nexec \"$@\"",
        "echo \"running as $(id -u)\"",
        "[ \"$(id -u)\" -eq 1000 ]",
        "[ \"$UIDS\" = 0 ]",
    ] {
        assert!(!has_canary(Lang::Sh, n), "{n}");
    }
}

#[test]
fn every_snippet_counts_as_a_canary() {
    for lang in Lang::ALL {
        assert!(has_canary(lang, lang.snippet()), "{}", lang.name());
        // What `fix --canary` inserts counts by its code, not only by its
        // marker comment.
        let unmarked: String = crate::canary::template(lang)
            .lines()
            .filter(|l| !l.contains(crate::canary::MARKER))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(has_canary(lang, &unmarked), "{}: {unmarked}", lang.name());
    }
    for lang in Lang::ALL {
        assert!(
            lang.snippet().contains(
                "is running as root (uid 0); this container should run as a non-root user"
            ),
            "{}",
            lang.name()
        );
        assert!(crate::registry::get(NAME).is_some_and(|r| r.explanation.contains(lang.name())));
    }
}

/// The rule's output on `dockerfile` with the project as build context.
fn run(p: &Project, dockerfile: &str) -> Output {
    let src = Source::new("Dockerfile".into(), "Dockerfile".into(), dockerfile.into());
    let df = crate::dockerfile::parse(dockerfile).unwrap();
    let hints = Hints {
        context: Some(p.dir().to_path_buf()),
        ..Hints::default()
    };
    crate::engine::dockerfiles::analyze_with(&src, &df, &hints, &[RULE])
}

#[test]
fn findings_and_exceptions() {
    let p = Project::new(&[
        ("main.py", "import os\nprint('hi')\n"),
        (
            "ok.py",
            "import os\nif os.geteuid() == 0:\n    print('root')\n",
        ),
    ]);
    let out = run(
        &p,
        "FROM python:3.12\nWORKDIR /app\nCOPY . .\n  CMD [\"python\", \"main.py\"]\n",
    );
    assert_eq!(out.findings.len(), 1);
    let f = &out.findings[0];
    assert_eq!((f.rule, f.line, f.col), (NAME, 4, 3));
    assert!(!f.fixable);
    assert_eq!(f.severity, crate::finding::Severity::Warning);
    assert!(f.message.contains("`main.py`"), "{}", f.message);
    assert!(f.message.contains("--lang python"));
    assert!(!f.message.contains('\n'));
    assert_eq!(out.notes.len(), 1);
    assert!(out.notes[0]
        .text
        .contains(Lang::Python.snippet().trim_end()));

    let out = run(
        &p,
        "FROM python:3.12\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"ok.py\"]\n",
    );
    assert!(out.findings.is_empty());

    let out = run(&p, "FROM python:3.12\n# harden: allow root-canary-missing -- batch job, logs are not kept\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"main.py\"]\n");
    assert!(out.findings.is_empty() && out.notes.is_empty());

    // The finding sits on the instruction that names the program.
    let out = run(&p, "FROM python:3.12\nWORKDIR /app\nCOPY . .\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"python\", \"main.py\"]\n");
    assert_eq!(out.findings.first().map(|f| f.line), Some(5));

    let out = run(
        &p,
        "FROM eclipse-temurin:21\nCMD [\"java\", \"-jar\", \"/app.jar\"]\n",
    );
    assert_eq!(out.findings.len(), 1);
    assert!(out.findings[0].message.contains("java -jar /app.jar"));
    assert!(out.notes[0].text.contains("RootCanary"));

    // Nothing to run, or nothing found: no finding.
    let out = run(&p, "FROM python:3.12\nRUN true\n");
    assert!(out.findings.is_empty());
    let out = run(&p, "FROM nginx\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n");
    assert!(out.findings.is_empty());
}
