//! Rules about communities that span the dashboard and the CLI.

use crate::db::installations::Installation;
use crate::domain::TeamId;
use crate::slack::client::SlackError;
use crate::slack::tokens;
use crate::state::AppState;

/// Why a community cannot send its invites to a workspace.
#[derive(Debug, thiserror::Error)]
pub enum TargetRefusal {
    #[error("An org-wide installation needs the workspace (T…) its invites go to.")]
    Missing,
    #[error("{0} is not a workspace of this organisation.")]
    NotInOrganisation(String),
    #[error("Lobby could not ask Slack about workspace {0}; please try again.")]
    SlackUnreachable(String),
}

/// The workspace a new community of `installation` invites to: the installation's own, or for an
/// org-wide installation the `requested` one, which Slack must confirm belongs to the organisation
/// (`team.info` with the organisation's token answers only for its own workspaces).
pub async fn target_workspace(
    state: &AppState,
    installation: &Installation,
    requested: Option<&str>,
) -> Result<String, TargetRefusal> {
    if let Some(team) = &installation.team_id {
        return Ok(team.clone());
    }
    let requested = requested
        .map(str::trim)
        .filter(|t| TeamId::is_valid(t))
        .ok_or(TargetRefusal::Missing)?;
    let unreachable = || TargetRefusal::SlackUnreachable(requested.to_owned());
    let token = tokens::bot_token(state, &installation.id)
        .await
        .map_err(|_| unreachable())?;
    match state.slack.team_info(&token, Some(requested)).await {
        Ok(team) if team.enterprise_id.as_deref() == Some(installation.id.as_str()) => {
            Ok(requested.to_owned())
        }
        Ok(_) | Err(SlackError::Api { .. }) => {
            Err(TargetRefusal::NotInOrganisation(requested.to_owned()))
        }
        Err(e) => {
            tracing::warn!(error = %e, "team.info failed while checking a community's workspace");
            Err(unreachable())
        }
    }
}
