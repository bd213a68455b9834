//! Why a post failed: a code (Slack's where Slack refused), an HTTP status, and a sentence.

use std::time::Duration;

use crate::slack::client::SlackError;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// The request itself is wrong (no text, a bad field); nothing was sent to Slack.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// No channel of that name is visible to the bot.
    #[error("there is no channel {0:?} that the bot can see in this workspace")]
    ChannelNotFound(String),
    /// Slack refused, or could not be reached.
    #[error(transparent)]
    Slack(#[from] SlackError),
}

impl PostError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        PostError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// The machine-readable code: Slack's own (`channel_not_found`, `ratelimited`…) where Slack
    /// answered, `slack_unavailable` where it did not.
    pub fn code(&self) -> &str {
        match self {
            PostError::Invalid { code, .. } => code,
            PostError::ChannelNotFound(_) => "channel_not_found",
            PostError::Slack(e) => e.code().unwrap_or("slack_unavailable"),
        }
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self.code() {
            "channel_not_found" | "thread_not_found" => 404,
            "not_in_channel" | "restricted_action" | "cannot_reply_to_message" => 403,
            "is_archived" => 409,
            "file_too_large" => 413,
            "ratelimited" => 429,
            _ => match self {
                PostError::Invalid { .. } => 400,
                PostError::Slack(SlackError::Api { code, .. }) if is_callers_mistake(code) => 400,
                _ => 502,
            },
        }
    }

    /// A sentence for the person who ran the script; never a credential.
    pub fn message(&self) -> String {
        match self {
            PostError::Invalid { message, .. } => message.clone(),
            PostError::ChannelNotFound(name) => format!(
                "There is no channel {name:?} that the bot can see in this workspace \
                 (private channels need the bot invited first)."
            ),
            PostError::Slack(e) => slack_message(e),
        }
    }

    /// How long Slack asked us to wait, when it rate-limited the call.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PostError::Slack(e) => e.retry_after(),
            _ => None,
        }
    }

    pub fn slack_error(&self) -> Option<&SlackError> {
        match self {
            PostError::Slack(e) => Some(e),
            _ => None,
        }
    }
}

/// Slack codes that mean the message itself was wrong.
fn is_callers_mistake(code: &str) -> bool {
    matches!(
        code,
        "msg_too_long"
            | "no_text"
            | "invalid_blocks"
            | "invalid_blocks_format"
            | "too_many_attachments"
            | "invalid_thread_ts"
            | "invalid_arguments"
    )
}

fn slack_message(e: &SlackError) -> String {
    let code = e.code().unwrap_or_default();
    match code {
        "channel_not_found" => {
            "There is no such channel that the bot can see in this workspace.".into()
        }
        "not_in_channel" => "The bot is not in that channel and cannot join it by itself; \
                             invite it there first (/invite @Lobby)."
            .into(),
        "is_archived" => "That channel is archived.".into(),
        "msg_too_long" => "The text is too long: Slack takes at most 40,000 characters.".into(),
        "no_text" => "Send some text or blocks.".into(),
        "ratelimited" => format!(
            "Slack is rate-limiting this workspace; retry after {} seconds.",
            e.retry_after().unwrap_or_default().as_secs().max(1)
        ),
        "missing_scope" => format!(
            "The app lacks a permission it needs ({}); reinstall it to grant it.",
            match e {
                SlackError::Api {
                    needed: Some(needed),
                    ..
                } => needed.as_str(),
                _ => "a scope",
            }
        ),
        _ if e.is_auth_failure() => {
            "Slack no longer accepts this workspace's token; reinstall the app.".into()
        }
        _ if is_callers_mistake(code) => format!("Slack refused the message: {code}."),
        "" => "Slack could not be reached. Please try again in a moment.".into(),
        _ => format!("Slack refused the post: {code}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> PostError {
        PostError::Slack(SlackError::Api {
            method: "chat.postMessage".into(),
            code: code.into(),
            needed: None,
            provided: None,
        })
    }

    #[test]
    fn slack_codes_pass_through_with_fitting_statuses() {
        for (code, status) in [
            ("channel_not_found", 404),
            ("not_in_channel", 403),
            ("is_archived", 409),
            ("msg_too_long", 400),
            ("invalid_blocks", 400),
            ("invalid_auth", 502),
            ("fatal_error", 502),
        ] {
            let err = api(code);
            assert_eq!(err.code(), code);
            assert_eq!(err.status(), status, "{code}");
        }
    }

    #[test]
    fn a_rate_limit_keeps_its_wait() {
        let err = PostError::Slack(SlackError::RateLimited {
            method: "chat.postMessage".into(),
            retry_after: Duration::from_secs(42),
        });
        assert_eq!(err.code(), "ratelimited");
        assert_eq!(err.status(), 429);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(42)));
        assert!(err.message().contains("42 seconds"), "{}", err.message());
    }

    #[test]
    fn an_unreachable_slack_is_a_bad_gateway() {
        let err = PostError::Slack(SlackError::Timeout {
            method: "chat.postMessage".into(),
        });
        assert_eq!(err.code(), "slack_unavailable");
        assert_eq!(err.status(), 502);
    }

    #[test]
    fn an_unknown_name_says_which() {
        let err = PostError::ChannelNotFound("reslts".into());
        assert_eq!(err.code(), "channel_not_found");
        assert_eq!(err.status(), 404);
        assert!(err.message().contains("\"reslts\""));
    }
}
