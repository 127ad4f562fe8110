//! Entry discovery on small build contexts written to a temporary folder.

use super::*;

fn words(v: &[&str]) -> Vec<Word> {
    v.iter()
        .map(|t| Word {
            text: t.to_string(),
            from: 0,
        })
        .collect()
}

fn texts(v: &[Word]) -> Vec<&str> {
    v.iter().map(|w| w.text.as_str()).collect()
}

#[test]
fn wrappers_are_unwrapped() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["tini", "-g", "--", "python", "app.py"],
            &["python", "app.py"],
        ),
        (&["/usr/bin/dumb-init", "node", "s.js"], &["node", "s.js"]),
        (&["gosu", "app", "uvicorn", "a:b"], &["uvicorn", "a:b"]),
        (&["env", "-i", "A=1", "node", "s.js"], &["node", "s.js"]),
        (
            &["/bin/sh", "-c", "cd /srv && exec PORT=1 python -m api"],
            &["python", "-m", "api"],
        ),
        (
            &["bash", "-ec", "gunicorn app.wsgi"],
            &["gunicorn", "app.wsgi"],
        ),
        (&["sh", "/entry.sh", "run"], &["sh", "/entry.sh", "run"]),
        (&["sh", "-c"], &["sh", "-c"]),
        (&["exec"], &[]),
    ];
    for (input, want) in cases {
        assert_eq!(texts(&unwrap(words(input))), *want, "{input:?}");
    }
}

#[test]
fn paths() {
    assert_eq!(join_abs("/app", "./src/../main.py"), "/app/main.py");
    assert_eq!(join_abs("/app", "/opt/x/"), "/opt/x");
    assert_eq!(join_abs("/", "../../etc"), "/etc");
    assert_eq!(join_abs("/", "."), "/");
    assert!(inside(Path::new("/ctx"), "../etc/passwd").is_none());
    assert_eq!(
        inside(Path::new("/ctx"), "/a/b"),
        Some(PathBuf::from("/ctx/a/b"))
    );
}

/// The entry's language and files relative to the context, if one is found.
type Found = Option<(Lang, Vec<String>)>;

/// A build context in a temporary directory.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Project { dir }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The entry's language and files, relative to the context.
    fn entry(&self, dockerfile: &str) -> Found {
        let df = crate::dockerfile::parse(dockerfile).unwrap();
        let target = df.stages.len().checked_sub(1)?;
        match entry(&df, target, self.dir())?.entry {
            Entry::Source { lang, files } => Some((
                lang,
                files.iter().map(|f| relative(f, self.dir())).collect(),
            )),
            Entry::Unchecked { lang, .. } => Some((lang, Vec::new())),
        }
    }
}

impl Project {
    /// Each Dockerfile's entry is what it should be.
    fn expect(&self, cases: &[(&str, Found)]) {
        for (dockerfile, want) in cases {
            assert_eq!(&self.entry(dockerfile), want, "{dockerfile}");
        }
    }
}

fn one(lang: Lang, file: &str) -> Found {
    Some((lang, vec![file.to_string()]))
}

#[test]
fn python_entries() {
    let p = Project::new(&[
        ("src/app/__init__.py", ""),
        ("src/app/main.py", "app = App()\n"),
        ("src/app/wsgi.py", "application = make()\n"),
        ("tools/main.py", "print(1)\n"),
        ("manage.py", "run()\n"),
    ]);
    p.expect(&[
        ("FROM python:3.12\nWORKDIR /code\nCOPY src/ /code/\nCMD uvicorn app.main:app --host 0.0.0.0\n", Some((Lang::Python, vec!["src/app/main.py".into(), "src/app/__init__.py".into()]))),
        ("FROM python:3.12\nWORKDIR /srv\nCOPY . .\nCMD [\"gunicorn\", \"-k\", \"uvicorn.workers.UvicornWorker\", \"--chdir\", \"src\", \"app.wsgi\"]\n", Some((Lang::Python, vec!["src/app/wsgi.py".into(), "src/app/__init__.py".into()]))),
        // Shell form with a migration first: the long-running command counts.
        ("FROM python:3.12\nWORKDIR /srv\nCOPY manage.py ./\nCMD python manage.py migrate && exec python3 -u manage.py serve\n", one(Lang::Python, "manage.py")),
        // A copy harden cannot follow: found by name, the closest path wins.
        ("FROM python:3.12\nRUN fetch-app\nCMD [\"python\", \"/opt/app/main.py\"]\n", one(Lang::Python, "src/app/main.py")),
        // A module that does not exist in the context.
        ("FROM python:3.12\nCOPY . .\nCMD [\"python\", \"-m\", \"http.server\"]\n", None),
        ("FROM python:3.12\nCMD [\"python\", \"-c\", \"print(1)\"]\n", None),
    ]);
}

#[test]
fn fastapi_cli_defaults() {
    let p = Project::new(&[("app/main.py", "app = FastAPI()\n")]);
    p.expect(&[
        ("FROM python:3.12\nWORKDIR /code\nCOPY ./app /code/app\nCMD [\"fastapi\", \"run\", \"--port\", \"80\"]\n", one(Lang::Python, "app/main.py")),
        ("FROM python:3.12\nWORKDIR /code\nCOPY ./app /code/app\nCMD [\"fastapi\", \"run\", \"app/main.py\", \"--port\", \"80\"]\n", one(Lang::Python, "app/main.py")),
    ]);
}

#[test]
fn node_entries() {
    let p = Project::new(&[
        (
            "package.json",
            r#"{"main": "lib/server.js", "scripts": {"serve": "cross-env X=1 node dist/app.js"}}"#,
        ),
        ("lib/server.js", "listen()\n"),
        ("dist/app.js", "listen()\n"),
        ("bin/www", "#!/usr/bin/env node\nlisten()\n"),
    ]);
    p.expect(&[
        ("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \"-r\", \"dotenv/config\", \"lib/server\"]\n", one(Lang::Node, "lib/server.js")),
        ("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"node\", \".\"]\n", one(Lang::Node, "lib/server.js")),
        // No start script: npm falls back on package.json main here.
        ("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"npm\", \"start\"]\n", one(Lang::Node, "lib/server.js")),
        // `cross-env` is not followed, so the script cannot be resolved.
        ("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"yarn\", \"serve\"]\n", None),
        ("FROM node:20\nWORKDIR /app\nCOPY . .\nCMD [\"./bin/www\"]\n", one(Lang::Node, "bin/www")),
    ]);
}

#[test]
fn shell_entrypoints() {
    let p = Project::new(&[
        ("docker/entrypoint.sh", "#!/bin/sh\nexec \"$@\"\n"),
        ("scripts/start", "#!/usr/bin/env bash\nexec app\n"),
    ]);
    p.expect(&[
        ("FROM debian\nCOPY docker/entrypoint.sh /\nENTRYPOINT [\"/entrypoint.sh\"]\nCMD [\"app\"]\n", one(Lang::Sh, "docker/entrypoint.sh")),
        ("FROM debian\nCOPY scripts/ /usr/local/bin/\nENTRYPOINT [\"tini\", \"--\"]\nCMD [\"start\"]\n", one(Lang::Sh, "scripts/start")),
        ("FROM debian\nCOPY docker/*.sh /opt/\nCMD [\"bash\", \"/opt/entrypoint.sh\"]\n", one(Lang::Sh, "docker/entrypoint.sh")),
        // A shell-form ENTRYPOINT ignores CMD.
        ("FROM debian\nCOPY scripts/start /start\nENTRYPOINT exec /start\nCMD [\"ignored.sh\"]\n", one(Lang::Sh, "scripts/start")),
    ]);
}

#[test]
fn go_entries() {
    let main = "package main\n\nfunc main() {}\n";
    let p = Project::new(&[
        ("go.mod", "module example.com/svc\n\ngo 1.22\n"),
        ("cmd/api/main.go", main),
        ("cmd/api/extra.go", "package main\n\nvar x = 1\n"),
        ("cmd/api/main_test.go", "package main\n"),
        ("cmd/api/doc.txt", "package main\n"),
        ("worker/main.go", main),
    ]);
    p.expect(&[
        ("FROM golang:1.22 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/ ./cmd/api\nFROM scratch\nCOPY --from=build /out/api /api\nENTRYPOINT [\"/api\"]\n", Some((Lang::Go, vec!["cmd/api/main.go".into(), "cmd/api/extra.go".into()]))),
        // Module path, `cd` in the RUN, copy of a whole directory between stages.
        ("FROM golang AS b\nCOPY . /go/src/svc\nRUN cd /go/src/svc && go build -o bin/worker example.com/svc/worker\nFROM alpine\nCOPY --from=b /go/src/svc/bin/ /usr/local/bin/\nCMD [\"worker\"]\n", one(Lang::Go, "worker/main.go")),
        // Single stage, no -o: the binary is named after the package.
        ("FROM golang\nWORKDIR /w\nCOPY . .\nRUN go build ./worker\nCMD [\"./worker\"]\n", one(Lang::Go, "worker/main.go")),
        // A binary that no stage builds.
        ("FROM alpine\nCOPY --from=ghcr.io/x/tool:1 /tool /tool\nCMD [\"/tool\"]\n", None),
    ]);
}

/// The compiled-in tables parse; at run time a broken file would only
/// mean fewer entries found, so this test is what catches it.
#[test]
fn launcher_tables_parse() {
    let l: Launchers = toml::from_str(LAUNCHERS).expect("templates/launchers.toml parses");
    assert_eq!(
        format!("{l:?}"),
        format!("{:?}", launchers()),
        "the JSON copy"
    );
    assert!(has(&l.wrappers.shells, "sh"));
    assert!(has(&l.python.servers, "gunicorn"));
    assert!(has(&l.python.server_value_flags, "--chdir"));
    assert!(has(&l.go.build_value_flags, "-o"));
}

#[test]
fn java_source_launch_and_ruby() {
    let p = Project::new(&[
        (
            "src/App.java",
            "class App { public static void main(String[] a) {} }\n",
        ),
        ("app.rb", "require \"sinatra\"\n"),
        ("bin/worker", "#!/usr/bin/env ruby\nputs 1\n"),
    ]);
    p.expect(&[
        ("FROM eclipse-temurin:21\nWORKDIR /app\nCOPY src/App.java .\nCMD [\"java\", \"-cp\", \"lib/*\", \"App.java\", \"--port\", \"80\"]\n", one(Lang::Java, "src/App.java")),
        ("FROM ruby:3.3\nWORKDIR /app\nCOPY . .\nCMD [\"bundle\", \"exec\", \"ruby\", \"app.rb\", \"-p\", \"80\"]\n", one(Lang::Ruby, "app.rb")),
        ("FROM ruby:3.3\nCOPY bin/worker /usr/local/bin/\nCMD [\"worker\"]\n", one(Lang::Ruby, "bin/worker")),
        ("FROM ruby:3.3\nCMD [\"ruby\", \"-e\", \"puts 1\"]\n", None),
    ]);
    // A jar (or a class) is not read.
    let jar = "FROM eclipse-temurin:21\nCOPY app.jar /app.jar\nCMD [\"java\", \"-jar\", \"/app.jar\", \"App.java\"]\n";
    let df = crate::dockerfile::parse(jar).expect("lexes");
    let found = entry(&df, df.stages.len() - 1, p.dir()).map(|l| l.entry);
    assert!(
        matches!(
            found,
            Some(Entry::Unchecked {
                lang: Lang::Java,
                ..
            })
        ),
        "{found:?}"
    );
}
