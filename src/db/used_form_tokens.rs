//! Join-form tokens spent on an accepted submission, so each form page sends one request.

use sqlx::SqliteExecutor;

/// Spends the token; false when it was spent before.
pub async fn spend(
    db: impl SqliteExecutor<'_>,
    token_hash: &[u8],
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO used_form_tokens (token_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(token_hash)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets tokens that can no longer be presented.
pub async fn forget_expired(db: impl SqliteExecutor<'_>, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM used_form_tokens WHERE expires_at < ?")
        .bind(now)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
