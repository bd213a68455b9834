//! Delivering one invite request to Slack (the `invite.deliver` job), and what each of Slack's
//! answers means for the request.

use std::time::Duration;

use secrecy::SecretString;

use super::{Route, route};
use crate::db::{self, communities::CommunitySecret, installations::TokenKind};
use crate::domain::InviteStatus;
use crate::installation_tokens::{self as tokens, TokenError};
use crate::jobs::{Job, Outcome};
use crate::slack::client::SlackError;
use crate::state::AppState;

/// What Slack's answer means for the request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Invited,
    AlreadyInTeam,
    AlreadyInvited,
    InvalidEmail,
    /// Try again later, not before this.
    Later(Option<Duration>),
    /// The installation's token is dead; it is retired and the request kept for an admin.
    InstallationBroken(String),
    /// Lobby is set up in a way Slack refuses; the request is kept and the community flagged.
    Misconfigured(String),
    Refused(String),
}

pub fn verdict(result: &Result<(), SlackError>) -> Verdict {
    let error = match result {
        Ok(()) => return Verdict::Invited,
        Err(e) => e,
    };
    if let SlackError::RateLimited { retry_after, .. } = error {
        return Verdict::Later(Some(*retry_after));
    }
    match error.code() {
        Some("already_in_team") => Verdict::AlreadyInTeam,
        // admin.users.invite's name for an address that already has an invitation.
        Some("already_in_team_invited_user" | "already_invited" | "user_already_invited") => {
            Verdict::AlreadyInvited
        }
        Some("invalid_email") => Verdict::InvalidEmail,
        Some("invite_limit_reached") => Verdict::Later(error.retry_after()),
        Some(
            code @ ("invalid_auth" | "account_inactive" | "token_revoked" | "token_expired"
            | "not_authed"),
        ) => Verdict::InstallationBroken(code.to_owned()),
        Some(
            code @ ("missing_scope"
            | "not_allowed_token_type"
            | "paid_teams_only"
            | "not_allowed"
            | "no_permission"
            | "team_not_found"
            | "channel_not_found"
            | "restricted_action"
            | "feature_not_enabled"
            | "failed_to_validate_caller"
            | "is_bot"),
        ) => Verdict::Misconfigured(code.to_owned()),
        Some(code) if !error.is_retryable() => Verdict::Refused(code.to_owned()),
        _ => Verdict::Later(None),
    }
}

/// What an admin reads about a configuration problem.
pub fn explain_misconfiguration(code: &str) -> String {
    match code {
        "missing_scope" => "Slack refused: the installation's token lacks admin.users:write (Enterprise Grid only). \
             Reinstall with that user scope, switch to another invite mode, or approve with the shared link."
            .into(),
        "not_allowed_token_type" => "Slack refused the token type: users.admin.invite needs a legacy token.".into(),
        "paid_teams_only" => "Slack refused: inviting by API needs a paid Slack plan.".into(),
        "channel_not_found" => "Slack refused: a default channel does not exist. Check the community's channels.".into(),
        "feature_not_enabled" => "Slack refused: inviting by API is not enabled for this organisation (Enterprise Grid only).".into(),
        "failed_to_validate_caller" | "is_bot" => "Slack refused the token: admin.users.invite needs the user token of an \
             organisation admin who granted admin.users:write. Reinstall the app org-wide as that admin."
            .into(),
        other => format!("Slack refused the invitation ({other}). Check the community's settings."),
    }
}

/// Runs one delivery attempt.
pub async fn run(state: &AppState, job: Job) -> Outcome {
    let super::Deliver { request_id } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    match attempt(state, request_id, job.attempt).await {
        Ok(outcome) => outcome,
        Err(e) => Outcome::retry(format!("{e:#}")),
    }
}

async fn attempt(state: &AppState, request_id: i64, attempt: i64) -> anyhow::Result<Outcome> {
    let Some(request) = db::invite_requests::get(&state.db, request_id).await? else {
        return Ok(Outcome::Fail {
            error: "the request no longer exists".into(),
        });
    };
    // Only a queued request is sent: one that reached Slack, or was decided otherwise, never again.
    if request.status != InviteStatus::Queued {
        return Ok(Outcome::Done);
    }
    let Some(community) = db::communities::get(&state.db, request.community_id).await? else {
        return Ok(Outcome::Fail {
            error: "the community no longer exists".into(),
        });
    };
    let installation = db::installations::get(&state.db, &community.installation_id).await?;
    let channels = community.channels();

    let result = match route(&community, installation.as_ref()) {
        Some(Route::AdminApi) => {
            match tokens::token(state, &community.installation_id, TokenKind::User).await {
                Ok(token) => {
                    state
                        .slack
                        .admin_users_invite(
                            &token,
                            community.team_id.as_str(),
                            &request.email,
                            &channels,
                        )
                        .await
                }
                // No user token at all: a configuration problem. A refresh Slack refused is
                // Slack's answer, judged like any other; a busy database or a sealed value that
                // does not open yet passes, so it is a retry.
                Err(TokenError::NotInstalled(_)) => Err(missing("missing_scope")),
                Err(TokenError::Refresh(e)) => Err(e),
                Err(e @ (TokenError::Db(_) | TokenError::Vault(_))) => {
                    return Ok(Outcome::retry(format!(
                        "the user token could not be read: {e}"
                    )));
                }
            }
        }
        Some(Route::Legacy) => {
            match db::communities::secret(
                &state.db,
                &state.keyring,
                community.id,
                CommunitySecret::LegacyToken,
            )
            .await?
            {
                Some(token) => {
                    legacy_invite(
                        state,
                        &token,
                        community.team_id.as_str(),
                        &request.email,
                        &request.name,
                        &channels,
                    )
                    .await
                }
                None => Err(missing("not_allowed_token_type")),
            }
        }
        Some(Route::Link) | None => Err(missing("no_permission")),
    };

    let verdict = verdict(&result);
    let (to, message, slack_error): (InviteStatus, String, Option<String>) = match verdict {
        Verdict::Invited => (
            InviteStatus::Invited,
            format!("Slack emailed an invitation to {}.", request.email),
            None,
        ),
        Verdict::AlreadyInTeam => (
            InviteStatus::AlreadyInTeam,
            "This address already belongs to a member of the workspace.".into(),
            Some("already_in_team".into()),
        ),
        Verdict::AlreadyInvited => (
            InviteStatus::AlreadyInvited,
            "Slack had already invited this address; that invitation still stands.".into(),
            Some("already_invited".into()),
        ),
        Verdict::InvalidEmail => (
            InviteStatus::Failed,
            "Slack did not accept this email address.".into(),
            Some("invalid_email".into()),
        ),
        Verdict::Refused(code) => (
            InviteStatus::Failed,
            format!("Slack refused the invitation ({code})."),
            Some(code),
        ),
        Verdict::Later(retry_after) => {
            if attempt >= super::MAX_ATTEMPTS {
                (
                    InviteStatus::Failed,
                    format!("Slack did not take the invitation after {attempt} attempts."),
                    result
                        .as_ref()
                        .err()
                        .and_then(|e| e.code())
                        .map(str::to_owned),
                )
            } else {
                let error = result.err().map(|e| e.to_string()).unwrap_or_default();
                return Ok(Outcome::Retry { error, retry_after });
            }
        }
        Verdict::InstallationBroken(code) => {
            if let Err(e) = &result {
                tokens::note_failure(state, &community.installation_id, e).await;
            }
            let message = "The workspace's connection to Slack stopped working; an admin must reinstall Lobby. \
                           The request is kept.";
            db::communities::set_config_error(&state.db, community.id, Some(message)).await?;
            (InviteStatus::Pending, message.to_owned(), Some(code))
        }
        Verdict::Misconfigured(code) => {
            let message = explain_misconfiguration(&code);
            db::communities::set_config_error(&state.db, community.id, Some(&message)).await?;
            (InviteStatus::Pending, message, Some(code))
        }
    };
    let mut tx = db::begin_write(&state.db).await?;
    db::invite_requests::transition(
        &mut *tx,
        request_id,
        &[InviteStatus::Queued],
        to,
        &message,
        slack_error.as_deref(),
        None,
    )
    .await?;
    if to == InviteStatus::Invited {
        db::communities::set_config_error(&mut *tx, community.id, None).await?;
    }
    tx.commit().await?;
    tracing::info!(request_id, community = %community.slug, status = %to, "invite delivered");
    Ok(match to {
        InviteStatus::Failed => Outcome::Fail { error: message },
        _ => Outcome::Done,
    })
}

async fn legacy_invite(
    state: &AppState,
    token: &SecretString,
    team_id: &str,
    email: &str,
    name: &str,
    channels: &[&str],
) -> Result<(), SlackError> {
    let first_name = name.split_whitespace().next();
    state
        .slack
        .users_admin_invite(token, Some(team_id), email, channels, first_name)
        .await
}

fn missing(code: &str) -> SlackError {
    SlackError::Api {
        method: "invite".into(),
        code: code.into(),
        needed: None,
        provided: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str) -> Result<(), SlackError> {
        Err(SlackError::Api {
            method: "admin.users.invite".into(),
            code: code.into(),
            needed: None,
            provided: None,
        })
    }

    #[test]
    fn every_slack_answer_has_a_verdict() {
        assert_eq!(verdict(&Ok(())), Verdict::Invited);
        assert_eq!(verdict(&api("already_in_team")), Verdict::AlreadyInTeam);
        assert_eq!(verdict(&api("already_invited")), Verdict::AlreadyInvited);
        assert_eq!(verdict(&api("invalid_email")), Verdict::InvalidEmail);
        assert_eq!(verdict(&api("invite_limit_reached")), Verdict::Later(None));
        assert_eq!(
            verdict(&Err(SlackError::RateLimited {
                method: "m".into(),
                retry_after: Duration::from_secs(9)
            })),
            Verdict::Later(Some(Duration::from_secs(9)))
        );
        assert_eq!(
            verdict(&api("invalid_auth")),
            Verdict::InstallationBroken("invalid_auth".into())
        );
        assert_eq!(
            verdict(&api("account_inactive")),
            Verdict::InstallationBroken("account_inactive".into())
        );
        for code in [
            "missing_scope",
            "not_allowed_token_type",
            "paid_teams_only",
            "feature_not_enabled",
            "failed_to_validate_caller",
            "is_bot",
        ] {
            assert_eq!(verdict(&api(code)), Verdict::Misconfigured(code.into()));
        }
        assert_eq!(
            verdict(&api("already_in_team_invited_user")),
            Verdict::AlreadyInvited,
            "admin.users.invite's way of saying an invitation is out already"
        );
        assert_eq!(
            verdict(&api("something_new")),
            Verdict::Refused("something_new".into())
        );
        assert_eq!(
            verdict(&Err(SlackError::Status {
                method: "m".into(),
                status: 503
            })),
            Verdict::Later(None)
        );
    }
}
