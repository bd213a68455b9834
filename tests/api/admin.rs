//! The admin dashboard, end to end against the emulator: Sign in with Slack, sessions, CSRF,
//! tenancy between workspaces, and the actions admins take.

use lobby::db::{self, installations, invite_requests::NewRequest};
use lobby::domain::InviteStatus;
use lobby::emulator::IdTokenFlaw;
use lobby::emulator::seed::{
    DEMO_ADMIN, DEMO_MEMBER, DEMO_OWNER, DEMO_TEAM, OTHER_ADMIN, OTHER_MEMBER, OTHER_TEAM,
};
use url::Url;

use crate::helpers::{
    AppOptions, Consent, TestApp, attr_after, browser, consent_in, install_at, spawn_app,
    spawn_app_with, team,
};

const DEMO_SLUG: &str = "demo-community";
const OTHER_SLUG: &str = "other-workspace";

/// Starts Sign in with Slack in `browser`; returns where `/admin/login` sends it.
async fn start_login(app: &TestApp, browser: &reqwest::Client) -> Url {
    let res = browser.get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(res.status(), 302, "/admin/login goes to Slack");
    assert_eq!(res.headers()["cache-control"], "no-store");
    Url::parse(res.headers()["location"].to_str().unwrap()).unwrap()
}

/// The whole sign-in as `user` of `workspace`; returns the callback's answer.
async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    workspace: &str,
    user: &str,
) -> reqwest::Response {
    let authorize = start_login(app, browser).await;
    let callback = consent_in(browser, &authorize, Consent::Allow { workspace, user }).await;
    browser.get(callback).send().await.unwrap()
}

/// A browser signed in as `user` of `workspace`.
async fn admin_browser(app: &TestApp, workspace: &str, user: &str) -> reqwest::Client {
    let browser = browser();
    let res = sign_in(app, &browser, workspace, user).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    browser
}

/// An app with the demo workspace (installed by its admin) and the other workspace (by its admin).
async fn two_workspaces() -> TestApp {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let res = install_at(&app.address, &browser(), OTHER_TEAM, OTHER_ADMIN).await;
    assert_eq!(res.status(), 200);
    app
}

async fn page(browser: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let res = browser.get(app.url(path)).send().await.unwrap();
    assert_eq!(
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{path} is not cached"
    );
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// The CSRF token of the forms on a dashboard page.
async fn csrf(browser: &reqwest::Client, app: &TestApp) -> String {
    let (status, html) = page(browser, app, "/admin").await;
    assert_eq!(status, 200);
    attr_after(&html, "name=\"csrf\"", "value").expect("a CSRF field")
}

async fn post(
    browser: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser.post(app.url(path)).form(form).send().await.unwrap()
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("lobby_session=") && !c.contains("Max-Age=0"))
}

async fn community_id(app: &TestApp, slug: &str) -> i64 {
    db::communities::by_slug(app.db(), slug)
        .await
        .unwrap()
        .expect("the community")
        .id
}

async fn pending_request(app: &TestApp, slug: &str, email: &str) -> i64 {
    db::invite_requests::insert(
        app.db(),
        &NewRequest {
            community_id: community_id(app, slug).await,
            email,
            name: "",
            source: "form",
            requested_by: None,
            status: InviteStatus::Pending,
            status_message: "Waiting for an admin to approve.",
        },
    )
    .await
    .unwrap()
    .expect("a new request")
}

async fn status_of(app: &TestApp, id: i64) -> InviteStatus {
    db::invite_requests::get(app.db(), id)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn audit_actions(app: &TestApp, team: &str) -> Vec<String> {
    db::admin_audit::recent(app.db(), &crate::helpers::team(team), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn an_admin_signs_in_through_slack_and_sees_their_workspace() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let browser = browser();

    let authorize = start_login(&app, &browser).await;
    let q: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid,email,profile");
    assert_eq!(q["client_id"], app.emulator.config().client_id);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/admin/oauth_redirect", app.address)
    );
    assert!(q["state"].len() >= 22 && q["nonce"].len() >= 16);

    // The owner did not install the app: Slack's users.info decides.
    let callback = consent_in(
        &browser,
        &authorize,
        Consent::Allow {
            workspace: DEMO_TEAM,
            user: DEMO_OWNER,
        },
    )
    .await;
    let res = browser.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    let cookie = session_cookie(&res).expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    let token = app.emulator.calls_to("openid.connect.token");
    assert_eq!(token.len(), 1);
    assert_eq!(
        token[0].param("redirect_uri"),
        Some(format!("{}/admin/oauth_redirect", app.address).as_str())
    );
    assert!(
        app.emulator
            .calls_to("users.info")
            .iter()
            .any(|c| c.param("user") == Some(DEMO_OWNER))
    );

    let (status, html) = page(&browser, &app, "/admin").await;
    assert_eq!(status, 200);
    assert!(html.contains("Demo Community"));
    assert!(html.contains("<svg"), "the funnel chart");
    assert!(html.contains("/join/demo-community"));
    for path in [
        "/admin/communities",
        "/admin/requests",
        "/admin/installations",
        "/admin/keys",
        "/admin/audit",
    ] {
        let (status, html) = page(&browser, &app, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("Sign out"), "{path}");
    }
    let (_, audit) = page(&browser, &app, "/admin/audit").await;
    assert!(audit.contains("login") && audit.contains(DEMO_OWNER));
}

#[tokio::test]
async fn a_member_who_is_not_an_admin_is_refused() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let browser = browser();
    let res = sign_in(&app, &browser, DEMO_TEAM, DEMO_MEMBER).await;
    assert_eq!(res.status(), 403);
    assert!(session_cookie(&res).is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("for workspace admins"));
    assert!(
        audit_actions(&app, DEMO_TEAM)
            .await
            .contains(&"login.refused".to_owned())
    );

    let res = browser.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/login");
}

#[tokio::test]
async fn a_member_of_another_workspace_sees_nothing_of_this_one() {
    let app = two_workspaces().await;
    let res = sign_in(&app, &browser(), OTHER_TEAM, OTHER_MEMBER).await;
    assert_eq!(res.status(), 403);

    // The other workspace's admin sees only their own workspace.
    let other = admin_browser(&app, OTHER_TEAM, OTHER_ADMIN).await;
    for path in [
        "/admin",
        "/admin/communities",
        "/admin/installations",
        "/admin/audit",
    ] {
        let (status, html) = page(&other, &app, path).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("Other Workspace") || html.contains(OTHER_TEAM),
            "{path}"
        );
        assert!(!html.contains("Demo Community"), "{path}");
        assert!(!html.contains(DEMO_TEAM), "{path}");
    }
}

#[tokio::test]
async fn reused_and_foreign_login_states_are_refused() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let browser = browser();
    let authorize = start_login(&app, &browser).await;
    let callback = consent_in(
        &browser,
        &authorize,
        Consent::Allow {
            workspace: DEMO_TEAM,
            user: DEMO_ADMIN,
        },
    )
    .await;
    assert_eq!(
        browser.get(callback.clone()).send().await.unwrap().status(),
        303
    );
    let again = browser.get(callback).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(session_cookie(&again).is_none());
    assert!(again.text().await.unwrap().contains("already been used"));

    // A state issued for installing is no good for signing in.
    let install = app.start_install().await;
    let state = install
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let res = app
        .get(&format!("/admin/oauth_redirect?code=abc&state={state}"))
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("belongs to an installation")
    );

    // A login started in another browser cannot be finished in this one.
    let elsewhere = start_login(&app, &crate::helpers::browser()).await;
    let callback = consent_in(
        &crate::helpers::browser(),
        &elsewhere,
        Consent::Allow {
            workspace: DEMO_TEAM,
            user: DEMO_ADMIN,
        },
    )
    .await;
    assert_eq!(browser.get(callback).send().await.unwrap().status(), 403);
    assert_eq!(app.emulator.calls_to("openid.connect.token").len(), 1);
}

#[tokio::test]
async fn cancelling_on_slack_signs_nobody_in() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let browser = browser();
    let authorize = start_login(&app, &browser).await;
    let callback = consent_in(&browser, &authorize, Consent::Cancel).await;
    let res = browser.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(session_cookie(&res).is_none());
    assert!(app.emulator.calls_to("openid.connect.token").is_empty());
}

/// Signs in as the demo workspace's admin while Slack spoils the id_token with `flaw`.
async fn sign_in_with_a_spoiled_id_token(flaw: IdTokenFlaw) -> (TestApp, reqwest::Response) {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    app.emulator.spoil_next_id_token(flaw);
    let res = sign_in(&app, &browser(), DEMO_TEAM, DEMO_ADMIN).await;
    (app, res)
}

/// The sign-in was refused before Lobby asked Slack who signed in, and no session started.
async fn assert_refused(app: &TestApp, res: reqwest::Response, says: &str) {
    assert_eq!(res.status(), 403);
    assert!(session_cookie(&res).is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains(says), "{html}");
    assert!(app.emulator.calls_to("openid.connect.userInfo").is_empty());
    // The refusal was that token's: an honest sign-in right after works.
    admin_browser(app, DEMO_TEAM, DEMO_ADMIN).await;
}

#[tokio::test]
async fn an_id_token_with_a_bad_signature_is_refused() {
    let (app, res) = sign_in_with_a_spoiled_id_token(IdTokenFlaw::BadSignature).await;
    assert_refused(&app, res, "not signed by Slack").await;
}

#[tokio::test]
async fn an_id_token_signed_with_an_unpublished_key_is_refused() {
    let (app, res) = sign_in_with_a_spoiled_id_token(IdTokenFlaw::UnknownKey).await;
    assert_refused(&app, res, "not signed by Slack").await;
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_refused() {
    let (app, res) = sign_in_with_a_spoiled_id_token(IdTokenFlaw::WrongIssuer).await;
    assert_refused(&app, res, "issued by someone other than Slack").await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let (app, res) = sign_in_with_a_spoiled_id_token(IdTokenFlaw::Expired).await;
    assert_refused(&app, res, "has expired").await;
}

#[tokio::test]
async fn without_slacks_keys_nobody_is_signed_in() {
    // Nothing listens on the discard port: the keys cannot be fetched.
    let app = spawn_app_with(AppOptions {
        env: vec![(
            "SLACK_OPENID_KEYS_URL",
            "http://127.0.0.1:9/openid/connect/keys".to_owned(),
        )],
        ..Default::default()
    })
    .await;
    app.install_demo_workspace().await;
    let res = sign_in(&app, &browser(), DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(res.status(), 502);
    assert!(session_cookie(&res).is_none());
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("signing keys could not be fetched")
    );
}

#[tokio::test]
async fn a_sign_in_code_slack_refuses_is_reported_with_slacks_code() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let browser = browser();
    let authorize = start_login(&app, &browser).await;
    let callback = consent_in(
        &browser,
        &authorize,
        Consent::Allow {
            workspace: DEMO_TEAM,
            user: DEMO_ADMIN,
        },
    )
    .await;
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "code" {
                (k, "forged".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let mut forged = callback.clone();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let res = browser.get(forged).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(session_cookie(&res).is_none());
    assert!(res.text().await.unwrap().contains("invalid_code"));
    let exchange = app.emulator.calls_to("openid.connect.token");
    assert_eq!(exchange.len(), 1);
    assert_eq!(exchange[0].error.as_deref(), Some("invalid_code"));
}

#[tokio::test]
async fn a_post_without_its_csrf_token_is_refused() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    let token = csrf(&admin, &app).await;

    for form in [
        vec![("team", DEMO_TEAM), ("name", "ci")],
        vec![("team", DEMO_TEAM), ("name", "ci"), ("csrf", "forged")],
        vec![("team", DEMO_TEAM), ("name", "ci"), ("csrf", "")],
    ] {
        let res = post(&admin, &app, "/admin/keys", &form).await;
        assert_eq!(res.status(), 403);
        assert_eq!(res.headers()["cache-control"], "no-store");
    }
    assert!(
        db::api_keys::list(app.db(), &team(DEMO_TEAM))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(post(&admin, &app, "/admin/logout", &[]).await.status(), 403);
    assert_eq!(page(&admin, &app, "/admin").await.0, 200, "still signed in");

    // Another session's token is no good either.
    let other = admin_browser(&app, DEMO_TEAM, DEMO_OWNER).await;
    let other_token = csrf(&other, &app).await;
    assert_ne!(token, other_token);
    let res = post(
        &admin,
        &app,
        "/admin/keys",
        &[("team", DEMO_TEAM), ("name", "ci"), ("csrf", &other_token)],
    )
    .await;
    assert_eq!(res.status(), 403);

    let res = post(
        &admin,
        &app,
        "/admin/keys",
        &[("team", DEMO_TEAM), ("name", "ci"), ("csrf", &token)],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let key = html
        .split("id=\"new-key\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the key, shown once");
    assert!(key.starts_with("lobby_"));
    let (_, list) = page(&admin, &app, "/admin/keys").await;
    assert!(!list.contains(key), "the key is never shown again");
}

#[tokio::test]
async fn an_admin_of_one_workspace_can_neither_read_nor_change_another() {
    let app = two_workspaces().await;
    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    let token = csrf(&admin, &app).await;
    let theirs = community_id(&app, OTHER_SLUG).await;
    let request = pending_request(&app, OTHER_SLUG, "eve@example.org").await;

    for path in [
        format!("/admin/communities/{theirs}"),
        format!("/admin/requests?community={theirs}"),
        format!("/admin/installations/{OTHER_TEAM}/remove"),
    ] {
        assert_eq!(page(&admin, &app, &path).await.0, 404, "{path}");
    }
    let changes = [
        (
            format!("/admin/communities/{theirs}"),
            vec![("title", "Mine now"), ("invite_mode", "link")],
        ),
        (format!("/admin/requests/{request}/approve"), vec![]),
        (format!("/admin/requests/{request}/deny"), vec![]),
        (format!("/admin/requests/{request}/retry"), vec![]),
        (format!("/admin/installations/{OTHER_TEAM}/remove"), vec![]),
        (
            "/admin/communities".to_owned(),
            vec![
                ("installation", OTHER_TEAM),
                ("slug", "sneaky"),
                ("title", "Sneaky"),
                ("invite_mode", "approval"),
            ],
        ),
        (
            "/admin/keys".to_owned(),
            vec![("team", OTHER_TEAM), ("name", "sneaky")],
        ),
    ];
    for (path, mut form) in changes {
        form.push(("csrf", &token));
        let res = post(&admin, &app, &path, &form).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    let bulk = post(
        &admin,
        &app,
        "/admin/requests/approve",
        &[("csrf", &token), ("ids", &request.to_string())],
    )
    .await;
    assert_eq!(bulk.status(), 303);
    assert!(
        bulk.headers()["location"]
            .to_str()
            .unwrap()
            .contains("approved=0")
    );

    assert_eq!(status_of(&app, request).await, InviteStatus::Pending);
    let community = db::communities::get(app.db(), theirs)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(community.title, "Other Workspace");
    assert!(
        installations::get(app.db(), &team(OTHER_TEAM))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !db::communities::slug_taken(app.db(), "sneaky")
            .await
            .unwrap()
    );
    assert!(
        db::api_keys::list(app.db(), &team(OTHER_TEAM))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(app.emulator.calls_to("auth.revoke").is_empty());
}

#[tokio::test]
async fn removing_an_installation_revokes_its_token_and_deletes_it() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let bot = installations::token(
        app.db(),
        &app.state.keyring,
        &team(DEMO_TEAM),
        installations::TokenKind::Bot,
    )
    .await
    .unwrap()
    .unwrap();
    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    let token = csrf(&admin, &app).await;

    let (status, confirm) = page(
        &admin,
        &app,
        &format!("/admin/installations/{DEMO_TEAM}/remove"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(confirm.contains("cannot be undone"));
    assert!(
        installations::get(app.db(), &team(DEMO_TEAM))
            .await
            .unwrap()
            .is_some(),
        "a GET changes nothing"
    );

    let res = post(
        &admin,
        &app,
        &format!("/admin/installations/{DEMO_TEAM}/remove"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let revokes = app.emulator.calls_to("auth.revoke");
    assert_eq!(revokes.len(), 1);
    use secrecy::ExposeSecret;
    assert_eq!(revokes[0].token.as_deref(), Some(bot.token.expose_secret()));
    assert!(
        installations::get(app.db(), &team(DEMO_TEAM))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db::communities::by_slug(app.db(), DEMO_SLUG)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        audit_actions(&app, DEMO_TEAM)
            .await
            .contains(&"installation.removed".to_owned())
    );

    // The session no longer reaches the workspace.
    let (status, html) = page(&admin, &app, "/admin").await;
    assert_eq!(status, 200);
    assert!(!html.contains("Demo Community"));
}

#[tokio::test]
async fn after_logout_the_old_cookie_opens_nothing() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let browser = browser();
    let res = sign_in(&app, &browser, DEMO_TEAM, DEMO_ADMIN).await;
    let cookie = session_cookie(&res).unwrap();
    let pair = cookie.split(';').next().unwrap().to_owned();
    let session_id = pair.trim_start_matches("lobby_session=");
    let token = csrf(&browser, &app).await;

    let res = post(&browser, &app, "/admin/logout", &[("csrf", &token)]).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get_all("set-cookie").iter().any(|c| c
            .to_str()
            .unwrap()
            .starts_with("lobby_session=")
            && c.to_str().unwrap().contains("Max-Age=0"))
    );

    // Someone who kept a copy of the cookie gets nothing with it.
    let copy = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = copy
        .get(app.url("/admin"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/admin/login");
    let res = copy
        .post(app.url("/admin/keys"))
        .header("cookie", &pair)
        .form(&[("csrf", token.as_str()), ("team", DEMO_TEAM), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        db::api_keys::list(app.db(), &team(DEMO_TEAM))
            .await
            .unwrap()
            .is_empty()
    );
    // The test browser's own cookie jar logs what it stores; the server must log nothing of it.
    let leaks = crate::helpers::captured_logs()
        .lines()
        .filter(|l| l.contains(session_id) && !l.contains("cookie_store::"))
        .count();
    assert_eq!(leaks, 0, "the server logged a session id");
}

#[tokio::test]
async fn sessions_end_after_twelve_idle_hours_or_seven_days() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let now = db::now();
    for (column, age) in [
        ("last_seen_at", 12 * 3600 + 1),
        ("created_at", 7 * 86400 + 1),
    ] {
        let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
        assert_eq!(page(&admin, &app, "/admin").await.0, 200);
        let sql = format!("UPDATE sessions SET {column} = $1");
        lobby::on_conn!(app.db(), |conn| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now - age)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))
        .unwrap();
        assert_eq!(page(&admin, &app, "/admin").await.0, 303, "{column}");
    }
}

#[tokio::test]
async fn signing_in_again_replaces_the_session() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let browser = browser();
    let first = session_cookie(&sign_in(&app, &browser, DEMO_TEAM, DEMO_ADMIN).await).unwrap();
    let second = session_cookie(&sign_in(&app, &browser, DEMO_TEAM, DEMO_ADMIN).await).unwrap();
    assert_ne!(first, second);
    let sessions: i64 = lobby::on_conn!(app.db(), |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions"
    )
    .fetch_one(conn)
    .await)
    .unwrap();
    assert_eq!(sessions, 1, "the old session was dropped at sign-in");
}

#[tokio::test]
async fn admins_edit_a_community_and_approve_requests_one_by_one_or_in_bulk() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    let token = csrf(&admin, &app).await;
    let id = community_id(&app, DEMO_SLUG).await;
    let first = pending_request(&app, DEMO_SLUG, "ana@example.org").await;

    // Approval mode with no way to deliver yet: the dashboard says what to set up.
    let res = post(
        &admin,
        &app,
        &format!("/admin/requests/{first}/approve"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status(), 409);
    let body = res.text().await.unwrap();
    let settings = format!("href=\"{}/admin/communities/{id}\"", app.address);
    assert!(body.contains(&settings), "a link to what to fix: {body}");
    let (_, overview) = page(&admin, &app, "/admin").await;
    assert!(overview.contains("Mail is off"), "and how to turn mail on");

    let link = "https://join.slack.com/t/demo-community/shared_invite/zt-secret";
    let res = post(
        &admin,
        &app,
        &format!("/admin/communities/{id}"),
        &[
            ("csrf", token.as_str()),
            ("title", "Demo Community"),
            ("invite_mode", "approval"),
            ("default_channels", "C0GENERAL1"),
            ("invite_link", link),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let saved_at = res.headers()["location"].to_str().unwrap().to_owned();
    let (_, edit) = page(&admin, &app, &saved_at).await;
    assert!(edit.contains("Saved."));
    let stored = db::communities::get(app.db(), id).await.unwrap().unwrap();
    assert_eq!(stored.title, "Demo Community");
    assert_eq!(stored.invite_mode, lobby::domain::InviteMode::Approval);
    assert_eq!(stored.default_channels, "C0GENERAL1");
    let sealed_link = db::communities::secret(
        app.db(),
        &app.state.keyring,
        id,
        db::communities::CommunitySecret::InviteLink,
    )
    .await
    .unwrap()
    .expect("the invite link is stored");
    assert_eq!(secrecy::ExposeSecret::expose_secret(&sealed_link), link);
    assert_eq!(
        attr_after(&edit, "name=\"title\"", "value").as_deref(),
        Some("Demo Community"),
        "the form shows the stored title"
    );
    assert!(
        !edit.contains("zt-secret"),
        "a sealed setting is never shown"
    );
    assert!(edit.contains("/join/demo-community/embed"));
    assert!(edit.contains("[![Slack]("));

    let res = post(
        &admin,
        &app,
        &format!("/admin/requests/{first}/approve"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text().await.unwrap().contains("zt-secret"),
        "the approver gets the link to pass on"
    );
    assert_eq!(status_of(&app, first).await, InviteStatus::LinkShown);

    let second = pending_request(&app, DEMO_SLUG, "bo@example.org").await;
    let third = pending_request(&app, DEMO_SLUG, "cy@example.org").await;
    let denied = pending_request(&app, DEMO_SLUG, "dee@example.org").await;
    let res = post(
        &admin,
        &app,
        &format!("/admin/requests/{denied}/deny"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(status_of(&app, denied).await, InviteStatus::Denied);
    let res = post(
        &admin,
        &app,
        "/admin/requests/approve",
        &[
            ("csrf", token.as_str()),
            ("community", &id.to_string()),
            ("status", "pending"),
            ("ids", &second.to_string()),
            ("ids", &third.to_string()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .contains("approved=2&skipped=0")
    );
    assert_eq!(status_of(&app, second).await, InviteStatus::LinkShown);
    assert_eq!(status_of(&app, third).await, InviteStatus::LinkShown);
    let actions = audit_actions(&app, DEMO_TEAM).await;
    assert!(actions.contains(&"community.updated".to_owned()));
    assert!(actions.contains(&"invite.denied".to_owned()));
    assert_eq!(
        actions.iter().filter(|a| *a == "invite.approved").count(),
        3
    );
}

#[tokio::test]
async fn the_request_list_filters_and_pages_by_id() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    for n in 0..60 {
        pending_request(&app, DEMO_SLUG, &format!("person{n:02}@example.org")).await;
    }
    let (status, first) = page(&admin, &app, "/admin/requests?status=pending").await;
    assert_eq!(status, 200);
    assert!(first.contains("person59@example.org") && !first.contains("person09@example.org"));
    let next = attr_after(&first, "Older requests", "href").expect("a next page");
    let (_, second) = page(&admin, &app, &next).await;
    assert!(second.contains("person09@example.org") && !second.contains("person59@example.org"));
    assert!(!second.contains("Older requests"));

    let (_, found) = page(&admin, &app, "/admin/requests?email=person4").await;
    assert_eq!(
        found.matches("@example.org</td>").count() + found.matches("@example.org<br>").count(),
        10
    );
    let (_, none) = page(&admin, &app, "/admin/requests?status=joined").await;
    assert!(none.contains("No request matches"));
    assert_eq!(
        page(&admin, &app, "/admin/requests?status=bogus").await.0,
        400
    );
}

#[tokio::test]
async fn with_nothing_installed_the_login_page_explains_the_setup() {
    let app = spawn_app().await;
    let res = app.get("/admin/login").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Create New App"));
    assert!(html.contains(&format!("{}/admin/oauth_redirect", app.address)));
    assert!(html.contains("/slack/install"));
    assert!(app.emulator.calls().is_empty());
}

#[tokio::test]
async fn a_member_who_installs_the_app_is_still_refused_the_dashboard() {
    let app = spawn_app().await;
    let res = app.install(DEMO_TEAM, DEMO_MEMBER).await;
    assert_eq!(res.status(), 200, "Slack lets members install apps");
    let res = sign_in(&app, &browser(), DEMO_TEAM, DEMO_MEMBER).await;
    assert_eq!(
        res.status(),
        403,
        "installing the app makes nobody an admin"
    );
    assert!(session_cookie(&res).is_none());
    assert!(
        audit_actions(&app, DEMO_TEAM)
            .await
            .contains(&"login.refused".to_owned())
    );

    // Reinstalling changes nothing either.
    let res = app.install(DEMO_TEAM, DEMO_MEMBER).await;
    assert_eq!(res.status(), 200);
    let res = sign_in(&app, &browser(), DEMO_TEAM, DEMO_MEMBER).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_demoted_admin_is_refused_at_the_next_check() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    let token = csrf(&admin, &app).await;
    let id = pending_request(&app, DEMO_SLUG, "ana@example.org").await;

    assert!(app.emulator.update_user(DEMO_ADMIN, |u| u.is_admin = false));
    // Within the check interval the session stands; once the last check is 15 minutes old, Slack
    // is asked again before anything changes.
    let (status, _) = page(&admin, &app, "/admin").await;
    assert_eq!(status, 200);
    let checks_before = app.emulator.calls_to("users.info").len();
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE sessions SET checked_at = checked_at - 901"
    )
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();

    let res = post(
        &admin,
        &app,
        &format!("/admin/requests/{id}/deny"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("no longer lists you as an admin")
    );
    assert!(app.emulator.calls_to("users.info").len() > checks_before);
    let request = db::invite_requests::get(app.db(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.status, InviteStatus::Pending, "nothing was decided");
    assert!(
        audit_actions(&app, DEMO_TEAM)
            .await
            .contains(&"admin.demoted".to_owned())
    );
    let res = admin.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(res.status(), 303, "the session is over");
}

#[tokio::test]
async fn an_admin_still_an_admin_passes_the_check_and_keeps_working() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let admin = admin_browser(&app, DEMO_TEAM, DEMO_OWNER).await;
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE sessions SET checked_at = checked_at - 901"
    )
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let (status, html) = page(&admin, &app, "/admin").await;
    assert_eq!(status, 200);
    assert!(html.contains("Demo Community"));
    let checked_at: i64 = lobby::on_conn!(app.db(), |conn| sqlx::query_scalar(
        "SELECT checked_at FROM sessions"
    )
    .fetch_one(conn)
    .await)
    .unwrap();
    assert!(checked_at > db::now() - 60, "the check was recorded");
}

#[tokio::test]
async fn invite_links_that_are_not_slacks_are_refused_and_old_ones_flagged() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    let token = csrf(&admin, &app).await;
    let id = community_id(&app, DEMO_SLUG).await;
    for (link, message) in [
        (
            "https://evil.test/t/demo/shared_invite/zt-1",
            "must be a Slack invite link",
        ),
        (
            "https://join.slack.com/t/demo/shared_invite/zt-1\r\nSet-Cookie: x=y",
            "line break",
        ),
    ] {
        let res = post(
            &admin,
            &app,
            &format!("/admin/communities/{id}"),
            &[
                ("csrf", token.as_str()),
                ("title", "Demo Community"),
                ("invite_mode", "link"),
                ("default_channels", "C0GENERAL1"),
                ("invite_link", link),
            ],
        )
        .await;
        assert_eq!(res.status(), 400, "{link}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{link}: {html}");
        assert!(
            html.contains("Demo Community"),
            "the form keeps what was typed"
        );
    }
    let community = db::communities::by_slug(app.db(), DEMO_SLUG)
        .await
        .unwrap()
        .unwrap();
    assert!(!community.has_invite_link, "nothing was stored");

    // A link stored before links were checked is never handed out: the community is flagged.
    db::communities::set_secret(
        app.db(),
        &app.state.keyring,
        id,
        db::communities::CommunitySecret::InviteLink,
        &db::communities::SecretChange::Set("https://evil.test/phish".into()),
    )
    .await
    .unwrap();
    let first = pending_request(&app, DEMO_SLUG, "ana@example.org").await;
    let res = post(
        &admin,
        &app,
        &format!("/admin/requests/{first}/approve"),
        &[("csrf", &token)],
    )
    .await;
    let html = res.text().await.unwrap();
    assert!(!html.contains("evil.test"), "{html}");
    assert_eq!(status_of(&app, first).await, InviteStatus::Pending);
    let community = db::communities::by_slug(app.db(), DEMO_SLUG)
        .await
        .unwrap()
        .unwrap();
    assert!(
        community
            .config_error
            .is_some_and(|e| e.contains("Slack invite link"))
    );
}

#[tokio::test]
async fn an_org_wide_community_targets_only_a_workspace_of_its_organisation() {
    use lobby::emulator::seed::{ORG, ORG_ADMIN, ORG_TEAM};
    let app = spawn_app().await;
    assert_eq!(app.install(ORG, ORG_ADMIN).await.status(), 200);
    let admin = admin_browser(&app, ORG_TEAM, ORG_ADMIN).await;
    let token = csrf(&admin, &app).await;
    let create = |slug: &'static str, workspace: &'static str| {
        let (admin, app, token) = (&admin, &app, token.clone());
        async move {
            post(
                admin,
                app,
                "/admin/communities",
                &[
                    ("csrf", token.as_str()),
                    ("installation", ORG),
                    ("slug", slug),
                    ("workspace", workspace),
                    ("title", "Org Community"),
                    ("invite_mode", "approval"),
                ],
            )
            .await
        }
    };
    let res = create("outsiders", OTHER_TEAM).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("not a workspace of this organisation")
    );
    assert!(
        db::communities::by_slug(app.db(), "outsiders")
            .await
            .unwrap()
            .is_none()
    );
    let res = create("insiders", ORG_TEAM).await;
    assert_eq!(res.status(), 303);
    let community = db::communities::by_slug(app.db(), "insiders")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(community.team_id, ORG_TEAM);
}

/// Every field of the new-community form, as the dashboard's form sends it.
fn new_community_form<'a>(
    csrf: &'a str,
    installation: &'a str,
    slug: &'a str,
    title: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("installation", installation),
        ("slug", slug),
        ("workspace", ""),
        ("title", title),
        ("description", "Made in the dashboard"),
        ("invite_mode", "approval"),
        ("default_channels", ""),
        ("coc_url", ""),
        ("allowed_domains", ""),
        ("denied_domains", ""),
        ("captcha_provider", ""),
        ("captcha_site_key", ""),
        ("admin_channel", ""),
    ]
}

#[tokio::test]
async fn an_admin_creates_a_community_only_for_a_workspace_they_manage() {
    let app = two_workspaces().await;
    let other = admin_browser(&app, OTHER_TEAM, OTHER_ADMIN).await;
    let other_token = csrf(&other, &app).await;

    // Another workspace's admin cannot create a community for this one.
    let res = post(
        &other,
        &app,
        "/admin/communities",
        &new_community_form(&other_token, DEMO_TEAM, "sneaky", "Sneaky"),
    )
    .await;
    assert_eq!(res.status(), 404);
    assert!(
        db::communities::by_slug(app.db(), "sneaky")
            .await
            .unwrap()
            .is_none()
    );

    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    let token = csrf(&admin, &app).await;
    let res = post(
        &admin,
        &app,
        "/admin/communities",
        &new_community_form(&token, DEMO_TEAM, "rustaceans", "Rustaceans"),
    )
    .await;
    assert_eq!(res.status(), 303);
    let created_at = res.headers()["location"].to_str().unwrap().to_owned();
    let (status, html) = page(&admin, &app, &created_at).await;
    assert_eq!(status, 200);
    assert!(html.contains("Rustaceans"));

    let stored = db::communities::by_slug(app.db(), "rustaceans")
        .await
        .unwrap()
        .expect("the community is stored");
    assert_eq!(stored.team_id, DEMO_TEAM);
    assert_eq!(stored.title, "Rustaceans");
    assert_eq!(stored.invite_mode, lobby::domain::InviteMode::Approval);
    let join = app.get("/join/rustaceans").await;
    assert_eq!(join.status(), 200, "its join page is public");
    assert!(
        audit_actions(&app, DEMO_TEAM)
            .await
            .contains(&"community.created".to_owned())
    );

    // The same address again is refused with a message.
    let res = post(
        &admin,
        &app,
        "/admin/communities",
        &new_community_form(&token, DEMO_TEAM, "rustaceans", "Again"),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("/join/rustaceans is taken")
    );

    // The other workspace's admin does not see it.
    let (_, list) = page(&other, &app, "/admin/communities").await;
    assert!(!list.contains("Rustaceans"));
}

#[tokio::test]
async fn an_admin_revokes_an_api_key_of_their_workspace_and_only_theirs() {
    let app = two_workspaces().await;
    let created = lobby::api_keys::create(app.db(), &team(DEMO_TEAM), "ci", "test")
        .await
        .unwrap();
    let key = secrecy::ExposeSecret::expose_secret(&created.key).to_owned();
    let post_message = || {
        browser()
            .post(app.url("/api/v1/messages"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"channel": "general", "text": "still here"}))
            .send()
    };
    assert_eq!(post_message().await.unwrap().status(), 200, "the key works");
    let revoke_path = format!("/admin/keys/{}/revoke", created.id);

    // Another workspace's admin can neither name this workspace nor reach the key through theirs.
    let other = admin_browser(&app, OTHER_TEAM, OTHER_ADMIN).await;
    let other_token = csrf(&other, &app).await;
    for team in [DEMO_TEAM, OTHER_TEAM] {
        let res = post(
            &other,
            &app,
            &revoke_path,
            &[("csrf", other_token.as_str()), ("team", team)],
        )
        .await;
        assert_eq!(res.status(), 404, "as {team}");
    }
    assert_eq!(post_message().await.unwrap().status(), 200, "still works");

    let admin = admin_browser(&app, DEMO_TEAM, DEMO_ADMIN).await;
    let token = csrf(&admin, &app).await;
    let res = post(
        &admin,
        &app,
        &revoke_path,
        &[("csrf", token.as_str()), ("team", DEMO_TEAM)],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(post_message().await.unwrap().status(), 401, "revoked");
    assert_eq!(
        app.emulator.calls_to("chat.postMessage").len(),
        2,
        "only the posts made before the revocation reached Slack"
    );
    assert!(
        audit_actions(&app, DEMO_TEAM)
            .await
            .contains(&"api_key.revoked".to_owned())
    );
}

#[tokio::test]
async fn an_admin_retries_a_request_slack_refused_and_it_is_delivered() {
    let app = crate::helpers::app_with_admin_api(vec![]).await;
    let res = crate::helpers::install_without_user_scopes(
        &app.address,
        &browser(),
        OTHER_TEAM,
        OTHER_ADMIN,
    )
    .await;
    assert_eq!(res.status(), 200);
    let id = pending_request(&app, DEMO_SLUG, "retry@example.org").await;
    let admin = admin_browser(
        &app,
        lobby::emulator::seed::ORG_TEAM,
        lobby::emulator::seed::ORG_ADMIN,
    )
    .await;
    let token = csrf(&admin, &app).await;

    // Approved while Slack refuses for a reason an admin fixes: the request waits.
    app.emulator.inject(
        "admin.users.invite",
        lobby::emulator::Fault::Error("paid_teams_only".into()),
        1,
    );
    let res = post(
        &admin,
        &app,
        &format!("/admin/requests/{id}/approve"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status(), 303);
    crate::helpers::eventually("Slack's refusal", || async {
        let r = db::invite_requests::get(app.db(), id).await.unwrap()?;
        (r.slack_error.as_deref() == Some("paid_teams_only")).then_some(())
    })
    .await;
    assert_eq!(status_of(&app, id).await, InviteStatus::Pending);
    let (_, list) = page(&admin, &app, "/admin/requests?status=pending").await;
    // Still pending: approving again is the action that helps (Retry is for failed requests).
    assert!(
        list.contains(&format!("/admin/requests/{id}/approve")),
        "an Approve button"
    );
    assert!(!list.contains(&format!("/admin/requests/{id}/retry")));

    // Another workspace's admin cannot retry it.
    let other = admin_browser(&app, OTHER_TEAM, OTHER_ADMIN).await;
    let other_token = csrf(&other, &app).await;
    let res = post(
        &other,
        &app,
        &format!("/admin/requests/{id}/retry"),
        &[("csrf", &other_token)],
    )
    .await;
    assert_eq!(res.status(), 404);
    assert_eq!(app.emulator.calls_to("admin.users.invite").len(), 1);

    let res = post(
        &admin,
        &app,
        &format!("/admin/requests/{id}/retry"),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status(), 303);
    crate::helpers::eventually("the retried invite", || async {
        (status_of(&app, id).await == InviteStatus::Invited).then_some(())
    })
    .await;
    let calls = app.emulator.calls_to("admin.users.invite");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].param("email"), Some("retry@example.org"));
    assert!(calls[1].error.is_none());
}
