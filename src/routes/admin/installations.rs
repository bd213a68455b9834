//! Installations: scopes, token expiry and the last problem; removal after a confirmation.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::extract::AdminForm;
use super::layout::{Nav, Section, notice, see_other};
use super::login::NoFields;
use super::views::InstallationView;
use crate::admin::Admin;
use crate::admin::removal::{self, RemovalError};
use crate::db;
use crate::domain::TeamId;
use crate::error::AppError;
use crate::routes::pages::{Chrome, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/installations.html")]
struct ListPage {
    chrome: Chrome,
    nav: Nav,
    notice: Option<&'static str>,
    installations: Vec<InstallationView>,
}

#[derive(Template)]
#[template(path = "admin/remove_installation.html")]
struct ConfirmPage {
    chrome: Chrome,
    nav: Nav,
    installation: InstallationView,
    communities: usize,
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /admin/installations`
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let mut installations = Vec::new();
    for team in &admin.teams {
        if let Some(i) = db::installations::get(&state.db, team).await? {
            installations.push(InstallationView::load(&state, i).await);
        }
    }
    render(&ListPage {
        chrome: Chrome::for_request(&req),
        nav: Nav::new(&admin, Section::Installations),
        notice: notice(query.notice.as_deref()),
        installations,
    })
}

/// `GET /admin/installations/{id}/remove`: says what removal does, with the button that does it.
pub async fn confirm_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // An id that does not parse is no installation this admin manages.
    let id = TeamId::parse(&id).map_err(|_| AppError::NotFound)?;
    if !admin.manages(&id) {
        return Err(AppError::NotFound);
    }
    let installation = db::installations::get(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let communities = db::communities::for_installation(&state.db, &id)
        .await?
        .len();
    render(&ConfirmPage {
        chrome: Chrome::for_request(&req),
        nav: Nav::new(&admin, Section::Installations),
        installation: InstallationView::load(&state, installation).await,
        communities,
    })
}

/// `POST /admin/installations/{id}/remove`
pub async fn remove(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: AdminForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = TeamId::parse(&id).map_err(|_| AppError::NotFound)?;
    if !form.admin.manages(&id) {
        return Err(AppError::NotFound);
    }
    match removal::remove(&state, &id, form.admin.actor()).await {
        Ok(()) => Ok(see_other("/admin/installations?notice=removed")),
        Err(RemovalError::NotFound) => Err(AppError::NotFound),
        Err(e @ RemovalError::SlackUnreachable) => Err(AppError::BadGateway(e.to_string())),
        Err(e) => Err(AppError::internal(e)),
    }
}
