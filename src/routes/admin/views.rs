//! Rows as the dashboard's templates show them: times written out, no token material.

use crate::admin::display::{expiry, when};
use crate::db::{
    self, Db, admin_audit::AuditEntry, communities::Community, installations::Installation,
};

pub struct InstallationView {
    pub id: String,
    pub name: String,
    pub domain: Option<String>,
    pub status: String,
    pub healthy: bool,
    pub reason: Option<String>,
    pub org_wide: bool,
    pub bot_scopes: Vec<String>,
    pub user_scopes: Vec<String>,
    pub bot_expiry: String,
    pub user_expiry: Option<String>,
    pub has_bot_token: bool,
    pub installer: String,
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

impl From<Installation> for InstallationView {
    fn from(i: Installation) -> Self {
        InstallationView {
            healthy: i.is_active() && i.has_bot_token,
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
            installer: i.installer_user_id,
            name: if i.team_name.is_empty() {
                i.id.clone()
            } else {
                i.team_name
            },
            id: i.id,
        }
    }
}

pub struct CommunityRow {
    pub community: Community,
    pub pending: i64,
}

impl CommunityRow {
    pub async fn load_for(db: &Db, installation_id: &str) -> Result<Vec<Self>, sqlx::Error> {
        let mut rows = Vec::new();
        for community in db::communities::for_installation(db, installation_id).await? {
            let pending = db::admin_requests::pending_count(db, community.id).await?;
            rows.push(CommunityRow { community, pending });
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
    pub team: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

impl From<AuditEntry> for AuditRow {
    fn from(e: AuditEntry) -> Self {
        AuditRow {
            when: when(e.at),
            team: e.team_id.unwrap_or_default(),
            actor: e.actor,
            action: e.action,
            detail: e.detail,
        }
    }
}
