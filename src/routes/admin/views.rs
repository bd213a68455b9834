//! Rows as the dashboard's templates show them: times written out, names for Slack ids, no
//! token material.

use crate::admin::display::{expiry, when};
use crate::admin::names::{self, ChannelChoice, Named};
use crate::communities::Problem;
use crate::db::{
    self, admin_audit::AuditEntry, communities::Community, installations::Installation,
};
use crate::domain::TeamId;
use crate::state::AppState;

/// The problems of a refused form; templates ask for a field's own.
#[derive(Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn all(&self) -> &[Problem] {
        &self.0
    }

    /// The sentences about one field, joined; `None` when it is fine.
    pub fn of(&self, field: &str) -> Option<String> {
        let found: Vec<&str> = self
            .0
            .iter()
            .filter(|p| p.field == field)
            .map(|p| p.message.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join(" "))
    }
}

/// A channel in a `<select>`: its name, its id as the value.
pub struct ChannelOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
    /// Stored but not among the public channels Slack listed (private, archived or gone).
    pub unlisted: bool,
}

/// The listed channels, plus any `selected` id Slack did not list, so saving keeps it.
pub fn channel_options(listed: &[ChannelChoice], selected: &[&str]) -> Vec<ChannelOption> {
    let mut out: Vec<ChannelOption> = listed
        .iter()
        .map(|c| ChannelOption {
            selected: selected.contains(&c.id.as_str()),
            id: c.id.clone(),
            name: c.name.clone(),
            unlisted: false,
        })
        .collect();
    for id in selected.iter().filter(|id| !id.is_empty()) {
        if !listed.iter().any(|c| c.id == *id) {
            out.push(ChannelOption {
                id: (*id).to_owned(),
                name: (*id).to_owned(),
                selected: true,
                unlisted: true,
            });
        }
    }
    out
}

pub struct InstallationView {
    pub id: String,
    pub name: String,
    pub domain: Option<String>,
    pub status: crate::db::installations::InstallationStatus,
    /// The status in words.
    pub status_label: &'static str,
    pub healthy: bool,
    pub reason: Option<String>,
    pub org_wide: bool,
    pub bot_scopes: Vec<String>,
    pub user_scopes: Vec<String>,
    pub bot_expiry: String,
    pub user_expiry: Option<String>,
    pub has_bot_token: bool,
    pub installer: Named,
    pub installed: String,
    pub updated: String,
}

fn scopes(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl InstallationView {
    /// With the installer's name from Slack (cached).
    pub async fn load(state: &AppState, i: Installation) -> Self {
        let installer = names::person(state, &i.id, i.installer_user_id.as_str()).await;
        let mut view = InstallationView::from(i);
        view.installer = Named::new(&view.installer.id, installer);
        view
    }
}

impl From<Installation> for InstallationView {
    fn from(i: Installation) -> Self {
        let healthy = i.is_active() && i.has_bot_token;
        InstallationView {
            status_label: match (healthy, i.is_active()) {
                (true, _) => "Working",
                (false, true) => "No bot token: reinstall",
                (false, false) => "Inactive: reinstall",
            },
            healthy,
            bot_scopes: scopes(&i.bot_scopes),
            user_scopes: scopes(&i.user_scopes),
            bot_expiry: expiry(i.bot_token_expires_at),
            user_expiry: i.has_user_token.then(|| expiry(i.user_token_expires_at)),
            installed: when(i.installed_at),
            updated: when(i.updated_at),
            has_bot_token: i.has_bot_token,
            org_wide: i.is_enterprise_install,
            reason: i.status_reason,
            status: i.status,
            domain: i.team_domain,
            installer: Named::new(i.installer_user_id.as_str(), None),
            name: if i.team_name.is_empty() {
                i.id.to_string()
            } else {
                i.team_name
            },
            id: i.id.to_string(),
        }
    }
}

pub struct CommunityRow {
    pub community: Community,
    pub pending: i64,
    /// The workspace it invites to.
    pub workspace: Named,
}

impl CommunityRow {
    pub async fn load_for(
        state: &AppState,
        installation_id: &TeamId,
    ) -> Result<Vec<Self>, sqlx::Error> {
        let db = &state.db;
        let mut rows = Vec::new();
        for community in db::communities::for_installation(db, installation_id).await? {
            let pending = db::admin_requests::pending_count(db, community.id).await?;
            let workspace = Named::new(
                community.team_id.as_str(),
                names::workspace(state, installation_id, &community.team_id).await,
            );
            rows.push(CommunityRow {
                community,
                pending,
                workspace,
            });
        }
        Ok(rows)
    }

    /// What admins must do about the shared invite link soon (used up, expiring), if anything.
    pub fn link_warning(&self) -> Option<String> {
        crate::invites::mail::link_health_warning(&self.community, db::now())
    }

    /// "12 of 400 uses · expires in 9 days", for a community with a shared link.
    pub fn link_health(&self) -> Option<String> {
        let c = &self.community;
        if !c.has_invite_link {
            return None;
        }
        let expiry = match c.invite_link_expires_at {
            Some(at) => format!("expires in {} days", ((at - db::now()) / 86_400).max(0)),
            None => "no expiry entered".to_owned(),
        };
        Some(format!(
            "{} of {} uses · {expiry}",
            c.invite_link_uses,
            crate::invites::mail::LINK_MAX_USES
        ))
    }
}

pub struct AuditRow {
    pub when: String,
    /// `None` for entries about no workspace.
    pub team: Option<Named>,
    pub actor: Named,
    /// What happened, in words; the code stays in a tooltip.
    pub action: String,
    pub action_code: String,
    pub detail: String,
}

impl AuditRow {
    /// The entry with the workspace's and the person's names (cached lookups).
    pub async fn load(state: &AppState, e: AuditEntry) -> Self {
        // Decisions taken with Slack's buttons are recorded as `slack:<user id>`.
        let (person, via_slack) = match e.actor.strip_prefix("slack:") {
            Some(user) => (user, true),
            None => (e.actor.as_str(), false),
        };
        // The log's team ids were parsed when written; one that does not parse is shown as it is.
        let parsed = e.team_id.as_deref().and_then(|t| TeamId::parse(t).ok());
        let (team, actor) = match (&parsed, &e.team_id) {
            (None, Some(unparsed)) => {
                (Some(Named::new(unparsed, None)), Named::new(&e.actor, None))
            }
            (Some(team), _) => {
                let name = names::person(state, team, person).await.map(|n| {
                    if via_slack {
                        format!("{n} (in Slack)")
                    } else {
                        n
                    }
                });
                (
                    Some(Named::new(
                        team.as_str(),
                        names::workspace(state, team, team).await,
                    )),
                    Named::new(&e.actor, name),
                )
            }
            (None, None) => (None, Named::new(&e.actor, None)),
        };
        AuditRow {
            when: when(e.at),
            team,
            actor,
            action: audit_action(&e.action).to_owned(),
            action_code: e.action,
            detail: e.detail,
        }
    }

    pub async fn load_all(state: &AppState, entries: Vec<AuditEntry>) -> Vec<Self> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            out.push(AuditRow::load(state, e).await);
        }
        out
    }
}

/// An audit action in words; unknown codes show as they are.
pub fn audit_action(code: &str) -> &str {
    match code {
        "login" => "signed in",
        "logout" => "signed out",
        "app.installed" => "installed Lobby",
        "app.reinstalled" => "reinstalled Lobby",
        "installation.inactive" => "Slack stopped accepting the installation's token",
        "installation.removed" => "removed the installation",
        "community.created" => "created the community",
        "community.updated" => "changed the community's settings",
        "community.invite_link_replaced" => "replaced the shared invite link",
        "community.signups_updated" => "changed the sign-up settings",
        "invite.approved" => "approved a request",
        "invite.denied" => "declined a request",
        "invite.retried" => "sent a request to Slack again",
        "admin.demoted" => "lost dashboard access (no longer a Slack admin)",
        "login.refused" => "was refused sign-in (not a Slack admin)",
        "tokens_revoked" => "Slack revoked the app's tokens",
        "app_uninstalled" => "Slack uninstalled the app",
        "api_key.created" => "created an API key",
        "api_key.revoked" => "revoked an API key",
        other => other,
    }
}
