//! The Slack side, through signed requests from the emulator: verification, slash commands, the
//! mention bot, `/summarize`, approval buttons and `team_join`.

use actix_web::{App, HttpResponse, HttpServer, web};
use lobby::db;
use lobby::domain::InviteStatus;
use lobby::emulator::seed::{
    DEMO_GENERAL, DEMO_MEMBER, DEMO_TEAM, ORG_ADMIN, ORG_GENERAL, ORG_MEMBER, ORG_TEAM,
};
use lobby::emulator::{Fault, Gate, Signing, SlashCommand};
use serde_json::{Value, json};

use crate::helpers::{
    AppOptions, TestApp, app_with_admin_api, eventually, spawn_app, spawn_app_with, user,
};

async fn installed(options: AppOptions) -> TestApp {
    let app = spawn_app_with(options).await;
    app.install_demo_workspace().await;
    app
}

fn command(cmd: &str, text: &str, user: &str) -> SlashCommand {
    SlashCommand::new(DEMO_TEAM, DEMO_GENERAL, user, cmd, text)
}

async fn requests(app: &TestApp) -> Vec<db::invite_requests::InviteRequest> {
    let community = db::communities::by_slug(app.db(), "demo-community")
        .await
        .unwrap()
        .unwrap();
    db::invite_requests::list(app.db(), community.id, None, None, 100)
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_signatures_get_401_and_have_no_effect() {
    let app = installed(AppOptions::default()).await;
    let body = "command=%2Flobby-invite&text=eve%40example.org&team_id=T0DEMO0001&channel_id=C0GENERAL1&user_id=U0MEMBR001&response_url=http%3A%2F%2F127.0.0.1%3A9%2F".as_bytes();
    for signing in [
        Signing::WrongSecret,
        Signing::StaleBy(301),
        Signing::FutureBy(301),
        Signing::Missing,
    ] {
        let res = app
            .emulator
            .send_signed_raw("application/x-www-form-urlencoded", body.to_vec(), signing)
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let json: Value = res.json().await.unwrap();
        assert_eq!(json["ok"], false);
    }
    assert!(requests(&app).await.is_empty(), "nothing was proposed");
    // The same body, properly signed, does take effect.
    let res = app
        .emulator
        .send_signed_raw(
            "application/x-www-form-urlencoded",
            body.to_vec(),
            Signing::Valid,
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(requests(&app).await.len(), 1);
}

#[tokio::test]
async fn url_verification_and_ssl_check_are_answered() {
    let app = spawn_app().await;
    let (challenge, res) = app.emulator.send_url_verification().await.unwrap();
    assert_eq!(res.status(), 200);
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["challenge"], challenge);
    let res = app.emulator.send_ssl_check().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn help_answers_at_once_and_unknown_commands_are_ignored() {
    let app = installed(AppOptions::default()).await;
    let res = app
        .emulator
        .send_slash_command(command("/lobby", "help", DEMO_MEMBER))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["response_type"], "ephemeral");
    assert!(json["text"].as_str().unwrap().contains("/summarize"));

    let res = app
        .emulator
        .send_slash_command(command("/echo", "hi", DEMO_MEMBER))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_uninstalled_workspace_is_refused_right_after_app_uninstalled() {
    let app = installed(AppOptions::default()).await;
    let help = || {
        app.emulator
            .send_slash_command(command("/lobby", "help", DEMO_MEMBER))
    };
    // The installation is in memory now.
    let json: Value = help().await.unwrap().json().await.unwrap();
    assert!(json["text"].as_str().unwrap().contains("/summarize"));

    let (_, res) = app
        .emulator
        .send_event(DEMO_TEAM, json!({"type": "app_uninstalled"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let json: Value = help().await.unwrap().json().await.unwrap();
    assert!(
        json["text"].as_str().unwrap().contains("not installed"),
        "{json}"
    );
    let res = app
        .emulator
        .send_slash_command(command("/lobby-invite", "eve@example.org", DEMO_MEMBER))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(requests(&app).await.is_empty(), "nothing was proposed");

    // Installed again, it answers again.
    app.install_demo_workspace().await;
    let json: Value = help().await.unwrap().json().await.unwrap();
    assert!(json["text"].as_str().unwrap().contains("/summarize"));
}

/// Adds a request to `slug` in `status`, created `age_days` ago.
async fn seed_request(app: &TestApp, slug: &str, email: &str, status: InviteStatus, age_days: i64) {
    let community = db::communities::by_slug(app.db(), slug)
        .await
        .unwrap()
        .unwrap();
    let id = db::invite_requests::insert(
        app.db(),
        &db::invite_requests::NewRequest {
            community_id: community.id,
            email,
            name: "",
            source: "form",
            requested_by: None,
            status,
            status_message: "seeded",
        },
    )
    .await
    .unwrap()
    .unwrap();
    let at = db::now() - age_days * 24 * 3600;
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE invite_requests SET created_at = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(at)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
}

#[tokio::test]
async fn lobby_stats_counts_this_workspaces_week() {
    let app = installed(AppOptions::default()).await;
    let res = crate::helpers::install_at(
        &app.address,
        &crate::helpers::browser(),
        lobby::emulator::seed::OTHER_TEAM,
        lobby::emulator::seed::OTHER_ADMIN,
    )
    .await;
    assert_eq!(res.status(), 200);
    let slug = "demo-community";
    seed_request(&app, slug, "p1@example.org", InviteStatus::Pending, 0).await;
    seed_request(&app, slug, "p2@example.org", InviteStatus::Pending, 20).await;
    for (i, email) in ["i1@example.org", "i2@example.org", "i3@example.org"]
        .iter()
        .enumerate()
    {
        seed_request(&app, slug, email, InviteStatus::Invited, i as i64).await;
    }
    seed_request(&app, slug, "j1@example.org", InviteStatus::Joined, 1).await;
    // Last month's invite and another workspace's requests are not this workspace's week.
    seed_request(&app, slug, "old@example.org", InviteStatus::Invited, 30).await;
    seed_request(
        &app,
        "other-workspace",
        "x1@example.org",
        InviteStatus::Pending,
        0,
    )
    .await;
    seed_request(
        &app,
        "other-workspace",
        "x2@example.org",
        InviteStatus::Invited,
        0,
    )
    .await;

    let res = app
        .emulator
        .send_slash_command(command("/lobby", "stats", DEMO_MEMBER))
        .await
        .unwrap();

    assert_eq!(res.status(), 200);
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["response_type"], "ephemeral");
    let text = json["text"].as_str().unwrap();
    assert!(
        text.contains("2 pending requests waiting for an admin"),
        "{text}"
    );
    assert!(text.contains("4 invited"), "{text}");
    assert!(text.contains("1 joined"), "{text}");
}

#[tokio::test]
async fn invite_proposes_someone_for_approval() {
    let app = installed(AppOptions::default()).await;
    let res = app
        .emulator
        .send_slash_command(command(
            "/lobby-invite",
            "grace@example.org Grace Hopper",
            DEMO_MEMBER,
        ))
        .await
        .unwrap();
    let json: Value = res.json().await.unwrap();
    assert!(
        json["text"]
            .as_str()
            .unwrap()
            .contains("waiting for an admin"),
        "{json}"
    );
    let request = &requests(&app).await[0];
    assert_eq!(request.status, InviteStatus::Pending);
    assert_eq!(request.source, "slack");
    assert_eq!(request.requested_by, Some(user(DEMO_MEMBER)));

    let res = app
        .emulator
        .send_slash_command(command("/lobby-invite", "not-an-email", DEMO_MEMBER))
        .await
        .unwrap();
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["response_type"], "ephemeral");
    assert_eq!(requests(&app).await.len(), 1);
}

#[tokio::test]
async fn invite_refuses_a_denied_domain_with_the_join_forms_reason() {
    let app = installed(AppOptions::default()).await;
    let community = db::communities::by_slug(app.db(), "demo-community")
        .await
        .unwrap()
        .expect("the demo community");
    let mut settings = crate::join::settings_of(&community);
    settings.denied_domains = "spam.example.org".into();
    db::communities::update(app.db(), community.id, &settings)
        .await
        .unwrap();

    let res = app
        .emulator
        .send_slash_command(command(
            "/lobby-invite",
            "someone@spam.example.org",
            DEMO_MEMBER,
        ))
        .await
        .unwrap();
    let json: Value = res.json().await.unwrap();
    assert_eq!(json["response_type"], "ephemeral");
    assert_eq!(
        json["text"], "Addresses at spam.example.org cannot join this community.",
        "{json}"
    );
    assert!(requests(&app).await.is_empty(), "nothing was recorded");
}

#[tokio::test]
async fn the_mention_bot_answers_in_the_thread_after_the_ack() {
    let app = installed(AppOptions::default()).await;
    let bot = app.emulator.app_bot(DEMO_TEAM);
    // Slack holds the reply until the test lets it through: the ack cannot be waiting for it.
    let gate = Gate::new();
    app.emulator
        .inject("chat.postMessage", Fault::Held(gate.clone()), 1);
    let event = json!({
        "type": "app_mention", "user": DEMO_MEMBER, "text": format!("<@{}> help", bot.user_id),
        "channel": DEMO_GENERAL, "ts": "1700000000.000100",
    });
    let (event_id, res) = app.emulator.send_event(DEMO_TEAM, event).await.unwrap();
    assert_eq!(res.status(), 200, "acknowledged while the reply is held");
    gate.arrived().await;
    assert!(
        app.emulator.calls_to("chat.postMessage").is_empty(),
        "the reply is still held at Slack"
    );
    gate.release();

    let call = eventually("the reply", || async {
        app.emulator.calls_to("chat.postMessage").pop()
    })
    .await;
    assert_eq!(call.param("channel"), Some(DEMO_GENERAL));
    assert_eq!(call.param("thread_ts"), Some("1700000000.000100"));
    assert!(call.param("text").unwrap().contains("/summarize"));

    // Slack's retry of the same event has no second effect.
    let res = app.emulator.redeliver_event(&event_id, 1).await.unwrap();
    assert_eq!(res.status(), 200);
    let jobs: i64 = lobby::on_conn!(app.db(), |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'slack.event'"
    )
    .fetch_one(conn)
    .await)
    .unwrap();
    assert_eq!(jobs, 1, "one job for one event id");
}

#[tokio::test]
async fn the_bot_ignores_its_own_mentions_and_answers_a_person() {
    let app = installed(AppOptions::default()).await;
    let bot = app.emulator.app_bot(DEMO_TEAM);
    let from_bot = json!({
        "type": "app_mention", "user": bot.user_id, "bot_id": bot.bot_id,
        "text": format!("<@{}> help", bot.user_id), "channel": DEMO_GENERAL, "ts": "1.1",
    });
    app.emulator.send_event(DEMO_TEAM, from_bot).await.unwrap();
    let from_person = json!({
        "type": "app_mention", "user": DEMO_MEMBER,
        "text": format!("<@{}> stats", bot.user_id), "channel": DEMO_GENERAL, "ts": "2.2",
    });
    app.emulator
        .send_event(DEMO_TEAM, from_person)
        .await
        .unwrap();

    // Both events' jobs have run to the end, whatever order the workers took them in.
    crate::helpers::wait_for(
        app.db(),
        "both events to be handled",
        "SELECT COUNT(*) / 2 FROM jobs WHERE kind = 'slack.event' AND status = 'done'",
    )
    .await;
    let replies = app.emulator.calls_to("chat.postMessage");
    assert_eq!(replies.len(), 1, "the bot's own message got no answer");
    assert_eq!(replies[0].param("thread_ts"), Some("2.2"));
    assert!(replies[0].param("text").unwrap().contains("This week"));
}

#[tokio::test]
async fn the_emulator_delivers_only_the_events_the_manifest_subscribes_to() {
    let app = installed(AppOptions::default()).await;
    let manifest = lobby::slack::manifest::manifest(&app.state.settings);
    let subscribed: Vec<&str> = manifest["settings"]["event_subscriptions"]["bot_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!subscribed.contains(&"message.channels"));
    let bot = app.emulator.app_bot(DEMO_TEAM);
    let edited = json!({
        "type": "message", "subtype": "message_changed", "channel": DEMO_GENERAL,
        "message": { "type": "message", "user": DEMO_MEMBER, "text": format!("<@{}> stats", bot.user_id), "ts": "2.2" },
        "previous_message": { "type": "message", "user": DEMO_MEMBER, "text": "stats", "ts": "2.2" },
    });

    let sent = app.emulator.send_event(DEMO_TEAM, edited).await;

    let error = sent.expect_err("an unsubscribed event is not delivered");
    assert!(error.to_string().contains("message.channels"), "{error}");
    let events: i64 = lobby::on_conn!(app.db(), |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM events_seen"
    )
    .fetch_one(conn)
    .await)
    .unwrap();
    assert_eq!(events, 0, "the app received no event");
    // Every event the manifest asks for is delivered.
    for event_type in subscribed {
        let (_, res) = app
            .emulator
            .send_event(DEMO_TEAM, json!({"type": event_type, "tokens": {}}))
            .await
            .unwrap_or_else(|e| panic!("{event_type}: {e}"));
        assert_eq!(res.status(), 200, "{event_type}");
    }
    assert!(app.emulator.calls_to("chat.postMessage").is_empty());
}

const ARTICLE: &str = r#"<!doctype html><html><head><title>Why bees dance</title><script>var tracking = "Buy now. Subscribe today. Click here.";</script></head>
<body><nav>Home. Products. Pricing. Contact us today.</nav><header>Welcome to the Bee Blog. Sign up for our newsletter.</header>
<article><h1>Why bees dance</h1>
<p>Honey bees use a waggle dance to tell their sisters where flowers are. The direction of the dance shows the direction of the flowers relative to the sun.</p>
<p>The length of the waggle run tells the bees how far away the flowers are. Longer runs mean the flowers are farther from the hive.</p>
<p>Scientists decoded the bee dance in the twentieth century. Karl von Frisch won a Nobel Prize for showing how the dance tells bees about flowers.</p>
<p>Bees that watch the dance fly straight to the flowers. The dance lets the hive send many foragers to the best flowers quickly.</p>
</article><footer>Copyright Bee Blog. All rights reserved. Privacy policy and terms apply.</footer></body></html>"#;

/// A web page on loopback; returns its server, its URL and how many requests it has answered.
async fn serve_article() -> (
    actix_web::dev::ServerHandle,
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().default_service(web::to(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(ARTICLE)
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    (handle, format!("http://127.0.0.1:{port}/bees"), hits)
}

#[tokio::test]
async fn summarize_posts_three_sentences_in_channel() {
    let app = installed(AppOptions {
        env: vec![("LOBBY_SUMMARIZE_ALLOW_PRIVATE_NETWORKS", "true".into())],
        ..Default::default()
    })
    .await;
    let (_server, url, _hits) = serve_article().await;
    let res = app
        .emulator
        .send_slash_command(command("/summarize", &url, DEMO_MEMBER))
        .await
        .unwrap();
    let ack: Value = res.json().await.unwrap();
    assert_eq!(ack["response_type"], "ephemeral");

    let post = eventually("the summary", || async {
        app.emulator.response_url_posts().pop()
    })
    .await;
    assert_eq!(post.body["response_type"], "in_channel");
    let blocks = post.body["blocks"].to_string();
    assert!(blocks.contains("Why bees dance"));
    assert!(blocks.contains(&url), "the source link");
    let sentences: Vec<&str> = ARTICLE
        .split(['.', '<', '>'])
        .filter(|s| s.contains("dance") || s.contains("flowers"))
        .collect();
    let quoted = sentences
        .iter()
        .filter(|s| s.len() > 30 && blocks.contains(s.trim()))
        .count();
    assert_eq!(quoted, 3, "three sentences from the article: {blocks}");
    for boilerplate in ["Pricing", "newsletter", "Copyright", "Subscribe"] {
        assert!(
            !blocks.contains(boilerplate),
            "{boilerplate} leaked into {blocks}"
        );
    }
}

#[tokio::test]
async fn summarize_refuses_loopback_without_the_setting() {
    let app = installed(AppOptions::default()).await;
    let (_server, url, hits) = serve_article().await;
    app.emulator
        .send_slash_command(command("/summarize", &url, DEMO_MEMBER))
        .await
        .unwrap();
    let post = eventually("the refusal", || async {
        app.emulator.response_url_posts().pop()
    })
    .await;
    assert_eq!(post.body["response_type"], "ephemeral");
    let text = post.body["text"].as_str().unwrap();
    assert!(
        text.contains("private or reserved network address"),
        "{}",
        post.body
    );
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the page was never fetched"
    );
    assert!(app.emulator.calls_to("chat.postMessage").is_empty());
}

/// An approval-mode community with its admin channel, and one pending request announced there.
/// Approval delivers through the Admin API, so the app is installed org-wide on the Grid
/// organisation (the only install Slack gives `admin.users:write`) and the request comes from
/// its workspace.
async fn announced_request() -> (TestApp, i64) {
    let app = app_with_admin_api(vec![]).await;
    let community = db::communities::by_slug(app.db(), "demo-community")
        .await
        .unwrap()
        .unwrap();
    let mut settings = crate::join::settings_of(&community);
    settings.invite_mode = lobby::domain::InviteMode::Approval;
    settings.admin_channel = Some(ORG_GENERAL.into());
    db::communities::update(app.db(), community.id, &settings)
        .await
        .unwrap();
    app.emulator
        .send_slash_command(SlashCommand::new(
            ORG_TEAM,
            ORG_GENERAL,
            ORG_MEMBER,
            "/lobby-invite",
            "pat@example.org Pat",
        ))
        .await
        .unwrap();
    let message = eventually("the approval message", || async {
        app.emulator
            .calls_to("chat.postMessage")
            .into_iter()
            .find(|c| c.params.contains_key("blocks"))
    })
    .await;
    let blocks = message.params["blocks"].to_string();
    assert!(
        blocks.contains("lobby_approve") && blocks.contains("lobby_deny"),
        "{blocks}"
    );
    let id = requests(&app).await[0].id;
    (app, id)
}

/// A click on the approval message in the Grid workspace's admin channel.
fn click(user: &str, action: &str, request_id: i64) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": user, "team_id": ORG_TEAM },
        "team": { "id": ORG_TEAM },
        "channel": { "id": ORG_GENERAL },
        "actions": [{ "action_id": action, "value": request_id.to_string(), "type": "button" }],
    })
}

#[tokio::test]
async fn an_admins_approve_click_delivers_the_invite() {
    let (app, id) = announced_request().await;
    let res = app
        .emulator
        .send_interaction(click(ORG_ADMIN, "lobby_approve", id))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    eventually("the invite", || async {
        let r = db::invite_requests::get(app.db(), id)
            .await
            .unwrap()
            .unwrap();
        (r.status == InviteStatus::Invited).then_some(())
    })
    .await;
    assert_eq!(app.emulator.calls_to("admin.users.invite").len(), 1);
    let update = eventually("the updated message", || async {
        app.emulator.response_url_posts().pop()
    })
    .await;
    assert_eq!(update.body["replace_original"], true);
    assert!(
        update.body["text"]
            .as_str()
            .unwrap()
            .contains("Approved by")
    );
}

#[tokio::test]
async fn a_non_admins_click_decides_nothing() {
    let (app, id) = announced_request().await;
    app.emulator
        .send_interaction(click(ORG_MEMBER, "lobby_approve", id))
        .await
        .unwrap();
    let note = eventually("the refusal", || async {
        app.emulator.response_url_posts().pop()
    })
    .await;
    assert_eq!(note.body["response_type"], "ephemeral");
    assert!(note.body["text"].as_str().unwrap().contains("Only admins"));
    let request = db::invite_requests::get(app.db(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.status, InviteStatus::Pending);
    assert!(app.emulator.calls_to("admin.users.invite").is_empty());
}

#[tokio::test]
async fn team_join_marks_the_request_joined() {
    let (app, id) = announced_request().await;
    app.emulator
        .send_interaction(click(ORG_ADMIN, "lobby_approve", id))
        .await
        .unwrap();
    eventually("the invite", || async {
        let r = db::invite_requests::get(app.db(), id)
            .await
            .unwrap()
            .unwrap();
        (r.status == InviteStatus::Invited).then_some(())
    })
    .await;
    let joined = json!({
        "type": "team_join",
        "user": { "id": "U0NEWPAT01", "team_id": ORG_TEAM, "profile": { "email": "pat@example.org" } },
    });
    let (_, res) = app.emulator.send_event(ORG_TEAM, joined).await.unwrap();
    assert_eq!(res.status(), 200);
    eventually("joined", || async {
        let r = db::invite_requests::get(app.db(), id)
            .await
            .unwrap()
            .unwrap();
        (r.status == InviteStatus::Joined).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_replayed_signed_command_is_refused() {
    let app = installed(AppOptions::default()).await;
    let body = "command=%2Flobby-invite&text=eve%40example.org&team_id=T0DEMO0001&channel_id=C0GENERAL1&user_id=U0MEMBR001&response_url=http%3A%2F%2F127.0.0.1%3A9%2F&trigger_id=1.2.3";
    let ts = db::now().to_string();
    let signature =
        lobby::slack::signature::sign(&app.state.credentials.signing_secret, &ts, body.as_bytes());
    let send = || {
        reqwest::Client::new()
            .post(app.url("/slack/events"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", &signature)
            .body(body)
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 200);
    let replay = send().await.unwrap();
    assert_eq!(replay.status(), 401);
    let json: Value = replay.json().await.unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(requests(&app).await.len(), 1, "the replay had no effect");
}

#[tokio::test]
async fn a_mention_of_channel_is_answered_without_pinging_anyone() {
    let app = installed(AppOptions::default()).await;
    let bot = app.emulator.app_bot(DEMO_TEAM);
    let event = json!({
        "type": "app_mention", "user": DEMO_MEMBER,
        "text": format!("<@{}> <!channel>", bot.user_id),
        "channel": DEMO_GENERAL, "ts": "1700000000.000200",
    });
    app.emulator.send_event(DEMO_TEAM, event).await.unwrap();
    let call = eventually("the reply", || async {
        app.emulator.calls_to("chat.postMessage").pop()
    })
    .await;
    let text = call.param("text").unwrap();
    assert!(text.contains("&lt;!channel&gt;"), "{text}");
    assert!(!text.contains("<!channel>"), "{text}");
}

#[tokio::test]
async fn an_admins_deny_click_declines_the_request_without_inviting() {
    let (app, id) = announced_request().await;
    let res = app
        .emulator
        .send_interaction(click(ORG_ADMIN, "lobby_deny", id))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let update = eventually("the updated message", || async {
        app.emulator.response_url_posts().pop()
    })
    .await;
    assert_eq!(update.body["replace_original"], true);
    let text = update.body["text"].as_str().unwrap();
    assert!(text.contains("Denied by"), "{text}");
    let request = db::invite_requests::get(app.db(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(request.status, InviteStatus::Denied);
    // Nothing is sent to Slack for a denied request, also once the decision's job is done.
    crate::helpers::wait_for(
        app.db(),
        "the decision's job to finish",
        "SELECT COUNT(*) FROM jobs WHERE kind = 'invite.decide' AND status = 'done'",
    )
    .await;
    assert!(app.emulator.calls_to("admin.users.invite").is_empty());
    assert!(app.emulator.calls_to("users.admin.invite").is_empty());
}
