//! Slack's OAuth endpoints through the `oauth2` crate: both authorize URLs (Add to Slack and
//! Sign in with Slack), the code exchanges and the refresh of rotating tokens, with Slack's extra
//! answer fields typed.
//!
//! Slack refuses an exchange with HTTP 200 and `{"ok":false,"error":…}`, which oauth2 would read
//! as a success without an access token. [`SlackHttp`] sits between oauth2 and reqwest and turns
//! such an answer into a standard OAuth error (HTTP 400, `{"error": code}`), so oauth2 reports
//! Slack's own code (`invalid_code`, `bad_redirect_uri`, …).
//!
//! One answer does not fit oauth2's types: an install that granted only user scopes has no
//! top-level access token, which `StandardTokenResponse` requires. That answer is read directly
//! (see [`SlackClient::oauth_v2_access`]) so the install can still refuse it and revoke the
//! user token it carries.

use std::future::Future;
use std::pin::Pin;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use oauth2::http::{Response, StatusCode};
use oauth2::{
    AccessToken, AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, ExtraTokenFields, HttpClientError, HttpRequest, HttpResponse,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::client::{SlackClient, SlackError, transport_error};
use super::methods::{AuthedUser, NamedRef, OAuthV2Access, OpenIdToken};

/// The `oauth2` client with the token answer type `TR`; which endpoints are set is left to each use.
type OAuthClient<TR, HasAuthUrl, HasTokenUrl> = Client<
    BasicErrorResponse,
    TR,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    HasTokenUrl,
>;

type OAuthError = RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>;

/// The HTTP client oauth2 calls: reqwest (Lobby's pooled client, redirects off), with Slack's
/// `ok:false` answers rewritten into OAuth errors.
pub struct SlackHttp(reqwest::Client);

impl SlackHttp {
    /// `http` must not follow redirects, so a code or secret is never replayed to another host.
    pub fn new(http: reqwest::Client) -> Self {
        Self(http)
    }
}

impl<'c> AsyncHttpClient<'c> for SlackHttp {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.call(request).await?;
            Ok(as_oauth_error(response))
        })
    }
}

/// Slack's HTTP 200 `{"ok":false,"error":code}` becomes HTTP 400 `{"error":code}`, the error
/// answer of RFC 6749 (5.2); every other answer passes unchanged.
pub fn as_oauth_error(response: HttpResponse) -> HttpResponse {
    #[derive(Deserialize)]
    struct Envelope {
        ok: Option<bool>,
        error: Option<String>,
    }
    if response.status() != StatusCode::OK {
        return response;
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope>(response.body()) else {
        return response;
    };
    if envelope.ok != Some(false) {
        return response;
    }
    let code = envelope
        .error
        .filter(|code| !code.is_empty())
        .unwrap_or_else(|| "unknown_error".to_owned());
    let body = serde_json::json!({ "error": code })
        .to_string()
        .into_bytes();
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::BAD_REQUEST;
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, body)
}

/// What `oauth.v2.access` answers beside the standard token fields.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct InstallFields {
    pub app_id: Option<String>,
    /// Absent (null) for an organization-wide Enterprise Grid install.
    pub team: Option<NamedRef>,
    pub enterprise: Option<NamedRef>,
    pub authed_user: Option<AuthedUserFields>,
    pub bot_user_id: Option<String>,
    pub is_enterprise_install: bool,
}

impl ExtraTokenFields for InstallFields {}

/// The installing user, and their token when user scopes were granted. oauth2's token types
/// keep the tokens out of `Debug`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthedUserFields {
    pub id: String,
    pub scope: Option<String>,
    pub access_token: Option<AccessToken>,
    pub token_type: Option<String>,
    pub refresh_token: Option<RefreshToken>,
    pub expires_in: Option<i64>,
}

/// What `openid.connect.token` answers beside the standard token fields.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct OpenIdFields {
    /// A signed JWT; see `admin::id_token`.
    pub id_token: AccessToken,
}

impl ExtraTokenFields for OpenIdFields {}

pub type InstallTokenResponse = StandardTokenResponse<InstallFields, BasicTokenType>;
pub type OpenIdTokenResponse = StandardTokenResponse<OpenIdFields, BasicTokenType>;

/// The Add to Slack consent URL. Slack wants its scopes comma-separated, so they go as one
/// oauth2 scope; `user_scope` (Slack's own) and `team` are extra parameters.
pub fn install_url(
    authorize: &Url,
    client_id: &str,
    redirect_uri: &Url,
    state: &str,
    scopes: &[String],
    user_scopes: &[String],
    team: Option<&str>,
) -> Url {
    let client: OAuthClient<InstallTokenResponse, _, _> =
        Client::new(ClientId::new(client_id.to_owned()))
            .set_auth_uri(AuthUrl::from_url(authorize.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let mut request = client
        .authorize_url(|| CsrfToken::new(state.to_owned()))
        .add_extra_param("user_scope", user_scopes.join(","));
    if !scopes.is_empty() {
        request = request.add_scope(Scope::new(scopes.join(",")));
    }
    if let Some(team) = team {
        request = request.add_extra_param("team", team);
    }
    request.url().0
}

/// The Sign in with Slack URL, with the `nonce` the id_token must carry back.
pub fn sign_in_url(
    authorize: &Url,
    client_id: &str,
    redirect_uri: &Url,
    state: &str,
    nonce: &str,
    scopes: &str,
    team: Option<&str>,
) -> Url {
    let client: OAuthClient<OpenIdTokenResponse, _, _> =
        Client::new(ClientId::new(client_id.to_owned()))
            .set_auth_uri(AuthUrl::from_url(authorize.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let mut request = client
        .authorize_url(|| CsrfToken::new(state.to_owned()))
        .add_scope(Scope::new(scopes.to_owned()))
        .add_extra_param("nonce", nonce);
    if let Some(team) = team {
        request = request.add_extra_param("team", team);
    }
    request.url().0
}

impl SlackClient {
    fn token_client<TR: TokenResponse>(
        &self,
        method: &str,
        client_id: &str,
        client_secret: &SecretString,
        auth_type: AuthType,
    ) -> Result<OAuthClient<TR, oauth2::EndpointNotSet, oauth2::EndpointSet>, SlackError> {
        let token_url = self
            .base()
            .join(method)
            .map_err(|e| SlackError::Config(format!("bad method name {method:?}: {e}")))?;
        Ok(Client::new(ClientId::new(client_id.to_owned()))
            .set_client_secret(ClientSecret::new(client_secret.expose_secret().to_owned()))
            .set_auth_type(auth_type)
            .set_token_uri(TokenUrl::from_url(token_url)))
    }

    fn oauth_http(&self) -> SlackHttp {
        SlackHttp::new(self.http().clone())
    }

    /// Exchanges an OAuth v2 `code` for tokens. The app's credentials go by HTTP Basic, as
    /// Slack recommends; `redirect_uri` must be exactly the one sent to the authorize page.
    pub async fn oauth_v2_access(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        code: &str,
        redirect_uri: &str,
    ) -> Result<OAuthV2Access, SlackError> {
        const METHOD: &str = "oauth.v2.access";
        let redirect = redirect_url(redirect_uri)?;
        let client = self.token_client::<InstallTokenResponse>(
            METHOD,
            client_id,
            client_secret,
            AuthType::BasicAuth,
        )?;
        let http = self.oauth_http();
        self.observed(METHOD, async {
            match client
                .exchange_code(AuthorizationCode::new(code.to_owned()))
                .set_redirect_uri(std::borrow::Cow::Owned(redirect))
                .request_async(&http)
                .await
            {
                Ok(answer) => Ok(install_answer(&answer)),
                // The one answer oauth2 cannot type: no bot token, only the installer's.
                Err(RequestTokenError::Parse(_, body)) => user_only_answer(&body)
                    .ok_or_else(|| decode_error(METHOD, "the token answer is incomplete")),
                Err(e) => Err(oauth_failure(METHOD, e)),
            }
        })
        .await
    }

    /// Trades a refresh token for a fresh access token (token rotation). The answer carries
    /// the next refresh token: each one works once.
    pub async fn oauth_v2_refresh(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        refresh_token: &SecretString,
    ) -> Result<OAuthV2Access, SlackError> {
        const METHOD: &str = "oauth.v2.access";
        let client = self.token_client::<InstallTokenResponse>(
            METHOD,
            client_id,
            client_secret,
            AuthType::BasicAuth,
        )?;
        let http = self.oauth_http();
        let refresh = RefreshToken::new(refresh_token.expose_secret().to_owned());
        self.observed(METHOD, async {
            client
                .exchange_refresh_token(&refresh)
                .request_async(&http)
                .await
                .map(|answer| install_answer(&answer))
                .map_err(|e| oauth_failure(METHOD, e))
        })
        .await
    }

    /// Exchanges a Sign in with Slack `code` for tokens. Slack documents the app's
    /// credentials as arguments of this method, so they go in the (POST) body.
    pub async fn openid_connect_token(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        code: &str,
        redirect_uri: &str,
    ) -> Result<OpenIdToken, SlackError> {
        const METHOD: &str = "openid.connect.token";
        let redirect = redirect_url(redirect_uri)?;
        let client = self.token_client::<OpenIdTokenResponse>(
            METHOD,
            client_id,
            client_secret,
            AuthType::RequestBody,
        )?;
        let http = self.oauth_http();
        self.observed(METHOD, async {
            let answer = client
                .exchange_code(AuthorizationCode::new(code.to_owned()))
                .set_redirect_uri(std::borrow::Cow::Owned(redirect))
                .request_async(&http)
                .await
                .map_err(|e| oauth_failure(METHOD, e))?;
            Ok(OpenIdToken {
                access_token: secret(answer.access_token()),
                token_type: answer.token_type().as_ref().to_owned(),
                id_token: secret(&answer.extra_fields().id_token),
                refresh_token: answer.refresh_token().map(|t| secret_of(t.secret())),
                expires_in: expires_in(&answer),
            })
        })
        .await
    }
}

fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl, SlackError> {
    RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|_| SlackError::Config("the redirect URI is not a URL".to_owned()))
}

fn secret(token: &AccessToken) -> SecretString {
    secret_of(token.secret())
}

fn secret_of(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

fn expires_in<TR: TokenResponse>(answer: &TR) -> Option<i64> {
    answer
        .expires_in()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}

/// The typed answer in the shape the rest of Lobby reads.
fn install_answer(answer: &InstallTokenResponse) -> OAuthV2Access {
    let extra = answer.extra_fields();
    let authed_user = extra
        .authed_user
        .as_ref()
        .map(|user| AuthedUser {
            id: user.id.clone(),
            scope: user.scope.clone(),
            access_token: user.access_token.as_ref().map(secret),
            token_type: user.token_type.clone(),
            refresh_token: user.refresh_token.as_ref().map(|t| secret_of(t.secret())),
            expires_in: user.expires_in,
        })
        .unwrap_or_default();
    OAuthV2Access {
        access_token: Some(secret(answer.access_token())),
        token_type: Some(answer.token_type().as_ref().to_owned()),
        // Slack separates scopes with commas, oauth2 splits on spaces: put them back as Slack sent them.
        scope: answer
            .scopes()
            .map(|scopes| {
                scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        bot_user_id: extra.bot_user_id.clone(),
        app_id: extra.app_id.clone().unwrap_or_default(),
        team: extra.team.clone(),
        enterprise: extra.enterprise.clone(),
        authed_user,
        is_enterprise_install: extra.is_enterprise_install,
        refresh_token: answer.refresh_token().map(|t| secret_of(t.secret())),
        expires_in: expires_in(answer),
    }
}

/// A successful install answer without a bot token (only user scopes were granted), read as
/// Slack sent it; `None` for anything else oauth2 could not read.
fn user_only_answer(body: &[u8]) -> Option<OAuthV2Access> {
    #[derive(Deserialize)]
    struct Ok {
        ok: bool,
    }
    let ok: Ok = serde_json::from_slice(body).ok()?;
    let answer: OAuthV2Access = serde_json::from_slice(body).ok()?;
    (ok.ok && answer.access_token.is_none() && answer.authed_user.access_token.is_some())
        .then_some(answer)
}

fn decode_error(method: &str, message: &str) -> SlackError {
    SlackError::Decode {
        method: method.to_owned(),
        message: message.to_owned(),
    }
}

/// oauth2's error as a [`SlackError`]; messages never quote the answer, which may hold tokens.
fn oauth_failure(method: &str, error: OAuthError) -> SlackError {
    match error {
        RequestTokenError::ServerResponse(answer) => match answer.error().as_ref() {
            "ratelimited" => SlackError::RateLimited {
                method: method.to_owned(),
                retry_after: super::client::DEFAULT_RETRY_AFTER,
            },
            code => SlackError::Api {
                method: method.to_owned(),
                code: code.to_owned(),
                needed: None,
                provided: None,
            },
        },
        RequestTokenError::Request(HttpClientError::Reqwest(e)) => transport_error(method, *e),
        RequestTokenError::Request(e) => SlackError::Transport {
            method: method.to_owned(),
            message: e.to_string(),
        },
        RequestTokenError::Parse(e, _) => decode_error(
            method,
            &format!("unexpected token answer at `{}`", e.path()),
        ),
        RequestTokenError::Other(message) => SlackError::Transport {
            method: method.to_owned(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use oauth2::http::Response;
    use serde_json::json;

    use super::*;

    fn answer(status: u16, content_type: &str, body: &str) -> HttpResponse {
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .header(CONTENT_LENGTH, body.len())
            .body(body.as_bytes().to_vec())
            .expect("a response")
    }

    fn json_body(response: &HttpResponse) -> serde_json::Value {
        serde_json::from_slice(response.body()).expect("json")
    }

    #[test]
    fn an_ok_false_answer_becomes_an_oauth_error_with_slacks_code() {
        let slack = answer(
            200,
            "application/json; charset=utf-8",
            r#"{"ok":false,"error":"invalid_code","warning":"superfluous_charset"}"#,
        );
        let oauth = as_oauth_error(slack);
        assert_eq!(oauth.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json_body(&oauth), json!({"error": "invalid_code"}));
        assert_eq!(oauth.headers()[CONTENT_TYPE], "application/json");
        assert!(oauth.headers().get(CONTENT_LENGTH).is_none());
    }

    #[test]
    fn an_ok_false_answer_without_a_code_still_fails() {
        let oauth = as_oauth_error(answer(200, "application/json", r#"{"ok":false}"#));
        assert_eq!(oauth.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json_body(&oauth), json!({"error": "unknown_error"}));
    }

    #[test]
    fn successes_other_statuses_and_non_json_pass_unchanged() {
        for (status, body) in [
            (
                200,
                r#"{"ok":true,"access_token":"xoxb-1","token_type":"bot"}"#,
            ),
            (200, "<html>not json</html>"),
            (429, r#"{"ok":false,"error":"ratelimited"}"#),
            (503, ""),
        ] {
            let passed = as_oauth_error(answer(status, "application/json", body));
            assert_eq!(passed.status().as_u16(), status, "{body}");
            assert_eq!(passed.body(), body.as_bytes(), "{body}");
        }
    }

    #[test]
    fn the_install_url_carries_slacks_parameters() {
        let url = install_url(
            &Url::parse("https://slack.com/oauth/v2/authorize").expect("url"),
            "111.222",
            &Url::parse("https://lobby.example.com/slack/oauth_redirect").expect("url"),
            "the-state",
            &["chat:write".to_owned(), "commands".to_owned()],
            &["admin.users:write".to_owned()],
            Some("T1"),
        );
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "111.222");
        assert_eq!(q["scope"], "chat:write,commands");
        assert_eq!(q["user_scope"], "admin.users:write");
        assert_eq!(q["state"], "the-state");
        assert_eq!(
            q["redirect_uri"],
            "https://lobby.example.com/slack/oauth_redirect"
        );
        assert_eq!(q["team"], "T1");
        assert_eq!(url.path(), "/oauth/v2/authorize");
    }

    #[test]
    fn the_sign_in_url_carries_the_nonce() {
        let url = sign_in_url(
            &Url::parse("https://slack.com/openid/connect/authorize").expect("url"),
            "111.222",
            &Url::parse("https://lobby.example.com/admin/oauth_redirect").expect("url"),
            "the-state",
            "the-nonce",
            "openid,email,profile",
            None,
        );
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["scope"], "openid,email,profile");
        assert_eq!(q["nonce"], "the-nonce");
        assert_eq!(q["state"], "the-state");
        assert!(!q.contains_key("team"));
    }

    #[test]
    fn only_a_successful_answer_with_just_a_user_token_is_read_directly() {
        let user_only = json!({"ok": true, "app_id": "A1", "team": {"id": "T1", "name": "T"},
            "authed_user": {"id": "U1", "scope": "chat:write", "access_token": "xoxp-1", "token_type": "user"}});
        let answer = user_only_answer(user_only.to_string().as_bytes()).expect("read");
        assert!(answer.access_token.is_none());
        assert_eq!(answer.authed_user.id, "U1");
        assert!(user_only_answer(br#"{"ok": true, "app_id": "A1"}"#).is_none());
        assert!(user_only_answer(b"garbage").is_none());
    }
}
