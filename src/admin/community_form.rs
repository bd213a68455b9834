//! A community's settings as the dashboard's form sends them, parsed into what the database
//! stores. Sealed settings are never shown: an empty field keeps the stored value, a ticked
//! "clear" box removes it.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::communities::{self, Problem, SecretsSet};
use crate::db::communities::{Community, CommunitySecret, CommunitySettings, SecretChange};
use crate::domain::InviteLink;
use crate::domain::InviteMode;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CommunityForm {
    pub title: String,
    pub description: String,
    pub invite_mode: String,
    pub default_channels: String,
    pub coc_url: String,
    pub coc_required: Option<String>,
    pub allowed_domains: String,
    pub denied_domains: String,
    pub captcha_provider: String,
    pub captcha_site_key: String,
    pub admin_channel: String,
    /// Present when the form offered channels by name (see `take_chosen_channels`).
    pub channels_listed: Option<String>,
    pub invite_link: Option<SecretString>,
    pub clear_invite_link: Option<String>,
    pub legacy_token: Option<SecretString>,
    pub clear_legacy_token: Option<String>,
    pub captcha_secret: Option<SecretString>,
    pub clear_captcha_secret: Option<String>,
}

/// What to store: the plain settings and a change per sealed setting.
#[derive(Debug)]
pub struct ParsedCommunity {
    pub settings: CommunitySettings,
    pub secrets: Vec<(CommunitySecret, SecretChange)>,
}

fn secret_change(
    field: &'static str,
    value: Option<&SecretString>,
    clear: bool,
) -> Result<SecretChange, Problem> {
    let given = value
        .map(|v| v.expose_secret().trim())
        .filter(|v| !v.is_empty());
    Ok(match (given, clear) {
        (Some(_), true) => {
            return Err(Problem::new(
                field,
                "Either replace a secret setting or clear it, not both.",
            ));
        }
        (Some(v), false) => SecretChange::Set(SecretString::from(v.to_owned())),
        (None, true) => SecretChange::Clear,
        (None, false) => SecretChange::Keep,
    })
}

/// Whether a sealed setting will be stored after the change.
fn will_be_set(change: &SecretChange, stored: bool) -> bool {
    match change {
        SecretChange::Set(_) => true,
        SecretChange::Clear => false,
        SecretChange::Keep => stored,
    }
}

impl CommunityForm {
    /// Channels picked in the dashboard's list (`channel`, repeated) replace the typed ids, when
    /// the form showed the list (`channels_listed`): an empty pick then means "no channels".
    pub fn take_chosen_channels<'a>(&mut self, chosen: impl Iterator<Item = &'a str>) {
        if self.channels_listed.is_some() {
            self.default_channels = chosen.collect::<Vec<_>>().join(",");
        }
    }
}

/// Checks the form as a whole; every problem comes back at once, each tied to its field.
/// `existing` is the community being edited, whose sealed settings count as set unless the form
/// clears them. `demo_slack` is the demo's emulator, whose invite links stand in for join.slack.com.
pub fn parse(
    form: &CommunityForm,
    existing: Option<&Community>,
    demo_slack: Option<&url::Url>,
) -> Result<ParsedCommunity, Vec<Problem>> {
    let mut problems = Vec::new();
    let invite_mode = match InviteMode::parse(form.invite_mode.trim()) {
        Ok(mode) => mode,
        Err(e) => {
            problems.push(Problem::new("invite_mode", e));
            existing.map_or(InviteMode::Approval, |c| c.invite_mode)
        }
    };
    let non_empty = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut secret = |field, value, clear| match secret_change(field, value, clear) {
        Ok(change) => change,
        Err(problem) => {
            problems.push(problem);
            SecretChange::Keep
        }
    };
    let invite_link = secret(
        "invite_link",
        form.invite_link.as_ref(),
        form.clear_invite_link.is_some(),
    );
    let legacy_token = secret(
        "legacy_token",
        form.legacy_token.as_ref(),
        form.clear_legacy_token.is_some(),
    );
    let captcha_secret = secret(
        "captcha_secret",
        form.captcha_secret.as_ref(),
        form.clear_captcha_secret.is_some(),
    );
    let invite_link = match invite_link {
        SecretChange::Set(link) => match InviteLink::parse(link.expose_secret(), demo_slack) {
            Ok(link) => SecretChange::Set(SecretString::from(link.as_str().to_owned())),
            Err(e) => {
                problems.push(Problem::new("invite_link", e.to_string()));
                SecretChange::Keep
            }
        },
        other => other,
    };
    let captcha_provider = match form.captcha_provider.trim() {
        "" | "none" => None,
        other => Some(other.to_owned()),
    };
    let settings = CommunitySettings {
        title: form.title.trim().to_owned(),
        description: form.description.trim().to_owned(),
        invite_mode,
        default_channels: communities::join_list(&form.default_channels),
        coc_url: non_empty(&form.coc_url),
        coc_required: form.coc_required.is_some(),
        allowed_domains: form.allowed_domains.trim().to_lowercase(),
        denied_domains: form.denied_domains.trim().to_lowercase(),
        captcha_site_key: captcha_provider
            .as_ref()
            .and(non_empty(&form.captcha_site_key)),
        captcha_provider,
        admin_channel: non_empty(&form.admin_channel),
    };
    let secrets = SecretsSet {
        invite_link: will_be_set(&invite_link, existing.is_some_and(|c| c.has_invite_link)),
        legacy_token: will_be_set(&legacy_token, existing.is_some_and(|c| c.has_legacy_token)),
        captcha_secret: will_be_set(
            &captcha_secret,
            existing.is_some_and(|c| c.has_captcha_secret),
        ),
    };
    for problem in communities::validate(&settings, secrets) {
        // A secret field with a malformed value already said so.
        if !problems.iter().any(|p: &Problem| p.field == problem.field) {
            problems.push(problem);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ParsedCommunity {
        settings: communities::normalized(settings),
        secrets: vec![
            (CommunitySecret::InviteLink, invite_link),
            (CommunitySecret::LegacyToken, legacy_token),
            (CommunitySecret::CaptchaSecret, captcha_secret),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> CommunityForm {
        CommunityForm {
            title: " Rustaceans ".into(),
            invite_mode: "approval".into(),
            default_channels: "C0GENERAL1, C0RANDOM01,".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_plain_form_parses_and_keeps_every_secret() {
        let parsed = parse(&form(), None, None).unwrap();
        assert_eq!(parsed.settings.title, "Rustaceans");
        assert_eq!(parsed.settings.invite_mode, InviteMode::Approval);
        assert_eq!(parsed.settings.default_channels, "C0GENERAL1,C0RANDOM01");
        assert!(
            parsed
                .secrets
                .iter()
                .all(|(_, c)| matches!(c, SecretChange::Keep))
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let cases: Vec<(CommunityForm, &str)> = vec![
            (
                CommunityForm {
                    title: " ".into(),
                    ..form()
                },
                "title",
            ),
            (
                CommunityForm {
                    invite_mode: "magic".into(),
                    ..form()
                },
                "invite mode",
            ),
            (
                CommunityForm {
                    default_channels: "general".into(),
                    ..form()
                },
                "channel id",
            ),
            (
                CommunityForm {
                    coc_url: "javascript:alert(1)".into(),
                    ..form()
                },
                "http(s)",
            ),
            (
                CommunityForm {
                    invite_link: Some("http://join.slack.com/t/x".into()),
                    ..form()
                },
                "https",
            ),
            (
                CommunityForm {
                    captcha_provider: "turnstile".into(),
                    captcha_site_key: "site".into(),
                    ..form()
                },
                "secret key",
            ),
            (
                CommunityForm {
                    legacy_token: Some("xoxp-1".into()),
                    clear_legacy_token: Some("on".into()),
                    ..form()
                },
                "not both",
            ),
        ];
        for (form, words) in cases {
            let problems = parse(&form, None, None).unwrap_err();
            let error = problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            assert!(error.contains(words), "{error:?} should mention {words:?}");
        }
    }

    #[test]
    fn secrets_are_set_or_cleared_and_a_captcha_accepts_a_new_secret() {
        let parsed = parse(
            &CommunityForm {
                invite_link: Some(" https://join.slack.com/t/demo/shared_invite/x ".into()),
                clear_legacy_token: Some("on".into()),
                captcha_provider: "hcaptcha".into(),
                captcha_site_key: "site".into(),
                captcha_secret: Some("s3cret".into()),
                ..form()
            },
            None,
            None,
        )
        .unwrap();
        assert!(matches!(
            &parsed.secrets[0],
            (CommunitySecret::InviteLink, SecretChange::Set(link))
                if link.expose_secret() == "https://join.slack.com/t/demo/shared_invite/x"
        ));
        assert!(matches!(
            parsed.secrets[1],
            (CommunitySecret::LegacyToken, SecretChange::Clear)
        ));
        assert_eq!(
            parsed.settings.captcha_provider.as_deref(),
            Some("hcaptcha")
        );
    }

    #[test]
    fn every_problem_comes_back_with_its_field() {
        let problems = parse(
            &CommunityForm {
                title: String::new(),
                invite_mode: "link".into(),
                coc_url: "ftp://x".into(),
                ..form()
            },
            None,
            None,
        )
        .unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["title", "coc_url", "invite_link"], "{problems:?}");
    }

    #[test]
    fn chosen_channels_replace_the_typed_ones_only_when_listed() {
        let mut typed = form();
        typed.take_chosen_channels(["C0RANDOM01"].into_iter());
        assert_eq!(typed.default_channels, "C0GENERAL1, C0RANDOM01,");
        let mut listed = CommunityForm {
            channels_listed: Some("1".into()),
            ..form()
        };
        listed.take_chosen_channels(std::iter::empty());
        assert_eq!(listed.default_channels, "");
    }

    #[test]
    fn debug_output_of_the_form_hides_secrets() {
        let form = CommunityForm {
            legacy_token: Some("xoxp-very-secret".into()),
            ..form()
        };
        assert!(!format!("{form:?}").contains("very-secret"));
    }
}
