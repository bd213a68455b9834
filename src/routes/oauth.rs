//! What the two OAuth flows (Add to Slack and Sign in with Slack) share at the HTTP edge: at the
//! start, the workspace hint and the per-client limit; at the callback, reading Slack's answer from
//! the query, the pages for the callback step's refusals in each flow's words, and the headers
//! every outcome carries.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::cookies;
use crate::domain::TeamId;
use crate::error::AppError;
use crate::oauth_state::{self as oauth, Callback, CallbackRefusal, Flow, StateRefusal};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
struct StartQuery {
    team: Option<String>,
}

/// The workspace a flow's start may name (`?team=T…`), for Slack's consent page to preselect.
pub fn team_hint(req: &HttpRequest) -> Result<Option<TeamId>, AppError> {
    let query: StartQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| AppError::refused(StatusCode::BAD_REQUEST, "error-bad-query"))?;
    query
        .team
        .as_deref()
        .map(TeamId::parse)
        .transpose()
        .map_err(|_| AppError::refused(StatusCode::BAD_REQUEST, "error-bad-team"))
}

/// Each OAuth start writes a state row, so a client may start only so many.
/// The count is shared by every instance on PostgreSQL (see `abuse::shared_limits`).
pub async fn limit_start(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    match crate::abuse::client_ip_of(req, &state.settings.trusted_proxies) {
        Some(ip) => {
            crate::abuse::shared_limits::check(&state.db, "oauth", &state.oauth_start_limiter, ip)
                .await
                .map_err(|wait| AppError::TooManyRequests {
                    retry_after: wait.0,
                })
        }
        None => Ok(()),
    }
}

/// The query Slack sends back to a callback. A malformed query reads as an empty one, which the
/// callback step refuses as a link without its state.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    /// The flow's browser-binding cookie.
    #[serde(skip)]
    binding: Option<String>,
}

impl CallbackQuery {
    pub fn of(req: &HttpRequest, flow: Flow, https: bool) -> Self {
        let mut query: CallbackQuery =
            serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
        query.binding = req
            .cookie(flow.cookie_name(https))
            .map(|c| c.value().to_owned());
        query
    }

    pub fn callback(&self) -> Callback<'_> {
        Callback {
            error: self.error.as_deref(),
            state: self.state.as_deref(),
            code: self.code.as_deref(),
            binding: self.binding.as_deref(),
        }
    }

    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }
}

/// The cookie that binds a started flow to this browser.
pub fn binding_cookie(flow: Flow, binding: String, https: bool) -> Cookie<'static> {
    cookies::build(
        flow.cookie_name(https),
        binding,
        https,
        oauth::STATE_TTL_SECS,
    )
}

/// The cookie that removes a flow's binding from the browser.
pub fn clear_cookie(flow: Flow, https: bool) -> Cookie<'static> {
    cookies::removal(flow.cookie_name(https), https)
}

/// Every outcome of a callback clears the flow's cookie and keeps the code and state out of
/// referrers and caches.
pub fn seal(res: &mut HttpResponse, flow: Flow, https: bool) {
    if let Err(e) = res.add_cookie(&clear_cookie(flow, https)) {
        tracing::error!(error = %e, flow = flow.as_str(), "could not clear the OAuth flow's cookie");
    }
    let headers = res.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The status, title and message of the page a person sees when the sign-in's callback step
/// refuses. (The install flow's pages speak the visitor's language: `routes::install`.)
pub fn explain_sign_in(refusal: &CallbackRefusal) -> (StatusCode, &'static str, String) {
    const AGAIN: &str = "Please sign in again";
    match refusal {
        CallbackRefusal::Cancelled => (
            StatusCode::FORBIDDEN,
            "Sign-in cancelled",
            "You cancelled on Slack's page, so you are not signed in.".into(),
        ),
        CallbackRefusal::SlackSaid(code) => (
            StatusCode::BAD_REQUEST,
            "Slack did not sign you in",
            format!("Slack answered “{code}”."),
        ),
        CallbackRefusal::State(StateRefusal::Missing) => (
            StatusCode::BAD_REQUEST,
            "This link is incomplete",
            format!("The address is missing its state, so it cannot be checked. {AGAIN}."),
        ),
        CallbackRefusal::State(StateRefusal::Unknown) => (
            StatusCode::BAD_REQUEST,
            "This link has already been used",
            format!(
                "Each sign-in link works once, and this one is unknown or was already used. {AGAIN}."
            ),
        ),
        CallbackRefusal::State(StateRefusal::Expired) => (
            StatusCode::BAD_REQUEST,
            "This link has expired",
            format!("Sign-in links are valid for ten minutes. {AGAIN}."),
        ),
        CallbackRefusal::State(StateRefusal::OtherBrowser) => (
            StatusCode::FORBIDDEN,
            "This sign-in was started elsewhere",
            format!(
                "The sign-in was started in another browser, so it cannot be finished here. {AGAIN} in this browser."
            ),
        ),
        CallbackRefusal::State(StateRefusal::WrongFlow) => (
            StatusCode::BAD_REQUEST,
            "This link belongs to an installation",
            format!("The address was issued for installing the app, not for signing in. {AGAIN}."),
        ),
        CallbackRefusal::MissingCode => (
            StatusCode::BAD_REQUEST,
            "Slack sent no code",
            format!("The address came back from Slack without its code. {AGAIN}."),
        ),
        CallbackRefusal::CodeRefused(code) => (
            StatusCode::BAD_REQUEST,
            "Slack refused the sign-in",
            format!("Slack did not accept the code (“{code}”). {AGAIN}."),
        ),
        CallbackRefusal::SlackUnreachable => (
            StatusCode::BAD_GATEWAY,
            "Slack did not answer",
            "Slack could not be reached to finish signing in. Please try again in a moment.".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_binding_cookies_use_the_host_prefix() {
        let cookie = binding_cookie(Flow::Install, "b".into(), true);
        assert_eq!(cookie.name(), "__Host-lobby_install");
        assert_eq!(cookie.secure(), Some(true));
        let removal = clear_cookie(Flow::Install, true);
        assert_eq!(removal.secure(), Some(true));
        assert_eq!(removal.path(), Some("/"));
    }

    #[test]
    fn sign_in_refusals_are_worded_for_signing_in() {
        let (status, title, message) =
            explain_sign_in(&CallbackRefusal::State(StateRefusal::Expired));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(title, "This link has expired");
        assert!(message.starts_with("Sign-in links are valid"));
        let (_, title, _) = explain_sign_in(&CallbackRefusal::Cancelled);
        assert_eq!(title, "Sign-in cancelled");
    }
}
