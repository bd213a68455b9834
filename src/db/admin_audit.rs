//! The dashboard's reads of the audit log, scoped to the installations an admin manages.

use super::{Exec, on_conn};

use super::admin_scope::json_list;
use crate::domain::TeamId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub team_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// Entries of these installations, newest first, before `before_id` (the keyset cursor).
pub async fn page(
    db: impl Into<Exec<'_>>,
    installations: &[TeamId],
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let db: Exec = db.into();
    let sql = db.pick(
        "SELECT id, at, team_id, actor, action, detail FROM audit_log \
         WHERE team_id IN (SELECT value FROM json_each($1)) AND id < $2 ORDER BY id DESC LIMIT $3",
        "SELECT id, at, team_id, actor, action, detail FROM audit_log \
         WHERE team_id IN (SELECT json_array_elements_text($1::json)) AND id < $2 ORDER BY id DESC LIMIT $3",
    );
    on_conn!(db, |c| sqlx::query_as(sql)
        .bind(json_list(installations))
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// The latest entries of one installation.
pub async fn recent(
    db: impl Into<Exec<'_>>,
    installation_id: &TeamId,
    limit: i64,
) -> Result<Vec<AuditEntry>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT id, at, team_id, actor, action, detail FROM audit_log WHERE team_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(installation_id)
    .bind(limit)
    .fetch_all(c)
    .await)
}

/// The latest entry of one installation with this action, if any.
pub async fn latest(
    db: impl Into<Exec<'_>>,
    installation_id: &TeamId,
    action: &str,
) -> Result<Option<AuditEntry>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT id, at, team_id, actor, action, detail FROM audit_log \
         WHERE team_id = $1 AND action = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(installation_id)
    .bind(action)
    .fetch_optional(c)
    .await)
}
