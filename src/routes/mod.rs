//! HTTP routes. Each page's template struct lives beside its handler.

pub mod assets;
pub mod health;
pub mod home;
pub mod install;
pub mod pages;
pub mod slack_events;

use actix_web::web;

/// Slack's requests are small; anything larger is not from Slack.
const SLACK_BODY_LIMIT: usize = 256 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::landing))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/static/{file}", web::get().to(assets::serve))
        .route("/slack/install", web::get().to(install::install_page))
        .route(
            "/slack/oauth_redirect",
            web::get().to(install::oauth_redirect),
        )
        .service(
            web::resource("/slack/events")
                .app_data(web::PayloadConfig::new(SLACK_BODY_LIMIT))
                .route(web::post().to(slack_events::receive)),
        );
}
