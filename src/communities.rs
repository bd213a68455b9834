//! Rules about communities that span the dashboard and the CLI: one validation of a community's
//! settings, and the workspace a community may invite to.

use url::Url;

use crate::abuse::captcha::CaptchaProvider;
use crate::abuse::domains::DomainRules;
use crate::db::communities::CommunitySettings;
use crate::db::installations::Installation;
use crate::domain::TeamId;
use crate::installation_tokens as tokens;
use crate::slack::client::SlackError;
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

pub const MAX_TITLE: usize = 100;
pub const MAX_DESCRIPTION: usize = 1000;

fn is_channel_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('C' | 'G'))
        && (3..=32).contains(&s.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A comma-separated list as stored: trimmed items, no empty ones.
pub fn join_list(text: &str) -> String {
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// Every problem with a community's settings, each a sentence for the person who set them; empty
/// when they can be saved. The dashboard and the CLI both save only settings that pass, so a
/// community never takes a setting that would refuse every signup. `captcha_secret_set` says
/// whether a captcha secret is (or will be) stored.
pub fn validate(settings: &CommunitySettings, captcha_secret_set: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let title = settings.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        problems.push(format!(
            "The title is required and at most {MAX_TITLE} characters."
        ));
    }
    if settings.description.chars().count() > MAX_DESCRIPTION {
        problems.push(format!(
            "The description is at most {MAX_DESCRIPTION} characters."
        ));
    }
    for bad in settings
        .default_channels
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !is_channel_id(c))
    {
        problems.push(format!(
            "“{bad}” is not a channel id (like C0123ABCD); separate several with commas."
        ));
    }
    if let Some(url) = &settings.coc_url
        && !Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
    {
        problems.push("The code of conduct link must be an http(s) address.".into());
    }
    if let Err(e) = DomainRules::parse(&settings.allowed_domains, &settings.denied_domains) {
        problems.push(e.to_string());
    }
    if let Some(channel) = &settings.admin_channel
        && !is_channel_id(channel)
    {
        problems.push(format!("“{channel}” is not a channel id (like C0123ABCD)."));
    }
    match settings.captcha_provider.as_deref() {
        None => {}
        Some(p) if CaptchaProvider::parse(p).is_some() => {
            if settings.captcha_site_key.is_none() {
                problems.push("A captcha needs its site key.".into());
            }
            if !captcha_secret_set {
                problems.push("A captcha needs its secret key.".into());
            }
        }
        Some(other) => problems.push(format!(
            "“{other}” is not a captcha provider (turnstile or hcaptcha)."
        )),
    }
    problems
}

/// Settings as stored: a normalised code-of-conduct URL.
pub fn normalized(mut settings: CommunitySettings) -> CommunitySettings {
    settings.coc_url = settings
        .coc_url
        .and_then(|u| Url::parse(&u).ok())
        .map(|u| u.to_string());
    settings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InviteMode;

    fn settings() -> CommunitySettings {
        CommunitySettings {
            default_channels: "C0GENERAL1".into(),
            ..CommunitySettings::new("Demo", InviteMode::Approval)
        }
    }

    #[test]
    fn good_settings_pass() {
        assert!(validate(&settings(), false).is_empty());
    }

    #[test]
    fn every_problem_is_reported() {
        let bad = CommunitySettings {
            title: String::new(),
            default_channels: "general".into(),
            allowed_domains: "foo bar".into(),
            captcha_provider: Some("turnstile".into()),
            ..settings()
        };
        let problems = validate(&bad, false);
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("secret key")));
        assert!(problems.iter().any(|p| p.contains("site key")));
    }
}
