//! Rules about communities that span the dashboard and the CLI: one validation of a community's
//! settings, and the workspace a community may invite to.

use url::Url;

use crate::abuse::captcha::CaptchaProvider;
use crate::abuse::domains::DomainRules;
use crate::db::communities::CommunitySettings;
use crate::db::installations::Installation;
use crate::domain::{ChannelId, InviteMode, TeamId};
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
) -> Result<TeamId, TargetRefusal> {
    if let Some(team) = &installation.team_id {
        return Ok(team.clone());
    }
    let requested = requested
        .and_then(|t| TeamId::parse(t.trim()).ok())
        .ok_or(TargetRefusal::Missing)?;
    let unreachable = || TargetRefusal::SlackUnreachable(requested.to_string());
    let token = tokens::bot_token(state, &installation.id)
        .await
        .map_err(|_| unreachable())?;
    match state
        .slack
        .team_info(&token, Some(requested.as_str()))
        .await
    {
        Ok(team) if team.enterprise_id.as_deref() == Some(installation.id.as_str()) => {
            Ok(requested)
        }
        Ok(_) | Err(SlackError::Api { .. }) => {
            Err(TargetRefusal::NotInOrganisation(requested.to_string()))
        }
        Err(e) => {
            tracing::warn!(error = %e, "team.info failed while checking a community's workspace");
            Err(unreachable())
        }
    }
}

pub const MAX_TITLE: usize = 100;
pub const MAX_DESCRIPTION: usize = 1000;

/// A community's channels are channels, never direct messages (`D…`).
fn is_channel_id(s: &str) -> bool {
    ChannelId::is_valid(s) && !s.starts_with('D')
}

/// A comma-separated list as stored: trimmed items, no empty ones.
pub fn join_list(text: &str) -> String {
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// One thing wrong with a community's settings: the form field it belongs to (the dashboard
/// shows the sentence beside that field) and a sentence for the person who set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub message: String,
}

impl Problem {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Problem {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Which sealed settings a community has (or will have once saved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecretsSet {
    pub invite_link: bool,
    pub legacy_token: bool,
    pub captcha_secret: bool,
}

/// Every problem with a community's settings, each a sentence for the person who set them; empty
/// when they can be saved. The dashboard and the CLI both save only settings that pass, so a
/// community never takes a setting that would refuse every signup. `secrets` says which sealed
/// settings are (or will be) stored: a mode that hands out the link or uses a legacy token
/// cannot be saved without it.
pub fn validate(settings: &CommunitySettings, secrets: SecretsSet) -> Vec<Problem> {
    let mut problems = Vec::new();
    let title = settings.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        problems.push(Problem::new(
            "title",
            format!("The title is required and at most {MAX_TITLE} characters."),
        ));
    }
    if settings.description.chars().count() > MAX_DESCRIPTION {
        problems.push(Problem::new(
            "description",
            format!("The description is at most {MAX_DESCRIPTION} characters."),
        ));
    }
    for bad in settings
        .default_channels
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !is_channel_id(c))
    {
        problems.push(Problem::new(
            "default_channels",
            format!("“{bad}” is not a channel id (like C0123ABCD); separate several with commas."),
        ));
    }
    if let Some(url) = &settings.coc_url
        && !Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
    {
        problems.push(Problem::new(
            "coc_url",
            "The code of conduct link must be an http(s) address.",
        ));
    }
    if let Err(e) = DomainRules::parse(&settings.allowed_domains, &settings.denied_domains) {
        problems.push(Problem::new("allowed_domains", e.to_string()));
    }
    if let Some(channel) = &settings.admin_channel
        && !is_channel_id(channel)
    {
        problems.push(Problem::new(
            "admin_channel",
            format!("“{channel}” is not a channel id (like C0123ABCD)."),
        ));
    }
    match settings.invite_mode {
        InviteMode::Link if !secrets.invite_link => problems.push(Problem::new(
            "invite_link",
            "“Visitors get the invite link” needs the shared invite link: paste it from Slack \
             (Invite people → Copy invite link).",
        )),
        InviteMode::Legacy if !secrets.legacy_token => problems.push(Problem::new(
            "legacy_token",
            "Inviting with a legacy token needs the token: paste it, or choose another way to invite.",
        )),
        _ => {}
    }
    match settings.captcha_provider.as_deref() {
        None => {}
        Some(p) if CaptchaProvider::parse(p).is_some() => {
            if settings.captcha_site_key.is_none() {
                problems.push(Problem::new(
                    "captcha_site_key",
                    "A captcha needs its site key.",
                ));
            }
            if !secrets.captcha_secret {
                problems.push(Problem::new(
                    "captcha_secret",
                    "A captcha needs its secret key.",
                ));
            }
        }
        Some(other) => problems.push(Problem::new(
            "captcha_provider",
            format!("“{other}” is not a captcha provider (turnstile or hcaptcha)."),
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

    fn settings() -> CommunitySettings {
        CommunitySettings {
            default_channels: "C0GENERAL1".into(),
            ..CommunitySettings::new("Demo", InviteMode::Approval)
        }
    }

    #[test]
    fn good_settings_pass() {
        assert!(validate(&settings(), SecretsSet::default()).is_empty());
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
        let problems = validate(&bad, SecretsSet::default());
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems.iter().any(|p| p.field == "captcha_secret"));
        assert!(problems.iter().any(|p| p.field == "captcha_site_key"));
        assert!(problems.iter().any(|p| p.field == "title"));
    }

    #[test]
    fn a_mode_that_needs_a_link_or_a_token_needs_it() {
        let link = CommunitySettings {
            invite_mode: InviteMode::Link,
            ..settings()
        };
        let problems = validate(&link, SecretsSet::default());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "invite_link");
        let with_link = SecretsSet {
            invite_link: true,
            ..SecretsSet::default()
        };
        assert!(validate(&link, with_link).is_empty());
        let legacy = CommunitySettings {
            invite_mode: InviteMode::Legacy,
            ..settings()
        };
        assert_eq!(
            validate(&legacy, with_link)[0].field,
            "legacy_token",
            "a link does not stand in for a token"
        );
    }
}
