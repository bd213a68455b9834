//! What stops invites from flowing in a workspace, each with the place to fix it: the overview
//! lists these, and calls a workspace healthy only when there are none.

use crate::db::communities::Community;
use crate::db::installations::Installation;
use crate::domain::InviteMode;
use crate::invites::{self, Route};

/// One thing an admin should fix, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    pub what: String,
    /// The link's words ("Reinstall Lobby").
    pub fix: &'static str,
    pub href: String,
}

/// A community with what the overview counted for it.
pub struct CommunityState<'a> {
    pub community: &'a Community,
    /// Requests Slack refused for good.
    pub failed: i64,
}

/// Everything needing attention in one workspace. `mail_on`: Lobby can send mail.
pub fn for_workspace(
    installation: &Installation,
    communities: &[CommunityState<'_>],
    mail_on: bool,
    now: i64,
) -> Vec<Attention> {
    let mut out = Vec::new();
    if !installation.is_active() || !installation.has_bot_token {
        let reason = installation
            .status_reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        out.push(Attention {
            what: format!(
                "Slack no longer accepts Lobby's token for this workspace{reason}: no invite goes out until it is reinstalled."
            ),
            fix: "Reinstall Lobby",
            href: format!("/slack/install?team={}", installation.id),
        });
    }
    let mut mails_links = false;
    for state in communities {
        let c = state.community;
        let settings = format!("/admin/communities/{}", c.id);
        if let Some(problem) = &c.config_error {
            out.push(Attention {
                what: format!("{}: {problem}", c.title),
                fix: "Open its settings",
                href: settings.clone(),
            });
        }
        let route = invites::route(c, Some(installation));
        // Without an invite API the shared link is the way in, and mail is how it reaches people.
        mails_links |= matches!(route, None | Some(Route::Link))
            && matches!(c.invite_mode, InviteMode::Approval | InviteMode::Link);
        if route.is_none() {
            out.push(Attention {
                what: format!(
                    "{} cannot deliver invites: it has no shared invite link, no legacy token, and the installation cannot invite through Slack's admin API.",
                    c.title
                ),
                fix: "Add the invite link",
                href: format!("{settings}#invite_link"),
            });
        }
        if let Some(warning) = invites::mail::link_health_warning(c, now) {
            out.push(Attention {
                what: warning,
                fix: "Replace the invite link",
                href: format!("{settings}#invite_link"),
            });
        }
        if state.failed > 0 {
            out.push(Attention {
                what: format!("{} request(s) to join {} failed.", state.failed, c.title),
                fix: "See the failed requests",
                href: format!("/admin/requests?community={}&status=failed", c.id),
            });
        }
    }
    if mails_links && !mail_on {
        out.push(Attention {
            what: "Mail is off, so approved people do not get the shared invite link by themselves: you pass it on by hand.".into(),
            fix: "How to set up mail",
            href: "/admin/setup#mail".into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::{TeamId, UserId};

    fn installation() -> Installation {
        Installation {
            team_name: "One".into(),
            installer_user_id: UserId::parse("U0ONE").unwrap(),
            ..Installation::sample("T0ONE")
        }
    }

    fn community(mode: InviteMode) -> Community {
        Community {
            id: 7,
            slug: "rust".into(),
            installation_id: TeamId::parse("T0ONE").unwrap(),
            team_id: TeamId::parse("T0ONE").unwrap(),
            title: "Rust".into(),
            description: String::new(),
            invite_mode: mode,
            default_channels: String::new(),
            coc_url: None,
            coc_required: false,
            allowed_domains: String::new(),
            denied_domains: String::new(),
            captcha_provider: None,
            captcha_site_key: None,
            admin_channel: None,
            member_count: None,
            member_count_at: None,
            config_error: None,
            created_at: 0,
            updated_at: 0,
            has_invite_link: true,
            has_legacy_token: false,
            has_captcha_secret: false,
            confirm_addresses: false,
            signups_per_30_minutes: 20,
            invite_link_set_at: None,
            invite_link_expires_at: None,
            invite_link_uses: 0,
            invite_link_warned: 0,
            deny_mail: false,
        }
    }

    #[test]
    fn a_working_workspace_needs_nothing() {
        let c = community(InviteMode::Link);
        let list = for_workspace(
            &installation(),
            &[CommunityState {
                community: &c,
                failed: 0,
            }],
            true,
            0,
        );
        assert_eq!(list, []);
    }

    #[test]
    fn each_problem_links_to_its_fix() {
        let dead = Installation {
            status: crate::db::installations::InstallationStatus::Inactive,
            ..installation()
        };
        let no_route = Community {
            has_invite_link: false,
            ..community(InviteMode::Approval)
        };
        let flagged = Community {
            id: 8,
            config_error: Some("missing_scope".into()),
            invite_link_uses: 380,
            ..community(InviteMode::Link)
        };
        let list = for_workspace(
            &dead,
            &[
                CommunityState {
                    community: &no_route,
                    failed: 2,
                },
                CommunityState {
                    community: &flagged,
                    failed: 0,
                },
            ],
            false,
            0,
        );
        let hrefs: Vec<&str> = list.iter().map(|a| a.href.as_str()).collect();
        assert_eq!(
            hrefs,
            [
                "/slack/install?team=T0ONE",
                "/admin/communities/7#invite_link",
                "/admin/requests?community=7&status=failed",
                "/admin/communities/8",
                "/admin/communities/8#invite_link",
                "/admin/setup#mail",
            ]
        );
    }
}
