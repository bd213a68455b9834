//! The invite pipeline: a request is committed with its delivery job before anyone is told it
//! was received; a worker then delivers it by the community's mode.

pub mod announce;
pub mod deliver;
pub mod intake;
pub mod mail;
pub mod recorder;

use secrecy::ExposeSecret;

use crate::abuse::domains::DomainRefusal;
use crate::abuse::{disposable, domains::DomainRules};
use crate::db::{
    self, Db, communities::Community, communities::CommunitySecret, communities::SecretError,
    installations::Installation,
};
use crate::domain::{Email, InviteLink, InviteMode, InviteStatus};
use crate::mail::Mailer;
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
    pub requested_by: Option<&'a crate::domain::UserId>,
    /// The caller already proved the address (an API client saying `"verified": true`, a Slack member).
    pub verified: bool,
    /// The form came back faster than a person fills it in: kept, but confirmed or held for an admin.
    pub too_fast: bool,
    /// The language the person asked in; their mails speak it.
    pub lang: crate::i18n::Lang,
}

/// What became of a submission. Callers facing the public do not reveal `AlreadyOpen`.
#[derive(Debug)]
pub enum Submitted {
    /// Committed with its delivery job.
    Queued { id: i64 },
    /// Waiting for an admin's approval.
    Pending { id: i64 },
    /// Recorded; the person goes on to the shared invite link (no mail configured).
    Link { id: i64, link: InviteLink },
    /// Waiting for the person to confirm their address through the mailed link.
    Confirming { id: i64 },
    /// The shared invite link is being mailed.
    LinkMailed { id: i64 },
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
            if installation.is_some_and(invites_by_api) {
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

/// Why a community does not take requests from an address. The sentences are for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressRefusal {
    #[error("{0}")]
    Domain(#[from] DomainRefusal),
    #[error("Please use a permanent email address, not a disposable one.")]
    Disposable,
    /// The community's saved domain lists do not parse (saved before they were checked).
    #[error("This community cannot take requests right now.")]
    RulesBroken,
}

/// Whether a community takes requests from this address: its allowed and denied domains, and no
/// disposable addresses.
pub fn check_address(community: &Community, email: &Email) -> Result<(), AddressRefusal> {
    let rules = DomainRules::parse(&community.allowed_domains, &community.denied_domains).map_err(|e| {
        tracing::warn!(community = %community.slug, error = %e, "a community's domain lists do not parse");
        AddressRefusal::RulesBroken
    })?;
    rules.check(email)?;
    if disposable::is_disposable(email) {
        return Err(AddressRefusal::Disposable);
    }
    Ok(())
}

/// The user scope `admin.users.invite` needs.
pub const ADMIN_SCOPE: &str = "admin.users:write";

/// Whether a user token granted these scopes (comma-separated) can invite through
/// `admin.users.invite`. Decided here only.
pub fn scopes_invite(user_scopes: &str) -> bool {
    user_scopes.split(',').any(|s| s.trim() == ADMIN_SCOPE)
}

/// Whether the installation holds a user token that invites through `admin.users.invite`.
pub fn invites_by_api(installation: &Installation) -> bool {
    installation.has_user_token && scopes_invite(&installation.user_scopes)
}

/// The mode a new community starts in: Slack sends the invitations where the installation can
/// (Enterprise Grid), otherwise an admin approves each request.
pub fn starting_mode(can_invite: bool) -> InviteMode {
    if can_invite {
        InviteMode::AdminApi
    } else {
        InviteMode::Approval
    }
}

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
) -> Result<Option<InviteLink>, SecretError> {
    let Some(stored) = db::communities::secret(
        &state.db,
        &state.keyring,
        community.id,
        CommunitySecret::InviteLink,
    )
    .await?
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

/// How long a confirmation link works.
pub const CONFIRM_TTL_SECS: i64 = 24 * 60 * 60;
/// Unconfirmed requests are forgotten after this long.
pub const UNCONFIRMED_KEPT_SECS: i64 = 7 * 24 * 60 * 60;

pub const MSG_CONFIRMING: &str = "Waiting for the person to confirm their address.";
pub const MSG_HELD: &str =
    "Held for an admin: the form was sent faster than a person usually fills it in.";
pub const MSG_MAILING_LINK: &str = "Mailing the invite link.";

/// Where a request goes once its address is known to be real (or needs no proof).
fn next_step(mailer: Option<&Mailer>, community: &Community) -> (InviteStatus, &'static str) {
    match community.invite_mode {
        InviteMode::AdminApi | InviteMode::Legacy => (InviteStatus::Queued, MSG_QUEUED),
        InviteMode::Approval => (InviteStatus::Pending, MSG_PENDING),
        InviteMode::Link if mailer.is_some() => (InviteStatus::Queued, MSG_MAILING_LINK),
        InviteMode::Link => (InviteStatus::LinkShown, MSG_LINK),
    }
}

/// Whether requests to this community must confirm their address first.
pub fn needs_confirmation(mailer: Option<&Mailer>, community: &Community) -> bool {
    mailer.is_some() && community.confirm_addresses
}

/// The job that takes a request in `status` on, if any: delivery, the link mail, or the
/// announcement to the admin channel.
fn follow_up(
    community: &Community,
    id: i64,
    status: InviteStatus,
) -> Option<crate::jobs::NewJob<'static>> {
    match (status, community.invite_mode) {
        (InviteStatus::Queued, InviteMode::Link) => Some(mail::link_job(id)),
        (InviteStatus::Queued, _) => Some(delivery_job(id)),
        (InviteStatus::Pending, _) if community.admin_channel.is_some() => {
            Some(announce::announce_job(id))
        }
        _ => None,
    }
}

/// Why a submission was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Link mode without mail, and no usable link to hand on.
    #[error("This community has no invite link yet. Please try again later.")]
    NoInviteLink,
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl From<sqlx::Error> for SubmitError {
    fn from(e: sqlx::Error) -> Self {
        SubmitError::Secret(e.into())
    }
}

/// Records a request that passed the join policy ([`intake::intake`]) with its next job, in one
/// transaction (shared with other signups of the moment: see [`recorder`]).
pub(crate) async fn submit(
    state: &AppState,
    sub: Submission<'_>,
) -> Result<Submitted, SubmitError> {
    // Without a form token to spend, the form cannot have been spent.
    Ok(record(state, sub, None)
        .await?
        .unwrap_or(Submitted::AlreadyOpen))
}

/// [`submit`] for the join form: the form's token (its hash, and until when it must be kept) is
/// spent in the same transaction. `None` when it was spent before: nothing was recorded.
pub(crate) async fn submit_form(
    state: &AppState,
    sub: Submission<'_>,
    form_token: (Vec<u8>, i64),
) -> Result<Option<Submitted>, SubmitError> {
    record(state, sub, Some(form_token)).await
}

async fn record(
    state: &AppState,
    sub: Submission<'_>,
    form_token: Option<(Vec<u8>, i64)>,
) -> Result<Option<Submitted>, SubmitError> {
    let community = sub.community;
    let confirm = !sub.verified && needs_confirmation(state.mailer.as_ref(), community);
    let (status, message) = if confirm {
        (InviteStatus::Unconfirmed, MSG_CONFIRMING)
    } else if sub.too_fast {
        (InviteStatus::Pending, MSG_HELD)
    } else {
        next_step(state.mailer.as_ref(), community)
    };
    let link = if status == InviteStatus::LinkShown {
        let link = shared_link(state, community).await?;
        Some(link.ok_or(SubmitError::NoInviteLink)?)
    } else {
        None
    };
    let token = if confirm {
        Some(crate::opaque::random_token(32).map_err(SubmitError::Random)?)
    } else {
        None
    };
    let follow_up: recorder::FollowUp = match token.clone() {
        Some(token) => {
            let sealer = state.keyring.sealer();
            Box::new(move |id| Some(mail::confirm_job(&sealer, id, &token)))
        }
        None => {
            let community = community.clone();
            Box::new(move |id| follow_up(&community, id, status))
        }
    };
    let write = recorder::SignupWrite {
        community_id: community.id,
        email: sub.email.as_str().to_owned(),
        name: crate::domain::text::clean_line(sub.name, MAX_NAME_CHARS),
        source: sub.source.as_str(),
        requested_by: sub.requested_by.cloned(),
        status,
        status_message: message,
        confirm: token.as_deref().map(|token| {
            (
                crate::opaque::token_hash(token),
                db::now() + CONFIRM_TTL_SECS,
            )
        }),
        too_fast: sub.too_fast,
        lang: sub.lang.code(),
        form_token,
        follow_up,
    };
    let id = match state.signups.record(write).await? {
        recorder::Recorded::New { id } => id,
        recorder::Recorded::AlreadyOpen => return Ok(Some(Submitted::AlreadyOpen)),
        recorder::Recorded::FormSpent => return Ok(None),
    };
    tracing::info!(request_id = id, community = %community.slug, status = %status, "invite request received");
    Ok(Some(match (status, link) {
        (InviteStatus::Unconfirmed, _) => Submitted::Confirming { id },
        (InviteStatus::Queued, _) if community.invite_mode == InviteMode::Link => {
            Submitted::LinkMailed { id }
        }
        (InviteStatus::Queued, _) => Submitted::Queued { id },
        (InviteStatus::LinkShown, Some(link)) => Submitted::Link { id, link },
        _ => Submitted::Pending { id },
    }))
}

/// What a confirmation link leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// Sent on to Slack.
    Queued,
    /// Waiting for an admin.
    Pending,
    /// The invite link is on its way by mail.
    LinkMailed,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("this confirmation link is not valid any more: it was used already, or it expired")]
    Invalid,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The request an unspent, unexpired confirmation token belongs to (for the page with the button).
pub async fn pending_confirmation(
    db: &Db,
    slug: &str,
    token: &str,
) -> Result<(db::invite_requests::InviteRequest, Community), ConfirmError> {
    let hash = crate::opaque::token_hash(token);
    let request = db::invite_requests::by_confirm_hash(db, &hash, db::now())
        .await?
        .ok_or(ConfirmError::Invalid)?;
    let community = db::communities::get(db, request.community_id)
        .await?
        .filter(|c| c.slug == slug)
        .ok_or(ConfirmError::Invalid)?;
    Ok((request, community))
}

/// The person confirms their address: the token is spent and the request goes on.
pub async fn confirm(state: &AppState, slug: &str, token: &str) -> Result<Confirmed, ConfirmError> {
    let (request, community) = pending_confirmation(&state.db, slug, token).await?;
    let (status, message) = match next_step(state.mailer.as_ref(), &community) {
        // Without mail there is nothing to confirm with; a link is never shown to a visitor here.
        (InviteStatus::LinkShown, _) => (InviteStatus::Pending, MSG_PENDING),
        step => step,
    };
    let mut tx = db::begin_write(&state.db).await?;
    if !db::invite_requests::confirm(&mut *tx, request.id, status, message).await? {
        return Err(ConfirmError::Invalid);
    }
    let job = follow_up(&community, request.id, status);
    let wake = job.is_some();
    if let Some(job) = job {
        crate::jobs::Queue::enqueue_in(&mut *tx, job).await?;
    }
    tx.commit().await?;
    if wake {
        state.queue.wake();
    }
    tracing::info!(request_id = request.id, community = %community.slug, status = %status, "address confirmed");
    Ok(match status {
        InviteStatus::Queued if community.invite_mode == InviteMode::Link => Confirmed::LinkMailed,
        InviteStatus::Queued => Confirmed::Queued,
        _ => Confirmed::Pending,
    })
}

/// The delivery job: send one request to Slack.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Deliver {
    pub request_id: i64,
}

impl crate::jobs::JobKind for Deliver {
    const KIND: &'static str = DELIVER_JOB;
}

fn delivery_job(request_id: i64) -> crate::jobs::NewJob<'static> {
    use crate::jobs::JobKind;
    Deliver { request_id }.job().max_attempts(MAX_ATTEMPTS)
}

/// What an approval did.
#[derive(Debug)]
pub enum Approved {
    /// Queued for delivery through Slack.
    Queued,
    /// The shared invite link is being mailed to the person.
    Mailing,
    /// No API route: the approver passes on the shared invite link.
    ShareLink(InviteLink),
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("There is no such invite request.")]
    NotFound,
    #[error("This request is no longer waiting for a decision (its status: {}).", .0.label())]
    NotPending(InviteStatus),
    #[error(
        "{community} cannot deliver invites yet: set its shared invite link in the community's settings \
         ({settings}), paste a legacy token there, or give the installation admin.users:write"
    )]
    NoRoute { community: String, settings: String },
    #[error(
        "{community}'s shared invite link cannot be used now ({reason}); set a new one in the community's settings ({settings})"
    )]
    DeadLink {
        community: String,
        reason: String,
        settings: String,
    },
    /// The database, or a sealed setting that does not open.
    #[error(transparent)]
    Storage(#[from] SecretError),
}

impl From<sqlx::Error> for DecisionError {
    fn from(e: sqlx::Error) -> Self {
        DecisionError::Storage(e.into())
    }
}

async fn load(
    db: &Db,
    request_id: i64,
) -> Result<(db::invite_requests::InviteRequest, Community), DecisionError> {
    let request = db::invite_requests::get(db, request_id)
        .await?
        .ok_or(DecisionError::NotFound)?;
    let community = db::communities::get(db, request.community_id)
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
    approve_with(state, request_id, admin, None).await
}

/// [`approve`] from a Slack button: `slack_message` is the approval message's response URL and
/// the clicker, so the message can say later whether the invite mail went out.
pub async fn approve_from_slack(
    state: &AppState,
    request_id: i64,
    admin: &str,
    slack_message: mail::SlackMessage,
) -> Result<Approved, DecisionError> {
    approve_with(state, request_id, admin, Some(slack_message)).await
}

async fn approve_with(
    state: &AppState,
    request_id: i64,
    admin: &str,
    slack_message: Option<mail::SlackMessage>,
) -> Result<Approved, DecisionError> {
    let (request, community) = load(&state.db, request_id).await?;
    if request.status != InviteStatus::Pending {
        return Err(DecisionError::NotPending(request.status));
    }
    let installation = db::installations::get(&state.db, &community.installation_id).await?;
    match route(&community, installation.as_ref()).ok_or_else(|| no_route(state, &community))? {
        Route::Link if state.mailer.is_some() => {
            if let Some(reason) = mail::link_unusable(&community, db::now()) {
                return Err(dead_link(state, &community, reason));
            }
            queue_request(
                state,
                &community,
                request_id,
                &[InviteStatus::Pending],
                admin,
                "invite.approved",
                slack_message,
            )
            .await?;
            Ok(Approved::Mailing)
        }
        Route::Link => {
            let link = shared_link(state, &community)
                .await?
                .ok_or_else(|| no_route(state, &community))?;
            decide(
                &state.db,
                &community,
                &request,
                admin,
                (
                    InviteStatus::LinkShown,
                    "Approved; the admin shares the invite link.",
                ),
                "invite.approved",
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
                None,
            )
            .await?;
            Ok(Approved::Queued)
        }
    }
}

/// Where an admin fixes a community that cannot deliver.
fn settings_url(state: &AppState, community: &Community) -> String {
    state
        .settings
        .url(&format!("/admin/communities/{}", community.id))
        .to_string()
}

fn no_route(state: &AppState, community: &Community) -> DecisionError {
    DecisionError::NoRoute {
        community: community.title.clone(),
        settings: settings_url(state, community),
    }
}

fn dead_link(state: &AppState, community: &Community, reason: &str) -> DecisionError {
    DecisionError::DeadLink {
        community: community.title.clone(),
        reason: reason.to_owned(),
        settings: settings_url(state, community),
    }
}

/// An admin sends a pending or failed request through delivery again.
pub async fn retry(state: &AppState, request_id: i64, admin: &str) -> Result<(), DecisionError> {
    let (request, community) = load(&state.db, request_id).await?;
    if !matches!(request.status, InviteStatus::Pending | InviteStatus::Failed) {
        return Err(DecisionError::NotPending(request.status));
    }
    let installation = db::installations::get(&state.db, &community.installation_id).await?;
    match route(&community, installation.as_ref()) {
        Some(Route::AdminApi | Route::Legacy) => {}
        Some(Route::Link) if state.mailer.is_some() => {}
        _ => return Err(no_route(state, &community)),
    }
    queue_request(
        state,
        &community,
        request_id,
        &[InviteStatus::Pending, InviteStatus::Failed],
        admin,
        "invite.retried",
        None,
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
    slack_message: Option<mail::SlackMessage>,
) -> Result<(), DecisionError> {
    let mut tx = db::begin_write(&state.db).await?;
    let installation = db::installations::get(&mut *tx, &community.installation_id).await?;
    let by_mail = route(community, installation.as_ref()) == Some(Route::Link);
    let message = if by_mail {
        MSG_MAILING_LINK
    } else {
        MSG_QUEUED
    };
    let moved = db::invite_requests::transition(
        &mut *tx,
        request_id,
        from,
        InviteStatus::Queued,
        message,
        None,
        Some(admin),
    )
    .await?;
    if !moved {
        return Err(DecisionError::NotPending(InviteStatus::Queued));
    }
    let job = if by_mail {
        mail::link_job_for(request_id, slack_message)
    } else {
        delivery_job(request_id)
    };
    crate::jobs::Queue::enqueue_in(&mut *tx, job).await?;
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
    let (request, community) = load(&state.db, request_id).await?;
    decide(
        &state.db,
        &community,
        &request,
        admin,
        (InviteStatus::Denied, "Declined by an admin."),
        "invite.denied",
    )
    .await?;
    if community.deny_mail && state.mailer.is_some() {
        state.queue.enqueue(mail::denied_job(request_id)).await?;
    }
    Ok(())
}

/// A decision that needs no job: a pending request moves to `to` (with its status message), and
/// the audit log records who decided.
async fn decide(
    db: &Db,
    community: &Community,
    request: &db::invite_requests::InviteRequest,
    admin: &str,
    (to, message): (InviteStatus, &str),
    action: &str,
) -> Result<(), DecisionError> {
    let moved = db::invite_requests::transition(
        db,
        request.id,
        &[InviteStatus::Pending],
        to,
        message,
        None,
        Some(admin),
    )
    .await?;
    if !moved {
        return Err(DecisionError::NotPending(request.status));
    }
    db::audit::record(
        db,
        Some(&community.installation_id),
        admin,
        action,
        &request.id.to_string(),
    )
    .await?;
    Ok(())
}
