//! OAuth states for the install and login flows. Only hashes are stored; a state is consumed by a
//! single `DELETE … RETURNING`, so two callbacks racing with one state cannot both win.

use sqlx::SqliteExecutor;

#[derive(Debug, sqlx::FromRow)]
pub struct ConsumedState {
    pub flow: String,
    pub browser_hash: Vec<u8>,
    pub nonce: Option<String>,
    pub expires_at: i64,
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    state_hash: &[u8],
    flow: &str,
    browser_hash: &[u8],
    nonce: Option<&str>,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, flow, browser_hash, nonce, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(state_hash)
    .bind(flow)
    .bind(browser_hash)
    .bind(nonce)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes the state and returns what it was issued for; `None` when it is unknown or already used.
pub async fn consume(
    db: impl SqliteExecutor<'_>,
    state_hash: &[u8],
) -> Result<Option<ConsumedState>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM oauth_states WHERE state_hash = ? RETURNING flow, browser_hash, nonce, expires_at",
    )
    .bind(state_hash)
    .fetch_optional(db)
    .await
}

pub async fn delete_expired(db: impl SqliteExecutor<'_>, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at < ?")
        .bind(now)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
