//! What an entrypoint script does with root, read from its text: the
//! privilege drop (gosu, su-exec, setpriv, runuser, su, chroot
//! --userspec, s6-setuidgid, s6-overlay's /init), the chowns before it,
//! `umask 0077`, and whether it has a path for being started as non-root
//! (`if [ "$(id -u)" = 0 ]`). From that, either a non-root user to start it
//! as, or exactly the capabilities its root path needs, each with the
//! script line as the reason. Pure functions: no image is needed to test them.

/// A line of the script that matters, 1-based, as written (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub text: String,
}

/// A privilege drop: the tool and the user it switches to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drop {
    pub tool: String,
    /// As written: a name, `uid`, `name:group`; `None` when the script
    /// names it through a variable that cannot be known.
    pub user: Option<String>,
    pub line: Line,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub drops: Vec<Drop>,
    /// The test that lets the script run as non-root.
    pub root_check: Option<Line>,
    pub chowns: Vec<Line>,
    /// `chmod` of paths the user owns, run as root.
    pub chmods: Vec<Line>,
    pub umask_private: Option<Line>,
    /// The script is s6-overlay's `/init` or hands over to it.
    pub s6: Option<Line>,
}

/// One capability the root path needs, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub cap: &'static str,
    pub why: String,
}

/// What to do about the entrypoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start it as this user: the script has a non-root path.
    RunAs { user: String, why: String },
    /// It must start as root: give back these capabilities.
    Caps(Vec<Need>),
    /// Nothing about privileges in the script.
    Nothing,
}

/// Logical lines: comments dropped, `\` continuations joined, numbered
/// by the line they start on.
fn logical_lines(text: &str) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::new();
    let mut pending: Option<Line> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        let code = strip_comment(trimmed);
        let (body, continues) = match code.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (code, false),
        };
        let line = match pending.take() {
            Some(mut p) => {
                p.text.push(' ');
                p.text.push_str(body);
                p
            }
            None => Line {
                number: i + 1,
                text: body.to_string(),
            },
        };
        if continues {
            pending = Some(line);
        } else if !line.text.is_empty() {
            out.push(line);
        }
    }
    out.extend(pending);
    out
}

/// A line without its comment (a `#` at the start of a word, outside quotes).
fn strip_comment(line: &str) -> &str {
    if line.starts_with("#!") {
        return "";
    }
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() || i == 0 => return line[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    line
}

/// Shell words, quotes removed (enough for the commands read here).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() || c == ';' => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
                if c == ';' {
                    out.push(";".into());
                }
            }
            _ => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The user a drop tool switches to, from the words after it.
fn drop_target(tool: &str, args: &[String]) -> Option<Option<String>> {
    let value = |w: &String, name: &str| -> Option<String> {
        w.strip_prefix(&format!("{name}=")).map(str::to_string)
    };
    let clean =
        |u: &str| -> Option<String> { (!u.is_empty() && !u.contains('$')).then(|| u.to_string()) };
    match tool {
        "gosu" | "su-exec" | "s6-setuidgid" => {
            let u = args.iter().find(|a| !a.starts_with('-'))?;
            Some(clean(u))
        }
        "setpriv" => {
            let mut user = None;
            let mut group = None;
            let mut it = args.iter();
            while let Some(a) = it.next() {
                if let Some(v) = value(a, "--reuid") {
                    user = Some(v);
                } else if a == "--reuid" {
                    user = it.next().cloned();
                } else if let Some(v) = value(a, "--regid") {
                    group = Some(v);
                } else if a == "--regid" {
                    group = it.next().cloned();
                }
            }
            let u = user?;
            Some(clean(&match group {
                Some(g) => format!("{u}:{g}"),
                None => u,
            }))
        }
        "runuser" => {
            let mut it = args.iter();
            while let Some(a) = it.next() {
                if a == "-u" || a == "--user" {
                    return Some(it.next().and_then(|u| clean(u)));
                }
                if let Some(v) = value(a, "--user") {
                    return Some(clean(&v));
                }
                if !a.starts_with('-') {
                    return Some(clean(a));
                }
            }
            None
        }
        "su" => {
            let mut it = args.iter();
            while let Some(a) = it.next() {
                if a == "-s" || a == "-c" || a == "--shell" || a == "--command" {
                    it.next();
                } else if a == "-" || a.starts_with('-') {
                    continue;
                } else {
                    return Some(clean(a));
                }
            }
            None
        }
        "chroot" => {
            let mut it = args.iter();
            while let Some(a) = it.next() {
                if let Some(v) = value(a, "--userspec") {
                    return Some(clean(&v));
                }
                if a == "--userspec" {
                    return Some(it.next().and_then(|u| clean(u)));
                }
            }
            None
        }
        _ => None,
    }
}

const DROP_TOOLS: &[&str] = &[
    "gosu",
    "su-exec",
    "setpriv",
    "runuser",
    "su",
    "chroot",
    "s6-setuidgid",
];

/// Whether a line tests for running as root.
fn is_root_check(line: &str) -> bool {
    let l = line.replace(['"', '\''], "");
    let subject = l.contains("$(id -u)")
        || l.contains("`id -u`")
        || l.contains("$EUID")
        || l.contains("${EUID}")
        || l.contains("$UID")
        || l.contains("${UID}");
    let zero = ["= 0", "== 0", "-eq 0", "!= 0", "-ne 0", "= root", "!= root"]
        .iter()
        .any(|z| l.contains(z))
        || l.contains("$(id -un)") && l.contains("root")
        || l.contains("$(whoami)") && l.contains("root");
    (subject || l.contains("$(id -un)") || l.contains("$(whoami)")) && zero
}

/// Read a script. `path` is where it lives in the image (`/init` is
/// s6-overlay's).
pub fn analyze(path: &str, text: &str) -> Analysis {
    let mut a = Analysis::default();
    let first = text.lines().next().unwrap_or("");
    if path == "/init" && (text.contains("s6-overlay") || first.contains("execlineb")) {
        a.s6 = Some(Line {
            number: 1,
            text: first.trim().to_string(),
        });
    }
    for line in logical_lines(text) {
        let w = words(&line.text);
        if a.root_check.is_none() && is_root_check(&line.text) {
            a.root_check = Some(line.clone());
        }
        for (i, word) in w.iter().enumerate() {
            // A command position: the start, or after exec, a separator, a
            // keyword, or `find -exec`.
            let at_command = i == 0
                || matches!(
                    w[i - 1].as_str(),
                    "exec" | ";" | "&&" | "||" | "then" | "else" | "do" | "-exec" | "|" | "!"
                )
                || w[i - 1].ends_with(';');
            if !at_command {
                continue;
            }
            let cmd = word.rsplit('/').next().unwrap_or(word);
            if DROP_TOOLS.contains(&cmd) {
                if let Some(user) = drop_target(cmd, &w[i + 1..]) {
                    a.drops.push(Drop {
                        tool: cmd.to_string(),
                        user,
                        line: line.clone(),
                    });
                }
            } else if cmd == "chown" || cmd == "chgrp" {
                if !a.chowns.iter().any(|c| c.number == line.number) {
                    a.chowns.push(line.clone());
                }
            } else if cmd == "chmod" {
                if !a.chmods.iter().any(|c| c.number == line.number) {
                    a.chmods.push(line.clone());
                }
            } else if cmd == "umask" {
                let private = w
                    .get(i + 1)
                    .is_some_and(|m| m.trim_start_matches('0') == "77" || m == "u=rwx,g=,o=");
                if private {
                    a.umask_private = Some(line.clone());
                }
            } else if (cmd == "init" && word.starts_with('/')) || word == "/init" {
                a.s6.get_or_insert(line.clone());
            }
        }
    }
    a
}

fn at(script: &str, l: &Line) -> String {
    format!("{script} line {}: {}", l.number, l.text)
}

/// Decide from an analysis. `known_user` says whether a user named in a
/// drop exists in the image (and gives its `uid:gid`).
pub fn decide(script: &str, a: &Analysis, known_user: &dyn Fn(&str) -> Option<String>) -> Decision {
    let drop = a.drops.iter().find(|d| d.user.is_some());
    if let (Some(d), Some(check)) = (drop, &a.root_check) {
        if let Some(ids) = d.user.as_deref().and_then(known_user) {
            return Decision::RunAs {
                user: ids,
                why: format!(
                    "{}; started as that user, the script skips its root branch ({})",
                    at(script, &d.line),
                    at(script, check)
                ),
            };
        }
    }
    let mut needs: Vec<Need> = Vec::new();
    let mut add = |cap: &'static str, why: String| {
        if !needs.iter().any(|n| n.cap == cap) {
            needs.push(Need { cap, why });
        }
    };
    if let Some(c) = a.chowns.first() {
        add("CHOWN", at(script, c));
    }
    if let Some(d) = a.drops.first() {
        add("SETUID", at(script, &d.line));
        add("SETGID", at(script, &d.line));
    }
    if let Some(c) = a.chmods.first() {
        add("FOWNER", at(script, c));
    }
    if let (Some(u), Some(c)) = (&a.umask_private, a.chowns.first()) {
        // Files the user wrote under umask 0077 are closed to root without
        // DAC_READ_SEARCH: a chown -R on restart cannot walk them.
        add(
            "DAC_READ_SEARCH",
            format!("{}, then {}", at(script, u), at(script, c)),
        );
    }
    if let Some(s) = &a.s6 {
        for cap in ["CHOWN", "SETUID", "SETGID", "FOWNER", "DAC_OVERRIDE"] {
            add(
                cap,
                format!(
                    "{} (s6-overlay starts as root and switches user per service)",
                    at(script, s)
                ),
            );
        }
    }
    if needs.is_empty() {
        Decision::Nothing
    } else {
        Decision::Caps(needs)
    }
}

/// The decision for an image's first entrypoint script, with the script's
/// file name; users named in it are looked up in the image's accounts.
pub fn decide_image(f: &super::facts::ImageFacts) -> Option<(String, Decision)> {
    let s = f.scripts.first()?;
    let name = s.path.rsplit('/').next().unwrap_or(&s.path).to_string();
    let a = analyze(&s.path, &s.text);
    let known = |spec: &str| -> Option<String> {
        let (u, g) = match spec.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (spec, None),
        };
        let account = match u.parse::<u32>() {
            Ok(n) => f.users.iter().find(|a| a.uid == n),
            Err(_) => f.users.iter().find(|a| a.name == u),
        }?;
        let gid = match g {
            None => account.gid,
            Some(g) => match g.parse::<u32>() {
                Ok(n) => n,
                Err(_) => f.groups.iter().find(|x| x.name == g)?.gid,
            },
        };
        Some(format!("{}:{gid}", account.uid))
    };
    Some((name.clone(), decide(&name, &a, &known)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(u: &str) -> Option<String> {
        match u {
            "app" | "app:app" => Some("999:999".into()),
            "postgres" => Some("70:70".into()),
            _ => None,
        }
    }

    fn caps(d: &Decision) -> Vec<&'static str> {
        match d {
            Decision::Caps(n) => n.iter().map(|n| n.cap).collect(),
            _ => Vec::new(),
        }
    }

    const CHOWN_THEN_DROP: &str = r#"#!/bin/sh
set -e
# Fix the data directory's owner when started as root.
if [ "$(id -u)" = "0" ]; then
    chown -R app:app /var/lib/app
    exec gosu app "$0" "$@"
fi
exec "$@"
"#;

    #[test]
    fn a_script_with_a_non_root_path_runs_as_its_user() {
        let a = analyze("/usr/local/bin/app-entrypoint.sh", CHOWN_THEN_DROP);
        assert_eq!(a.drops.len(), 1);
        assert_eq!(a.drops[0].tool, "gosu");
        assert_eq!(a.root_check.as_ref().unwrap().number, 4);
        let d = decide("app-entrypoint.sh", &a, &known);
        match d {
            Decision::RunAs { user, why } => {
                assert_eq!(user, "999:999");
                assert!(
                    why.contains("app-entrypoint.sh line 6: exec gosu app \"$0\" \"$@\""),
                    "{why}"
                );
                assert!(why.contains("line 4"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_a_non_root_path_the_caps_are_given_back_with_their_lines() {
        let script = "#!/bin/bash\nchown -R postgres /data\nexec su-exec postgres server\n";
        let a = analyze("/e.sh", script);
        let d = decide("e.sh", &a, &known);
        assert_eq!(caps(&d), ["CHOWN", "SETUID", "SETGID"]);
        let Decision::Caps(n) = d else { unreachable!() };
        assert_eq!(n[0].why, "e.sh line 2: chown -R postgres /data");
        assert_eq!(n[1].why, "e.sh line 3: exec su-exec postgres server");
    }

    #[test]
    fn each_drop_tool_and_its_user() {
        let cases = [
            (
                "exec setpriv --reuid=app --regid=app --init-groups server",
                "setpriv",
                Some("app:app"),
            ),
            (
                "exec setpriv --reuid 1000 --regid 1000 --clear-groups x",
                "setpriv",
                Some("1000:1000"),
            ),
            ("exec runuser -u app -- server", "runuser", Some("app")),
            ("runuser app -c 'server'", "runuser", Some("app")),
            ("exec su -s /bin/sh app -c server", "su", Some("app")),
            ("exec su - app", "su", Some("app")),
            (
                "exec chroot --userspec=app:app / server",
                "chroot",
                Some("app:app"),
            ),
            ("exec s6-setuidgid app server", "s6-setuidgid", Some("app")),
            ("exec /usr/sbin/gosu \"$USER\" server", "gosu", None),
            ("exec su-exec app:app server", "su-exec", Some("app:app")),
        ];
        for (line, tool, user) in cases {
            let a = analyze("/e.sh", &format!("#!/bin/sh\n{line}\n"));
            assert_eq!(a.drops.len(), 1, "{line}");
            assert_eq!(a.drops[0].tool, tool, "{line}");
            assert_eq!(a.drops[0].user.as_deref(), user, "{line}");
        }
        // Words that only look like the tools are not drops.
        let a = analyze("/e.sh", "#!/bin/sh\necho gosu app\nsu_helper=1\n");
        assert!(a.drops.is_empty());
    }

    #[test]
    fn find_exec_chown_and_continuations() {
        let script = "#!/bin/sh\nfind /data \\\n  \\! -user app -exec chown app '{}' +\nexec gosu app server\n";
        let a = analyze("/e.sh", script);
        assert_eq!(a.chowns.len(), 1);
        assert_eq!(a.chowns[0].number, 2);
        assert!(a.chowns[0].text.contains("-exec chown app"));
    }

    #[test]
    fn umask_0077_needs_dac_read_search_on_restart() {
        let script = "#!/bin/sh\numask 0077\nchown -R app /var/lib/app\nexec setpriv --reuid=app --regid=app --init-groups server\n";
        let a = analyze("/e.sh", script);
        assert_eq!(a.umask_private.as_ref().unwrap().number, 2);
        let d = decide("e.sh", &a, &known);
        assert_eq!(caps(&d), ["CHOWN", "SETUID", "SETGID", "DAC_READ_SEARCH"]);
    }

    #[test]
    fn root_checks_in_their_spellings() {
        for check in [
            "if [ \"$(id -u)\" = '0' ]; then",
            "if [ `id -u` -eq 0 ]; then",
            "if [ \"$EUID\" -ne 0 ]; then",
            "[ \"$(id -u)\" != 0 ] && exec server",
            "if [ \"$(whoami)\" = root ]; then",
        ] {
            assert!(is_root_check(check), "{check}");
        }
        assert!(!is_root_check("if [ -z \"$VAR\" ]; then"));
        assert!(!is_root_check("echo $(id -u)"));
    }

    #[test]
    fn s6_overlay_init() {
        let a = analyze("/init", "#!/bin/sh -e\n# s6-overlay stage 0\nexec /package/admin/s6-overlay/libexec/stage0 \"$@\"\n");
        assert!(a.s6.is_some());
        let d = decide("/init", &a, &known);
        assert!(caps(&d).contains(&"SETUID"));
        assert!(caps(&d).contains(&"CHOWN"));
        // A script handing over to /init.
        let a = analyze("/e.sh", "#!/bin/sh\nprepare\nexec /init\n");
        assert_eq!(a.s6.as_ref().map(|l| l.number), Some(3));
    }

    #[test]
    fn a_plain_script_needs_nothing() {
        let a = analyze(
            "/e.sh",
            "#!/bin/sh\n# chown is mentioned here only\nexec server --port 8080\n",
        );
        assert_eq!(decide("e.sh", &a, &known), Decision::Nothing);
    }

    #[test]
    fn an_unknown_user_falls_back_to_capabilities() {
        let a = analyze(
            "/e.sh",
            CHOWN_THEN_DROP
                .replace("gosu app", "gosu nobody-here")
                .as_str(),
        );
        assert_eq!(
            caps(&decide("e.sh", &a, &known)),
            ["CHOWN", "SETUID", "SETGID"]
        );
    }
}
