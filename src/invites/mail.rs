//! The invite pipeline's mail: the confirmation link that proves an address, and the shared
//! invite link mailed to a person where Slack has no invite API. Both are jobs; the mail is
//! rendered when the job runs, so the invite link is read (sealed) from the community then.

use askama::Template;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::db::{
    self,
    communities::{Community, LINK_WARNED_USES},
    invite_requests::InviteRequest,
    mails::MailRecord,
};
use crate::domain::{ChannelId, InviteStatus, UserId};
use crate::i18n::Lang;
use crate::installation_tokens as tokens;
use crate::jobs::{Job, JobKind, NewJob, Outcome};
use crate::mail::{Mailer, OutgoingMail, SendError};
use crate::state::AppState;
use crate::vault::{Aad, Sealer};

use FinishKind::{Permanent, Transient};

pub const CONFIRM_JOB: &str = "invite.mail_confirm";
pub const LINK_JOB: &str = "invite.mail_link";
pub const LINK_WARNING_JOB: &str = "invite.link_warning";
pub const DENIED_JOB: &str = "invite.mail_denied";

/// A mail is tried this many times (4xx answers, dropped connections) before it is given up.
pub const MAIL_ATTEMPTS: i64 = 8;

/// Slack lets this many people join through one shared link.
pub const LINK_MAX_USES: i64 = 400;
/// Admins are warned when the link has been handed out this many times.
pub const LINK_WARN_USES: i64 = 350;
/// ... and this long before it expires.
pub const LINK_WARN_BEFORE_EXPIRY_SECS: i64 = 3 * 24 * 60 * 60;

/// Where the confirmation token travels sealed inside its job (the row is the request id).
fn token_aad(request_id: &str) -> Aad<'_> {
    Aad {
        table: "jobs",
        column: "confirm_token",
        row: request_id,
    }
}

/// The `invite.mail_confirm` job: the confirmation link's token, sealed.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct MailConfirm {
    pub request_id: i64,
    pub token: String,
}

impl JobKind for MailConfirm {
    const KIND: &'static str = CONFIRM_JOB;
}

/// The `invite.mail_denied` job.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct MailDenied {
    pub request_id: i64,
}

impl JobKind for MailDenied {
    const KIND: &'static str = DENIED_JOB;
}

/// The `invite.mail_link` job, and the Slack message to update once the mail went out.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct MailLink {
    pub request_id: i64,
    #[serde(default)]
    pub slack_message: Option<SlackMessage>,
}

impl JobKind for MailLink {
    const KIND: &'static str = LINK_JOB;
}

/// The `invite.link_warning` job: which threshold of which community's link.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct LinkWarning {
    pub community_id: i64,
    pub which: i64,
}

impl JobKind for LinkWarning {
    const KIND: &'static str = LINK_WARNING_JOB;
}

/// The job that mails `token`'s confirmation link for `request_id`; the token is sealed in the payload.
/// The sealer is taken before the request's id is known (see `invites::recorder`).
pub fn confirm_job(sealer: &Sealer, request_id: i64, token: &str) -> NewJob<'static> {
    let token = sealer.seal_str(token, &token_aad(&request_id.to_string()));
    MailConfirm { request_id, token }
        .job()
        .max_attempts(MAIL_ATTEMPTS)
}

pub fn denied_job(request_id: i64) -> NewJob<'static> {
    MailDenied { request_id }.job().max_attempts(MAIL_ATTEMPTS)
}

pub fn link_job(request_id: i64) -> NewJob<'static> {
    link_job_for(request_id, None)
}

/// The Slack approval message to update once the invite mail went out (or was refused).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SlackMessage {
    pub response_url: String,
    /// Who clicked Approve.
    pub user_id: UserId,
}

pub fn link_job_for(request_id: i64, slack_message: Option<SlackMessage>) -> NewJob<'static> {
    MailLink {
        request_id,
        slack_message,
    }
    .job()
    .max_attempts(MAIL_ATTEMPTS)
}

/// Replaces the approval message in Slack with what became of the mail (best effort: the
/// request's status already says it).
async fn update_slack_message(
    state: &AppState,
    message: Option<&SlackMessage>,
    request: &InviteRequest,
    sent: &Result<String, SendError>,
    attempt: i64,
) {
    let last = attempt >= MAIL_ATTEMPTS;
    let Some(message) = message else {
        return;
    };
    let who = crate::slack::mrkdwn::escape(&request.email);
    let text = match sent {
        Ok(_) => format!(
            "✅ Approved by <@{}>; the invite link was mailed to {who}.",
            message.user_id
        ),
        Err(SendError::Permanent(reason)) => format!(
            "⚠️ Approved by <@{}>, but the invite mail to {who} was refused: {}",
            message.user_id,
            crate::slack::mrkdwn::escape(reason)
        ),
        Err(SendError::Transient(reason)) if last => format!(
            "⚠️ Approved by <@{}>, but the invite mail to {who} could not be sent: {}",
            message.user_id,
            crate::slack::mrkdwn::escape(reason)
        ),
        // Said once, so the buttons do not wait for the retries.
        Err(SendError::Transient(reason)) if attempt == 1 => format!(
            "✅ Approved by <@{}>; the invite mail to {who} is being retried (the mail server said: {}).",
            message.user_id,
            crate::slack::mrkdwn::escape(reason)
        ),
        Err(SendError::Transient(_)) => return,
    };
    let body = json!({ "replace_original": true, "text": text });
    if let Err(e) = crate::replies::post_response_url(state, &message.response_url, &body).await {
        tracing::warn!(request_id = request.id, error = %e, "cannot update the approval message");
    }
}

/// Why the shared link cannot be handed out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Missing,
    UsedUp,
    Expired,
}

impl LinkProblem {
    /// The request's status message while it waits.
    pub fn waiting(self) -> &'static str {
        match self {
            Self::Missing => {
                "Waiting for a shared invite link: an admin must set one in the community's settings."
            }
            Self::UsedUp => {
                "Waiting for a new invite link: the current one was handed out 400 times, Slack's limit."
            }
            Self::Expired => "Waiting for a new invite link: the current one has expired.",
        }
    }
}

/// Whether the link can be handed out now.
pub fn link_problem(community: &Community, now: i64) -> Option<LinkProblem> {
    if !community.has_invite_link {
        Some(LinkProblem::Missing)
    } else if community.invite_link_uses >= LINK_MAX_USES {
        Some(LinkProblem::UsedUp)
    } else if community.invite_link_expires_at.is_some_and(|at| at <= now) {
        Some(LinkProblem::Expired)
    } else {
        None
    }
}

/// Whether the link can be handed out now, or why not (a sentence for the request's status).
pub fn link_unusable(community: &Community, now: i64) -> Option<&'static str> {
    link_problem(community, now).map(LinkProblem::waiting)
}

#[derive(Template)]
#[template(path = "mail/confirm.txt")]
struct ConfirmText<'a> {
    lang: Lang,
    title: &'a str,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/confirm.html")]
struct ConfirmHtml<'a> {
    lang: Lang,
    title: &'a str,
    url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/invite_link.txt")]
struct LinkText<'a> {
    lang: Lang,
    title: &'a str,
    description: &'a str,
    coc_url: Option<&'a str>,
    channels: &'a [String],
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/invite_link.html")]
struct LinkHtml<'a> {
    lang: Lang,
    title: &'a str,
    description: &'a str,
    coc_url: Option<&'a str>,
    channels: &'a [String],
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/denied.txt")]
struct DeniedText<'a> {
    lang: Lang,
    title: &'a str,
}

#[derive(Template)]
#[template(path = "mail/denied.html")]
struct DeniedHtml<'a> {
    lang: Lang,
    title: &'a str,
}

/// The `invite.mail_denied` job: a polite word to a declined person (a community setting).
pub async fn run_denied(state: &AppState, job: Job) -> Outcome {
    let MailDenied { request_id } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    let (request, community, mailer) = match prepare(state, request_id, InviteStatus::Denied).await
    {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    let title = community.title.as_str();
    let lang = requester_lang(state, request.id).await;
    let mail = match to_requester(
        &request,
        &community,
        lang.t1("mail-denied-subject", "title", title),
        &DeniedText { lang, title },
        &DeniedHtml { lang, title },
    ) {
        Ok(mail) => mail,
        Err(outcome) => return outcome,
    };
    let sent = mailer.send(&mail).await;
    let message = match &sent {
        Ok(_) => "Declined by an admin; a polite mail told the person.".to_owned(),
        Err(e) => format!("Declined by an admin; the mail telling the person was not sent: {e}"),
    };
    finish(
        state,
        &request,
        &community,
        "denied",
        &sent,
        job.attempt,
        |_| (None, InviteStatus::Denied, message),
    )
    .await
}

/// A mail to the person who asked, in the community's name, from its text and HTML templates.
fn to_requester(
    request: &InviteRequest,
    community: &Community,
    subject: String,
    text: &impl Template,
    html: &impl Template,
) -> Result<OutgoingMail, Outcome> {
    let unrendered = |e: askama::Error| Outcome::fail(format!("the mail does not render: {e}"));
    Ok(OutgoingMail {
        to: request.email.clone(),
        from_name: community.title.clone(),
        subject,
        text: text.render().map_err(unrendered)?,
        html: html.render().map_err(unrendered)?,
    })
}

/// What a mail job needs: its request (still `expected`: one decided, confirmed or gone
/// meanwhile is done with), its community and the mailer.
async fn prepare(
    state: &AppState,
    request_id: i64,
    expected: InviteStatus,
) -> Result<(InviteRequest, Community, &Mailer), Outcome> {
    let request = db::invite_requests::get(&state.db, request_id)
        .await
        .map_err(|e| Outcome::retry(e.to_string()))?
        .filter(|r| r.status == expected)
        .ok_or(Outcome::Done)?;
    let community = db::communities::get(&state.db, request.community_id)
        .await
        .map_err(|e| Outcome::retry(e.to_string()))?
        .ok_or(Outcome::Done)?;
    let mailer = state
        .mailer
        .as_ref()
        .ok_or_else(|| Outcome::fail("mail is not configured any more"))?;
    Ok((request, community, mailer))
}

/// The `invite.mail_confirm` job.
pub async fn run_confirm(state: &AppState, job: Job) -> Outcome {
    let MailConfirm {
        request_id,
        token: sealed,
    } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    // Confirmed, expired or decided meanwhile: nothing to send.
    let (request, community, mailer) =
        match prepare(state, request_id, InviteStatus::Unconfirmed).await {
            Ok(loaded) => loaded,
            Err(outcome) => return outcome,
        };
    let token = match state
        .keyring
        .open_str(&sealed, &token_aad(&request.id.to_string()))
    {
        Ok(token) => token,
        Err(e) => return Outcome::fail(format!("the token does not open: {e}")),
    };
    let mut url = state
        .settings
        .url(&format!("/join/{}/confirm", community.slug));
    url.query_pairs_mut()
        .append_pair("t", token.expose_secret());
    let lang = requester_lang(state, request.id).await;
    let (title, url) = (community.title.as_str(), url.as_str());
    let mail = match to_requester(
        &request,
        &community,
        lang.t1("mail-confirm-subject", "title", title),
        &ConfirmText { lang, title, url },
        &ConfirmHtml { lang, title, url },
    ) {
        Ok(mail) => mail,
        Err(outcome) => return outcome,
    };
    let sent = mailer.send(&mail).await;
    let note = match &sent {
        Ok(_) => {
            "Confirmation mail sent; waiting for the person to confirm their address.".to_owned()
        }
        Err(SendError::Permanent(e)) => format!("The confirmation mail was refused: {e}"),
        Err(SendError::Transient(e)) => {
            format!("The confirmation mail was not sent yet (it is retried): {e}")
        }
    };
    finish(
        state,
        &request,
        &community,
        "confirm",
        &sent,
        job.attempt,
        |_| (None, InviteStatus::Unconfirmed, note),
    )
    .await
}

/// The `invite.mail_link` job: mails the shared invite link to a queued request.
pub async fn run_link(state: &AppState, job: Job) -> Outcome {
    let MailLink {
        request_id,
        slack_message,
    } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    let (request, community, mailer) = match prepare(state, request_id, InviteStatus::Queued).await
    {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    // A dead link is never sent: the request waits for an admin to set a new one.
    if let Some(reason) = link_unusable(&community, db::now()) {
        return match wait_for_link(state, &request, reason).await {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::retry(e.to_string()),
        };
    }
    // Only a valid Slack invite link is ever mailed; a bad stored one flags the community.
    let link = match super::shared_link(state, &community).await {
        Ok(Some(link)) => link,
        Ok(None) => {
            let reason = "Waiting for a shared invite link: an admin must set one in the community's settings.";
            return match wait_for_link(state, &request, reason).await {
                Ok(()) => Outcome::Done,
                Err(e) => Outcome::retry(e.to_string()),
            };
        }
        Err(e) => return Outcome::retry(e.to_string()),
    };
    let channels = channel_names(state, &community).await;
    let lang = requester_lang(state, request.id).await;
    let link_text = LinkText {
        lang,
        title: &community.title,
        description: &community.description,
        coc_url: community.coc_url.as_deref(),
        channels: &channels,
        link: link.as_str(),
    };
    let link_html = LinkHtml {
        lang,
        title: &community.title,
        description: &community.description,
        coc_url: community.coc_url.as_deref(),
        channels: &channels,
        link: link.as_str(),
    };
    let mail = match to_requester(
        &request,
        &community,
        lang.t1("mail-link-subject", "title", &community.title),
        &link_text,
        &link_html,
    ) {
        Ok(mail) => mail,
        Err(outcome) => return outcome,
    };
    let sent = mailer.send(&mail).await;
    let outcome = finish(
        state,
        &request,
        &community,
        "invite_link",
        &sent,
        job.attempt,
        |e| match e {
            None => (
                Some(InviteStatus::LinkSent),
                InviteStatus::Queued,
                "The invite link was mailed to the person.".to_owned(),
            ),
            Some(Permanent(reason)) => (
                Some(InviteStatus::Failed),
                InviteStatus::Queued,
                format!("The invite mail was refused: {reason}"),
            ),
            Some(Transient(reason)) => (
                None,
                InviteStatus::Queued,
                format!("The invite mail was not sent yet (it is retried): {reason}"),
            ),
        },
    )
    .await;
    update_slack_message(state, slack_message.as_ref(), &request, &sent, job.attempt).await;
    if sent.is_ok()
        && let Err(e) = count_use(state, &community).await
    {
        tracing::warn!(community = %community.slug, error = %e, "cannot count a use of the invite link");
    }
    outcome
}

/// How a send went, for the status the request moves to.
enum FinishKind<'a> {
    Permanent(&'a str),
    Transient(&'a str),
}

/// Records the mail and moves the request by `decide(failure)`: `(new status or none, from, message)`.
/// A transient failure on the last attempt counts as permanent.
async fn finish<'a, F>(
    state: &AppState,
    request: &InviteRequest,
    community: &Community,
    purpose: &str,
    sent: &'a Result<String, SendError>,
    attempt: i64,
    decide: F,
) -> Outcome
where
    F: FnOnce(Option<FinishKind<'a>>) -> (Option<InviteStatus>, InviteStatus, String),
{
    let last = attempt >= MAIL_ATTEMPTS;
    let kind = match sent {
        Ok(_) => None,
        Err(SendError::Permanent(reason)) => Some(Permanent(reason)),
        Err(SendError::Transient(reason)) if last => Some(Permanent(reason)),
        Err(SendError::Transient(reason)) => Some(Transient(reason)),
    };
    let final_failure = matches!(kind, Some(Permanent(_)));
    let (to, from, message) = decide(kind);
    let recorded = async {
        let mut tx = db::begin_write(&state.db).await?;
        db::invite_requests::transition(
            &mut *tx,
            request.id,
            &[from],
            to.unwrap_or(from),
            &message,
            None,
            None,
        )
        .await?;
        if sent.is_ok() || final_failure {
            db::mails::record(
                &mut *tx,
                &MailRecord {
                    community_id: Some(community.id),
                    request_id: Some(request.id),
                    purpose,
                    status: if sent.is_ok() { "sent" } else { "failed" },
                    message_id: sent.as_ref().ok().map(String::as_str),
                    error: sent.as_ref().err().map(|e| e.to_string()).as_deref(),
                },
            )
            .await?;
        }
        tx.commit().await
    }
    .await;
    if let Err(e) = recorded {
        // The mail went out; sending it again is worse than a stale status.
        tracing::error!(request_id = request.id, error = %e, "cannot record a mail");
    }
    match sent {
        Ok(_) => {
            tracing::info!(request_id = request.id, community = %community.slug, purpose, "mail sent");
            Outcome::Done
        }
        Err(e) if final_failure => Outcome::fail(e.to_string()),
        Err(e) => Outcome::retry(e.to_string()),
    }
}

async fn wait_for_link(
    state: &AppState,
    request: &InviteRequest,
    reason: &str,
) -> Result<(), sqlx::Error> {
    db::invite_requests::transition(
        &state.db,
        request.id,
        &[InviteStatus::Queued],
        InviteStatus::Pending,
        reason,
        None,
        None,
    )
    .await
    .map(|_| ())
}

/// The language the person asked in (English when it cannot be read).
async fn requester_lang(state: &AppState, request_id: i64) -> Lang {
    let lang = db::invite_requests::lang_of(&state.db, request_id)
        .await
        .unwrap_or_default();
    Lang::choose(Some(&lang), None)
}

/// The names of the community's channels, for the welcome; none when Slack cannot be asked.
async fn channel_names(state: &AppState, community: &Community) -> Vec<String> {
    let ids = community.channels();
    if ids.is_empty() {
        return Vec::new();
    }
    let Ok(token) = tokens::bot_token(state, &community.installation_id).await else {
        return Vec::new();
    };
    match state
        .slack
        .conversations_list_page(&token, None, 1000, "public_channel")
        .await
    {
        Ok(page) => page
            .items
            .into_iter()
            .filter(|c| ids.contains(&c.id.as_str()))
            .map(|c| format!("#{}", c.name))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Counts one hand-out and warns the admins once when the link nears Slack's limit.
async fn count_use(state: &AppState, community: &Community) -> Result<(), sqlx::Error> {
    let (uses, warned) = db::communities::count_invite_link_use(&state.db, community.id).await?;
    if uses >= LINK_WARN_USES && warned & LINK_WARNED_USES == 0 {
        warn_admins(state, community, LINK_WARNED_USES).await?;
    }
    Ok(())
}

/// Marks the warning given and, when the community has an admin channel, queues its message.
pub async fn warn_admins(
    state: &AppState,
    community: &Community,
    which: i64,
) -> Result<(), sqlx::Error> {
    if !db::communities::mark_invite_link_warned(&state.db, community.id, which).await? {
        return Ok(());
    }
    tracing::warn!(community = %community.slug, which, "the shared invite link needs replacing soon");
    if community.admin_channel.is_some() {
        state
            .queue
            .enqueue(
                LinkWarning {
                    community_id: community.id,
                    which,
                }
                .job()
                .max_attempts(8),
            )
            .await?;
    }
    Ok(())
}

/// What admins read about a community's link, when something needs doing; `None` when all is well.
pub fn link_health_warning(community: &Community, now: i64) -> Option<String> {
    let dead = match link_problem(community, now) {
        Some(LinkProblem::Missing) => return None,
        Some(LinkProblem::UsedUp) => Some("was handed out 400 times, Slack's limit"),
        Some(LinkProblem::Expired) => Some("has expired"),
        None => None,
    };
    if let Some(what) = dead {
        return Some(format!(
            "The shared invite link of {} {what}: requests wait for a new one. Create a new link in Slack and paste it into the community's settings.",
            community.title
        ));
    }
    if community.invite_link_uses >= LINK_WARN_USES {
        return Some(format!(
            "The shared invite link of {} was handed out {} times; Slack stops it at {LINK_MAX_USES}. Create a new link in Slack and paste it into the community's settings.",
            community.title, community.invite_link_uses
        ));
    }
    if let Some(at) = community.invite_link_expires_at
        && at - now <= LINK_WARN_BEFORE_EXPIRY_SECS
    {
        let days = ((at - now) / 86_400).max(0);
        return Some(format!(
            "The shared invite link of {} expires in {days} day(s). Create a new link in Slack and paste it into the community's settings.",
            community.title
        ));
    }
    None
}

/// The `invite.link_warning` job: tells the admin channel, once per threshold.
pub async fn run_link_warning(state: &AppState, job: Job) -> Outcome {
    let LinkWarning { community_id, .. } = match job.decode() {
        Ok(payload) => payload,
        Err(outcome) => return outcome,
    };
    let community = match db::communities::get(&state.db, community_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::retry(e.to_string()),
    };
    let (Some(channel), Some(text)) = (
        community.admin_channel.as_ref().map(ChannelId::as_str),
        link_health_warning(&community, db::now()),
    ) else {
        return Outcome::Done;
    };
    let token = match tokens::bot_token(state, &community.installation_id).await {
        Ok(token) => token,
        Err(e) => return Outcome::fail(e.to_string()),
    };
    let message = json!({
        "channel": channel,
        "text": format!(":warning: {}", crate::slack::mrkdwn::escape(&text)),
    });
    let posted = state
        .slack
        .chat_post_message(&token, &message)
        .await
        .map(|_| ());
    if let Err(e) = &posted {
        tokens::note_failure(state, &community.installation_id, e).await;
    }
    crate::replies::outcome_of(posted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requester_mails_speak_the_language_they_asked_in() {
        let de = Lang::choose(Some("de"), None);
        let text = ConfirmText {
            lang: de,
            title: "Rust",
            url: "https://lobby.example.org/join/rust/confirm?t=x",
        }
        .render()
        .unwrap();
        assert!(text.starts_with("Hallo,"), "{text}");
        assert!(text.contains("Rust auf Slack beitreten"), "{text}");
        let html = DeniedHtml {
            lang: Lang::choose(Some("ja"), None),
            title: "Rust",
        }
        .render()
        .unwrap();
        assert!(html.contains("<html lang=\"ja\">"), "{html}");
        let english = LinkText {
            lang: Lang::default(),
            title: "Rust",
            description: "",
            coc_url: None,
            channels: &[],
            link: "https://join.slack.com/t/x",
        }
        .render()
        .unwrap();
        assert!(english.starts_with("Welcome to Rust!"), "{english}");
    }
}
