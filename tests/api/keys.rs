//! Master keys: rotation re-seals every secret, and everything still opens afterwards.

use lobby::db::installations::{self, Grant, NewInstallation, TokenKind};
use lobby::emulator::seed::{DEMO_ADMIN, DEMO_TEAM};
use lobby::emulator::{self, EmulatorConfig};
use lobby::vault::{self, KeySource};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::helpers::{
    Server, browser, eventually, install_at, lobby_command, open_db, spawn_app, team, user,
};

fn installation(id: &str, token: &str) -> NewInstallation {
    NewInstallation {
        id: team(id),
        team_id: Some(team(id)),
        team_name: "Rotation Test".into(),
        team_domain: Some("rotation-test".into()),
        team_icon: None,
        enterprise_id: None,
        enterprise_name: None,
        is_enterprise_install: false,
        app_id: Some("A0LOBBY001".into()),
        bot_user_id: Some(user("U0BOT00001")),
        bot_id: Some("B0BOT00001".into()),
        installer_user_id: user("U0ADMIN001"),
        bot: Some(Grant {
            token: SecretString::from(token),
            refresh_token: Some(SecretString::from(format!("{token}-refresh"))),
            expires_at: None,
            scopes: "chat:write".into(),
        }),
        user: None,
    }
}

async fn sealed_bot_token(db: &lobby::db::Db, id: &str) -> String {
    lobby::on_conn!(db, |conn| sqlx::query_scalar(
        "SELECT bot_token FROM installations WHERE id = $1"
    )
    .bind(id)
    .fetch_one(conn)
    .await)
    .unwrap()
}

#[tokio::test]
async fn rotation_reseals_every_secret_and_everything_still_opens() {
    let app = spawn_app().await;
    let token = "xoxb-rotation-test-token-1234";
    installations::upsert(
        app.db(),
        &app.state.keyring,
        &installation("T0ROTATE01", token),
    )
    .await
    .unwrap();
    let before = sealed_bot_token(app.db(), "T0ROTATE01").await;
    let old_id = vault::key_id_of(&before).unwrap().to_owned();
    assert_eq!(old_id, app.state.keyring.sealing_key_id());

    // Async, so the server in this process keeps running (and finishing its transactions) meanwhile.
    let output = tokio::process::Command::from(lobby_command(&app.data_dir))
        .args(["keys", "rotate"])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let after = sealed_bot_token(app.db(), "T0ROTATE01").await;
    let new_id = vault::key_id_of(&after).unwrap();
    assert_ne!(new_id, old_id, "the token is sealed with the new key");

    let keyring = vault::load_keyring(&KeySource::Generated(app.data_dir.join("master.key")))
        .unwrap()
        .keyring;
    assert_eq!(keyring.sealing_key_id(), new_id);
    let opened = installations::token(app.db(), &keyring, &team("T0ROTATE01"), TokenKind::Bot)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.token.expose_secret(), token);
    assert_eq!(
        opened.refresh_token.unwrap().expose_secret(),
        format!("{token}-refresh")
    );

    let canaries = lobby::db::vault_canaries::list(app.db()).await.unwrap();
    assert_eq!(
        canaries
            .iter()
            .map(|c| c.key_id.as_str())
            .collect::<Vec<_>>(),
        vec![new_id]
    );

    // A server started now, with both keys in the file, accepts the database.
    // Async, so the server in this process keeps running (and finishing its transactions) meanwhile.
    let output = tokio::process::Command::from(lobby_command(&app.data_dir))
        .args(["keys", "reseal"])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_sealed_token_moved_to_another_row_does_not_open() {
    let app = spawn_app().await;
    installations::upsert(
        app.db(),
        &app.state.keyring,
        &installation("T0ROWAAAA1", "xoxb-a"),
    )
    .await
    .unwrap();
    installations::upsert(
        app.db(),
        &app.state.keyring,
        &installation("T0ROWBBBB1", "xoxb-b"),
    )
    .await
    .unwrap();
    let sealed_a = sealed_bot_token(app.db(), "T0ROWAAAA1").await;
    lobby::on_conn!(app.db(), |conn| sqlx::query(
        "UPDATE installations SET bot_token = $1 WHERE id = 'T0ROWBBBB1'"
    )
    .bind(&sealed_a)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    let moved = installations::token(
        app.db(),
        &app.state.keyring,
        &team("T0ROWBBBB1"),
        TokenKind::Bot,
    )
    .await;
    assert!(
        moved.is_err(),
        "a value sealed for row A must not open as row B's"
    );
}

/// `lobby serve` with the demo workspace installed, and an API key of that workspace.
async fn serving_with_api_key(
    dir: &std::path::Path,
    emulator: &lobby::emulator::Emulator,
) -> (Server, String) {
    // No user scopes: an ordinary workspace grants no admin scope.
    let server = Server::start(dir, emulator, &[("SLACK_USER_SCOPES", "")]).await;
    let res = install_at(&server.address, &browser(), DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(res.status(), 200, "the demo workspace installs");
    let created = lobby::api_keys::create(&open_db(dir).await, &team(DEMO_TEAM), "ci", "test")
        .await
        .unwrap();
    (server, created.key.expose_secret().to_owned())
}

async fn rotate_keys(dir: &std::path::Path) -> String {
    let output = tokio::process::Command::from(lobby_command(dir))
        .args(["keys", "rotate"])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    vault::load_keyring(&KeySource::Generated(dir.join("master.key")))
        .unwrap()
        .keyring
        .sealing_key_id()
        .to_string()
}

async fn readyz_key_id(address: &str) -> String {
    let body: serde_json::Value = browser()
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["key_id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_key_rotated_while_the_server_runs_is_used_without_a_restart() {
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, key) = serving_with_api_key(dir.path(), &emu.emulator).await;
    let old_id = readyz_key_id(&server.address).await;

    let new_id = rotate_keys(dir.path()).await;
    assert_ne!(new_id, old_id);
    let res = browser()
        .post(format!("{}/api/v1/messages", server.address))
        .bearer_auth(&key)
        .json(&json!({"channel": "general", "text": "posted after the rotation"}))
        .send()
        .await
        .unwrap();

    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true, "{body}");
    let posted = emu.emulator.calls_to("chat.postMessage");
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].param("text"), Some("posted after the rotation"));
    assert_eq!(
        readyz_key_id(&server.address).await,
        new_id,
        "the server seals with the new key from now on"
    );
}

#[tokio::test]
async fn sighup_makes_a_running_server_reload_its_key_file() {
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (server, _key) = serving_with_api_key(dir.path(), &emu.emulator).await;

    let new_id = rotate_keys(dir.path()).await;
    server.signal("HUP");

    let address = server.address.clone();
    eventually("the server to seal with the new key", || {
        let (address, new_id) = (address.clone(), new_id.clone());
        async move { (readyz_key_id(&address).await == new_id).then_some(()) }
    })
    .await;
    assert!(
        browser()
            .get(format!("{}/healthz", server.address))
            .send()
            .await
            .unwrap()
            .status()
            .is_success(),
        "SIGHUP does not stop the server"
    );
}
