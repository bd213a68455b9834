//! API keys: create (the key is shown once, only its hash is stored) and revoke.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::extract::AdminForm;
use super::layout::{Nav, Section, notice, see_other};
use crate::admin::Admin;
use crate::admin::display::when;
use crate::admin::names::{self, Named};
use crate::api_keys;
use crate::db;
use crate::domain::TeamId;
use crate::error::AppError;
use crate::routes::pages::{Chrome, render};
use crate::state::AppState;

const MAX_NAME: usize = 80;

struct KeyRow {
    id: i64,
    team: String,
    /// The workspace and the creator by name (ids in tooltips).
    workspace: Named,
    creator: Named,
    name: String,
    prefix: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct ListPage {
    chrome: Chrome,
    nav: Nav,
    notice: Option<&'static str>,
    keys: Vec<KeyRow>,
    teams: Vec<Named>,
}

#[derive(Template)]
#[template(path = "admin/key_created.html")]
struct CreatedPage {
    chrome: Chrome,
    nav: Nav,
    name: String,
    key: String,
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NewKey {
    team: String,
    name: String,
}

#[derive(Debug, Deserialize)]
pub struct RevokeKey {
    team: String,
}

/// `GET /admin/keys`
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse, AppError> {
    let mut keys = Vec::new();
    for team in &admin.teams {
        for k in db::api_keys::list(&state.db, team).await? {
            let workspace = Named::new(team.as_str(), names::workspace(&state, team, team).await);
            let creator = Named::new(
                &k.created_by,
                names::person(&state, team, &k.created_by).await,
            );
            keys.push(KeyRow {
                workspace,
                creator,
                id: k.id,
                team: k.team_id.to_string(),
                name: k.name,
                prefix: k.prefix,
                created: when(k.created_at),
                last_used: k.last_used_at.map(when).unwrap_or_else(|| "never".into()),
                revoked: k.revoked_at.map(when),
            });
        }
    }
    render(&ListPage {
        chrome: Chrome::for_request(&req),
        nav: Nav::new(&admin, Section::Keys),
        notice: notice(query.notice.as_deref()),
        keys,
        teams: workspaces(&state, &admin).await,
    })
}

/// The admin's workspaces by name, for the create form.
async fn workspaces(state: &AppState, admin: &Admin) -> Vec<Named> {
    let mut out = Vec::with_capacity(admin.teams.len());
    for team in &admin.teams {
        out.push(Named::new(
            team.as_str(),
            names::workspace(state, team, team).await,
        ));
    }
    out
}

/// `POST /admin/keys`: the only response that ever contains the key.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: AdminForm<NewKey>,
) -> Result<HttpResponse, AppError> {
    let admin = &form.admin;
    let new = &form.fields;
    // An id that does not parse is no workspace this admin manages.
    let team = TeamId::parse(&new.team).map_err(|_| AppError::NotFound)?;
    if !admin.manages(&team) {
        return Err(AppError::NotFound);
    }
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AppError::bad_request(format!(
            "Give the key a name of at most {MAX_NAME} characters, to know later what uses it."
        )));
    }
    let created = api_keys::create(&state.db, &team, name, admin.actor())
        .await
        .map_err(AppError::internal)?;
    db::audit::record(
        &state.db,
        Some(&team),
        admin.actor(),
        "api_key.created",
        &format!("{name} (#{})", created.id),
    )
    .await?;
    render(&CreatedPage {
        chrome: Chrome::for_request(&req),
        nav: Nav::new(admin, Section::Keys),
        name: name.to_owned(),
        key: created.key.expose_secret().to_owned(),
    })
}

/// `POST /admin/keys/{id}/revoke`
pub async fn revoke(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: AdminForm<RevokeKey>,
) -> Result<HttpResponse, AppError> {
    let admin = &form.admin;
    let team = &TeamId::parse(&form.fields.team).map_err(|_| AppError::NotFound)?;
    let id = id.into_inner();
    if !admin.manages(team) || !db::api_keys::revoke(&state.db, team, id).await? {
        return Err(AppError::NotFound);
    }
    db::audit::record(
        &state.db,
        Some(team),
        admin.actor(),
        "api_key.revoked",
        &format!("#{id}"),
    )
    .await?;
    Ok(see_other("/admin/keys?notice=revoked"))
}
