//! Shell words: a command line split the way `/bin/sh -c` splits it, well
//! enough to find the program a Dockerfile runs (quotes removed, `$(...)`
//! and backticks kept whole, comments dropped). It evaluates nothing.

/// Split a shell command line into its simple commands (at `&&`, `||`,
/// `;`, `|`, `&` and line breaks), each a list of words with quotes removed.
/// `$(...)` and backticks stay inside their word.
pub fn commands(s: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    let end_word = |words: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(&n) = chars.peek() {
                                if matches!(n, '"' | '\\' | '$' | '`') {
                                    word.push(n);
                                    chars.next();
                                    continue;
                                }
                            }
                            word.push('\\');
                        }
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(n) => word.push(n),
                    None => {}
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                in_word = true;
                word.push('$');
                let mut depth = 0usize;
                for q in chars.by_ref() {
                    word.push(q);
                    match q {
                        '(' => depth += 1,
                        ')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '`' => {
                in_word = true;
                word.push('`');
                for q in chars.by_ref() {
                    word.push(q);
                    if q == '`' {
                        break;
                    }
                }
            }
            '#' if !in_word => {
                // A comment runs to the end of the line.
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                end_word(&mut words, &mut word, &mut in_word);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            ';' | '&' | '|' | '\n' => {
                end_word(&mut words, &mut word, &mut in_word);
                if matches!(c, '&' | '|') && chars.peek() == Some(&c) {
                    chars.next();
                }
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() => end_word(&mut words, &mut word, &mut in_word),
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut words, &mut word, &mut in_word);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// The last component of a program path: `/usr/bin/tini` is `tini`.
pub fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// `NAME=value`: a variable set for the command, not the command.
pub fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_split_into_commands() {
        assert_eq!(
            commands("cd /app && exec python 'my app.py' --name \"a \\\"b\\\"\""),
            vec![
                vec!["cd", "/app"],
                vec!["exec", "python", "my app.py", "--name", "a \"b\""]
            ]
        );
        assert_eq!(
            commands("[ \"$(id -u)\" -eq 0 ] || exit 1; run # a comment\nnext"),
            vec![
                vec!["[", "$(id -u)", "-eq", "0", "]"],
                vec!["exit", "1"],
                vec!["run"],
                vec!["next"]
            ]
        );
        assert!(commands("").is_empty());
        // Unbalanced quotes and substitutions end at the end of the text.
        assert_eq!(commands("echo 'open"), vec![vec!["echo", "open"]]);
        assert_eq!(commands("x $(a (b"), vec![vec!["x", "$(a (b"]]);
    }

    #[test]
    fn basenames_and_assignments() {
        assert_eq!(basename("/usr/bin/tini"), "tini");
        assert_eq!(basename("node"), "node");
        assert!(is_assignment("PORT=8000"));
        assert!(is_assignment("_A1="));
        assert!(!is_assignment("1A=x"));
        assert!(!is_assignment("=x"));
        assert!(!is_assignment("--port=1"));
        assert!(!is_assignment("python"));
    }
}
