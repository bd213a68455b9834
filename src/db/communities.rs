//! Communities: a join form each, tied to the installation whose workspace it fills.

use super::{Exec, on_conn};
use secrecy::{ExposeSecret, SecretString};

use super::sealed::{
    COMMUNITY_CAPTCHA_SECRET, COMMUNITY_INVITE_LINK, COMMUNITY_LEGACY_TOKEN, SealedColumn,
};
use crate::domain::{ChannelId, InviteMode, TeamId};
use crate::vault::{Keyring, VaultError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Community {
    pub id: i64,
    pub slug: String,
    pub installation_id: TeamId,
    pub team_id: TeamId,
    pub title: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub invite_mode: InviteMode,
    pub default_channels: String,
    pub coc_url: Option<String>,
    pub coc_required: bool,
    pub allowed_domains: String,
    pub denied_domains: String,
    pub captcha_provider: Option<String>,
    pub captcha_site_key: Option<String>,
    pub admin_channel: Option<ChannelId>,
    pub member_count: Option<i64>,
    pub member_count_at: Option<i64>,
    pub config_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub has_invite_link: bool,
    pub has_legacy_token: bool,
    pub has_captcha_secret: bool,
    /// Ask for a confirmed address before a request goes on (when mail is configured).
    pub confirm_addresses: bool,
    /// The join form's limit per client address per 30 minutes.
    pub signups_per_30_minutes: i64,
    pub invite_link_set_at: Option<i64>,
    /// When Slack stops honouring the link, as the admin entered it; `None` is "never".
    pub invite_link_expires_at: Option<i64>,
    /// How many times Lobby handed the link out since it was set.
    pub invite_link_uses: i64,
    /// Warnings already given for this link ([`LINK_WARNED_USES`], [`LINK_WARNED_EXPIRY`]).
    pub invite_link_warned: i64,
    /// A declined person gets a polite mail.
    pub deny_mail: bool,
}

/// `invite_link_warned` bits: the 350-uses warning, and the 3-days-before-expiry warning.
pub const LINK_WARNED_USES: i64 = 1;
pub const LINK_WARNED_EXPIRY: i64 = 2;

impl Community {
    pub fn channels(&self) -> Vec<&str> {
        self.default_channels
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect()
    }
}

/// Everything an admin sets on a community (the CLI and the dashboard both write through this).
#[derive(Debug, Clone)]
pub struct CommunitySettings {
    pub title: String,
    pub description: String,
    pub invite_mode: InviteMode,
    pub default_channels: String,
    pub coc_url: Option<String>,
    pub coc_required: bool,
    pub allowed_domains: String,
    pub denied_domains: String,
    pub captcha_provider: Option<String>,
    pub captcha_site_key: Option<String>,
    pub admin_channel: Option<String>,
}

impl CommunitySettings {
    /// A new community's settings: its title and mode, everything else empty.
    pub fn new(title: impl Into<String>, invite_mode: InviteMode) -> Self {
        CommunitySettings {
            title: title.into(),
            description: String::new(),
            invite_mode,
            default_channels: String::new(),
            coc_url: None,
            coc_required: false,
            allowed_domains: String::new(),
            denied_domains: String::new(),
            captcha_provider: None,
            captcha_site_key: None,
            admin_channel: None,
        }
    }
}

impl Community {
    /// The settings a community has now, as a form or the CLI edits them.
    pub fn settings(&self) -> CommunitySettings {
        CommunitySettings {
            title: self.title.clone(),
            description: self.description.clone(),
            invite_mode: self.invite_mode,
            default_channels: self.default_channels.clone(),
            coc_url: self.coc_url.clone(),
            coc_required: self.coc_required,
            allowed_domains: self.allowed_domains.clone(),
            denied_domains: self.denied_domains.clone(),
            captcha_provider: self.captcha_provider.clone(),
            captcha_site_key: self.captcha_site_key.clone(),
            admin_channel: self.admin_channel.as_ref().map(ChannelId::to_string),
        }
    }
}

/// A sealed setting: leave it, replace it, or clear it.
#[derive(Debug)]
pub enum SecretChange {
    Keep,
    Set(SecretString),
    Clear,
}

const SELECT: &str = "SELECT id, slug, installation_id, team_id, title, description, invite_mode, default_channels, \
     coc_url, coc_required, allowed_domains, denied_domains, captcha_provider, captcha_site_key, admin_channel, \
     member_count, member_count_at, config_error, created_at, updated_at, \
     invite_link IS NOT NULL AS has_invite_link, legacy_token IS NOT NULL AS has_legacy_token, \
     captcha_secret IS NOT NULL AS has_captcha_secret, confirm_addresses, signups_per_30_minutes, \
     invite_link_set_at, invite_link_expires_at, invite_link_uses, invite_link_warned, deny_mail FROM communities";

pub async fn create(
    db: impl Into<Exec<'_>>,
    slug: &str,
    installation_id: &TeamId,
    team_id: &TeamId,
    settings: &CommunitySettings,
) -> Result<i64, sqlx::Error> {
    let now = super::now();
    on_conn!(db, |c| {
        sqlx::query_scalar(
        "INSERT INTO communities (slug, installation_id, team_id, title, description, invite_mode, default_channels, \
           coc_url, coc_required, allowed_domains, denied_domains, captcha_provider, captcha_site_key, admin_channel, \
           created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
    )
    .bind(slug)
    .bind(installation_id)
    .bind(team_id)
    .bind(&settings.title)
    .bind(&settings.description)
    .bind(settings.invite_mode.as_str())
    .bind(&settings.default_channels)
    .bind(&settings.coc_url)
    .bind(settings.coc_required)
    .bind(&settings.allowed_domains)
    .bind(&settings.denied_domains)
    .bind(&settings.captcha_provider)
    .bind(&settings.captcha_site_key)
    .bind(&settings.admin_channel)
    .bind(now)
    .bind(now)
    .fetch_one(c)
        .await
    })
}

pub async fn update(
    db: impl Into<Exec<'_>>,
    id: i64,
    settings: &CommunitySettings,
) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| {
        sqlx::query(
        "UPDATE communities SET title = $1, description = $2, invite_mode = $3, default_channels = $4, coc_url = $5, \
           coc_required = $6, allowed_domains = $7, denied_domains = $8, captcha_provider = $9, captcha_site_key = $10, \
           admin_channel = $11, config_error = NULL, updated_at = $12 WHERE id = $13",
    )
    .bind(&settings.title)
    .bind(&settings.description)
    .bind(settings.invite_mode.as_str())
    .bind(&settings.default_channels)
    .bind(&settings.coc_url)
    .bind(settings.coc_required)
    .bind(&settings.allowed_domains)
    .bind(&settings.denied_domains)
    .bind(&settings.captcha_provider)
    .bind(&settings.captcha_site_key)
    .bind(&settings.admin_channel)
    .bind(super::now())
    .bind(id)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done > 0)
}

/// Which sealed setting of a community.
#[derive(Debug, Clone, Copy)]
pub enum CommunitySecret {
    InviteLink,
    LegacyToken,
    CaptchaSecret,
}

impl CommunitySecret {
    fn column(self) -> SealedColumn {
        match self {
            Self::InviteLink => COMMUNITY_INVITE_LINK,
            Self::LegacyToken => COMMUNITY_LEGACY_TOKEN,
            Self::CaptchaSecret => COMMUNITY_CAPTCHA_SECRET,
        }
    }
}

pub async fn set_secret(
    db: impl Into<Exec<'_>>,
    keyring: &Keyring,
    id: i64,
    which: CommunitySecret,
    change: &SecretChange,
) -> Result<(), sqlx::Error> {
    let col = which.column();
    let value = match change {
        SecretChange::Keep => return Ok(()),
        SecretChange::Set(secret) => {
            Some(keyring.seal_str(secret.expose_secret(), &col.aad(&id.to_string())))
        }
        SecretChange::Clear => None,
    };
    let sql = match which {
        // A new (or no) shared link starts its health over: a new count, new warnings, and no
        // expiry until the admin enters one.
        CommunitySecret::InviteLink => format!(
            "UPDATE communities SET {} = $1, updated_at = $2, \
               invite_link_set_at = CASE WHEN $1 IS NULL THEN NULL ELSE $2 END, invite_link_uses = 0, \
               invite_link_warned = 0, invite_link_expires_at = NULL WHERE id = $3",
            col.column
        ),
        _ => format!(
            "UPDATE communities SET {} = $1, updated_at = $2 WHERE id = $3",
            col.column
        ),
    };
    on_conn!(db, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .bind(super::now())
        .bind(id)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("a sealed setting does not open: {0}")]
    Vault(#[from] VaultError),
}

pub async fn secret(
    db: impl Into<Exec<'_>>,
    keyring: &Keyring,
    id: i64,
    which: CommunitySecret,
) -> Result<Option<SecretString>, SecretError> {
    let col = which.column();
    let sql = format!("SELECT {} FROM communities WHERE id = $1", col.column);
    let sealed: Option<Option<String>> =
        on_conn!(db, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(c)
            .await)?;
    match sealed.flatten() {
        Some(sealed) => Ok(Some(keyring.open_str(&sealed, &col.aad(&id.to_string()))?)),
        None => Ok(None),
    }
}

pub async fn get(db: impl Into<Exec<'_>>, id: i64) -> Result<Option<Community>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)
}

pub async fn by_slug(
    db: impl Into<Exec<'_>>,
    slug: &str,
) -> Result<Option<Community>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE slug = $1"
    )))
    .bind(slug)
    .fetch_optional(c)
    .await)
}

pub async fn slug_taken(db: impl Into<Exec<'_>>, slug: &str) -> Result<bool, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM communities WHERE slug = $1)"
    )
    .bind(slug)
    .fetch_one(c)
    .await)
}

pub async fn list(db: impl Into<Exec<'_>>) -> Result<Vec<Community>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY title, id"
    )))
    .fetch_all(c)
    .await)
}

/// The communities people can join: those whose installation is active.
pub async fn list_public(db: impl Into<Exec<'_>>) -> Result<Vec<Community>, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE installation_id IN (SELECT id FROM installations WHERE status = 'active') ORDER BY title, id"
    )))
    .fetch_all(c)
        .await
    })
}

pub async fn for_installation(
    db: impl Into<Exec<'_>>,
    installation_id: &TeamId,
) -> Result<Vec<Community>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE installation_id = $1 ORDER BY title, id"
    )))
    .bind(installation_id)
    .fetch_all(c)
    .await)
}

/// The count of one workspace of an org-wide installation, for the communities in it.
pub async fn set_member_count_of_team(
    db: impl Into<Exec<'_>>,
    installation_id: &TeamId,
    team_id: &TeamId,
    count: i64,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "UPDATE communities SET member_count = $1, member_count_at = $2 \
         WHERE installation_id = $3 AND team_id = $4",
    )
    .bind(count)
    .bind(super::now())
    .bind(installation_id)
    .bind(team_id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

pub async fn set_member_count(
    db: impl Into<Exec<'_>>,
    installation_id: &TeamId,
    count: i64,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "UPDATE communities SET member_count = $1, member_count_at = $2 WHERE installation_id = $3",
    )
    .bind(count)
    .bind(super::now())
    .bind(installation_id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// When Slack stops honouring the shared link, as the admin entered it (`None`: never).
pub async fn set_invite_link_expiry(
    db: impl Into<Exec<'_>>,
    id: i64,
    expires_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query(
        "UPDATE communities SET invite_link_expires_at = $1, invite_link_warned = invite_link_warned & $2 \
         WHERE id = $3",
    )
    .bind(expires_at)
    .bind(!LINK_WARNED_EXPIRY)
    .bind(id)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Counts one hand-out of the shared link; returns the new count and the warnings given so far.
pub async fn count_invite_link_use(
    db: impl Into<Exec<'_>>,
    id: i64,
) -> Result<(i64, i64), sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "UPDATE communities SET invite_link_uses = invite_link_uses + 1 WHERE id = $1 \
         RETURNING invite_link_uses, invite_link_warned",
    )
    .bind(id)
    .fetch_one(c)
    .await)
}

/// Records that a warning was given; `false` when it already was (another worker won).
pub async fn mark_invite_link_warned(
    db: impl Into<Exec<'_>>,
    id: i64,
    bit: i64,
) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "UPDATE communities SET invite_link_warned = invite_link_warned | $1 \
         WHERE id = $2 AND invite_link_warned & $3 = 0",
    )
    .bind(bit)
    .bind(id)
    .bind(bit)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// Sets the join form's limit per client per 30 minutes and whether addresses are confirmed.
pub async fn set_signup_rules(
    db: impl Into<Exec<'_>>,
    id: i64,
    confirm_addresses: bool,
    signups_per_30_minutes: i64,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query(
        "UPDATE communities SET confirm_addresses = $1, signups_per_30_minutes = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(confirm_addresses)
    .bind(signups_per_30_minutes)
    .bind(super::now())
    .bind(id)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(())
}

/// Whether declined people get a polite mail.
pub async fn set_deny_mail(
    db: impl Into<Exec<'_>>,
    id: i64,
    deny_mail: bool,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "UPDATE communities SET deny_mail = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(deny_mail)
    .bind(super::now())
    .bind(id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Flags (or, with `None`, clears) a configuration problem for the community's admins.
pub async fn set_config_error(
    db: impl Into<Exec<'_>>,
    id: i64,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "UPDATE communities SET config_error = $1 WHERE id = $2"
    )
    .bind(error)
    .bind(id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}
