//! OAuth state for the install and login flows, done the way Bolt does it and a little safer.
//!
//! A state is 256 random bits from the OS. Only its SHA-256 is stored, with the flow and a
//! ten-minute expiry, and it is bound to the browser that started the flow by a second random
//! value kept in an HttpOnly cookie (also stored hashed). The callback consumes the state with a
//! single `DELETE … RETURNING`, so it works once, then checks the flow and the browser.

use subtle::ConstantTimeEq;

use crate::db::{self, Db};
use crate::opaque::{random_token, token_hash};
use crate::slack::client::SlackError;

/// How long a started flow may take.
pub const STATE_TTL_SECS: i64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Install,
    Login,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Install => "install",
            Flow::Login => "login",
        }
    }

    /// The cookie binding a flow to its browser; `__Host-` (https only) pins it to this origin.
    pub fn cookie_name(self, https: bool) -> &'static str {
        match (self, https) {
            (Flow::Install, true) => "__Host-lobby_install",
            (Flow::Install, false) => "lobby_install",
            (Flow::Login, true) => "__Host-lobby_login",
            (Flow::Login, false) => "lobby_login",
        }
    }
}

/// A freshly issued state: `state` goes to Slack in the authorize URL, `binding` to the browser in
/// the flow's cookie ([`Flow::cookie_name`], for [`STATE_TTL_SECS`]).
pub struct IssuedState {
    pub state: String,
    pub nonce: Option<String>,
    pub binding: String,
}

/// Why a callback's state was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateRefusal {
    Missing,
    /// Never issued, or already used.
    Unknown,
    Expired,
    /// Issued to another browser (the cookie is missing or does not match).
    OtherBrowser,
    /// Issued for the other flow (a login state at the install callback, or the reverse).
    WrongFlow,
}

/// What a valid state was issued with.
#[derive(Debug)]
pub struct AcceptedState {
    pub nonce: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthStateError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

pub async fn issue(db: &Db, flow: Flow) -> Result<IssuedState, OAuthStateError> {
    let state = random_token(32).map_err(OAuthStateError::Random)?;
    let binding = random_token(32).map_err(OAuthStateError::Random)?;
    let nonce = match flow {
        Flow::Login => Some(random_token(16).map_err(OAuthStateError::Random)?),
        Flow::Install => None,
    };
    db::oauth_states::insert(
        db,
        &token_hash(&state),
        flow.as_str(),
        &token_hash(&binding),
        nonce.as_deref(),
        db::now() + STATE_TTL_SECS,
    )
    .await?;
    Ok(IssuedState {
        state,
        nonce,
        binding,
    })
}

/// Consumes `state` (whatever the outcome, it cannot be used again) and checks it was issued for
/// `flow` to the browser holding `cookie`.
pub async fn consume(
    db: &Db,
    flow: Flow,
    state: Option<&str>,
    cookie: Option<&str>,
) -> Result<Result<AcceptedState, StateRefusal>, sqlx::Error> {
    let Some(state) = state.filter(|s| !s.is_empty()) else {
        return Ok(Err(StateRefusal::Missing));
    };
    let Some(row) = db::oauth_states::consume(db, &token_hash(state)).await? else {
        return Ok(Err(StateRefusal::Unknown));
    };
    if row.flow != flow.as_str() {
        return Ok(Err(StateRefusal::WrongFlow));
    }
    if row.expires_at < db::now() {
        return Ok(Err(StateRefusal::Expired));
    }
    let same_browser = cookie.is_some_and(|c| bool::from(token_hash(c).ct_eq(&row.browser_hash)));
    if !same_browser {
        return Ok(Err(StateRefusal::OtherBrowser));
    }
    Ok(Ok(AcceptedState { nonce: row.nonce }))
}

/// Makes a state unusable without checking it, when the flow ended on Slack's page.
pub async fn burn(db: &Db, state: &str) -> Result<(), sqlx::Error> {
    db::oauth_states::consume(db, &token_hash(state))
        .await
        .map(|_| ())
}

/// What Slack sent back to a flow's callback, and the browser's binding cookie.
#[derive(Debug, Clone, Copy, Default)]
pub struct Callback<'a> {
    pub error: Option<&'a str>,
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    /// The flow's browser-binding cookie.
    pub binding: Option<&'a str>,
}

/// A callback whose state was good: the code to exchange, and what the state was issued with.
#[derive(Debug)]
pub struct Returned<'a> {
    pub code: &'a str,
    pub accepted: AcceptedState,
}

/// Why a callback ends before (or at) the code exchange, in either flow. Each flow's service
/// adds its own refusals after the exchange; the routes word them as pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackRefusal {
    /// The person pressed Cancel on Slack's page (`error=access_denied`).
    Cancelled,
    /// Slack sent another `error` (at most 64 characters of it).
    SlackSaid(String),
    State(StateRefusal),
    MissingCode,
    /// Slack refused the code or a call right after it (`invalid_code`, `bad_redirect_uri`, …).
    CodeRefused(String),
    /// Slack could not be reached, or answered nonsense.
    SlackUnreachable,
}

impl CallbackRefusal {
    /// A failed Slack call during a flow: Slack's own error code is a refusal of the code, anything
    /// else means Slack did not answer.
    pub fn from_slack(error: SlackError, flow: Flow) -> Self {
        match error {
            SlackError::Api { code, .. } => CallbackRefusal::CodeRefused(code),
            other => {
                tracing::warn!(error = %other, flow = flow.as_str(), "Slack did not answer during an OAuth flow");
                CallbackRefusal::SlackUnreachable
            }
        }
    }
}

/// The step both callbacks begin with: Slack's `error` (the state is burnt so the link cannot be
/// replayed with a code later), then the state, consumed and checked, then the code.
pub async fn returned<'a>(
    db: &Db,
    flow: Flow,
    callback: &Callback<'a>,
) -> Result<Result<Returned<'a>, CallbackRefusal>, sqlx::Error> {
    if let Some(error) = callback.error {
        if let Some(s) = callback.state {
            burn(db, s).await?;
        }
        return Ok(Err(match error {
            "access_denied" => CallbackRefusal::Cancelled,
            other => CallbackRefusal::SlackSaid(other.chars().take(64).collect()),
        }));
    }
    let accepted = match consume(db, flow, callback.state, callback.binding).await? {
        Ok(accepted) => accepted,
        Err(refusal) => return Ok(Err(CallbackRefusal::State(refusal))),
    };
    Ok(match callback.code.filter(|c| !c.is_empty()) {
        Some(code) => Ok(Returned { code, accepted }),
        None => Err(CallbackRefusal::MissingCode),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_use_the_host_prefix() {
        assert_eq!(Flow::Install.cookie_name(true), "__Host-lobby_install");
        assert_eq!(Flow::Login.cookie_name(false), "lobby_login");
    }
}
