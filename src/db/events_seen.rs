//! Events already received, so Slack's retries have no second effect.

use super::{Exec, on_conn};
use crate::domain::TeamId;

/// Records the event; false when it was seen before.
pub async fn first_sighting(
    db: impl Into<Exec<'_>>,
    event_id: &str,
    team_id: Option<&TeamId>,
) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| {
        sqlx::query(
        "INSERT INTO events_seen (event_id, team_id, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(event_id)
    .bind(team_id)
    .bind(super::now())
    .execute(c)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Forgets events older than `before`: Slack retries for minutes, not days.
pub async fn forget_before(db: impl Into<Exec<'_>>, before: i64) -> Result<u64, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "DELETE FROM events_seen WHERE seen_at < $1"
    )
    .bind(before)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done)
}
