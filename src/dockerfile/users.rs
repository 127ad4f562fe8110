//! Users in a Dockerfile: whether a user spec is root, the users its RUN
//! steps create, the name harden gives a user it creates, and whether the
//! stage drops privileges itself. Facts about the file, for the plan and
//! the rules alike.

use crate::baseimage;
use crate::dockerfile::Form;

/// `root`, `0`, `root:root`, `0:0`, `0:1000` ...: the user part is root.
pub fn is_root_user(spec: &str) -> bool {
    let user = spec.trim().split(':').next().unwrap_or("").trim();
    user == "root" || user == "0"
}

/// A user created by a `useradd`/`adduser` in the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedUser {
    pub name: String,
    pub uid: Option<u32>,
    /// The command creates a home directory (`useradd -m`, `adduser`
    /// without `-H`/`--no-create-home`).
    pub has_home: bool,
    /// 1-based line of the RUN that creates it.
    pub line: usize,
}

/// What harden knows about user and privilege commands: data, in
/// templates/users.toml.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Knowledge {
    user_commands: UserCommands,
    privilege_droppers: PrivilegeDroppers,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct UserCommands {
    programs: Vec<String>,
    value_flags: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivilegeDroppers {
    programs: Vec<String>,
    installed: Vec<String>,
    inits: Vec<(String, String)>,
}

/// `templates/users.toml` as build.rs converts it to JSON: what a run parses
/// (several times faster than TOML).
const KNOWLEDGE_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/users.json"));
/// The file as written, which the tests compare the JSON copy with.
#[cfg(test)]
const KNOWLEDGE: &str = include_str!("../../templates/users.toml");

/// The embedded file is part of the binary and a test parses it, so a
/// broken one is a build defect: it reads as empty rather than panicking.
fn knowledge() -> &'static Knowledge {
    static LOADED: std::sync::OnceLock<Knowledge> = std::sync::OnceLock::new();
    LOADED.get_or_init(|| serde_json::from_str(KNOWLEDGE_JSON).unwrap_or_default())
}

/// Users created by shell commands in `script`.
pub fn users_created_by(script: &str, line: usize) -> Vec<CreatedUser> {
    let mut out = Vec::new();
    let cleaned = script.replace(['\\', '`'], " ");
    for cmd in cleaned.split(['&', ';', '|', '\n', '(', ')']) {
        let mut words = cmd.split_whitespace().peekable();
        // `sudo`, `exec` and friends in front do not change the command.
        while words
            .peek()
            .is_some_and(|w| matches!(*w, "sudo" | "exec" | "command" | "then" | "do" | "else"))
        {
            words.next();
        }
        let Some(tool) = words.next() else { continue };
        let tool = tool.rsplit('/').next().unwrap_or(tool);
        if !knowledge().user_commands.programs.iter().any(|p| p == tool) {
            continue;
        }
        let mut uid = None;
        let mut name = None;
        // useradd creates no home unless asked; both adduser tools do unless told not to.
        let mut has_home = tool == "adduser";
        while let Some(w) = words.next() {
            match w {
                "-m" | "--create-home" => has_home = true,
                "-M" | "--no-create-home" | "-H" => has_home = false,
                // A home the author chose (`-d /data/git`) is theirs to keep,
                // created or not: HOME is not pointed elsewhere.
                _ if w.starts_with("--home") || w == "-d" || (tool == "adduser" && w == "-h") => {
                    has_home = true
                }
                _ => {}
            }
            if let Some((flag, value)) = w.split_once('=').filter(|(f, _)| f.starts_with("--")) {
                if flag == "--uid" {
                    uid = value.parse().ok();
                }
                continue;
            }
            if knowledge().user_commands.value_flags.iter().any(|f| f == w) {
                let v = words.next();
                if w == "-u" || w == "--uid" {
                    uid = v.and_then(|v| v.trim_matches(['"', '\'']).parse().ok());
                }
                continue;
            }
            if w.starts_with('-') {
                continue;
            }
            name = Some(w.trim_matches(['"', '\'']).to_string());
            break;
        }
        // Only a real user name: not root, not a number, not a variable.
        if let Some(name) = name.filter(|n| baseimage::is_safe_user_name(n) && !is_root_user(n)) {
            out.push(CreatedUser {
                name,
                uid,
                line,
                has_home,
            });
        }
    }
    out
}

/// The name of a user harden creates, from the `user-name` pattern
/// (`{service}`, `{folder}`; the service falls back to the folder).
pub fn user_name(pattern: &str, service: Option<&str>, folder: Option<&str>) -> String {
    let service = service.or(folder).unwrap_or("");
    let raw = pattern
        .replace("{service}", service)
        .replace("{folder}", folder.unwrap_or(""));
    user_name_for(Some(&raw))
}

/// The user name harden creates: the service's name (or the folder's),
/// made a valid user name.
pub fn user_name_for(hint: Option<&str>) -> String {
    let mut name: String = hint
        .unwrap_or("")
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_string();
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        name = format!(
            "app{}",
            if name.is_empty() {
                String::new()
            } else {
                format!("-{name}")
            }
        );
    }
    name.truncate(32);
    let name = name.trim_end_matches('-').to_string();
    // A service or folder named `root` must not make the user root.
    if name == "root" {
        return "app-root".to_string();
    }
    if baseimage::is_safe_user_name(&name) {
        name
    } else {
        "app".to_string()
    }
}

/// A privilege-dropping tool the stage itself installs or starts with
/// (gosu, su-exec, setpriv, s6-overlay's /init): the author starts as root
/// on purpose and switches user later.
pub fn drops_privileges_itself(
    df: &crate::dockerfile::Dockerfile,
    chain: &[usize],
) -> Option<&'static str> {
    let tools = &knowledge().privilege_droppers;
    let instructions = chain
        .iter()
        .filter_map(|s| df.stages.get(*s))
        .flat_map(|s| df.instructions[s.instructions.clone()].iter());
    for ins in instructions {
        let words: Vec<&str> = match &ins.form {
            Form::Exec(v) => v.iter().map(String::as_str).collect(),
            Form::Shell => ins.args.split_whitespace().collect(),
        };
        let program = |w: &str| {
            w.trim_matches(['"', '\'', ';', '&'])
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string()
        };
        match ins.keyword.as_str() {
            "ENTRYPOINT" | "CMD" => {
                if let Some(t) = words
                    .iter()
                    .find_map(|w| tools.programs.iter().find(|t| program(w) == **t))
                {
                    return Some(t);
                }
                if let Some((_, named)) = words
                    .first()
                    .and_then(|w| tools.inits.iter().find(|(init, _)| init == w))
                {
                    return Some(named);
                }
            }
            // Installing one is a clear sign it is used at start-up.
            "RUN" if words.iter().any(|w| matches!(*w, "install" | "add")) => {
                if let Some(t) = words
                    .iter()
                    .find_map(|w| tools.installed.iter().find(|t| program(w) == **t))
                {
                    return Some(t);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knowledge_file_parses() {
        let k: Knowledge = toml::from_str(KNOWLEDGE).expect("templates/users.toml parses");
        assert_eq!(
            format!("{k:?}"),
            format!("{:?}", knowledge()),
            "the JSON copy"
        );
        assert!(k.user_commands.value_flags.iter().any(|f| f == "--uid"));
        assert!(k
            .privilege_droppers
            .installed
            .iter()
            .all(|i| k.privilege_droppers.programs.contains(i)));
    }

    #[test]
    fn users_in_scripts() {
        let u = users_created_by(
            "groupadd -r app && useradd --no-log-init -r -g app -u 1001 app",
            3,
        );
        assert_eq!(
            u,
            vec![CreatedUser {
                name: "app".into(),
                uid: Some(1001),
                line: 3,
                has_home: false,
            }]
        );
        assert!(users_created_by("useradd -m -u 1500 worker", 1)[0].has_home);
        let u = users_created_by("addgroup -S web && adduser -S -D -H -h /srv -G web web", 1);
        assert_eq!(u[0].name, "web");
        let u = users_created_by("adduser --system --uid=999 --group worker", 1);
        assert_eq!((u[0].name.as_str(), u[0].uid), ("worker", Some(999)));
        assert!(users_created_by("apt-get install -y adduser", 1).is_empty());
        assert!(users_created_by("useradd -m $APP_USER", 1).is_empty());
        // Found by fuzzing: a garbled line must not make `0` a user to switch to.
        assert!(users_created_by("useradd --,0out/<<a", 1).is_empty());
        assert!(users_created_by("useradd 00", 1).is_empty());
    }

    #[test]
    fn user_names() {
        assert_eq!(user_name_for(Some("Web API")), "web-api");
        assert_eq!(user_name_for(Some("2fa")), "app-2fa");
        assert_eq!(user_name_for(None), "app");
        assert_eq!(user_name_for(Some("ocr_service")), "ocr_service");
        assert_eq!(user_name_for(Some("root")), "app-root");
        assert_eq!(user_name_for(Some("Root")), "app-root");
        assert_eq!(user_name_for(Some("root-")), "app-root");
    }

    #[test]
    fn root_spellings() {
        for u in ["root", "0", "0:0", "root:root", " 0:1000"] {
            assert!(is_root_user(u), "{u}");
        }
        for u in ["1000", "app", "1000:0", "rootless", "10"] {
            assert!(!is_root_user(u), "{u}");
        }
    }
}
