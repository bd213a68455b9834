//! The Web API and consent pages end to end, over HTTP against a spawned emulator.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use secrecy::ExposeSecret;
use serde_json::Value;
use url::Url;

use crate::emulator::seed::*;
use crate::emulator::{EmulatorConfig, Fault, Gate, RunningEmulator, TokenKind, spawn};

const REDIRECT: &str = "https://lobby.test/slack/oauth_redirect";

struct Harness {
    running: RunningEmulator,
    http: reqwest::Client,
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn error(&self) -> Option<&str> {
        self.body["error"].as_str()
    }
}

async fn start(config: EmulatorConfig) -> Harness {
    let running = spawn(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("emulator starts");
    // The app's registered Redirect URLs live under this URL.
    running
        .emulator
        .set_app_url(Url::parse("https://lobby.test/").expect("url"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Harness { running, http }
}

async fn demo() -> Harness {
    start(EmulatorConfig::demo()).await
}

impl Harness {
    fn secret(&self) -> String {
        self.running
            .emulator
            .config()
            .client_secret
            .expose_secret()
            .to_owned()
    }

    fn client_id(&self) -> String {
        self.running.emulator.config().client_id.clone()
    }

    /// Posts the consent form and returns where the emulator redirected.
    async fn decide(&self, path: &str, fields: &[(&str, &str)]) -> Url {
        let url = self.running.emulator.base_url().join(path).expect("url");
        let response = self
            .http
            .post(url)
            .form(fields)
            .send()
            .await
            .expect("consent post");
        assert_eq!(
            response.status(),
            StatusCode::FOUND,
            "consent answered {}",
            response.status()
        );
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .expect("location");
        Url::parse(location).expect("absolute location")
    }

    async fn install_code(
        &self,
        workspace: &str,
        user: &str,
        scope: &str,
        user_scope: &str,
    ) -> String {
        let client_id = self.client_id();
        let location = self
            .decide(
                "oauth/v2/authorize",
                &[
                    ("client_id", client_id.as_str()),
                    ("scope", scope),
                    ("user_scope", user_scope),
                    ("redirect_uri", REDIRECT),
                    ("state", "st&te"),
                    ("workspace", workspace),
                    ("user", user),
                    ("decision", "allow"),
                ],
            )
            .await;
        assert!(location.as_str().starts_with(REDIRECT));
        assert_eq!(query(&location, "state").as_deref(), Some("st&te"));
        query(&location, "code").expect("code in redirect")
    }

    async fn api(&self, method: &str, token: Option<&str>, form: &[(&str, &str)]) -> Answer {
        let url = self.running.emulator.api_url().join(method).expect("url");
        let mut request = self.http.post(url).form(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("api call");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn exchange(&self, code: &str) -> Answer {
        let url = self
            .running
            .emulator
            .api_url()
            .join("oauth.v2.access")
            .expect("url");
        let response = self
            .http
            .post(url)
            .basic_auth(self.client_id(), Some(self.secret()))
            .form(&[("code", code), ("redirect_uri", REDIRECT)])
            .send()
            .await
            .expect("exchange");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.json().await.expect("json"),
        }
    }

    fn bot_token(&self, scopes: &[&str]) -> String {
        self.running
            .emulator
            .mint_token(DEMO_TEAM, DEMO_ADMIN, TokenKind::Bot, scopes)
    }
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn the_consent_page_names_the_app_workspace_and_scopes() {
    let h = demo().await;
    let mut url = h.running.emulator.authorize_url();
    url.query_pairs_mut()
        .append_pair("client_id", &h.client_id())
        .append_pair("scope", "chat:write,commands")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("team", OTHER_TEAM);
    let page = h.http.get(url).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("Lobby"));
    assert!(html.contains("Send messages as the app"));
    assert!(html.contains(&format!("<option value=\"{OTHER_TEAM}\" selected>")));
    assert!(html.contains("value=\"allow\"") && html.contains("value=\"cancel\""));
}

#[tokio::test]
async fn an_unknown_client_id_gets_a_400_page() {
    let h = demo().await;
    let mut url = h.running.emulator.authorize_url();
    url.query_pairs_mut()
        .append_pair("client_id", "nope")
        .append_pair("scope", "chat:write");
    assert_eq!(
        h.http.get(url).send().await.expect("page").status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn cancel_redirects_with_access_denied_and_the_state() {
    let h = demo().await;
    let client_id = h.client_id();
    let location = h
        .decide(
            "oauth/v2/authorize",
            &[
                ("client_id", &client_id),
                ("scope", "chat:write"),
                ("redirect_uri", REDIRECT),
                ("state", "s1"),
                ("decision", "cancel"),
            ],
        )
        .await;
    assert_eq!(query(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&location, "state").as_deref(), Some("s1"));
    assert_eq!(query(&location, "code"), None);
}

#[tokio::test]
async fn an_install_code_exchanges_once_for_bot_and_user_tokens() {
    let h = demo().await;
    let code = h
        .install_code(DEMO_TEAM, DEMO_ADMIN, "chat:write,commands", "identify")
        .await;
    let answer = h.exchange(&code).await;
    let body = &answer.body;
    assert_eq!(body["ok"], true, "{body}");
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("xoxb-"))
    );
    assert_eq!(body["token_type"], "bot");
    assert_eq!(body["scope"], "chat:write,commands");
    assert_eq!(body["team"]["id"], DEMO_TEAM);
    assert_eq!(body["team"]["name"], "Demo Community");
    assert_eq!(body["enterprise"], Value::Null);
    assert_eq!(body["is_enterprise_install"], false);
    assert_eq!(body["authed_user"]["id"], DEMO_ADMIN);
    assert_eq!(body["authed_user"]["token_type"], "user");
    assert!(
        body["authed_user"]["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("xoxp-"))
    );
    assert!(body.get("refresh_token").is_none());

    let again = h.exchange(&code).await;
    assert_eq!(again.error(), Some("invalid_code"));
    let calls = h.running.emulator.calls_to("oauth.v2.access");
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].basic_client_id.as_deref(),
        Some(h.client_id().as_str())
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let h = demo().await;
    let code = h
        .install_code(DEMO_TEAM, DEMO_ADMIN, "chat:write", "")
        .await;
    h.running.emulator.expire_code(&code);
    assert_eq!(h.exchange(&code).await.error(), Some("invalid_code"));

    let code = h
        .install_code(DEMO_TEAM, DEMO_ADMIN, "chat:write", "")
        .await;
    h.running.emulator.advance_clock(Duration::from_secs(601));
    assert_eq!(h.exchange(&code).await.error(), Some("invalid_code"));
}

#[tokio::test]
async fn a_different_redirect_uri_is_refused() {
    let h = demo().await;
    let code = h
        .install_code(DEMO_TEAM, DEMO_ADMIN, "chat:write", "")
        .await;
    let secret = h.secret();
    let client_id = h.client_id();
    let form = [
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", "https://evil.test/cb"),
    ];
    assert_eq!(
        h.api("oauth.v2.access", None, &form).await.error(),
        Some("bad_redirect_uri")
    );
}

#[tokio::test]
async fn form_client_credentials_work_and_wrong_ones_are_refused() {
    let h = demo().await;
    let code = h
        .install_code(DEMO_TEAM, DEMO_ADMIN, "chat:write", "")
        .await;
    let (client_id, secret) = (h.client_id(), h.secret());
    let wrong_secret = [
        ("client_id", client_id.as_str()),
        ("client_secret", "wrong"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(
        h.api("oauth.v2.access", None, &wrong_secret).await.error(),
        Some("bad_client_secret")
    );
    let wrong_client = [
        ("client_id", "123.456"),
        ("client_secret", secret.as_str()),
        ("code", &code),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(
        h.api("oauth.v2.access", None, &wrong_client).await.error(),
        Some("invalid_client_id")
    );
    let right = [
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("code", &code),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(
        h.api("oauth.v2.access", None, &right).await.body["ok"],
        true
    );
}

#[tokio::test]
async fn rotation_issues_refresh_tokens_that_work_once() {
    let h = start(EmulatorConfig {
        token_rotation: true,
        ..EmulatorConfig::demo()
    })
    .await;
    let code = h
        .install_code(DEMO_TEAM, DEMO_ADMIN, "chat:write", "")
        .await;
    let body = h.exchange(&code).await.body;
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("xoxe.xoxb-1-"))
    );
    assert_eq!(body["expires_in"], 43_200);
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    assert!(refresh.starts_with("xoxe-1-"));

    let (client_id, secret) = (h.client_id(), h.secret());
    let form = [
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let renewed = h.api("oauth.v2.access", None, &form).await.body;
    assert_eq!(renewed["ok"], true, "{renewed}");
    assert_eq!(renewed["token_type"], "bot");
    assert_ne!(renewed["refresh_token"], refresh.as_str());
    let new_token = renewed["access_token"].as_str().expect("token");
    assert_eq!(
        h.api("auth.test", Some(new_token), &[]).await.body["ok"],
        true
    );

    assert_eq!(
        h.api("oauth.v2.access", None, &form).await.error(),
        Some("invalid_refresh_token")
    );
    h.running
        .emulator
        .advance_clock(Duration::from_secs(43_200));
    assert_eq!(
        h.api("auth.test", Some(new_token), &[]).await.error(),
        Some("token_expired")
    );
    let issued = h.running.emulator.issued_tokens();
    assert!(issued.contains(&refresh) && issued.iter().any(|t| t == new_token));
}

#[tokio::test]
async fn an_org_wide_install_has_no_team() {
    let h = demo().await;
    let code = h.install_code(ORG, ORG_ADMIN, "chat:write", "").await;
    let body = h.exchange(&code).await.body;
    assert_eq!(body["team"], Value::Null);
    assert_eq!(body["enterprise"]["id"], ORG);
    assert_eq!(body["is_enterprise_install"], true);
}

#[tokio::test]
async fn a_person_outside_the_chosen_workspace_is_sent_back_to_the_page() {
    let h = demo().await;
    let client_id = h.client_id();
    let url = h.running.emulator.authorize_url();
    let response = h
        .http
        .post(url)
        .form(&[
            ("client_id", client_id.as_str()),
            ("scope", "chat:write"),
            ("workspace", OTHER_TEAM),
            ("user", DEMO_ADMIN),
            ("decision", "allow"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn auth_test_reports_the_bot_and_its_scopes() {
    let h = demo().await;
    let code = h
        .install_code(DEMO_TEAM, DEMO_ADMIN, "chat:write,users:read", "")
        .await;
    let token = h.exchange(&code).await.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let answer = h.api("auth.test", Some(&token), &[]).await;
    assert_eq!(answer.body["team_id"], DEMO_TEAM);
    assert!(
        answer.body["bot_id"]
            .as_str()
            .is_some_and(|b| b.starts_with('B'))
    );
    assert_eq!(answer.body["is_enterprise_install"], false);
    assert_eq!(
        answer
            .headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok()),
        Some("chat:write,users:read")
    );
}

#[tokio::test]
async fn missing_unknown_and_revoked_tokens_are_refused() {
    let h = demo().await;
    assert_eq!(
        h.api("auth.test", None, &[]).await.error(),
        Some("not_authed")
    );
    assert_eq!(
        h.api("auth.test", Some("xoxb-1-2-3"), &[]).await.error(),
        Some("invalid_auth")
    );
    let token = h.bot_token(&["chat:write"]);
    let dry_run = h
        .api("auth.revoke", Some(&token), &[("test", "true")])
        .await;
    assert_eq!(dry_run.body["revoked"], false);
    assert_eq!(
        h.api("auth.revoke", Some(&token), &[]).await.body["revoked"],
        true
    );
    assert_eq!(
        h.api("auth.test", Some(&token), &[]).await.error(),
        Some("token_revoked")
    );
    assert_eq!(
        h.api(
            "chat.postMessage",
            Some(&token),
            &[("channel", DEMO_GENERAL), ("text", "hi")]
        )
        .await
        .error(),
        Some("token_revoked")
    );
}

#[tokio::test]
async fn a_form_token_field_works_like_a_bearer_token() {
    let h = demo().await;
    let token = h.bot_token(&[]);
    assert_eq!(
        h.api("auth.test", None, &[("token", token.as_str())])
            .await
            .body["ok"],
        true
    );
    assert_eq!(
        h.running.emulator.calls()[0].token.as_deref(),
        Some(token.as_str())
    );
}

#[tokio::test]
async fn an_unknown_method_says_so() {
    let h = demo().await;
    let answer = h.api("chat.teleport", None, &[]).await;
    assert_eq!(
        (answer.status, answer.error()),
        (StatusCode::NOT_FOUND, Some("unknown_method"))
    );
}

#[tokio::test]
async fn rate_limit_faults_happen_exactly_times_times() {
    let h = demo().await;
    let token = h.bot_token(&[]);
    h.running.emulator.inject(
        "auth.test",
        Fault::RateLimited {
            retry_after_secs: 7,
        },
        2,
    );
    for _ in 0..2 {
        let answer = h.api("auth.test", Some(&token), &[]).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            answer
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
        assert_eq!(answer.error(), Some("ratelimited"));
    }
    assert_eq!(
        h.api("auth.test", Some(&token), &[]).await.status,
        StatusCode::OK
    );
    let statuses: Vec<u16> = h
        .running
        .emulator
        .calls()
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(statuses, vec![429, 429, 200]);
}

#[tokio::test]
async fn status_and_error_faults_apply_to_their_method_or_any() {
    let h = demo().await;
    let token = h.bot_token(&[]);
    h.running.emulator.inject("*", Fault::Status(503), 1);
    h.running
        .emulator
        .inject("auth.test", Fault::Error("invalid_auth".into()), 1);
    assert_eq!(
        h.api("api.test", None, &[]).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(h.api("api.test", None, &[]).await.body["ok"], true);
    let faulted = h.api("auth.test", Some(&token), &[]).await;
    assert_eq!(
        (faulted.status, faulted.error()),
        (StatusCode::OK, Some("invalid_auth"))
    );
    assert_eq!(h.api("auth.test", Some(&token), &[]).await.body["ok"], true);
}

#[tokio::test]
async fn a_slow_fault_delays_one_answer() {
    let h = demo().await;
    h.running
        .emulator
        .inject("api.test", Fault::Slow(Duration::from_millis(300)), 1);
    let started = Instant::now();
    assert_eq!(h.api("api.test", None, &[]).await.body["ok"], true);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn a_held_call_waits_for_its_gate_and_holds_only_one_call() {
    let h = demo().await;
    let gate = Gate::new();
    h.running
        .emulator
        .inject("api.test", Fault::Held(gate.clone()), 1);
    let held = {
        let url = h.running.emulator.api_url().join("api.test").unwrap();
        tokio::spawn(async move { reqwest::get(url).await.unwrap().status() })
    };
    gate.arrived().await;

    // The fault was used up by the held call: the next one is answered while it waits.
    assert_eq!(h.api("api.test", None, &[]).await.body["ok"], true);
    assert!(!held.is_finished(), "still held");
    assert_eq!(h.running.emulator.calls_to("api.test").len(), 1);

    gate.release();
    assert_eq!(held.await.unwrap(), StatusCode::OK);
    assert_eq!(h.running.emulator.calls_to("api.test").len(), 2);
    assert_eq!(gate.arrivals(), 1);
}

#[tokio::test]
async fn users_list_paginates_through_every_member_once() {
    let h = demo().await;
    let token = h.bot_token(&["users:read"]);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let answer = h
            .api(
                "users.list",
                Some(&token),
                &[("limit", "100"), ("cursor", &cursor)],
            )
            .await;
        assert_eq!(answer.body["ok"], true, "{}", answer.body);
        pages += 1;
        seen.extend(
            answer.body["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|m| m["id"].to_string()),
        );
        cursor = answer.body["response_metadata"]["next_cursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    let expected = h
        .running
        .emulator
        .world()
        .users
        .iter()
        .filter(|u| u.team_id == DEMO_TEAM)
        .count();
    assert!(pages >= 3);
    assert_eq!(seen.len(), expected);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), expected);
}

#[tokio::test]
async fn users_info_shows_roles_and_email_only_with_the_email_scope() {
    let h = demo().await;
    let plain = h.bot_token(&["users:read"]);
    let owner = h
        .api("users.info", Some(&plain), &[("user", DEMO_OWNER)])
        .await
        .body;
    assert_eq!(owner["user"]["is_primary_owner"], true);
    assert_eq!(owner["user"]["profile"].get("email"), None);
    let with_email = h.bot_token(&["users:read", "users:read.email"]);
    let admin = h
        .api("users.info", Some(&with_email), &[("user", DEMO_ADMIN)])
        .await
        .body;
    assert_eq!(admin["user"]["is_admin"], true);
    assert_eq!(admin["user"]["profile"]["email"], "ada@demo-community.test");
    assert_eq!(
        h.api("users.info", Some(&plain), &[("user", OTHER_ADMIN)])
            .await
            .error(),
        Some("user_not_found")
    );
    let missing = h
        .api(
            "users.info",
            Some(&h.bot_token(&[])),
            &[("user", DEMO_ADMIN)],
        )
        .await;
    assert_eq!(
        (missing.error(), missing.body["needed"].as_str()),
        (Some("missing_scope"), Some("users:read"))
    );
}

#[tokio::test]
async fn conversations_list_hides_private_channels_the_bot_is_not_in() {
    let h = demo().await;
    let token = h.bot_token(&["channels:read", "groups:read"]);
    let names = |body: &Value| -> Vec<String> {
        body["channels"]
            .as_array()
            .expect("channels")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let all = h
        .api(
            "conversations.list",
            Some(&token),
            &[("types", "public_channel,private_channel")],
        )
        .await
        .body;
    assert_eq!(names(&all), vec!["general", "random", "old-news"]);
    let bot = h.running.emulator.app_bot(DEMO_TEAM);
    h.running
        .emulator
        .add_channel_member(DEMO_ADMINS, &bot.user_id);
    let live = h
        .api(
            "conversations.list",
            Some(&token),
            &[
                ("types", "public_channel,private_channel"),
                ("exclude_archived", "true"),
            ],
        )
        .await
        .body;
    assert_eq!(names(&live), vec!["general", "random", "lobby-admins"]);
}

#[tokio::test]
async fn chat_post_message_stores_the_message_and_refuses_what_slack_refuses() {
    let h = demo().await;
    let token = h.bot_token(&["chat:write", "chat:write.public"]);
    let post = |channel: &'static str, text: String| {
        let token = token.clone();
        let h = &h;
        async move {
            h.api(
                "chat.postMessage",
                Some(&token),
                &[("channel", channel), ("text", &text)],
            )
            .await
        }
    };
    let sent = post("#general", "hello".into()).await.body;
    assert_eq!(sent["channel"], DEMO_GENERAL);
    assert_eq!(sent["message"]["text"], "hello");
    let messages = h.running.emulator.messages(DEMO_GENERAL);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["ts"], sent["ts"]);

    assert_eq!(
        post("C0NOPE0001", "x".into()).await.error(),
        Some("channel_not_found")
    );
    assert_eq!(
        post(DEMO_ADMINS, "x".into()).await.error(),
        Some("not_in_channel")
    );
    assert_eq!(
        post(DEMO_ARCHIVED, "x".into()).await.error(),
        Some("is_archived")
    );
    assert_eq!(
        post(DEMO_GENERAL, " ".into()).await.error(),
        Some("no_text")
    );
    assert_eq!(
        post(DEMO_GENERAL, "x".repeat(40_001)).await.error(),
        Some("msg_too_long")
    );
    assert_eq!(
        post(OTHER_GENERAL, "x".into()).await.error(),
        Some("channel_not_found")
    );

    let reply = h
        .api(
            "chat.postMessage",
            Some(&token),
            &[
                ("channel", DEMO_GENERAL),
                ("text", "re"),
                ("thread_ts", sent["ts"].as_str().unwrap_or("")),
            ],
        )
        .await;
    assert_eq!(reply.body["message"]["thread_ts"], sent["ts"]);
}

#[tokio::test]
async fn users_admin_invite_takes_only_legacy_tokens_and_refuses_repeats() {
    let h = demo().await;
    let emulator = &h.running.emulator;
    let user_token = emulator.mint_token(DEMO_TEAM, DEMO_ADMIN, TokenKind::User, &["admin"]);
    let legacy = emulator.mint_token(DEMO_TEAM, DEMO_ADMIN, TokenKind::Legacy, &[]);
    let invite = |token: String, email: &'static str| {
        let h = &h;
        async move {
            h.api(
                "users.admin.invite",
                Some(&token),
                &[
                    ("email", email),
                    ("channels", "C0GENERAL1,C0RANDOM01"),
                    ("first_name", "Nia"),
                ],
            )
            .await
        }
    };
    assert_eq!(
        invite(user_token, "nia@example.test").await.error(),
        Some("not_allowed_token_type")
    );
    assert_eq!(
        invite(legacy.clone(), "nia@example.test").await.body["ok"],
        true
    );
    assert_eq!(
        invite(legacy.clone(), "NIA@example.test").await.error(),
        Some("already_invited")
    );
    assert_eq!(
        invite(legacy.clone(), "ada@demo-community.test")
            .await
            .error(),
        Some("already_in_team")
    );
    assert_eq!(
        invite(legacy, "not-an-email").await.error(),
        Some("invalid_email")
    );
    let invites = emulator.invites();
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0].channel_ids, vec![DEMO_GENERAL, DEMO_RANDOM]);
    assert_eq!(invites[0].first_name.as_deref(), Some("Nia"));
}

#[tokio::test]
async fn admin_users_invite_needs_an_org_wide_admin_token_with_the_admin_scope() {
    let h = demo().await;
    let emulator = &h.running.emulator;
    let user = |team: &str, user: &str, scopes: &[&str]| {
        emulator.mint_token(team, user, TokenKind::User, scopes)
    };
    let weak = user(ORG, ORG_ADMIN, &["users:read"]);
    let strong = user(ORG, ORG_ADMIN, &["admin.users:write"]);
    let workspace_level = user(DEMO_TEAM, DEMO_ADMIN, &["admin.users:write"]);
    let not_an_org_admin = user(ORG, ORG_MEMBER, &["admin.users:write"]);
    let bot = emulator.mint_token(ORG, ORG_ADMIN, TokenKind::Bot, &["admin.users:write"]);
    let form = [
        ("team_id", ORG_TEAM),
        ("email", "new@example.test"),
        ("channel_ids", ORG_GENERAL),
    ];
    let refused = h.api("admin.users.invite", Some(&weak), &form).await.body;
    assert_eq!(refused["error"], "missing_scope");
    assert_eq!(refused["needed"], "admin.users:write");
    assert_eq!(refused["provided"], "users:read");
    for (token, error) in [
        (&workspace_level, "feature_not_enabled"),
        (&not_an_org_admin, "failed_to_validate_caller"),
        (&bot, "is_bot"),
    ] {
        let answer = h.api("admin.users.invite", Some(token), &form).await;
        assert_eq!(answer.error(), Some(error));
    }
    let missing = h
        .api("admin.users.invite", Some(&strong), &form[..2])
        .await
        .body;
    assert_eq!(missing["error"], "invalid_arguments");
    assert_eq!(
        missing["response_metadata"]["messages"][0],
        "[ERROR] missing required field: channel_ids"
    );
    let elsewhere = [
        ("team_id", DEMO_TEAM),
        ("email", "new@example.test"),
        ("channel_ids", DEMO_GENERAL),
    ];
    assert_eq!(
        h.api("admin.users.invite", Some(&strong), &elsewhere)
            .await
            .error(),
        Some("team_not_found")
    );
    assert_eq!(
        h.api("admin.users.invite", Some(&strong), &form).await.body["ok"],
        true
    );
    assert_eq!(
        h.api("admin.users.invite", Some(&strong), &form)
            .await
            .error(),
        Some("already_in_team_invited_user")
    );
}

#[tokio::test]
async fn admin_scopes_are_granted_only_to_org_wide_installs_by_an_org_admin() {
    let h = demo().await;
    let client_id = h.client_id();
    let consent = |workspace: &'static str, user: &'static str| {
        let (h, client_id) = (&h, client_id.clone());
        async move {
            let response = h
                .http
                .post(h.running.emulator.authorize_url())
                .form(&[
                    ("client_id", client_id.as_str()),
                    ("scope", "chat:write"),
                    ("user_scope", "admin.users:write"),
                    ("redirect_uri", REDIRECT),
                    ("workspace", workspace),
                    ("user", user),
                    ("decision", "allow"),
                ])
                .send()
                .await
                .expect("post");
            let status = response.status();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let (status, page) = consent(DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("invalid_scope"), "{page}");
    assert_eq!(
        consent(ORG_TEAM, ORG_ADMIN).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(consent(ORG, ORG_MEMBER).await.0, StatusCode::BAD_REQUEST);

    let code = h
        .install_code(ORG, ORG_ADMIN, "chat:write", "admin.users:write")
        .await;
    let body = h.exchange(&code).await.body;
    assert_eq!(body["is_enterprise_install"], true);
    assert_eq!(body["authed_user"]["scope"], "admin.users:write");
}

#[tokio::test]
async fn an_empty_json_body_is_a_call_without_arguments() {
    let h = demo().await;
    let token = h.bot_token(&["chat:write"]);
    let url = h.running.emulator.api_url().join("auth.test").expect("url");
    let answer: Value = h
        .http
        .post(url)
        .bearer_auth(&token)
        .header("content-type", "application/json;charset=utf-8")
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["team_id"], DEMO_TEAM);
}

#[tokio::test]
async fn a_json_call_without_a_charset_succeeds_with_slacks_warning() {
    let h = demo().await;
    let token = h.bot_token(&["channels:join"]);
    let url = h
        .running
        .emulator
        .api_url()
        .join("conversations.join")
        .expect("url");
    let join = || {
        h.http
            .post(url.clone())
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(format!(r#"{{"channel":"{DEMO_RANDOM}"}}"#))
            .send()
    };
    let first: Value = join().await.expect("call").json().await.expect("json");
    assert_eq!(first["ok"], true);
    assert_eq!(first["warning"], "missing_charset");
    let again: Value = join().await.expect("call").json().await.expect("json");
    assert_eq!(
        again["response_metadata"]["warnings"],
        serde_json::json!(["already_in_channel", "missing_charset"])
    );
}

#[tokio::test]
async fn conversations_info_and_members_show_what_the_caller_may_see() {
    let h = demo().await;
    let token = h.bot_token(&["channels:read"]);
    let info = h
        .api(
            "conversations.info",
            Some(&token),
            &[("channel", DEMO_RANDOM)],
        )
        .await
        .body;
    assert_eq!(info["channel"]["name"], "random");
    assert_eq!(info["channel"]["is_member"], false);
    assert_eq!(
        h.api(
            "conversations.info",
            Some(&token),
            &[("channel", DEMO_ADMINS)]
        )
        .await
        .error(),
        Some("channel_not_found"),
        "a private channel the bot is not in stays hidden"
    );
    let mut members = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = h
            .api(
                "conversations.members",
                Some(&token),
                &[
                    ("channel", DEMO_GENERAL),
                    ("limit", "100"),
                    ("cursor", &cursor),
                ],
            )
            .await
            .body;
        members.extend(page["members"].as_array().cloned().unwrap_or_default());
        cursor = page["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    let general = h.running.emulator.world();
    let expected = general.channel(DEMO_GENERAL).map(|c| c.members.len());
    assert_eq!(Some(members.len()), expected);
    let unscoped = h.bot_token(&["chat:write"]);
    let refused = h
        .api(
            "conversations.members",
            Some(&unscoped),
            &[("channel", DEMO_GENERAL)],
        )
        .await
        .body;
    assert_eq!(refused["error"], "missing_scope");
    assert_eq!(refused["needed"], "channels:read");
}

#[tokio::test]
async fn users_lookup_by_email_needs_the_email_scope() {
    let h = demo().await;
    let reader = h.bot_token(&["users:read"]);
    let email_reader = h.bot_token(&["users:read", "users:read.email"]);
    let lookup = |token: String, email: &'static str| {
        let h = &h;
        async move {
            h.api("users.lookupByEmail", Some(&token), &[("email", email)])
                .await
        }
    };
    assert_eq!(
        lookup(reader, "max@demo-community.test").await.body["needed"],
        "users:read.email"
    );
    let found = lookup(email_reader.clone(), "MAX@demo-community.test")
        .await
        .body;
    assert_eq!(found["user"]["id"], DEMO_MEMBER);
    assert_eq!(found["user"]["profile"]["email"], "max@demo-community.test");
    assert_eq!(
        lookup(email_reader.clone(), "mia@other-workspace.test")
            .await
            .error(),
        Some("users_not_found")
    );
    assert_eq!(
        h.api("users.lookupByEmail", Some(&email_reader), &[])
            .await
            .error(),
        Some("invalid_arguments")
    );
}

#[tokio::test]
async fn a_bot_posts_only_where_it_is_a_member_unless_it_may_post_publicly() {
    let h = demo().await;
    let member_only = h.bot_token(&["chat:write", "channels:join"]);
    let post = |token: String| {
        let h = &h;
        async move {
            h.api(
                "chat.postMessage",
                Some(&token),
                &[("channel", DEMO_RANDOM), ("text", "hi")],
            )
            .await
        }
    };
    assert_eq!(
        post(member_only.clone()).await.error(),
        Some("not_in_channel")
    );
    let public = h.bot_token(&["chat:write", "chat:write.public"]);
    assert_eq!(post(public.clone()).await.body["ok"], true);
    assert_eq!(
        h.api(
            "chat.postMessage",
            Some(&public),
            &[("channel", DEMO_ADMINS), ("text", "hi")]
        )
        .await
        .error(),
        Some("not_in_channel"),
        "chat:write.public does not open private channels"
    );
    h.api(
        "conversations.join",
        Some(&member_only),
        &[("channel", DEMO_RANDOM)],
    )
    .await;
    assert_eq!(post(member_only.clone()).await.body["ok"], true);
}

#[tokio::test]
async fn an_ephemeral_message_goes_to_a_member_and_is_not_kept() {
    let h = demo().await;
    let token = h.bot_token(&["chat:write", "chat:write.public"]);
    let ephemeral = |user: &'static str| {
        let (h, token) = (&h, token.clone());
        async move {
            h.api(
                "chat.postEphemeral",
                Some(&token),
                &[("channel", DEMO_RANDOM), ("user", user), ("text", "psst")],
            )
            .await
        }
    };
    let sent = ephemeral(DEMO_MEMBER).await.body;
    assert_eq!(sent["ok"], true);
    assert!(sent["message_ts"].as_str().is_some());
    assert_eq!(
        ephemeral("U0FILL0001").await.error(),
        Some("user_not_in_channel")
    );
    assert!(h.running.emulator.messages(DEMO_RANDOM).is_empty());
}

#[tokio::test]
async fn auth_teams_list_names_every_workspace_of_an_org_install() {
    let h = demo().await;
    let org_bot = h
        .running
        .emulator
        .mint_token(ORG, ORG_ADMIN, TokenKind::Bot, &["team:read"]);
    let teams = h.api("auth.teams.list", Some(&org_bot), &[]).await.body;
    assert_eq!(teams["teams"][0]["id"], ORG_TEAM);
    assert_eq!(teams["response_metadata"]["next_cursor"], "");
    let demo_bot = h.bot_token(&[]);
    let teams = h.api("auth.teams.list", Some(&demo_bot), &[]).await.body;
    assert_eq!(teams["teams"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn apps_uninstall_revokes_every_token_of_the_installation() {
    let h = demo().await;
    let code = h
        .install_code(DEMO_TEAM, DEMO_ADMIN, "chat:write", "users:read")
        .await;
    let body = h.exchange(&code).await.body;
    let bot = body["access_token"].as_str().unwrap_or_default().to_owned();
    let user = body["authed_user"]["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let other = h
        .running
        .emulator
        .mint_token(OTHER_TEAM, OTHER_ADMIN, TokenKind::Bot, &[]);
    let (client_id, secret) = (h.client_id(), h.secret());
    let wrong = h
        .api(
            "apps.uninstall",
            Some(&bot),
            &[("client_id", client_id.as_str()), ("client_secret", "nope")],
        )
        .await;
    assert_eq!(wrong.error(), Some("bad_client_secret"));
    let done = h
        .api(
            "apps.uninstall",
            Some(&bot),
            &[
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
            ],
        )
        .await;
    assert_eq!(done.body["ok"], true);
    for token in [&bot, &user] {
        assert_eq!(
            h.api("auth.test", Some(token), &[]).await.error(),
            Some("token_revoked")
        );
    }
    assert_eq!(h.api("auth.test", Some(&other), &[]).await.body["ok"], true);
}

#[tokio::test]
async fn the_three_step_upload_records_the_file_and_posts_it() {
    let h = demo().await;
    let token = h.bot_token(&["files:write", "channels:join"]);
    // Sharing to a channel needs membership, as posting does.
    h.api(
        "conversations.join",
        Some(&token),
        &[("channel", DEMO_GENERAL)],
    )
    .await;
    let step_one = h
        .api(
            "files.getUploadURLExternal",
            Some(&token),
            &[("filename", "report.csv"), ("length", "11")],
        )
        .await
        .body;
    let upload_url = step_one["upload_url"].as_str().expect("upload url");
    let file_id = step_one["file_id"].as_str().expect("file id");
    assert!(upload_url.starts_with(h.running.emulator.base_url().as_str()));

    let uploaded = h
        .http
        .post(upload_url)
        .body("a,b\n1,2\n3,4")
        .send()
        .await
        .expect("upload");
    assert_eq!(uploaded.status(), StatusCode::OK);
    assert_eq!(uploaded.text().await.expect("text"), "OK - 11");

    let files = format!(r#"[{{"id":"{file_id}","title":"Weekly report"}}]"#);
    let done = h
        .api(
            "files.completeUploadExternal",
            Some(&token),
            &[
                ("files", &files),
                ("channel_id", DEMO_GENERAL),
                ("initial_comment", "here"),
            ],
        )
        .await
        .body;
    assert_eq!(done["files"][0]["id"], file_id);
    assert_eq!(done["files"][0]["title"], "Weekly report");
    let upload = h.running.emulator.uploads().pop().expect("upload");
    assert_eq!(upload.bytes.as_deref(), Some(&b"a,b\n1,2\n3,4"[..]));
    assert_eq!((upload.declared_length, upload.completed), (11, true));
    assert_eq!(h.running.emulator.messages(DEMO_GENERAL)[0]["text"], "here");
    let again = h
        .api(
            "files.completeUploadExternal",
            Some(&token),
            &[("files", &files)],
        )
        .await;
    assert_eq!(again.error(), Some("file_not_found"));
}

#[tokio::test]
async fn sign_in_with_slack_yields_an_id_token_and_user_info() {
    let h = demo().await;
    let client_id = h.client_id();
    let location = h
        .decide(
            "openid/connect/authorize",
            &[
                ("client_id", client_id.as_str()),
                ("response_type", "code"),
                ("scope", "openid,email,profile"),
                ("redirect_uri", "https://lobby.test/admin/oauth_redirect"),
                ("nonce", "n-1"),
                ("workspace", DEMO_TEAM),
                ("user", DEMO_ADMIN),
                ("decision", "allow"),
            ],
        )
        .await;
    let code = query(&location, "code").expect("code");
    let secret = h.secret();
    let form = [
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", "https://lobby.test/admin/oauth_redirect"),
    ];
    assert_eq!(
        h.api("oauth.v2.access", None, &form).await.error(),
        Some("invalid_code")
    );
    let token = h.api("openid.connect.token", None, &form).await.body;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(
        token["id_token"].as_str().map(|t| t.split('.').count()),
        Some(3)
    );
    let info = h
        .api(
            "openid.connect.userInfo",
            token["access_token"].as_str(),
            &[],
        )
        .await
        .body;
    assert_eq!(info["https://slack.com/user_id"], DEMO_ADMIN);
    assert_eq!(info["https://slack.com/team_id"], DEMO_TEAM);
    assert_eq!(info["email"], "ada@demo-community.test");
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["https://slack.com/team_domain"], "demo-community");
}

#[tokio::test]
async fn the_consent_page_redirects_only_to_registered_redirect_urls() {
    let h = demo().await;
    for redirect in [
        "https://evil.test/slack/oauth_redirect",
        "https://lobby.test/elsewhere",
        "https://lobby.test/slack/oauth_redirectx",
        "http://lobby.test/slack/oauth_redirect",
    ] {
        let mut url = h.running.emulator.authorize_url();
        url.query_pairs_mut()
            .append_pair("client_id", &h.client_id())
            .append_pair("scope", "chat:write")
            .append_pair("redirect_uri", redirect);
        let res = h.http.get(url).send().await.expect("answer");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{redirect}");
        assert!(res.headers().get("location").is_none());
    }
    let mut url = h.running.emulator.authorize_url();
    url.query_pairs_mut()
        .append_pair("client_id", &h.client_id())
        .append_pair("scope", "chat:write")
        .append_pair(
            "redirect_uri",
            "https://lobby.test/slack/oauth_redirect/deeper",
        );
    let res = h.http.get(url).send().await.expect("answer");
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a path below a registered URL is fine"
    );
}

#[test]
fn the_call_log_is_bounded() {
    let mut state = crate::emulator::state::State::seeded();
    for _ in 0..crate::emulator::state::MAX_RECORDED_CALLS + 5 {
        state.record_call(crate::emulator::record::RecordedCall {
            method: "api.test".into(),
            params: Default::default(),
            token: None,
            basic_client_id: None,
            status: 200,
            error: None,
            at: time::OffsetDateTime::UNIX_EPOCH,
        });
    }
    assert!(state.calls.len() <= crate::emulator::state::MAX_RECORDED_CALLS);
}
