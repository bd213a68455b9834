//! Free text from the public (names, mostly) as Lobby stores it: one line, no control characters
//! and no bidirectional overrides, so a name cannot reorder what an admin reads beside it or break
//! a log line, a mail header or a Slack message.

/// Invisible formatting characters that change how text around them is shown: the bidi embeddings,
/// overrides and isolates, the directional marks, and zero-width joiners and spaces.
fn is_format_trick(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}'
        | '\u{061C}'
        | '\u{FEFF}'
    )
}

/// The text with control and bidi characters removed, runs of whitespace collapsed to one space,
/// trimmed, and cut to at most `max_chars` characters.
pub fn clean_line(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut pending_space = false;
    let mut count = 0;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_format_trick(c) {
            continue;
        }
        if pending_space {
            if count + 1 >= max_chars {
                break;
            }
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        if count >= max_chars {
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_go_and_whitespace_collapses() {
        assert_eq!(clean_line("  Ada \t\n Lovelace  ", 100), "Ada Lovelace");
        assert_eq!(clean_line("evil\u{202E}gnp.exe", 100), "evilgnp.exe");
        assert_eq!(
            clean_line("a\u{0007}b\u{2066}c\u{200B}d\r\ne", 100),
            "abcd e"
        );
        assert_eq!(clean_line("", 100), "");
    }

    #[test]
    fn the_cut_counts_characters() {
        assert_eq!(clean_line("äöü äöü", 5), "äöü ä");
        assert_eq!(clean_line("abc def", 4), "abc");
        assert_eq!(clean_line(&"x".repeat(500), 100).chars().count(), 100);
    }
}
