//! Finishing Sign in with Slack: check the state, exchange the code, learn who signed in, find the
//! installations they administer (asking Slack, with each workspace's bot token), and start a
//! session. Nothing is stored on a refusal but the audit entry of a refused admin.

use actix_web::cookie::Cookie;
use secrecy::ExposeSecret;

use super::id_token::{self, IdTokenRefusal};
use super::roles;
use super::session::{self, SessionError, SignIn};
use crate::db;
use crate::error::AppError;
use crate::oauth_state::{self as oauth, Flow, StateRefusal};
use crate::slack::client::SlackError;
use crate::state::AppState;

pub const REDIRECT_PATH: &str = "/admin/oauth_redirect";

/// What Sign in with Slack asks for.
pub const SCOPES: &str = "openid,email,profile";

#[derive(Debug)]
pub enum LoginRefusal {
    /// The person pressed Cancel on Slack's page.
    Cancelled,
    SlackSaid(String),
    State(StateRefusal),
    MissingCode,
    CodeRefused(String),
    SlackUnreachable,
    /// The `id_token` was not issued for this login.
    IdToken(IdTokenRefusal),
    /// Signed in fine, but administers no workspace Lobby is installed in.
    NotAnAdmin,
    Internal(AppError),
}

impl From<sqlx::Error> for LoginRefusal {
    fn from(e: sqlx::Error) -> Self {
        LoginRefusal::Internal(e.into())
    }
}

impl From<SessionError> for LoginRefusal {
    fn from(e: SessionError) -> Self {
        LoginRefusal::Internal(AppError::internal(e))
    }
}

fn slack_failure(error: SlackError) -> LoginRefusal {
    match error {
        SlackError::Api { code, .. } => LoginRefusal::CodeRefused(code),
        other => {
            tracing::warn!(error = %other, "Slack did not answer during a sign-in");
            LoginRefusal::SlackUnreachable
        }
    }
}

/// A finished sign-in: the session cookie to set, and who it is.
pub struct SignedIn {
    pub cookie: Cookie<'static>,
    pub name: String,
}

/// What the callback received.
pub struct Callback<'a> {
    pub error: Option<&'a str>,
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    /// The login flow's browser-binding cookie.
    pub binding: Option<&'a str>,
    /// A session cookie the browser already had; it is ended either way on success.
    pub previous_session: Option<&'a str>,
}

pub async fn finish(state: &AppState, callback: Callback<'_>) -> Result<SignedIn, LoginRefusal> {
    if let Some(error) = callback.error {
        if let Some(s) = callback.state {
            oauth::burn(&state.db, s).await?;
        }
        return Err(match error {
            "access_denied" => LoginRefusal::Cancelled,
            other => LoginRefusal::SlackSaid(other.chars().take(64).collect()),
        });
    }
    let accepted = oauth::consume(&state.db, Flow::Login, callback.state, callback.binding)
        .await?
        .map_err(LoginRefusal::State)?;
    let code = callback
        .code
        .filter(|c| !c.is_empty())
        .ok_or(LoginRefusal::MissingCode)?;

    let redirect_uri = state.settings.url(REDIRECT_PATH);
    let token = state
        .slack
        .openid_connect_token(
            &state.credentials.client_id,
            &state.credentials.client_secret,
            code,
            redirect_uri.as_str(),
        )
        .await
        .map_err(slack_failure)?;
    id_token::verify(
        token.id_token.expose_secret(),
        &state.openid_keys,
        &state.credentials.client_id,
        accepted.nonce.as_deref().unwrap_or_default(),
    )
    .await
    .map_err(|refusal| {
        tracing::info!(?refusal, "refused an id_token");
        LoginRefusal::IdToken(refusal)
    })?;
    let person = state
        .slack
        .openid_connect_user_info(&token.access_token)
        .await
        .map_err(slack_failure)?;
    let name = person
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| person.user_id.clone());

    let teams = roles::administered(
        state,
        &roles::Person {
            user_id: &person.user_id,
            team_id: &person.team_id,
            enterprise_id: person.enterprise_id.as_deref(),
        },
    )
    .await?;
    if teams.is_empty() {
        db::audit::record(
            &state.db,
            Some(&person.team_id),
            &person.user_id,
            "login.refused",
            "not an admin or owner of a workspace Lobby is installed in",
        )
        .await?;
        tracing::info!(team_id = %person.team_id, user_id = %person.user_id, "refused a dashboard sign-in");
        return Err(LoginRefusal::NotAnAdmin);
    }

    let cookie = session::start(
        &state.db,
        callback.previous_session,
        &SignIn {
            user_id: &person.user_id,
            name: &name,
            person_team_id: &person.team_id,
            person_enterprise_id: person.enterprise_id.as_deref(),
            teams: &teams,
        },
        state.settings.is_https(),
    )
    .await?;
    for team in &teams {
        db::audit::record(&state.db, Some(team), &person.user_id, "login", &name).await?;
    }
    tracing::info!(user_id = %person.user_id, workspaces = teams.len(), "signed in to the dashboard");
    Ok(SignedIn { cookie, name })
}
