//! The layers every response passes through: a request id and its tracing span, the security
//! headers, one host name for browsers, and the rendering of errors as the site's error page (or
//! JSON for machines).

use std::borrow::Cow;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, web};
use tracing::Instrument;
use uuid::Uuid;

use crate::admin::Admin;
use crate::error::{AppError, code_for, title_in};
use crate::i18n::Lang;
use crate::metrics;
use crate::routes::admin::{Nav, Section};
use crate::routes::pages::{AdminErrorPage, Chrome, EmbedErrorPage, ErrorPage, NextStep, lang_of};
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
    // Metrics: routing has not happened yet, but the pattern can already be looked up — except
    // for Slack's acks, the busiest route, whose pattern is its path (no search, no allocation).
    let route: Cow<'static, str> = if req.path() == SLACK_EVENTS_ROUTE {
        Cow::Borrowed(SLACK_EVENTS_ROUTE)
    } else {
        req.match_pattern()
            .map_or(Cow::Borrowed(metrics::UNMATCHED_ROUTE), Cow::Owned)
    };
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
            metrics.http_request(&method, route, status, latency);
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

/// Sends a browser that opened Lobby under another loopback name than the public URL's
/// (127.0.0.1 instead of localhost) to the public URL, before any cookie is set: cookies belong
/// to one host name, so an install or sign-in begun on one and finished on the other would fail
/// as "started in another browser". Only loopback names are compared, so a proxy that rewrites
/// `Host` in production never loops; machine and emulator paths are left alone.
pub async fn canonical_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let target = match (req.app_data::<web::Data<AppState>>(), req.method()) {
        (Some(state), &Method::GET | &Method::HEAD) => req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|host| {
                let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
                other_loopback_name(&state.settings.public_url, host, path)
            }),
        _ => None,
    };
    match target {
        Some(location) => Ok(req.into_response(
            HttpResponse::TemporaryRedirect()
                .insert_header((header::LOCATION, location))
                .finish(),
        )),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// Where to send a request for `host` and `path` when `host` is a loopback name other than the
/// public URL's own.
fn other_loopback_name(public: &url::Url, host: &str, path: &str) -> Option<String> {
    const MACHINE_PATHS: [&str; 6] = [
        "/_emulator/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/",
        "/slack/events",
    ];
    if MACHINE_PATHS.iter().any(|p| path.starts_with(p)) {
        return None;
    }
    let public_host = public.host_str()?;
    let name = |h: &str| -> Option<String> {
        // `[::1]:8080`, `127.0.0.1:8080`, `localhost:8080`, or without a port.
        let bare = match h.strip_prefix('[') {
            Some(rest) => rest.split(']').next()?,
            None => h.rsplit_once(':').map_or(h, |(name, _)| name),
        };
        let bare = bare.to_ascii_lowercase();
        let loopback = bare == "localhost"
            || bare
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        loopback.then_some(bare)
    };
    let public_name = name(public_host)?;
    let asked = name(host)?;
    if asked == public_name {
        return None;
    }
    let mut url = public.clone();
    url.set_path(path.split('?').next().unwrap_or("/"));
    url.set_query(path.split_once('?').map(|(_, q)| q));
    Some(url.to_string())
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
    let lang = error_lang(res.request());
    let (title, message, code) = match error.as_error::<AppError>() {
        Some(app) => (title_in(status, lang), app.message_in(lang), app.code()),
        // actix's own rejections (bad form, bad JSON, wrong content type) explain the problem
        // in terms of the request, which is safe to show; a server error is not.
        None if status.is_client_error() => (
            title_in(status, lang),
            client_message(status, &error.to_string(), lang),
            code_for(status),
        ),
        None => (
            title_in(status, lang),
            AppError::internal(anyhow::anyhow!("")).message_in(lang),
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
    let mut new = render_error(&http_req, status, &title, &message, code);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(http_req, new))
}

fn client_message(status: StatusCode, detail: &str, lang: Lang) -> String {
    match status {
        StatusCode::NOT_FOUND => lang.t("error-not-found"),
        StatusCode::METHOD_NOT_ALLOWED => lang.t("error-method"),
        _ => {
            // Extractor messages can be long (serde paths); one line is enough.
            let line: String = detail
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            lang.t1("error-unreadable", "detail", &line)
        }
    }
}

/// The dashboard and machines are answered in English; the public side in its visitor's language.
fn is_public(req: &HttpRequest) -> bool {
    let path = req.path();
    !wants_json(req) && path != "/admin" && !path.starts_with("/admin/")
}

/// The language of the error answer to `req`.
fn error_lang(req: &HttpRequest) -> Lang {
    if is_public(req) {
        lang_of(req)
    } else {
        Lang::default()
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
    let lang = error_lang(req);
    let next = NextStep::for_path(req.path(), status, lang);
    let embedded = is_embed_path(req.path());
    let admin = req.extensions().get::<Admin>().cloned();
    let rendered = if embedded {
        askama::Template::render(&EmbedErrorPage {
            lang,
            title,
            message,
            request_id: &request_id,
            next,
        })
    } else if let Some(admin) = admin {
        askama::Template::render(&AdminErrorPage {
            chrome: Chrome::for_request(req),
            nav: Nav::new(&admin, section_of(req.path())),
            title,
            message,
            request_id: &request_id,
            next,
        })
    } else {
        askama::Template::render(&ErrorPage {
            chrome: if is_public(req) {
                Chrome::public(req)
            } else {
                Chrome::for_request(req)
            },
            title,
            message,
            request_id: &request_id,
            next,
        })
    };
    match rendered {
        Ok(html) => {
            let mut res = HttpResponse::build(status);
            res.content_type("text/html; charset=utf-8")
                .insert_header(crate::routes::pages::VARY_BY_LANGUAGE);
            if embedded {
                // The refusal shows where the form was: in the other site's frame.
                res.insert_header((header::CONTENT_SECURITY_POLICY, EMBED_ERROR_CSP));
            }
            res.body(html)
        }
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

/// The policy of an embedded form's refusal: the embed's own `frame-ancestors *`.
const EMBED_ERROR_CSP: &str = "default-src 'self'; img-src 'self' data: https:; style-src 'self'; \
     script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors *";

/// `/join/{slug}/embed`: the only frameable page, and where its form posts.
fn is_embed_path(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(segments.as_slice(), ["join", _, "embed"])
}

/// The dashboard section a path belongs to, for the navigation around a refusal.
fn section_of(path: &str) -> Section {
    let rest = path.strip_prefix("/admin/").unwrap_or("");
    match rest.split('/').next().unwrap_or("") {
        "communities" => Section::Communities,
        "requests" => Section::Requests,
        "installations" => Section::Installations,
        "keys" => Section::Keys,
        "audit" => Section::Audit,
        _ => Section::Overview,
    }
}

/// The fallback for every unknown path and method.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_loopback_name_is_redirected() {
        let public = url::Url::parse("http://localhost:8080/").unwrap();
        assert_eq!(
            other_loopback_name(&public, "127.0.0.1:8080", "/admin?x=1").as_deref(),
            Some("http://localhost:8080/admin?x=1")
        );
        assert_eq!(
            other_loopback_name(&public, "[::1]:8080", "/").as_deref(),
            Some("http://localhost:8080/")
        );
        assert_eq!(other_loopback_name(&public, "localhost:8080", "/"), None);
        assert_eq!(other_loopback_name(&public, "lobby.example.org", "/"), None);
        assert_eq!(
            other_loopback_name(&public, "127.0.0.1:8080", "/_emulator/slack/"),
            None
        );
        let public = url::Url::parse("https://lobby.example.org/").unwrap();
        assert_eq!(other_loopback_name(&public, "127.0.0.1:8080", "/"), None);
    }
}
