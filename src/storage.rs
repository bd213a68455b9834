//! Opening what Lobby keeps on disk: the master keyring and the database, checked against each
//! other so a wrong key is refused before anything is sealed with it.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use crate::config::Settings;
use crate::db::{self, Db};
use crate::vault::{self, KeySource, Keyring, MasterKey, VaultError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("master key: {0}")]
    Key(#[from] VaultError),
    #[error(
        "the master key does not match this database (it was sealed with key id {key_id}); \
         set LOBBY_MASTER_KEY or LOBBY_MASTER_KEY_FILE to the key it was created with"
    )]
    WrongKey { key_id: String },
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error(
        "cannot rotate keys given in LOBBY_MASTER_KEY: add a key from `lobby keys generate` to it (newest last), then run `lobby keys reseal`"
    )]
    InlineKeys,
}

pub struct Storage {
    pub db: Db,
    pub keyring: Keyring,
    /// Set when this start generated the master key file.
    pub generated_key: Option<PathBuf>,
}

/// Loads the keyring, opens and migrates the database, and checks the key against the canaries.
pub async fn open(settings: &Settings) -> Result<Storage, StorageError> {
    // The directory holds the master key and the database: only this user may look inside.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&settings.data_dir)
        .map_err(|source| StorageError::DataDir {
            path: settings.data_dir.clone(),
            source,
        })?;
    let loaded = vault::load_keyring(&settings.master_key)?;
    let db = db::connect(&settings.database_url)
        .await
        .map_err(|source| database_error(settings, source))?;
    check_canaries(&db, &loaded.keyring)
        .await
        .map_err(|e| match e {
            CanaryError::Db(source) => database_error(settings, source),
            CanaryError::Wrong(key_id) => StorageError::WrongKey { key_id },
        })?;
    Ok(Storage {
        db,
        keyring: loaded.keyring,
        generated_key: loaded.created.then_some(loaded.path).flatten(),
    })
}

fn database_error(settings: &Settings, source: sqlx::Error) -> StorageError {
    StorageError::Database {
        url: db::printable_url(&settings.database_url),
        source,
    }
}

enum CanaryError {
    Db(sqlx::Error),
    Wrong(String),
}

impl From<sqlx::Error> for CanaryError {
    fn from(e: sqlx::Error) -> Self {
        CanaryError::Db(e)
    }
}

/// Every key the database has seen must be in the keyring and must open its canary; the sealing
/// key gets a canary of its own the first time it is used.
async fn check_canaries(db: &Db, keyring: &Keyring) -> Result<(), CanaryError> {
    let canaries = db::vault_canaries::list(db).await?;
    for canary in &canaries {
        if vault::check_canary(keyring, &canary.key_id, &canary.sealed).is_err() {
            return Err(CanaryError::Wrong(canary.key_id.clone()));
        }
    }
    let sealing = keyring.sealing_key_id();
    if !canaries.iter().any(|c| c.key_id == sealing) {
        db::vault_canaries::insert(db, &sealing, &vault::seal_canary(keyring, &sealing)?).await?;
    }
    Ok(())
}

impl From<VaultError> for CanaryError {
    fn from(e: VaultError) -> Self {
        CanaryError::Wrong(e.to_string())
    }
}

/// What `lobby keys rotate` / `reseal` did.
pub struct Rotation {
    pub key_id: String,
    pub resealed: u64,
    pub key_file: Option<PathBuf>,
}

/// Re-seals every sealed column with the keyring's newest key in one transaction and leaves only
/// that key's canary, so older keys can then be dropped from the keyring.
pub async fn reseal(db: &Db, keyring: &Keyring) -> Result<u64, anyhow::Error> {
    let mut tx = db::begin_write(db).await?;
    let moved = db::sealed::reseal_all(&mut tx, keyring).await?;
    let sealing = keyring.sealing_key_id();
    db::vault_canaries::insert(&mut *tx, &sealing, &vault::seal_canary(keyring, &sealing)?).await?;
    db::vault_canaries::delete_all_but(&mut *tx, &sealing).await?;
    tx.commit().await?;
    Ok(moved)
}

/// Adds a fresh key to the key file and re-seals everything with it. The key is written (and
/// synced) before anything is sealed with it, so a crash between the two loses nothing.
pub async fn rotate(settings: &Settings, db: &Db) -> Result<Rotation, anyhow::Error> {
    let path = match &settings.master_key {
        KeySource::Inline(_) => return Err(StorageError::InlineKeys.into()),
        KeySource::File(path) | KeySource::Generated(path) => path.clone(),
    };
    vault::append_key(&path, &MasterKey::generate())?;
    // Read the file back: what gets sealed with is exactly what the next start will load.
    let keyring = vault::load_keyring(&settings.master_key)?.keyring;
    let resealed = reseal(db, &keyring).await?;
    Ok(Rotation {
        key_id: keyring.sealing_key_id(),
        resealed,
        key_file: Some(path),
    })
}
