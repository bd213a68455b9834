//! The landing page: "Add to Slack" when nothing is installed, else the public communities.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::pages::{Chrome, render};
use crate::db;
use crate::db::communities::Community;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct Landing {
    chrome: Chrome,
    installed: bool,
    communities: Vec<Community>,
}

pub async fn landing(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let installed = db::installations::count_active(&state.db).await? > 0;
    let communities = db::communities::list_public(&state.db).await?;
    render(&Landing {
        chrome: Chrome::public(&req),
        installed,
        communities,
    })
}
