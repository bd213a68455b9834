//! Events already received, so Slack's retries have no second effect.

use sqlx::SqliteExecutor;

/// Records the event; false when it was seen before.
pub async fn first_sighting(
    db: impl SqliteExecutor<'_>,
    event_id: &str,
    team_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT OR IGNORE INTO events_seen (event_id, team_id, seen_at) VALUES (?, ?, ?)",
    )
    .bind(event_id)
    .bind(team_id)
    .bind(super::now())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets events older than `before`: Slack retries for minutes, not days.
pub async fn forget_before(db: impl SqliteExecutor<'_>, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM events_seen WHERE seen_at < ?")
        .bind(before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
