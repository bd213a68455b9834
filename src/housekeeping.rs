//! Forgetting what is no longer needed (expired OAuth states, old event ids, finished jobs,
//! spent join-form tokens, requests never confirmed), and noticing shared invite links about to
//! expire.

use std::time::Duration;

use actix_web::web;

use crate::db::{self, communities::LINK_WARNED_EXPIRY};
use crate::invites;
use crate::state::AppState;

/// Often enough that an OAuth state outlives its ten minutes by at most a few.
const EVERY_SECS: i64 = 5 * 60;
const EVERY: Duration = Duration::from_secs(EVERY_SECS as u64);
/// Slack retries an event for minutes; a day is plenty.
const EVENTS_KEPT_SECS: i64 = 24 * 60 * 60;
/// Finished jobs stay a week for looking into what happened.
const DONE_JOBS_KEPT_SECS: i64 = 7 * 24 * 60 * 60;

pub fn spawn(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            // Several instances on one database: one of them sweeps each period.
            match db::periodic_rounds::take(&state.db, "housekeeping", db::now(), EVERY_SECS).await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "housekeeping failed; trying again later");
                    continue;
                }
            }
            if let Err(e) = sweep(&state).await {
                tracing::warn!(error = %e, "housekeeping failed; trying again later");
            }
        }
    })
}

pub async fn sweep(state: &AppState) -> Result<(), sqlx::Error> {
    let now = db::now();
    let states = db::oauth_states::delete_expired(&state.db, now).await?;
    let events = db::events_seen::forget_before(&state.db, now - EVENTS_KEPT_SECS).await?;
    let jobs = db::jobs::delete_done_before(&state.db, now - DONE_JOBS_KEPT_SECS).await?;
    let unconfirmed =
        db::invite_requests::purge_unconfirmed(&state.db, now - invites::UNCONFIRMED_KEPT_SECS)
            .await?;
    let form_tokens = db::used_form_tokens::forget_expired(&state.db, now).await?;
    // The longest window any shared limit has: the join form's 30 minutes, the OAuth starts' hour.
    let limit_hits =
        crate::abuse::shared_limits::forget_old(&state.db, std::time::Duration::from_secs(3600))
            .await?;
    tracing::debug!(
        limit_hits,
        states,
        events,
        jobs,
        unconfirmed,
        form_tokens,
        "housekeeping"
    );
    warn_of_expiring_links(state, now).await
}

/// Admins hear once per link when it is 3 days from expiring.
async fn warn_of_expiring_links(state: &AppState, now: i64) -> Result<(), sqlx::Error> {
    for community in db::communities::list(&state.db).await? {
        let expiring = community.has_invite_link
            && community
                .invite_link_expires_at
                .is_some_and(|at| at - now <= invites::mail::LINK_WARN_BEFORE_EXPIRY_SECS);
        if expiring && community.invite_link_warned & LINK_WARNED_EXPIRY == 0 {
            invites::mail::warn_admins(state, &community, LINK_WARNED_EXPIRY).await?;
        }
    }
    Ok(())
}
