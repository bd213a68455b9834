//! What every page shares: the chrome around it (demo banner, navigation) and how it is rendered.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::error::AppError;
use crate::state::AppState;

/// The frame of every page, filled in by `base.html`.
pub struct Chrome {
    pub demo: bool,
}

impl Chrome {
    pub fn for_request(req: &HttpRequest) -> Self {
        Chrome {
            demo: req
                .app_data::<web::Data<AppState>>()
                .is_some_and(|s| s.is_demo()),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub chrome: Chrome,
    pub title: &'a str,
    pub message: &'a str,
    pub request_id: &'a str,
}

/// Renders a page with status 200.
pub fn render(page: &impl Template) -> Result<HttpResponse, AppError> {
    render_with_status(StatusCode::OK, page)
}

pub fn render_with_status(
    status: StatusCode,
    page: &impl Template,
) -> Result<HttpResponse, AppError> {
    let html = page.render()?;
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(html))
}
