//! Java: the canary is the first statement of `main`, so it runs before
//! anything the program does; the single-file source launch (`java
//! App.java`) is what harden can find and edit.

use super::{block, Lines, Placed};
use crate::dockerfile::entry::Lang;
use crate::edit::Edit;

/// The code of a line, its `//` comment removed (a `//` inside a string
/// ends it early, which at worst makes harden refuse).
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("").trim_end()
}

/// The line of the `main` method's declaration and the line its body
/// opens on (`{` last on that line).
fn main_method(lines: &Lines<'_>) -> Result<(usize, usize), String> {
    let mut in_comment = false;
    let mut found = None;
    for i in 0..lines.len() {
        let t = lines.get(i).unwrap_or("").trim();
        if in_comment {
            in_comment = !t.contains("*/");
            continue;
        }
        if t.starts_with("/*") {
            in_comment = !t.contains("*/");
            continue;
        }
        let c = code(t);
        let words: Vec<&str> = c
            .split(|ch: char| ch.is_whitespace() || ch == '(')
            .collect();
        if words.contains(&"static") && words.contains(&"void") && c.contains("main(") {
            found = Some(i);
            break;
        }
    }
    let m = found.ok_or("no `static void main` method")?;
    for j in m..lines.len().min(m + 4) {
        let c = code(lines.get(j).unwrap_or(""));
        if c.ends_with('{') {
            return Ok((m, j));
        }
        if c.contains('{') {
            return Err(format!(
                "the body of `main` goes on after `{{` on line {}",
                j + 1
            ));
        }
        if c.contains(';') || c.contains('}') {
            break;
        }
    }
    Err(format!(
        "the body of `main` (line {}) does not open with `{{` at the end of a line",
        m + 1
    ))
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

pub(super) fn insert(text: &str, lines: &Lines<'_>) -> Result<Placed, String> {
    let (m, open) = main_method(lines)?;
    let eol = crate::source::eol_of(text);
    let main_indent = indent_of(lines.get(m).unwrap_or(""));
    let next = ((open + 1)..lines.len()).find(|&k| !lines.is_blank(k));
    let body_indent = match next.and_then(|k| lines.get(k)) {
        Some(l) if indent_of(l).len() > main_indent.len() && !l.trim().starts_with('}') => {
            indent_of(l).to_string()
        }
        _ => {
            let unit = super::indent_unit(lines).unwrap_or_else(|| "    ".into());
            format!("{main_indent}{unit}")
        }
    };
    let mut s = block(
        Lang::Java,
        text,
        lines,
        super::template(Lang::Java),
        &body_indent,
    );
    if lines
        .get(open + 1)
        .is_some_and(|l| !l.trim().is_empty() && !l.trim().starts_with('}'))
    {
        s.push_str(eol);
    }
    Ok(Placed {
        edits: vec![Edit::insert(lines.start(open + 1), s)],
        line: open + 2,
        after: "first in `main`",
    })
}

/// `{` minus `}` outside strings, characters and comments.
pub(super) fn balance(text: &str) -> i64 {
    let mut n = 0i64;
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    let (mut line_comment, mut block_comment) = (false, false);
    while let Some(c) = chars.next() {
        if line_comment {
            line_comment = c != '\n';
            continue;
        }
        if block_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                block_comment = false;
            }
            continue;
        }
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q || (c == '\n' && q != '`') {
                quote = None;
            }
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => line_comment = true,
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                block_comment = true;
            }
            '"' | '\'' | '`' => quote = Some(c),
            '{' => n += 1,
            '}' => n -= 1,
            _ => {}
        }
    }
    n
}

/// The edited file's `main` still opens where it did, and its braces
/// balance as before.
pub(super) fn recheck(old: &str, new: &str) -> Result<(), String> {
    let (old_lines, new_lines) = (Lines::of(old), Lines::of(new));
    let (m_old, _) = main_method(&old_lines)?;
    let (m_new, _) = main_method(&new_lines)?;
    if old_lines.get(m_old) != new_lines.get(m_new) || m_old != m_new {
        return Err("the `main` method would move".into());
    }
    if balance(new) != balance(old) {
        return Err("the braces would not balance".into());
    }
    Ok(())
}
