//! Forward scans over the text: where a scalar ends, given where it
//! starts and its style. Each looks at the scalar's own text only, so
//! building the tree stays linear in the size of the file.

pub(super) fn is_blank_or_break(b: Option<u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\t' | b'\r' | b'\n'))
}

pub(super) fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

/// End of a quoted scalar starting at `start` (its opening quote).
pub(super) fn quoted_end(text: &str, start: usize, quote: u8, escapes: bool) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        if escapes && c == b'\\' {
            i += 2;
        } else if c == quote {
            if !escapes && bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    text.len()
}

/// Where a plain scalar's text on one line stops (before trimming): at a
/// line break, `: `, ` #`, or in flow context a flow indicator.
pub(super) fn plain_line_stop(text: &str, from: usize, flow: bool) -> usize {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(&c) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        let stop = match c {
            b'\n' | b'\r' => true,
            b':' => is_blank_or_break(next) || (flow && next.is_some_and(is_flow_indicator)),
            b'#' => i > from && matches!(bytes.get(i - 1), Some(b' ' | b'\t')),
            c if flow && is_flow_indicator(c) => true,
            _ => false,
        };
        if stop {
            break;
        }
        i += 1;
    }
    i
}

/// End of a plain scalar: its lines are matched against the parsed value
/// (lines fold to one space, each blank line to a line break), so the scan
/// stops exactly where the scalar does, comments and next keys excluded.
pub(super) fn plain_end(text: &str, start: usize, value: &str, flow: bool) -> usize {
    let bytes = text.as_bytes();
    let mut rest = value;
    let mut pos = start;
    let mut end = start;
    loop {
        let stop = plain_line_stop(text, pos, flow);
        let seg = text
            .get(pos..stop)
            .unwrap_or("")
            .trim_end_matches([' ', '\t']);
        if seg.is_empty() || !rest.starts_with(seg) {
            if end == start {
                // Not what the parser read: keep at least the first line.
                end = pos + seg.len();
            }
            return end;
        }
        end = pos + seg.len();
        rest = &rest[seg.len()..];
        if rest.is_empty() {
            return end;
        }
        let breaks = rest.len() - rest.trim_start_matches('\n').len();
        if breaks > 0 {
            rest = &rest[breaks..];
        } else if let Some(r) = rest.strip_prefix(' ') {
            rest = r;
        } else {
            return end;
        }
        // Continue on the next line with text, past its indentation.
        let Some(nl) = text.get(end..).and_then(|r| r.find('\n')) else {
            return end;
        };
        pos = end + nl + 1;
        loop {
            while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                pos += 1;
            }
            match bytes.get(pos) {
                Some(b'\r') | Some(b'\n') => {
                    pos += if bytes.get(pos) == Some(&b'\r') { 2 } else { 1 };
                }
                Some(b'#') | None => return end,
                Some(_) => break,
            }
        }
    }
}

/// End of a block scalar (`|`/`>` at `start`): the end of its last
/// non-empty content line, or of its header when it has no content.
/// Content lines are those indented at least the content indentation,
/// which is explicit (`|2`) or that of the first non-empty line, and always
/// deeper than the enclosing block collection (`parent`, -1 at top level);
/// `#` lines inside count as content.
pub(super) fn block_scalar_end(text: &str, start: usize, parent: isize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    let mut explicit = None;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'+' | b'-' => {}
            b'1'..=b'9' => explicit = Some(usize::from(c - b'0')),
            _ => break,
        }
        i += 1;
    }
    let header_end = i;
    let floor = (parent + 1).max(0) as usize;
    let mut indent = explicit.map(|d| if parent >= 0 { parent as usize + d } else { d });
    let mut widest_blank = 0;
    let mut end = header_end;
    let Some(nl) = text.get(header_end..).and_then(|r| r.find('\n')) else {
        return end;
    };
    let mut p = header_end + nl + 1;
    while p < text.len() {
        let line_end = text
            .get(p..)
            .and_then(|r| r.find('\n'))
            .map_or(text.len(), |n| p + n);
        let line = text.get(p..line_end).unwrap_or("").trim_end_matches('\r');
        let spaces = line.len() - line.trim_start_matches(' ').len();
        let blank = line.trim_matches([' ', '\t']).is_empty();
        let n = match indent {
            Some(n) => n,
            None if blank => {
                widest_blank = widest_blank.max(spaces);
                p = line_end + 1;
                continue;
            }
            None => {
                let mut n = spaces.max(widest_blank).max(floor);
                if parent > 0 {
                    n = n.max(1);
                }
                indent = Some(n);
                n
            }
        };
        if !blank {
            if spaces < n {
                break;
            }
            if spaces == 0 && (line.starts_with("---") || line.starts_with("...")) {
                let after = line.as_bytes().get(3).copied();
                if is_blank_or_break(after) {
                    break;
                }
            }
            end = p + line.len();
        }
        p = line_end + 1;
    }
    end
}
