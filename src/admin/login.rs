//! Finishing Sign in with Slack: check the state, exchange the code, learn who signed in, find the
//! installations they administer (asking Slack, with each workspace's bot token), and start a
//! session. Nothing is stored on a refusal but the audit entry of a refused admin.

use actix_web::cookie::Cookie;
use secrecy::ExposeSecret;

use super::id_token::{self, IdTokenRefusal};
use super::session::{self, SessionError, SignIn};
use crate::db::{self, installations::Installation};
use crate::error::AppError;
use crate::slack::client::SlackError;
use crate::slack::methods::OpenIdUserInfo;
use crate::slack::oauth::{self, Flow, StateRefusal};
use crate::slack::tokens;
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

    let teams = administered(state, &person).await?;
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

/// The active installations this person may manage: their workspace's (or their organisation's)
/// where Slack says they are an admin or owner, and any they installed.
async fn administered(
    state: &AppState,
    person: &OpenIdUserInfo,
) -> Result<Vec<String>, sqlx::Error> {
    let installations = db::installations::list(&state.db).await?;
    let mut teams = Vec::new();
    for installation in installations.iter().filter(|i| i.is_active()) {
        let installer = installation.installer_user_id == person.user_id;
        // The installer is admitted without asking Slack again.
        if installer
            || (serves(installation, person) && is_admin_in(state, installation, person).await)
        {
            teams.push(installation.id.clone());
        }
    }
    Ok(teams)
}

/// Whether the installation is the person's workspace, or their organisation's org-wide one.
fn serves(installation: &Installation, person: &OpenIdUserInfo) -> bool {
    installation.team_id.as_deref() == Some(person.team_id.as_str())
        || (installation.is_enterprise_install
            && person.enterprise_id.as_deref() == Some(installation.id.as_str()))
}

/// Asks Slack (`users.info` with the installation's bot token) whether the person is an admin
/// or owner there. A failure counts as no, and a dead token retires the installation.
async fn is_admin_in(
    state: &AppState,
    installation: &Installation,
    person: &OpenIdUserInfo,
) -> bool {
    let token = match tokens::bot_token(state, &installation.id).await {
        Ok(token) => token,
        Err(e) => {
            tracing::warn!(team_id = %installation.id, error = %e, "no bot token to check an admin with");
            return false;
        }
    };
    match state.slack.users_info(&token, &person.user_id).await {
        Ok(user) => user.is_active_human() && user.is_admin_or_owner(),
        Err(e) => {
            tokens::note_failure(state, &installation.id, &e).await;
            tracing::warn!(team_id = %installation.id, error = %e, "users.info failed while checking an admin");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installation(id: &str, team: Option<&str>, org_wide: bool) -> Installation {
        Installation {
            id: id.into(),
            team_id: team.map(str::to_owned),
            team_name: String::new(),
            team_domain: None,
            team_icon: None,
            enterprise_id: None,
            enterprise_name: None,
            is_enterprise_install: org_wide,
            app_id: None,
            bot_user_id: None,
            bot_id: None,
            bot_scopes: String::new(),
            bot_token_expires_at: None,
            installer_user_id: "U0INSTALL".into(),
            user_scopes: String::new(),
            user_token_expires_at: None,
            status: "active".into(),
            status_reason: None,
            installed_at: 0,
            updated_at: 0,
            has_bot_token: true,
            has_user_token: false,
        }
    }

    fn person(team: &str, enterprise: Option<&str>) -> OpenIdUserInfo {
        OpenIdUserInfo {
            user_id: "U1".into(),
            team_id: team.into(),
            enterprise_id: enterprise.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn only_the_persons_workspace_or_organisation_is_asked() {
        let own = installation("T1", Some("T1"), false);
        let other = installation("T2", Some("T2"), false);
        let org = installation("E1", None, true);
        assert!(serves(&own, &person("T1", None)));
        assert!(!serves(&other, &person("T1", None)));
        assert!(serves(&org, &person("T9", Some("E1"))));
        assert!(!serves(&org, &person("T9", Some("E2"))));
        assert!(!serves(&org, &person("T9", None)));
    }
}
