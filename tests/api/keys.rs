//! Master keys: rotation re-seals every secret, and everything still opens afterwards.

use lobby::db::installations::{self, Grant, NewInstallation, TokenKind};
use lobby::vault::{self, KeySource};
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{lobby_command, spawn_app};

fn installation(id: &str, token: &str) -> NewInstallation {
    NewInstallation {
        id: id.into(),
        team_id: Some(id.into()),
        team_name: "Rotation Test".into(),
        team_domain: Some("rotation-test".into()),
        team_icon: None,
        enterprise_id: None,
        enterprise_name: None,
        is_enterprise_install: false,
        app_id: Some("A0LOBBY001".into()),
        bot_user_id: Some("U0BOT00001".into()),
        bot_id: Some("B0BOT00001".into()),
        installer_user_id: "U0ADMIN001".into(),
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
    sqlx::query_scalar("SELECT bot_token FROM installations WHERE id = ?")
        .bind(id)
        .fetch_one(db)
        .await
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
    let opened = installations::token(app.db(), &keyring, "T0ROTATE01", TokenKind::Bot)
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
    sqlx::query("UPDATE installations SET bot_token = ? WHERE id = 'T0ROWBBBB1'")
        .bind(&sealed_a)
        .execute(app.db())
        .await
        .unwrap();
    let moved =
        installations::token(app.db(), &app.state.keyring, "T0ROWBBBB1", TokenKind::Bot).await;
    assert!(
        moved.is_err(),
        "a value sealed for row A must not open as row B's"
    );
}
