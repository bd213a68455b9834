//! A community's settings as the dashboard's form sends them, parsed into what the database
//! stores. Sealed settings are never shown: an empty field keeps the stored value, a ticked
//! "clear" box removes it.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::communities;
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
    let invite_mode = InviteMode::parse(form.invite_mode.trim())?;
    let non_empty = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
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
    let captcha_secret_set = match &captcha_secret {
        SecretChange::Set(_) => true,
        SecretChange::Clear => false,
        SecretChange::Keep => existing.is_some_and(|c| c.has_captcha_secret),
    };
    let problems = communities::validate(&settings, captcha_secret_set);
    if !problems.is_empty() {
        return Err(problems.join(" "));
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
