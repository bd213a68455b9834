//! API keys: only the public prefix and a hash of the whole key are stored.

use sqlx::SqliteExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: i64,
    pub team_id: String,
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
    pub team_id: String,
    pub secret_hash: Vec<u8>,
    pub revoked_at: Option<i64>,
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    team_id: &str,
    name: &str,
    prefix: &str,
    secret_hash: &[u8],
    created_by: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO api_keys (team_id, name, prefix, secret_hash, created_by, created_at) \
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(team_id)
    .bind(name)
    .bind(prefix)
    .bind(secret_hash)
    .bind(created_by)
    .bind(super::now())
    .fetch_one(db)
    .await
}

pub async fn by_prefix(
    db: impl SqliteExecutor<'_>,
    prefix: &str,
) -> Result<Option<StoredKey>, sqlx::Error> {
    sqlx::query_as("SELECT id, team_id, secret_hash, revoked_at FROM api_keys WHERE prefix = ?")
        .bind(prefix)
        .fetch_optional(db)
        .await
}

pub async fn touch(db: impl SqliteExecutor<'_>, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
        .bind(super::now())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn list(db: impl SqliteExecutor<'_>, team_id: &str) -> Result<Vec<ApiKey>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, team_id, name, prefix, created_by, created_at, last_used_at, revoked_at FROM api_keys \
         WHERE team_id = ? ORDER BY id DESC",
    )
    .bind(team_id)
    .fetch_all(db)
    .await
}

/// Revokes the key of that team; false when there is none (or it belongs to another team).
pub async fn revoke(
    db: impl SqliteExecutor<'_>,
    team_id: &str,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND team_id = ? AND revoked_at IS NULL",
    )
    .bind(super::now())
    .bind(id)
    .bind(team_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}
