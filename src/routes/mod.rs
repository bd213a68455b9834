//! HTTP routes. Each page's template struct lives beside its handler.

pub mod admin;
pub mod api;
pub mod api_posting;
pub mod assets;
pub mod health;
pub mod home;
pub mod install;
pub mod join;
pub mod metrics;
pub mod oauth;
pub mod pages;
pub mod slack_events;

use actix_web::web;

/// Slack's requests are small; anything larger is not from Slack.
const SLACK_BODY_LIMIT: usize = 256 * 1024;

/// JSON bodies of the API (files have their own limit).
const API_BODY_LIMIT: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Slack's Request URL first: routing (and the middleware's pattern lookup) tries resources in
    // order, and every `{param}` pattern tried before it is a regex search on the busiest path.
    cfg.service(
        web::resource("/slack/events")
            .app_data(web::PayloadConfig::new(SLACK_BODY_LIMIT))
            .route(web::post().to(slack_events::receive)),
    )
    .configure(admin::configure)
    .route("/", web::get().to(home::landing))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(metrics::metrics))
    .route("/static/{file}", web::get().to(assets::serve))
    .route("/slack/install", web::get().to(install::install_page))
    .route(
        "/slack/oauth_redirect",
        web::get().to(install::oauth_redirect),
    )
    .service(
        web::resource("/join/{slug}")
            .route(web::get().to(join::form))
            .route(web::post().to(join::submit)),
    )
    .service(
        web::resource("/join/{slug}/embed")
            .route(web::get().to(join::embed))
            // The embedded form posts here, so its answers and refusals stay frameable.
            .route(web::post().to(join::submit)),
    )
    .service(
        web::resource("/join/{slug}/confirm")
            .route(web::get().to(join::confirm_page))
            .route(web::post().to(join::confirm)),
    )
    .route("/join/{slug}/badge.svg", web::get().to(join::badge))
    .route("/lang/{code}", web::get().to(pages::switch_language))
    .service(
        web::scope("/api/v1")
            .app_data(web::JsonConfig::default().limit(API_BODY_LIMIT))
            .route("/invites", web::post().to(api::create_invite))
            .route("/messages", web::post().to(api_posting::post_message))
            .route("/files", web::post().to(api_posting::post_file)),
    );
}
