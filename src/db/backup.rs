//! Online copies of the database: `VACUUM INTO` reads one consistent snapshot (a read
//! transaction), so it runs while the server writes, and the copy is compact and self-contained
//! (no WAL beside it).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, SqliteConnection};

/// Opens the existing database at `url` on one connection, without creating, migrating or
/// reconfiguring it: a backup copies what is there.
pub async fn open_existing(url: &str) -> Result<SqliteConnection, sqlx::Error> {
    SqliteConnectOptions::from_str(url)?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// Opens a finished copy to inspect it, leaving no `-wal` or `-shm` file beside it: nothing
/// else writes to a copy, so SQLite may skip locking altogether.
pub async fn open_copy(path: &Path) -> Result<SqliteConnection, sqlx::Error> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .connect()
        .await
}

/// Writes a consistent copy of the database into `target`, which must not exist or be empty.
pub async fn vacuum_into(db: &mut SqliteConnection, target: &Path) -> Result<(), sqlx::Error> {
    let target = target
        .to_str()
        .ok_or_else(|| sqlx::Error::Configuration("the backup path is not valid UTF-8".into()))?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(db)
        .await?;
    Ok(())
}

/// What `PRAGMA integrity_check` says: `ok`, or the problems it found.
pub async fn integrity_check(db: &mut SqliteConnection) -> Result<String, sqlx::Error> {
    let lines: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(db)
        .await?;
    Ok(lines.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_copy_holds_what_was_committed_and_passes_the_integrity_check() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("lobby.db").display());
        let pool = crate::db::connect(&url).await.unwrap();
        crate::db::audit::record(&pool, None, "test", "backup.test", "before the copy")
            .await
            .unwrap();

        let mut source = open_existing(&url).await.unwrap();
        let copy = dir.path().join("copy.db");
        vacuum_into(&mut source, &copy).await.unwrap();

        let mut copied = open_copy(&copy).await.unwrap();
        assert_eq!(integrity_check(&mut copied).await.unwrap(), "ok");
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'backup.test'")
                .fetch_one(&mut copied)
                .await
                .unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn a_missing_database_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing.db");
        assert!(
            open_existing(&format!("sqlite://{}", path.display()))
                .await
                .is_err()
        );
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn an_existing_non_empty_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("lobby.db").display());
        crate::db::connect(&url).await.unwrap();
        let target = dir.path().join("taken.db");
        std::fs::write(&target, b"precious").unwrap();
        let mut source = open_existing(&url).await.unwrap();
        assert!(vacuum_into(&mut source, &target).await.is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    }
}
