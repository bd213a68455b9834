//! Posting messages and files: the API with a workspace's key, and `lobby post` both ways (through
//! a Lobby server, and straight to Slack with a password-sealed token), against the emulator.

use std::path::Path;
use std::process::Output;

use lobby::emulator::seed::{
    DEMO_ADMIN, DEMO_ADMINS, DEMO_ARCHIVED, DEMO_GENERAL, DEMO_TEAM, OTHER_ADMIN, OTHER_TEAM,
};
use lobby::emulator::{Fault, TokenKind};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::helpers::{TestApp, browser, captured_logs, install_at, lobby_command, spawn_app, team};

const PASSWORD: &str = "correct horse battery staple";

/// The Web API methods that would put something in a channel.
const POSTING_METHODS: [&str; 4] = [
    "chat.postMessage",
    "conversations.join",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
];

/// An app with the demo workspace installed, and an API key of that workspace.
async fn app_with_key() -> (TestApp, String) {
    let app = spawn_app().await;
    app.install_demo_workspace().await;
    let key = key_for(&app, DEMO_TEAM).await;
    (app, key)
}

async fn key_for(app: &TestApp, team: &str) -> String {
    let created = lobby::api_keys::create(app.db(), &crate::helpers::team(team), "ci", "test")
        .await
        .unwrap();
    created.key.expose_secret().to_owned()
}

impl TestApp {
    async fn post_message(&self, key: Option<&str>, body: Value) -> reqwest::Response {
        let mut request = browser().post(self.url("/api/v1/messages")).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        request.send().await.unwrap()
    }

    async fn post_file(&self, key: &str, form: reqwest::multipart::Form) -> reqwest::Response {
        browser()
            .post(self.url("/api/v1/files"))
            .bearer_auth(key)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    fn assert_nothing_posted(&self) {
        for method in POSTING_METHODS {
            assert!(
                self.emulator.calls_to(method).is_empty(),
                "{method} was called"
            );
        }
        assert!(self.emulator.uploads().is_empty());
    }

    /// A bot token of the demo workspace, as an admin would copy it from Slack.
    fn demo_bot_token(&self) -> String {
        self.emulator.mint_token(
            DEMO_TEAM,
            DEMO_ADMIN,
            TokenKind::Bot,
            &[
                "chat:write",
                "channels:read",
                "groups:read",
                "channels:join",
                "files:write",
            ],
        )
    }

    /// `lobby post ...` with the given environment.
    async fn lobby_post(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = lobby_command(&self.data_dir);
        cmd.arg("post").args(args);
        for (name, value) in env {
            cmd.env(name, value);
        }
        tokio::process::Command::from(cmd).output().await.unwrap()
    }

    /// Seals `token` into `file` with `lobby keys seal`, as a person would.
    async fn seal(&self, token: &str, file: &Path) {
        let mut cmd = lobby_command(&self.data_dir);
        cmd.args(["keys", "seal", "--out"])
            .arg(file)
            .env("LOBBY_KEY_PASSWORD", PASSWORD);
        let mut child = tokio::process::Command::from(cmd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{token}\n").as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every failure of `lobby post` is one line on stderr.
fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "it failed");
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("lobby: "), "{err}");
    err
}

fn last_text(app: &TestApp, channel: &str) -> String {
    app.emulator
        .messages(channel)
        .last()
        .and_then(|m| m["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Bytes no text encoding would survive.
fn binary_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

#[tokio::test]
async fn a_message_posted_through_the_api_reaches_the_channel() {
    let (app, key) = app_with_key().await;

    let res = app
        .post_message(
            Some(&key),
            json!({"channel": "#general", "text": "Run 7 finished: nDCG 0.41"}),
        )
        .await;

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(body["channel"], DEMO_GENERAL);
    let messages = app.emulator.messages(DEMO_GENERAL);
    let posted = messages.last().unwrap();
    assert_eq!(posted["text"], "Run 7 finished: nDCG 0.41");
    assert_eq!(posted["ts"], body["ts"]);
    assert!(posted["bot_id"].is_string(), "posted as the bot");
    let post = &app.emulator.calls_to("chat.postMessage")[0];
    assert_eq!(post.param("channel"), Some(DEMO_GENERAL));
    let logs = captured_logs();
    assert!(!logs.contains(&key), "the API key is not logged");
    assert!(
        !logs.contains(post.token.as_deref().unwrap()),
        "the bot token is not logged"
    );
}

#[tokio::test]
async fn blocks_and_a_thread_go_through_as_given() {
    let (app, key) = app_with_key().await;
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*Done*"}}]);

    let res = app
        .post_message(
            Some(&key),
            json!({"channel": DEMO_GENERAL, "blocks": blocks, "thread_ts": "1600000000.000100"}),
        )
        .await;

    assert_eq!(res.status(), 200);
    let posted = app.emulator.messages(DEMO_GENERAL).last().cloned().unwrap();
    assert_eq!(posted["blocks"], blocks);
    assert_eq!(posted["thread_ts"], "1600000000.000100");
}

#[tokio::test]
async fn a_file_posted_through_the_api_arrives_byte_for_byte_with_its_title() {
    let (app, key) = app_with_key().await;
    let bytes = binary_payload(300_000);
    let form = reqwest::multipart::Form::new()
        .text("channel", "general")
        .text("title", "Results of run 7")
        .text("initial_comment", "Here are the numbers")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name("results.bin"),
        );

    let res = app.post_file(&key, form).await;

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["ok"], true);
    let uploads = app.emulator.uploads();
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert!(upload.completed);
    assert_eq!(body["file"]["id"], upload.file_id.as_str());
    assert_eq!(upload.filename, "results.bin");
    assert_eq!(upload.declared_length, bytes.len() as u64);
    assert_eq!(upload.bytes.as_deref(), Some(bytes.as_slice()));
    assert_eq!(upload.title.as_deref(), Some("Results of run 7"));
    assert_eq!(upload.channel_id.as_deref(), Some(DEMO_GENERAL));
    assert_eq!(
        upload.initial_comment.as_deref(),
        Some("Here are the numbers")
    );
    assert_eq!(last_text(&app, DEMO_GENERAL), "Here are the numbers");
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_before_slack_hears_of_it() {
    let (app, key) = app_with_key().await;
    let too_big = vec![b'x'; lobby::routes::api_posting::MAX_UPLOAD_BYTES + 1];
    let form = reqwest::multipart::Form::new()
        .text("channel", "general")
        .part(
            "file",
            reqwest::multipart::Part::bytes(too_big).file_name("big.log"),
        );

    let res = app.post_file(&key, form).await;

    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "file_too_large");
    app.assert_nothing_posted();
}

#[tokio::test]
async fn a_form_without_a_file_is_a_clear_error() {
    let (app, key) = app_with_key().await;
    let form = reqwest::multipart::Form::new().text("channel", "general");

    let res = app.post_file(&key, form).await;

    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "no_file");
    app.assert_nothing_posted();
}

#[tokio::test]
async fn missing_wrong_and_revoked_keys_are_refused_without_calling_slack() {
    let (app, _key) = app_with_key().await;
    let body = json!({"channel": "general", "text": "hello"});
    let listings_before = app.emulator.calls_to("conversations.list").len();

    let missing = app.post_message(None, body.clone()).await;
    assert_eq!(missing.status(), 401);
    let wrong = app
        .post_message(Some("lobby_000000000000_nope"), body.clone())
        .await;
    assert_eq!(wrong.status(), 401);
    let wrong: Value = wrong.json().await.unwrap();
    assert_eq!(wrong["ok"], false);
    assert_eq!(wrong["error"], "unauthorized");

    let revoked_key = lobby::api_keys::create(app.db(), &team(DEMO_TEAM), "old", "test")
        .await
        .unwrap();
    lobby::db::api_keys::revoke(app.db(), &team(DEMO_TEAM), revoked_key.id)
        .await
        .unwrap();
    let key = revoked_key.key.expose_secret().to_owned();
    let revoked = app.post_message(Some(&key), body).await;
    assert_eq!(revoked.status(), 401, "a revoked key is refused");
    let form = reqwest::multipart::Form::new()
        .text("channel", "general")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("a.bin"),
        );
    assert_eq!(app.post_file(&key, form).await.status(), 401);

    app.assert_nothing_posted();
    assert_eq!(
        app.emulator.calls_to("conversations.list").len(),
        listings_before,
        "no channel was even looked up"
    );
}

#[tokio::test]
async fn another_workspaces_key_cannot_reach_this_workspaces_channels() {
    let (app, _demo_key) = app_with_key().await;
    let res = install_at(&app.address, &browser(), OTHER_TEAM, OTHER_ADMIN).await;
    assert_eq!(res.status(), 200);
    let other_key = key_for(&app, OTHER_TEAM).await;
    let demo_token = lobby::installation_tokens::bot_token(&app.state, &team(DEMO_TEAM))
        .await
        .unwrap();
    // The installs' own jobs (member counts) call Slack with their tokens: let them finish first.
    crate::helpers::jobs_settled(app.db()).await;
    let calls_before = app.emulator.calls().len();

    // `random` exists only in the demo workspace.
    let res = app
        .post_message(
            Some(&other_key),
            json!({"channel": "random", "text": "hello"}),
        )
        .await;

    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "channel_not_found");
    app.assert_nothing_posted();
    let demo_token = demo_token.expose_secret();
    let calls = app.emulator.calls();
    let during = &calls[calls_before..];
    assert!(
        during.iter().any(|c| c.method == "conversations.list"),
        "the other workspace's channels were listed"
    );
    assert!(
        during
            .iter()
            .all(|c| c.token.as_deref() != Some(demo_token)),
        "nothing used the demo workspace's token"
    );
}

#[tokio::test]
async fn an_unknown_channel_is_channel_not_found_and_nothing_is_posted() {
    let (app, key) = app_with_key().await;

    let res = app
        .post_message(
            Some(&key),
            json!({"channel": "no-such-channel", "text": "hi"}),
        )
        .await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "channel_not_found");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no-such-channel")
    );

    let form = reqwest::multipart::Form::new()
        .text("channel", "no-such-channel")
        .part(
            "file",
            reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("a.bin"),
        );
    let res = app.post_file(&key, form).await;
    assert_eq!(res.status(), 404);

    app.assert_nothing_posted();
}

#[tokio::test]
async fn slacks_refusals_come_back_with_slacks_codes() {
    let (app, key) = app_with_key().await;
    let post = |channel: &str, text: String| {
        let body = json!({"channel": channel, "text": text});
        let app = &app;
        let key = key.clone();
        async move {
            let res = app.post_message(Some(&key), body).await;
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };

    assert_eq!(
        post(DEMO_ARCHIVED, "hi".into()).await,
        (409, "is_archived".into())
    );
    assert_eq!(
        post(DEMO_ADMINS, "hi".into()).await,
        (403, "not_in_channel".into()),
        "a private channel the bot is not in"
    );
    assert_eq!(
        post("general", "x".repeat(40_001)).await,
        (400, "msg_too_long".into())
    );
}

#[tokio::test]
async fn a_long_rate_limit_is_passed_on_with_retry_after() {
    let (app, key) = app_with_key().await;
    app.emulator.inject(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 30,
        },
        1,
    );

    let res = app
        .post_message(Some(&key), json!({"channel": DEMO_GENERAL, "text": "hi"}))
        .await;

    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "30");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "ratelimited");
    assert_eq!(
        app.emulator.calls_to("chat.postMessage").len(),
        1,
        "no retry before the wait"
    );
}

#[tokio::test]
async fn a_short_rate_limit_is_waited_out() {
    let (app, key) = app_with_key().await;
    app.emulator.inject(
        "chat.postMessage",
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        1,
    );

    let res = app
        .post_message(
            Some(&key),
            json!({"channel": DEMO_GENERAL, "text": "after the wait"}),
        )
        .await;

    assert_eq!(res.status(), 200);
    let calls = app.emulator.calls_to("chat.postMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, 429);
    let waited = calls[1].at - calls[0].at;
    assert!(
        waited >= time::Duration::seconds(1),
        "retried after {waited}, before Retry-After"
    );
    assert_eq!(last_text(&app, DEMO_GENERAL), "after the wait");
}

#[tokio::test]
async fn the_cli_posts_a_message_and_a_file_through_a_server() {
    let (app, key) = app_with_key().await;
    let env = [("LOBBY_API_KEY", key.as_str())];

    let out = app
        .lobby_post(
            &[
                "--server",
                &app.address,
                "--channel",
                "general",
                "--text",
                "from CI",
            ],
            &env,
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(DEMO_GENERAL), "{}", stdout(&out));
    assert_eq!(last_text(&app, DEMO_GENERAL), "from CI");

    let bytes = binary_payload(200_000);
    let path = app.data_dir.join("plot.png");
    std::fs::write(&path, &bytes).unwrap();
    let out = app
        .lobby_post(
            &[
                "--server",
                &app.address,
                "--channel",
                "#general",
                "--file",
                path.to_str().unwrap(),
                "--title",
                "nDCG by run",
                "--comment",
                "Latest plot",
            ],
            &env,
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let upload = app.emulator.uploads().pop().unwrap();
    assert!(upload.completed);
    assert_eq!(upload.filename, "plot.png");
    assert_eq!(upload.bytes.as_deref(), Some(bytes.as_slice()));
    assert_eq!(upload.declared_length, 200_000);
    assert_eq!(upload.title.as_deref(), Some("nDCG by run"));
    assert_eq!(upload.channel_id.as_deref(), Some(DEMO_GENERAL));
    assert_eq!(upload.initial_comment.as_deref(), Some("Latest plot"));
}

#[tokio::test]
async fn the_cli_refuses_a_bad_key_and_a_missing_file_in_one_line() {
    let (app, _key) = app_with_key().await;

    let out = app
        .lobby_post(
            &[
                "--server",
                &app.address,
                "--channel",
                "general",
                "--text",
                "hi",
            ],
            &[("LOBBY_API_KEY", "lobby_000000000000_nope")],
        )
        .await;
    let err = one_line_error(&out);
    assert!(err.contains("not valid"), "{err}");

    let out = app
        .lobby_post(
            &[
                "--server",
                &app.address,
                "--channel",
                "general",
                "--file",
                "/no/such/file.csv",
            ],
            &[("LOBBY_API_KEY", "lobby_000000000000_nope")],
        )
        .await;
    let err = one_line_error(&out);
    assert!(err.contains("cannot read /no/such/file.csv"), "{err}");

    let out = app
        .lobby_post(
            &[
                "--server",
                &app.address,
                "--channel",
                "general",
                "--text",
                "hi",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("LOBBY_API_KEY"));

    app.assert_nothing_posted();
}

#[tokio::test]
async fn the_cli_posts_straight_to_slack_with_a_sealed_token() {
    let app = spawn_app().await;
    let token = app.demo_bot_token();
    let sealed = app.data_dir.join("slack.sealed");
    app.seal(&token, &sealed).await;
    let text = std::fs::read_to_string(&sealed).unwrap();
    assert!(
        !text.contains(&token),
        "the sealed file does not hold the token"
    );
    let password_file = app.data_dir.join("password.txt");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let api_url = app.emulator.api_url().to_string();

    let out = app
        .lobby_post(
            &[
                "--token-file",
                sealed.to_str().unwrap(),
                "--channel",
                "general",
                "--text",
                "straight",
            ],
            &[
                ("SLACK_API_URL", &api_url),
                ("LOBBY_KEY_PASSWORD", PASSWORD),
            ],
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(last_text(&app, DEMO_GENERAL), "straight");
    let post = app.emulator.calls_to("chat.postMessage").pop().unwrap();
    assert_eq!(post.token.as_deref(), Some(token.as_str()));
    assert_eq!(post.param("channel"), Some(DEMO_GENERAL));

    let bytes = binary_payload(100_000);
    let path = app.data_dir.join("metrics.csv");
    std::fs::write(&path, &bytes).unwrap();
    let out = app
        .lobby_post(
            &[
                "--token-file",
                sealed.to_str().unwrap(),
                "--password-file",
                password_file.to_str().unwrap(),
                "--channel",
                "general",
                "--file",
                path.to_str().unwrap(),
                "--title",
                "Metrics",
            ],
            &[("SLACK_API_URL", &api_url)],
        )
        .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let upload = app.emulator.uploads().pop().unwrap();
    assert!(upload.completed);
    assert_eq!(upload.bytes.as_deref(), Some(bytes.as_slice()));
    assert_eq!(upload.declared_length, 100_000);
    assert_eq!(upload.title.as_deref(), Some("Metrics"));
    assert_eq!(upload.channel_id.as_deref(), Some(DEMO_GENERAL));
}

#[tokio::test]
async fn a_wrong_password_exits_2_before_any_call_to_slack() {
    let app = spawn_app().await;
    let sealed = app.data_dir.join("slack.sealed");
    app.seal(&app.demo_bot_token(), &sealed).await;
    let calls_before = app.emulator.calls().len();

    let out = app
        .lobby_post(
            &[
                "--token-file",
                sealed.to_str().unwrap(),
                "--channel",
                "general",
                "--text",
                "hi",
            ],
            &[
                ("SLACK_API_URL", app.emulator.api_url().as_str()),
                ("LOBBY_KEY_PASSWORD", "not the password"),
            ],
        )
        .await;

    assert_eq!(out.status.code(), Some(2));
    let err = one_line_error(&out);
    assert!(err.contains("wrong password"), "{err}");
    assert_eq!(
        app.emulator.calls().len(),
        calls_before,
        "Slack heard nothing"
    );
}

#[tokio::test]
async fn the_cli_names_an_unknown_channel_and_posts_nothing() {
    let app = spawn_app().await;
    let sealed = app.data_dir.join("slack.sealed");
    app.seal(&app.demo_bot_token(), &sealed).await;

    let out = app
        .lobby_post(
            &[
                "--token-file",
                sealed.to_str().unwrap(),
                "--channel",
                "nowhere",
                "--text",
                "hi",
            ],
            &[
                ("SLACK_API_URL", app.emulator.api_url().as_str()),
                ("LOBBY_KEY_PASSWORD", PASSWORD),
            ],
        )
        .await;

    let err = one_line_error(&out);
    assert!(
        err.contains("channel_not_found") && err.contains("nowhere"),
        "{err}"
    );
    app.assert_nothing_posted();
}
