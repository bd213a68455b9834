//! Answers to people in Slack: through a command's `response_url`, or in a thread as the bot.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::{ChannelId, TeamId};
use crate::installation_tokens::{self as tokens, TokenError};
use crate::jobs::{Job, JobKind, Outcome};
use crate::slack::client::SlackError;
use crate::state::AppState;

pub const REPLY_JOB: &str = "slack.reply";

/// A message for a person or a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Value>,
    /// Seen by the whole channel, not only by the person who asked.
    pub in_channel: bool,
}

impl Reply {
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            blocks: None,
            in_channel: false,
        }
    }

    pub fn in_channel(text: impl Into<String>, blocks: Option<Value>) -> Self {
        Reply {
            text: text.into(),
            blocks,
            in_channel: true,
        }
    }

    /// The body for a slash command's immediate answer or a `response_url` post.
    pub fn response_body(&self) -> Value {
        let mut body = json!({
            "response_type": if self.in_channel { "in_channel" } else { "ephemeral" },
            "text": self.text,
        });
        if let Some(blocks) = &self.blocks {
            body["blocks"] = blocks.clone();
        }
        body
    }
}

/// Where an answer goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyTo {
    /// A slash command's or a button's `response_url` (5 uses within 30 minutes).
    ResponseUrl { url: String },
    /// A thread, posted by the installation's bot (the mention bot).
    Thread {
        installation_id: TeamId,
        channel: ChannelId,
        thread_ts: String,
    },
}

/// The `slack.reply` job: an answer and where it goes.
#[derive(Serialize, Deserialize)]
pub struct SendReply {
    pub to: ReplyTo,
    pub reply: Reply,
}

impl JobKind for SendReply {
    const KIND: &'static str = REPLY_JOB;
}

/// Queues an answer (every Slack call runs as a job).
pub async fn queue(state: &AppState, to: &ReplyTo, reply: &Reply) -> Result<(), sqlx::Error> {
    let job = SendReply {
        to: to.clone(),
        reply: reply.clone(),
    }
    .job()
    .max_attempts(5);
    state.queue.enqueue(job).await.map(|_| ())
}

/// Why an answer was not sent: Slack's answer, or the bot token could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Slack(#[from] SlackError),
    #[error("no bot token: {0}")]
    Token(#[from] TokenError),
}

/// Sends an answer now (from inside a job).
pub async fn send(state: &AppState, to: &ReplyTo, reply: &Reply) -> Result<(), ReplyError> {
    match to {
        ReplyTo::ResponseUrl { url } => {
            Ok(post_response_url(state, url, &reply.response_body()).await?)
        }
        ReplyTo::Thread {
            installation_id,
            channel,
            thread_ts,
        } => {
            let token = tokens::bot_token(state, installation_id).await?;
            let mut message =
                json!({ "channel": channel, "thread_ts": thread_ts, "text": reply.text });
            if let Some(blocks) = &reply.blocks {
                message["blocks"] = blocks.clone();
            }
            let posted = state
                .slack
                .chat_post_message(&token, &message)
                .await
                .map(|_| ());
            if let Err(e) = &posted {
                tokens::note_failure(state, installation_id, e).await;
            }
            Ok(posted?)
        }
    }
}

/// POSTs JSON to a `response_url` Slack gave us in a signed request.
pub async fn post_response_url(
    state: &AppState,
    url: &str,
    body: &Value,
) -> Result<(), SlackError> {
    let method = "response_url";
    let res = state
        .slack
        .http()
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                SlackError::Timeout {
                    method: method.into(),
                }
            } else {
                SlackError::Transport {
                    method: method.into(),
                    message: "could not reach the response URL".into(),
                }
            }
        })?;
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    if status.as_u16() == 429 {
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(30);
        return Err(SlackError::RateLimited {
            method: method.into(),
            retry_after: std::time::Duration::from_secs(retry_after),
        });
    }
    Err(SlackError::Status {
        method: method.into(),
        status: status.as_u16(),
    })
}

/// The `slack.reply` job.
pub async fn run(state: &AppState, job: Job) -> Outcome {
    match job.decode::<SendReply>() {
        Ok(SendReply { to, reply }) => outcome_of(send(state, &to, &reply).await),
        Err(outcome) => outcome,
    }
}

/// A Slack call's result as a job outcome: retry what may pass, give up on the rest.
pub fn outcome_of(result: Result<(), impl Into<ReplyError>>) -> Outcome {
    let e = match result.map_err(Into::into) {
        Ok(()) => return Outcome::Done,
        Err(ReplyError::Slack(e)) | Err(ReplyError::Token(TokenError::Refresh(e))) => e,
        // The workspace is gone: nobody to answer.
        Err(e @ ReplyError::Token(TokenError::NotInstalled(_))) => {
            return Outcome::fail(e.to_string());
        }
        // A busy database or a key not loaded yet passes: try again.
        Err(e @ ReplyError::Token(TokenError::Db(_) | TokenError::Vault(_))) => {
            return Outcome::retry(e.to_string());
        }
    };
    match e {
        e if e.retry_after().is_some() => Outcome::Retry {
            error: e.to_string(),
            retry_after: e.retry_after(),
        },
        // A used or expired response_url (404/410) will not come back.
        e @ SlackError::Status {
            status: 404 | 410, ..
        } => Outcome::fail(e.to_string()),
        e if e.is_retryable() => Outcome::retry(e.to_string()),
        e => Outcome::fail(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_fails_a_read_is_a_retry_not_a_failure() {
        let busy = ReplyError::Token(TokenError::Db(sqlx::Error::PoolTimedOut));
        assert!(matches!(outcome_of(Err(busy)), Outcome::Retry { .. }));
        let gone = ReplyError::Token(TokenError::NotInstalled("T1".into()));
        assert!(matches!(outcome_of(Err(gone)), Outcome::Fail { .. }));
        let slack_down = ReplyError::Token(TokenError::Refresh(SlackError::Status {
            method: "oauth.v2.access".into(),
            status: 503,
        }));
        assert!(matches!(outcome_of(Err(slack_down)), Outcome::Retry { .. }));
    }
}
