//! Approval from Slack: each new request in approval mode is posted to the community's admin
//! channel with Approve and Deny buttons; a click by an admin of that workspace decides it.

use serde_json::{Value, json};

use super::{Approved, DecisionError};
use crate::db::{self, installations::Installation};
use crate::domain::{ChannelId, TeamId, UserId};
use crate::installation_tokens as tokens;
use crate::jobs::{Job, JobKind, NewJob, Outcome};
use crate::replies::{self as reply, Reply, ReplyTo};
use crate::slack::mrkdwn::escape as escape_slack_text;
use crate::slack::payloads::BlockActions;
use crate::state::AppState;

pub const ANNOUNCE_JOB: &str = "invite.announce";
pub const DECIDE_JOB: &str = "invite.decide";

pub const APPROVE_ACTION: &str = "lobby_approve";
pub const DENY_ACTION: &str = "lobby_deny";

/// The `invite.announce` job: post a request with its buttons to the admin channel.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Announce {
    pub request_id: i64,
}

impl JobKind for Announce {
    const KIND: &'static str = ANNOUNCE_JOB;
}

/// The `invite.decide` job: someone clicked Approve or Deny.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Decide {
    pub request_id: i64,
    pub approve: bool,
    pub user_id: UserId,
    pub team_id: TeamId,
    pub response_url: String,
}

impl JobKind for Decide {
    const KIND: &'static str = DECIDE_JOB;
}

pub fn announce_job(request_id: i64) -> NewJob<'static> {
    Announce { request_id }.job().max_attempts(8)
}

fn message(
    channel: &str,
    request: &db::invite_requests::InviteRequest,
    community: &db::communities::Community,
) -> Value {
    let who = if request.name.is_empty() {
        escape_slack_text(&request.email)
    } else {
        format!(
            "{} ({})",
            escape_slack_text(&request.name),
            escape_slack_text(&request.email)
        )
    };
    let text = format!(
        "New request to join {}: {who}",
        escape_slack_text(&community.title)
    );
    json!({
        "channel": channel,
        "text": text,
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("*New request to join {}*\n{who}", escape_slack_text(&community.title)) } },
            { "type": "actions", "block_id": format!("lobby_request_{}", request.id), "elements": [
                { "type": "button", "style": "primary", "action_id": APPROVE_ACTION, "value": request.id.to_string(),
                  "text": { "type": "plain_text", "text": "Approve" } },
                { "type": "button", "style": "danger", "action_id": DENY_ACTION, "value": request.id.to_string(),
                  "text": { "type": "plain_text", "text": "Deny" } }
            ]}
        ]
    })
}

/// The `invite.announce` job: posts the request with its buttons.
pub async fn run_announce(state: &AppState, job: Job) -> Outcome {
    let Announce { request_id } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    let loaded = async {
        let request = db::invite_requests::get(&state.db, request_id).await?;
        let community = match &request {
            Some(r) => db::communities::get(&state.db, r.community_id).await?,
            None => None,
        };
        Ok::<_, sqlx::Error>(request.zip(community))
    }
    .await;
    let (request, community) = match loaded {
        Ok(Some(pair)) => pair,
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::retry(e.to_string()),
    };
    let Some(channel) = community.admin_channel.as_ref().map(ChannelId::as_str) else {
        return Outcome::Done;
    };
    let token = match tokens::bot_token(state, &community.installation_id).await {
        Ok(token) => token,
        Err(e) => return Outcome::fail(e.to_string()),
    };
    let posted = state
        .slack
        .chat_post_message(&token, &message(channel, &request, &community))
        .await
        .map(|_| ());
    if let Err(e) = &posted {
        tokens::note_failure(state, &community.installation_id, e).await;
    }
    reply::outcome_of(posted)
}

/// A button click, acknowledged at once; the decision (which asks Slack who clicked) is a job.
pub async fn queue_decision(state: &AppState, click: &BlockActions) -> Result<(), sqlx::Error> {
    let Some(action) = click
        .actions
        .iter()
        .find(|a| a.action_id == APPROVE_ACTION || a.action_id == DENY_ACTION)
    else {
        return Ok(());
    };
    // Ids that do not parse are as good as missing: no request of Lobby's was clicked.
    let (Some(request_id), Some(team_id), Ok(user_id), Some(response_url)) = (
        action.value.as_deref().and_then(|v| v.parse::<i64>().ok()),
        click.team_id().and_then(|t| TeamId::parse(t).ok()),
        UserId::parse(&click.user.id),
        click.response_url.as_deref(),
    ) else {
        return Ok(());
    };
    let job = Decide {
        request_id,
        approve: action.action_id == APPROVE_ACTION,
        user_id,
        team_id,
        response_url: response_url.to_owned(),
    }
    .job()
    .max_attempts(5);
    state.queue.enqueue(job).await.map(|_| ())
}

/// The `invite.decide` job: only an admin or owner of the request's workspace decides.
pub async fn run_decide(state: &AppState, job: Job) -> Outcome {
    let Decide {
        request_id,
        approve,
        user_id,
        team_id,
        response_url,
    } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    let response_url = response_url.as_str();
    let to = ReplyTo::ResponseUrl {
        url: response_url.to_owned(),
    };
    match decide(state, request_id, approve, &user_id, &team_id, response_url).await {
        // The invite mail's job replaces the message once it knows how the mail went.
        Ok(Decision::Later) => Outcome::Done,
        Ok(Decision::Replace(text)) => {
            let body = json!({ "replace_original": true, "text": text });
            reply::outcome_of(reply::post_response_url(state, response_url, &body).await)
        }
        Ok(Decision::Tell(text)) => {
            reply::outcome_of(reply::send(state, &to, &Reply::ephemeral(text)).await)
        }
        Err(outcome) => outcome,
    }
}

enum Decision {
    /// Decided: the message with the buttons is replaced by the outcome.
    Replace(String),
    /// Not decided: only the person who clicked is told why.
    Tell(String),
    /// Decided; the message is replaced later, by the job that mails the invite link.
    Later,
}

async fn decide(
    state: &AppState,
    request_id: i64,
    approve: bool,
    user_id: &UserId,
    team_id: &TeamId,
    response_url: &str,
) -> Result<Decision, Outcome> {
    let retry = |e: &dyn std::fmt::Display| Outcome::retry(e.to_string());
    let request = db::invite_requests::get(&state.db, request_id)
        .await
        .map_err(|e| retry(&e))?;
    let community = match &request {
        Some(r) => db::communities::get(&state.db, r.community_id)
            .await
            .map_err(|e| retry(&e))?,
        None => None,
    };
    // A click from another workspace (or on a request that is gone) decides nothing.
    let Some(community) = community.filter(|c| &c.team_id == team_id) else {
        return Ok(Decision::Tell(
            "That request is not one of this workspace's.".into(),
        ));
    };
    let installation = db::installations::get(&state.db, &community.installation_id)
        .await
        .map_err(|e| retry(&e))?
        .filter(Installation::is_active);
    let Some(installation) = installation else {
        return Ok(Decision::Tell(
            "Lobby is not installed in this workspace any more.".into(),
        ));
    };
    let token = tokens::bot_token(state, &installation.id)
        .await
        .map_err(|e| Outcome::fail(e.to_string()))?;
    let clicker = match state.slack.users_info(&token, user_id.as_str()).await {
        Ok(user) => user,
        Err(e) => {
            tokens::note_failure(state, &installation.id, &e).await;
            return Err(reply::outcome_of(Err(e)));
        }
    };
    let other_team = !clicker.team_id.is_empty() && clicker.team_id != team_id.as_str();
    if !clicker.is_admin_or_owner() || other_team {
        return Ok(Decision::Tell(
            "Only admins of this workspace can approve or deny requests.".into(),
        ));
    }
    let actor = format!("slack:{user_id}");
    let outcome = if approve {
        let message = super::mail::SlackMessage {
            response_url: response_url.to_owned(),
            user_id: user_id.clone(),
        };
        super::approve_from_slack(state, request_id, &actor, message).await.map(|approved| match approved {
            Approved::Queued => Decision::Replace(format!("✅ Approved by <@{user_id}>; Slack will email the invitation.")),
            Approved::Mailing => Decision::Later,
            Approved::ShareLink(_) => Decision::Replace(format!(
                "✅ Approved by <@{user_id}>. This community invites through its shared link: please send it to the person."
            )),
        })
    } else {
        super::deny(state, request_id, &actor)
            .await
            .map(|()| Decision::Replace(format!("❌ Denied by <@{user_id}>.")))
    };
    match outcome {
        Ok(decision) => Ok(decision),
        Err(DecisionError::NotPending(status)) => Ok(Decision::Tell(format!(
            "That request was already decided ({}).",
            status.label()
        ))),
        Err(e @ (DecisionError::NoRoute { .. } | DecisionError::DeadLink { .. })) => {
            Ok(Decision::Tell(e.to_string()))
        }
        Err(DecisionError::NotFound) => Ok(Decision::Tell("That request no longer exists.".into())),
        Err(DecisionError::Storage(e)) => Err(Outcome::retry(e.to_string())),
    }
}
