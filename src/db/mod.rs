//! The database: one SQLite file in WAL mode, or PostgreSQL. All SQL in Lobby lives under this
//! module.
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
pub mod copy;
pub mod events_seen;
pub mod installations;
pub mod invite_requests;
pub mod jobs;
pub mod limit_hits;
pub mod mails;
pub mod oauth_states;
pub mod periodic_rounds;
pub mod sealed;
pub mod sessions;
pub mod signals;
pub mod used_form_tokens;
pub mod vault_canaries;

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::OwnedMutexGuard;

pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The database Lobby runs on: one SQLite file (the default), or PostgreSQL shared by any number
/// of instances. Services hold a `Db` and never ask which; the functions in this module's
/// submodules run the same statement on either, or each engine's own where the dialects differ.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }

    /// Which engine a `LOBBY_DATABASE_URL` names.
    pub fn of_url(url: &str) -> Engine {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            Engine::Sqlite
        }
    }
}

impl Db {
    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite(_) => Engine::Sqlite,
            Db::Postgres(_) => Engine::Postgres,
        }
    }

    /// Closes every connection (waiting for those in use to come back).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// The SQLite pool, for what only SQLite has (file backups, tests of the file itself).
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(pool) => Some(pool),
            Db::Postgres(_) => None,
        }
    }

    /// The engine's own name for its version (`SELECT sqlite_version()` / `SHOW server_version`).
    pub async fn server_version(&self) -> Result<String, sqlx::Error> {
        match self {
            Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT sqlite_version()")
                    .fetch_one(pool)
                    .await
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar("SHOW server_version")
                    .fetch_one(pool)
                    .await
            }
        }
    }
}

/// What a query runs on: a pool (one connection borrowed for the statement) or a connection
/// inside a transaction, of either engine. Every function under `db::` takes `impl Into<Exec>`,
/// so callers pass `&db` or `&mut *tx` alike.
pub enum Exec<'c> {
    SqlitePool(&'c SqlitePool),
    Sqlite(&'c mut SqliteConnection),
    PgPool(&'c PgPool),
    Postgres(&'c mut PgConnection),
}

impl Exec<'_> {
    pub fn engine(&self) -> Engine {
        match self {
            Exec::SqlitePool(_) | Exec::Sqlite(_) => Engine::Sqlite,
            Exec::PgPool(_) | Exec::Postgres(_) => Engine::Postgres,
        }
    }

    /// The statement written for this engine: for the few places where the dialects differ.
    pub fn pick<T>(&self, sqlite: T, postgres: T) -> T {
        match self.engine() {
            Engine::Sqlite => sqlite,
            Engine::Postgres => postgres,
        }
    }
}

impl<'c> From<&'c Db> for Exec<'c> {
    fn from(db: &'c Db) -> Self {
        match db {
            Db::Sqlite(pool) => Exec::SqlitePool(pool),
            Db::Postgres(pool) => Exec::PgPool(pool),
        }
    }
}

impl<'c> From<&'c mut TxConn> for Exec<'c> {
    fn from(tx: &'c mut TxConn) -> Self {
        match tx {
            TxConn::Sqlite(tx) => Exec::Sqlite(tx),
            TxConn::Postgres(tx) => Exec::Postgres(tx),
        }
    }
}

impl<'c> From<&'c mut Exec<'_>> for Exec<'c> {
    fn from(exec: &'c mut Exec<'_>) -> Self {
        match exec {
            Exec::SqlitePool(pool) => Exec::SqlitePool(pool),
            Exec::Sqlite(conn) => Exec::Sqlite(conn),
            Exec::PgPool(pool) => Exec::PgPool(pool),
            Exec::Postgres(conn) => Exec::Postgres(conn),
        }
    }
}

/// Runs `$body` with `$c` bound to a connection of whichever engine `$db` is: the same sqlx
/// code compiles once per engine. A pool lends one connection for the statement, as sqlx's own
/// pool executor does. Exported for the integration tests' ad-hoc SQL.
#[macro_export]
macro_rules! on_conn {
    ($db:expr, |$c:ident| $body:expr) => {{
        match Into::<$crate::db::Exec<'_>>::into($db) {
            $crate::db::Exec::SqlitePool(pool) => match pool.acquire().await {
                Ok(mut held) => {
                    let $c: &mut sqlx::SqliteConnection = &mut held;
                    $body
                }
                Err(e) => Err(e.into()),
            },
            $crate::db::Exec::Sqlite($c) => $body,
            $crate::db::Exec::PgPool(pool) => match pool.acquire().await {
                Ok(mut held) => {
                    let $c: &mut sqlx::PgConnection = &mut held;
                    $body
                }
                Err(e) => Err(e.into()),
            },
            $crate::db::Exec::Postgres($c) => $body,
        }
    }};
}
pub use on_conn;

/// One gate per SQLite database file in this process. SQLite lets one writer in at a time and
/// makes the others retry in its busy handler, sleeping whole milliseconds between tries;
/// queueing write transactions here instead hands the lock over at once, in order. PostgreSQL
/// locks rows, not the database, and needs no gate.
static WRITE_GATES: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

fn write_gate(pool: &SqlitePool) -> Arc<tokio::sync::Mutex<()>> {
    let file = pool.connect_options().get_filename().to_path_buf();
    let mut gates = WRITE_GATES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    gates.entry(file).or_default().clone()
}

/// The connection of an open transaction, of either engine.
pub enum TxConn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A write transaction (holding this process's SQLite write gate until it commits or rolls
/// back). `&mut *tx` runs queries in it.
pub struct WriteTx {
    tx: TxConn,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub fn engine(&self) -> Engine {
        match self.tx {
            TxConn::Sqlite(_) => Engine::Sqlite,
            TxConn::Postgres(_) => Engine::Postgres,
        }
    }

    /// Waits for and holds, until this transaction ends, the lock named `key` that every
    /// instance on PostgreSQL respects. On SQLite the write transaction already has the database
    /// to itself.
    pub async fn lock_across_instances(&mut self, key: &str) -> Result<(), sqlx::Error> {
        if let TxConn::Postgres(tx) = &mut self.tx {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self.tx {
            TxConn::Sqlite(tx) => tx.commit().await,
            TxConn::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.tx {
            TxConn::Sqlite(tx) => tx.rollback().await,
            TxConn::Postgres(tx) => tx.rollback().await,
        }
    }
}

impl std::ops::Deref for WriteTx {
    type Target = TxConn;
    fn deref(&self) -> &TxConn {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut TxConn {
        &mut self.tx
    }
}

/// A database URL fit for messages and logs: a PostgreSQL URL's password left out.
pub fn printable_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(None).is_ok() {
                parsed.to_string()
            } else {
                "the database".to_owned()
            }
        }
        Ok(_) => url.to_owned(),
        // SQLite's relative paths do not parse; anything else that does not may hold anything.
        Err(_) if url.starts_with("sqlite:") && !url.contains('@') => url.to_owned(),
        Err(_) => "the database".to_owned(),
    }
}

/// Opens (creating if needed) the database `url` names and applies that engine's migrations.
pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
    match Engine::of_url(url) {
        Engine::Sqlite => connect_sqlite(url).await,
        Engine::Postgres => connect_postgres(url).await,
    }
}

async fn connect_postgres(url: &str) -> Result<Db, sqlx::Error> {
    let options = PgConnectOptions::from_str(url)?.application_name("lobby");
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    POSTGRES_MIGRATOR.run(&pool).await?;
    Ok(Db::Postgres(pool))
}

async fn connect_sqlite(url: &str) -> Result<Db, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(url)?;
    private_file(options.get_filename())?;
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    // A SQLite connection is a file handle in this process: pinging it before every lend (a
    // round trip to its worker thread) finds nothing a query would not.
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    SQLITE_MIGRATOR.run(&pool).await?;
    Ok(Db::Sqlite(pool))
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
    match db {
        Db::Sqlite(pool) => {
            let gate = write_gate(pool).lock_owned().await;
            let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            Ok(WriteTx {
                tx: TxConn::Sqlite(tx),
                _gate: Some(gate),
            })
        }
        Db::Postgres(pool) => Ok(WriteTx {
            tx: TxConn::Postgres(pool.begin().await?),
            _gate: None,
        }),
    }
}

impl WriteTx {
    /// Marks a point this transaction can go back to ([`WriteTx::undo_step`]) without losing
    /// what it wrote before: one step among many in a shared transaction. On PostgreSQL a failed
    /// statement spoils the whole transaction unless it is undone to such a point.
    pub async fn begin_step(&mut self) -> Result<(), sqlx::Error> {
        self.raw("SAVEPOINT lobby_step").await
    }

    /// Keeps what the step wrote (it commits with the transaction).
    pub async fn keep_step(&mut self) -> Result<(), sqlx::Error> {
        self.raw("RELEASE SAVEPOINT lobby_step").await
    }

    /// Undoes what the step wrote; the transaction goes on as it was before the step.
    pub async fn undo_step(&mut self) -> Result<(), sqlx::Error> {
        self.raw("ROLLBACK TO SAVEPOINT lobby_step").await?;
        self.raw("RELEASE SAVEPOINT lobby_step").await
    }

    async fn raw(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        match &mut self.tx {
            TxConn::Sqlite(tx) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop),
            TxConn::Postgres(tx) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop),
        }
    }
}

/// A lock every instance sharing the database respects, held until dropped: on PostgreSQL the
/// advisory lock of a transaction that ends (and lets go) when this is dropped; on SQLite none,
/// as one process serves the file and serializes in memory.
pub struct SharedLock {
    _tx: Option<WriteTx>,
}

/// Waits for and takes the lock named `key` (see [`SharedLock`]).
pub async fn lock_across_instances(db: &Db, key: &str) -> Result<SharedLock, sqlx::Error> {
    if db.engine() == Engine::Sqlite {
        return Ok(SharedLock { _tx: None });
    }
    let mut tx = begin_write(db).await?;
    tx.lock_across_instances(key).await?;
    Ok(SharedLock { _tx: Some(tx) })
}

/// The placeholders of a multi-row `VALUES` of `rows` rows of `columns` values each, for
/// statements that write many rows at once and bind nothing else: `(?, ?), (?, ?)` on SQLite,
/// `($1, $2), ($3, $4)` on PostgreSQL. SQLite looks numbered and named parameters up in a list, once
/// per occurrence when it prepares and once per parameter when sqlx binds — quadratic in a batch
/// of a few thousand values — while anonymous ones are taken in order.
pub(crate) fn values_placeholders(engine: Engine, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 6);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match engine {
                Engine::Sqlite => sql.push('?'),
                Engine::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * columns + column + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
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
    on_conn!(&mut *tx, |c| {
        sqlx::query(
        "INSERT INTO events_seen (event_id, team_id, seen_at) VALUES ('lobby-readiness-probe', NULL, 0)"
    )
    .execute(c)
    .await
    .map(|done| done.rows_affected())
    })?;
    tx.rollback().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_placeholders_number_every_value() {
        assert_eq!(
            values_placeholders(Engine::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(values_placeholders(Engine::Postgres, 1, 1), "($1)");
        assert_eq!(values_placeholders(Engine::Sqlite, 2, 2), "(?, ?), (?, ?)");
    }

    #[test]
    fn printed_urls_leave_the_password_out() {
        assert_eq!(
            printable_url("postgres://lobby:s3cret@db.example:5432/lobby"),
            "postgres://lobby@db.example:5432/lobby"
        );
        assert_eq!(
            printable_url("sqlite:///var/lib/lobby/lobby.db"),
            "sqlite:///var/lib/lobby/lobby.db"
        );
        assert_eq!(
            printable_url("sqlite://./data/lobby.db"),
            "sqlite://./data/lobby.db"
        );
        assert!(!printable_url("post gres://u:s3cret@x").contains("s3cret"));
    }
}
