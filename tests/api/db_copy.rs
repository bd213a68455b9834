//! `lobby db copy`: a deployment moves from SQLite to PostgreSQL (and back) without reinstalling
//! any workspace, and an occupied database is never copied into.

use std::path::Path;
use std::process::Output;

use lobby::emulator::{self, EmulatorConfig};

use crate::helpers::{
    Server, count, fresh_postgres_database, hang_guard, install_grid_at, lobby_command, open_db,
    postgres_admin_url, sign_up_at, wait_for, with_emulator,
};

/// The cluster's URL, or a note saying why the test does nothing.
fn postgres_or_skip(test: &str) -> Option<String> {
    let url = postgres_admin_url();
    if url.is_none() {
        eprintln!(
            "skipping {test}: set LOBBY_TEST_POSTGRES_URL to a PostgreSQL cluster \
             (tests/db/pg-cluster.sh start DIR prints one)"
        );
    }
    url
}

/// Runs the `lobby` command without blocking the test's runtime.
async fn run(mut command: std::process::Command, args: &[&str]) -> Output {
    command.args(args);
    let what = format!("lobby {}", args.join(" "));
    hang_guard(&what, tokio::process::Command::from(command).output())
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `user:password@` of a database URL: what must never be printed.
fn credentials(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    format!("{}:{}@", url.username(), url.password().unwrap_or_default())
}

async fn funnel(db: &lobby::db::Db) -> Vec<(i64, i64, i64, i64, i64)> {
    lobby::on_conn!(db, |c| sqlx::query_as(
        "SELECT community_id, day, requested, invited, joined FROM invite_funnel_days ORDER BY community_id, day"
    )
    .fetch_all(c)
    .await)
    .unwrap()
}

#[tokio::test]
async fn a_sqlite_deployment_moves_to_postgres_and_keeps_delivering_invites() {
    let Some(admin_url) = postgres_or_skip("the SQLite to PostgreSQL move") else {
        return;
    };
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();

    // A deployment on SQLite: an installation (sealed tokens), a community and a delivered request.
    let mut first = Server::start(dir, &emu.emulator, &[]).await;
    install_grid_at(&first.address, dir).await;
    let res = sign_up_at(&first.address, dir, "before@example.org", "198.51.100.31").await;
    assert_eq!(res.status(), 200, "the signup was acknowledged");
    let sqlite = open_db(dir).await;
    wait_for(
        &sqlite,
        "the first request to be invited",
        "SELECT COUNT(*) FROM invite_requests WHERE status = 'invited'",
    )
    .await;
    first.signal("TERM");
    assert!(first.exit_status().await.success());
    let source_funnel = funnel(&sqlite).await;
    let source_jobs = count(&sqlite, "SELECT COUNT(*) FROM jobs").await;
    sqlite.close().await;

    // The move.
    let pg_url = fresh_postgres_database(&admin_url).await;
    let out = run(lobby_command(dir), &["db", "copy", "--to", &pg_url]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("copied SQLite ") && stdout.contains(" into PostgreSQL "),
        "{stdout}"
    );
    for line in [
        "  installations: 1\n",
        "  communities: 1\n",
        "  invite_requests: 1\n",
        "  vault_canaries: 1\n",
        &format!("  jobs: {source_jobs}\n"),
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
    assert!(
        stdout.contains("sealed values opened with key id"),
        "{stdout}"
    );
    let secret = credentials(&pg_url);
    assert!(
        !stdout.contains(&secret) && !stderr.contains(&secret),
        "the password is not printed"
    );

    let pg = lobby::db::connect(&pg_url).await.unwrap();
    assert_eq!(
        funnel(&pg).await,
        source_funnel,
        "the funnel rollup is the source's, counted once"
    );

    // Lobby on PostgreSQL, with the same data directory (the same master key).
    let second = Server::start(dir, &emu.emulator, &[("LOBBY_DATABASE_URL", &pg_url)]).await;
    let mut check = with_emulator(lobby_command(dir), &emu.emulator);
    check
        .env("LOBBY_DATABASE_URL", &pg_url)
        .env("LOBBY_PUBLIC_URL", &second.address);
    let out = run(check, &["check"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("ok    database: PostgreSQL "), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "ok    installation {} ",
            lobby::emulator::seed::ORG
        )),
        "the copied bot token opens and Slack accepts it: {stdout}"
    );

    let res = sign_up_at(&second.address, dir, "after@example.org", "198.51.100.32").await;
    assert_eq!(res.status(), 200, "the signup was acknowledged");
    wait_for(
        &pg,
        "the request made on PostgreSQL to be invited",
        "SELECT COUNT(*) FROM invite_requests WHERE email = 'after@example.org' AND status = 'invited'",
    )
    .await;
    let delivered: Vec<_> = emu
        .emulator
        .calls_to("admin.users.invite")
        .into_iter()
        .filter(|c| c.param("email") == Some("after@example.org") && c.error.is_none())
        .collect();
    assert_eq!(
        delivered.len(),
        1,
        "delivered once, by the server on PostgreSQL"
    );
    assert_eq!(
        count(
            &pg,
            "SELECT COUNT(*) FROM invite_requests WHERE id > (SELECT MIN(id) FROM invite_requests)"
        )
        .await,
        1,
        "the new request got an id after the copied one"
    );
    drop(second);

    // And back, into a new SQLite file.
    let back = format!("sqlite://{}", dir.join("back.db").display());
    let mut copy_back = lobby_command(dir);
    copy_back.env("LOBBY_DATABASE_URL", &pg_url);
    let out = run(copy_back, &["db", "copy", "--to", &back]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.starts_with("copied PostgreSQL ") && stdout.contains(" into SQLite "),
        "{stdout}"
    );
    assert!(stdout.contains("  invite_requests: 2\n"), "{stdout}");
    let back = lobby::db::connect(&back).await.unwrap();
    assert_eq!(funnel(&back).await, funnel(&pg).await);
    pg.close().await;
}

/// The database a refusal test copies into: a PostgreSQL database of its own when the cluster is
/// there, else a SQLite file.
async fn target_url(dir: &Path) -> String {
    match postgres_admin_url() {
        Some(admin) => fresh_postgres_database(&admin).await,
        None => format!("sqlite://{}", dir.join("target.db").display()),
    }
}

#[tokio::test]
async fn copying_into_a_database_that_holds_rows_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let source = open_db(dir).await;
    lobby::db::audit::record(&source, None, "system", "copy.source", "")
        .await
        .unwrap();
    source.close().await;
    let url = target_url(dir).await;
    let target = lobby::db::connect(&url).await.unwrap();
    lobby::db::audit::record(&target, None, "system", "already.here", "")
        .await
        .unwrap();

    let out = run(lobby_command(dir), &["db", "copy", "--to", &url]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("not empty") && stderr.contains("audit_log has 1 rows"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        count(&target, "SELECT COUNT(*) FROM audit_log").await,
        1,
        "the target is left as it was"
    );
    assert_eq!(
        count(&target, "SELECT COUNT(*) FROM vault_canaries").await,
        0
    );
    target.close().await;
}

#[tokio::test]
async fn backup_on_postgres_points_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        {
            let mut command = lobby_command(dir.path());
            // Nothing listens there: the answer comes before any connection.
            command.env(
                "LOBBY_DATABASE_URL",
                "postgres://lobby:not-printed@127.0.0.1:9/lobby",
            );
            command
        },
        &["backup", "lobby.db"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!stderr.contains("not-printed"), "{stderr}");
    assert!(!dir.path().join("lobby.db").exists());
}
