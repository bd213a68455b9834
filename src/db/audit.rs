//! The audit log: who did what, when.

use super::{Exec, on_conn};
use crate::domain::TeamId;

pub async fn record(
    db: impl Into<Exec<'_>>,
    team_id: Option<&TeamId>,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "INSERT INTO audit_log (at, team_id, actor, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(super::now())
    .bind(team_id)
    .bind(actor)
    .bind(action)
    .bind(detail)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
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
    db: impl Into<Exec<'_>>,
    team_id: &TeamId,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_as(
        "SELECT at, team_id, actor, action, detail FROM audit_log WHERE team_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(team_id)
    .bind(limit)
    .fetch_all(c)
        .await
    })
}
