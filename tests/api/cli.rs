//! The `lobby` commands an operator types, run as the real binary: against the data directory of
//! a server running in this test (they share its database), or on their own.

use std::path::Path;
use std::process::Stdio;

use lobby::db::{self, invite_requests::NewRequest};
use lobby::domain::{InviteMode, InviteStatus};
use lobby::emulator::Fault;
use lobby::emulator::seed::{DEMO_TEAM, ORG, ORG_GENERAL, ORG_TEAM};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{TestApp, app_with_admin_api, browser, eventually, lobby_command, team};

const SLUG: &str = "demo-community";

struct Ran {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `lobby args…` in `dir` with `env` added; waits without blocking the test's server.
async fn lobby(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    run(lobby_command(dir), args, env).await
}

/// `lobby` on a test app's data directory, talking to the app's Slack emulator (as a CLI on the
/// server's machine talks to Slack).
async fn lobby_at(app: &TestApp, args: &[&str]) -> Ran {
    let command = crate::helpers::with_emulator(lobby_command(&app.data_dir), &app.emulator);
    // `lobby_command` also names the app's own database, on whichever engine the run uses.
    let env = [("LOBBY_PUBLIC_URL", app.address.as_str())];
    run(command, args, &env).await
}

async fn run(command: std::process::Command, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut command = tokio::process::Command::from(command);
    command.args(args).kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let what = format!("lobby {}", args.join(" "));
    let output = crate::helpers::hang_guard(&what, command.output())
        .await
        .unwrap();
    Ran {
        ok: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn request_status(app: &TestApp, id: i64) -> InviteStatus {
    db::invite_requests::get(app.db(), id)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn reaches(app: &TestApp, id: i64, status: InviteStatus) {
    eventually(&format!("request {id} to be {status}"), || async {
        (request_status(app, id).await == status).then_some(())
    })
    .await;
}

async fn pending(app: &TestApp, email: &str) -> i64 {
    let community = db::communities::by_slug(app.db(), SLUG)
        .await
        .unwrap()
        .unwrap();
    db::invite_requests::insert(
        app.db(),
        &NewRequest {
            community_id: community.id,
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
    .unwrap()
}

#[tokio::test]
async fn manifest_prints_the_app_for_this_servers_url_and_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let ran = lobby(
        dir.path(),
        &["manifest"],
        &[("LOBBY_PUBLIC_URL", "https://lobby.example.org")],
    )
    .await;

    assert!(ran.ok, "{}", ran.stderr);
    let manifest: Value = serde_json::from_str(&ran.stdout).expect("JSON on stdout");
    let events = &manifest["settings"]["event_subscriptions"];
    assert_eq!(
        events["request_url"],
        "https://lobby.example.org/slack/events"
    );
    assert_eq!(
        events["bot_events"],
        json!(lobby::slack::manifest::BOT_EVENTS)
    );
    assert_eq!(
        manifest["settings"]["interactivity"]["request_url"],
        "https://lobby.example.org/slack/events"
    );
    let redirects = manifest["oauth_config"]["redirect_urls"].to_string();
    assert!(redirects.contains("https://lobby.example.org/slack/oauth_redirect"));
    assert!(redirects.contains("https://lobby.example.org/admin/oauth_redirect"));
    let scopes = manifest["oauth_config"]["scopes"]["bot"].to_string();
    assert!(scopes.contains("app_mentions:read") && scopes.contains("chat:write"));
    assert!(
        !scopes.contains("channels:history"),
        "no scope for events it does not subscribe to"
    );
    let commands: Vec<&str> = manifest["features"]["slash_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["/lobby-invite", "/summarize", "/lobby"]);
    assert!(
        !commands
            .iter()
            .any(|c| lobby::config::SLACK_BUILT_IN_COMMANDS.contains(c)),
        "Slack refuses a manifest that claims one of its own commands"
    );
}

#[tokio::test]
async fn config_file_settings_apply_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("elsewhere.toml");
    std::fs::write(
        &config,
        "LOBBY_PUBLIC_URL = \"https://from-config.example.org\"\nLOBBY_SLASH_COMMANDS = \"invite=/join-us\"\n",
    )
    .unwrap();
    let config = config.display().to_string();

    let ran = lobby(dir.path(), &["manifest", "--config", &config], &[]).await;
    assert!(ran.ok, "{}", ran.stderr);
    let manifest: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(
        manifest["settings"]["event_subscriptions"]["request_url"],
        "https://from-config.example.org/slack/events"
    );
    assert!(
        manifest["features"]["slash_commands"]
            .to_string()
            .contains("/join-us")
    );

    let ran = lobby(
        dir.path(),
        &["--config", &config, "manifest"],
        &[("LOBBY_PUBLIC_URL", "https://from-env.example.org")],
    )
    .await;
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("https://from-env.example.org/slack/events")
    );

    let ran = lobby(
        dir.path(),
        &["manifest", "--config", "/nonexistent/lobby.toml"],
        &[],
    )
    .await;
    assert_eq!(
        ran.code,
        Some(2),
        "a missing config file is a configuration error"
    );
    assert!(
        ran.stderr.contains("/nonexistent/lobby.toml"),
        "{}",
        ran.stderr
    );
}

#[tokio::test]
async fn keys_generate_prints_a_fresh_key_a_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let first = lobby(dir.path(), &["keys", "generate"], &[]).await;
    let second = lobby(dir.path(), &["keys", "generate"], &[]).await;
    assert!(first.ok && second.ok, "{}", first.stderr);
    let key = first.stdout.trim();
    assert_ne!(key, second.stdout.trim(), "a new key each time");
    let bytes = lobby::vault::MasterKey::from_base64(key).expect("a 32-byte base64 key");
    assert_eq!(bytes.id().len(), 8);

    // Given as LOBBY_MASTER_KEY, it opens a fresh data directory and nothing is generated.
    let ran = lobby(
        dir.path(),
        &["community", "list"],
        &[("LOBBY_MASTER_KEY", key)],
    )
    .await;
    assert!(ran.ok, "{}", ran.stderr);
    assert!(!dir.path().join("master.key").exists());
}

#[tokio::test]
async fn the_emulator_command_serves_slack_on_the_port_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::from(lobby_command(dir.path()))
        .args([
            "emulator",
            "--bind",
            "127.0.0.1:0",
            "--app-url",
            "http://127.0.0.1:9/",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut settings = std::collections::HashMap::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some((key, value)) = line.trim().split_once('=') {
            settings.insert(key.to_owned(), value.to_owned());
        }
        if line.starts_with("Events and slash commands go to") {
            break;
        }
    }
    let api = &settings["SLACK_API_URL"];
    assert!(!api.contains(":0/"), "the bound port, not 0: {api}");
    for key in [
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_SIGNING_SECRET",
    ] {
        assert!(!settings[key].is_empty(), "{key}");
    }

    let answer: Value = browser()
        .post(format!("{api}api.test"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true);
    let answer: Value = browser()
        .post(format!("{api}auth.test"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["error"], "not_authed");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn community_add_list_and_set_change_what_the_running_server_serves() {
    let app = app_with_admin_api(vec![]).await;
    let dir = app.data_dir.clone();

    let ran = lobby_at(
        &app,
        &[
            "community",
            "add",
            "--team",
            ORG,
            "--workspace",
            ORG_TEAM,
            "--slug",
            "from-cli",
            "--title",
            "From the CLI",
            "--mode",
            "approval",
            "--allowed-domains",
            "example.org",
        ],
    )
    .await;
    assert!(ran.ok, "{}", ran.stderr);
    let page = app.get("/join/from-cli").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("From the CLI"));

    let ran = lobby(&dir, &["community", "list"], &[]).await;
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("from-cli") && ran.stdout.contains(SLUG),
        "{}",
        ran.stdout
    );

    let ran = lobby(
        &dir,
        &[
            "community",
            "set",
            "from-cli",
            "--mode",
            "link",
            "--invite-link",
            "https://join.slack.com/t/demo-enterprise-ws/shared_invite/zt-cli",
            "--title",
            "Renamed",
        ],
        &[],
    )
    .await;
    assert!(ran.ok, "{}", ran.stderr);
    let stored = db::communities::by_slug(app.db(), "from-cli")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.title, "Renamed");
    assert_eq!(stored.invite_mode, InviteMode::Link);
    assert_eq!(
        stored.allowed_domains, "example.org",
        "unchanged settings stay"
    );

    let ran = lobby(
        &dir,
        &[
            "community",
            "add",
            "--team",
            "T0NOTHERE1",
            "--slug",
            "nowhere",
            "--title",
            "No",
        ],
        &[],
    )
    .await;
    assert!(!ran.ok, "a workspace that is not installed is refused");
    assert!(
        db::communities::by_slug(app.db(), "nowhere")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn invites_approve_deny_retry_and_list_decide_requests_a_running_server_delivers() {
    let app = app_with_admin_api(vec![]).await;
    let dir = app.data_dir.clone();
    let community = db::communities::by_slug(app.db(), SLUG)
        .await
        .unwrap()
        .unwrap();
    let mut settings = crate::join::settings_of(&community);
    settings.invite_mode = InviteMode::Approval;
    db::communities::update(app.db(), community.id, &settings)
        .await
        .unwrap();
    let approved = pending(&app, "yes@example.org").await;
    let denied = pending(&app, "no@example.org").await;

    let ran = lobby(&dir, &["invites", "approve", &approved.to_string()], &[]).await;
    assert!(ran.ok, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("a running server delivers it"),
        "{}",
        ran.stdout
    );
    reaches(&app, approved, InviteStatus::Invited).await;
    let calls = app.emulator.calls_to("admin.users.invite");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].param("email"), Some("yes@example.org"));
    assert_eq!(calls[0].param("channel_ids"), Some(ORG_GENERAL));

    let ran = lobby(&dir, &["invites", "deny", &denied.to_string()], &[]).await;
    assert!(ran.ok, "{}", ran.stderr);
    assert_eq!(request_status(&app, denied).await, InviteStatus::Denied);

    // Slack refuses once for a reason an admin fixes; `retry` sends it through again.
    app.emulator.inject(
        "admin.users.invite",
        Fault::Error("paid_teams_only".into()),
        1,
    );
    let retried = pending(&app, "again@example.org").await;
    lobby(&dir, &["invites", "approve", &retried.to_string()], &[]).await;
    eventually("the refusal", || async {
        let r = db::invite_requests::get(app.db(), retried).await.unwrap()?;
        (r.slack_error.as_deref() == Some("paid_teams_only")).then_some(())
    })
    .await;
    assert_eq!(request_status(&app, retried).await, InviteStatus::Pending);
    let ran = lobby(&dir, &["invites", "retry", &retried.to_string()], &[]).await;
    assert!(ran.ok, "{}", ran.stderr);
    reaches(&app, retried, InviteStatus::Invited).await;
    let emails: Vec<_> = app
        .emulator
        .calls_to("admin.users.invite")
        .iter()
        .map(|c| (c.param("email").unwrap().to_owned(), c.error.clone()))
        .collect();
    assert_eq!(
        emails,
        [
            ("yes@example.org".to_owned(), None),
            (
                "again@example.org".to_owned(),
                Some("paid_teams_only".to_owned())
            ),
            ("again@example.org".to_owned(), None),
        ]
    );

    let ran = lobby(
        &dir,
        &["invites", "list", "--community", SLUG, "--status", "denied"],
        &[],
    )
    .await;
    assert!(ran.ok, "{}", ran.stderr);
    assert!(ran.stdout.contains("no@example.org"));
    assert!(!ran.stdout.contains("yes@example.org"));
}

#[tokio::test]
async fn api_keys_create_list_and_revoke_from_the_command_line() {
    let app = crate::helpers::spawn_app().await;
    app.install_demo_workspace().await;
    let dir = app.data_dir.clone();

    let ran = lobby(
        &dir,
        &["api-keys", "create", "--team", DEMO_TEAM, "--name", "cms"],
        &[],
    )
    .await;
    assert!(ran.ok, "{}", ran.stderr);
    let key = ran
        .stdout
        .split_whitespace()
        .find(|word| word.starts_with("lobby_"))
        .expect("the key, printed once")
        .to_owned();
    let post = || {
        browser()
            .post(app.url("/api/v1/messages"))
            .bearer_auth(&key)
            .json(&json!({"channel": "general", "text": "from the cms"}))
            .send()
    };
    assert_eq!(post().await.unwrap().status(), 200);
    assert_eq!(
        app.emulator.calls_to("chat.postMessage")[0].param("text"),
        Some("from the cms")
    );

    let ran = lobby(&dir, &["api-keys", "list", "--team", DEMO_TEAM], &[]).await;
    assert!(ran.ok, "{}", ran.stderr);
    assert!(ran.stdout.contains("cms"));
    assert!(!ran.stdout.contains(&key), "the key is never shown again");
    let id = db::api_keys::list(app.db(), &team(DEMO_TEAM))
        .await
        .unwrap()[0]
        .id;

    let ran = lobby(
        &dir,
        &["api-keys", "revoke", "--team", DEMO_TEAM, &id.to_string()],
        &[],
    )
    .await;
    assert!(ran.ok, "{}", ran.stderr);
    assert_eq!(post().await.unwrap().status(), 401);
    assert_eq!(app.emulator.calls_to("chat.postMessage").len(), 1);
}

#[tokio::test]
async fn serve_without_credentials_runs_the_whole_product_in_demo_mode_on_one_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::helpers::Server::start_demo(dir.path(), &[]).await;

    let home = browser().get(&server.address).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("Demo mode."), "the banner shows");
    let api: Value = browser()
        .post(format!("{}/_emulator/slack/api/api.test", server.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["ok"], true, "the emulator is mounted on the same port");

    // Add to Slack goes through the built-in emulator and back.
    let person = browser();
    let authorize = crate::helpers::start_install_at(&server.address, &person).await;
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/_emulator/slack/", server.address)),
        "{authorize}"
    );
    let res = crate::helpers::install_at(
        &server.address,
        &person,
        DEMO_TEAM,
        lobby::emulator::seed::DEMO_ADMIN,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("installed"));
    let join = browser()
        .get(format!("{}/join/{SLUG}", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(join.status(), 200, "the first install made a community");
    assert!(join.text().await.unwrap().contains("Demo mode."));
}

#[tokio::test]
async fn missing_credentials_away_from_localhost_are_a_configuration_error_unless_lobby_demo_is_set()
 {
    let dir = tempfile::tempdir().unwrap();
    let ran = lobby(
        dir.path(),
        &["serve"],
        &[("LOBBY_PUBLIC_URL", "https://lobby.example.org")],
    )
    .await;
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("SLACK_CLIENT_ID"), "{}", ran.stderr);
    let ran = lobby(dir.path(), &["serve"], &[("LOBBY_BIND", "0.0.0.0:0")]).await;
    assert_eq!(
        ran.code,
        Some(2),
        "not on a public interface: {}",
        ran.stderr
    );

    // Asked for explicitly, demo mode runs anywhere.
    let server = crate::helpers::Server::start_demo(
        dir.path(),
        &[
            ("LOBBY_DEMO", "1"),
            ("LOBBY_PUBLIC_URL", "https://demo.example.org"),
        ],
    )
    .await;
    let home = browser().get(&server.address).send().await.unwrap();
    assert!(home.text().await.unwrap().contains("Demo mode."));
}
