//! Forgetting what is no longer needed: expired OAuth states, old event ids, finished jobs,
//! spent join-form tokens.

use std::time::Duration;

use actix_web::web;

use crate::db;
use crate::state::AppState;

/// Often enough that an OAuth state outlives its ten minutes by at most a few.
const EVERY: Duration = Duration::from_secs(5 * 60);
/// Slack retries an event for minutes; a day is plenty.
const EVENTS_KEPT_SECS: i64 = 24 * 60 * 60;
/// Finished jobs stay a week for looking into what happened.
const DONE_JOBS_KEPT_SECS: i64 = 7 * 24 * 60 * 60;

pub fn spawn(state: web::Data<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&state).await {
                tracing::warn!(error = %e, "housekeeping failed; trying again later");
            }
        }
    });
}

pub async fn sweep(state: &AppState) -> Result<(), sqlx::Error> {
    let now = db::now();
    let states = db::oauth_states::delete_expired(&state.db, now).await?;
    let events = db::events_seen::forget_before(&state.db, now - EVENTS_KEPT_SECS).await?;
    let jobs = db::jobs::delete_done_before(&state.db, now - DONE_JOBS_KEPT_SECS).await?;
    let form_tokens = db::used_form_tokens::forget_expired(&state.db, now).await?;
    tracing::debug!(states, events, jobs, form_tokens, "housekeeping");
    Ok(())
}
