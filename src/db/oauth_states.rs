//! OAuth states for the install and login flows. Only hashes are stored; a state is consumed by a
//! single `DELETE … RETURNING`, so two callbacks racing with one state cannot both win.

use super::{Exec, on_conn};

#[derive(Debug, sqlx::FromRow)]
pub struct ConsumedState {
    pub flow: String,
    pub browser_hash: Vec<u8>,
    pub nonce: Option<String>,
    pub expires_at: i64,
}

pub async fn insert(
    db: impl Into<Exec<'_>>,
    state_hash: &[u8],
    flow: &str,
    browser_hash: &[u8],
    nonce: Option<&str>,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query(
        "INSERT INTO oauth_states (state_hash, flow, browser_hash, nonce, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(state_hash)
    .bind(flow)
    .bind(browser_hash)
    .bind(nonce)
    .bind(expires_at)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Removes the state and returns what it was issued for; `None` when it is unknown or already used.
pub async fn consume(
    db: impl Into<Exec<'_>>,
    state_hash: &[u8],
) -> Result<Option<ConsumedState>, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_as(
        "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING flow, browser_hash, nonce, expires_at",
    )
    .bind(state_hash)
    .fetch_optional(c)
        .await
    })
}

pub async fn delete_expired(db: impl Into<Exec<'_>>, now: i64) -> Result<u64, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "DELETE FROM oauth_states WHERE expires_at < $1"
    )
    .bind(now)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done)
}
