//! Join-form tokens spent on an accepted submission, so each form page sends one request.

use super::{Exec, on_conn};

/// Spends the token; false when it was spent before.
pub async fn spend(
    db: impl Into<Exec<'_>>,
    token_hash: &[u8],
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| {
        sqlx::query(
        "INSERT INTO used_form_tokens (token_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(token_hash)
    .bind(expires_at)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Spends many tokens (hash, expiry) in one statement; returns the hashes spent now (those spent
/// before, or twice in `tokens`, are left out or appear once).
pub async fn spend_many(
    db: impl Into<Exec<'_>>,
    tokens: &[(&[u8], i64)],
) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let db: Exec = db.into();
    let sql = format!(
        "INSERT INTO used_form_tokens (token_hash, expires_at) VALUES {} \
         ON CONFLICT DO NOTHING RETURNING token_hash",
        super::values_placeholders(db.engine(), tokens.len(), 2)
    );
    on_conn!(db, |c| {
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
        for (hash, expires_at) in tokens {
            query = query.bind(*hash).bind(*expires_at);
        }
        query.fetch_all(c).await
    })
}

/// Forgets tokens that can no longer be presented.
pub async fn forget_expired(db: impl Into<Exec<'_>>, now: i64) -> Result<u64, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "DELETE FROM used_form_tokens WHERE expires_at < $1"
    )
    .bind(now)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done)
}
