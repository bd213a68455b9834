//! Answers to people in Slack: through a command's `response_url`, or in a thread as the bot.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::jobs::{Job, NewJob, Outcome};
use crate::slack::client::SlackError;
use crate::slack::tokens;
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
        installation_id: String,
        channel: String,
        thread_ts: String,
    },
}

/// Queues an answer (every Slack call runs as a job).
pub async fn queue(state: &AppState, to: &ReplyTo, reply: &Reply) -> Result<(), sqlx::Error> {
    let payload = json!({ "to": to, "reply": reply });
    state
        .queue
        .enqueue(NewJob::new(REPLY_JOB, payload).max_attempts(5))
        .await
        .map(|_| ())
}

/// Sends an answer now (from inside a job).
pub async fn send(state: &AppState, to: &ReplyTo, reply: &Reply) -> Result<(), SlackError> {
    match to {
        ReplyTo::ResponseUrl { url } => post_response_url(state, url, &reply.response_body()).await,
        ReplyTo::Thread {
            installation_id,
            channel,
            thread_ts,
        } => {
            let token = tokens::bot_token(state, installation_id)
                .await
                .map_err(|e| SlackError::Api {
                    method: "chat.postMessage".into(),
                    code: "not_authed".into(),
                    needed: None,
                    provided: Some(e.to_string()),
                })?;
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
            posted
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
    let (Ok(to), Ok(reply)) = (
        serde_json::from_value::<ReplyTo>(job.payload["to"].clone()),
        serde_json::from_value::<Reply>(job.payload["reply"].clone()),
    ) else {
        return Outcome::fail("the reply job's payload does not parse");
    };
    outcome_of(send(state, &to, &reply).await)
}

/// A Slack call's result as a job outcome: retry what may pass, give up on the rest.
pub fn outcome_of(result: Result<(), SlackError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(e) if e.retry_after().is_some() => Outcome::Retry {
            error: e.to_string(),
            retry_after: e.retry_after(),
        },
        // A used or expired response_url (404/410) will not come back.
        Err(
            e @ SlackError::Status {
                status: 404 | 410, ..
            },
        ) => Outcome::fail(e.to_string()),
        Err(e) if e.is_retryable() => Outcome::retry(e.to_string()),
        Err(e) => Outcome::fail(e.to_string()),
    }
}
