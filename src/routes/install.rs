//! Add to Slack: the install page that issues an OAuth state, and the callback that finishes it.

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use url::Url;

use super::oauth::{self as oauth_flow, CallbackQuery};
use super::pages::{Chrome, render_with_status};
use crate::domain::TeamId;
use crate::error::AppError;
use crate::install::{self, InstallRefusal, Installed};
use crate::oauth_state::{self as oauth, CallbackRefusal, Flow};
use crate::slack::oauth_client;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "install.html")]
struct InstallPage {
    chrome: Chrome,
    authorize_url: String,
    permissions: Vec<&'static str>,
    user_permissions: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "installed.html")]
struct InstalledPage {
    chrome: Chrome,
    installed: Installed,
}

#[derive(Template)]
#[template(path = "install_refused.html")]
struct RefusedPage {
    chrome: Chrome,
    title: &'static str,
    message: String,
}

/// `GET /slack/install`: says what the app will be allowed to do and links to Slack's consent page.
pub async fn install_page(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let team = oauth_flow::team_hint(&req)?;
    oauth_flow::limit_start(&req, &state)?;
    let https = state.settings.is_https();
    let issued = oauth::issue(&state.db, Flow::Install)
        .await
        .map_err(AppError::internal)?;
    let page = InstallPage {
        chrome: Chrome::for_request(&req),
        authorize_url: authorize_url(&state, &issued.state, team.as_ref()).to_string(),
        permissions: state
            .settings
            .slack
            .scopes
            .iter()
            .filter_map(|s| describe_scope(s))
            .collect(),
        user_permissions: state
            .settings
            .slack
            .user_scopes
            .iter()
            .filter_map(|s| describe_scope(s))
            .collect(),
    };
    let mut res = render_with_status(StatusCode::OK, &page)?;
    res.add_cookie(&oauth_flow::binding_cookie(
        Flow::Install,
        issued.binding,
        https,
    ))
    .map_err(AppError::internal)?;
    res.headers_mut().insert(
        CACHE_CONTROL,
        "no-store".parse().map_err(AppError::internal)?,
    );
    Ok(res)
}

fn authorize_url(state: &AppState, oauth_state: &str, team: Option<&TeamId>) -> Url {
    oauth_client::install_url(
        &state.oauth_authorize_url,
        &state.credentials.client_id,
        &state.settings.url(install::REDIRECT_PATH),
        oauth_state,
        &state.settings.slack.scopes,
        &state.settings.slack.user_scopes,
        team.map(TeamId::as_str),
    )
}

/// `GET /slack/oauth_redirect`: every outcome is a page, clears the flow's cookie, and keeps the
/// code and state out of referrers and caches.
pub async fn oauth_redirect(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let https = state.settings.is_https();
    let query = CallbackQuery::of(&req, Flow::Install, https);
    let outcome = install::finish(&state, &query.callback()).await;
    let chrome = Chrome::for_request(&req);
    let mut remember = None;
    let outcome = match outcome {
        Ok(installed) => {
            remember = query
                .state()
                .map(|s| installed_cookie(&state, &installed.id, s));
            Ok(installed)
        }
        // A refresh of the page after a good install replays a used state: show what was
        // installed, when this browser finished that very install.
        Err(refusal @ InstallRefusal::Callback(CallbackRefusal::State(_))) => {
            match already_installed(&state, &req, query.state()).await {
                Some(installed) => Ok(installed),
                None => Err(refusal),
            }
        }
        Err(other) => Err(other),
    };
    let rendered = match outcome {
        Ok(installed) => render_with_status(StatusCode::OK, &InstalledPage { chrome, installed }),
        Err(refusal) => {
            if let InstallRefusal::Db(e) = &refusal {
                tracing::error!(error = %e, "an install failed on our side");
            }
            let (status, title, message) = explain(&refusal);
            render_with_status(
                status,
                &RefusedPage {
                    chrome,
                    title,
                    message,
                },
            )
        }
    };
    let mut res = rendered.unwrap_or_else(|e| {
        tracing::error!(error = %e, "the install outcome page did not render");
        HttpResponse::InternalServerError().body("Something went wrong on our side.")
    });
    if let Some(cookie) = remember
        && let Err(e) = res.add_cookie(&cookie)
    {
        tracing::error!(error = %e, "could not set the installed cookie");
    }
    oauth_flow::seal(&mut res, Flow::Install, https);
    res
}

/// Remembers, for an hour, which installation this browser finished with which state.
const INSTALLED_COOKIE: &str = "lobby_installed";
const INSTALLED_KEY_PURPOSE: &str = "installed-page";
const INSTALLED_FOR_SECS: i64 = 3600;

fn installed_tag(state: &AppState, id: &str, oauth_state: &str) -> Vec<u8> {
    use hmac::{Hmac, KeyInit, Mac};
    let key = state.keyring.derive_key(INSTALLED_KEY_PURPOSE);
    let mut mac = match <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key[..]) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; nothing to remember without one.
        Err(_) => return Vec::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b"\0");
    mac.update(oauth_state.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `<installation id>.<hex tag over the id and the state>`: worthless without the callback URL.
fn installed_cookie(
    state: &AppState,
    id: &str,
    oauth_state: &str,
) -> actix_web::cookie::Cookie<'static> {
    let value = format!(
        "{id}.{}",
        hex::encode(installed_tag(state, id, oauth_state))
    );
    let mut cookie = crate::cookies::build(
        INSTALLED_COOKIE,
        value,
        state.settings.is_https(),
        INSTALLED_FOR_SECS,
    );
    cookie.set_path(install::REDIRECT_PATH);
    cookie
}

/// The installation this browser finished with `oauth_state`, from its cookie.
async fn already_installed(
    state: &AppState,
    req: &HttpRequest,
    oauth_state: Option<&str>,
) -> Option<Installed> {
    use subtle::ConstantTimeEq;
    let oauth_state = oauth_state?;
    let cookie = req.cookie(INSTALLED_COOKIE)?;
    let (id, tag) = cookie.value().split_once('.')?;
    let tag = hex::decode(tag).ok()?;
    let want = installed_tag(state, id, oauth_state);
    if want.is_empty() || !bool::from(want.ct_eq(&tag)) {
        return None;
    }
    let i = crate::db::installations::get(&state.db, id).await.ok()??;
    Some(Installed {
        slack_url: i
            .team_domain
            .as_ref()
            .map(|d| format!("https://{d}.slack.com/")),
        id: i.id,
        team_name: i.team_name,
        team_domain: i.team_domain,
        team_icon: i.team_icon,
        reinstall: false,
    })
}

fn explain(refusal: &InstallRefusal) -> (StatusCode, &'static str, String) {
    match refusal {
        InstallRefusal::Callback(refusal) => oauth_flow::explain(refusal, Flow::Install),
        InstallRefusal::TeamNotAllowed { name } => (
            StatusCode::FORBIDDEN,
            "This workspace is not allowed here",
            format!("This Lobby server serves only some workspaces, and {name} is not one of them. Nothing was stored."),
        ),
        InstallRefusal::NoBotToken => (
            StatusCode::BAD_REQUEST,
            "Slack granted no bot token",
            "Lobby needs its bot scopes to work, and Slack granted none. Nothing was installed.".into(),
        ),
        InstallRefusal::Db(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side while finishing the installation. It has been logged; please try again."
                .into(),
        ),
    }
}

/// What a bot scope lets Lobby do, in words an admin reads before approving.
fn describe_scope(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "app_mentions:read" => "See messages that mention @Lobby, to answer them",
        "channels:join" => "Join public channels it posts to",
        "channels:read" => "See the names of public channels, to post to them by name",
        "chat:write" => "Send messages as @Lobby",
        "chat:write.public" => {
            "Post to public channels it has not joined (announcements, your scripts)"
        }
        "commands" => "Add the /invite, /summarize and /lobby slash commands",
        "files:write" => "Upload files that your scripts post through Lobby",
        "groups:read" => "See the names of private channels it has been added to",
        "team:read" => "See the workspace's name, address and icon, for the join page",
        "users:read" => {
            "See who is a member and who is an admin, for the member count and the dashboard"
        }
        "users:read.email" => {
            "See members' email addresses, to know when an invited person has joined"
        }
        "admin.users:write" => "Invite people to the workspace by email (Enterprise Grid admins)",
        _ => return None,
    })
}
