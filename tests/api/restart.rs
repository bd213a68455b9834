//! A server killed between committing a signup and delivering it delivers it after a restart, once.

use lobby::emulator::{self, EmulatorConfig, Fault, Gate};

use crate::helpers::{Server, install_grid_at, open_db, sign_up_at, wait_for};

#[tokio::test]
async fn a_signup_left_by_a_killed_server_is_delivered_once_after_restart() {
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(dir.path(), &emu.emulator, &[]).await;
    install_grid_at(&first.address, dir.path()).await;

    // The invite call hangs far longer than this test runs, so the job is in flight when the server dies.
    emu.emulator
        .inject("admin.users.invite", Fault::Held(Gate::new()), 1);
    let res = sign_up_at(
        &first.address,
        dir.path(),
        "restart@example.org",
        "198.51.100.20",
    )
    .await;
    assert_eq!(res.status(), 200, "the signup was acknowledged");

    let db = open_db(dir.path()).await;
    wait_for(
        &db,
        "the delivery job to be claimed",
        "SELECT COUNT(*) FROM jobs WHERE kind = 'invite.deliver' AND status = 'running'",
    )
    .await;
    drop(first); // SIGKILL: no chance to finish or release anything

    let _second = Server::start(dir.path(), &emu.emulator, &[]).await;
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
