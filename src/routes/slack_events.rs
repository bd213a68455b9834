//! `POST /slack/events`: the one Request URL for the Events API, slash commands and interactivity.
//!
//! The signature is checked on the raw bytes before anything is parsed; a request that fails gets
//! 401 JSON and has no effect. Then the handler records, queues and answers within milliseconds:
//! every Slack call runs later as a job.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::commands::{self, mention};
use crate::db;
use crate::domain::TeamId;
use crate::error::AppError;
use crate::install;
use crate::invites::announce;
use crate::jobs::{NewJob, Queue};
use crate::middleware::record_team_id;
use crate::slack::payloads::{BlockActions, EventCallback, FormPost};
use crate::slack::signature::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::state::AppState;

pub async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let now = db::now();
    let verified = signature::verify(
        &state.credentials.signing_secret,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        now,
    )
    .map_err(|e| AppError::Unauthorized(e.to_string()))?;

    let is_json = header(CONTENT_TYPE.as_str()).is_some_and(|c| c.starts_with("application/json"));
    if is_json {
        event(&state, &body).await
    } else {
        // Commands and clicks have no id of their own to de-duplicate by: the signature is one.
        if !state
            .replays
            .first_use(verified.digest, verified.timestamp, now)
        {
            return Err(AppError::Unauthorized(
                "this signed request was already received".into(),
            ));
        }
        form(&state, &body).await
    }
}

fn ack() -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn form(state: &AppState, body: &[u8]) -> Result<HttpResponse, AppError> {
    let post = FormPost::parse(body);
    if post.ssl_check.is_some() {
        return Ok(ack());
    }
    if let Some(payload) = post.payload {
        // Interactions Lobby did not create (or cannot read) are acknowledged and ignored.
        if let Ok(click) = serde_json::from_str::<BlockActions>(&payload.decode())
            && click.kind == "block_actions"
        {
            announce::queue_decision(state, &click).await?;
        }
        return Ok(ack());
    }
    if let Some(team) = post.team_id {
        record_team_id(&team.decode());
    }
    // Commands that are not Lobby's are acknowledged before anything is copied out of the body.
    let ours = post
        .command
        .is_some_and(|c| commands::is_ours(&state.settings.commands, &c.decode()));
    if !ours {
        return Ok(ack());
    }
    let Some(command) = post.into_command() else {
        return Ok(ack());
    };
    match commands::slash(state, command)
        .await
        .map_err(AppError::internal)?
    {
        Some(reply) => Ok(HttpResponse::Ok().json(reply.response_body())),
        None => Ok(ack()),
    }
}

async fn event(state: &AppState, body: &[u8]) -> Result<HttpResponse, AppError> {
    let envelope: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| AppError::bad_request("The body is not JSON."))?;
    match envelope["type"].as_str() {
        Some("url_verification") => {
            let challenge = envelope["challenge"].as_str().unwrap_or_default();
            Ok(HttpResponse::Ok().json(json!({ "challenge": challenge })))
        }
        Some("event_callback") => {
            let Ok(callback) = serde_json::from_value::<EventCallback>(envelope) else {
                return Err(AppError::bad_request("The event has no event_id."));
            };
            if let Some(team) = &callback.team_id {
                record_team_id(team);
            }
            record_event(state, &callback).await?;
            Ok(ack())
        }
        _ => Ok(ack()),
    }
}

/// Records the event once (Slack retries have no second effect), together with its effect:
/// token clean-up now, or a job for anything that talks to Slack.
async fn record_event(state: &AppState, callback: &EventCallback) -> Result<(), AppError> {
    let lifecycle = matches!(callback.event_type(), "app_uninstalled" | "tokens_revoked");
    let wanted = mention::wants(callback);
    if !lifecycle && !wanted {
        return Ok(());
    }
    // The team is kept for the record only: one that does not parse is left out.
    let team_id = (callback.team_id.as_deref()).and_then(|t| TeamId::parse(t).ok());
    let mut tx = db::begin_write(&state.db).await?;
    if !db::events_seen::first_sighting(&mut *tx, &callback.event_id, team_id.as_ref()).await? {
        return Ok(());
    }
    if lifecycle {
        install::handle_lifecycle_event(&mut tx, callback).await?;
    } else {
        let payload = json!({
            "event_id": callback.event_id,
            "team_id": callback.team_id,
            "enterprise_id": callback.enterprise_id,
            "is_enterprise_install": callback.is_enterprise_install,
            "event": callback.event,
        });
        Queue::enqueue_in(
            &mut *tx,
            NewJob::new(mention::EVENT_JOB, payload).max_attempts(5),
        )
        .await?;
    }
    tx.commit().await?;
    if lifecycle && let Some(id) = callback.installation_key() {
        // Refused from the next request on, not when the cache happens to expire.
        state.installations.forget(&id);
    }
    if wanted {
        state.queue.wake();
    }
    Ok(())
}
