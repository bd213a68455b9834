//! The one error type handlers return. Each variant knows its status, title and what a person may
//! be told; `middleware::render_error` renders it as the site's error page (or JSON for machines) with
//! the request id. Internals go to the log, never to the response.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::i18n::Lang;

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
    /// A refusal a visitor of the public pages may read: its words are the catalogs' message
    /// `key` (locales/*.ftl), so the page speaks the visitor's language.
    #[error("refused ({status}): {key}")]
    Refused {
        status: StatusCode,
        key: &'static str,
    },
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

    /// A refusal whose words are the catalogs' message `key`.
    pub fn refused(status: StatusCode, key: &'static str) -> Self {
        AppError::Refused { status, key }
    }

    pub fn title(&self) -> String {
        title_in(self.status_code(), Lang::default())
    }

    /// What the person (or program) on the other end may be told, in English.
    pub fn public_message(&self) -> String {
        self.message_in(Lang::default())
    }

    /// What a person may be told, in `lang` where the words are in the catalogs (the dashboard's
    /// own refusals are written in English, which it speaks).
    pub fn message_in(&self, lang: Lang) -> String {
        match self {
            AppError::NotFound => lang.t("error-not-found"),
            AppError::BadRequest(m)
            | AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::PayloadTooLarge(m) => m.clone(),
            AppError::TooManyRequests { retry_after } => lang.count(
                "error-too-many",
                &i64::try_from(retry_after.as_secs().max(1)).unwrap_or(i64::MAX),
            ),
            AppError::Refused { key, .. } => lang.t(key),
            AppError::BadGateway(_) => lang.t("error-bad-gateway"),
            AppError::Internal(_) => lang.t("error-internal"),
        }
    }

    /// A short machine-readable code for JSON answers.
    pub fn code(&self) -> &'static str {
        code_for(self.status_code())
    }
}

/// The title of the error page for `status`, in `lang`.
pub fn title_in(status: StatusCode, lang: Lang) -> String {
    let key = match status.as_u16() {
        400 => "error-title-400",
        401 => "error-title-401",
        403 => "error-title-403",
        404 => "error-title-404",
        405 => "error-title-405",
        409 => "error-title-409",
        413 => "error-title-413",
        415 => "error-title-415",
        429 => "error-title-429",
        502 => "error-title-502",
        s if s >= 500 => "error-title-500",
        _ => "error-title-other",
    };
    lang.t(key)
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
            AppError::Refused { status, .. } => *status,
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

    #[test]
    fn refusals_speak_the_visitors_language() {
        let err = AppError::refused(StatusCode::FORBIDDEN, "error-form-not-verified");
        assert_eq!(err.status_code(), StatusCode::FORBIDDEN);
        let german = Lang::choose(Some("de"), None);
        assert_ne!(err.message_in(german), err.public_message());
        assert_eq!(
            title_in(StatusCode::NOT_FOUND, german),
            "Seite nicht gefunden"
        );
        assert_eq!(AppError::NotFound.title(), "Page not found");
    }
}
