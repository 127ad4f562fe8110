//! Text from the files harden reads (paths, service and image names,
//! values) on its way into a report. Anyone may have written those files,
//! and reports end up on terminals, in CI logs and in pull request bodies:
//! a name must not move the cursor, recolour a log, reorder what a reader
//! sees, render HTML or a link, or end the code span, table cell or patch
//! line it sits in. Every report escapes through this one module.

use std::borrow::Cow;

/// A character that must not reach a terminal, a log or a page as is: C0
/// and C1 controls and DEL (escape sequences, carriage returns, line
/// breaks), and the bidirectional overrides and isolates that make text
/// read differently from what it is (U+202A–U+202E, U+2066–U+2069).
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `c` as a visible escape: `\n`, `\r`, `\t`, else `\u{1b}`.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        _ => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// Text for one line of a terminal or log: every unsafe character,
/// line breaks included, written as a visible escape (`\u{1b}`, `\n`).
pub fn terminal(s: &str) -> Cow<'_, str> {
    terminal_keeping(s, &[])
}

/// [`terminal`], keeping the characters of `keep` as they are: line
/// breaks that a format encodes its own way (GitHub commands), tabs that
/// align a diff's lines.
pub fn terminal_keeping<'s>(s: &'s str, keep: &[char]) -> Cow<'s, str> {
    // Printable ASCII, the usual case, is safe: one pass over the bytes.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(s);
    }
    let unsafe_char = |c: char| is_unsafe(c) && !keep.contains(&c);
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Error messages quoting a file are cut to this many characters.
pub const MAX_MESSAGE: usize = 400;

/// At most `max` characters of untrusted text for an error message, with
/// `…` where it was cut, escaped as [`terminal`] does.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", terminal(text.get(..end).unwrap_or(text))),
        None => terminal(text).into_owned(),
    }
}

/// `s` as a name part of lower-case ASCII letters, digits and single
/// dashes, trimmed of dashes: a piece of a volume or image name made from
/// a path or a service name, which may hold `.`, `_`, `/` or upper case.
pub fn slug(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    mapped.trim_matches('-').to_string()
}

/// A source line shown in a code frame: each unsafe character becomes one
/// `�`, so the caret under it still lines up; tabs stay for the same
/// reason.
pub fn frame_line(line: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c != '\t' && is_unsafe(c);
    if !line.chars().any(unsafe_char) {
        return Cow::Borrowed(line);
    }
    line.chars()
        .map(|c| if unsafe_char(c) { '\u{fffd}' } else { c })
        .collect()
}

/// Why harden does not process a file at `path`, if it must not: a path
/// with a line break or another control character would break the line
/// it is reported on and the `--- a/PATH` header of a patch (`git apply`
/// cannot read it), and one that is not UTF-8 cannot be named in a patch
/// at all.
pub fn refuse_path(path: &std::path::Path) -> Option<String> {
    let Some(s) = path.to_str() else {
        return Some(
            "the path is not valid UTF-8: harden cannot name it in a patch or a report; rename the file"
                .into(),
        );
    };
    let c = s.chars().find(|&c| is_unsafe(c))?;
    let what = match c {
        '\n' | '\r' => "a line break",
        _ => "a control character",
    };
    Some(format!(
        "the path contains {what} ({}): harden does not process it, since it would break the report and the patch; rename the file",
        terminal(&c.to_string())
    ))
}

/// `s` as one word of a POSIX shell command a reader may copy: as it is
/// when it holds only characters no shell treats specially, else in single
/// quotes (a name like `x;rm -rf ~` is one argument, never a command).
pub fn shell_word(s: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._/:=@%+,-".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(format!("'{}'", s.replace('\'', "'\\''")))
}

/// The longest run of `ch` in `s`.
fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == ch { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// A markdown code fence that no run of backticks in `s` can close: one
/// backtick longer than the longest run inside, at least `min`.
pub fn md_fence(s: &str, min: usize) -> String {
    "`".repeat((longest_run(s, '`') + 1).max(min))
}

/// Markdown inline code showing `s` exactly: a fence longer than any run
/// of backticks inside, padded with a space where `s` starts or ends with a
/// backtick (or with a space, which the padding rule would eat), unsafe
/// characters escaped. Code spans render no HTML, links or emphasis.
pub fn md_code(s: &str) -> String {
    // Two backticks alone would be a run, not an empty span.
    if s.is_empty() {
        return "` `".into();
    }
    let s = terminal(s);
    let fence = md_fence(&s, 1);
    let pad = if s.starts_with(['`', ' ']) || s.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Markdown text for one line (a list item, a table cell) that renders as
/// the characters it holds: `<`, `>` and `&` as HTML entities (no tags,
/// no entities of its own), `[`, `]`, `` ` ``, `\` and `|` escaped (no
/// links, images or code spans, no new table cell), line breaks as spaces
/// and other unsafe characters as visible escapes.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // One line: a line break would end the list item or cell.
            '\n' | '\r' => out.push(' '),
            '[' | ']' | '`' | '\\' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c if is_unsafe(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Text inside an HTML element (a `<summary>`, where GitHub renders no
/// markdown): `&`, `<`, `>` and quotes as entities, unsafe characters as
/// visible escapes.
pub fn html_text(s: &str) -> String {
    terminal(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A message of harden's (which quotes names and values between single
/// backticks) as one line of markdown: each quoted part becomes a code span
/// that holds it exactly ([`md_code`]), the text between is [`md_text`].
/// A quote ends at the first backtick after it that is followed by the
/// end, a space or punctuation, so a quoted name that holds a backtick
/// stays whole. A backtick that ends no quote is text. So a code span is
/// never directly followed by another one (whose fences
/// would run together and pair up differently): whatever a name holds,
/// nothing of it can leave its code span or become markup; at worst the
/// split between code and text moves.
pub fn md_message(s: &str) -> String {
    let closes = |after: &str, at: usize| {
        after[at + 1..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || ":,.;)!?'\"".contains(c))
    };
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(open) = rest.find('`') {
        out.push_str(&md_text(&rest[..open]));
        let after = &rest[open + 1..];
        match after
            .match_indices('`')
            .map(|(i, _)| i)
            .find(|&i| closes(after, i))
        {
            Some(close) => {
                out.push_str(&md_code(&after[..close]));
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&md_text("`"));
                rest = after;
            }
        }
    }
    out.push_str(&md_text(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text_is_inert() {
        assert_eq!(
            html_text("<b>a & 'b\"</b>"),
            "&lt;b&gt;a &amp; &#39;b&quot;&lt;/b&gt;"
        );
        assert_eq!(html_text("a\x1bb"), terminal("a\x1bb"));
    }

    #[test]
    fn terminal_text_shows_escapes_instead_of_running_them() {
        assert_eq!(terminal("web"), "web");
        assert_eq!(terminal("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(terminal("a\nb\r\tc\u{7f}"), "a\\nb\\r\\tc\\u{7f}");
        assert_eq!(terminal("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(terminal("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(terminal("ü ✓"), "ü ✓");
        assert_eq!(
            terminal_keeping("a\nb\x07\t", &['\n', '\t']),
            "a\nb\\u{7}\t"
        );
    }

    #[test]
    fn frame_lines_keep_their_width() {
        assert_eq!(frame_line("\tRUN \x1b[31mx"), "\tRUN \u{fffd}[31mx");
        assert_eq!(frame_line("plain"), "plain");
    }

    #[test]
    fn paths_with_line_breaks_and_controls_are_refused() {
        use std::path::Path;
        assert_eq!(refuse_path(Path::new("svc/compose.yaml")), None);
        assert_eq!(refuse_path(Path::new("my dir/ü/Dockerfile")), None);
        let m = refuse_path(Path::new("a\nb/compose.yaml")).unwrap();
        assert!(m.contains("a line break (\\n)"), "{m}");
        let m = refuse_path(Path::new("a\x1b]0;x\x07/compose.yaml")).unwrap();
        assert!(m.contains("a control character (\\u{1b})"), "{m}");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let p = Path::new(std::ffi::OsStr::from_bytes(b"a\xff/compose.yaml"));
            assert!(refuse_path(p).unwrap().contains("UTF-8"));
        }
    }

    #[test]
    fn shell_words_are_one_argument() {
        assert_eq!(shell_word("web"), "web");
        assert_eq!(shell_word("1000:1000"), "1000:1000");
        assert_eq!(shell_word("/var/lib/data"), "/var/lib/data");
        assert_eq!(shell_word("x;rm -rf ~"), "'x;rm -rf ~'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("$(id)"), "'$(id)'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn inline_code_survives_backticks() {
        assert_eq!(md_code("a"), "`a`");
        assert_eq!(md_code(""), "` `");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_code("x``"), "``` x`` ```");
        assert_eq!(md_code(" x"), "`  x `");
        assert_eq!(md_code("<img src=x>"), "`<img src=x>`");
        assert_eq!(md_code("a\nb"), "`a\\nb`");
        assert_eq!(md_fence("a ``` b", 3), "````");
        assert_eq!(md_fence("a", 3), "```");
    }

    #[test]
    fn markdown_text_renders_no_markup() {
        assert_eq!(
            md_text("<img src=x onerror=alert(1)> & <details open>"),
            "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;details open&gt;"
        );
        assert_eq!(
            md_text("[click](https://example.com) | `x` \\"),
            "\\[click\\](https://example.com) \\| \\`x\\` \\\\"
        );
        assert_eq!(md_text("a\nb\x1b"), "a b\\u{1b}");
        assert_eq!(md_text("&amp;"), "&amp;amp;");
    }

    #[test]
    fn messages_keep_their_code_spans_and_lose_any_markup() {
        assert_eq!(
            md_message("service `web` runs `nginx` as root"),
            "service `web` runs `nginx` as root"
        );
        assert_eq!(
            md_message("service `<b>x</b>` & <i>y</i>"),
            "service `<b>x</b>` &amp; &lt;i&gt;y&lt;/i&gt;"
        );
        // A name with a backtick stays one code span, with a longer fence.
        assert_eq!(
            md_message("service `a`<img src=x>` runs"),
            "service ``a`<img src=x>`` runs"
        );
        assert_eq!(
            md_message("service `x`: `y` (`z`)."),
            "service `x`: `y` (`z`)."
        );
        // Where the split cannot be told, it moves; nothing becomes markup.
        assert_eq!(
            md_message("service `a` <b>` runs"),
            "service `a` &lt;b&gt;\\` runs"
        );
        assert_eq!(md_message("odd ` one"), "odd \\` one");
    }

    /// The text a markdown line shows outside its code spans, and the
    /// contents of those spans, read as CommonMark reads them.
    fn spans(line: &str) -> (String, Vec<String>) {
        let (mut text, mut code) = (String::new(), Vec::new());
        let mut rest = line;
        while let Some(open) = rest.find('`') {
            // A backslash-escaped backtick is text.
            if rest[..open].ends_with('\\') && !rest[..open].ends_with("\\\\") {
                text.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
                continue;
            }
            text.push_str(&rest[..open]);
            let run = rest[open..].chars().take_while(|&c| c == '`').count();
            let after = &rest[open + run..];
            let mut from = 0;
            let mut close = None;
            while let Some(i) = after[from..].find('`') {
                let at = from + i;
                let len = after[at..].chars().take_while(|&c| c == '`').count();
                if len == run {
                    close = Some(at);
                    break;
                }
                from = at + len;
            }
            match close {
                Some(at) => {
                    code.push(after[..at].to_string());
                    rest = &after[at + run..];
                }
                None => {
                    text.push_str(&rest[open..open + run]);
                    rest = after;
                }
            }
        }
        text.push_str(rest);
        (text, code)
    }

    proptest::proptest! {
        /// Whatever a name holds, a message quoting it renders no markup
        /// and no control character, on one line.
        #[test]
        fn any_name_is_inert_in_markdown(
            name in "[a-z`<>&|\\\\\\[\\]()!*_ \n\r\t\u{1b}\u{7f}\u{9b}\u{202e}]{0,12}",
        ) {
            let line = md_message(&format!("service `{name}` runs `nginx`: {name}"));
            proptest::prop_assert!(!line.contains(['\n', '\r']), "{}", line);
            proptest::prop_assert!(!line.chars().any(is_unsafe), "{}", line);
            let (text, code) = spans(&line);
            proptest::prop_assert!(!text.contains(['<', '>']), "{}", line);
            proptest::prop_assert!(!text.replace("\\]", "").contains("]("), "{}", line);
            // A name with a backtick may move the split; any other stays
            // in its own span.
            if !name.contains('`') {
                proptest::prop_assert!(code.iter().any(|c| c == "nginx"), "{}", line);
                let shown = if name.is_empty() { " ".to_string() } else { terminal(&name).into_owned() };
                proptest::prop_assert!(
                    code.iter().any(|c| c.trim() == shown.trim() || *c == shown),
                    "{}", line
                );
            }
            let t = terminal(&name);
            proptest::prop_assert!(!t.chars().any(is_unsafe), "{}", t);
        }
    }

    #[test]
    fn excerpts_are_escaped_and_cut() {
        assert_eq!(excerpt("a\x1b[31mb", 32), "a\\u{1b}[31mb");
        assert_eq!(excerpt(&"x".repeat(40), 32).chars().count(), 33);
        assert_eq!(excerpt("short", 32), "short");
    }

    #[test]
    fn slugs_are_name_parts() {
        assert_eq!(slug("Web_API.v2"), "web-api-v2");
        assert_eq!(slug("/var/lib/"), "var-lib");
        assert_eq!(slug("..."), "");
    }
}
