//! The audit log of the admin's workspaces, newest first, a page at a time.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::layout::{Nav, Section};
use super::views::AuditRow;
use crate::admin::Admin;
use crate::db;
use crate::error::AppError;
use crate::routes::pages::{Chrome, render};
use crate::state::AppState;

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    nav: Nav,
    entries: Vec<AuditRow>,
    next: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// `GET /admin/audit`
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let entries = db::admin_audit::page(&state.db, &admin.teams, query.before, PAGE).await?;
    let next = (entries.len() as i64 == PAGE)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    render(&AuditPage {
        chrome: Chrome::for_request(&req),
        nav: Nav::new(&admin, Section::Audit),
        entries: AuditRow::load_all(&state, entries).await,
        next,
    })
}
