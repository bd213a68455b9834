//! The database: one SQLite file in WAL mode. All SQL in Lobby lives under this module.
//!
//! Each submodule holds the queries for one table group as free functions taking an executor,
//! so a caller composes them inside one transaction when it has to.

pub mod admin_audit;
pub mod admin_requests;
pub mod admin_scope;
pub mod api_keys;
pub mod audit;
pub mod backup;
pub mod communities;
pub mod events_seen;
pub mod installations;
pub mod invite_requests;
pub mod jobs;
pub mod oauth_states;
pub mod sealed;
pub mod sessions;
pub mod vault_canaries;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub type Db = SqlitePool;
pub type WriteTx = Transaction<'static, Sqlite>;

/// Opens (creating if needed) the database and applies the embedded migrations.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Starts a write transaction that takes SQLite's write lock up front, so a read-then-write
/// transaction waits for the lock (busy timeout) instead of failing when it upgrades.
pub async fn begin_write(db: &Db) -> Result<WriteTx, sqlx::Error> {
    db.begin_with("BEGIN IMMEDIATE").await
}

/// Now, in Unix seconds: the unit every time column uses.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// True when the database answers a write (readiness).
pub async fn is_writable(db: &Db) -> bool {
    check_writable(db).await.is_ok()
}

/// Takes the write lock and writes, then rolls back: why the database refuses writes, if it does.
pub async fn check_writable(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = begin_write(db).await?;
    sqlx::query("CREATE TEMP TABLE IF NOT EXISTS readiness_probe (x INTEGER)")
        .execute(&mut *tx)
        .await?;
    tx.rollback().await
}
