//! The one error type handlers return. Each variant knows its status, title and what a person may
//! be told; `middleware::render_error` renders it as the site's error page (or JSON for machines) with
//! the request id. Internals go to the log, never to the response.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("too many requests")]
    TooManyRequests { retry_after: Duration },
    /// Slack (or another upstream) could not be reached or answered nonsense.
    #[error("bad gateway: {0}")]
    BadGateway(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::BadRequest(message.into())
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(error.into())
    }

    pub fn title(&self) -> &'static str {
        title_for(self.status_code())
    }

    /// What the person (or program) on the other end may be told.
    pub fn public_message(&self) -> String {
        match self {
            AppError::NotFound => "There is nothing at this address.".into(),
            AppError::BadRequest(m)
            | AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::PayloadTooLarge(m) => m.clone(),
            AppError::TooManyRequests { retry_after } => format!(
                "Too many requests. Please try again in {} seconds.",
                retry_after.as_secs().max(1)
            ),
            AppError::BadGateway(_) => {
                "Slack could not be reached. Please try again in a moment.".into()
            }
            AppError::Internal(_) => "Something went wrong on our side. It has been logged.".into(),
        }
    }

    /// A short machine-readable code for JSON answers.
    pub fn code(&self) -> &'static str {
        code_for(self.status_code())
    }
}

pub fn title_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "That request did not make sense",
        401 => "Not signed in",
        403 => "Not allowed",
        404 => "Page not found",
        405 => "Method not allowed",
        409 => "Conflict",
        413 => "Too large",
        415 => "Unsupported content type",
        429 => "Slow down",
        502 => "Slack did not answer",
        s if s >= 500 => "Something went wrong",
        _ => "That did not work",
    }
}

pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        502 => "bad_gateway",
        s if s >= 500 => "internal_error",
        _ => "error",
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A plain answer; the error-page middleware replaces it with the rendered page or JSON.
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        if let AppError::TooManyRequests { retry_after } = self {
            res.insert_header(("Retry-After", retry_after.as_secs().max(1).to_string()));
        }
        res.content_type("text/plain; charset=utf-8")
            .body(self.public_message())
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(e.into())
    }
}

/// A submission that was not recorded: a community without its invite link is a conflict the
/// person can wait out; the rest is ours.
impl From<crate::invites::SubmitError> for AppError {
    fn from(e: crate::invites::SubmitError) -> Self {
        match e {
            crate::invites::SubmitError::NoInviteLink => AppError::Conflict(e.to_string()),
            other => AppError::internal(other),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_tell_nothing_internal() {
        let err = AppError::internal(anyhow::anyhow!("disk /var/lib/secret is full"));
        assert_eq!(err.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.public_message().contains("secret"));
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let err = AppError::TooManyRequests {
            retry_after: Duration::from_secs(30),
        };
        let res = err.error_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers().get("retry-after").unwrap(), "30");
    }
}
