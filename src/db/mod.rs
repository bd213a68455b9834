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
pub mod mails;
pub mod oauth_states;
pub mod sealed;
pub mod sessions;
pub mod used_form_tokens;
pub mod vault_canaries;

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::OwnedMutexGuard;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub type Db = SqlitePool;

/// One gate per database file in this process. SQLite lets one writer in at a time and makes
/// the others retry in its busy handler, sleeping whole milliseconds between tries; queueing
/// write transactions here instead hands the lock over at once, in order.
static WRITE_GATES: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

fn write_gate(db: &Db) -> Arc<tokio::sync::Mutex<()>> {
    let file = db.connect_options().get_filename().to_path_buf();
    let mut gates = WRITE_GATES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    gates.entry(file).or_default().clone()
}

/// A write transaction holding this process's write gate until it commits or rolls back.
/// It dereferences to the connection, so `&mut *tx` runs queries as with a plain transaction.
pub struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _gate: OwnedMutexGuard<()>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

/// Opens (creating if needed) the database and applies the embedded migrations.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?;
    private_file(options.get_filename())?;
    let options = options
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

/// The database holds sealed tokens, hashed sessions and people's addresses: only its owner may
/// read it. SQLite gives the `-wal` and `-shm` files the database file's mode, so creating the
/// database 0600 (and tightening one made before) covers all three.
fn private_file(path: &std::path::Path) -> Result<(), sqlx::Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                let file = std::path::PathBuf::from(file);
                if let Ok(meta) = std::fs::metadata(&file)
                    && meta.permissions().mode() & 0o077 != 0
                    && let Err(e) =
                        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                {
                    tracing::warn!(file = %file.display(), error = %e, "could not make a database file private");
                }
            }
            Ok(())
        }
        Err(e) => Err(sqlx::Error::Io(e)),
    }
}

/// Starts a write transaction that takes SQLite's write lock up front, so a read-then-write
/// transaction waits for the lock instead of failing when it upgrades. Within this process
/// writers wait their turn at the gate; another process (the CLI) still waits in SQLite's busy
/// handler.
pub async fn begin_write(db: &Db) -> Result<WriteTx, sqlx::Error> {
    let gate = write_gate(db).lock_owned().await;
    let tx = db.begin_with("BEGIN IMMEDIATE").await?;
    Ok(WriteTx { tx, _gate: gate })
}

/// Now, in Unix seconds: the unit every time column uses.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// True when the database answers a write (readiness).
pub async fn is_writable(db: &Db) -> bool {
    check_writable(db).await.is_ok()
}

/// Takes the write lock and writes a row into a real table, then rolls back: why the database
/// refuses writes, if it does. (A TEMP table lives outside the database file, so writing one
/// would not notice a full disk, a read-only file or a table that refuses rows.)
pub async fn check_writable(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = begin_write(db).await?;
    sqlx::query("INSERT INTO events_seen (event_id, team_id, seen_at) VALUES ('lobby-readiness-probe', NULL, 0)")
        .execute(&mut *tx)
        .await?;
    tx.rollback().await
}
