//! API keys for other systems: `lobby_<prefix>_<secret>`, shown once, stored as a SHA-256 hash.
//!
//! The secret is 256 random bits, so a fast hash is the right tool (a password KDF protects
//! low-entropy secrets; this one cannot be guessed).

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::db::{self, Db};
use crate::opaque::{random_token, token_hash};

const PREFIX: &str = "lobby_";

/// A key just created: the only time its full text exists.
pub struct CreatedKey {
    pub id: i64,
    pub key: SecretString,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the operating system's random number generator failed")]
    Random,
}

pub async fn create(
    db: &Db,
    team_id: &crate::domain::TeamId,
    name: &str,
    created_by: &str,
) -> Result<CreatedKey, ApiKeyError> {
    // Hex keeps the prefix free of the `_` separator.
    let prefix = {
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes).map_err(|_| ApiKeyError::Random)?;
        hex::encode(bytes)
    };
    let secret = random_token(32).map_err(|_| ApiKeyError::Random)?;
    let key = format!("{PREFIX}{prefix}_{secret}");
    let id =
        db::api_keys::insert(db, team_id, name, &prefix, &token_hash(&key), created_by).await?;
    Ok(CreatedKey {
        id,
        key: SecretString::from(key),
    })
}

/// The team a presented key belongs to, when it is well-formed, known, matching and not revoked.
pub async fn authenticate(
    db: &Db,
    presented: &SecretString,
) -> Result<Option<crate::domain::TeamId>, sqlx::Error> {
    let presented = presented.expose_secret();
    let Some(prefix) = presented
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .map(|(prefix, _)| prefix)
    else {
        return Ok(None);
    };
    let Some(stored) = db::api_keys::by_prefix(db, prefix).await? else {
        return Ok(None);
    };
    let matches: bool = token_hash(presented).ct_eq(&stored.secret_hash).into();
    if !matches || stored.revoked_at.is_some() {
        return Ok(None);
    }
    let mut tx = db::begin_write(db).await?;
    db::api_keys::touch(&mut *tx, stored.id).await?;
    tx.commit().await?;
    Ok(Some(stored.team_id))
}
