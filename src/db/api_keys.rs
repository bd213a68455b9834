//! API keys: only the public prefix and a hash of the whole key are stored.

use super::{Exec, on_conn};
use crate::domain::TeamId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: i64,
    pub team_id: TeamId,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What verification needs: the stored hash and whether the key still works.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredKey {
    pub id: i64,
    pub team_id: TeamId,
    pub secret_hash: Vec<u8>,
    pub revoked_at: Option<i64>,
}

pub async fn insert(
    db: impl Into<Exec<'_>>,
    team_id: &TeamId,
    name: &str,
    prefix: &str,
    secret_hash: &[u8],
    created_by: &str,
) -> Result<i64, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_scalar(
        "INSERT INTO api_keys (team_id, name, prefix, secret_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(team_id)
    .bind(name)
    .bind(prefix)
    .bind(secret_hash)
    .bind(created_by)
    .bind(super::now())
    .fetch_one(c)
    .await)
}

pub async fn by_prefix(
    db: impl Into<Exec<'_>>,
    prefix: &str,
) -> Result<Option<StoredKey>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT id, team_id, secret_hash, revoked_at FROM api_keys WHERE prefix = $1"
    )
    .bind(prefix)
    .fetch_optional(c)
    .await)
}

pub async fn touch(db: impl Into<Exec<'_>>, id: i64) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2"
    )
    .bind(super::now())
    .bind(id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn list(db: impl Into<Exec<'_>>, team_id: &TeamId) -> Result<Vec<ApiKey>, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_as(
        "SELECT id, team_id, name, prefix, created_by, created_at, last_used_at, revoked_at FROM api_keys \
         WHERE team_id = $1 ORDER BY id DESC",
    )
    .bind(team_id)
    .fetch_all(c)
        .await
    })
}

/// Revokes the key of that team; false when there is none (or it belongs to another team).
pub async fn revoke(
    db: impl Into<Exec<'_>>,
    team_id: &TeamId,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| {
        sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND team_id = $3 AND revoked_at IS NULL",
    )
    .bind(super::now())
    .bind(id)
    .bind(team_id)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done > 0)
}
