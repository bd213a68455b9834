//! The landing page: "Add to Slack" when nothing is installed, else the public communities.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::pages::{Chrome, render};
use crate::db;
use crate::db::installations::Installation;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct Landing {
    chrome: Chrome,
    workspaces: Vec<Installation>,
}

pub async fn landing(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let workspaces = db::installations::list(&state.db)
        .await?
        .into_iter()
        .filter(Installation::is_active)
        .collect();
    render(&Landing {
        chrome: Chrome::for_request(&req),
        workspaces,
    })
}
