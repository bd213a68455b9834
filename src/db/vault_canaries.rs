//! One sealed known value per master key id (see `vault::seal_canary`).

use super::{Exec, on_conn};

#[derive(Debug, sqlx::FromRow)]
pub struct Canary {
    pub key_id: String,
    pub sealed: String,
}

pub async fn list(db: impl Into<Exec<'_>>) -> Result<Vec<Canary>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT key_id, sealed FROM vault_canaries ORDER BY created_at, key_id"
    )
    .fetch_all(c)
    .await)
}

pub async fn insert(
    db: impl Into<Exec<'_>>,
    key_id: &str,
    sealed: &str,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query(
        "INSERT INTO vault_canaries (key_id, sealed, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key_id) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at",
    )
    .bind(key_id)
    .bind(sealed)
    .bind(super::now())
    .execute(c)
    .await
    .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// After a re-seal only the sealing key is still in use.
pub async fn delete_all_but(db: impl Into<Exec<'_>>, key_id: &str) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "DELETE FROM vault_canaries WHERE key_id <> $1"
    )
    .bind(key_id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
