//! Putting people's words into Slack messages. Slack's message text is mrkdwn, where `<!channel>`,
//! `<@U…>`, `<#C…>` and `<url|text>` are live: a name typed into the join form, a word after a
//! mention or a page's title could ping everyone or disguise a link. Slack's required escaping
//! (`&`, `<`, `>`) turns them into plain text.

/// Escapes text for a mrkdwn (or plain `text`) field.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_links_become_plain_text() {
        assert_eq!(
            escape("a & b <@U123> <!here> <#C1> <https://x.test|y> c > d"),
            "a &amp; b &lt;@U123&gt; &lt;!here&gt; &lt;#C1&gt; &lt;https://x.test|y&gt; c &gt; d"
        );
    }
}
