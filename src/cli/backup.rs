//! `lobby backup FILE`: a consistent copy of the database, taken while the server runs.
//!
//! The copy is written beside the target under a temporary name, synced, checked, and only then
//! put in place, so `FILE` is either absent, the old file, or a complete backup — never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use crate::config::Settings;
use crate::db::{Engine, backup};
use crate::vault::KeySource;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (a new file: it holds every invite request, so keep it private)
    pub file: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

pub async fn run(settings: &Settings, args: BackupArgs) -> ExitCode {
    if Engine::of_url(&settings.database_url) == Engine::Postgres {
        eprintln!(
            "lobby: backup copies a SQLite file, and this deployment runs on PostgreSQL: \
             back it up with pg_dump (e.g. pg_dump --format=custom --file=lobby.dump DBNAME)"
        );
        return ExitCode::from(2);
    }
    match back_up(&settings.database_url, &args.file, args.force).await {
        Ok(size) => {
            println!(
                "backed up the database to {} ({})",
                args.file.display(),
                human_size(size)
            );
            println!(
                "The master key is not in the backup: keep {} safe and apart from it; \
                 without the key the tokens sealed in the backup cannot be opened.",
                key_location(&settings.master_key)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lobby: backup failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Copies the database at `url` to `target`; returns the copy's size in bytes.
async fn back_up(url: &str, target: &Path, force: bool) -> anyhow::Result<u64> {
    if !force && fs::symlink_metadata(target).is_ok() {
        bail!("{} exists; pass --force to replace it", target.display());
    }
    let partial = Partial::create(target)?;
    let mut source = backup::open_existing(url)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    backup::vacuum_into(&mut source, &partial.path)
        .await
        .context("VACUUM INTO")?;
    // SQLite does not sync what VACUUM INTO writes.
    File::open(&partial.path)
        .and_then(|f| f.sync_all())
        .context("cannot sync the copy")?;
    let mut copy = backup::open_copy(&partial.path).await?;
    let verdict = backup::integrity_check(&mut copy).await?;
    drop(copy);
    if verdict != "ok" {
        bail!("the copy fails SQLite's integrity check: {verdict}");
    }
    let size = fs::metadata(&partial.path)?.len();
    partial.publish(target, force)?;
    Ok(size)
}

/// The copy while it is being written: removed again unless it is published.
struct Partial {
    path: PathBuf,
    published: bool,
}

impl Partial {
    /// An empty file beside `target`, readable by this user only: the copy holds email addresses.
    /// (`VACUUM INTO` accepts an empty file and keeps its permissions.)
    fn create(target: &Path) -> anyhow::Result<Partial> {
        let name = target
            .file_name()
            .with_context(|| format!("{} is not a file name", target.display()))?;
        let suffix = hex::encode(getrandom::u64().unwrap_or_default().to_le_bytes());
        let path = target.with_file_name(format!(".{}.partial-{suffix}", name.to_string_lossy()));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Partial {
            path,
            published: false,
        })
    }

    /// Puts the copy at `target`: a rename replaces (`--force`); a hard link never does, so a
    /// file that appeared meanwhile is kept.
    fn publish(mut self, target: &Path, force: bool) -> anyhow::Result<()> {
        if force {
            fs::rename(&self.path, target)
        } else {
            fs::hard_link(&self.path, target).and_then(|()| fs::remove_file(&self.path))
        }
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => {
                anyhow::anyhow!("{} exists; pass --force to replace it", target.display())
            }
            _ => anyhow::anyhow!("cannot put the copy at {}: {e}", target.display()),
        })?;
        self.published = true;
        // The new directory entry must survive a crash too.
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir).and_then(|d| d.sync_all()).ok();
        }
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn key_location(source: &KeySource) -> String {
    match source {
        KeySource::Inline(_) => "the key in LOBBY_MASTER_KEY".to_owned(),
        KeySource::File(path) | KeySource::Generated(path) => path.display().to_string(),
    }
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database(dir: &Path) -> String {
        let url = format!("sqlite://{}", dir.join("lobby.db").display());
        crate::db::connect(&url).await.unwrap();
        url
    }

    #[tokio::test]
    async fn a_backup_is_private_and_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = database(dir.path()).await;
        let target = dir.path().join("backup.db");
        let size = back_up(&url, &target, false).await.unwrap();
        assert_eq!(fs::metadata(&target).unwrap().len(), size);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[tokio::test]
    async fn an_existing_file_is_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let url = database(dir.path()).await;
        let target = dir.path().join("backup.db");
        fs::write(&target, b"yesterday").unwrap();
        let err = back_up(&url, &target, false).await.unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"yesterday");

        back_up(&url, &target, true).await.unwrap();
        assert!(fs::read(&target).unwrap().starts_with(b"SQLite format 3\0"));
    }

    #[tokio::test]
    async fn a_missing_database_fails_without_creating_anything() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("none.db").display());
        let target = dir.path().join("backup.db");
        assert!(back_up(&url, &target, false).await.is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MiB");
    }
}
