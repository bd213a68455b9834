//! Rendering the emulator's pages.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

/// A page explaining why a request was refused.
#[derive(Template)]
#[template(path = "emulator/error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: String,
}

/// The emulator's pages carry their styles inline and their forms redirect to the app (another
/// origin when the emulator runs on its own), so they set their own policy; mounted in demo mode,
/// the app's security headers keep it.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; \
                        frame-ancestors 'none'; base-uri 'none'";

/// Renders a page with `status`; a template failure becomes a bare 500 rather than a panic.
pub fn render(page: &impl Template, status: StatusCode) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((actix_web::http::header::CONTENT_SECURITY_POLICY, PAGE_CSP))
            .body(html),
        Err(err) => {
            tracing::error!(error = %err, "emulator page failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain")
                .body("the page could not be rendered")
        }
    }
}

pub fn bad_request(title: &str, message: impl Into<String>) -> HttpResponse {
    render(
        &ErrorPage {
            title,
            message: message.into(),
        },
        StatusCode::BAD_REQUEST,
    )
}
