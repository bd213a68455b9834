//! Add to Slack, end to end against the emulator: the happy path, every refusal, reinstall,
//! token rotation and uninstall.

use lobby::db::installations::{self, TokenKind};
use lobby::emulator::seed::{
    DEMO_ADMIN, DEMO_MEMBER, DEMO_TEAM, ORG, ORG_ADMIN, OTHER_ADMIN, OTHER_TEAM,
};
use lobby::emulator::{EmulatorConfig, Fault};
use lobby::oauth_state::{self as oauth, Flow};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{
    AppOptions, Consent, browser, captured_logs, contains_bytes, database_bytes, spawn_app,
    spawn_app_with, team,
};

fn exchanges(app: &crate::helpers::TestApp) -> usize {
    app.emulator.calls_to("oauth.v2.access").len()
}

/// The demo workspace's stored bot token, opened.
async fn demo_bot_token(app: &crate::helpers::TestApp) -> installations::StoredToken {
    installations::token(
        app.db(),
        &app.state.keyring,
        &team(DEMO_TEAM),
        TokenKind::Bot,
    )
    .await
    .unwrap()
    .expect("a bot token")
}

async fn installation_count(app: &crate::helpers::TestApp) -> usize {
    installations::list(app.db()).await.unwrap().len()
}

fn cookie_cleared(res: &reqwest::Response) -> bool {
    res.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("lobby_install=")
            && c.to_str().unwrap().contains("Max-Age=0")
    })
}

#[tokio::test]
async fn adding_to_slack_installs_the_workspace() {
    let app = spawn_app().await;
    let authorize = app.start_install().await;
    let q: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], app.emulator.config().client_id);
    assert!(q["scope"].contains("chat:write"));
    let redirect_uri = format!("{}/slack/oauth_redirect", app.address);
    assert_eq!(q["redirect_uri"], redirect_uri);
    assert!(q["state"].len() >= 22, "at least 128 bits of state");

    let callback = app
        .consent(
            &authorize,
            Consent::Allow {
                workspace: DEMO_TEAM,
                user: DEMO_ADMIN,
            },
        )
        .await;
    let res = app.client.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert!(cookie_cleared(&res));
    let body = res.text().await.unwrap();
    assert!(body.contains("Demo Community"));
    assert!(body.contains("href=\"/join/demo-community\""));
    assert!(body.contains("href=\"/admin\""));

    // Slack received the exchange with the app's credentials by Basic auth and the same redirect_uri.
    let exchange = &app.emulator.calls_to("oauth.v2.access")[0];
    assert_eq!(
        exchange.basic_client_id.as_deref(),
        Some(app.emulator.config().client_id.as_str())
    );
    assert_eq!(exchange.param("redirect_uri"), Some(redirect_uri.as_str()));
    assert_eq!(app.emulator.calls_to("auth.test").len(), 1);
    assert_eq!(app.emulator.calls_to("team.info").len(), 1);

    let inst = installations::get(app.db(), &team(DEMO_TEAM))
        .await
        .unwrap()
        .expect("a row");
    assert!(inst.is_active());
    assert_eq!(inst.team_domain.as_deref(), Some("demo-community"));
    assert_eq!(inst.installer_user_id, DEMO_ADMIN);
    assert!(inst.bot_id.is_some() && inst.bot_user_id.is_some());
    let token = demo_bot_token(&app).await;
    assert!(
        app.emulator
            .issued_tokens()
            .contains(&token.token.expose_secret().to_string())
    );
}

#[tokio::test]
async fn cancelling_on_slack_stores_nothing() {
    let app = spawn_app().await;
    let authorize = app.start_install().await;
    let callback = app.consent(&authorize, Consent::Cancel).await;
    assert!(callback.query().unwrap().contains("error=access_denied"));
    let res = app.client.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(cookie_cleared(&res));
    let body = res.text().await.unwrap();
    assert!(body.contains("cancelled"));
    assert!(
        body.contains("href=\"/slack/install\""),
        "a start-again link"
    );
    assert_eq!(exchanges(&app), 0);
    assert_eq!(installation_count(&app).await, 0);
}

#[tokio::test]
async fn a_missing_or_unknown_state_is_refused() {
    let app = spawn_app().await;
    app.start_install().await;
    for query in ["code=abc", "code=abc&state=never-issued", "code=abc&state="] {
        let res = app.get(&format!("/slack/oauth_redirect?{query}")).await;
        assert_eq!(res.status(), 400, "{query}");
        assert!(res.text().await.unwrap().contains("Start again"));
    }
    assert_eq!(exchanges(&app), 0);
    assert_eq!(installation_count(&app).await, 0);
}

#[tokio::test]
async fn an_expired_state_is_refused() {
    let app = spawn_app().await;
    let authorize = app.start_install().await;
    let callback = app
        .consent(
            &authorize,
            Consent::Allow {
                workspace: DEMO_TEAM,
                user: DEMO_ADMIN,
            },
        )
        .await;
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE oauth_states SET expires_at = expires_at - 601"
    )
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let res = app.client.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("expired"));
    assert_eq!(exchanges(&app), 0);
    assert_eq!(installation_count(&app).await, 0);
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let app = spawn_app().await;
    let authorize = app.start_install().await;
    let callback = app
        .consent(
            &authorize,
            Consent::Allow {
                workspace: DEMO_TEAM,
                user: DEMO_ADMIN,
            },
        )
        .await;
    assert_eq!(
        app.client
            .get(callback.clone())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The browser that finished the install sees it again on a refresh (issue 14); anyone
    // else replaying the address is refused.
    let replay = crate::helpers::browser()
        .get(callback)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 400);
    assert!(replay.text().await.unwrap().contains("already been used"));
    assert_eq!(exchanges(&app), 1, "the code is exchanged once");
}

#[tokio::test]
async fn another_browser_cannot_finish_the_flow() {
    let app = spawn_app().await;
    let authorize = app.start_install().await;
    let callback = app
        .consent(
            &authorize,
            Consent::Allow {
                workspace: DEMO_TEAM,
                user: DEMO_ADMIN,
            },
        )
        .await;
    let attacker = browser();
    let res = attacker.get(callback.clone()).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("another browser"));
    assert_eq!(exchanges(&app), 0);
    assert_eq!(installation_count(&app).await, 0);
    // The state is spent: the victim starts again rather than finishing a tampered flow.
    assert_eq!(app.client.get(callback).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn a_login_state_is_refused_at_the_install_callback() {
    let app = spawn_app().await;
    let issued = oauth::issue(app.db(), Flow::Login).await.unwrap();
    let res = app
        .client
        .get(app.url(&format!(
            "/slack/oauth_redirect?code=abc&state={}",
            issued.state
        )))
        .header("cookie", format!("lobby_install={}", issued.binding))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("signing in"));
    assert_eq!(exchanges(&app), 0);
}

#[tokio::test]
async fn a_callback_without_a_code_is_refused() {
    let app = spawn_app().await;
    let authorize = app.start_install().await;
    let callback = app
        .consent(
            &authorize,
            Consent::Allow {
                workspace: DEMO_TEAM,
                user: DEMO_ADMIN,
            },
        )
        .await;
    let mut without_code = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "code")
        .collect();
    without_code.query_pairs_mut().clear().extend_pairs(pairs);
    let res = app.client.get(without_code).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(exchanges(&app), 0);
    assert_eq!(installation_count(&app).await, 0);
}

#[tokio::test]
async fn a_code_slack_refuses_stores_nothing() {
    let app = spawn_app().await;
    let authorize = app.start_install().await;
    let callback = app
        .consent(
            &authorize,
            Consent::Allow {
                workspace: DEMO_TEAM,
                user: DEMO_ADMIN,
            },
        )
        .await;
    let mut forged = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "code" {
                (k, "forged-code".to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let res = app.client.get(forged).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("invalid_code"));
    assert_eq!(installation_count(&app).await, 0);
}

#[tokio::test]
async fn an_exchange_slack_refuses_is_reported_with_slacks_code() {
    let app = spawn_app().await;
    // Slack's way of refusing: HTTP 200 with ok:false.
    app.emulator.inject(
        "oauth.v2.access",
        Fault::Error("bad_redirect_uri".into()),
        1,
    );
    let res = app.install(DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(res.status(), 400);
    assert!(cookie_cleared(&res));
    let html = res.text().await.unwrap();
    assert!(html.contains("Slack refused the installation"));
    assert!(html.contains("bad_redirect_uri"));
    assert_eq!(installation_count(&app).await, 0);
}

#[tokio::test]
async fn slack_being_unreachable_is_a_502() {
    let app = spawn_app().await;
    app.emulator
        .inject("oauth.v2.access", Fault::Status(503), 1);
    let res = app.install(DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(res.status(), 502);
    assert!(cookie_cleared(&res));
    assert_eq!(installation_count(&app).await, 0);
}

#[tokio::test]
async fn teams_outside_the_allow_list_are_refused_and_their_token_revoked() {
    let app = spawn_app_with(AppOptions {
        env: vec![("LOBBY_ALLOWED_TEAMS", OTHER_TEAM.to_string())],
        ..Default::default()
    })
    .await;
    let res = app.install(DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("not one of them"));
    assert_eq!(installation_count(&app).await, 0);
    assert_eq!(app.emulator.calls_to("auth.revoke").len(), 1);

    let res = app.install(OTHER_TEAM, OTHER_ADMIN).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn reinstalling_updates_the_row_in_place() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let first = demo_bot_token(&app).await;
    installations::mark_inactive(app.db(), &team(DEMO_TEAM), "invalid_auth")
        .await
        .unwrap();

    let res = app.install(DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("updated"));
    assert_eq!(installation_count(&app).await, 1);
    let inst = installations::get(app.db(), &team(DEMO_TEAM))
        .await
        .unwrap()
        .unwrap();
    assert!(inst.is_active());
    assert_eq!(inst.status_reason, None);
    let second = demo_bot_token(&app).await;
    assert_ne!(first.token.expose_secret(), second.token.expose_secret());
}

#[tokio::test]
async fn an_org_wide_install_is_keyed_by_the_enterprise() {
    let app = spawn_app().await;
    let res = app.install(ORG, ORG_ADMIN).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let inst = installations::get(app.db(), &team(ORG))
        .await
        .unwrap()
        .expect("keyed by enterprise id");
    assert!(inst.is_enterprise_install);
    assert_eq!(inst.team_id, None);
}

#[tokio::test]
async fn no_issued_token_reaches_the_database_files_or_the_logs() {
    let app = spawn_app().await;
    let authorize = app.start_install().await;
    let state = authorize
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let callback = app
        .consent(
            &authorize,
            Consent::Allow {
                workspace: DEMO_TEAM,
                user: DEMO_ADMIN,
            },
        )
        .await;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(app.client.get(callback).send().await.unwrap().status(), 200);

    let tokens = app.emulator.issued_tokens();
    assert!(!tokens.is_empty());
    let bytes = database_bytes(&app.db_path());
    let logs = captured_logs();
    assert!(
        logs.contains("workspace installed"),
        "the logs were captured"
    );
    for token in &tokens {
        assert!(
            !contains_bytes(&bytes, token.as_bytes()),
            "a token is in the database files in plaintext"
        );
        assert!(!logs.contains(token.as_str()), "a token is in the logs");
    }
    assert!(!logs.contains(&code), "the OAuth code is in the logs");
    assert!(!logs.contains(&state), "the OAuth state is in the logs");
    assert!(!logs.contains(app.emulator.config().client_secret.expose_secret()));
}

#[tokio::test]
async fn concurrent_uses_of_an_expiring_token_refresh_it_once() {
    let mut config = EmulatorConfig::demo();
    config.token_rotation = true;
    let app = spawn_app_with(AppOptions {
        emulator: config,
        ..Default::default()
    })
    .await;
    app.install_demo_workspace().await;
    let before = demo_bot_token(&app).await;
    assert!(before.refresh_token.is_some());
    assert!(
        before.expires_at.unwrap() > lobby::db::now() + 11 * 3600,
        "Slack's 12-hour tokens"
    );
    // Ten hours on, the token is inside the two-hour margin.
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE installations SET bot_token_expires_at = $1"
    )
    .bind(lobby::db::now() + 3600)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    // Changed behind the app's back: drop what it holds in memory.
    app.state.installations.forget(&team(DEMO_TEAM));

    let state = app.state.clone();
    let mut uses = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let state = state.clone();
        uses.spawn(
            async move { lobby::installation_tokens::bot_token(&state, &team(DEMO_TEAM)).await },
        );
    }
    let tokens: Vec<String> = uses
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("a usable token").expose_secret().to_string())
        .collect();

    let refreshes = app
        .emulator
        .calls_to("oauth.v2.access")
        .into_iter()
        .filter(|c| c.param("grant_type") == Some("refresh_token"))
        .count();
    assert_eq!(refreshes, 1, "exactly one refresh for 20 concurrent uses");
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "everyone got the refreshed token"
    );
    assert_ne!(tokens[0], before.token.expose_secret());
    let after = installations::get(app.db(), &team(DEMO_TEAM))
        .await
        .unwrap()
        .unwrap();
    assert!(after.bot_token_expires_at.unwrap() > lobby::db::now() + 11 * 3600);
}

async fn assert_no_tokens(app: &crate::helpers::TestApp) {
    for kind in [TokenKind::Bot, TokenKind::User] {
        assert!(
            installations::token(app.db(), &app.state.keyring, &team(DEMO_TEAM), kind)
                .await
                .unwrap()
                .is_none()
        );
    }
    let inst = installations::get(app.db(), &team(DEMO_TEAM))
        .await
        .unwrap()
        .unwrap();
    assert!(!inst.has_bot_token && !inst.has_user_token);
    assert_eq!(inst.status, installations::InstallationStatus::Uninstalled);
}

#[tokio::test]
async fn uninstall_events_in_either_order_leave_no_token() {
    let uninstalled = json!({"type": "app_uninstalled"});
    for revoked_first in [false, true] {
        let app = spawn_app().await;
        app.install_demo_workspace().await;
        let bot = app.emulator.app_bot(DEMO_TEAM).user_id;
        let revoked =
            json!({"type": "tokens_revoked", "tokens": {"oauth": [DEMO_ADMIN], "bot": [bot]}});
        let order = if revoked_first {
            [&revoked, &uninstalled]
        } else {
            [&uninstalled, &revoked]
        };
        for event in order {
            let (_, res) = app
                .emulator
                .send_event(DEMO_TEAM, event.clone())
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
        assert_no_tokens(&app).await;
        // Delivered again (a Slack retry), nothing changes and nothing fails.
        let (_, res) = app
            .emulator
            .send_event(DEMO_TEAM, uninstalled.clone())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_no_tokens(&app).await;
    }
}

#[tokio::test]
async fn slack_refusing_a_token_marks_the_installation_inactive() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let token = lobby::installation_tokens::bot_token(&app.state, &team(DEMO_TEAM))
        .await
        .unwrap();
    app.emulator
        .inject("auth.test", Fault::Error("invalid_auth".into()), 1);
    let err = app.state.slack.auth_test(&token).await.unwrap_err();
    lobby::installation_tokens::note_failure(&app.state, &team(DEMO_TEAM), &err).await;
    let inst = installations::get(app.db(), &team(DEMO_TEAM))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inst.status, installations::InstallationStatus::Inactive);
    assert_eq!(inst.status_reason.as_deref(), Some("invalid_auth"));
    assert!(
        lobby::installation_tokens::bot_token(&app.state, &team(DEMO_TEAM))
            .await
            .is_err(),
        "no longer used"
    );
}

#[tokio::test]
async fn oauth_starts_are_limited_per_client() {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    for _ in 1..30 {
        assert_eq!(app.get("/slack/install").await.status(), 200);
    }
    let res = app.get("/slack/install").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let states: i64 = lobby::on_conn!(app.db(), |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM oauth_states"
    )
    .fetch_one(conn)
    .await)
    .unwrap();
    assert_eq!(states, 29, "the refused start wrote no state");
    let res = app.get("/admin/login").await;
    assert_eq!(res.status(), 429, "Sign in with Slack shares the budget");
}

/// Which of the demo installation's tokens are still stored: (bot, user).
async fn stored_tokens(app: &crate::helpers::TestApp) -> (bool, bool) {
    let mut held = [false, false];
    for (i, kind) in [TokenKind::Bot, TokenKind::User].into_iter().enumerate() {
        held[i] = installations::token(app.db(), &app.state.keyring, &team(DEMO_TEAM), kind)
            .await
            .unwrap()
            .is_some();
    }
    (held[0], held[1])
}

#[tokio::test]
async fn tokens_revoked_for_another_user_changes_nothing_and_for_the_installer_drops_only_the_user_token()
 {
    // A user token with a scope an ordinary workspace grants.
    let app = spawn_app_with(AppOptions {
        env: vec![("SLACK_USER_SCOPES", "users:read".to_owned())],
        ..Default::default()
    })
    .await;
    app.install_demo_workspace().await;
    assert_eq!(
        stored_tokens(&app).await,
        (true, true),
        "bot and installer tokens"
    );
    let bot = app.emulator.app_bot(DEMO_TEAM).user_id;

    // A signed-in admin (not the installer) revoked their own token: not ours to forget.
    let other =
        json!({"type": "tokens_revoked", "tokens": {"oauth": [DEMO_MEMBER], "bot": [DEMO_MEMBER]}});
    let (_, res) = app.emulator.send_event(DEMO_TEAM, other).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(stored_tokens(&app).await, (true, true), "nothing changed");
    let inst = installations::get(app.db(), &team(DEMO_TEAM))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inst.status, installations::InstallationStatus::Active);

    let installer = json!({"type": "tokens_revoked", "tokens": {"oauth": [DEMO_ADMIN], "bot": []}});
    let (_, res) = app.emulator.send_event(DEMO_TEAM, installer).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        stored_tokens(&app).await,
        (true, false),
        "only the user token is gone"
    );
    let inst = installations::get(app.db(), &team(DEMO_TEAM))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        inst.status,
        installations::InstallationStatus::Active,
        "the bot still works"
    );

    let bot_revoked = json!({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [bot]}});
    let (_, res) = app
        .emulator
        .send_event(DEMO_TEAM, bot_revoked)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(stored_tokens(&app).await, (false, false));
}
