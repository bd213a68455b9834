//! `POST /slack/events`: the one Request URL for the Events API, slash commands and interactivity.
//!
//! The signature is checked on the raw bytes before anything is parsed; a request that fails gets
//! 401 JSON and has no effect.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use crate::error::AppError;
use crate::install;
use crate::slack::signature::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::state::AppState;

pub async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    signature::verify(
        &state.credentials.signing_secret,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        crate::db::now(),
    )
    .map_err(|e| AppError::Unauthorized(e.to_string()))?;

    let is_json = header(CONTENT_TYPE.as_str()).is_some_and(|c| c.starts_with("application/json"));
    if !is_json {
        // Slash commands, interactivity and ssl_check arrive as forms; they are acknowledged
        // here and handled by the Slack-side features.
        return Ok(HttpResponse::Ok().finish());
    }
    let envelope: Value = serde_json::from_slice(&body)
        .map_err(|_| AppError::bad_request("The body is not JSON."))?;
    match envelope["type"].as_str() {
        Some("url_verification") => {
            let challenge = envelope["challenge"].as_str().unwrap_or_default();
            Ok(HttpResponse::Ok().json(json!({ "challenge": challenge })))
        }
        Some("event_callback") => {
            install::handle_lifecycle_event(&state, &envelope).await?;
            Ok(HttpResponse::Ok().finish())
        }
        _ => Ok(HttpResponse::Ok().finish()),
    }
}
