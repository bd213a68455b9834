//! Using an installation's tokens: refreshing rotating tokens before they expire, and retiring an
//! installation Slack no longer accepts.
//!
//! Refresh tokens are single use, so refreshes for one installation are serialized: the second
//! caller waits, then finds the fresh token already stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::SecretString;

use crate::db::{self, installations::StoredToken, installations::TokenKind};
use crate::domain::TeamId;
use crate::slack::client::SlackError;
use crate::state::AppState;
use crate::vault::VaultError;

/// A token this close to expiry is refreshed before use.
pub const REFRESH_MARGIN_SECS: i64 = 2 * 60 * 60;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the workspace {0} has no active installation")]
    NotInstalled(String),
    #[error("refreshing the token failed: {0}")]
    Refresh(SlackError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("a stored token does not open: {0}")]
    Vault(#[from] VaultError),
}

impl From<db::installations::TokenError> for TokenError {
    fn from(e: db::installations::TokenError) -> Self {
        match e {
            db::installations::TokenError::Db(e) => TokenError::Db(e),
            db::installations::TokenError::Vault(e) => TokenError::Vault(e),
        }
    }
}

type RefreshLock = Arc<tokio::sync::Mutex<()>>;

/// One lock per installation and token kind, held while refreshing.
#[derive(Default)]
pub struct RefreshLocks {
    locks: Mutex<HashMap<(TeamId, TokenKind), RefreshLock>>,
}

impl RefreshLocks {
    fn lock_for(&self, id: &TeamId, kind: TokenKind) -> RefreshLock {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry((id.clone(), kind)).or_default().clone()
    }
}

fn needs_refresh(token: &StoredToken) -> bool {
    token.refresh_token.is_some()
        && token
            .expires_at
            .is_some_and(|at| at - db::now() <= REFRESH_MARGIN_SECS)
}

/// The installation's token of that kind, refreshed first when it is about to expire.
pub async fn token(
    state: &AppState,
    id: &TeamId,
    kind: TokenKind,
) -> Result<SecretString, TokenError> {
    let load = || async {
        state
            .installations
            .token(&state.db, &state.keyring, id, kind)
            .await?
            .ok_or_else(|| TokenError::NotInstalled(id.to_string()))
    };
    let current = load().await?;
    if !needs_refresh(&current) {
        return Ok(current.token.clone());
    }
    let lock = state.refresh_locks.lock_for(id, kind);
    let _guard = lock.lock().await;
    // Slack honours a refresh token once: instances sharing PostgreSQL take turns too.
    let _shared = db::lock_across_instances(&state.db, &format!("refresh:{id}:{kind:?}")).await?;
    // Someone (here or on another instance) may have refreshed while we waited: read the stored
    // token, not this instance's copy.
    state.installations.forget_here(id.as_str());
    let current = load().await?;
    let Some(refresh_token) = current
        .refresh_token
        .as_ref()
        .filter(|_| needs_refresh(&current))
    else {
        return Ok(current.token.clone());
    };
    let answer = state
        .slack
        .oauth_v2_refresh(
            &state.credentials.client_id,
            &state.credentials.client_secret,
            refresh_token,
        )
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            note_failure(state, id, &e).await;
            return Err(TokenError::Refresh(e));
        }
    };
    let (token, refresh, expires_in) = match kind {
        TokenKind::Bot => (answer.access_token, answer.refresh_token, answer.expires_in),
        TokenKind::User => (
            answer.authed_user.access_token.or(answer.access_token),
            answer.authed_user.refresh_token.or(answer.refresh_token),
            answer.authed_user.expires_in.or(answer.expires_in),
        ),
    };
    let Some(token) = token else {
        return Err(TokenError::Refresh(SlackError::Decode {
            method: "oauth.v2.access".into(),
            message: "the refresh answer has no access_token".into(),
        }));
    };
    let fresh = StoredToken {
        token,
        refresh_token: refresh,
        expires_at: expires_in.map(|s| db::now() + s),
    };
    db::installations::store_refreshed(&state.db, &state.keyring, id, kind, &fresh).await?;
    state.installations.forget(id);
    tracing::info!(team_id = %id, "refreshed a rotating token");
    Ok(fresh.token)
}

pub async fn bot_token(state: &AppState, id: &TeamId) -> Result<SecretString, TokenError> {
    token(state, id, TokenKind::Bot).await
}

/// After any Slack call made with an installation's token: an answer saying the token is dead
/// (`invalid_auth`, `account_inactive`, `token_revoked`…) retires the installation.
pub async fn note_failure(state: &AppState, id: &TeamId, error: &SlackError) {
    if !error.is_auth_failure() && error.code() != Some("invalid_refresh_token") {
        return;
    }
    let reason = error.code().unwrap_or("invalid_auth");
    let marked = db::installations::mark_inactive(&state.db, id, reason).await;
    if marked.is_ok() {
        // Also when it already was inactive: another process (`lobby check`) may have marked it.
        state.installations.forget(id);
    }
    match marked {
        Ok(true) => {
            tracing::warn!(team_id = %id, reason, "Slack refused the installation's token; marked it inactive");
            if let Err(e) = db::audit::record(
                &state.db,
                Some(id),
                "slack",
                "installation.inactive",
                reason,
            )
            .await
            {
                tracing::error!(error = %e, "could not write the audit log");
            }
        }
        Ok(false) => {}
        Err(e) => {
            tracing::error!(team_id = %id, error = %e, "could not mark the installation inactive")
        }
    }
}
