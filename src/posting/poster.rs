//! Posting to one workspace with one token: resolve the channel, join it when needed, send, and
//! wait out rate limits within the caller's patience.

use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};

use super::{ChannelDirectory, PostError};
use crate::posting::channels::Target;
use crate::slack::client::{SlackClient, SlackError};
use crate::slack::methods::{FileShare, PostedMessage, SharedFile};

/// How long the bytes of one file may take to reach Slack.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// A message to post.
#[derive(Clone, Debug, Default)]
pub struct Message {
    /// A channel id, or a name with or without `#`.
    pub channel: String,
    pub text: Option<String>,
    /// Block Kit blocks: a non-empty JSON array.
    pub blocks: Option<Value>,
    pub thread_ts: Option<String>,
}

/// A file to share; its bytes travel separately.
#[derive(Clone, Copy, Debug)]
pub struct FileUpload<'a> {
    pub channel: &'a str,
    pub filename: &'a str,
    pub length: u64,
    pub title: Option<&'a str>,
    pub initial_comment: Option<&'a str>,
    pub thread_ts: Option<&'a str>,
}

/// Posts to one workspace.
pub struct Poster<'a> {
    pub slack: &'a SlackClient,
    pub token: &'a SecretString,
    pub directory: &'a ChannelDirectory,
    /// Names the workspace in the directory's cache.
    pub workspace: &'a str,
    /// The longest total wait for rate limits before giving up with `ratelimited`.
    pub patience: Duration,
}

impl Poster<'_> {
    pub async fn post_message(&self, message: &Message) -> Result<PostedMessage, PostError> {
        let text = message.text.as_deref().filter(|t| !t.trim().is_empty());
        let blocks = match &message.blocks {
            None => None,
            Some(Value::Array(blocks)) if !blocks.is_empty() => message.blocks.as_ref(),
            Some(_) => {
                return Err(PostError::invalid(
                    "invalid_blocks",
                    "`blocks` must be a non-empty array of Block Kit blocks.",
                ));
            }
        };
        if text.is_none() && blocks.is_none() {
            return Err(PostError::invalid(
                "no_text",
                "Send `text`, `blocks` or both.",
            ));
        }
        let target = self.target(&message.channel).await?;
        let mut body = json!({ "channel": target.id });
        if let Some(text) = text {
            body["text"] = text.into();
        }
        if let Some(blocks) = blocks {
            body["blocks"] = blocks.clone();
        }
        if let Some(thread_ts) = &message.thread_ts {
            body["thread_ts"] = thread_ts.as_str().into();
        }
        self.as_member(&target, || self.slack.chat_post_message(self.token, &body))
            .await
    }

    /// The three-step upload; `bytes` must be exactly `file.length` long.
    pub async fn post_file(
        &self,
        file: FileUpload<'_>,
        bytes: reqwest::Body,
    ) -> Result<SharedFile, PostError> {
        if file.length == 0 {
            // Slack refuses an empty upload with `missing_argument`; say it plainly instead.
            return Err(PostError::invalid("empty_file", "The file is empty."));
        }
        let target = self.target(file.channel).await?;
        let ticket = self
            .patiently(|| {
                self.slack
                    .files_get_upload_url_external(self.token, file.filename, file.length)
            })
            .await?;
        self.slack
            .upload_to_ticket(&ticket, file.length, bytes, UPLOAD_TIMEOUT)
            .await?;
        let share = FileShare {
            channel_id: &target.id,
            title: file.title,
            initial_comment: file.initial_comment,
            thread_ts: file.thread_ts,
        };
        self.as_member(&target, || {
            self.slack
                .files_complete_upload_external(self.token, &ticket.file_id, share)
        })
        .await
    }

    /// Resolves the channel and joins it when it is a public one the bot is not in.
    async fn target(&self, requested: &str) -> Result<Target, PostError> {
        if requested.trim().is_empty() {
            return Err(PostError::invalid(
                "channel_not_found",
                "Name a channel (its name or id).",
            ));
        }
        let target = self
            .patiently(|| {
                self.directory
                    .resolve(self.slack, self.token, self.workspace, requested)
            })
            .await?
            .ok_or_else(|| PostError::ChannelNotFound(requested.trim().to_owned()))?;
        if target.should_join {
            self.join(&target).await?;
        }
        Ok(target)
    }

    /// Runs `call`; when Slack says the bot is not in the channel and the channel may be public,
    /// joins it and runs `call` once more.
    async fn as_member<T, F, Fut>(&self, target: &Target, call: F) -> Result<T, PostError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SlackError>>,
    {
        match self.patiently(&call).await {
            Err(e) if e.code() == Some("not_in_channel") && !target.is_private => {
                if self.join(target).await.is_err() {
                    return Err(e.into());
                }
                Ok(self.patiently(&call).await?)
            }
            other => Ok(other?),
        }
    }

    /// `conversations.join`. A refusal other than a rate limit or an outage is left for the post
    /// itself to report (as `not_in_channel`), which says more to the caller.
    async fn join(&self, target: &Target) -> Result<(), PostError> {
        match self
            .patiently(|| self.slack.conversations_join(self.token, &target.id))
            .await
        {
            Ok(()) => {
                self.directory.note_member(self.workspace, &target.id);
                tracing::info!(channel = %target.id, "joined a public channel to post in it");
                Ok(())
            }
            Err(e @ SlackError::Api { .. }) if !e.is_auth_failure() => {
                tracing::debug!(channel = %target.id, code = e.code(), "could not join the channel");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `call`, sleeping through rate limits while the total wait stays within `patience`.
    async fn patiently<T, F, Fut>(&self, call: F) -> Result<T, SlackError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SlackError>>,
    {
        let mut waited = Duration::ZERO;
        loop {
            match call().await {
                Err(SlackError::RateLimited {
                    method,
                    retry_after,
                }) if waited + retry_after <= self.patience => {
                    tracing::info!(method, ?retry_after, "rate-limited by Slack; waiting");
                    tokio::time::sleep(retry_after).await;
                    waited += retry_after;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::slack::client::fake_slack::{FakeSlack, Reply, Seen};

    fn token() -> SecretString {
        SecretString::from("xoxb-test")
    }

    fn client(fake: &FakeSlack) -> SlackClient {
        SlackClient::new(fake.base.clone(), Duration::from_secs(2)).expect("client")
    }

    fn poster<'a>(
        slack: &'a SlackClient,
        token: &'a SecretString,
        directory: &'a ChannelDirectory,
        patience: Duration,
    ) -> Poster<'a> {
        Poster {
            slack,
            token,
            directory,
            workspace: "T1",
            patience,
        }
    }

    fn paths(fake: &FakeSlack) -> Vec<String> {
        fake.seen().into_iter().map(|s| s.path).collect()
    }

    fn message(channel: &str, text: &str) -> Message {
        Message {
            channel: channel.into(),
            text: Some(text.into()),
            ..Message::default()
        }
    }

    /// `results` is public and the bot is not in it until it joins.
    fn workspace(seen: &Seen, joined: &Mutex<bool>) -> Reply {
        let is_joined = *joined.lock().expect("lock");
        match seen.path.as_str() {
            "/api/conversations.list" => Reply::json(json!({"ok": true,
                "channels": [{"id": "C0RESULTS1", "name": "results", "is_member": is_joined}]})),
            "/api/conversations.join" => {
                *joined.lock().expect("lock") = true;
                Reply::json(json!({"ok": true, "channel": {"id": "C0RESULTS1"}}))
            }
            "/api/chat.postMessage" if !is_joined => {
                Reply::json(json!({"ok": false, "error": "not_in_channel"}))
            }
            "/api/chat.postMessage" => {
                Reply::json(json!({"ok": true, "channel": "C0RESULTS1", "ts": "1.2"}))
            }
            _ => Reply::status(404),
        }
    }

    #[tokio::test]
    async fn a_name_is_resolved_joined_and_posted_to() {
        let joined = Arc::new(Mutex::new(false));
        let state = joined.clone();
        let fake = FakeSlack::start(move |seen| workspace(seen, &state));
        let slack = client(&fake);
        let directory = ChannelDirectory::default();
        let posted = poster(&slack, &token(), &directory, Duration::ZERO)
            .post_message(&message("#results", "Run 7 done"))
            .await
            .expect("posted");
        assert_eq!(posted.ts, "1.2");
        assert_eq!(
            paths(&fake),
            [
                "/api/conversations.list",
                "/api/conversations.join",
                "/api/chat.postMessage"
            ]
        );
        let sent: Value = serde_json::from_str(&fake.seen()[2].body).expect("json");
        assert_eq!(sent, json!({"channel": "C0RESULTS1", "text": "Run 7 done"}));
    }

    #[tokio::test]
    async fn an_id_the_bot_is_not_in_is_joined_after_not_in_channel() {
        let joined = Arc::new(Mutex::new(false));
        let state = joined.clone();
        let fake = FakeSlack::start(move |seen| workspace(seen, &state));
        let slack = client(&fake);
        let directory = ChannelDirectory::default();
        poster(&slack, &token(), &directory, Duration::ZERO)
            .post_message(&message("C0RESULTS1", "hi"))
            .await
            .expect("posted");
        assert_eq!(
            paths(&fake),
            [
                "/api/chat.postMessage",
                "/api/conversations.join",
                "/api/chat.postMessage"
            ]
        );
    }

    #[tokio::test]
    async fn an_unknown_name_is_channel_not_found_without_posting() {
        let fake = FakeSlack::start(|_| Reply::json(json!({"ok": true, "channels": []})));
        let slack = client(&fake);
        let directory = ChannelDirectory::default();
        let err = poster(&slack, &token(), &directory, Duration::ZERO)
            .post_message(&message("nowhere", "hi"))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), "channel_not_found");
        assert_eq!(paths(&fake), ["/api/conversations.list"]);
    }

    #[tokio::test]
    async fn a_message_without_text_or_blocks_never_reaches_slack() {
        let fake = FakeSlack::start(|_| Reply::status(500));
        let slack = client(&fake);
        let directory = ChannelDirectory::default();
        let token = token();
        let post = poster(&slack, &token, &directory, Duration::ZERO);
        let err = post
            .post_message(&message("C0RESULTS1", "  "))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), "no_text");
        let err = post
            .post_message(&Message {
                channel: "C0RESULTS1".into(),
                blocks: Some(json!({"type": "section"})),
                ..Message::default()
            })
            .await
            .expect_err("refused");
        assert_eq!(err.code(), "invalid_blocks");
        assert!(fake.seen().is_empty());
    }

    #[tokio::test]
    async fn a_short_rate_limit_is_waited_out() {
        let calls = Arc::new(Mutex::new(0));
        let count = calls.clone();
        let fake = FakeSlack::start(move |_| {
            let mut n = count.lock().expect("lock");
            *n += 1;
            if *n == 1 {
                Reply::status(429).with_header("retry-after", "1")
            } else {
                Reply::json(json!({"ok": true, "channel": "C0RESULTS1", "ts": "1.2"}))
            }
        });
        let slack = client(&fake);
        let directory = ChannelDirectory::default();
        let started = std::time::Instant::now();
        poster(&slack, &token(), &directory, Duration::from_secs(5))
            .post_message(&message("C0RESULTS1", "hi"))
            .await
            .expect("posted after waiting");
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(fake.seen().len(), 2);
    }

    #[tokio::test]
    async fn a_rate_limit_beyond_patience_is_passed_on() {
        let fake = FakeSlack::start(|_| Reply::status(429).with_header("retry-after", "120"));
        let slack = client(&fake);
        let directory = ChannelDirectory::default();
        let err = poster(&slack, &token(), &directory, Duration::from_secs(5))
            .post_message(&message("C0RESULTS1", "hi"))
            .await
            .expect_err("rate-limited");
        assert_eq!(err.code(), "ratelimited");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
        assert_eq!(fake.seen().len(), 1);
    }

    #[tokio::test]
    async fn a_file_goes_through_the_three_steps() {
        let upload_url = Arc::new(Mutex::new(String::new()));
        let url = upload_url.clone();
        let fake = FakeSlack::start(move |seen| match seen.path.as_str() {
            "/api/files.getUploadURLExternal" => Reply::json(json!({"ok": true,
                "upload_url": url.lock().expect("lock").clone(), "file_id": "F1"})),
            "/api/upload/v1/k" => Reply::json(json!({})),
            "/api/files.completeUploadExternal" => {
                Reply::json(json!({"ok": true, "files": [{"id": "F1", "title": "Run 7"}]}))
            }
            _ => Reply::status(404),
        });
        *upload_url.lock().expect("lock") = fake.base.join("upload/v1/k").expect("url").into();
        let slack = client(&fake);
        let directory = ChannelDirectory::default();
        let file = FileUpload {
            channel: "C0RESULTS1",
            filename: "run7.csv",
            length: 6,
            title: Some("Run 7"),
            initial_comment: None,
            thread_ts: None,
        };
        let shared = poster(&slack, &token(), &directory, Duration::ZERO)
            .post_file(file, reqwest::Body::from("a,b\n1,"))
            .await
            .expect("shared");
        assert_eq!(shared.id, "F1");
        let seen = fake.seen();
        assert_eq!(seen[1].body, "a,b\n1,");
        assert_eq!(seen[0].field("length").as_deref(), Some("6"));
    }
}
