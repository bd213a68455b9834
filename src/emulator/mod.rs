//! The built-in Slack emulator: a faithful, in-memory fake of the Slack endpoints Lobby uses.
//!
//! Mounted at `/_emulator/slack/` in demo mode, spawned on port 0 by tests (which read every call it saw
//! and inject faults), and run alone by `lobby emulator`. It speaks Slack's wire format: consent pages,
//! `api/{method}` Web API calls, upload URLs and response URLs; and it signs what it sends to the app.

mod api;
mod codes;
mod config;
mod consent;
mod faults;
mod html;
mod id_token;
mod index;
mod invites;
mod mailbox;
mod multipart;
mod random;
mod record;
mod response_urls;
mod scopes;
pub mod seed;
mod send;
mod server;
mod shared_invite;
mod state;
mod tokens;
mod uploads;
mod world;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix_web::web;
use time::OffsetDateTime;
use url::Url;

pub use config::{DEFAULT_TOKEN_LIFETIME, EmulatorConfig};
pub use faults::{ANY_METHOD, Fault, Gate};
pub use id_token::IdTokenFlaw;
pub use invites::{Invite, InviteApi};
pub use mailbox::{DemoMail, Mailbox};
pub use record::{RecordedCall, ResponseUrlPost};
pub use send::{SendError, Signing, SlashCommand};
pub use server::{RunningEmulator, spawn};
pub use tokens::TokenKind;
pub use uploads::Upload;
pub use world::{APP_ID, AppBot, Channel, Enterprise, Team, User, World};

use state::State;
use tokens::Grant;

/// A handle on one emulated Slack; clones share it.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: EmulatorConfig,
    base_url: Url,
    app_url: Mutex<Option<Url>>,
    /// Further app roots whose OAuth callbacks are registered Redirect URLs (a Slack app may list
    /// several, e.g. one per deployment).
    more_app_urls: Mutex<Vec<Url>>,
    state: Mutex<State>,
    http: reqwest::Client,
    /// The deprecated verification token Slack still puts in payloads.
    verification_token: String,
    /// Demo mode's mailbox: what Lobby would have mailed.
    mailbox: Mailbox,
}

impl Emulator {
    /// `base_url` is where the emulator's root is reachable; a missing trailing `/` is added.
    pub fn new(config: EmulatorConfig, base_url: Url) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                config,
                base_url: with_trailing_slash(base_url),
                app_url: Mutex::new(None),
                more_app_urls: Mutex::new(Vec::new()),
                state: Mutex::new(State::seeded()),
                http,
                verification_token: random::alphanumeric(24),
                mailbox: Mailbox::default(),
            }),
        }
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// Where the emulator's root is reachable (always ends with `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// Mounts every route relative to the scope (or app) it is configured in.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone()))
            .route("/", web::get().to(index::show))
            .route("/", web::post().to(index::send_command))
            .route("/oauth/v2/authorize", web::get().to(consent::install_page))
            .route(
                "/oauth/v2/authorize",
                web::post().to(consent::install_decision),
            )
            .route(
                "/openid/connect/authorize",
                web::get().to(consent::openid_page),
            )
            .route(
                "/openid/connect/authorize",
                web::post().to(consent::openid_decision),
            )
            .route("/openid/connect/keys", web::get().to(id_token::keys))
            .route("/api/{method}", web::get().to(api::handle))
            .route("/api/{method}", web::post().to(api::handle))
            .route("/response/{id}", web::post().to(response_urls::receive))
            .route("/join/{team_id}", web::get().to(shared_invite::page))
            .route("/join/{team_id}", web::post().to(shared_invite::join))
            .service(
                web::resource("/upload/v1/{key}")
                    .app_data(web::PayloadConfig::new(uploads::MAX_UPLOAD_BYTES))
                    .route(web::post().to(uploads::receive)),
            );
    }

    /// The demo mailbox (mounted by the app at `/_emulator/mail/`).
    pub fn mailbox(&self) -> &Mailbox {
        &self.inner.mailbox
    }

    /// The workspace's shared invite link (Slack's `https://join.slack.com/t/…`): base/join/{team_id}
    pub fn shared_invite_url(&self, team_id: &str) -> Url {
        self.url(&format!("join/{team_id}"))
    }

    /// `SLACK_API_URL`: base/api/
    pub fn api_url(&self) -> Url {
        self.url("api/")
    }

    /// `SLACK_OAUTH_AUTHORIZE_URL`: base/oauth/v2/authorize
    pub fn authorize_url(&self) -> Url {
        self.url("oauth/v2/authorize")
    }

    /// `SLACK_OPENID_AUTHORIZE_URL`: base/openid/connect/authorize
    pub fn openid_authorize_url(&self) -> Url {
        self.url("openid/connect/authorize")
    }

    /// `SLACK_OPENID_KEYS_URL`: base/openid/connect/keys, where the id_token signing key is published.
    pub fn openid_keys_url(&self) -> Url {
        self.url("openid/connect/keys")
    }

    /// The app's root; events, commands and interactions go to `{app_url}slack/events`.
    pub fn set_app_url(&self, url: Url) {
        *lock(&self.inner.app_url) = Some(with_trailing_slash(url));
    }

    /// Registers another app root's OAuth callbacks as Redirect URLs, as a Slack app's settings
    /// page allows.
    pub fn register_app_url(&self, url: Url) {
        lock(&self.inner.more_app_urls).push(with_trailing_slash(url));
    }

    /// Every app root whose callbacks are registered Redirect URLs.
    pub fn app_urls(&self) -> Vec<Url> {
        let mut urls: Vec<Url> = self.app_url().into_iter().collect();
        urls.extend(lock(&self.inner.more_app_urls).iter().cloned());
        urls
    }

    pub fn app_url(&self) -> Option<Url> {
        lock(&self.inner.app_url).clone()
    }

    /// Every Web API call, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.lock().calls.clone()
    }

    /// The calls of one method, in order.
    pub fn calls_to(&self, method: &str) -> Vec<RecordedCall> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Every access and refresh token ever issued (for tests that look for leaks).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.lock().tokens.issued().to_vec()
    }

    /// Every response URL handed to the app, oldest first.
    pub fn response_urls(&self) -> Vec<Url> {
        self.lock().response_urls.urls.clone()
    }

    /// Every accepted post to a response URL, in order.
    pub fn response_url_posts(&self) -> Vec<ResponseUrlPost> {
        self.lock().response_urls.posts.clone()
    }

    /// A channel's messages as stored, oldest first (empty for an unknown channel).
    pub fn messages(&self, channel_id: &str) -> Vec<serde_json::Value> {
        self.lock()
            .world
            .channel(channel_id)
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    /// Invitations accepted by `users.admin.invite` and `admin.users.invite`, in order.
    pub fn invites(&self) -> Vec<Invite> {
        self.lock().invites.clone()
    }

    /// Files from the external upload flow, completed or not.
    pub fn uploads(&self) -> Vec<Upload> {
        self.lock().uploads.clone()
    }

    /// The next `times` calls of `method` (`"*"` for any) suffer `fault`.
    pub fn inject(&self, method: &str, fault: Fault, times: u32) {
        self.lock().faults.inject(method, fault, times);
    }

    /// A copy of the whole world as it is now.
    pub fn world(&self) -> World {
        self.lock().world.clone()
    }

    pub fn add_team(&self, team: Team) {
        self.lock().world.teams.push(team);
    }

    pub fn add_user(&self, user: User) {
        self.lock().world.users.push(user);
    }

    /// Changes a user in place (a promotion, a demotion, a deactivation); false if there is none.
    pub fn update_user(&self, id: &str, change: impl FnOnce(&mut User)) -> bool {
        let mut state = self.lock();
        match state.world.users.iter_mut().find(|u| u.id == id) {
            Some(user) => {
                change(user);
                true
            }
            None => false,
        }
    }

    pub fn add_channel(&self, channel: Channel) {
        self.lock().world.channels.push(channel);
    }

    /// Adds a member to a channel; false if there is no such channel.
    pub fn add_channel_member(&self, channel_id: &str, user_id: &str) -> bool {
        self.lock().world.join_channel(channel_id, user_id)
    }

    /// The app's bot user in a team (or enterprise), created if the app was never installed there.
    pub fn app_bot(&self, team_id: &str) -> AppBot {
        self.lock().world.ensure_app_bot(team_id)
    }

    /// Issues a token without an OAuth dance, e.g. a legacy token or a user token with `admin.users:write`.
    /// Bot tokens act as the app's bot in `team_id`; user and legacy tokens act as `user_id`. The ids are
    /// taken as given, so a test can also mint tokens for teams or people it adds later; an enterprise
    /// id gives a token of an org-wide install.
    pub fn mint_token(
        &self,
        team_id: &str,
        user_id: &str,
        kind: TokenKind,
        scopes: &[&str],
    ) -> String {
        let mut state = self.lock();
        let (team, enterprise_id) = if state.world.enterprise(team_id).is_some() {
            (None, Some(team_id.to_owned()))
        } else {
            let enterprise_id = state
                .world
                .team(team_id)
                .and_then(|t| t.enterprise_id.clone());
            (Some(team_id.to_owned()), enterprise_id)
        };
        let (acting_user, bot_id) = match kind {
            TokenKind::Bot => {
                let bot = state.world.ensure_app_bot(team_id);
                (bot.user_id, Some(bot.bot_id))
            }
            TokenKind::User | TokenKind::Legacy => (user_id.to_owned(), None),
        };
        let grant = Grant {
            kind,
            team_id: team,
            enterprise_id,
            user_id: acting_user,
            bot_id,
            authed_user_id: user_id.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        state.tokens.mint(grant, None)
    }

    /// The next id_token `openid.connect.token` issues is spoiled by `flaw`.
    pub fn spoil_next_id_token(&self, flaw: IdTokenFlaw) {
        self.lock().id_token_flaw = Some(flaw);
    }

    /// Makes an authorization code unusable, as if its ten minutes had passed.
    pub fn expire_code(&self, code: &str) {
        let mut state = self.lock();
        let now = state.now();
        state.codes.expire(code, now);
    }

    /// Moves the emulator's clock forward (codes, rotating tokens and response URLs then expire).
    pub fn advance_clock(&self, by: std::time::Duration) {
        let by = time::Duration::try_from(by).unwrap_or(time::Duration::MAX);
        let mut state = self.lock();
        state.clock_offset = state.clock_offset.saturating_add(by);
    }

    /// The emulator's idea of now (the wall clock plus any advance).
    pub fn now(&self) -> OffsetDateTime {
        self.lock().now()
    }

    fn url(&self, path: &str) -> Url {
        // `path` is a fixed relative path, so joining it onto an http(s) base cannot fail.
        self.inner
            .base_url
            .join(path)
            .unwrap_or_else(|_| self.inner.base_url.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    fn verification_token(&self) -> &str {
        &self.inner.verification_token
    }
}

/// A panic while holding the lock leaves plain data behind, still fine to read and change.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// For unit tests elsewhere in the crate: id_tokens as the emulator signs them, and its published key.
#[cfg(test)]
pub(crate) mod test_support {
    use jsonwebtoken::DecodingKey;
    use serde_json::{Map, Value};

    use super::id_token;

    pub(crate) fn sign_id_token(
        claims: &Map<String, Value>,
        flaw: Option<id_token::IdTokenFlaw>,
    ) -> String {
        id_token::sign(claims, flaw).expect("the emulator signs")
    }

    pub(crate) fn published_key() -> DecodingKey {
        let jwk = serde_json::from_value(id_token::jwks()["keys"][0].clone()).expect("a JWK");
        DecodingKey::from_jwk(&jwk).expect("an RSA key")
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::{App, test as actix_test};

    use super::*;

    fn mounted() -> Emulator {
        let base = Url::parse("http://localhost:8080/_emulator/slack").expect("url");
        Emulator::new(EmulatorConfig::demo(), base)
    }

    #[test]
    fn slack_urls_hang_off_the_base_url() {
        let emulator = mounted();
        assert_eq!(
            emulator.base_url().as_str(),
            "http://localhost:8080/_emulator/slack/"
        );
        assert_eq!(
            emulator.api_url().as_str(),
            "http://localhost:8080/_emulator/slack/api/"
        );
        assert_eq!(
            emulator.authorize_url().as_str(),
            "http://localhost:8080/_emulator/slack/oauth/v2/authorize"
        );
        assert_eq!(
            emulator.openid_authorize_url().as_str(),
            "http://localhost:8080/_emulator/slack/openid/connect/authorize"
        );
        assert_eq!(
            emulator.openid_keys_url().as_str(),
            "http://localhost:8080/_emulator/slack/openid/connect/keys"
        );
    }

    #[actix_web::test]
    async fn mounted_in_a_scope_it_serves_its_index_and_web_api() {
        let emulator = mounted();
        let app = actix_test::init_service(
            App::new()
                .service(web::scope("/_emulator/slack").configure(|cfg| emulator.configure(cfg))),
        )
        .await;
        let index = actix_test::call_service(
            &app,
            actix_test::TestRequest::get()
                .uri("/_emulator/slack/")
                .to_request(),
        )
        .await;
        assert_eq!(index.status(), StatusCode::OK);
        let html = String::from_utf8(actix_test::read_body(index).await.to_vec()).expect("utf-8");
        assert!(html.contains("Demo Community") && html.contains("lobby-admins"));

        let call = actix_test::TestRequest::post()
            .uri("/_emulator/slack/api/api.test")
            .set_form([("foo", "bar")]);
        let answer: serde_json::Value =
            actix_test::call_and_read_body_json(&app, call.to_request()).await;
        assert_eq!(answer["args"]["foo"], "bar");
        assert_eq!(emulator.calls_to("api.test").len(), 1);
    }

    #[actix_web::test]
    async fn the_index_form_reports_a_command_it_could_not_deliver() {
        let emulator = mounted();
        let app =
            actix_test::init_service(App::new().configure(|cfg| emulator.configure(cfg))).await;
        let form = [
            ("user", seed::DEMO_ADMIN),
            ("channel", seed::DEMO_GENERAL),
            ("command", "lobby"),
            ("text", "help"),
        ];
        let sent = actix_test::call_service(
            &app,
            actix_test::TestRequest::post()
                .uri("/")
                .set_form(form)
                .to_request(),
        )
        .await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
        let outcome = emulator.lock().last_send_outcome.clone().expect("outcome");
        assert!(outcome.starts_with("/lobby was not delivered"), "{outcome}");
    }
}
