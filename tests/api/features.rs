//! README features end to end through HTTP: the invite modes, the join form's checks (domains,
//! code of conduct, captcha), the embedded form, and Slack's answers that need a person.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use lobby::db::communities::{CommunitySecret, CommunitySettings, SecretChange};
use lobby::db::{self, communities::Community, invite_requests::InviteRequest};
use lobby::domain::{InviteMode, InviteStatus};
use lobby::emulator::seed::{DEMO_ADMIN, DEMO_GENERAL, DEMO_TEAM};
use lobby::emulator::{Fault, TokenKind};
use secrecy::SecretString;

use crate::helpers::{
    AppOptions, TestApp, app_with_admin_api, attr_after, browser, eventually, spawn_app_with, team,
};

const SLUG: &str = "demo-community";

async fn community(app: &TestApp) -> Community {
    db::communities::by_slug(app.db(), SLUG)
        .await
        .unwrap()
        .unwrap()
}

/// Changes the demo community's settings as an admin would in the dashboard.
async fn configure(app: &TestApp, change: impl FnOnce(&mut CommunitySettings)) {
    let community = community(app).await;
    let mut settings = crate::join::settings_of(&community);
    change(&mut settings);
    db::communities::update(app.db(), community.id, &settings)
        .await
        .unwrap();
}

async fn set_secret(app: &TestApp, which: CommunitySecret, value: &str) {
    let id = community(app).await.id;
    db::communities::set_secret(
        app.db(),
        &app.state.keyring,
        id,
        which,
        &SecretChange::Set(SecretString::from(value)),
    )
    .await
    .unwrap();
}

async fn requests(app: &TestApp) -> Vec<InviteRequest> {
    let id = community(app).await.id;
    db::invite_requests::list(app.db(), id, None, None, 100)
        .await
        .unwrap()
}

async fn request_reaches(app: &TestApp, status: InviteStatus) -> InviteRequest {
    eventually(&format!("a request to reach {status}"), || async {
        requests(app).await.into_iter().find(|r| r.status == status)
    })
    .await
}

/// Sends the join form at `path` as a person would (open for a while), with `fields` added.
async fn submit(
    app: &TestApp,
    path: &str,
    email: &str,
    ip: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let key = app.state.keyring.derive_key("join-form");
    let (token, cookie) = lobby::abuse::FormToken::issue(&key, SLUG, db::now() - 10);
    let mut form: Vec<(&str, &str)> = vec![
        ("email", email),
        ("name", "Ada Lovelace"),
        ("form_token", &token),
        ("website", ""),
    ];
    form.extend_from_slice(fields);
    browser()
        .post(app.url(path))
        .header("cookie", format!("lobby_join={cookie}"))
        .header("x-forwarded-for", ip)
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn join(app: &TestApp, email: &str, ip: &str) -> reqwest::Response {
    submit(app, &format!("/join/{SLUG}"), email, ip, &[]).await
}

// ---------------------------------------------------------------------------------------------
// Invite modes

#[tokio::test]
async fn legacy_mode_invites_with_the_pasted_legacy_token() {
    let app = spawn_app_with(AppOptions {
        env: vec![("LOBBY_TRUSTED_PROXIES", "127.0.0.1".into())],
        ..Default::default()
    })
    .await;
    app.install_demo_workspace().await;
    let legacy = app
        .emulator
        .mint_token(DEMO_TEAM, DEMO_ADMIN, TokenKind::Legacy, &[]);
    configure(&app, |s| s.invite_mode = InviteMode::Legacy).await;
    set_secret(&app, CommunitySecret::LegacyToken, &legacy).await;

    let res = join(&app, "ada@example.org", "203.0.113.30").await;

    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("your request is in"));
    let request = request_reaches(&app, InviteStatus::Invited).await;
    assert_eq!(request.email, "ada@example.org");
    let calls = app.emulator.calls_to("users.admin.invite");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].param("email"), Some("ada@example.org"));
    assert_eq!(calls[0].param("channels"), Some(DEMO_GENERAL));
    assert_eq!(calls[0].token.as_deref(), Some(legacy.as_str()));
    assert!(calls[0].error.is_none());
    assert!(app.emulator.calls_to("admin.users.invite").is_empty());
}

#[tokio::test]
async fn link_mode_without_mail_hands_on_the_shared_link_and_records_the_request() {
    let app = app_with_admin_api(vec![]).await;
    let link = "https://join.slack.com/t/demo-community/shared_invite/zt-link-mode";
    configure(&app, |s| s.invite_mode = InviteMode::Link).await;
    set_secret(&app, CommunitySecret::InviteLink, link).await;

    let res = join(&app, "linda@example.org", "203.0.113.31").await;

    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], link);
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    let recorded = requests(&app).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].email, "linda@example.org");
    assert_eq!(recorded[0].status, InviteStatus::LinkShown);
    assert!(app.emulator.calls_to("admin.users.invite").is_empty());
    assert!(app.emulator.calls_to("users.admin.invite").is_empty());
}

// ---------------------------------------------------------------------------------------------
// The form's checks

#[tokio::test]
async fn allowed_and_denied_domains_refuse_with_a_message_and_send_nothing() {
    let app = app_with_admin_api(vec![]).await;
    configure(&app, |s| {
        s.allowed_domains = "example.org".into();
        s.denied_domains = "spam.example.org".into();
    })
    .await;

    for (email, message) in [
        (
            "someone@example.com",
            "This community is open to addresses at example.org only.",
        ),
        (
            "someone@spam.example.org",
            "Addresses at spam.example.org cannot join this community.",
        ),
    ] {
        let res = join(&app, email, "203.0.113.32").await;
        assert_eq!(res.status(), 400, "{email}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{email}: {html}");
    }
    assert!(requests(&app).await.is_empty());

    let res = join(&app, "member@sub.example.org", "203.0.113.33").await;
    assert_eq!(
        res.status(),
        200,
        "a subdomain of an allowed domain is allowed"
    );
    request_reaches(&app, InviteStatus::Invited).await;
    let calls = app.emulator.calls_to("admin.users.invite");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].param("email"), Some("member@sub.example.org"));
}

/// `POST /api/v1/invites` with a fresh API key of the community's workspace.
async fn api_invite(app: &TestApp, email: &str) -> reqwest::Response {
    use secrecy::ExposeSecret;
    let created =
        lobby::api_keys::create(app.db(), &team(lobby::emulator::seed::ORG), "cms", "test")
            .await
            .unwrap();
    browser()
        .post(app.url("/api/v1/invites"))
        .bearer_auth(created.key.expose_secret())
        .json(&serde_json::json!({"community": SLUG, "email": email, "name": "API Person"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_api_and_the_form_refuse_the_same_addresses_with_the_same_reason() {
    let app = app_with_admin_api(vec![]).await;
    configure(&app, |s| s.denied_domains = "spam.example.org".into()).await;

    for (email, reason, ip) in [
        (
            "someone@spam.example.org",
            "Addresses at spam.example.org cannot join this community.",
            "203.0.113.40",
        ),
        (
            "someone@mailinator.com",
            "Please use a permanent email address, not a disposable one.",
            "203.0.113.41",
        ),
        (
            "no-at-sign",
            "An email address needs an @ between the name and the domain, like name@example.org.",
            "203.0.113.42",
        ),
    ] {
        let form = join(&app, email, ip).await;
        assert_eq!(form.status(), 400, "{email}");
        let html = crate::helpers::decode_entities(&form.text().await.unwrap());
        assert!(html.contains(reason), "the form says why: {email}: {html}");

        let api = api_invite(&app, email).await;
        assert_eq!(api.status(), 400, "{email}");
        let json: serde_json::Value = api.json().await.unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["message"], reason, "the API says the same: {email}");
    }
    assert!(requests(&app).await.is_empty(), "nothing was recorded");

    let res = api_invite(&app, "welcome@example.org").await;
    assert_eq!(res.status(), 202, "an address the rules allow goes through");
}

#[tokio::test]
async fn the_api_skips_only_the_browsers_checks() {
    let app = app_with_admin_api(vec![]).await;
    // A code of conduct to tick and a captcha to solve are the browser's; the API's caller
    // vouches for its person with the workspace's key.
    configure(&app, |s| {
        s.coc_url = Some("https://example.org/conduct".into());
        s.coc_required = true;
        s.captcha_provider = Some("turnstile".into());
        s.captcha_site_key = Some("site-key".into());
    })
    .await;
    let form = join(&app, "browser@example.org", "203.0.113.43").await;
    assert_eq!(form.status(), 400);
    let api = api_invite(&app, "script@example.org").await;
    assert_eq!(
        api.status(),
        202,
        "{}",
        api.text().await.unwrap_or_default()
    );
    let recorded = requests(&app).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].email, "script@example.org");
}

#[tokio::test]
async fn the_code_of_conduct_box_must_be_ticked() {
    let app = app_with_admin_api(vec![]).await;
    configure(&app, |s| {
        s.coc_url = Some("https://example.org/conduct".into());
        s.coc_required = true;
    })
    .await;
    let page = app
        .get(&format!("/join/{SLUG}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"coc\""), "the form shows the box");
    assert!(page.contains("https://example.org/conduct"));

    let res = join(&app, "unticked@example.org", "203.0.113.34").await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Please read and accept the code of conduct.")
    );
    assert!(requests(&app).await.is_empty());

    let res = submit(
        &app,
        &format!("/join/{SLUG}"),
        "ticked@example.org",
        "203.0.113.35",
        &[("coc", "yes")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let request = request_reaches(&app, InviteStatus::Invited).await;
    assert_eq!(request.email, "ticked@example.org");
    assert_eq!(app.emulator.calls_to("admin.users.invite").len(), 1);
}

#[tokio::test]
async fn an_embedded_forms_post_is_recorded_and_answered_inside_the_frame() {
    let app = app_with_admin_api(vec![]).await;
    let embed = app.get(&format!("/join/{SLUG}/embed")).await;
    assert_eq!(embed.status(), 200);
    let html = embed.text().await.unwrap();
    let action = attr_after(&html, "class=\"stack join\"", "action").expect("the form");
    assert_eq!(
        attr_after(&html, "name=\"embed\"", "value").as_deref(),
        Some("1")
    );

    let res = submit(
        &app,
        &action,
        "framed@example.org",
        "203.0.113.36",
        &[("embed", "1")],
    )
    .await;

    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors *"),
        "the answer shows in the frame: {csp}"
    );
    assert!(res.headers().get("x-frame-options").is_none());
    let body = res.text().await.unwrap();
    assert!(body.contains("your request is in"), "{body}");
    assert!(body.contains("class=\"embed\""), "the compact answer");
    let request = request_reaches(&app, InviteStatus::Invited).await;
    assert_eq!(request.email, "framed@example.org");
    assert_eq!(
        app.emulator.calls_to("admin.users.invite")[0].param("email"),
        Some("framed@example.org")
    );
}

// ---------------------------------------------------------------------------------------------
// Captcha, verified server-side against a stand-in for the provider's siteverify

/// A siteverify stand-in: answers `success` and keeps every form it was sent.
struct Verifier {
    url: String,
    forms: Arc<Mutex<Vec<String>>>,
    _server: actix_web::dev::ServerHandle,
}

fn start_verifier(success: bool) -> Verifier {
    let forms = Arc::new(Mutex::new(Vec::new()));
    let seen = forms.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || {
        let seen = seen.clone();
        App::new().route(
            "/siteverify",
            web::post().to(move |body: String| {
                seen.lock().unwrap().push(body);
                async move {
                    HttpResponse::Ok().json(serde_json::json!({
                        "success": success,
                        "error-codes": if success { vec![] } else { vec!["invalid-input-response"] },
                    }))
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Verifier {
        url: format!("http://127.0.0.1:{port}/siteverify"),
        forms,
        _server: handle,
    }
}

/// An app whose community asks for `provider`'s captcha, verified at `verify_url`.
async fn app_with_captcha(provider: &str, verify_url: &str) -> TestApp {
    let app = app_with_admin_api(vec![
        ("LOBBY_TURNSTILE_VERIFY_URL", verify_url.to_owned()),
        ("LOBBY_HCAPTCHA_VERIFY_URL", verify_url.to_owned()),
    ])
    .await;
    let provider = provider.to_owned();
    configure(&app, move |s| {
        s.captcha_provider = Some(provider);
        s.captcha_site_key = Some("site-key-public".into());
    })
    .await;
    set_secret(&app, CommunitySecret::CaptchaSecret, "captcha-secret-value").await;
    app
}

#[tokio::test]
async fn a_solved_captcha_is_verified_server_side_for_both_providers() {
    for (provider, field) in [
        ("turnstile", "cf-turnstile-response"),
        ("hcaptcha", "h-captcha-response"),
    ] {
        let verifier = start_verifier(true);
        let app = app_with_captcha(provider, &verifier.url).await;
        let page = app
            .get(&format!("/join/{SLUG}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("site-key-public"),
            "{provider}: the widget shows"
        );

        let res = submit(
            &app,
            &format!("/join/{SLUG}"),
            "human@example.org",
            "203.0.113.40",
            &[(field, "solved-widget-token")],
        )
        .await;

        assert_eq!(res.status(), 200, "{provider}");
        request_reaches(&app, InviteStatus::Invited).await;
        let forms = verifier.forms.lock().unwrap().clone();
        assert_eq!(forms.len(), 1, "{provider}: verified once");
        assert!(
            forms[0].contains("secret=captcha-secret-value"),
            "{provider}"
        );
        assert!(
            forms[0].contains("response=solved-widget-token"),
            "{provider}"
        );
        assert!(forms[0].contains("remoteip=203.0.113.40"), "{provider}");
    }
}

#[tokio::test]
async fn a_failed_captcha_is_refused_and_sends_nothing() {
    let verifier = start_verifier(false);
    let app = app_with_captcha("turnstile", &verifier.url).await;

    let res = submit(
        &app,
        &format!("/join/{SLUG}"),
        "robot@example.org",
        "203.0.113.41",
        &[("cf-turnstile-response", "wrong")],
    )
    .await;

    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The captcha could not be verified. Please try again.")
    );
    assert_eq!(verifier.forms.lock().unwrap().len(), 1);
    assert!(requests(&app).await.is_empty());
    assert!(app.emulator.calls_to("admin.users.invite").is_empty());
}

#[tokio::test]
async fn an_unreachable_captcha_verifier_fails_closed() {
    // Nothing listens on the discard port of loopback: the connection is refused.
    let app = app_with_captcha("hcaptcha", "http://127.0.0.1:9/siteverify").await;

    let res = submit(
        &app,
        &format!("/join/{SLUG}"),
        "someone@example.org",
        "203.0.113.42",
        &[("h-captcha-response", "solved")],
    )
    .await;

    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The captcha could not be verified.")
    );
    assert!(requests(&app).await.is_empty());
    assert!(app.emulator.calls_to("admin.users.invite").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Slack's answers

#[tokio::test]
async fn invite_limit_reached_is_retried_until_slack_takes_the_invite() {
    let app = app_with_admin_api(vec![]).await;
    app.emulator.inject(
        "admin.users.invite",
        Fault::Error("invite_limit_reached".into()),
        1,
    );

    let res = join(&app, "patient@example.org", "203.0.113.50").await;

    assert_eq!(res.status(), 200);
    let request = request_reaches(&app, InviteStatus::Invited).await;
    assert_eq!(request.email, "patient@example.org");
    let calls = app.emulator.calls_to("admin.users.invite");
    assert_eq!(calls.len(), 2, "refused once, then taken");
    assert_eq!(calls[0].error.as_deref(), Some("invite_limit_reached"));
    assert!(calls[1].error.is_none());
}

#[tokio::test]
async fn account_inactive_retires_the_installation_and_keeps_the_request() {
    let app = app_with_admin_api(vec![]).await;
    app.emulator.inject(
        "admin.users.invite",
        Fault::Error("account_inactive".into()),
        1,
    );

    join(&app, "kept@example.org", "203.0.113.51").await;

    let request = request_reaches(&app, InviteStatus::Pending).await;
    assert_eq!(request.email, "kept@example.org");
    assert_eq!(request.slack_error.as_deref(), Some("account_inactive"));
    assert!(
        request.status_message.contains("reinstall"),
        "{}",
        request.status_message
    );
    let installation = db::installations::get(app.db(), &team(lobby::emulator::seed::ORG))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        installation.status,
        db::installations::InstallationStatus::Inactive
    );
    assert!(
        community(&app).await.config_error.is_some(),
        "the admins are told"
    );
    assert_eq!(app.emulator.calls_to("admin.users.invite").len(), 1);
}
