//! Removing an installation from the dashboard: give its tokens back to Slack (`auth.revoke`),
//! then delete the row — its communities, requests, API keys and session grants go with it.

use crate::db::{self, installations::TokenKind};
use crate::domain::TeamId;
use crate::slack::client::SlackError;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum RemovalError {
    #[error("there is no such installation")]
    NotFound,
    /// Slack could not be asked to revoke; nothing was deleted, so the admin can try again.
    #[error("Slack could not be reached to revoke the tokens")]
    SlackUnreachable,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("a stored token does not open: {0}")]
    Token(#[from] db::installations::TokenError),
}

pub async fn remove(state: &AppState, id: &TeamId, actor: &str) -> Result<(), RemovalError> {
    let installation = db::installations::get(&state.db, id)
        .await?
        .ok_or(RemovalError::NotFound)?;
    let mut revoked = Vec::new();
    for kind in [TokenKind::Bot, TokenKind::User] {
        let Some(stored) = db::installations::token(&state.db, &state.keyring, id, kind).await?
        else {
            continue;
        };
        match state.slack.auth_revoke(&stored.token).await {
            Ok(_) => revoked.push(kind_name(kind)),
            // Slack no longer honours the token (revoked, uninstalled): nothing left to give back.
            Err(SlackError::Api { code, .. }) => {
                tracing::info!(team_id = %id, code = %code, "Slack refused to revoke a token it no longer honours");
            }
            Err(e) => {
                tracing::warn!(team_id = %id, error = %e, "could not revoke a token; the installation is kept");
                return Err(RemovalError::SlackUnreachable);
            }
        }
    }
    let mut tx = db::begin_write(&state.db).await?;
    db::installations::delete(&mut *tx, id).await?;
    db::audit::record(
        &mut *tx,
        Some(id),
        actor,
        "installation.removed",
        &format!(
            "{}; revoked: {}",
            installation.team_name,
            if revoked.is_empty() {
                "none".to_owned()
            } else {
                revoked.join(", ")
            }
        ),
    )
    .await?;
    tx.commit().await?;
    state.installations.forget(id);
    tracing::info!(team_id = %id, "installation removed from the dashboard");
    Ok(())
}

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Bot => "bot token",
        TokenKind::User => "user token",
    }
}
