//! Finishing an install: check the state, exchange the code, learn about the workspace, store the
//! installation with its tokens sealed. Nothing is stored (and no code exchanged) on any refusal.

use secrecy::SecretString;

use crate::db::communities::CommunitySettings;
use crate::db::{self, installations::Grant, installations::NewInstallation};
use crate::domain::{EnterpriseId, Slug, TeamId, UserId};
use crate::jobs;
use crate::oauth_state::{self as oauth, Callback, CallbackRefusal, Flow};
use crate::slack::client::{SlackClient, SlackError};
use crate::slack::methods::OAuthV2Access;
use crate::slack::payloads::EventCallback;
use crate::state::AppState;
use crate::{invites, members};

pub const REDIRECT_PATH: &str = "/slack/oauth_redirect";

/// A finished install, for the success page.
#[derive(Debug)]
pub struct Installed {
    pub id: TeamId,
    pub team_name: String,
    pub team_domain: Option<String>,
    pub team_icon: Option<String>,
    /// The workspace in Slack (`https://<domain>.slack.com/`).
    pub slack_url: Option<String>,
    pub reinstall: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallRefusal {
    /// The callback step refused (Slack's error, the state, the code), or Slack refused the code.
    #[error("the OAuth callback was refused: {0:?}")]
    Callback(CallbackRefusal),
    #[error("the workspace {name} is not in LOBBY_ALLOWED_TEAMS")]
    TeamNotAllowed { name: String },
    #[error("Slack granted no bot token")]
    NoBotToken,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

fn slack_failure(error: SlackError) -> InstallRefusal {
    InstallRefusal::Callback(CallbackRefusal::from_slack(error, Flow::Install))
}

/// Finishes the install Slack's callback describes.
pub async fn finish(
    state: &AppState,
    callback: &Callback<'_>,
) -> Result<Installed, InstallRefusal> {
    let returned = oauth::returned(&state.db, Flow::Install, callback)
        .await?
        .map_err(InstallRefusal::Callback)?;

    let redirect_uri = state.settings.url(REDIRECT_PATH);
    let access = state
        .slack
        .oauth_v2_access(
            &state.credentials.client_id,
            &state.credentials.client_secret,
            returned.code,
            redirect_uri.as_str(),
        )
        .await
        .map_err(slack_failure)?;
    install(state, access).await
}

async fn install(state: &AppState, access: OAuthV2Access) -> Result<Installed, InstallRefusal> {
    let now = db::now();
    let grant_of = |token: Option<SecretString>,
                    refresh: Option<SecretString>,
                    expires_in: Option<i64>,
                    scopes: String| {
        token.map(|token| Grant {
            token,
            refresh_token: refresh,
            expires_at: expires_in.map(|s| now + s),
            scopes,
        })
    };
    let user = grant_of(
        access.authed_user.access_token.clone(),
        access.authed_user.refresh_token.clone(),
        access.authed_user.expires_in,
        access.authed_user.scope.clone().unwrap_or_default(),
    );
    let bot = grant_of(
        access.access_token.clone(),
        access.refresh_token.clone(),
        access.expires_in,
        access.scope.clone(),
    );

    let (id, name) = match (&access.team, &access.enterprise) {
        (_, Some(org)) if access.is_enterprise_install => (org.id.clone(), org.name.clone()),
        (Some(team), _) => (team.id.clone(), team.name.clone()),
        _ => {
            revoke(&state.slack, &bot, &user).await;
            return Err(InstallRefusal::Callback(CallbackRefusal::CodeRefused(
                "no_team".into(),
            )));
        }
    };
    let ids = match GrantedIds::parse(&access, &id) {
        Ok(ids) => ids,
        Err(message) => {
            revoke(&state.slack, &bot, &user).await;
            return Err(slack_failure(SlackError::Decode {
                method: "oauth.v2.access".into(),
                message,
            }));
        }
    };
    let id = ids.installation.clone();

    if let Some(allowed) = &state.settings.allowed_teams {
        let enterprise_id = access.enterprise.as_ref().map(|e| e.id.as_str());
        let permitted = allowed
            .iter()
            .any(|t| *t == id || Some(t.as_str()) == enterprise_id);
        if !permitted {
            tracing::warn!(team_id = %id, "refused an install from a team not in LOBBY_ALLOWED_TEAMS");
            revoke(&state.slack, &bot, &user).await;
            return Err(InstallRefusal::TeamNotAllowed { name });
        }
    }

    let Some(bot_grant) = &bot else {
        revoke(&state.slack, &bot, &user).await;
        return Err(InstallRefusal::NoBotToken);
    };
    let auth = match state.slack.auth_test(&bot_grant.token).await {
        Ok(auth) => auth,
        Err(e) => {
            revoke(&state.slack, &bot, &user).await;
            return Err(slack_failure(e));
        }
    };
    // An org-wide install has no single workspace to describe.
    let team_info = if access.is_enterprise_install {
        None
    } else {
        match state
            .slack
            .team_info(&bot_grant.token, Some(id.as_str()))
            .await
        {
            Ok(info) => Some(info),
            Err(e) => {
                revoke(&state.slack, &bot, &user).await;
                return Err(slack_failure(e));
            }
        }
    };

    let general = match &team_info {
        Some(_) => general_channel(&state.slack, &bot_grant.token).await,
        None => None,
    };

    let new = NewInstallation {
        id: id.clone(),
        team_id: ids.team,
        team_name: name.clone(),
        team_domain: team_info
            .as_ref()
            .map(|t| t.domain.clone())
            .filter(|d| !d.is_empty()),
        team_icon: team_info.as_ref().and_then(|t| {
            (!t.icon.image_default)
                .then(|| t.icon.image_132.clone().or_else(|| t.icon.image_68.clone()))
                .flatten()
        }),
        enterprise_id: ids.enterprise,
        enterprise_name: access.enterprise.as_ref().map(|e| e.name.clone()),
        is_enterprise_install: access.is_enterprise_install,
        app_id: Some(access.app_id.clone()).filter(|a| !a.is_empty()),
        bot_user_id: ids.bot_user,
        bot_id: auth.bot_id.clone(),
        installer_user_id: ids.installer,
        bot,
        user,
    };

    let mut tx = db::begin_write(&state.db).await?;
    let previous = db::installations::get(&mut *tx, &id).await?;
    let reinstall = previous.is_some();
    db::installations::upsert(&mut *tx, &state.keyring, &new).await?;
    if let (false, Some(team_id), Some(domain)) = (reinstall, &new.team_id, &new.team_domain) {
        create_default_community(&mut tx, &new, team_id, domain, general.as_deref()).await?;
        // Demo mode closes the loop: the emulator serves the workspace's shared invite link.
        if let Some(emulator) = &state.emulator {
            let link = emulator.shared_invite_url(team_id.as_str()).to_string();
            for community in db::communities::for_installation(&mut *tx, &new.id).await? {
                if !community.has_invite_link {
                    db::communities::set_secret(
                        &mut *tx,
                        &state.keyring,
                        community.id,
                        db::communities::CommunitySecret::InviteLink,
                        &db::communities::SecretChange::Set(link.clone().into()),
                    )
                    .await?;
                }
            }
        }
    }
    jobs::Queue::enqueue_in(&mut *tx, members::RefreshMembers::job_for(&id)).await?;
    let (action, detail) = match &previous {
        Some(previous) => ("app.reinstalled", reinstall_detail(previous, &new)),
        None => (
            "app.installed",
            format!(
                "bot scopes: {}; user scopes: {}",
                new.bot.as_ref().map(|g| g.scopes.as_str()).unwrap_or(""),
                new.user
                    .as_ref()
                    .map(|g| g.scopes.as_str())
                    .unwrap_or("none"),
            ),
        ),
    };
    db::audit::record(
        &mut *tx,
        Some(&id),
        new.installer_user_id.as_str(),
        action,
        &detail,
    )
    .await?;
    tx.commit().await?;
    state.installations.forget(&id);
    state.queue.wake();
    tracing::info!(team_id = %id, reinstall, "workspace installed");

    Ok(Installed {
        id,
        team_name: name,
        team_domain: new.team_domain,
        team_icon: new.team_icon,
        slack_url: Some(auth.url).filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        reinstall,
    })
}

/// The ids in Slack's OAuth answer, parsed: the installation's (the organisation's for an
/// org-wide install, else the workspace's), the workspace, organisation, bot user and installer.
struct GrantedIds {
    installation: TeamId,
    team: Option<TeamId>,
    enterprise: Option<EnterpriseId>,
    bot_user: Option<UserId>,
    installer: UserId,
}

impl GrantedIds {
    fn parse(access: &OAuthV2Access, installation: &str) -> Result<Self, String> {
        Ok(GrantedIds {
            installation: TeamId::parse(installation)?,
            team: access
                .team
                .as_ref()
                .map(|t| TeamId::parse(&t.id))
                .transpose()?,
            enterprise: (access.enterprise.as_ref())
                .map(|e| EnterpriseId::parse(&e.id))
                .transpose()?,
            bot_user: (access.bot_user_id.as_deref())
                .map(UserId::parse)
                .transpose()?,
            installer: UserId::parse(&access.authed_user.id)?,
        })
    }
}

/// What a reinstall changed, for the audit log and the overview: scopes added and removed, and
/// whether the stored user token was kept because the new grant had none.
fn reinstall_detail(previous: &db::installations::Installation, new: &NewInstallation) -> String {
    let bot_scopes = new.bot.as_ref().map(|g| g.scopes.as_str()).unwrap_or("");
    let mut parts = vec![scope_change("bot", &previous.bot_scopes, bot_scopes)];
    match &new.user {
        Some(user) => parts.push(scope_change("user", &previous.user_scopes, &user.scopes)),
        None if previous.has_user_token => parts.push(format!(
            "no user token in this grant; the user token of {} and its scopes ({}) are kept",
            previous.installer_user_id, previous.user_scopes
        )),
        None => {}
    }
    parts.join("; ")
}

fn scope_change(kind: &str, before: &str, after: &str) -> String {
    let split = |s: &str| -> std::collections::BTreeSet<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (before, after) = (split(before), split(after));
    let added: Vec<&str> = after.difference(&before).map(String::as_str).collect();
    let removed: Vec<&str> = before.difference(&after).map(String::as_str).collect();
    if added.is_empty() && removed.is_empty() {
        return format!("{kind} scopes unchanged");
    }
    let mut out = format!("{kind} scopes");
    if !added.is_empty() {
        out.push_str(&format!(" added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        if !added.is_empty() {
            out.push(',');
        }
        out.push_str(&format!(" removed: {}", removed.join(", ")));
    }
    out
}

/// The workspace's #general (Slack's `is_general` channel), the default channel for invites.
async fn general_channel(slack: &SlackClient, token: &SecretString) -> Option<String> {
    let mut cursor: Option<String> = None;
    // A workspace has thousands of channels at most; stop after a bounded number of pages.
    for _ in 0..20 {
        let page = match slack
            .conversations_list_page(token, cursor.as_deref(), 200, "public_channel")
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "could not list channels to find #general");
                return None;
            }
        };
        if let Some(general) = page.items.iter().find(|c| c.is_general) {
            return Some(general.id.clone());
        }
        cursor = Some(page.next_cursor?);
    }
    None
}

/// A workspace's first install gets a community at once, so `/join/{domain}` works right away.
async fn create_default_community(
    tx: &mut db::WriteTx,
    new: &NewInstallation,
    team_id: &TeamId,
    domain: &str,
    general: Option<&str>,
) -> Result<(), sqlx::Error> {
    if !db::communities::for_installation(&mut **tx, &new.id)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let Ok(base) = Slug::from_domain(domain) else {
        return Ok(());
    };
    let mut slug = base.as_str().to_owned();
    let mut n = 2;
    while db::communities::slug_taken(&mut **tx, &slug).await? {
        slug = format!("{}-{n}", base.as_str());
        n += 1;
    }
    let can_invite = new
        .user
        .as_ref()
        .is_some_and(|g| invites::scopes_invite(&g.scopes));
    let settings = CommunitySettings {
        default_channels: general.unwrap_or_default().to_owned(),
        ..CommunitySettings::new(new.team_name.clone(), invites::starting_mode(can_invite))
    };
    db::communities::create(&mut **tx, &slug, &new.id, team_id, &settings).await?;
    Ok(())
}

/// Gives back tokens we will not keep (best effort: a failure is logged, not shown).
async fn revoke(slack: &SlackClient, bot: &Option<Grant>, user: &Option<Grant>) {
    for grant in [bot, user].into_iter().flatten() {
        if let Err(e) = slack.auth_revoke(&grant.token).await {
            tracing::warn!(error = %e, "could not revoke a token we refused to keep");
        }
    }
}

/// `app_uninstalled` and `tokens_revoked`: forget the tokens Slack no longer honours, inside the
/// caller's transaction. Idempotent, and either order leaves no token behind. The caller forgets
/// the cached installation (`state.installations`) once the transaction commits.
pub async fn handle_lifecycle_event(
    tx: &mut db::WriteTx,
    envelope: &EventCallback,
) -> Result<(), sqlx::Error> {
    use db::installations::TokenKind;
    let event = &envelope.event;
    let Some(id) = envelope.installation_key() else {
        return Ok(());
    };
    let kinds: Vec<TokenKind> = match envelope.event_type() {
        "app_uninstalled" => vec![TokenKind::Bot, TokenKind::User],
        // Slack lists the users whose tokens for this app were revoked (signed-in admins' OpenID
        // tokens too): only the stored bot user and installer are ours to forget.
        "tokens_revoked" => {
            let Some(installation) = db::installations::get(&mut **tx, &id).await? else {
                return Ok(());
            };
            let listed = |kind: &str, user: Option<&str>| {
                user.is_some_and(|user| {
                    event["tokens"][kind]
                        .as_array()
                        .is_some_and(|ids| ids.iter().any(|listed| listed.as_str() == Some(user)))
                })
            };
            [
                (
                    listed("bot", installation.bot_user_id.as_ref().map(UserId::as_str)),
                    TokenKind::Bot,
                ),
                (
                    listed("oauth", Some(installation.installer_user_id.as_str())),
                    TokenKind::User,
                ),
            ]
            .into_iter()
            .filter_map(|(hit, kind)| hit.then_some(kind))
            .collect()
        }
        _ => return Ok(()),
    };
    if kinds.is_empty() {
        return Ok(());
    }
    let reason = envelope.event_type();
    for kind in kinds {
        db::installations::delete_tokens(&mut **tx, &id, kind, reason).await?;
    }
    db::audit::record(&mut **tx, Some(&id), "slack", reason, "tokens deleted").await?;
    tracing::info!(team_id = %id, event = reason, "deleted tokens Slack revoked");
    Ok(())
}
