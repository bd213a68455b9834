//! A server killed between committing a signup and delivering it delivers it after a restart, once.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lobby::emulator::seed::{DEMO_ADMIN, DEMO_TEAM};
use lobby::emulator::{self, EmulatorConfig, Fault};
use lobby::vault::{self, KeySource};
use secrecy::ExposeSecret;

use crate::helpers::{browser, install_at, lobby_command};

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `lobby serve` as its own process, pointed at the emulator; waits until it answers.
async fn start(dir: &std::path::Path, emulator: &emulator::Emulator) -> Server {
    let port = free_port();
    let address = format!("http://127.0.0.1:{port}");
    let config = emulator.config();
    let child = lobby_command(dir)
        .env("LOBBY_BIND", format!("127.0.0.1:{port}"))
        .env("LOBBY_PUBLIC_URL", &address)
        .env("SLACK_CLIENT_ID", &config.client_id)
        .env("SLACK_CLIENT_SECRET", config.client_secret.expose_secret())
        .env(
            "SLACK_SIGNING_SECRET",
            config.signing_secret.expose_secret(),
        )
        .env("SLACK_API_URL", emulator.api_url().as_str())
        .env(
            "SLACK_OAUTH_AUTHORIZE_URL",
            emulator.authorize_url().as_str(),
        )
        .env("SLACK_USER_SCOPES", "admin.users:write")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .arg("serve")
        .spawn()
        .unwrap();
    let server = Server { child, address };
    let started = Instant::now();
    while reqwest::get(format!("{}/healthz", server.address))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server
}

async fn wait_for(db: &lobby::db::Db, what: &str, sql: &'static str) {
    let started = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(db).await.unwrap();
        if n > 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_signup_left_by_a_killed_server_is_delivered_once_after_restart() {
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), &emu.emulator).await;
    let res = install_at(&first.address, &browser(), DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(res.status(), 200);

    // The invite call hangs far longer than this test runs, so the job is in flight when the server dies.
    emu.emulator.inject(
        "admin.users.invite",
        Fault::Slow(Duration::from_secs(300)),
        1,
    );
    let keyring = vault::load_keyring(&KeySource::Generated(dir.path().join("master.key")))
        .unwrap()
        .keyring;
    let key = keyring.derive_key("join-form");
    let (token, cookie) =
        lobby::abuse::FormToken::issue(&key, "demo-community", lobby::db::now() - 10);
    let res = browser()
        .post(format!("{}/join/demo-community", first.address))
        .header("cookie", format!("lobby_join={cookie}"))
        .form(&[
            ("email", "restart@example.org"),
            ("form_token", token.as_str()),
            ("website", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the signup was acknowledged");

    let db = lobby::db::connect(&format!(
        "sqlite://{}",
        dir.path().join("lobby.db").display()
    ))
    .await
    .unwrap();
    wait_for(
        &db,
        "the delivery job to be claimed",
        "SELECT COUNT(*) FROM jobs WHERE kind = 'invite.deliver' AND status = 'running'",
    )
    .await;
    drop(first); // SIGKILL: no chance to finish or release anything

    let _second = start(dir.path(), &emu.emulator).await;
    wait_for(
        &db,
        "the request to be invited",
        "SELECT COUNT(*) FROM invite_requests WHERE status = 'invited'",
    )
    .await;
    let delivered: Vec<_> = emu
        .emulator
        .calls_to("admin.users.invite")
        .into_iter()
        .filter(|c| c.param("email") == Some("restart@example.org") && c.error.is_none())
        .collect();
    assert_eq!(delivered.len(), 1, "delivered once");
}
