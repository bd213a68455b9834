//! Finishing Sign in with Slack: check the state, exchange the code, learn who signed in, find the
//! installations they administer (asking Slack, with each workspace's bot token), and start a
//! session. Nothing is stored on a refusal but the audit entry of a refused admin.

use secrecy::ExposeSecret;

use super::id_token::{self, IdTokenRefusal};
use super::roles;
use super::session::{self, SessionError, SignIn};
use crate::db;
use crate::domain::{EnterpriseId, TeamId, UserId};
use crate::oauth_state::{self as oauth, Callback, CallbackRefusal, Flow, Returned};
use crate::slack::client::SlackError;
use crate::slack::methods::OpenIdUserInfo;
use crate::state::AppState;

pub const REDIRECT_PATH: &str = "/admin/oauth_redirect";

/// What Sign in with Slack asks for.
pub const SCOPES: &str = "openid,email,profile";

#[derive(Debug, thiserror::Error)]
pub enum LoginRefusal {
    /// The callback step refused (Slack's error, the state, the code), or Slack refused the code.
    #[error("the OAuth callback was refused: {0:?}")]
    Callback(CallbackRefusal),
    /// The `id_token` was not issued for this login.
    #[error("the id_token was refused: {0:?}")]
    IdToken(IdTokenRefusal),
    /// Signed in fine, but administers no workspace Lobby is installed in.
    #[error("not an admin of a workspace Lobby is installed in")]
    NotAnAdmin,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the session could not be started: {0}")]
    Session(#[from] SessionError),
}

fn slack_failure(error: SlackError) -> LoginRefusal {
    LoginRefusal::Callback(CallbackRefusal::from_slack(error, Flow::Login))
}

/// A finished sign-in: the new session's id (for the session cookie), and who it is.
pub struct SignedIn {
    pub session: String,
    pub name: String,
}

/// Finishes the sign-in Slack's callback describes. `previous_session` is a session cookie the
/// browser already had; it is ended either way on success.
pub async fn finish(
    state: &AppState,
    callback: &Callback<'_>,
    previous_session: Option<&str>,
) -> Result<SignedIn, LoginRefusal> {
    let Returned { code, accepted } = oauth::returned(&state.db, Flow::Login, callback)
        .await?
        .map_err(LoginRefusal::Callback)?;

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
    let (user_id, team_id, enterprise_id) = person_ids(&person).map_err(|message| {
        slack_failure(SlackError::Decode {
            method: "openid.connect.userInfo".into(),
            message,
        })
    })?;
    let name = person
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| user_id.to_string());

    let teams = roles::administered(
        state,
        &roles::Person {
            user_id: &user_id,
            team_id: &team_id,
            enterprise_id: enterprise_id.as_ref(),
        },
    )
    .await?;
    if teams.is_empty() {
        db::audit::record(
            &state.db,
            Some(&team_id),
            user_id.as_str(),
            "login.refused",
            "not an admin or owner of a workspace Lobby is installed in",
        )
        .await?;
        tracing::info!(%team_id, %user_id, "refused a dashboard sign-in");
        return Err(LoginRefusal::NotAnAdmin);
    }

    let session = session::start(
        &state.db,
        previous_session,
        &SignIn {
            user_id: &user_id,
            name: &name,
            person_team_id: &team_id,
            person_enterprise_id: enterprise_id.as_ref(),
            teams: &teams,
        },
    )
    .await?;
    for team in &teams {
        db::audit::record(&state.db, Some(team), user_id.as_str(), "login", &name).await?;
    }
    tracing::info!(%user_id, workspaces = teams.len(), "signed in to the dashboard");
    Ok(SignedIn { session, name })
}

/// The person's ids as Slack's `userInfo` names them; an id that does not parse is an answer
/// Lobby cannot read, like any other malformed answer.
fn person_ids(person: &OpenIdUserInfo) -> Result<(UserId, TeamId, Option<EnterpriseId>), String> {
    Ok((
        UserId::parse(&person.user_id)?,
        TeamId::parse(&person.team_id)?,
        person
            .enterprise_id
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(EnterpriseId::parse)
            .transpose()?,
    ))
}
