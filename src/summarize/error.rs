//! Why a link could not be summarized, worded for the person who pasted it.
//!
//! Messages never repeat the URL: its query string may carry someone's token. They are plain
//! text and may quote a host name or content type the site chose, so escape them
//! (`slack::mrkdwn::escape`) before putting them in a Slack message.

use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SummarizeError {
    #[error(
        "That doesn't look like a web address. Try a full link such as https://example.com/article."
    )]
    InvalidUrl,
    #[error("Only http:// and https:// links can be summarized, not {scheme}:.")]
    SchemeNotAllowed { scheme: String },
    #[error("That link points to a private or reserved network address, which is not fetched.")]
    PrivateAddress,
    #[error("Only links on the web's ports (80 and 443) are fetched, not port {port}.")]
    PortNotAllowed { port: u16 },
    #[error("The site's name ({host}) could not be found.")]
    DnsFailed { host: String },
    #[error("The site could not be reached.")]
    Unreachable,
    #[error("The site did not answer within {} seconds.", .after.as_secs_f64())]
    Timeout { after: Duration },
    #[error("The page is larger than {}, too large to summarize.", size(*.max_bytes))]
    TooLarge { max_bytes: usize },
    #[error("The link redirects more than {max} times.")]
    TooManyRedirects { max: u8 },
    #[error("That link is not a web page or plain text (it is {content_type}).")]
    NotHtmlOrText { content_type: String },
    #[error("The site answered with HTTP status {0}.")]
    HttpStatus(u16),
    #[error("The page could not be read.")]
    UnreadablePage,
    #[error("The page has too little text to summarize.")]
    TooLittleText,
}

/// A byte count in binary units, the way the limits are set: "2 MiB", "512 KiB".
fn size(bytes: usize) -> String {
    const KB: usize = 1024;
    const MB: usize = 1024 * KB;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MiB", bytes / MB)
    } else if bytes >= KB {
        format!("{} KiB", bytes.div_ceil(KB))
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_stated_in_human_units() {
        assert_eq!(
            SummarizeError::TooLarge {
                max_bytes: 2 * 1024 * 1024
            }
            .to_string(),
            "The page is larger than 2 MiB, too large to summarize."
        );
        assert_eq!(
            SummarizeError::Timeout {
                after: Duration::from_secs(10)
            }
            .to_string(),
            "The site did not answer within 10 seconds."
        );
    }
}
