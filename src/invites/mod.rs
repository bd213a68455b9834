//! The invite pipeline: a request is committed with its delivery job before anyone is told it
//! was received; a worker then delivers it by the community's mode.

pub mod announce;
pub mod deliver;

use secrecy::ExposeSecret;

use crate::abuse::{disposable, domains::DomainRules};
use crate::db::{
    self, communities::Community, communities::CommunitySecret, installations::Installation,
};
use crate::domain::{Email, InviteLink, InviteMode, InviteStatus};
use crate::error::AppError;
use crate::state::AppState;

/// The job that delivers one request to Slack.
pub const DELIVER_JOB: &str = "invite.deliver";

/// Delivery is retried (rate limits, Slack outages) this many times before the request fails.
pub const MAX_ATTEMPTS: i64 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Form,
    Api,
    Slack,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Form => "form",
            Source::Api => "api",
            Source::Slack => "slack",
        }
    }
}

pub struct Submission<'a> {
    pub community: &'a Community,
    pub email: &'a Email,
    pub name: &'a str,
    pub source: Source,
    pub requested_by: Option<&'a str>,
}

/// What became of a submission. Callers facing the public do not reveal `AlreadyOpen`.
#[derive(Debug)]
pub enum Submitted {
    /// Committed with its delivery job.
    Queued { id: i64 },
    /// Waiting for an admin's approval.
    Pending { id: i64 },
    /// Recorded; the person goes on to the shared invite link.
    Link { id: i64, link: InviteLink },
    /// This email already has an open request in this community.
    AlreadyOpen,
}

/// How an approved or automatic request reaches Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    AdminApi,
    Legacy,
    Link,
}

/// The route a community can use now: `admin.users.invite` when the installation holds
/// `admin.users:write`, else a legacy token, else the shared link.
pub fn route(community: &Community, installation: Option<&Installation>) -> Option<Route> {
    match community.invite_mode {
        InviteMode::AdminApi => Some(Route::AdminApi),
        InviteMode::Legacy => Some(Route::Legacy),
        InviteMode::Link => Some(Route::Link),
        InviteMode::Approval => {
            if installation.is_some_and(|i| i.has_user_scope(ADMIN_SCOPE)) {
                Some(Route::AdminApi)
            } else if community.has_legacy_token {
                Some(Route::Legacy)
            } else if community.has_invite_link {
                Some(Route::Link)
            } else {
                None
            }
        }
    }
}

/// Whether a community takes requests from this address: its allowed and denied domains, and no
/// disposable addresses. The error is a sentence for the person asking.
pub fn check_address(community: &Community, email: &Email) -> Result<(), String> {
    let rules = DomainRules::parse(&community.allowed_domains, &community.denied_domains).map_err(|e| {
        tracing::warn!(community = %community.slug, error = %e, "a community's domain lists do not parse");
        "This community cannot take requests right now.".to_owned()
    })?;
    rules.check(email).map_err(|refusal| refusal.to_string())?;
    if disposable::is_disposable(email) {
        return Err("Please use a permanent email address, not a disposable one.".into());
    }
    Ok(())
}

/// The user scope `admin.users.invite` needs.
pub const ADMIN_SCOPE: &str = "admin.users:write";

/// The longest name kept with a request.
pub const MAX_NAME_CHARS: usize = 100;

pub const MSG_QUEUED: &str = "Received; Slack will email an invitation shortly.";
pub const MSG_PENDING: &str = "Waiting for an admin to approve.";
pub const MSG_LINK: &str = "Sent on to the community's invite link.";

/// The community's shared invite link, if it has a valid one. A stored link that is not a Slack
/// invite link (saved before links were checked) is never handed out: the community is flagged
/// for its admins instead.
pub async fn shared_link(
    state: &AppState,
    community: &Community,
) -> Result<Option<InviteLink>, AppError> {
    let Some(stored) = db::communities::secret(
        &state.db,
        &state.keyring,
        community.id,
        CommunitySecret::InviteLink,
    )
    .await
    .map_err(AppError::internal)?
    else {
        return Ok(None);
    };
    match InviteLink::parse(stored.expose_secret(), state.demo_slack()) {
        Ok(link) => Ok(Some(link)),
        Err(e) => {
            tracing::warn!(community = %community.slug, "a stored invite link is not a Slack invite link");
            db::communities::set_config_error(
                &state.db,
                community.id,
                Some(&format!(
                    "{e} Enter the link again in the community's settings."
                )),
            )
            .await?;
            Ok(None)
        }
    }
}

pub async fn submit(state: &AppState, sub: Submission<'_>) -> Result<Submitted, AppError> {
    let community = sub.community;
    let (status, message) = match community.invite_mode {
        InviteMode::AdminApi | InviteMode::Legacy => (InviteStatus::Queued, MSG_QUEUED),
        InviteMode::Approval => (InviteStatus::Pending, MSG_PENDING),
        InviteMode::Link => (InviteStatus::LinkShown, MSG_LINK),
    };
    let link = if status == InviteStatus::LinkShown {
        let link = shared_link(state, community).await?;
        Some(link.ok_or_else(|| {
            AppError::Conflict(
                "This community has no invite link yet. Please try again later.".into(),
            )
        })?)
    } else {
        None
    };

    let name = crate::domain::text::clean_line(sub.name, MAX_NAME_CHARS);
    let mut tx = db::begin_write(&state.db).await?;
    let new = db::invite_requests::NewRequest {
        community_id: community.id,
        email: sub.email.as_str(),
        name: &name,
        source: sub.source.as_str(),
        requested_by: sub.requested_by,
        status,
        status_message: message,
    };
    let Some(id) = db::invite_requests::insert(&mut *tx, &new).await? else {
        return Ok(Submitted::AlreadyOpen);
    };
    let announce = status == InviteStatus::Pending && community.admin_channel.is_some();
    if status == InviteStatus::Queued {
        enqueue_delivery(&mut tx, id, 0).await?;
    } else if announce {
        crate::jobs::Queue::enqueue_in(&mut *tx, announce::announce_job(id)).await?;
    }
    tx.commit().await?;
    if status == InviteStatus::Queued || announce {
        state.queue.wake();
    }
    tracing::info!(request_id = id, community = %community.slug, status = %status, "invite request received");
    Ok(match (status, link) {
        (InviteStatus::Queued, _) => Submitted::Queued { id },
        (InviteStatus::LinkShown, Some(link)) => Submitted::Link { id, link },
        _ => Submitted::Pending { id },
    })
}

async fn enqueue_delivery(
    tx: &mut db::WriteTx,
    request_id: i64,
    delay_secs: i64,
) -> Result<i64, sqlx::Error> {
    db::jobs::enqueue(
        &mut **tx,
        DELIVER_JOB,
        &serde_json::json!({ "request_id": request_id }),
        db::now() + delay_secs,
        MAX_ATTEMPTS,
    )
    .await
}

/// What an approval did.
#[derive(Debug)]
pub enum Approved {
    /// Queued for delivery through Slack.
    Queued,
    /// No API route: the approver passes on the shared invite link.
    ShareLink(InviteLink),
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("there is no such invite request")]
    NotFound,
    #[error("the request is {0}, not waiting for a decision")]
    NotPending(InviteStatus),
    #[error(
        "this community cannot deliver invites yet: give the installation admin.users:write, \
         paste a legacy token, or set a shared invite link"
    )]
    NoRoute,
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<sqlx::Error> for DecisionError {
    fn from(e: sqlx::Error) -> Self {
        DecisionError::App(e.into())
    }
}

async fn load(
    state: &AppState,
    request_id: i64,
) -> Result<(db::invite_requests::InviteRequest, Community), DecisionError> {
    let request = db::invite_requests::get(&state.db, request_id)
        .await?
        .ok_or(DecisionError::NotFound)?;
    let community = db::communities::get(&state.db, request.community_id)
        .await?
        .ok_or(DecisionError::NotFound)?;
    Ok((request, community))
}

/// An admin approves a pending request (the dashboard, Slack buttons and `lobby invites approve`).
pub async fn approve(
    state: &AppState,
    request_id: i64,
    admin: &str,
) -> Result<Approved, DecisionError> {
    let (request, community) = load(state, request_id).await?;
    if request.status != InviteStatus::Pending {
        return Err(DecisionError::NotPending(request.status));
    }
    let installation = db::installations::get(&state.db, &community.installation_id).await?;
    match route(&community, installation.as_ref()).ok_or(DecisionError::NoRoute)? {
        Route::Link => {
            let link = shared_link(state, &community)
                .await?
                .ok_or(DecisionError::NoRoute)?;
            let moved = db::invite_requests::transition(
                &state.db,
                request_id,
                &[InviteStatus::Pending],
                InviteStatus::LinkShown,
                "Approved; the admin shares the invite link.",
                None,
                Some(admin),
            )
            .await?;
            if !moved {
                return Err(DecisionError::NotPending(request.status));
            }
            audit(
                state,
                &community,
                admin,
                "invite.approved",
                &request_id.to_string(),
            )
            .await?;
            Ok(Approved::ShareLink(link))
        }
        Route::AdminApi | Route::Legacy => {
            queue_request(
                state,
                &community,
                request_id,
                &[InviteStatus::Pending],
                admin,
                "invite.approved",
            )
            .await?;
            Ok(Approved::Queued)
        }
    }
}

/// An admin sends a pending or failed request through delivery again.
pub async fn retry(state: &AppState, request_id: i64, admin: &str) -> Result<(), DecisionError> {
    let (request, community) = load(state, request_id).await?;
    if !matches!(request.status, InviteStatus::Pending | InviteStatus::Failed) {
        return Err(DecisionError::NotPending(request.status));
    }
    let installation = db::installations::get(&state.db, &community.installation_id).await?;
    match route(&community, installation.as_ref()) {
        Some(Route::AdminApi | Route::Legacy) => {}
        _ => return Err(DecisionError::NoRoute),
    }
    queue_request(
        state,
        &community,
        request_id,
        &[InviteStatus::Pending, InviteStatus::Failed],
        admin,
        "invite.retried",
    )
    .await
}

async fn queue_request(
    state: &AppState,
    community: &Community,
    request_id: i64,
    from: &[InviteStatus],
    admin: &str,
    action: &str,
) -> Result<(), DecisionError> {
    let mut tx = db::begin_write(&state.db).await?;
    let moved = db::invite_requests::transition(
        &mut *tx,
        request_id,
        from,
        InviteStatus::Queued,
        MSG_QUEUED,
        None,
        Some(admin),
    )
    .await?;
    if !moved {
        return Err(DecisionError::NotPending(InviteStatus::Queued));
    }
    enqueue_delivery(&mut tx, request_id, 0).await?;
    db::audit::record(
        &mut *tx,
        Some(&community.installation_id),
        admin,
        action,
        &request_id.to_string(),
    )
    .await?;
    tx.commit().await?;
    state.queue.wake();
    Ok(())
}

pub async fn deny(state: &AppState, request_id: i64, admin: &str) -> Result<(), DecisionError> {
    let (request, community) = load(state, request_id).await?;
    let moved = db::invite_requests::transition(
        &state.db,
        request_id,
        &[InviteStatus::Pending],
        InviteStatus::Denied,
        "Declined by an admin.",
        None,
        Some(admin),
    )
    .await?;
    if !moved {
        return Err(DecisionError::NotPending(request.status));
    }
    audit(
        state,
        &community,
        admin,
        "invite.denied",
        &request_id.to_string(),
    )
    .await?;
    Ok(())
}

async fn audit(
    state: &AppState,
    community: &Community,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    db::audit::record(
        &state.db,
        Some(&community.installation_id),
        actor,
        action,
        detail,
    )
    .await
}
