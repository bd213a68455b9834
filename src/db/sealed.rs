//! The registry of sealed columns, so `lobby keys rotate` can re-seal every one of them.
//!
//! A sealed value's associated data is its table, column and row id: moved anywhere else, it
//! no longer opens.

use sqlx::AssertSqlSafe;

use super::{Exec, on_conn};

use crate::vault::{self, Aad, Keyring, VaultError};

/// A column that holds sealed strings, and the column naming its row.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
    pub row_key: &'static str,
}

impl SealedColumn {
    pub const fn new(table: &'static str, column: &'static str, row_key: &'static str) -> Self {
        Self {
            table,
            column,
            row_key,
        }
    }

    pub fn aad<'a>(&self, row: &'a str) -> Aad<'a> {
        Aad {
            table: self.table,
            column: self.column,
            row,
        }
    }
}

pub const INSTALLATION_BOT_TOKEN: SealedColumn =
    SealedColumn::new("installations", "bot_token", "id");
pub const INSTALLATION_BOT_REFRESH: SealedColumn =
    SealedColumn::new("installations", "bot_refresh_token", "id");
pub const INSTALLATION_USER_TOKEN: SealedColumn =
    SealedColumn::new("installations", "user_token", "id");
pub const INSTALLATION_USER_REFRESH: SealedColumn =
    SealedColumn::new("installations", "user_refresh_token", "id");

pub const COMMUNITY_INVITE_LINK: SealedColumn =
    SealedColumn::new("communities", "invite_link", "id");
pub const COMMUNITY_LEGACY_TOKEN: SealedColumn =
    SealedColumn::new("communities", "legacy_token", "id");
pub const COMMUNITY_CAPTCHA_SECRET: SealedColumn =
    SealedColumn::new("communities", "captcha_secret", "id");

/// Every sealed column in the schema. A migration adding one adds it here.
pub const SEALED_COLUMNS: &[SealedColumn] = &[
    INSTALLATION_BOT_TOKEN,
    INSTALLATION_BOT_REFRESH,
    INSTALLATION_USER_TOKEN,
    INSTALLATION_USER_REFRESH,
    COMMUNITY_INVITE_LINK,
    COMMUNITY_LEGACY_TOKEN,
    COMMUNITY_CAPTCHA_SECRET,
];

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{table}.{column} of row {row}: {source}")]
    Vault {
        table: &'static str,
        column: &'static str,
        row: String,
        source: VaultError,
    },
}

/// Every sealed value of the column, with its row key as text.
async fn sealed_values(
    db: impl Into<Exec<'_>>,
    col: &SealedColumn,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    // Identifiers come from the constant registry above, never from input.
    let select = format!(
        "SELECT CAST({key} AS TEXT), {col} FROM {table} WHERE {col} IS NOT NULL",
        key = col.row_key,
        col = col.column,
        table = col.table
    );
    on_conn!(db, |c| sqlx::query_as(AssertSqlSafe(select))
        .fetch_all(c)
        .await)
}

/// Re-seals every sealed value with the keyring's newest key; returns how many values it moved.
/// Runs inside the caller's transaction, so a failure leaves every value as it was.
pub async fn reseal_all(tx: &mut super::WriteTx, keyring: &Keyring) -> Result<u64, ResealError> {
    let mut moved = 0;
    for col in SEALED_COLUMNS {
        let rows = sealed_values(&mut **tx, col).await?;
        let update = format!(
            "UPDATE {table} SET {col} = $1 WHERE CAST({key} AS TEXT) = $2",
            table = col.table,
            col = col.column,
            key = col.row_key
        );
        for (row, sealed) in rows {
            let resealed =
                keyring
                    .reseal(&sealed, &col.aad(&row))
                    .map_err(|source| ResealError::Vault {
                        table: col.table,
                        column: col.column,
                        row: row.clone(),
                        source,
                    })?;
            on_conn!(&mut **tx, |c| sqlx::query(AssertSqlSafe(update.as_str()))
                .bind(resealed)
                .bind(&row)
                .execute(c)
                .await
                .map(|done| done.rows_affected()))?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// Opens every sealed value and every key canary with `keyring` (after `lobby db copy`: the
/// configured key still opens everything in the copy); returns how many it opened.
pub async fn open_all(db: impl Into<Exec<'_>>, keyring: &Keyring) -> Result<u64, ResealError> {
    let mut db: Exec = db.into();
    let mut opened = 0;
    for col in SEALED_COLUMNS {
        for (row, sealed) in sealed_values(&mut db, col).await? {
            keyring
                .open(&sealed, &col.aad(&row))
                .map_err(|source| ResealError::Vault {
                    table: col.table,
                    column: col.column,
                    row,
                    source,
                })?;
            opened += 1;
        }
    }
    for canary in super::vault_canaries::list(&mut db).await? {
        vault::check_canary(keyring, &canary.key_id, &canary.sealed).map_err(|source| {
            ResealError::Vault {
                table: "vault_canaries",
                column: "sealed",
                row: canary.key_id,
                source,
            }
        })?;
        opened += 1;
    }
    Ok(opened)
}
