//! The root canary itself: whether an entry source already warns when it
//! runs as uid 0, and the ready snippet (from `templates/canary/`) a note
//! shows when it does not. The check is a reading of the code, not a
//! parser: a uid read (`os.geteuid()`, `process.getuid()`, `id -u`...)
//! compared with zero, directly or through the variable it is assigned to.

use crate::dockerfile::entry::Lang;

/// The snippet is chosen by the entry's language; these live here rather
/// than beside `Lang` because only the canary rule and `harden explain
/// --lang` need them.
impl Lang {
    /// The ready snippet, from templates/canary/.
    pub fn snippet(self) -> &'static str {
        match self {
            Lang::Python => include_str!("../../../templates/canary/python.py"),
            Lang::Node => include_str!("../../../templates/canary/node.js"),
            Lang::Go => include_str!("../../../templates/canary/go.go"),
            Lang::Java => include_str!("../../../templates/canary/java.java"),
            Lang::Sh => include_str!("../../../templates/canary/sh.sh"),
            Lang::Ruby => include_str!("../../../templates/canary/ruby.rb"),
        }
    }

    /// Where the snippet goes, said in the note that shows it.
    pub fn placement(self, file: &str) -> String {
        match self {
            Lang::Go => format!("add this file next to `{file}` as canary.go"),
            Lang::Java => "add this class and call `RootCanary.warn(...)` first in main()".into(),
            _ => format!("add this at the start of `{file}`"),
        }
    }
}

/// The lines of code, comments removed (a `#` or `//` outside quotes, and
/// `/* */` blocks for Node and Go).
fn code_lines(lang: Lang, text: &str) -> Vec<String> {
    let hash = matches!(lang, Lang::Python | Lang::Sh | Lang::Ruby);
    let mut out = Vec::new();
    let mut in_block = false;
    for raw in text.lines() {
        let mut line = String::new();
        let mut quote: Option<char> = None;
        let mut chars = raw.chars().peekable();
        let mut prev = ' ';
        while let Some(c) = chars.next() {
            if in_block {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    in_block = false;
                }
                continue;
            }
            match quote {
                Some(q) => {
                    if c == '\\' {
                        line.push(c);
                        if let Some(n) = chars.next() {
                            line.push(n);
                        }
                        continue;
                    }
                    if c == q {
                        quote = None;
                    }
                }
                None => {
                    if matches!(c, '"' | '\'' | '`') {
                        quote = Some(c);
                    } else if (hash && c == '#' && prev.is_whitespace())
                        || (!hash && c == '/' && chars.peek() == Some(&'/'))
                    {
                        break;
                    } else if !hash && c == '/' && chars.peek() == Some(&'*') {
                        chars.next();
                        in_block = true;
                        continue;
                    }
                }
            }
            // Shell command substitution and backticks are code, not strings.
            if lang == Lang::Sh && quote == Some('`') {
                quote = None;
            }
            line.push(c);
            prev = c;
        }
        if !line.trim().is_empty() {
            out.push(line);
        }
    }
    out
}

/// The expressions that read the uid, per language.
fn uid_reads(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python => &["getuid()", "geteuid()"],
        Lang::Node => &["getuid()", "geteuid()", "getuid?.()", "geteuid?.()"],
        Lang::Go => &["Getuid()", "Geteuid()"],
        Lang::Sh => &["id -u", "id -un", "$EUID", "${EUID}", "$UID", "${UID}"],
        Lang::Java => &["getUid()"],
        Lang::Ruby => &[
            "Process.uid",
            "Process.euid",
            "Process::Sys.getuid",
            "Process::Sys.geteuid",
            "Process::UID.eid",
        ],
    }
}

const OPS: &[&str] = &["===", "!==", "==", "!=", "-eq", "-ne", "="];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `0` or `root`, not followed by more of a word or number.
fn starts_with_zero(s: &str) -> bool {
    let s = s.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\''));
    ["0", "root"].iter().any(|lit| {
        s.strip_prefix(lit)
            .is_some_and(|r| !r.starts_with(|c: char| is_word_char(c) || c == '.'))
    })
}

fn ends_with_zero(s: &str) -> bool {
    let s = s.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\''));
    ["0", "root"].iter().any(|lit| {
        s.strip_suffix(lit)
            .is_some_and(|r| !r.ends_with(|c: char| is_word_char(c) || c == '.'))
    })
}

/// What precedes a uid read, without its receiver (`os.`, `process.`,
/// `/usr/bin/`) and the opening of a substitution or call.
fn before_read(lang: Lang, before: &str) -> &str {
    let b = before
        .trim_end_matches(|c: char| is_word_char(c) || c == '.' || (lang == Lang::Sh && c == '/'));
    b.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '$' | '(' | '`'))
}

/// Whether the uid read at `line[start..end]` is compared with zero (or
/// tested for truth, where the language allows).
fn compared_with_zero(lang: Lang, line: &str, start: usize, end: usize) -> bool {
    let (Some(before), Some(after)) = (line.get(..start), line.get(end..)) else {
        return false;
    };
    let after = after.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '`' | '}')
    });
    if OPS
        .iter()
        .any(|op| after.strip_prefix(op).is_some_and(starts_with_zero))
    {
        return true;
    }
    let before = before_read(lang, before);
    if OPS
        .iter()
        .any(|op| before.strip_suffix(op).is_some_and(ends_with_zero))
    {
        return true;
    }
    // Ruby's `Process.euid.zero?`.
    if lang == Lang::Ruby && after.starts_with(".zero?") {
        return true;
    }
    // Truthiness (`if not os.geteuid():`) only when nothing compares the value.
    if after.starts_with(['=', '!', '<', '>', '-']) {
        return false;
    }
    match lang {
        Lang::Python => {
            let b = before.trim_end_matches(|c: char| c.is_whitespace() || c == '(');
            b.ends_with("not") || b.ends_with("if") || b.ends_with("elif")
        }
        Lang::Node => {
            let b = before.trim_end();
            b.ends_with('!') || b.ends_with("if (") || b.ends_with("if(")
        }
        Lang::Sh => before.trim_end().ends_with("case") && after.starts_with("in"),
        _ => false,
    }
}

/// The variable a uid read is assigned to: `uid = os.getuid()`,
/// `uid := os.Getuid()`, `const uid = process.getuid()`, `uid=$(id -u)`.
fn assigned_name(lang: Lang, before: &str) -> Option<String> {
    let b = before_read(lang, before).trim_end();
    let b = b.strip_suffix(":=").or_else(|| b.strip_suffix('='))?;
    if b.ends_with(['=', '!', '<', '>']) {
        return None;
    }
    let b = b.trim_end();
    let name: String = b
        .chars()
        .rev()
        .take_while(|&c| is_word_char(c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// Whether a comment carries harden's marker: the canary `fix --canary`
/// inserts, and any the author marks the same way.
fn has_marker(lang: Lang, text: &str) -> bool {
    let lead = match lang {
        Lang::Python | Lang::Sh | Lang::Ruby => "#",
        Lang::Node | Lang::Go | Lang::Java => "//",
    };
    text.lines().any(|l| {
        l.trim_start()
            .strip_prefix(lead)
            .is_some_and(|c| c.trim_start().starts_with(crate::canary::MARKER))
    })
}

/// Java's usual check reads the user's name, not the uid:
/// `"root".equals(System.getProperty("user.name"))`, either way round.
fn java_user_name_is_root(code: &[String]) -> bool {
    code.iter().any(|l| {
        let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        let read = "System.getProperty(\"user.name\")";
        l.contains(&format!("\"root\".equals({read})"))
            || l.contains(&format!("{read}.equals(\"root\")"))
    })
}

/// Whether a source already warns (or refuses) when it runs as uid 0.
pub fn has_canary(lang: Lang, text: &str) -> bool {
    if has_marker(lang, text) {
        return true;
    }
    let code = code_lines(lang, text);
    if lang == Lang::Java && java_user_name_is_root(&code) {
        return true;
    }
    let reads = uid_reads(lang);
    let mut vars: Vec<String> = Vec::new();
    for line in &code {
        for read in reads {
            for (pos, _) in line.match_indices(read) {
                let end = pos + read.len();
                // `id -u` is not `id -un`, and `$UID` is not `$UIDS`.
                if line[end..].starts_with(|c: char| is_word_char(c))
                    && read.ends_with(is_word_char)
                {
                    continue;
                }
                if compared_with_zero(lang, line, pos, end) {
                    return true;
                }
                if let Some(name) = assigned_name(lang, &line[..pos]) {
                    vars.push(name);
                }
            }
        }
    }
    if lang == Lang::Sh
        && code
            .iter()
            .any(|l| l.contains("case") && reads.iter().any(|r| l.contains(r)))
        && code.iter().any(|l| {
            let t = l.trim_start().trim_start_matches(['"', '\'', '(']);
            t.starts_with("0)")
                || t.starts_with("0\")")
                || t.starts_with("0'")
                || t.starts_with("0|")
        })
    {
        return true;
    }
    for var in &vars {
        let refs = if lang == Lang::Sh {
            vec![format!("${var}"), format!("${{{var}}}")]
        } else {
            vec![var.clone()]
        };
        for line in &code {
            for r in &refs {
                for (pos, _) in line.match_indices(r.as_str()) {
                    let end = pos + r.len();
                    let before_ok = !line[..pos].ends_with(|c: char| is_word_char(c) || c == '.');
                    let after_ok = !line[end..].starts_with(is_word_char);
                    if before_ok && after_ok && compared_with_zero(lang, line, pos, end) {
                        return true;
                    }
                }
            }
        }
    }
    false
}
