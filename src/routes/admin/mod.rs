//! The admin dashboard: Sign in with Slack, then pages scoped to the workspaces the person
//! administers. Every page here answers `Cache-Control: no-store`; every change is a POST that
//! carries the session's CSRF token.

mod audit;
mod communities;
mod extract;
mod installations;
mod keys;
mod layout;
mod login;
mod overview;
mod requests;
mod signups;
mod views;

pub use layout::{Nav, Section};

use actix_web::middleware::from_fn;
use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Registered before the scope, so they are reached without a session.
    cfg.route("/admin/login", web::get().to(login::start))
        .route("/admin/oauth_redirect", web::get().to(login::callback))
        .route("/admin/setup", web::get().to(login::setup))
        .service(
            web::scope("/admin")
                .wrap(from_fn(extract::require_session))
                .route("", web::get().to(overview::show))
                .route("/", web::get().to(overview::show))
                .route("/logout", web::post().to(login::logout))
                .service(
                    web::resource("/communities")
                        .route(web::get().to(communities::list))
                        .route(web::post().to(communities::create)),
                )
                .service(
                    web::resource("/communities/{id}")
                        .route(web::get().to(communities::edit))
                        .route(web::post().to(communities::update)),
                )
                .route("/communities/{id}/signups", web::post().to(signups::update))
                .route(
                    "/communities/{id}/channels",
                    web::post().to(communities::refresh_channels),
                )
                .route("/requests", web::get().to(requests::list))
                .route("/requests/approve", web::post().to(requests::bulk_approve))
                .route(
                    "/requests/{id}/{decision}",
                    web::post().to(requests::decide),
                )
                .route("/installations", web::get().to(installations::list))
                .service(
                    web::resource("/installations/{id}/remove")
                        .route(web::get().to(installations::confirm_remove))
                        .route(web::post().to(installations::remove)),
                )
                .service(
                    web::resource("/keys")
                        .route(web::get().to(keys::list))
                        .route(web::post().to(keys::create)),
                )
                .route("/keys/{id}/revoke", web::post().to(keys::revoke))
                .route("/audit", web::get().to(audit::list)),
        );
}
