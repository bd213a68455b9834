//! A finished summary and how it is shown in Slack.

use serde_json::{Value, json};
use url::Url;

use crate::slack::mrkdwn::escape;

/// The outcome of `/summarize`: the page's title, its most central sentences in document order,
/// and where the page was found after redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub title: String,
    pub sentences: Vec<String>,
    pub url: Url,
}

impl Summary {
    /// The summary as one mrkdwn message: bold title, a bullet per sentence, the source link.
    pub fn to_slack_text(&self) -> String {
        let mut text = format!("*{}*\n", escape(&self.title));
        for sentence in &self.sentences {
            text.push_str(&bullet(sentence));
            text.push('\n');
        }
        text.push_str(&self.source_line());
        text
    }

    /// A Slack message body (`text` for notifications, `blocks` for display) ready for
    /// `chat.postMessage` or a response URL; the caller adds `channel` or `response_type`.
    /// Each sentence gets its own section so no section nears Slack's 3,000-character limit.
    pub fn to_slack_blocks(&self) -> Value {
        let mut blocks = vec![mrkdwn_section(format!("*{}*", escape(&self.title)))];
        blocks.extend(
            self.sentences
                .iter()
                .map(|sentence| mrkdwn_section(bullet(sentence))),
        );
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": self.source_line() }],
        }));
        json!({
            "text": self.to_slack_text(),
            "blocks": blocks,
            // The summary stands in for the page; an unfurl would repeat it.
            "unfurl_links": false,
            "unfurl_media": false,
        })
    }

    /// `Source: <url|title>`, with the URL made safe to sit inside Slack's link syntax.
    fn source_line(&self) -> String {
        let url = escape(self.url.as_str()).replace('|', "%7C");
        format!("Source: <{url}|{}>", escape(&self.title))
    }
}

fn bullet(sentence: &str) -> String {
    format!("• {}", escape(sentence))
}

fn mrkdwn_section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            title: "Fish & <Chips>".to_owned(),
            sentences: vec![
                "Cod costs <!channel> more.".to_owned(),
                "Plaice is 5 > 4 & cheaper.".to_owned(),
            ],
            url: Url::parse("https://example.com/a?b=1&c=x|y").expect("URL"),
        }
    }

    #[test]
    fn text_has_bold_title_bullets_and_an_escaped_source_link() {
        assert_eq!(
            summary().to_slack_text(),
            "*Fish &amp; &lt;Chips&gt;*\n\
             • Cod costs &lt;!channel&gt; more.\n\
             • Plaice is 5 &gt; 4 &amp; cheaper.\n\
             Source: <https://example.com/a?b=1&amp;c=x%7Cy|Fish &amp; &lt;Chips&gt;>"
        );
    }

    #[test]
    fn blocks_hold_title_one_section_per_sentence_and_the_source() {
        let message = summary().to_slack_blocks();

        let blocks = message["blocks"].as_array().expect("blocks");
        assert_eq!(blocks.len(), 4);
        assert_eq!(blocks[0]["text"]["text"], "*Fish &amp; &lt;Chips&gt;*");
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        assert_eq!(
            blocks[1]["text"]["text"],
            "• Cod costs &lt;!channel&gt; more."
        );
        assert_eq!(blocks[3]["type"], "context");
        assert_eq!(
            blocks[3]["elements"][0]["text"],
            "Source: <https://example.com/a?b=1&amp;c=x%7Cy|Fish &amp; &lt;Chips&gt;>"
        );
        assert_eq!(message["text"], summary().to_slack_text());
        assert_eq!(message["unfurl_links"], false);
    }
}
