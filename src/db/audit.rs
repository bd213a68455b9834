//! The audit log: who did what, when.

use sqlx::SqliteExecutor;

pub async fn record(
    db: impl SqliteExecutor<'_>,
    team_id: Option<&str>,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, team_id, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(super::now())
    .bind(team_id)
    .bind(actor)
    .bind(action)
    .bind(detail)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub struct Entry {
    pub at: i64,
    pub team_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

pub async fn recent(
    db: impl SqliteExecutor<'_>,
    team_id: &str,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT at, team_id, actor, action, detail FROM audit_log WHERE team_id = ? ORDER BY id DESC LIMIT ?",
    )
    .bind(team_id)
    .bind(limit)
    .fetch_all(db)
    .await
}
