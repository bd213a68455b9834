//! Sign in with Slack (`/admin/login` and its callback), signing out, and the setup help shown
//! while nothing is installed.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use url::Url;

use super::extract::{AdminForm, clear_session_cookie, session_cookie};
use crate::admin::id_token::IdTokenRefusal;
use crate::admin::login::{self, LoginRefusal};
use crate::admin::session;
use crate::db;
use crate::domain::TeamId;
use crate::error::AppError;
use crate::oauth_state::{self as oauth, Flow};
use crate::routes::oauth::{self as oauth_flow, CallbackQuery};
use crate::routes::pages::{Chrome, render_with_status};
use crate::slack::manifest;
use crate::slack::oauth_client;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin/login_refused.html")]
struct RefusedPage {
    chrome: Chrome,
    title: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "admin/setup.html")]
struct SetupPage {
    chrome: Chrome,
    installed: bool,
    manifest: String,
    apps_url: &'static str,
}

#[derive(Template)]
#[template(path = "admin/signed_out.html")]
struct SignedOutPage {
    chrome: Chrome,
}

/// The form of a button with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

fn no_store(res: &mut HttpResponse) {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// `GET /admin/login`: starts Sign in with Slack, or explains how to set Lobby up when no
/// workspace has it installed (nobody could be an admin yet).
pub async fn start(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let team = oauth_flow::team_hint(&req)?;
    if db::installations::count_active(&state.db).await? == 0 {
        let mut res = setup_page(&req, &state, false)?;
        no_store(&mut res);
        return Ok(res);
    }
    oauth_flow::limit_start(&req, &state).await?;
    let issued = oauth::issue(&state.db, Flow::Login)
        .await
        .map_err(AppError::internal)?;
    let location = authorize_url(
        &state,
        &issued.state,
        issued.nonce.as_deref().unwrap_or_default(),
        team.as_ref(),
    );
    let mut res = HttpResponse::Found()
        .insert_header((header::LOCATION, location.as_str()))
        .finish();
    res.add_cookie(&oauth_flow::binding_cookie(
        Flow::Login,
        issued.binding,
        state.settings.is_https(),
    ))
    .map_err(AppError::internal)?;
    no_store(&mut res);
    Ok(res)
}

fn authorize_url(state: &AppState, oauth_state: &str, nonce: &str, team: Option<&TeamId>) -> Url {
    oauth_client::sign_in_url(
        &state.openid_authorize_url,
        &state.credentials.client_id,
        &state.settings.url(login::REDIRECT_PATH),
        oauth_state,
        nonce,
        login::SCOPES,
        team.map(TeamId::as_str),
    )
}

/// `GET /admin/oauth_redirect`: a refusal is a page; success starts a session and goes to the
/// overview. Either way the login cookie is cleared and the code and state stay out of
/// referrers and caches.
pub async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let https = state.settings.is_https();
    let query = CallbackQuery::of(&req, Flow::Login, https);
    let previous = req.cookie(session::cookie_name(https));
    let outcome = login::finish(
        &state,
        &query.callback(),
        previous.as_ref().map(|c| c.value()),
    )
    .await;
    let mut res = match outcome {
        Ok(signed_in) => {
            let mut res = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/admin"))
                .finish();
            if let Err(e) = res.add_cookie(&session_cookie(signed_in.session, https)) {
                tracing::error!(error = %e, "could not set the session cookie");
            }
            res
        }
        Err(refusal) => {
            if let LoginRefusal::Db(_) | LoginRefusal::Session(_) = &refusal {
                tracing::error!(error = %refusal, "a sign-in failed on our side");
            }
            let (status, title, message) = explain(&refusal);
            render_with_status(
                status,
                &RefusedPage {
                    chrome: Chrome::for_request(&req),
                    title,
                    message,
                },
            )
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "the sign-in refusal page did not render");
                HttpResponse::InternalServerError().body("Something went wrong on our side.")
            })
        }
    };
    oauth_flow::seal(&mut res, Flow::Login, https);
    res
}

fn explain(refusal: &LoginRefusal) -> (StatusCode, &'static str, String) {
    use LoginRefusal::*;
    match refusal {
        Callback(refusal) => oauth_flow::explain_sign_in(refusal),
        IdToken(IdTokenRefusal::WrongNonce | IdTokenRefusal::WrongAudience) => (
            StatusCode::FORBIDDEN,
            "This sign-in does not match",
            "Slack's answer was not issued for the sign-in this browser started. Please sign in again.".into(),
        ),
        IdToken(IdTokenRefusal::BadSignature) => (
            StatusCode::FORBIDDEN,
            "This sign-in is not from Slack",
            "The identity in the answer is not signed by Slack, so it cannot be trusted. You are not signed in."
                .into(),
        ),
        IdToken(IdTokenRefusal::WrongIssuer) => (
            StatusCode::FORBIDDEN,
            "This sign-in is not from Slack",
            "The identity in the answer was issued by someone other than Slack, so it cannot be trusted. You are \
             not signed in."
                .into(),
        ),
        IdToken(IdTokenRefusal::Expired) => (
            StatusCode::FORBIDDEN,
            "This sign-in has expired",
            "Slack's answer to the sign-in is too old to be accepted. Please sign in again.".into(),
        ),
        IdToken(IdTokenRefusal::KeysUnavailable) => (
            StatusCode::BAD_GATEWAY,
            "Slack did not answer",
            "Slack's signing keys could not be fetched to check the sign-in. Please try again in a moment."
                .into(),
        ),
        IdToken(IdTokenRefusal::Malformed) => (
            StatusCode::BAD_GATEWAY,
            "Slack's answer could not be read",
            "Slack's answer to the sign-in could not be read. Please try again.".into(),
        ),
        NotAnAdmin => (
            StatusCode::FORBIDDEN,
            "The dashboard is for workspace admins",
            "You signed in, but you are not an admin or owner of a workspace Lobby is installed in, so there is \
             nothing for you to manage here. Ask an admin of your workspace, or add Lobby to a workspace you run."
                .into(),
        ),
        Db(_) | Session(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side while signing you in. It has been logged; please try again.".into(),
        ),
    }
}

/// `POST /admin/logout`: ends the session on the server and in the browser.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: AdminForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let https = state.settings.is_https();
    if let Some(cookie) = req.cookie(session::cookie_name(https)) {
        session::end(&state.db, cookie.value()).await?;
    }
    for team in &form.admin.teams {
        db::audit::record(&state.db, Some(team), form.admin.actor(), "logout", "").await?;
    }
    let mut res = render_with_status(
        StatusCode::OK,
        &SignedOutPage {
            chrome: Chrome::for_request(&req),
        },
    )?;
    res.add_cookie(&clear_session_cookie(https))
        .map_err(AppError::internal)?;
    Ok(res)
}

/// `GET /admin/setup`: the Slack app manifest for this server and how to create the app from it.
pub async fn setup(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let installed = db::installations::count_active(&state.db).await? > 0;
    setup_page(&req, &state, installed)
}

fn setup_page(
    req: &HttpRequest,
    state: &AppState,
    installed: bool,
) -> Result<HttpResponse, AppError> {
    render_with_status(
        StatusCode::OK,
        &SetupPage {
            chrome: Chrome::for_request(req),
            installed,
            manifest: manifest::render(&state.settings),
            apps_url: "https://api.slack.com/apps?new_app=1",
        },
    )
}
