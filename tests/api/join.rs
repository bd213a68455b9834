//! The public join form and the invite pipeline, end to end against the emulator.

use lobby::db::{self, invite_requests::InviteRequest};
use lobby::domain::InviteStatus;
use lobby::emulator::Fault;
use lobby::emulator::seed::{ORG, ORG_ADMIN, ORG_GENERAL, ORG_MEMBER, ORG_TEAM};

use crate::helpers::{
    AppOptions, Consent, TestApp, app_with_admin_api, attr_after, browser, spawn_app_with, team,
};

const SLUG: &str = "demo-community";

/// The requests of the demo community.
async fn requests(app: &TestApp) -> Vec<InviteRequest> {
    let community = db::communities::by_slug(app.db(), SLUG)
        .await
        .unwrap()
        .unwrap();
    db::invite_requests::list(app.db(), community.id, None, None, 100)
        .await
        .unwrap()
}

async fn request_reaches(app: &TestApp, status: InviteStatus) -> InviteRequest {
    crate::helpers::eventually(&format!("a request to reach {status}"), || async {
        requests(app).await.into_iter().find(|r| r.status == status)
    })
    .await
}

impl TestApp {
    /// Opens the join form in `browser` and returns its form token, as served.
    async fn open_form(&self, browser: &reqwest::Client) -> String {
        let res = browser
            .get(self.url(&format!("/join/{SLUG}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        attr_after(&html, "name=\"form_token\"", "value").expect("a form token")
    }

    /// A form token issued as if the page had been opened `age` seconds ago, with its cookie set in the browser.
    fn aged_form_token(&self, age: i64) -> (String, String) {
        let key = self.state.keyring.derive_key("join-form");
        let (token, cookie) = lobby::abuse::FormToken::issue(&key, SLUG, db::now() - age);
        (token, format!("lobby_join={cookie}"))
    }

    /// Submits the form the way a person would (the page open for a few seconds).
    async fn sign_up(&self, email: &str, from_ip: &str) -> reqwest::Response {
        let (token, cookie) = self.aged_form_token(10);
        browser()
            .post(self.url(&format!("/join/{SLUG}")))
            .header("cookie", cookie)
            .header("x-forwarded-for", from_ip)
            .form(&[
                ("email", email),
                ("name", "Grace Hopper"),
                ("form_token", &token),
                ("website", ""),
            ])
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_join_page_shows_the_community_and_a_form() {
    let app = app_with_admin_api(vec![]).await;
    let res = app.get(&format!("/join/{SLUG}")).await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        res.headers().get("set-cookie").is_some(),
        "the CSRF cookie is set"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("Join Enterprise Workspace"));
    assert!(html.contains("name=\"email\""));
    assert!(html.contains("name=\"website\""), "the honeypot is there");
    assert_eq!(app.get("/join/no-such-community").await.status(), 404);
}

#[tokio::test]
async fn a_signup_becomes_exactly_one_invite() {
    let app = app_with_admin_api(vec![]).await;
    let res = app.sign_up("grace@example.org", "203.0.113.7").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("your request is in"));

    let request = request_reaches(&app, InviteStatus::Invited).await;
    assert_eq!(request.email, "grace@example.org");
    assert_eq!(request.name, "Grace Hopper");
    let calls = app.emulator.calls_to("admin.users.invite");
    assert_eq!(calls.len(), 1, "exactly one invite call");
    assert_eq!(calls[0].param("email"), Some("grace@example.org"));
    assert_eq!(calls[0].param("team_id"), Some(ORG_TEAM));
    assert_eq!(calls[0].param("channel_ids"), Some(ORG_GENERAL));
    assert!(calls[0].error.is_none());
}

#[tokio::test]
async fn each_slack_error_lands_in_its_status() {
    let cases = [
        (
            "already_in_team",
            InviteStatus::AlreadyInTeam,
            "already belongs to a member",
        ),
        (
            "already_invited",
            InviteStatus::AlreadyInvited,
            "already invited",
        ),
        (
            "invalid_email",
            InviteStatus::Failed,
            "did not accept this email",
        ),
        ("missing_scope", InviteStatus::Pending, "admin.users:write"),
        (
            "not_allowed_token_type",
            InviteStatus::Pending,
            "token type",
        ),
        ("paid_teams_only", InviteStatus::Pending, "paid Slack plan"),
        ("invalid_auth", InviteStatus::Pending, "reinstall"),
    ];
    for (code, status, message) in cases {
        let app = app_with_admin_api(vec![]).await;
        app.emulator
            .inject("admin.users.invite", Fault::Error(code.into()), 1);
        assert_eq!(
            app.sign_up("ada@example.org", "203.0.113.8").await.status(),
            200
        );
        let request = request_reaches(&app, status).await;
        assert!(
            request.status_message.contains(message),
            "{code}: {}",
            request.status_message
        );
        assert_eq!(request.slack_error.as_deref(), Some(code));
        if status == InviteStatus::Pending {
            let community = db::communities::by_slug(app.db(), SLUG)
                .await
                .unwrap()
                .unwrap();
            assert!(
                community.config_error.is_some(),
                "{code} flags the community for its admins"
            );
        }
    }
}

#[tokio::test]
async fn invalid_auth_retires_the_installation() {
    let app = app_with_admin_api(vec![]).await;
    app.emulator
        .inject("admin.users.invite", Fault::Error("invalid_auth".into()), 1);
    app.sign_up("ada@example.org", "203.0.113.9").await;
    request_reaches(&app, InviteStatus::Pending).await;
    let inst = db::installations::get(app.db(), &team(ORG))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inst.status, db::installations::InstallationStatus::Inactive);
}

#[tokio::test]
async fn a_rate_limited_invite_is_retried_no_sooner_than_retry_after() {
    let app = app_with_admin_api(vec![]).await;
    app.emulator.inject(
        "admin.users.invite",
        Fault::RateLimited {
            retry_after_secs: 2,
        },
        1,
    );
    app.sign_up("linus@example.org", "203.0.113.10").await;
    request_reaches(&app, InviteStatus::Invited).await;
    let calls = app.emulator.calls_to("admin.users.invite");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, 429);
    let waited = calls[1].at - calls[0].at;
    assert!(
        waited >= time::Duration::seconds(2),
        "retried after {waited}"
    );
}

#[tokio::test]
async fn honeypot_and_too_fast_submissions_send_nothing() {
    let app = app_with_admin_api(vec![]).await;
    // The honeypot filled in.
    let (token, cookie) = app.aged_form_token(10);
    let res = browser()
        .post(app.url(&format!("/join/{SLUG}")))
        .header("cookie", cookie)
        .form(&[
            ("email", "bot@example.org"),
            ("form_token", &token),
            ("website", "http://spam.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text().await.unwrap().contains("your request is in"),
        "the bot sees the usual answer"
    );

    // Submitted the moment the form was served.
    let person = browser();
    let token = app.open_form(&person).await;
    let res = person
        .post(app.url(&format!("/join/{SLUG}")))
        .form(&[
            ("email", "fast@example.org"),
            ("form_token", &token),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("your request is in"));

    // Autofill is fast too: the too-fast form is kept, held for an admin; the bot's is not.
    let kept = requests(&app).await;
    assert_eq!(kept.len(), 1, "only the too-fast person was recorded");
    assert_eq!(kept[0].email, "fast@example.org");
    assert_eq!(kept[0].status, InviteStatus::Pending);
    assert!(app.emulator.calls_to("admin.users.invite").is_empty());
}

#[tokio::test]
async fn a_post_without_its_csrf_token_is_refused() {
    let app = app_with_admin_api(vec![]).await;
    let res = browser()
        .post(app.url(&format!("/join/{SLUG}")))
        .form(&[("email", "mallory@example.org"), ("website", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A valid token without the browser's cookie (a post from another site) is refused too.
    let (token, _) = app.aged_form_token(10);
    let res = browser()
        .post(app.url(&format!("/join/{SLUG}")))
        .form(&[
            ("email", "mallory@example.org"),
            ("form_token", &token),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(requests(&app).await.is_empty());
}

#[tokio::test]
async fn bad_addresses_get_the_form_back_with_a_message() {
    let app = app_with_admin_api(vec![]).await;
    for (email, message) in [
        (
            "not-an-address",
            "An email address needs an @ between the name and the domain",
        ),
        (
            "someone@mailinator.com",
            "Please use a permanent email address, not a disposable one.",
        ),
    ] {
        let res = app.sign_up(email, "203.0.113.11").await;
        assert_eq!(res.status(), 400, "{email}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{email}: {html}");
        assert!(html.contains("name=\"form_token\""), "the form comes back");
    }
    assert!(requests(&app).await.is_empty());
}

#[tokio::test]
async fn the_limits_answer_429() {
    let app = app_with_admin_api(vec![]).await;
    for i in 0..5 {
        let res = app
            .sign_up(&format!("p{i}@example.org"), "2001:db8:1:2::1")
            .await;
        assert_eq!(res.status(), 200, "submission {i}");
    }
    // Another address in the same /64 shares the budget.
    let res = app.sign_up("p6@example.org", "2001:db8:1:2::ffff").await;
    assert_eq!(res.status(), 429);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    assert!(res.text().await.unwrap().contains("Too many requests"));
    // Another /64 does not.
    assert_eq!(
        app.sign_up("p7@example.org", "2001:db8:1:3::1")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn one_open_request_per_email_and_the_answer_does_not_tell() {
    let mut options = AppOptions::default();
    options
        .env
        .push(("LOBBY_TRUSTED_PROXIES", "127.0.0.1".into()));
    let app = spawn_app_with(options).await;
    app.install_demo_workspace().await; // approval mode: requests wait
    let first = app
        .sign_up("twice@example.org", "198.51.100.1")
        .await
        .text()
        .await
        .unwrap();
    let second = app
        .sign_up("twice@example.org", "198.51.100.2")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(requests(&app).await.len(), 1);
    let strip = |s: &str| s.replace(char::is_whitespace, "");
    assert_eq!(strip(&first), strip(&second), "the same page either way");
}

#[tokio::test]
async fn approving_a_pending_request_delivers_it() {
    let app = app_with_admin_api(vec![]).await;
    let community = db::communities::by_slug(app.db(), SLUG)
        .await
        .unwrap()
        .unwrap();
    let mut settings = settings_of(&community);
    settings.invite_mode = lobby::domain::InviteMode::Approval;
    db::communities::update(app.db(), community.id, &settings)
        .await
        .unwrap();

    app.sign_up("pending@example.org", "198.51.100.3").await;
    let request = request_reaches(&app, InviteStatus::Pending).await;
    assert!(
        app.emulator.calls_to("admin.users.invite").is_empty(),
        "nothing sent before approval"
    );
    lobby::invites::approve(&app.state, request.id, "U0ADMIN001")
        .await
        .unwrap();
    request_reaches(&app, InviteStatus::Invited).await;
    assert_eq!(app.emulator.calls_to("admin.users.invite").len(), 1);
    assert!(
        lobby::invites::approve(&app.state, request.id, "U0ADMIN001")
            .await
            .is_err(),
        "decided once"
    );
}

pub fn settings_of(c: &db::communities::Community) -> db::communities::CommunitySettings {
    db::communities::CommunitySettings {
        title: c.title.clone(),
        description: c.description.clone(),
        invite_mode: c.invite_mode,
        default_channels: c.default_channels.clone(),
        coc_url: c.coc_url.clone(),
        coc_required: c.coc_required,
        allowed_domains: c.allowed_domains.clone(),
        denied_domains: c.denied_domains.clone(),
        captcha_provider: c.captcha_provider.clone(),
        captcha_site_key: c.captcha_site_key.clone(),
        admin_channel: c.admin_channel.as_ref().map(ToString::to_string),
    }
}

#[tokio::test]
async fn the_badge_is_svg_with_the_member_count() {
    // The demo workspace is the one with hundreds of members (several pages of users.list).
    let app = spawn_app_with(AppOptions::default()).await;
    app.install_demo_workspace().await;
    // The count is refreshed by a background job after the install.
    let count = crate::helpers::eventually("the member count to be refreshed", || async {
        db::communities::by_slug(app.db(), SLUG)
            .await
            .unwrap()
            .unwrap()
            .member_count
    })
    .await;
    assert!(
        count > 200,
        "every page of users.list was counted ({count})"
    );
    let res = app.get(&format!("/join/{SLUG}/badge.svg")).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    let svg = res.text().await.unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("valid XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert!(svg.contains(&format!("{count} members")));
}

#[tokio::test]
async fn an_org_wide_install_counts_the_members_of_its_communitys_workspace() {
    let app = app_with_admin_api(vec![]).await;
    lobby::members::request_refresh(&app.state.queue, &team(ORG))
        .await
        .unwrap();
    let count = crate::helpers::eventually("the member count to be refreshed", || async {
        db::communities::by_slug(app.db(), SLUG)
            .await
            .unwrap()
            .and_then(|c| c.member_count)
    })
    .await;
    assert_eq!(count, 2, "the organisation's workspace has two people");
    let calls = app.emulator.calls_to("users.list");
    assert!(
        calls
            .iter()
            .all(|c| c.error.is_none() && c.param("team_id") == Some(ORG_TEAM)),
        "{calls:?}"
    );
}

#[tokio::test]
async fn only_the_embed_page_may_be_framed() {
    let app = app_with_admin_api(vec![]).await;
    let page = app.get(&format!("/join/{SLUG}")).await;
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let embed = app.get(&format!("/join/{SLUG}/embed")).await;
    assert_eq!(embed.status(), 200);
    assert!(embed.headers().get("x-frame-options").is_none());
    let csp = embed.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    for path in ["/", "/slack/install", "/healthz"] {
        let res = app.get(path).await;
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    }
}

#[tokio::test]
async fn the_api_refuses_a_bad_key_and_accepts_a_good_one() {
    let app = app_with_admin_api(vec![]).await;
    let url = app.url("/api/v1/invites");
    let body =
        serde_json::json!({"community": SLUG, "email": "cms-user@example.org", "name": "CMS User"});

    let res = browser().post(&url).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = browser()
        .post(&url)
        .bearer_auth("lobby_000000000000_nope")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["ok"], false);

    let created = lobby::api_keys::create(app.db(), &team(ORG), "cms", "test")
        .await
        .unwrap();
    use secrecy::ExposeSecret;
    let key = created.key.expose_secret().to_string();
    let res = browser()
        .post(&url)
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let json: serde_json::Value = res.json().await.unwrap();
    assert_eq!(json["status"], "queued");
    request_reaches(&app, InviteStatus::Invited).await;

    let bad = serde_json::json!({"community": SLUG, "email": "nope"});
    let res = browser()
        .post(&url)
        .bearer_auth(&key)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    db::api_keys::revoke(app.db(), &team(ORG), created.id)
        .await
        .unwrap();
    let res = browser()
        .post(&url)
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a revoked key is refused");
}

#[tokio::test]
async fn a_member_reinstall_without_user_scopes_keeps_admin_api_delivery() {
    let app = app_with_admin_api(vec![]).await;
    // A member reinstalls; Slack grants them no user token (admin scopes are not theirs to give).
    let mut authorize = app.start_install().await;
    let pairs: Vec<(String, String)> = authorize
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "user_scope")
        .collect();
    authorize.query_pairs_mut().clear().extend_pairs(pairs);
    let callback = app
        .consent(
            &authorize,
            Consent::Allow {
                workspace: ORG,
                user: ORG_MEMBER,
            },
        )
        .await;
    let res = app.client.get(callback).send().await.unwrap();
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );

    let installation = db::installations::get(app.db(), &team(ORG))
        .await
        .unwrap()
        .unwrap();
    assert!(installation.has_user_scope("admin.users:write"));
    assert_eq!(
        installation.installer_user_id, ORG_ADMIN,
        "the token is still the admin's"
    );
    let reinstall = db::admin_audit::latest(app.db(), &team(ORG), "app.reinstalled")
        .await
        .unwrap()
        .expect("the reinstall is audited");
    assert_eq!(reinstall.actor, ORG_MEMBER);
    assert!(
        reinstall.detail.contains("are kept"),
        "{}",
        reinstall.detail
    );

    let res = app.sign_up("grace@example.org", "203.0.113.7").await;
    assert_eq!(res.status(), 200);
    request_reaches(&app, InviteStatus::Invited).await;
    let calls = app.emulator.calls_to("admin.users.invite");
    assert_eq!(calls.len(), 1);
    assert!(calls[0].error.is_none());
}

#[tokio::test]
async fn one_open_request_per_mailbox_whatever_its_case() {
    let app = spawn_app_with(AppOptions {
        env: vec![("LOBBY_TRUSTED_PROXIES", "127.0.0.1".to_owned())],
        ..Default::default()
    })
    .await;
    app.install_demo_workspace().await;
    assert_eq!(
        app.sign_up("spoof@x.org", "203.0.113.7").await.status(),
        200
    );
    let res = app.sign_up("Spoof@X.org", "203.0.113.8").await;
    assert_eq!(res.status(), 200);
    let open: Vec<_> = requests(&app).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].email, "spoof@x.org");
}

#[tokio::test]
async fn names_lose_control_and_bidi_characters() {
    let app = spawn_app_with(AppOptions {
        env: vec![("LOBBY_TRUSTED_PROXIES", "127.0.0.1".to_owned())],
        ..Default::default()
    })
    .await;
    app.install_demo_workspace().await;
    let (token, cookie) = app.aged_form_token(10);
    let res = browser()
        .post(app.url(&format!("/join/{SLUG}")))
        .header("cookie", cookie)
        .form(&[
            ("email", "bidi@example.org"),
            ("name", "  Eve\u{202E}gnp \t\r\n  Admin\u{0007} "),
            ("form_token", &token),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let stored = requests(&app).await;
    assert_eq!(stored[0].name, "Evegnp Admin");
}

#[tokio::test]
async fn a_form_page_sends_one_request() {
    let app = spawn_app_with(AppOptions {
        env: vec![("LOBBY_TRUSTED_PROXIES", "127.0.0.1".to_owned())],
        ..Default::default()
    })
    .await;
    app.install_demo_workspace().await;
    let (token, cookie) = app.aged_form_token(10);
    let send = |email: &'static str| {
        let (token, cookie) = (token.clone(), cookie.clone());
        let url = app.url(&format!("/join/{SLUG}"));
        async move {
            browser()
                .post(url)
                .header("cookie", cookie)
                .form(&[
                    ("email", email),
                    ("name", "Ada"),
                    ("form_token", &token),
                    ("website", ""),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(send("first@example.org").await.status(), 200);
    let again = send("second@example.org").await;
    assert_eq!(again.status(), 400);
    let html = again.text().await.unwrap();
    assert!(html.contains("already sent"), "{html}");
    assert!(
        html.contains("second@example.org"),
        "what was typed is kept"
    );
    let stored = requests(&app).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].email, "first@example.org");
}

#[tokio::test]
async fn a_delivery_whose_token_refresh_gets_a_503_is_retried_and_delivered() {
    let mut config = lobby::emulator::EmulatorConfig::demo();
    config.token_rotation = true;
    let app = spawn_app_with(AppOptions {
        emulator: config,
        env: vec![
            ("SLACK_USER_SCOPES", "admin.users:write".to_owned()),
            ("LOBBY_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ],
    })
    .await;
    crate::helpers::install_grid_at(&app.address, &app.data_dir).await;
    // The user token is inside its refresh margin, and Slack's token endpoint has a bad moment.
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE installations SET user_token_expires_at = $1"
    )
    .bind(db::now() + 60)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    // Changed behind the app's back: drop what it holds in memory.
    app.state
        .installations
        .forget(&team(lobby::emulator::seed::DEMO_TEAM));
    app.emulator
        .inject("oauth.v2.access", Fault::Status(503), 1);

    let res = app.sign_up("grace@example.org", "203.0.113.7").await;
    assert_eq!(res.status(), 200);
    request_reaches(&app, InviteStatus::Invited).await;
    assert_eq!(app.emulator.calls_to("admin.users.invite").len(), 1);
    assert!(
        app.emulator.calls_to("oauth.v2.access").len() >= 3,
        "install, the 503, the refresh"
    );
    let community = db::communities::by_slug(app.db(), SLUG)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        community.config_error, None,
        "a passing failure flags nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_signups_at_once_each_get_their_answer_and_are_stored_once() {
    use lobby::invites::Submitted;
    use lobby::invites::intake::{Signup, Via, intake};
    let app = app_with_admin_api(vec![]).await;
    // Slack holds every invitation back, so each request stays open while its twin arrives (an
    // address whose invitation went out may ask again).
    app.emulator.inject(
        "admin.users.invite",
        Fault::RateLimited {
            retry_after_secs: 600,
        },
        1000,
    );
    let community = db::communities::by_slug(app.db(), SLUG)
        .await
        .unwrap()
        .unwrap();
    // 200 signups at once: 150 addresses, the first 50 of them asked for twice (once in
    // other letter case), as a person double-clicking or two tabs would.
    let emails: Vec<String> = (0..200)
        .map(|i| match i {
            0..150 => format!("crowd-{i}@example.org"),
            _ => format!("Crowd-{}@Example.org", i - 150),
        })
        .collect();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(emails.len()));
    let mut signups = tokio::task::JoinSet::new();
    for email in emails {
        let (state, community, start) = (app.state.clone(), community.clone(), start.clone());
        signups.spawn(async move {
            start.wait().await;
            let answer = intake(
                &state,
                Signup {
                    community: &community,
                    email: &email,
                    name: "Crowd",
                    lang: lobby::i18n::Lang::default(),
                    via: Via::Api { verified: true },
                },
            )
            .await;
            (email.to_lowercase(), answer)
        });
    }
    let mut answers: std::collections::HashMap<String, Vec<Option<i64>>> = Default::default();
    for (email, answer) in signups.join_all().await {
        let id = match answer {
            Ok(Submitted::Queued { id }) => Some(id),
            Ok(Submitted::AlreadyOpen) => None,
            other => panic!("{email}: {other:?}"),
        };
        answers.entry(email).or_default().push(id);
    }
    assert_eq!(answers.len(), 150);
    let mut ids = Vec::new();
    for (email, got) in &answers {
        let queued: Vec<i64> = got.iter().flatten().copied().collect();
        assert_eq!(
            queued.len(),
            1,
            "{email}: one request, and the twin hears it is open"
        );
        ids.extend(queued);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 150, "every request has its own id");

    let stored = db::invite_requests::list(app.db(), community.id, None, None, 1000)
        .await
        .unwrap();
    assert_eq!(stored.len(), 150, "each request stored once");
    for request in &stored {
        assert_eq!(
            answers[&request.email.to_lowercase()]
                .iter()
                .flatten()
                .next(),
            Some(&request.id)
        );
    }
    let mut delivered: Vec<i64> = lobby::on_conn!(app.db(), |c| sqlx::query_scalar::<_, String>(
        "SELECT payload FROM jobs WHERE kind = 'invite.deliver'"
    )
    .fetch_all(c)
    .await)
    .unwrap()
    .iter()
    .map(|p| {
        serde_json::from_str::<serde_json::Value>(p).unwrap()["request_id"]
            .as_i64()
            .unwrap()
    })
    .collect();
    delivered.sort();
    assert_eq!(delivered, ids, "one delivery job per request");
}

#[tokio::test]
async fn a_form_sent_many_times_at_once_records_one_request() {
    let app = app_with_admin_api(vec![]).await;
    let (token, cookie) = app.aged_form_token(10);
    let url = app.url(&format!("/join/{SLUG}"));
    let sends = (0..8).map(|i| {
        let request = browser()
            .post(&url)
            .header("cookie", &cookie)
            .header("x-forwarded-for", format!("198.51.100.{}", i + 1))
            .form(&[
                ("email", format!("tab-{i}@example.org")),
                ("form_token", token.clone()),
                ("website", String::new()),
            ]);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let mut statuses = futures_util::future::join_all(sends).await;
    statuses.sort();
    assert_eq!(statuses, [200, 400, 400, 400, 400, 400, 400, 400]);
    assert_eq!(requests(&app).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_that_cannot_be_stored_fails_alone() {
    use lobby::invites::Submitted;
    use lobby::invites::intake::{IntakeRefusal, Signup, Via, intake};
    let app = app_with_admin_api(vec![]).await;
    let community = db::communities::by_slug(app.db(), SLUG)
        .await
        .unwrap()
        .unwrap();
    // A community removed while its page was open: its request has nowhere to go.
    let mut removed = community.clone();
    removed.id = 999_999;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(21));
    let mut signups = tokio::task::JoinSet::new();
    for i in 0..21 {
        let community = if i == 10 {
            removed.clone()
        } else {
            community.clone()
        };
        let (state, start) = (app.state.clone(), start.clone());
        signups.spawn(async move {
            start.wait().await;
            let email = format!("batch-{i}@example.org");
            let answer = intake(
                &state,
                Signup {
                    community: &community,
                    email: &email,
                    name: "Batch",
                    lang: lobby::i18n::Lang::default(),
                    via: Via::Api { verified: true },
                },
            )
            .await;
            (i, answer)
        });
    }
    for (i, answer) in signups.join_all().await {
        match (i, answer) {
            (10, Err(IntakeRefusal::Submit(_))) => {}
            (10, other) => panic!("the removed community's signup: {other:?}"),
            (_, Ok(Submitted::Queued { .. })) => {}
            (i, other) => panic!("signup {i}: {other:?}"),
        }
    }
    assert_eq!(requests(&app).await.len(), 20);
}
