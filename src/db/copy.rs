//! `lobby db copy`: every row of one database into an empty one, of either engine.
//!
//! The source is read in one snapshot (a read transaction; `REPEATABLE READ` on PostgreSQL) and
//! the target is written in one transaction: the copy lands whole or not at all. Tables go in
//! foreign-key order with their ids as they are, so sealed values (whose associated data names
//! their row) still open and every reference still points where it did. Each value is decoded by
//! the source column's type and bound as the target column's type wants it (SQLite keeps flags
//! as 0/1 integers, PostgreSQL as booleans).
//!
//! The funnel rollup (`invite_funnel_days`) is kept by triggers on `invite_requests`: copying
//! the requests makes the triggers count them on the target, so the rollup is cleared after the
//! requests and copied as the source has it, never counted twice.
//!
//! Before the commit the copy is checked: row counts per table, the rollup's sums, and every
//! sealed value and key canary opened with the configured keyring. On PostgreSQL each identity
//! sequence is moved past the highest copied id, so new rows do not collide with copied ones.

use std::fmt::Write as _;

use futures_util::TryStreamExt as _;
use sqlx::{AssertSqlSafe, Row as _};

use super::sealed::ResealError;
use super::{Db, Engine, Exec, TxConn, on_conn};
use crate::vault::Keyring;

/// Every application table, each after the tables it references. A migration adding a table
/// adds it here (a unit test compares this list with the migrations).
pub const TABLES: &[&str] = &[
    "vault_canaries",
    "installations",
    "oauth_states",
    "audit_log",
    "events_seen",
    "used_form_tokens",
    "limit_hits",
    "periodic_rounds",
    "communities",
    "invite_requests",
    "invite_funnel_days",
    "mails",
    "jobs",
    "job_attempts",
    "api_keys",
    "sessions",
    "session_installations",
];

/// Tables that triggers on other tables keep: cleared on the target just before their own rows
/// are copied, so they hold what the source holds and not the triggers' recount on top of it.
const ROLLUPS: &[&str] = &["invite_funnel_days"];

/// Not application tables: sqlx's record of applied migrations (each side has its own).
const IGNORED: &[&str] = &["_sqlx_migrations"];

/// Values bound per INSERT statement: well under SQLite's 32766 and PostgreSQL's 65535.
const VALUES_PER_INSERT: usize = 4000;

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target database is not empty ({}): copy only into a new, empty database",
        .0.join(", ")
    )]
    NotEmpty(Vec<String>),
    #[error("reading the source database: {0}")]
    Source(sqlx::Error),
    #[error("writing the target database: {0}")]
    Target(sqlx::Error),
    #[error("the two databases' schemas differ: {0}")]
    Schema(String),
    #[error("{table}.{column}: {problem}")]
    Value {
        table: &'static str,
        column: String,
        problem: String,
    },
    #[error("{table}: {in_source} rows in the source but {in_copy} in the copy")]
    Count {
        table: &'static str,
        in_source: i64,
        in_copy: i64,
    },
    #[error("{table}: {column} adds up to {in_source} in the source but {in_copy} in the copy")]
    Rollup {
        table: &'static str,
        column: String,
        in_source: i64,
        in_copy: i64,
    },
    #[error("a sealed value does not open with the configured key in the copy: {0}")]
    Sealed(ResealError),
}

/// What a copy moved.
#[derive(Debug)]
pub struct Copied {
    /// Rows per table, in the order they were copied.
    pub tables: Vec<(&'static str, i64)>,
    /// Sealed values (key canaries included) that opened with the keyring in the copy.
    pub sealed: u64,
}

/// The kinds of column the two schemas use: SQLite's INTEGER, TEXT and BLOB; PostgreSQL's
/// BIGINT, BOOLEAN (SQLite's 0/1 flags), TEXT and BYTEA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Integer,
    Boolean,
    Text,
    Bytes,
}

impl ColumnType {
    /// The kind of a column from its declared type (`PRAGMA table_info`'s `type` on SQLite,
    /// `information_schema.columns.data_type` on PostgreSQL); `None` for a type Lobby does not use.
    pub fn of(engine: Engine, declared: &str) -> Option<ColumnType> {
        match (engine, declared.to_ascii_lowercase().as_str()) {
            (Engine::Sqlite, "integer") | (Engine::Postgres, "bigint") => Some(ColumnType::Integer),
            (Engine::Postgres, "boolean") => Some(ColumnType::Boolean),
            (_, "text") => Some(ColumnType::Text),
            (Engine::Sqlite, "blob") | (Engine::Postgres, "bytea") => Some(ColumnType::Bytes),
            _ => None,
        }
    }
}

/// One value on its way from the source to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    /// The value as a column of type `to` takes it. The error names kinds, never the value
    /// itself (it may be a sealed token or a person's address).
    pub fn fit(self, to: ColumnType) -> Result<Value, String> {
        match (self, to) {
            (Value::Null, _) => Ok(Value::Null),
            (Value::Int(i), ColumnType::Integer) => Ok(Value::Int(i)),
            (Value::Int(0), ColumnType::Boolean) => Ok(Value::Bool(false)),
            (Value::Int(1), ColumnType::Boolean) => Ok(Value::Bool(true)),
            (Value::Int(i), ColumnType::Boolean) => {
                Err(format!("{i} is not a flag (0 or 1) for a BOOLEAN column"))
            }
            (Value::Bool(b), ColumnType::Integer) => Ok(Value::Int(i64::from(b))),
            (Value::Bool(b), ColumnType::Boolean) => Ok(Value::Bool(b)),
            (Value::Text(s), ColumnType::Text) => Ok(Value::Text(s)),
            (Value::Bytes(b), ColumnType::Bytes) => Ok(Value::Bytes(b)),
            (value, to) => Err(format!(
                "a {} value does not fit a {to:?} column",
                value.kind()
            )),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int(_) => "integer",
            Value::Bool(_) => "boolean",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
        }
    }
}

/// A column as both sides have it.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    source: ColumnType,
    target: ColumnType,
}

/// Copies every row of `source` into `target`, which must have the schema (`db::connect` ran its
/// migrations) and no rows; checks the copy (row counts, the rollup, every sealed value opened
/// with `keyring`) before committing it.
pub async fn copy(source: &Db, target: &Db, keyring: &Keyring) -> Result<Copied, CopyError> {
    let mut src = snapshot(source).await.map_err(CopyError::Source)?;
    let mut tx = super::begin_write(target)
        .await
        .map_err(CopyError::Target)?;

    let source_tables = tables(&mut src).await.map_err(CopyError::Source)?;
    known_tables(&source_tables, "source")?;
    let target_tables = tables(&mut *tx).await.map_err(CopyError::Target)?;
    known_tables(&target_tables, "target")?;

    let mut not_empty = Vec::new();
    for &table in TABLES {
        let rows = count(&mut *tx, table).await.map_err(CopyError::Target)?;
        if rows > 0 {
            not_empty.push(format!("{table} has {rows} rows"));
        }
    }
    if !not_empty.is_empty() {
        return Err(CopyError::NotEmpty(not_empty));
    }

    let mut copied = Vec::with_capacity(TABLES.len());
    let mut plans = Vec::with_capacity(TABLES.len());
    for &table in TABLES {
        let columns = plan(&mut src, &mut tx, table).await?;
        if ROLLUPS.contains(&table) {
            clear(&mut *tx, table).await.map_err(CopyError::Target)?;
        }
        let streamed = copy_table(&mut src, &mut tx, table, &columns).await?;
        let in_source = count(&mut src, table).await.map_err(CopyError::Source)?;
        let in_copy = count(&mut *tx, table).await.map_err(CopyError::Target)?;
        if in_source != in_copy || u64::try_from(in_source).ok() != Some(streamed) {
            return Err(CopyError::Count {
                table,
                in_source,
                in_copy,
            });
        }
        copied.push((table, in_source));
        plans.push((table, columns));
    }

    for (table, columns) in plans.iter().filter(|(t, _)| ROLLUPS.contains(t)) {
        for column in columns.iter().filter(|c| c.target == ColumnType::Integer) {
            let in_source = sum(&mut src, table, &column.name)
                .await
                .map_err(CopyError::Source)?;
            let in_copy = sum(&mut *tx, table, &column.name)
                .await
                .map_err(CopyError::Target)?;
            if in_source != in_copy {
                return Err(CopyError::Rollup {
                    table,
                    column: column.name.clone(),
                    in_source,
                    in_copy,
                });
            }
        }
    }

    if let TxConn::Postgres(conn) = &mut *tx {
        for (table, columns) in &plans {
            if columns
                .iter()
                .any(|c| c.name == "id" && c.target == ColumnType::Integer)
            {
                restart_identity(conn, table)
                    .await
                    .map_err(CopyError::Target)?;
            }
        }
    }

    let sealed = super::sealed::open_all(&mut *tx, keyring)
        .await
        .map_err(|e| match e {
            ResealError::Db(e) => CopyError::Target(e),
            e => CopyError::Sealed(e),
        })?;

    tx.commit().await.map_err(CopyError::Target)?;
    drop(src);

    // What another connection sees now: the committed copy.
    for &(table, in_source) in &copied {
        let in_copy = count(target, table).await.map_err(CopyError::Target)?;
        if in_copy != in_source {
            return Err(CopyError::Count {
                table,
                in_source,
                in_copy,
            });
        }
    }
    Ok(Copied {
        tables: copied,
        sealed,
    })
}

/// A read transaction: every read of the source sees the same moment, whatever else writes.
async fn snapshot(db: &Db) -> Result<TxConn, sqlx::Error> {
    Ok(match db {
        Db::Sqlite(pool) => TxConn::Sqlite(pool.begin().await?),
        Db::Postgres(pool) => TxConn::Postgres(
            pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?,
        ),
    })
}

/// The database's tables, but sqlx's migration record and SQLite's own.
async fn tables(db: impl Into<Exec<'_>>) -> Result<Vec<String>, sqlx::Error> {
    let db: Exec = db.into();
    let sql = db.pick(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    );
    let names: Vec<String> = on_conn!(db, |c| sqlx::query_scalar(sql).fetch_all(c).await)?;
    Ok(names
        .into_iter()
        .filter(|name| !IGNORED.contains(&name.as_str()))
        .collect())
}

/// Every table of the database is one [`TABLES`] lists, and every one it lists is there.
fn known_tables(found: &[String], side: &str) -> Result<(), CopyError> {
    if let Some(unknown) = found.iter().find(|t| !TABLES.contains(&t.as_str())) {
        return Err(CopyError::Schema(format!(
            "the {side} has a table this version of Lobby does not know ({unknown}); \
             copy with the Lobby version that made it"
        )));
    }
    if let Some(missing) = TABLES.iter().find(|t| !found.iter().any(|f| f == *t)) {
        return Err(CopyError::Schema(format!(
            "the {side} has no table {missing}"
        )));
    }
    Ok(())
}

/// A table's columns and their declared types, in the table's order.
async fn columns(
    db: impl Into<Exec<'_>>,
    table: &'static str,
) -> Result<(Engine, Vec<(String, String)>), sqlx::Error> {
    let db: Exec = db.into();
    let engine = db.engine();
    let sql = db.pick(
        "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    );
    let columns = on_conn!(db, |c| sqlx::query_as(sql).bind(table).fetch_all(c).await)?;
    Ok((engine, columns))
}

/// The columns to copy: the source's, each with its type on both sides. The two sides must
/// have the same columns (in any order) of types that carry each other's values.
async fn plan(
    src: &mut TxConn,
    tx: &mut super::WriteTx,
    table: &'static str,
) -> Result<Vec<Column>, CopyError> {
    let (source_engine, source) = columns(&mut *src, table).await.map_err(CopyError::Source)?;
    let (target_engine, target) = columns(&mut **tx, table).await.map_err(CopyError::Target)?;
    let kind = |engine: Engine, column: &str, declared: &str| {
        ColumnType::of(engine, declared).ok_or_else(|| {
            CopyError::Schema(format!(
                "{table}.{column} on {} has the type {declared}, which the copy does not know",
                engine.name()
            ))
        })
    };
    let mut plan = Vec::with_capacity(source.len());
    for (name, declared) in &source {
        if !is_identifier(name) {
            return Err(CopyError::Schema(format!(
                "{table} has a column named {name:?}"
            )));
        }
        let Some((_, target_declared)) = target.iter().find(|(n, _)| n == name) else {
            return Err(CopyError::Schema(format!(
                "{table}.{name} is in the source but not in the target"
            )));
        };
        plan.push(Column {
            name: name.clone(),
            source: kind(source_engine, name, declared)?,
            target: kind(target_engine, name, target_declared)?,
        });
    }
    if let Some((name, _)) = target
        .iter()
        .find(|(n, _)| !source.iter().any(|(s, _)| s == n))
    {
        return Err(CopyError::Schema(format!(
            "{table}.{name} is in the target but not in the source"
        )));
    }
    Ok(plan)
}

/// Column names go into SQL as they are: only the plain lower-case names the migrations use.
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

async fn count(db: impl Into<Exec<'_>>, table: &'static str) -> Result<i64, sqlx::Error> {
    // Table names come from TABLES, never from input.
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on_conn!(db, |c| sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(c)
        .await)
}

async fn sum(db: impl Into<Exec<'_>>, table: &str, column: &str) -> Result<i64, sqlx::Error> {
    // Names come from TABLES and the schema (checked by `is_identifier`).
    let sql = format!("SELECT CAST(COALESCE(SUM({column}), 0) AS BIGINT) FROM {table}");
    on_conn!(db, |c| sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(c)
        .await)
}

async fn clear(db: impl Into<Exec<'_>>, table: &'static str) -> Result<u64, sqlx::Error> {
    let sql = format!("DELETE FROM {table}");
    on_conn!(db, |c| sqlx::query(AssertSqlSafe(sql))
        .execute(c)
        .await
        .map(|done| done.rows_affected()))
}

/// The next id the table's identity hands out: one past the highest copied id.
async fn restart_identity(
    conn: &mut sqlx::PgConnection,
    table: &'static str,
) -> Result<(), sqlx::Error> {
    let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, 'id')")
        .bind(table)
        .fetch_one(&mut *conn)
        .await?;
    if let Some(sequence) = sequence {
        let sql =
            format!("SELECT setval($1, COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)");
        let _: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(sequence)
            .fetch_one(conn)
            .await?;
    }
    Ok(())
}

/// `($1, $2), ($3, $4)`: the placeholders of `rows` rows of `width` values.
fn placeholders(rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 6);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}", row * width + column + 1);
        }
        sql.push(')');
    }
    sql
}

/// Reads one column of a row by the source column's type.
macro_rules! decode_value {
    ($row:expr, $i:expr, $ty:expr) => {
        match $ty {
            ColumnType::Integer => $row.try_get::<Option<i64>, _>($i)?.map(Value::Int),
            ColumnType::Boolean => $row.try_get::<Option<bool>, _>($i)?.map(Value::Bool),
            ColumnType::Text => $row.try_get::<Option<String>, _>($i)?.map(Value::Text),
            ColumnType::Bytes => $row.try_get::<Option<Vec<u8>>, _>($i)?.map(Value::Bytes),
        }
        .unwrap_or(Value::Null)
    };
}

/// Streams the table's rows from the source into the target, a few thousand values per INSERT.
async fn copy_table(
    src: &mut TxConn,
    tx: &mut super::WriteTx,
    table: &'static str,
    columns: &[Column],
) -> Result<u64, CopyError> {
    let names = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!("SELECT {names} FROM {table}");
    let per_insert = (VALUES_PER_INSERT / columns.len().max(1)).max(1);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_insert);
    let mut rows = 0;

    macro_rules! pump {
        ($conn:expr) => {{
            let mut stream = sqlx::query(AssertSqlSafe(select)).fetch($conn);
            while let Some(row) = stream.try_next().await.map_err(CopyError::Source)? {
                let mut values = Vec::with_capacity(columns.len());
                for (i, column) in columns.iter().enumerate() {
                    let value = (|| -> Result<Value, sqlx::Error> {
                        Ok(decode_value!(row, i, column.source))
                    })()
                    .map_err(CopyError::Source)?;
                    values.push(
                        value
                            .fit(column.target)
                            .map_err(|problem| CopyError::Value {
                                table,
                                column: column.name.clone(),
                                problem,
                            })?,
                    );
                }
                batch.push(values);
                rows += 1;
                if batch.len() == per_insert {
                    insert(&mut **tx, table, &names, columns, &mut batch).await?;
                }
            }
        }};
    }
    match src {
        TxConn::Sqlite(conn) => pump!(&mut **conn),
        TxConn::Postgres(conn) => pump!(&mut **conn),
    }
    if !batch.is_empty() {
        insert(&mut **tx, table, &names, columns, &mut batch).await?;
    }
    Ok(rows)
}

/// Inserts the batch's rows (emptying it), binding each value as its target column's type.
async fn insert(
    db: impl Into<Exec<'_>>,
    table: &'static str,
    names: &str,
    columns: &[Column],
    batch: &mut Vec<Vec<Value>>,
) -> Result<(), CopyError> {
    let sql = format!(
        "INSERT INTO {table} ({names}) VALUES {}",
        placeholders(batch.len(), columns.len())
    );
    let rows = std::mem::take(batch);
    on_conn!(db, |c| {
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in rows {
            for (value, column) in row.into_iter().zip(columns) {
                // A NULL is bound with the column's type: PostgreSQL wants to know it.
                query = match (value, column.target) {
                    (Value::Null, ColumnType::Integer) => query.bind(None::<i64>),
                    (Value::Null, ColumnType::Boolean) => query.bind(None::<bool>),
                    (Value::Null, ColumnType::Text) => query.bind(None::<String>),
                    (Value::Null, ColumnType::Bytes) => query.bind(None::<Vec<u8>>),
                    (Value::Int(i), _) => query.bind(i),
                    (Value::Bool(b), _) => query.bind(b),
                    (Value::Text(s), _) => query.bind(s),
                    (Value::Bytes(b), _) => query.bind(b),
                };
            }
        }
        query.execute(c).await.map(|done| done.rows_affected())
    })
    .map_err(CopyError::Target)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::sealed::{COMMUNITY_INVITE_LINK, INSTALLATION_BOT_TOKEN};
    use crate::vault::MasterKey;

    fn team() -> crate::domain::TeamId {
        crate::domain::TeamId::parse("T0COPY").unwrap()
    }

    #[test]
    fn values_move_between_the_engines_types() {
        use ColumnType::*;
        // SQLite's 0/1 flags become PostgreSQL booleans, and back.
        assert_eq!(Value::Int(1).fit(Boolean), Ok(Value::Bool(true)));
        assert_eq!(Value::Int(0).fit(Boolean), Ok(Value::Bool(false)));
        assert_eq!(Value::Bool(true).fit(Integer), Ok(Value::Int(1)));
        assert_eq!(Value::Bool(false).fit(Integer), Ok(Value::Int(0)));
        // Everything else stays what it is.
        assert_eq!(Value::Int(-7).fit(Integer), Ok(Value::Int(-7)));
        assert_eq!(Value::Int(i64::MAX).fit(Integer), Ok(Value::Int(i64::MAX)));
        assert_eq!(
            Value::Text("é".into()).fit(Text),
            Ok(Value::Text("é".into()))
        );
        assert_eq!(
            Value::Bytes(vec![0, 255]).fit(Bytes),
            Ok(Value::Bytes(vec![0, 255]))
        );
        for to in [Integer, Boolean, Text, Bytes] {
            assert_eq!(Value::Null.fit(to), Ok(Value::Null));
        }
    }

    #[test]
    fn a_value_that_does_not_fit_is_refused_without_showing_it() {
        use ColumnType::*;
        let err = Value::Int(2).fit(Boolean).unwrap_err();
        assert!(err.contains("not a flag"), "{err}");
        let err = Value::Text("xoxb-secret".into()).fit(Integer).unwrap_err();
        assert!(!err.contains("xoxb"), "{err}");
        assert!(Value::Bytes(vec![1]).fit(Text).is_err());
        assert!(Value::Text("1".into()).fit(Boolean).is_err());
    }

    #[test]
    fn declared_types_name_their_kind_on_each_engine() {
        use ColumnType::*;
        assert_eq!(ColumnType::of(Engine::Sqlite, "INTEGER"), Some(Integer));
        assert_eq!(ColumnType::of(Engine::Sqlite, "TEXT"), Some(Text));
        assert_eq!(ColumnType::of(Engine::Sqlite, "BLOB"), Some(Bytes));
        assert_eq!(ColumnType::of(Engine::Postgres, "bigint"), Some(Integer));
        assert_eq!(ColumnType::of(Engine::Postgres, "boolean"), Some(Boolean));
        assert_eq!(ColumnType::of(Engine::Postgres, "text"), Some(Text));
        assert_eq!(ColumnType::of(Engine::Postgres, "bytea"), Some(Bytes));
        // An int4 would overflow silently on the way back; a REAL has no place in the schema.
        assert_eq!(ColumnType::of(Engine::Postgres, "integer"), None);
        assert_eq!(ColumnType::of(Engine::Sqlite, "REAL"), None);
    }

    #[test]
    fn placeholders_number_every_value_of_every_row() {
        assert_eq!(placeholders(1, 1), "($1)");
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }

    #[test]
    fn only_plain_names_are_identifiers() {
        assert!(is_identifier("user_token_expires_at"));
        assert!(!is_identifier("a\"; DROP TABLE x"));
        assert!(!is_identifier("Id"));
        assert!(!is_identifier("1st"));
        assert!(!is_identifier(""));
    }

    async fn sqlite(dir: &std::path::Path, name: &str) -> Db {
        crate::db::connect(&format!("sqlite://{}", dir.join(name).display()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_table_list_is_the_migrations_tables_parents_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite(dir.path(), "schema.db").await;
        let mut found = tables(&db).await.unwrap();
        found.sort();
        let mut listed: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
        listed.sort();
        assert_eq!(found, listed, "TABLES must list every table of the schema");
        for (i, table) in TABLES.iter().enumerate() {
            let parents: Vec<String> = on_conn!(&db, |c| sqlx::query_scalar(
                "SELECT \"table\" FROM pragma_foreign_key_list($1)"
            )
            .bind(*table)
            .fetch_all(c)
            .await)
            .unwrap();
            for parent in parents {
                let at = TABLES.iter().position(|t| *t == parent).unwrap();
                assert!(at < i, "{table} references {parent}, listed after it");
            }
        }
    }

    fn keyring() -> Keyring {
        Keyring::new(vec![MasterKey::generate()]).unwrap()
    }

    /// A source with a sealed token, a flag, a blob, NULLs, requests counted by the funnel and
    /// a canary for `keyring`'s key.
    async fn filled(db: &Db, keyring: &Keyring) {
        let key_id = keyring.sealing_key_id();
        crate::db::vault_canaries::insert(
            db,
            &key_id,
            &crate::vault::seal_canary(keyring, &key_id).unwrap(),
        )
        .await
        .unwrap();
        let token = keyring.seal_str("xoxb-copy", &INSTALLATION_BOT_TOKEN.aad("T0COPY"));
        on_conn!(db, |c| sqlx::query(
            "INSERT INTO installations (id, team_id, is_enterprise_install, installer_user_id, bot_token, \
             installed_at, updated_at) VALUES ('T0COPY', 'T0COPY', 1, 'U0ADMIN', $1, 10, 10)"
        )
        .bind(&token)
        .execute(c)
        .await
        .map(|d| d.rows_affected()))
        .unwrap();
        let link = keyring.seal_str(
            "https://join.slack.com/t/x",
            &COMMUNITY_INVITE_LINK.aad("7"),
        );
        on_conn!(db, |c| sqlx::query(
            "INSERT INTO communities (id, slug, installation_id, team_id, title, invite_mode, invite_link, \
             coc_required, created_at, updated_at) VALUES (7, 'copy', 'T0COPY', 'T0COPY', 'Copy', 'link', $1, 1, 10, 10)"
        )
        .bind(&link)
        .execute(c)
        .await
        .map(|d| d.rows_affected()))
        .unwrap();
        for (id, status, day) in [(3, "invited", 1), (4, "joined", 1), (9, "pending", 2)] {
            on_conn!(db, |c| sqlx::query(
                "INSERT INTO invite_requests (id, community_id, email, source, status, created_at, updated_at, \
                 confirm_hash) VALUES ($1, 7, $2, 'form', $3, $4, $4, $5)"
            )
            .bind(id)
            .bind(format!("p{id}@example.org"))
            .bind(status)
            .bind(day * 86400 + 5)
            .bind(vec![id as u8, 0, 255])
            .execute(c)
            .await
            .map(|d| d.rows_affected()))
            .unwrap();
        }
        crate::db::audit::record(db, Some(&team()), "U0ADMIN", "copy.test", "")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_copy_holds_every_row_with_its_id_and_the_funnel_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = keyring();
        let source = sqlite(dir.path(), "source.db").await;
        filled(&source, &keyring).await;
        let target = sqlite(dir.path(), "target.db").await;

        let copied = copy(&source, &target, &keyring).await.unwrap();
        let rows = |t: &str| copied.tables.iter().find(|(n, _)| *n == t).unwrap().1;
        assert_eq!(rows("installations"), 1);
        assert_eq!(rows("communities"), 1);
        assert_eq!(rows("invite_requests"), 3);
        assert_eq!(rows("invite_funnel_days"), 2);
        assert_eq!(rows("vault_canaries"), 1);
        assert_eq!(copied.sealed, 3, "bot token, invite link and canary");

        let funnel = |db: Db| async move {
            on_conn!(&db, |c| sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(
                "SELECT community_id, day, requested, invited, joined FROM invite_funnel_days ORDER BY day"
            )
            .fetch_all(c)
            .await)
            .unwrap()
        };
        assert_eq!(funnel(target.clone()).await, funnel(source.clone()).await);
        assert_eq!(
            funnel(target.clone()).await,
            vec![(7, 1, 2, 2, 1), (7, 2, 1, 0, 0)]
        );
        let hash: Vec<u8> = on_conn!(&target, |c| sqlx::query_scalar(
            "SELECT confirm_hash FROM invite_requests WHERE id = 9"
        )
        .fetch_one(c)
        .await)
        .unwrap();
        assert_eq!(hash, vec![9, 0, 255]);
        let token = crate::db::installations::token(
            &target,
            &keyring,
            &team(),
            crate::db::installations::TokenKind::Bot,
        )
        .await
        .unwrap()
        .unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(token.token.expose_secret(), "xoxb-copy");
    }

    #[tokio::test]
    async fn a_target_with_rows_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = keyring();
        let source = sqlite(dir.path(), "source.db").await;
        filled(&source, &keyring).await;
        let target = sqlite(dir.path(), "target.db").await;
        crate::db::audit::record(&target, None, "system", "already.here", "")
            .await
            .unwrap();

        let err = copy(&source, &target, &keyring).await.unwrap_err();
        assert!(matches!(err, CopyError::NotEmpty(_)), "{err}");
        assert!(err.to_string().contains("audit_log has 1 rows"), "{err}");
        assert_eq!(count(&target, "audit_log").await.unwrap(), 1);
        assert_eq!(count(&target, "installations").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_sealed_value_the_key_cannot_open_rolls_the_whole_copy_back() {
        let dir = tempfile::tempdir().unwrap();
        let source = sqlite(dir.path(), "source.db").await;
        filled(&source, &keyring()).await;
        let target = sqlite(dir.path(), "target.db").await;

        let err = copy(&source, &target, &keyring()).await.unwrap_err();
        assert!(matches!(err, CopyError::Sealed(_)), "{err}");
        assert!(!err.to_string().contains("xoxb"), "{err}");
        for table in TABLES {
            assert_eq!(count(&target, table).await.unwrap(), 0, "{table}");
        }
    }
}
