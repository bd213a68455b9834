//! The layers every response passes through: a request id and its tracing span, the security
//! headers, and the rendering of errors as the site's error page (or JSON for machines).

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, web};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::{AppError, code_for, title_for};
use crate::metrics;
use crate::routes::pages::{Chrome, ErrorPage};
use crate::state::AppState;

/// A random id per request: in every log line of the request, on error pages and in `X-Request-Id`.
#[derive(Debug, Clone, Copy)]
pub struct RequestId(pub Uuid);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.simple().fmt(f)
    }
}

pub fn request_id(req: &HttpRequest) -> Option<RequestId> {
    req.extensions().get::<RequestId>().copied()
}

const SLACK_EVENTS_ROUTE: &str = "/slack/events";

/// Opens a span per request. Only the path is logged: query strings carry OAuth codes and states.
/// `route` is the matched pattern (`/join/{slug}`), the same in the logs as in the metrics;
/// `team_id` is filled in by [`record_team_id`] once a handler knows the workspace.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = RequestId(Uuid::new_v4());
    req.extensions_mut().insert(id);
    // Metrics: routing has not happened yet, but the pattern can already be looked up.
    let route = req
        .match_pattern()
        .unwrap_or_else(|| metrics::UNMATCHED_ROUTE.to_owned());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        route = %route,
        path = %req.path(),
        team_id = tracing::field::Empty,
    );
    let started = Instant::now();
    async move {
        let mut res = next.call(req).await?;
        let status = res.status().as_u16();
        let latency = started.elapsed();
        let latency_ms = latency.as_secs_f64() * 1000.0;
        // Slack's acks can come tens of thousands a second, and a line each was the largest cost
        // of an ack: accepted ones are logged at debug (and counted in the metrics); refusals stay.
        if status < 400 && route == SLACK_EVENTS_ROUTE {
            tracing::debug!(status, latency_ms, "request finished");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
        if let Some(metrics) = metrics {
            metrics.http_request(method.as_str(), &route, status, latency);
        }
        // The simple form is 32 ASCII hex digits: written on the stack, valid in a header.
        let mut buf = [0; uuid::fmt::Simple::LENGTH];
        if let Ok(value) = HeaderValue::from_bytes(id.0.simple().encode_lower(&mut buf).as_bytes())
        {
            res.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), value);
        }
        Ok(res)
    }
    .instrument(span)
    .await
}

/// Names the workspace a request is about in its span, so every later log line of the request
/// (and its "request finished" line) carries `team_id`. Call it from a handler once it knows.
pub fn record_team_id(team_id: &str) {
    tracing::Span::current().record("team_id", team_id);
}

/// Security headers on every response, 404s and error pages included. A handler that sets its
/// own `Content-Security-Policy` or `Referrer-Policy` (the embed page, the OAuth callback) keeps it.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.is_https());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        );
    }
    // Older browsers ignore frame-ancestors; tell them too, unless the page may be framed.
    let unframeable = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|csp| csp.contains("frame-ancestors 'none'"));
    if unframeable {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
    }
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    Ok(res)
}

/// Turns every error (a handler's `AppError`, an extractor's rejection, the 404 fallback) into the
/// error page for people or a JSON body for machines, with the request id and nothing internal.
pub async fn error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?;
    let Some(error) = res.response().error() else {
        return Ok(res.map_into_boxed_body());
    };
    let status = res.status();
    let (title, message, code) = match error.as_error::<AppError>() {
        Some(app) => (app.title(), app.public_message(), app.code()),
        // actix's own rejections (bad form, bad JSON, wrong content type) explain the problem
        // in terms of the request, which is safe to show; a server error is not.
        None if status.is_client_error() => (
            title_for(status),
            client_message(status, &error.to_string()),
            code_for(status),
        ),
        None => (
            title_for(status),
            AppError::internal(anyhow::anyhow!("")).public_message(),
            code_for(status),
        ),
    };
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), error = ?error, "request failed");
    } else {
        // A refusal's text can quote what was sent (a serde error names the value it choked
        // on), so the log names only its category.
        tracing::debug!(status = status.as_u16(), refused = code, "request refused");
    }
    let (http_req, old) = res.into_parts();
    let mut new = render_error(&http_req, status, title, &message, code);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(http_req, new))
}

fn client_message(status: StatusCode, detail: &str) -> String {
    match status {
        StatusCode::NOT_FOUND => "There is nothing at this address.".into(),
        StatusCode::METHOD_NOT_ALLOWED => {
            "This address does not accept that kind of request.".into()
        }
        _ => {
            // Extractor messages can be long (serde paths); one line is enough.
            let line: String = detail
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            format!("The request could not be read: {line}")
        }
    }
}

/// Machines (the API, Slack's POSTs) get JSON; people get a page.
fn wants_json(req: &HttpRequest) -> bool {
    let path = req.path();
    path.starts_with("/api/") || (path.starts_with("/slack/") && req.method() == Method::POST)
}

pub fn render_error(
    req: &HttpRequest,
    status: StatusCode,
    title: &str,
    message: &str,
    code: &str,
) -> HttpResponse {
    let request_id = request_id(req).map(|id| id.to_string()).unwrap_or_default();
    if wants_json(req) {
        return HttpResponse::build(status).json(serde_json::json!({
            "ok": false,
            "error": code,
            "message": message,
            "request_id": request_id,
        }));
    }
    let page = ErrorPage {
        chrome: Chrome::for_request(req),
        title,
        message,
        request_id: &request_id,
    };
    match askama::Template::render(&page) {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "the error page did not render");
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(format!(
                    "{title}\n\n{message}\n\nRequest id: {request_id}\n"
                ))
        }
    }
}

/// The fallback for every unknown path and method.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
