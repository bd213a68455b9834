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
use crate::i18n::Lang;
use crate::install::{self, InstallRefusal, Installed};
use crate::oauth_state::{self as oauth, CallbackRefusal, Flow, StateRefusal};
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
    title: String,
    message: String,
}

/// `GET /slack/install`: says what the app will be allowed to do and links to Slack's consent page.
pub async fn install_page(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let team = oauth_flow::team_hint(&req)?;
    oauth_flow::limit_start(&req, &state).await?;
    let https = state.settings.is_https();
    let issued = oauth::issue(&state.db, Flow::Install)
        .await
        .map_err(AppError::internal)?;
    let page = InstallPage {
        chrome: Chrome::public(&req),
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
    // In the visitor's language, without the switch: its way back would replay the code.
    let chrome = Chrome {
        switch_back: None,
        ..Chrome::public(&req)
    };
    let lang = chrome.lang;
    let mut remember = None;
    let outcome = match outcome {
        Ok(installed) => {
            remember = query
                .state()
                .map(|s| installed_cookie(&state, installed.id.as_str(), s));
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
            let (status, title, message) = explain(&refusal, lang);
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
    let id = crate::domain::TeamId::parse(id).ok()?;
    let i = crate::db::installations::get(&state.db, &id).await.ok()??;
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

/// The status, title and message of an install refusal, in `lang`.
fn explain(refusal: &InstallRefusal, lang: Lang) -> (StatusCode, String, String) {
    let page = |status, key: &str| {
        (
            status,
            lang.t(&format!("{key}-title")),
            lang.t(&format!("{key}-body")),
        )
    };
    match refusal {
        InstallRefusal::Callback(refusal) => match refusal {
            CallbackRefusal::Cancelled => page(StatusCode::FORBIDDEN, "install-cancelled"),
            CallbackRefusal::SlackSaid(code) => (
                StatusCode::BAD_REQUEST,
                lang.t("install-slack-said-title"),
                lang.t1("install-slack-said-body", "code", code),
            ),
            CallbackRefusal::State(refusal) => {
                let (status, key) = match refusal {
                    StateRefusal::Missing => (StatusCode::BAD_REQUEST, "install-state-missing"),
                    StateRefusal::Unknown => (StatusCode::BAD_REQUEST, "install-state-used"),
                    StateRefusal::Expired => (StatusCode::BAD_REQUEST, "install-state-expired"),
                    StateRefusal::OtherBrowser => {
                        (StatusCode::FORBIDDEN, "install-state-elsewhere")
                    }
                    StateRefusal::WrongFlow => (StatusCode::BAD_REQUEST, "install-state-sign-in"),
                };
                page(status, key)
            }
            CallbackRefusal::MissingCode => page(StatusCode::BAD_REQUEST, "install-missing-code"),
            CallbackRefusal::CodeRefused(code) => (
                StatusCode::BAD_REQUEST,
                lang.t("install-code-refused-title"),
                lang.t1("install-code-refused-body", "code", code),
            ),
            CallbackRefusal::SlackUnreachable => {
                page(StatusCode::BAD_GATEWAY, "install-unreachable")
            }
        },
        InstallRefusal::TeamNotAllowed { name } => (
            StatusCode::FORBIDDEN,
            lang.t("install-team-not-allowed-title"),
            lang.t1("install-team-not-allowed-body", "name", name),
        ),
        InstallRefusal::NoBotToken => page(StatusCode::BAD_REQUEST, "install-no-bot-token"),
        InstallRefusal::Db(_) => page(StatusCode::INTERNAL_SERVER_ERROR, "install-internal"),
    }
}

/// The catalog message saying what a bot scope lets Lobby do, in words an admin reads before
/// approving (`None` for a scope Lobby has no words for).
fn describe_scope(scope: &str) -> Option<&'static str> {
    Some(match scope {
        "app_mentions:read" => "scope-app-mentions-read",
        "channels:join" => "scope-channels-join",
        "channels:read" => "scope-channels-read",
        "chat:write" => "scope-chat-write",
        "chat:write.public" => "scope-chat-write-public",
        "commands" => "scope-commands",
        "files:write" => "scope-files-write",
        "groups:read" => "scope-groups-read",
        "team:read" => "scope-team-read",
        "users:read" => "scope-users-read",
        "users:read.email" => "scope-users-read-email",
        "admin.users:write" => "scope-admin-users-write",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_install_message_is_in_the_catalog() {
        let english = crate::i18n::keys(crate::i18n::CATALOGS[0].1).unwrap();
        let lang = Lang::default();
        let refusals = [
            InstallRefusal::Callback(CallbackRefusal::Cancelled),
            InstallRefusal::Callback(CallbackRefusal::SlackSaid("x".into())),
            InstallRefusal::Callback(CallbackRefusal::State(StateRefusal::Missing)),
            InstallRefusal::Callback(CallbackRefusal::State(StateRefusal::Unknown)),
            InstallRefusal::Callback(CallbackRefusal::State(StateRefusal::Expired)),
            InstallRefusal::Callback(CallbackRefusal::State(StateRefusal::OtherBrowser)),
            InstallRefusal::Callback(CallbackRefusal::State(StateRefusal::WrongFlow)),
            InstallRefusal::Callback(CallbackRefusal::MissingCode),
            InstallRefusal::Callback(CallbackRefusal::CodeRefused("x".into())),
            InstallRefusal::Callback(CallbackRefusal::SlackUnreachable),
            InstallRefusal::TeamNotAllowed { name: "x".into() },
            InstallRefusal::NoBotToken,
            InstallRefusal::Db(sqlx::Error::RowNotFound),
        ];
        for refusal in &refusals {
            let (_, title, message) = explain(refusal, lang);
            // A missing message falls back to its key, which has no spaces.
            assert!(
                title.contains(' ') && message.contains(' '),
                "{title}: {message}"
            );
        }
        let scopes = crate::config::DEFAULT_BOT_SCOPES
            .iter()
            .chain(&["admin.users:write"]);
        for &scope in scopes {
            let key = describe_scope(scope).unwrap();
            assert!(english.contains(&key.to_owned()), "en.ftl misses {key}");
        }
    }
}
