//! Invite requests: one queue over every community the admin manages (or one community's),
//! pending requests first, filtered by status or email, a page at a time (keyset by id); approve,
//! deny, retry, and approve several at once — all through `invites`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::extract::AdminForm;
use super::layout::{Nav, Section, notice, see_other};
use crate::admin::Admin;
use crate::admin::display::when;
use crate::db::{self, communities::Community};
use crate::domain::{InviteLink, InviteStatus};
use crate::error::AppError;
use crate::invites::{self, Approved, DecisionError};
use crate::routes::pages::{Chrome, render, render_with_status};
use crate::state::AppState;

const PAGE: i64 = 50;

/// How many ids one bulk approval takes.
const BULK_LIMIT: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    community: Option<i64>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    email: String,
    before: Option<i64>,
    /// The cursor is in the requests after the pending ones.
    #[serde(default)]
    rest: bool,
    notice: Option<String>,
    approved: Option<u32>,
    skipped: Option<u32>,
}

struct Row {
    id: i64,
    /// The community's title, when the page lists several.
    community: Option<String>,
    email: String,
    name: String,
    status: InviteStatus,
    message: String,
    created: String,
    can_decide: bool,
    can_retry: bool,
}

#[derive(Template)]
#[template(path = "admin/requests.html")]
struct ListPage {
    chrome: Chrome,
    nav: Nav,
    notice: Option<String>,
    communities: Vec<Community>,
    community: Option<Community>,
    statuses: [InviteStatus; 11],
    /// How many requests each status has (in the communities shown), for the filter links.
    counts: Vec<StatusCount>,
    total: i64,
    status: String,
    email: String,
    rows: Vec<Row>,
    /// Some row can be approved (the bulk button shows only then).
    any_pending: bool,
    next: Option<String>,
    back: String,
}

struct StatusCount {
    status: InviteStatus,
    count: i64,
    href: String,
}

#[derive(Template)]
#[template(path = "admin/share_link.html")]
struct ShareLinkPage {
    chrome: Chrome,
    nav: Nav,
    email: String,
    link: String,
    back: String,
}

/// An approval that failed: a page saying what is missing and linking to the community's
/// settings, or the usual error for anything else.
fn cannot_deliver(
    req: &HttpRequest,
    admin: &Admin,
    e: DecisionError,
    back: &Return,
) -> Result<HttpResponse, AppError> {
    let settings = match &e {
        DecisionError::NoRoute { settings, .. } | DecisionError::DeadLink { settings, .. } => {
            settings.clone()
        }
        _ => return Err(decision_error(e)),
    };
    render_with_status(
        StatusCode::CONFLICT,
        &CannotDeliverPage {
            chrome: Chrome::for_request(req),
            nav: Nav::new(admin, Section::Requests),
            message: e.to_string(),
            settings,
            back: back.path(""),
        },
    )
}

/// Approval found nothing to deliver with: what is missing, and where to fix it.
#[derive(Template)]
#[template(path = "admin/cannot_deliver.html")]
struct CannotDeliverPage {
    chrome: Chrome,
    nav: Nav,
    message: String,
    settings: String,
    back: String,
}

/// The filter the page was showing, carried through a decision so the admin comes back to it.
#[derive(Debug, Default, Deserialize)]
pub struct Return {
    community: Option<i64>,
    #[serde(default)]
    status: String,
}

impl Return {
    fn path(&self, extra: &str) -> String {
        let mut url = String::from("/admin/requests?");
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(c) = self.community {
            q.append_pair("community", &c.to_string());
        }
        if InviteStatus::parse(&self.status).is_ok() {
            q.append_pair("status", &self.status);
        }
        url.push_str(&q.finish());
        if !extra.is_empty() {
            url.push('&');
            url.push_str(extra);
        }
        url
    }
}

async fn communities_of(state: &AppState, admin: &Admin) -> Result<Vec<Community>, AppError> {
    let mut out = Vec::new();
    for team in &admin.teams {
        out.extend(db::communities::for_installation(&state.db, team).await?);
    }
    Ok(out)
}

fn notice_for(query: &ListQuery) -> Option<String> {
    if let Some(approved) = query.approved {
        let skipped = query.skipped.unwrap_or(0);
        return Some(match skipped {
            0 => format!("Approved {approved} requests."),
            n => format!(
                "Approved {approved} requests; {n} could not be approved (no longer pending, or the community cannot deliver invites)."
            ),
        });
    }
    notice(query.notice.as_deref()).map(str::to_owned)
}

/// `GET /admin/requests`: every community's requests (or one's), pending ones first.
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, AppError> {
    // Read by hand so a stray parameter is a clear 400 rather than an extractor's message.
    let query: ListQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| AppError::bad_request("The address has a malformed query string."))?;
    let communities = communities_of(&state, &admin).await?;
    let community = match query.community {
        Some(id) => Some(
            communities
                .iter()
                .find(|c| c.id == id)
                .cloned()
                .ok_or(AppError::NotFound)?,
        ),
        None => None,
    };
    let status = match query.status.as_str() {
        "" => None,
        s => Some(InviteStatus::parse(s).map_err(AppError::BadRequest)?),
    };
    let email = query.email.trim().to_owned();
    let shown: Vec<i64> = match &community {
        Some(c) => vec![c.id],
        None => communities.iter().map(|c| c.id).collect(),
    };
    let found = queue(&state, &shown, status, &email, &query).await?;
    let link = |status: &str, before: Option<(i64, bool)>| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(c) = &community {
            q.append_pair("community", &c.id.to_string());
        }
        q.append_pair("status", status);
        if !email.is_empty() {
            q.append_pair("email", &email);
        }
        if let Some((id, rest)) = before {
            q.append_pair("before", &id.to_string());
            if rest {
                q.append_pair("rest", "1");
            }
        }
        format!("/admin/requests?{}", q.finish())
    };
    let next = found.next.map(|cursor| link(&query.status, Some(cursor)));
    let counted = db::admin_requests::status_counts(&state.db, &shown).await?;
    let counts: Vec<StatusCount> = InviteStatus::ALL
        .into_iter()
        .filter_map(|status| {
            let count = counted
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map(|(_, n)| *n)?;
            Some(StatusCount {
                status,
                count,
                href: link(status.as_str(), None),
            })
        })
        .collect();
    let title_of = |id: i64| {
        communities
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.title.clone())
    };
    let rows = found
        .rows
        .into_iter()
        .map(|r| Row {
            can_decide: r.status == InviteStatus::Pending,
            // A pending request waits for a decision, not for Slack: only a failure is retried.
            can_retry: r.status == InviteStatus::Failed,
            community: community
                .is_none()
                .then(|| title_of(r.community_id))
                .flatten(),
            id: r.id,
            email: r.email,
            name: r.name,
            status: r.status,
            message: r.status_message,
            created: when(r.created_at),
        })
        .collect::<Vec<Row>>();
    render(&ListPage {
        any_pending: rows.iter().any(|r| r.can_decide),
        chrome: Chrome::for_request(&req),
        nav: Nav::new(&admin, Section::Requests),
        notice: notice_for(&query),
        back: Return {
            community: community.as_ref().map(|c| c.id),
            status: query.status.clone(),
        }
        .path(""),
        total: counts.iter().map(|c| c.count).sum(),
        counts,
        communities,
        community,
        statuses: InviteStatus::ALL,
        status: query.status,
        email,
        rows,
        next,
    })
}

struct Found {
    rows: Vec<db::invite_requests::InviteRequest>,
    /// Where the next page starts: an id, and whether it is past the pending requests.
    next: Option<(i64, bool)>,
}

/// One page of the queue. Without a status filter the pending requests come first, then the
/// rest, each newest first; the cursor says which of the two the next page continues.
async fn queue(
    state: &AppState,
    communities: &[i64],
    status: Option<InviteStatus>,
    email: &str,
    query: &ListQuery,
) -> Result<Found, AppError> {
    use db::admin_requests::QueueFilter;
    let email_prefix = Some(email).filter(|e| !e.is_empty());
    let db = &state.db;
    if status.is_some() || query.rest {
        let rows = db::admin_requests::queue_page(
            db,
            communities,
            &QueueFilter {
                status,
                not_pending: status.is_none(),
                email_prefix,
                before_id: query.before,
            },
            PAGE,
        )
        .await?;
        let next = full_page(&rows, PAGE).map(|id| (id, status.is_none()));
        return Ok(Found { rows, next });
    }
    let mut rows = db::admin_requests::queue_page(
        db,
        communities,
        &QueueFilter {
            status: Some(InviteStatus::Pending),
            email_prefix,
            before_id: query.before,
            ..QueueFilter::default()
        },
        PAGE,
    )
    .await?;
    if let Some(id) = full_page(&rows, PAGE) {
        return Ok(Found {
            rows,
            next: Some((id, false)),
        });
    }
    let room = PAGE - rows.len() as i64;
    let rest = db::admin_requests::queue_page(
        db,
        communities,
        &QueueFilter {
            not_pending: true,
            email_prefix,
            ..QueueFilter::default()
        },
        room,
    )
    .await?;
    let next = full_page(&rest, room).map(|id| (id, true));
    rows.extend(rest);
    Ok(Found { rows, next })
}

/// The last id of a full page (there may be more), else `None`.
fn full_page(rows: &[db::invite_requests::InviteRequest], limit: i64) -> Option<i64> {
    (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
}

/// A request id the admin may decide on; anything else is 404.
async fn check_scope(state: &AppState, admin: &Admin, id: i64) -> Result<(), AppError> {
    db::admin_requests::installation_of(&state.db, id, &admin.teams)
        .await?
        .map(|_| ())
        .ok_or(AppError::NotFound)
}

fn decision_error(e: DecisionError) -> AppError {
    match e {
        DecisionError::NotFound => AppError::NotFound,
        DecisionError::Storage(e) => AppError::internal(e),
        other @ (DecisionError::NotPending(_)
        | DecisionError::NoRoute { .. }
        | DecisionError::DeadLink { .. }) => AppError::Conflict(other.to_string()),
    }
}

/// `POST /admin/requests/{id}/{approve|deny|retry}`
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
    form: AdminForm<Return>,
) -> Result<HttpResponse, AppError> {
    let (id, decision) = path.into_inner();
    let admin = &form.admin;
    check_scope(&state, admin, id).await?;
    let done = match decision.as_str() {
        "approve" => match invites::approve(&state, id, admin.actor()).await {
            Ok(Approved::Queued) => "approved",
            Ok(Approved::Mailing) => "mailing",
            Ok(Approved::ShareLink(link)) => {
                return share_link_page(&req, &state, admin, id, &link, &form.fields).await;
            }
            Err(e) => return cannot_deliver(&req, admin, e, &form.fields),
        },
        "deny" => {
            invites::deny(&state, id, admin.actor())
                .await
                .map_err(decision_error)?;
            "denied"
        }
        "retry" => {
            invites::retry(&state, id, admin.actor())
                .await
                .map_err(decision_error)?;
            "retried"
        }
        _ => return Err(AppError::NotFound),
    };
    Ok(see_other(&form.fields.path(&format!("notice={done}"))))
}

/// Approval without an API route: the admin passes the shared invite link on, so show it once.
async fn share_link_page(
    req: &HttpRequest,
    state: &AppState,
    admin: &Admin,
    id: i64,
    link: &InviteLink,
    back: &Return,
) -> Result<HttpResponse, AppError> {
    let email = db::invite_requests::get(&state.db, id)
        .await?
        .map(|r| r.email)
        .unwrap_or_default();
    render_with_status(
        StatusCode::OK,
        &ShareLinkPage {
            chrome: Chrome::for_request(req),
            nav: Nav::new(admin, Section::Requests),
            email,
            link: link.as_str().to_owned(),
            back: back.path(""),
        },
    )
}

/// `POST /admin/requests/approve`: approves every ticked request (`ids`) the admin may decide on.
pub async fn bulk_approve(
    state: web::Data<AppState>,
    form: AdminForm<Return>,
) -> Result<HttpResponse, AppError> {
    let admin = &form.admin;
    let ids: Vec<i64> = form
        .all("ids")
        .map(|v| {
            v.parse()
                .map_err(|_| AppError::bad_request("A selected request id is not a number."))
        })
        .collect::<Result<_, _>>()?;
    if ids.len() > BULK_LIMIT {
        return Err(AppError::bad_request(format!(
            "Approve at most {BULK_LIMIT} requests at a time."
        )));
    }
    let (mut approved, mut skipped) = (0u32, 0u32);
    for id in ids {
        if check_scope(&state, admin, id).await.is_err() {
            skipped += 1;
            continue;
        }
        match invites::approve(&state, id, admin.actor()).await {
            Ok(_) => approved += 1,
            Err(DecisionError::Storage(e)) => return Err(AppError::internal(e)),
            Err(_) => skipped += 1,
        }
    }
    Ok(see_other(
        &form
            .fields
            .path(&format!("approved={approved}&skipped={skipped}")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_path_keeps_only_a_known_status() {
        let back = Return {
            community: Some(7),
            status: "pending".into(),
        };
        assert_eq!(
            back.path("notice=approved"),
            "/admin/requests?community=7&status=pending&notice=approved"
        );
        let odd = Return {
            community: None,
            status: "x&y=z".into(),
        };
        assert_eq!(odd.path(""), "/admin/requests?");
    }
}
