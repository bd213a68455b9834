//! `lobby db copy --to URL`: moves a deployment to another database (SQLite to PostgreSQL, and
//! back) without reinstalling any workspace.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Settings;
use crate::db::{self, Db, copy::CopyError};
use crate::storage;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy this deployment's database into a new, empty one (SQLite or PostgreSQL), then check
    /// every table's row count and that every sealed value opens with the configured master key.
    /// Stop the server first: what it writes during the copy is not in the copy.
    Copy {
        /// The empty database to copy into: postgres://user:password@host:port/name or
        /// sqlite://path (its tables are created)
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

pub async fn run(settings: &Settings, command: DbCommand) -> ExitCode {
    match command {
        DbCommand::Copy { to } => copy(settings, &to).await,
    }
}

async fn copy(settings: &Settings, to: &str) -> ExitCode {
    if to.trim() == settings.database_url.trim() {
        eprintln!(
            "lobby: --to names the configured database itself; give a new, empty database to copy into"
        );
        return ExitCode::from(2);
    }
    let storage = match storage::open(settings).await {
        Ok(storage) => storage,
        Err(e) => {
            eprintln!("lobby: {e}");
            return ExitCode::from(2);
        }
    };
    let target = match db::connect(to).await {
        Ok(target) => target,
        Err(e) => {
            eprintln!(
                "lobby: cannot open the target database {}: {e}",
                db::printable_url(to)
            );
            storage.db.close().await;
            return ExitCode::FAILURE;
        }
    };
    let outcome = db::copy::copy(&storage.db, &target, &storage.keyring).await;
    let code = match outcome {
        Ok(copied) => {
            println!(
                "copied {} at {} into {} at {}",
                describe(&storage.db).await,
                db::printable_url(&settings.database_url),
                describe(&target).await,
                db::printable_url(to)
            );
            for (table, rows) in &copied.tables {
                println!("  {table}: {rows}");
            }
            println!(
                "checked: every table holds as many rows as the source; sealed values opened with key id {}: {}",
                storage.keyring.sealing_key_id(),
                copied.sealed
            );
            println!(
                "To run on it, set LOBBY_DATABASE_URL to the new database (with the same master key) and start Lobby."
            );
            ExitCode::SUCCESS
        }
        Err(e @ CopyError::NotEmpty(_)) => {
            eprintln!("lobby: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("lobby: db copy failed: {e}");
            ExitCode::FAILURE
        }
    };
    storage.db.close().await;
    target.close().await;
    code
}

/// "PostgreSQL 16.4": the engine and the version it reports.
async fn describe(db: &Db) -> String {
    match db.server_version().await {
        Ok(version) => format!("{} {version}", db.engine().name()),
        Err(_) => db.engine().name().to_owned(),
    }
}
