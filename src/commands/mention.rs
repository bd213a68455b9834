//! The mention bot, on the Events API: "@Lobby help", "@Lobby stats", "@Lobby summarize <url>",
//! answered in the thread. Also `team_join`, which marks invite requests as joined.

use std::sync::Arc;

use serde_json::Value;

use super::{Intent, summarize};
use crate::db::{self, installations::Installation};
use crate::domain::{ChannelId, TeamId, UserId};
use crate::jobs::{Job, Outcome};
use crate::replies::{self as reply, ReplyTo};
use crate::slack::payloads::EventCallback;
use crate::state::AppState;

pub const EVENT_JOB: &str = "slack.event";

/// Whether an event is worth a job. Checked on the ack path, so it only looks at the payload.
pub fn wants(envelope: &EventCallback) -> bool {
    // Only events the manifest subscribes to: edited mentions would need `message.channels` and
    // `channels:history`, which Lobby does not ask for.
    matches!(envelope.event_type(), "app_mention" | "team_join")
}

/// The `slack.event` job.
pub async fn run(state: &AppState, job: Job) -> Outcome {
    let Ok(envelope) = serde_json::from_value::<EventCallback>(job.payload) else {
        return Outcome::fail("the event does not parse");
    };
    match handle(state, &envelope).await {
        Ok(outcome) => outcome,
        Err(e) => Outcome::retry(format!("{e:#}")),
    }
}

async fn handle(state: &AppState, envelope: &EventCallback) -> anyhow::Result<Outcome> {
    let event = &envelope.event;
    if envelope.event_type() == "team_join" {
        let team = event["user"]["team_id"]
            .as_str()
            .or(envelope.team_id.as_deref())
            .and_then(|t| TeamId::parse(t).ok());
        // Without a team id, no community's requests are this person's.
        if let (Some(team), Some(email)) = (team, event["user"]["profile"]["email"].as_str()) {
            let email = crate::domain::Email::parse(email)
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default();
            let joined = db::invite_requests::mark_joined(&state.db, &team, &email).await?;
            tracing::info!(team_id = %team, requests = joined, "a new member joined");
        }
        return Ok(Outcome::Done);
    }
    let Some(installation) = installation(state, envelope).await? else {
        return Ok(Outcome::Done);
    };
    if envelope.event_type() != "app_mention" {
        return Ok(Outcome::Done);
    }
    let message = event;
    let Some(channel) = event["channel"]
        .as_str()
        .and_then(|c| ChannelId::parse(c).ok())
    else {
        return Ok(Outcome::Done);
    };
    if !is_for_us(message, &installation) {
        return Ok(Outcome::Done);
    }
    let text = message["text"].as_str().unwrap_or_default();
    let Some(ts) = message["thread_ts"].as_str().or(message["ts"].as_str()) else {
        return Ok(Outcome::Done);
    };
    let to = ReplyTo::Thread {
        installation_id: installation.id.clone(),
        channel,
        thread_ts: ts.to_owned(),
    };
    let team = (envelope.team_id.as_deref())
        .and_then(|t| TeamId::parse(t).ok())
        .unwrap_or_else(|| installation.id.clone());
    // `is_for_us` saw an author; one whose id does not parse is no member to answer.
    let Some(user) = message["user"].as_str().and_then(|u| UserId::parse(u).ok()) else {
        return Ok(Outcome::Done);
    };
    let answer = match super::parse(&without_mentions(text)) {
        // Already inside a job: read the page now rather than queueing another job.
        Intent::Summarize { url } if !url.is_empty() => summarize::compose(state, &url).await,
        intent => super::answer(state, &installation, &team, &user, intent, to.clone()).await?,
    };
    Ok(reply::outcome_of(reply::send(state, &to, &answer).await))
}

async fn installation(
    state: &AppState,
    envelope: &EventCallback,
) -> Result<Option<Arc<Installation>>, sqlx::Error> {
    let Some(key) = envelope.installation_key() else {
        return Ok(None);
    };
    Ok(state
        .installations
        .get(&state.db, &key)
        .await?
        .filter(|i| i.is_active()))
}

/// A person's message mentioning our bot — never a bot's message, least of all our own.
fn is_for_us(message: &Value, installation: &Installation) -> bool {
    if message.get("bot_id").is_some_and(|b| !b.is_null()) || message["subtype"] == "bot_message" {
        return false;
    }
    let author = message["user"].as_str();
    if author.is_none() || author == installation.bot_user_id.as_ref().map(UserId::as_str) {
        return false;
    }
    match &installation.bot_user_id {
        Some(bot) => message["text"]
            .as_str()
            .is_some_and(|t| t.contains(&format!("<@{bot}>"))),
        None => true,
    }
}

/// The text with every `<@U…>` mention taken out.
fn without_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_taken_out() {
        assert_eq!(
            without_mentions("<@U0BOT> summarize <https://x.org|x.org>"),
            "summarize <https://x.org|x.org>"
        );
        assert_eq!(without_mentions("hey <@U0BOT>   stats"), "hey stats");
        assert_eq!(without_mentions("<@U0BOT"), "");
    }
}
