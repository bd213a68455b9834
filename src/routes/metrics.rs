//! `GET /metrics`: Prometheus text, off the public internet by default.
//!
//! Served to a scraper on the same machine (a loopback peer that is not relaying someone else's
//! request), or to anyone sending `Authorization: Bearer $LOBBY_METRICS_TOKEN`.

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::metrics::{self, Snapshot};
use crate::middleware::request_id;
use crate::state::AppState;

/// Headers a reverse proxy adds: a request carrying one was relayed for some other client.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !allowed(&req, state.settings.metrics_token.as_ref()) {
        return refused(&req);
    }
    match Snapshot::read(&state.db).await {
        Ok(snapshot) => HttpResponse::Ok()
            .content_type(metrics::CONTENT_TYPE)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(state.metrics.render(&snapshot)),
        Err(error) => {
            tracing::error!(%error, "cannot read the metrics gauges from the database");
            HttpResponse::ServiceUnavailable().json(json!({
                "ok": false,
                "error": "unavailable",
                "message": "The database did not answer; try again.",
                "request_id": request_id(&req).map(|id| id.to_string()),
            }))
        }
    }
}

/// Loopback without forwarding headers, or the right token.
fn allowed(req: &HttpRequest, token: Option<&SecretString>) -> bool {
    let local = req
        .peer_addr()
        .is_some_and(|peer| peer.ip().to_canonical().is_loopback());
    (local && !relayed(req.headers())) || token.is_some_and(|t| bearer_matches(req.headers(), t))
}

/// Whether a proxy relayed this request. Any forwarding header counts, trusted proxy or not:
/// a proxy on the same machine connects from loopback, and its clients must not pass as local.
fn relayed(headers: &HeaderMap) -> bool {
    FORWARDING_HEADERS
        .iter()
        .any(|name| headers.contains_key(*name))
}

/// Compares digests in constant time, so neither the token nor its length leaks through timing.
fn bearer_matches(headers: &HeaderMap, token: &SecretString) -> bool {
    let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let presented = Sha256::digest(presented.trim().as_bytes());
    let expected = Sha256::digest(token.expose_secret().as_bytes());
    presented.ct_eq(&expected).into()
}

fn refused(req: &HttpRequest) -> HttpResponse {
    HttpResponse::Forbidden().json(json!({
        "ok": false,
        "error": "forbidden",
        "message": "Metrics are served to loopback, or with `Authorization: Bearer` and LOBBY_METRICS_TOKEN.",
        "request_id": request_id(req).map(|id| id.to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use actix_web::test::TestRequest;

    use super::*;

    fn token() -> SecretString {
        SecretString::from("a-long-scraper-token-0123456789")
    }

    fn from(peer: &str) -> TestRequest {
        TestRequest::get()
            .uri("/metrics")
            .peer_addr(peer.parse::<SocketAddr>().unwrap())
    }

    #[test]
    fn loopback_scrapers_need_no_token() {
        assert!(allowed(&from("127.0.0.1:40000").to_http_request(), None));
        assert!(allowed(&from("[::1]:40000").to_http_request(), None));
        assert!(allowed(
            &from("[::ffff:127.0.0.1]:40000").to_http_request(),
            None
        ));
    }

    #[test]
    fn other_peers_are_refused_without_the_token() {
        assert!(!allowed(&from("203.0.113.9:40000").to_http_request(), None));
        assert!(!allowed(
            &from("10.0.0.5:40000").to_http_request(),
            Some(&token())
        ));
        let no_peer = TestRequest::get().uri("/metrics").to_http_request();
        assert!(!allowed(&no_peer, None));
    }

    #[test]
    fn a_request_relayed_by_a_local_proxy_is_not_local() {
        for header in FORWARDING_HEADERS {
            let req = from("127.0.0.1:40000")
                .insert_header((header, "203.0.113.9"))
                .to_http_request();
            assert!(!allowed(&req, None), "{header}");
        }
    }

    #[test]
    fn the_bearer_token_opens_metrics_from_anywhere() {
        let right = from("203.0.113.9:40000")
            .insert_header((
                header::AUTHORIZATION,
                "Bearer a-long-scraper-token-0123456789",
            ))
            .insert_header(("x-forwarded-for", "198.51.100.1"))
            .to_http_request();
        assert!(allowed(&right, Some(&token())));
        for wrong in [
            "Bearer a-long-scraper-token-012345678",
            "Bearer a-long-scraper-token-0123456789x",
            "Basic a-long-scraper-token-0123456789",
            "a-long-scraper-token-0123456789",
        ] {
            let req = from("203.0.113.9:40000")
                .insert_header((header::AUTHORIZATION, wrong))
                .to_http_request();
            assert!(!allowed(&req, Some(&token())), "{wrong}");
        }
    }
}
