//! The member count shown on join pages and badges: counted from `users.list` (every page) in a
//! background job, never on a request's path.

use std::time::Duration;

use actix_web::web;

use crate::db;
use crate::domain::TeamId;
use crate::installation_tokens as tokens;
use crate::jobs::{Job, JobKind, NewJob, Outcome, Queue};
use crate::slack::client::SlackError;
use crate::state::AppState;

pub const REFRESH_JOB: &str = "members.refresh";

/// The `members.refresh` job: count one installation's members.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RefreshMembers {
    pub installation_id: TeamId,
}

impl JobKind for RefreshMembers {
    const KIND: &'static str = REFRESH_JOB;
}

impl RefreshMembers {
    pub fn job_for(installation_id: &TeamId) -> NewJob<'static> {
        RefreshMembers {
            installation_id: installation_id.clone(),
        }
        .job()
        .max_attempts(3)
    }
}

/// How often every installation's count is refreshed.
pub const REFRESH_EVERY: Duration = Duration::from_secs(15 * 60);

/// Asks for a refresh of one installation's count.
pub async fn request_refresh(queue: &Queue, installation_id: &TeamId) -> Result<(), sqlx::Error> {
    queue
        .enqueue(RefreshMembers::job_for(installation_id))
        .await
        .map(|_| ())
}

/// Every `REFRESH_EVERY`, queues a refresh for each active installation that has a community.
pub fn spawn_refresher(state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first tick comes a period after start: installs queue their own first count.
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + REFRESH_EVERY, REFRESH_EVERY);
        loop {
            tick.tick().await;
            // Several instances on one database: one of them queues each period's counts.
            let every = i64::try_from(REFRESH_EVERY.as_secs()).unwrap_or(i64::MAX);
            match db::periodic_rounds::take(&state.db, "members.refresh", db::now(), every).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "could not start the member counts' round");
                    continue;
                }
            }
            let installations = match db::installations::list(&state.db).await {
                Ok(list) => list,
                Err(e) => {
                    tracing::warn!(error = %e, "could not list installations for the member counts");
                    continue;
                }
            };
            for installation in installations.iter().filter(|i| i.is_active()) {
                if let Err(e) = request_refresh(&state.queue, &installation.id).await {
                    tracing::warn!(error = %e, "could not queue a member count refresh");
                }
            }
        }
    })
}

/// The `members.refresh` job.
pub async fn run(state: &AppState, job: Job) -> Outcome {
    let RefreshMembers { installation_id } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    let id = &installation_id;
    let token = match tokens::bot_token(state, id).await {
        Ok(token) => token,
        // Uninstalled or retired since: nothing to count.
        Err(tokens::TokenError::NotInstalled(_)) => return Outcome::Done,
        Err(e) => return Outcome::retry(e.to_string()),
    };
    let installation = match db::installations::get(&state.db, id).await {
        Ok(Some(installation)) => installation,
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::retry(e.to_string()),
    };
    if !installation.is_enterprise_install {
        return match state.slack.users_count(&token, None).await {
            Ok(count) => {
                stored(db::communities::set_member_count(&state.db, id, count as i64).await)
            }
            Err(e) => refused(state, id, e).await,
        };
    }
    // An org-wide install spans workspaces, and Slack lists one at a time: count each
    // community's workspace.
    let mut teams: Vec<TeamId> = match db::communities::for_installation(&state.db, id).await {
        Ok(communities) => communities.into_iter().map(|c| c.team_id).collect(),
        Err(e) => return Outcome::retry(e.to_string()),
    };
    teams.sort();
    teams.dedup();
    for team in &teams {
        match state.slack.users_count(&token, Some(team.as_str())).await {
            Ok(count) => {
                let saved =
                    db::communities::set_member_count_of_team(&state.db, id, team, count as i64)
                        .await;
                if let Err(e) = saved {
                    return Outcome::retry(e.to_string());
                }
            }
            Err(e) => return refused(state, id, e).await,
        }
    }
    Outcome::Done
}

fn stored(saved: Result<(), sqlx::Error>) -> Outcome {
    match saved {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::retry(e.to_string()),
    }
}

/// What a refused or failed `users.list` means for the job (and for the installation).
async fn refused(state: &AppState, id: &TeamId, e: SlackError) -> Outcome {
    tokens::note_failure(state, id, &e).await;
    match e.retry_after() {
        Some(after) => Outcome::retry_after(e.to_string(), after),
        None if e.is_retryable() => Outcome::retry(e.to_string()),
        None => Outcome::fail(e.to_string()),
    }
}
