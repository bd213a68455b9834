//! Workspace installations: one row per team (or per Enterprise Grid org), tokens sealed.

use super::{Exec, on_conn};
use secrecy::{ExposeSecret, SecretString};

use super::sealed::{
    INSTALLATION_BOT_REFRESH, INSTALLATION_BOT_TOKEN, INSTALLATION_USER_REFRESH,
    INSTALLATION_USER_TOKEN, SealedColumn,
};
use crate::domain::{EnterpriseId, TeamId, UserId};
use crate::vault::{Keyring, VaultError};

/// An installation as the dashboard and the rest of the app see it: no token material.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Installation {
    pub id: TeamId,
    pub team_id: Option<TeamId>,
    pub team_name: String,
    pub team_domain: Option<String>,
    pub team_icon: Option<String>,
    pub enterprise_id: Option<EnterpriseId>,
    pub enterprise_name: Option<String>,
    pub is_enterprise_install: bool,
    pub app_id: Option<String>,
    pub bot_user_id: Option<UserId>,
    pub bot_id: Option<String>,
    pub bot_scopes: String,
    pub bot_token_expires_at: Option<i64>,
    pub installer_user_id: UserId,
    pub user_scopes: String,
    pub user_token_expires_at: Option<i64>,
    pub status: InstallationStatus,
    pub status_reason: Option<String>,
    pub installed_at: i64,
    pub updated_at: i64,
    pub has_bot_token: bool,
    pub has_user_token: bool,
}

/// Where an installation stands (the `installations.status` column's CHECK constraint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub enum InstallationStatus {
    /// Slack accepts its bot token.
    Active,
    /// Slack refused its token (`invalid_auth`, `account_inactive`…): a reinstall brings it back.
    Inactive,
    /// The workspace removed the app, or revoked every token.
    Uninstalled,
}

impl InstallationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Uninstalled => "uninstalled",
        }
    }
}

impl std::fmt::Display for InstallationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
impl Installation {
    /// An active team installation with a bot token and no user token, for unit tests.
    pub(crate) fn sample(id: &str) -> Self {
        let id = TeamId::parse(id).expect("a sample's id is a team id");
        Installation {
            team_id: Some(id.clone()),
            id,
            team_name: String::new(),
            team_domain: None,
            team_icon: None,
            enterprise_id: None,
            enterprise_name: None,
            is_enterprise_install: false,
            app_id: None,
            bot_user_id: None,
            bot_id: None,
            bot_scopes: String::new(),
            bot_token_expires_at: None,
            installer_user_id: UserId::parse("U0INSTALL").expect("a user id"),
            user_scopes: String::new(),
            user_token_expires_at: None,
            status: InstallationStatus::Active,
            status_reason: None,
            installed_at: 0,
            updated_at: 0,
            has_bot_token: true,
            has_user_token: false,
        }
    }
}

impl Installation {
    pub fn is_active(&self) -> bool {
        self.status == InstallationStatus::Active
    }

    pub fn has_user_scope(&self, scope: &str) -> bool {
        self.has_user_token && self.user_scopes.split(',').any(|s| s.trim() == scope)
    }
}

/// A token Slack granted, with its rotation data when token rotation is on.
#[derive(Debug)]
pub struct Grant {
    pub token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<i64>,
    pub scopes: String,
}

/// What an OAuth exchange produced, ready to be stored.
#[derive(Debug)]
pub struct NewInstallation {
    pub id: TeamId,
    pub team_id: Option<TeamId>,
    pub team_name: String,
    pub team_domain: Option<String>,
    pub team_icon: Option<String>,
    pub enterprise_id: Option<EnterpriseId>,
    pub enterprise_name: Option<String>,
    pub is_enterprise_install: bool,
    pub app_id: Option<String>,
    pub bot_user_id: Option<UserId>,
    pub bot_id: Option<String>,
    pub installer_user_id: UserId,
    pub bot: Option<Grant>,
    pub user: Option<Grant>,
}

/// A stored token, opened for use.
#[derive(Debug)]
pub struct StoredToken {
    pub token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Bot,
    User,
}

impl TokenKind {
    fn columns(self) -> (SealedColumn, SealedColumn) {
        match self {
            TokenKind::Bot => (INSTALLATION_BOT_TOKEN, INSTALLATION_BOT_REFRESH),
            TokenKind::User => (INSTALLATION_USER_TOKEN, INSTALLATION_USER_REFRESH),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("a sealed token does not open: {0}")]
    Vault(#[from] VaultError),
}

const SELECT: &str = "SELECT id, team_id, team_name, team_domain, team_icon, enterprise_id, enterprise_name, \
     is_enterprise_install, app_id, bot_user_id, bot_id, bot_scopes, bot_token_expires_at, installer_user_id, \
     user_scopes, user_token_expires_at, status, status_reason, installed_at, updated_at, \
     bot_token IS NOT NULL AS has_bot_token, user_token IS NOT NULL AS has_user_token FROM installations";

fn seal(
    keyring: &Keyring,
    col: SealedColumn,
    id: &TeamId,
    value: Option<&SecretString>,
) -> Option<String> {
    value.map(|v| keyring.seal_str(v.expose_secret(), &col.aad(id.as_str())))
}

/// Inserts the installation, or on reinstall replaces its tokens and scopes and makes it active
/// again. A reinstall never downgrades: when the new grant carries no user token (a member
/// reinstalled without the admin's user scopes), the stored user token, its scopes and the person
/// it belongs to stay.
pub async fn upsert(
    db: impl Into<Exec<'_>>,
    keyring: &Keyring,
    new: &NewInstallation,
) -> Result<(), sqlx::Error> {
    let id = &new.id;
    let now = super::now();
    let bot = new.bot.as_ref();
    let user = new.user.as_ref();
    on_conn!(db, |c| {
        sqlx::query(
        "INSERT INTO installations (id, team_id, team_name, team_domain, team_icon, enterprise_id, enterprise_name, \
           is_enterprise_install, app_id, bot_user_id, bot_id, bot_scopes, bot_token, bot_refresh_token, \
           bot_token_expires_at, installer_user_id, user_scopes, user_token, user_refresh_token, \
           user_token_expires_at, status, status_reason, installed_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 'active', NULL, $21, $22) \
         ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, team_name = excluded.team_name, \
           team_domain = excluded.team_domain, team_icon = excluded.team_icon, \
           enterprise_id = excluded.enterprise_id, enterprise_name = excluded.enterprise_name, \
           is_enterprise_install = excluded.is_enterprise_install, app_id = excluded.app_id, \
           bot_user_id = excluded.bot_user_id, bot_id = excluded.bot_id, bot_scopes = excluded.bot_scopes, \
           bot_token = excluded.bot_token, bot_refresh_token = excluded.bot_refresh_token, \
           bot_token_expires_at = excluded.bot_token_expires_at, \
           installer_user_id = CASE WHEN excluded.user_token IS NULL AND installations.user_token IS NOT NULL \
             THEN installations.installer_user_id ELSE excluded.installer_user_id END, \
           user_scopes = CASE WHEN excluded.user_token IS NULL THEN installations.user_scopes ELSE excluded.user_scopes END, \
           user_token = COALESCE(excluded.user_token, installations.user_token), \
           user_refresh_token = CASE WHEN excluded.user_token IS NULL \
             THEN installations.user_refresh_token ELSE excluded.user_refresh_token END, \
           user_token_expires_at = CASE WHEN excluded.user_token IS NULL \
             THEN installations.user_token_expires_at ELSE excluded.user_token_expires_at END, \
           status = 'active', status_reason = NULL, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(&new.team_id)
    .bind(&new.team_name)
    .bind(&new.team_domain)
    .bind(&new.team_icon)
    .bind(&new.enterprise_id)
    .bind(&new.enterprise_name)
    .bind(new.is_enterprise_install)
    .bind(&new.app_id)
    .bind(&new.bot_user_id)
    .bind(&new.bot_id)
    .bind(bot.map(|g| g.scopes.as_str()).unwrap_or(""))
    .bind(seal(keyring, INSTALLATION_BOT_TOKEN, id, bot.map(|g| &g.token)))
    .bind(seal(keyring, INSTALLATION_BOT_REFRESH, id, bot.and_then(|g| g.refresh_token.as_ref())))
    .bind(bot.and_then(|g| g.expires_at))
    .bind(&new.installer_user_id)
    .bind(user.map(|g| g.scopes.as_str()).unwrap_or(""))
    .bind(seal(keyring, INSTALLATION_USER_TOKEN, id, user.map(|g| &g.token)))
    .bind(seal(keyring, INSTALLATION_USER_REFRESH, id, user.and_then(|g| g.refresh_token.as_ref())))
    .bind(user.and_then(|g| g.expires_at))
    .bind(now)
    .bind(now)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

pub async fn get(
    db: impl Into<Exec<'_>>,
    id: &TeamId,
) -> Result<Option<Installation>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// The installation that serves a workspace: its own, or its organisation's org-wide one.
pub async fn for_team(
    db: impl Into<Exec<'_>>,
    team_id: &TeamId,
    enterprise_id: Option<&EnterpriseId>,
) -> Result<Option<Installation>, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE id = $1 OR (is_enterprise_install = TRUE AND id = $2) ORDER BY is_enterprise_install LIMIT 1"
    )))
    .bind(team_id)
    .bind(enterprise_id.map_or("", EnterpriseId::as_str))
    .fetch_optional(c)
        .await
    })
}

pub async fn list(db: impl Into<Exec<'_>>) -> Result<Vec<Installation>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY team_name, id"
    )))
    .fetch_all(c)
    .await)
}

pub async fn count_active(db: impl Into<Exec<'_>>) -> Result<i64, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM installations WHERE status = 'active'"
    )
    .fetch_one(c)
    .await)
}

/// How many installations are in each status (the metrics gauges).
pub async fn count_by_status(db: impl Into<Exec<'_>>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT status, COUNT(*) FROM installations GROUP BY status ORDER BY status"
    )
    .fetch_all(c)
    .await)
}

/// The installation's token of that kind, opened — only while the installation is active.
pub async fn token(
    db: impl Into<Exec<'_>>,
    keyring: &Keyring,
    id: &TeamId,
    kind: TokenKind,
) -> Result<Option<StoredToken>, TokenError> {
    let (token_col, refresh_col) = kind.columns();
    let expires = match kind {
        TokenKind::Bot => "bot_token_expires_at",
        TokenKind::User => "user_token_expires_at",
    };
    let sql = format!(
        "SELECT {t}, {r}, {expires} FROM installations WHERE id = $1 AND status = 'active' AND {t} IS NOT NULL",
        t = token_col.column,
        r = refresh_col.column
    );
    let row: Option<(String, Option<String>, Option<i64>)> =
        on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(c)
            .await)?;
    let Some((token, refresh, expires_at)) = row else {
        return Ok(None);
    };
    Ok(Some(StoredToken {
        token: keyring.open_str(&token, &token_col.aad(id.as_str()))?,
        refresh_token: refresh
            .map(|r| keyring.open_str(&r, &refresh_col.aad(id.as_str())))
            .transpose()?,
        expires_at,
    }))
}

/// Stores a refreshed token pair in one statement, so readers see the old pair or the new one.
pub async fn store_refreshed(
    db: impl Into<Exec<'_>>,
    keyring: &Keyring,
    id: &TeamId,
    kind: TokenKind,
    token: &StoredToken,
) -> Result<(), sqlx::Error> {
    let (token_col, refresh_col) = kind.columns();
    let expires = match kind {
        TokenKind::Bot => "bot_token_expires_at",
        TokenKind::User => "user_token_expires_at",
    };
    let sql = format!(
        "UPDATE installations SET {t} = $1, {r} = $2, {expires} = $3, updated_at = $4 WHERE id = $5",
        t = token_col.column,
        r = refresh_col.column
    );
    on_conn!(db, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(seal(keyring, token_col, id, Some(&token.token)))
        .bind(seal(keyring, refresh_col, id, token.refresh_token.as_ref()))
        .bind(token.expires_at)
        .bind(super::now())
        .bind(id)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Stops using an installation Slack refused (`invalid_auth`, `account_inactive`, `token_revoked`).
pub async fn mark_inactive(
    db: impl Into<Exec<'_>>,
    id: &TeamId,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "UPDATE installations SET status = 'inactive', status_reason = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'active'",
    )
    .bind(reason)
    .bind(super::now())
    .bind(id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// Forgets the tokens of that kind; idempotent. With no bot token left the installation is
/// uninstalled.
pub async fn delete_tokens(
    db: impl Into<Exec<'_>>,
    id: &TeamId,
    kind: TokenKind,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let sql = match kind {
        TokenKind::Bot => {
            "UPDATE installations SET bot_token = NULL, bot_refresh_token = NULL, bot_token_expires_at = NULL, \
               status = 'uninstalled', status_reason = $1, updated_at = $2 WHERE id = $3"
        }
        TokenKind::User => {
            "UPDATE installations SET user_token = NULL, user_refresh_token = NULL, user_token_expires_at = NULL, \
               status = CASE WHEN bot_token IS NULL THEN 'uninstalled' ELSE status END, \
               status_reason = CASE WHEN bot_token IS NULL THEN $1 ELSE status_reason END, \
               updated_at = $2 WHERE id = $3"
        }
    };
    on_conn!(db, |c| sqlx::query(sql)
        .bind(reason)
        .bind(super::now())
        .bind(id)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Removes the installation (after its token was revoked at Slack).
pub async fn delete(db: impl Into<Exec<'_>>, id: &TeamId) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "DELETE FROM installations WHERE id = $1"
    )
    .bind(id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}
