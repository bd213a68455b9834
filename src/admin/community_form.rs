//! A community's settings as the dashboard's form sends them, parsed into what the database
//! stores. Sealed settings are never shown: an empty field keeps the stored value, a ticked
//! "clear" box removes it.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::abuse::domains::DomainRules;
use crate::db::communities::{Community, CommunitySecret, CommunitySettings, SecretChange};
use crate::domain::InviteLink;
use crate::domain::InviteMode;

const MAX_TITLE: usize = 100;
const MAX_DESCRIPTION: usize = 1000;

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

fn is_channel_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('C' | 'G'))
        && (3..=32).contains(&s.len())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn secret_change(value: Option<&SecretString>, clear: bool) -> Result<SecretChange, &'static str> {
    let given = value
        .map(|v| v.expose_secret().trim())
        .filter(|v| !v.is_empty());
    Ok(match (given, clear) {
        (Some(_), true) => return Err("Either replace a secret setting or clear it, not both."),
        (Some(v), false) => SecretChange::Set(SecretString::from(v.to_owned())),
        (None, true) => SecretChange::Clear,
        (None, false) => SecretChange::Keep,
    })
}

/// Checks the form; the error is a sentence for the admin. `existing` is the community being
/// edited, whose sealed settings count as set unless the form clears them.
/// `demo_slack` is the demo's emulator, whose invite links stand in for join.slack.com.
pub fn parse(
    form: &CommunityForm,
    existing: Option<&Community>,
    demo_slack: Option<&url::Url>,
) -> Result<ParsedCommunity, String> {
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(format!(
            "The title is required and at most {MAX_TITLE} characters."
        ));
    }
    let description = form.description.trim();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "The description is at most {MAX_DESCRIPTION} characters."
        ));
    }
    let invite_mode = InviteMode::parse(form.invite_mode.trim())?;
    let channels: Vec<&str> = form
        .default_channels
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(bad) = channels.iter().find(|c| !is_channel_id(c)) {
        return Err(format!(
            "“{bad}” is not a channel id (like C0123ABCD); separate several with commas."
        ));
    }
    let coc_url = Some(form.coc_url.trim())
        .filter(|u| !u.is_empty())
        .map(|u| match url::Url::parse(u) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(url.to_string()),
            _ => Err("The code of conduct link must be an http(s) address.".to_owned()),
        })
        .transpose()?;
    let coc_required = form.coc_required.is_some();
    let allowed_domains = form.allowed_domains.trim().to_lowercase();
    let denied_domains = form.denied_domains.trim().to_lowercase();
    DomainRules::parse(&allowed_domains, &denied_domains).map_err(|e| e.to_string())?;
    let admin_channel = Some(form.admin_channel.trim())
        .filter(|c| !c.is_empty())
        .map(|c| {
            is_channel_id(c)
                .then(|| c.to_owned())
                .ok_or_else(|| format!("“{c}” is not a channel id (like C0123ABCD)."))
        })
        .transpose()?;

    let invite_link =
        match secret_change(form.invite_link.as_ref(), form.clear_invite_link.is_some())? {
            SecretChange::Set(link) => {
                let link = InviteLink::parse(link.expose_secret(), demo_slack)
                    .map_err(|e| e.to_string())?;
                SecretChange::Set(SecretString::from(link.as_str().to_owned()))
            }
            other => other,
        };
    let legacy_token = secret_change(
        form.legacy_token.as_ref(),
        form.clear_legacy_token.is_some(),
    )?;
    let captcha_secret = secret_change(
        form.captcha_secret.as_ref(),
        form.clear_captcha_secret.is_some(),
    )?;

    let (captcha_provider, captcha_site_key) = match form.captcha_provider.trim() {
        "" | "none" => (None, None),
        provider @ ("turnstile" | "hcaptcha") => {
            let site_key = Some(form.captcha_site_key.trim())
                .filter(|k| !k.is_empty())
                .ok_or("A captcha needs its site key.")?;
            let secret_set = match &captcha_secret {
                SecretChange::Set(_) => true,
                SecretChange::Clear => false,
                SecretChange::Keep => existing.is_some_and(|c| c.has_captcha_secret),
            };
            if !secret_set {
                return Err("A captcha needs its secret key.".into());
            }
            (Some(provider.to_owned()), Some(site_key.to_owned()))
        }
        other => {
            return Err(format!(
                "“{other}” is not a captcha provider (turnstile or hcaptcha)."
            ));
        }
    };

    Ok(ParsedCommunity {
        settings: CommunitySettings {
            title: title.to_owned(),
            description: description.to_owned(),
            invite_mode,
            default_channels: channels.join(","),
            coc_url,
            coc_required,
            allowed_domains,
            denied_domains,
            captcha_provider,
            captcha_site_key,
            admin_channel,
        },
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
            let error = parse(&form, None, None).unwrap_err();
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
    fn debug_output_of_the_form_hides_secrets() {
        let form = CommunityForm {
            legacy_token: Some("xoxp-very-secret".into()),
            ..form()
        };
        assert!(!format!("{form:?}").contains("very-secret"));
    }
}
