//! One sealed known value per master key id (see `vault::seal_canary`).

use sqlx::SqliteExecutor;

#[derive(Debug, sqlx::FromRow)]
pub struct Canary {
    pub key_id: String,
    pub sealed: String,
}

pub async fn list(db: impl SqliteExecutor<'_>) -> Result<Vec<Canary>, sqlx::Error> {
    sqlx::query_as("SELECT key_id, sealed FROM vault_canaries ORDER BY created_at, key_id")
        .fetch_all(db)
        .await
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    key_id: &str,
    sealed: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT OR REPLACE INTO vault_canaries (key_id, sealed, created_at) VALUES (?, ?, ?)",
    )
    .bind(key_id)
    .bind(sealed)
    .bind(super::now())
    .execute(db)
    .await?;
    Ok(())
}

/// After a re-seal only the sealing key is still in use.
pub async fn delete_all_but(db: impl SqliteExecutor<'_>, key_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM vault_canaries WHERE key_id <> ?")
        .bind(key_id)
        .execute(db)
        .await?;
    Ok(())
}
