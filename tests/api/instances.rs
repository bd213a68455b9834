//! Two real `lobby serve` processes, A and B, on one PostgreSQL database with one master key and
//! one Slack (the emulator, with both servers' URLs registered): what one instance does, the
//! other sees; the queue, the limits and the caches span both.
//!
//! Each test needs the PostgreSQL cluster at `LOBBY_TEST_POSTGRES_URL` and is skipped (with a
//! note) without it.

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lobby::db::Db;
use lobby::emulator::seed::{DEMO_ADMIN, DEMO_GENERAL, DEMO_MEMBER, DEMO_TEAM, ORG, ORG_ADMIN};
use lobby::emulator::{self, EmulatorConfig, Fault, Gate, RunningEmulator, SlashCommand};
use serde_json::{Value, json};
use tempfile::TempDir;
use url::Url;

use crate::helpers::{
    DEMO_SLUG, Server, browser, count, create_grid_community, eventually, fresh_postgres_database,
    install_at, install_without_user_scopes, join_form_key, postgres_admin_url, sign_in_at,
    sign_up_with, team,
};

/// Both instances' job lease: a killed instance's jobs are taken over five seconds on (renewed
/// every second or so, with room for a loaded CI machine to be late).
const LEASE_SECS: i64 = 5;

/// One emulator, one PostgreSQL database and one data directory (its `master.key` is the key
/// of every instance started here), and a connection of the test's own to that database.
struct Cluster {
    running: RunningEmulator,
    dir: TempDir,
    database_url: String,
    db: Db,
    /// Signs join forms the way the instances' pages do.
    form_key: [u8; 32],
    /// Sends the join forms: one client (no cookie store) for thousands of signups.
    client: reqwest::Client,
}

impl Cluster {
    /// A fresh database and emulator, or `None` (said on stderr) when no cluster is configured.
    async fn new(test: &str) -> Option<Cluster> {
        Self::with_slack(test, EmulatorConfig::demo()).await
    }

    /// The same with an emulator configured as `slack`.
    async fn with_slack(test: &str, slack: EmulatorConfig) -> Option<Cluster> {
        let Some(admin_url) = postgres_admin_url() else {
            eprintln!(
                "skipped {test}: two instances need PostgreSQL; set LOBBY_TEST_POSTGRES_URL \
                 (e.g. postgres://lobby:lobby@127.0.0.1:54329/postgres, see tests/db/pg-cluster.sh)"
            );
            return None;
        };
        let running = emulator::spawn(slack, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("the emulator starts");
        let database_url = fresh_postgres_database(&admin_url).await;
        let dir = tempfile::tempdir().unwrap();
        // Creates the key file every instance is then pointed at.
        let form_key = join_form_key(dir.path());
        let db = lobby::db::connect(&database_url).await.unwrap();
        Some(Cluster {
            running,
            dir,
            database_url,
            db,
            form_key,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        })
    }

    fn emulator(&self) -> &emulator::Emulator {
        &self.running.emulator
    }

    /// Starts one more instance on the shared database with the shared key; its URL is
    /// registered with Slack. Every instance sits behind a proxy at 127.0.0.1 and holds its
    /// jobs on a short lease.
    async fn start(&self) -> Server {
        let key_file = self.dir.path().join("master.key");
        let openid = self.emulator().openid_authorize_url();
        let lease = LEASE_SECS.to_string();
        Server::start(
            self.dir.path(),
            self.emulator(),
            &[
                ("LOBBY_DATABASE_URL", &self.database_url),
                ("LOBBY_MASTER_KEY_FILE", key_file.to_str().unwrap()),
                ("SLACK_OPENID_AUTHORIZE_URL", openid.as_str()),
                ("LOBBY_TRUSTED_PROXIES", "127.0.0.1"),
                ("LOBBY_JOB_LEASE_SECS", &lease),
            ],
        )
        .await
    }

    /// Installs the app org-wide on the Grid organisation through `server` and gives the
    /// organisation's workspace the Admin API community (`invite.deliver` jobs call
    /// `admin.users.invite`).
    async fn install_grid_through(&self, server: &Server) {
        let res = install_at(&server.address, &browser(), ORG, ORG_ADMIN).await;
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
        create_grid_community(&self.db).await;
    }

    /// Installs the demo workspace through `server` (it cannot grant the admin user scope).
    async fn install_demo_through(&self, server: &Server) {
        let res =
            install_without_user_scopes(&server.address, &browser(), DEMO_TEAM, DEMO_ADMIN).await;
        assert_eq!(
            res.status(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }

    /// Sends the join form of `server` as a person at `ip` would.
    async fn sign_up(&self, server: &Server, email: &str, ip: &str) -> reqwest::Response {
        sign_up_with(&self.client, &self.form_key, &server.address, email, ip).await
    }

    /// Waits until `n` instances listen for each other's signals: until then an instance drops
    /// what it cached as soon as it starts listening (it may have missed a signal), so a test
    /// of a cache kept fresh by signals waits for this first.
    async fn wait_until_listening(&self, n: i64) {
        eventually(&format!("{n} instances to listen for signals"), || async {
            let listening = lobby::on_conn!(&self.db, |conn| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            )
            .fetch_one(conn)
            .await)
            .unwrap();
            (listening == n).then_some(())
        })
        .await;
    }

    async fn requests_with_status(&self, status: &str) -> i64 {
        lobby::on_conn!(&self.db, |conn| sqlx::query_scalar(
            "SELECT COUNT(*) FROM invite_requests WHERE status = $1"
        )
        .bind(status)
        .fetch_one(conn)
        .await)
        .unwrap()
    }

    async fn wait_until_invited(&self, n: i64) {
        eventually(&format!("{n} requests to be invited"), || async {
            let invited = self.requests_with_status("invited").await;
            assert!(invited <= n, "{invited} invited, more than the {n} signups");
            (invited == n).then_some(())
        })
        .await;
    }

    /// How often Slack was asked to invite each address (every call, answered or refused).
    fn invite_calls_per_email(&self) -> HashMap<String, usize> {
        let mut calls = HashMap::new();
        for call in self.emulator().calls_to("admin.users.invite") {
            let email = call.param("email").expect("an email").to_owned();
            *calls.entry(email).or_default() += 1;
        }
        calls
    }
}

/// The `invite.deliver` runs that ended `done` in the instance at `address`, by its own count.
async fn deliveries_done(address: &str) -> f64 {
    const SERIES: &str = r#"lobby_jobs_total{kind="invite.deliver",outcome="done"} "#;
    let res = reqwest::get(format!("{address}/metrics")).await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(SERIES))
        .map_or(0.0, |n| n.trim().parse().unwrap())
}

#[tokio::test]
async fn a_workspace_installed_through_one_instance_is_managed_through_the_other() {
    let Some(cluster) = Cluster::new("the dashboard test across instances").await else {
        return;
    };
    let a = cluster.start().await;
    let b = cluster.start().await;
    cluster.install_demo_through(&a).await;

    // The OAuth state of the sign-in, the session and the admin check all live in the database.
    let admin = browser();
    let res = sign_in_at(&b.address, &admin, DEMO_TEAM, DEMO_ADMIN).await;
    assert_eq!(
        res.status(),
        303,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(res.headers()["location"], "/admin");
    // B shows the workspace; the session B opened holds on A too (a browser's cookies are per
    // host, not per port, as they would be behind one load balancer).
    for (server, path) in [
        (&b, "/admin"),
        (&b, "/admin/installations"),
        (&a, "/admin/installations"),
    ] {
        let res = admin
            .get(format!("{}{path}", server.address))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path} at {}", server.address);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("Demo Community") && html.contains("Sign out"),
            "{path} at {} shows the workspace installed through A:\n{html}",
            server.address
        );
    }
    let res = admin
        .get(format!("{}/admin", b.address))
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains(&format!("/join/{DEMO_SLUG}"))
    );
}

#[tokio::test]
async fn a_thousand_signups_on_two_instances_are_each_delivered_exactly_once() {
    const SIGNUPS: usize = 1000;
    let Some(cluster) = Cluster::new("the thousand signups test").await else {
        return;
    };
    let a = cluster.start().await;
    let b = cluster.start().await;
    cluster.install_grid_through(&a).await;

    let started = Instant::now();
    let emails: Vec<String> = (0..SIGNUPS)
        .map(|i| format!("person{i}@example.org"))
        .collect();
    // Through the join form, alternating A and B, from as many addresses as people (each
    // person's own network), 16 at a time.
    let servers = [&a, &b];
    let cluster = &cluster;
    futures_util::stream::iter(emails.iter().enumerate())
        .map(|(i, email)| async move {
            let ip = format!("198.18.{}.{}", i / 200, i % 200 + 1);
            let server = servers[i % 2];
            let res = cluster.sign_up(server, email, &ip).await;
            assert_eq!(res.status(), 200, "{email} through {}", server.address);
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let submitted = started.elapsed();
    cluster.wait_until_invited(SIGNUPS as i64).await;
    let delivered = started.elapsed();

    // Slack was asked once per person: no address twice, none left out.
    let calls = cluster.invite_calls_per_email();
    assert_eq!(calls.len(), SIGNUPS, "every person was invited");
    let twice: Vec<_> = calls.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "asked more than once: {twice:?}");
    let expected: HashSet<&str> = emails.iter().map(String::as_str).collect();
    assert!(calls.keys().all(|e| expected.contains(e.as_str())));
    let invites = cluster.emulator().invites();
    assert_eq!(invites.len(), SIGNUPS);
    assert_eq!(
        count(
            &cluster.db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'invite.deliver' AND (status <> 'done' OR attempts <> 1)"
        )
        .await,
        0,
        "every delivery job ran once and is done"
    );
    // Both instances' workers took their share, and together ran each job once.
    let (by_a, by_b) = (
        deliveries_done(&a.address).await,
        deliveries_done(&b.address).await,
    );
    assert!(by_a > 0.0 && by_b > 0.0, "A delivered {by_a}, B {by_b}");
    assert_eq!(by_a + by_b, SIGNUPS as f64);
    eprintln!(
        "{SIGNUPS} signups through two instances: committed in {submitted:?}, all delivered after \
         {delivered:?} (A delivered {by_a}, B {by_b})"
    );
}

#[tokio::test]
async fn deliveries_in_flight_on_a_killed_instance_are_finished_once_by_the_other() {
    // A's job workers (`WorkerConfig::default().concurrency`): all of them hang in Slack.
    const HELD: u32 = 4;
    const SIGNUPS: usize = 10;
    let Some(cluster) = Cluster::new("the kill -9 test").await else {
        return;
    };
    let mut a = cluster.start().await;
    cluster.install_grid_through(&a).await;

    // Slack holds A's invite calls far longer than the test runs: they are in flight when A
    // dies, and never reach Slack at all (the gate is never opened).
    let gate = Gate::new();
    cluster
        .emulator()
        .inject("admin.users.invite", Fault::Held(gate.clone()), HELD);
    let emails: Vec<String> = (0..SIGNUPS)
        .map(|i| format!("inflight{i}@example.org"))
        .collect();
    for (i, email) in emails.iter().enumerate() {
        let res = cluster
            .sign_up(&a, email, &format!("198.51.100.{}", i + 1))
            .await;
        assert_eq!(res.status(), 200);
    }
    eventually("A's workers to be held in Slack", || async {
        (gate.arrivals() == HELD).then_some(())
    })
    .await;
    let held: Vec<(i64, String, i64)> = lobby::on_conn!(&cluster.db, |conn| sqlx::query_as(
        "SELECT id, claimed_by, claimed_at FROM jobs WHERE kind = 'invite.deliver' AND status = 'running' ORDER BY id"
    )
    .fetch_all(conn)
    .await)
    .unwrap();
    assert_eq!(held.len(), HELD as usize, "{held:?}");

    // B joins: it delivers what A could not start, and leaves A's running jobs alone while A
    // renews their lease, well past the lease's length.
    let b = cluster.start().await;
    cluster
        .wait_until_invited((SIGNUPS - HELD as usize) as i64)
        .await;
    let first_claim = held.iter().map(|(_, _, at)| *at).min().unwrap();
    eventually("A to renew its leases past their length", || async {
        let renewed = lobby::on_conn!(&cluster.db, |conn| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'invite.deliver' AND status = 'running'
             AND attempts = 1 AND claimed_at > $1"
        )
        .bind(first_claim + LEASE_SECS)
        .fetch_one(conn)
        .await)
        .unwrap();
        (renewed == i64::from(HELD)).then_some(())
    })
    .await;
    let still_a: Vec<(i64, String, i64)> = lobby::on_conn!(&cluster.db, |conn| sqlx::query_as(
        "SELECT id, claimed_by, attempts FROM jobs WHERE kind = 'invite.deliver' AND status = 'running' ORDER BY id"
    )
    .fetch_all(conn)
    .await)
    .unwrap();
    let expected: Vec<_> = held
        .iter()
        .map(|(id, by, _)| (*id, by.clone(), 1))
        .collect();
    assert_eq!(still_a, expected, "B took nothing from a living A");

    // kill -9: A neither finishes nor releases anything.
    a.signal("KILL");
    assert_eq!(a.exit_status().await.signal(), Some(9));
    let killed = Instant::now();
    cluster.wait_until_invited(SIGNUPS as i64).await;
    let taken_over = killed.elapsed();
    b.logged("took over jobs whose lease ran out").await;

    // Each person was invited once: A's held calls never reached Slack, B asked once for each.
    let calls = cluster.invite_calls_per_email();
    let expected: HashMap<String, usize> = emails.iter().map(|e| (e.clone(), 1)).collect();
    assert_eq!(calls, expected);
    assert!(
        cluster
            .emulator()
            .calls_to("admin.users.invite")
            .iter()
            .all(|c| c.error.is_none())
    );
    assert_eq!(gate.arrivals(), HELD, "B's calls were not held");
    // A's jobs ran twice, one after the other: A's attempt released when its lease ran out, B's done.
    // (Slack saw the invite before B recorded the job as done.)
    eventually("B to record every delivery as done", || async {
        let done = count(
            &cluster.db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'invite.deliver' AND status = 'done'",
        )
        .await;
        (done == SIGNUPS as i64).then_some(())
    })
    .await;
    for (id, _, _) in &held {
        let attempts: Vec<(i64, Option<String>)> =
            lobby::on_conn!(&cluster.db, |conn| sqlx::query_as(
                "SELECT attempt, outcome FROM job_attempts WHERE job_id = $1 ORDER BY attempt"
            )
            .bind(id)
            .fetch_all(conn)
            .await)
            .unwrap();
        assert_eq!(
            attempts,
            [(1, Some("released".into())), (2, Some("done".into()))],
            "job {id}"
        );
    }
    eprintln!(
        "B finished A's {HELD} deliveries {taken_over:?} after A was killed (lease {LEASE_SECS} s)"
    );
}

#[tokio::test]
async fn one_client_address_has_one_signup_limit_across_both_instances() {
    const LIMIT: usize = 6;
    let Some(cluster) = Cluster::new("the shared limit test").await else {
        return;
    };
    let a = cluster.start().await;
    let b = cluster.start().await;
    cluster.install_grid_through(&a).await;
    let community = lobby::db::communities::by_slug(&cluster.db, DEMO_SLUG)
        .await
        .unwrap()
        .unwrap();
    lobby::db::communities::set_signup_rules(&cluster.db, community.id, false, LIMIT as i64)
        .await
        .unwrap();

    // One client behind the proxy, alternating instances: the community's limit counts once.
    let mut statuses = Vec::new();
    for i in 0..2 * LIMIT {
        let server = if i % 2 == 0 { &a } else { &b };
        let res = cluster
            .sign_up(server, &format!("same{i}@example.org"), "203.0.113.77")
            .await;
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            assert!(res.headers().contains_key("retry-after"));
        }
    }
    let mut expected = vec![200; LIMIT];
    expected.extend([429; LIMIT]);
    assert_eq!(statuses, expected, "A and B alternately");
    // The limit is the address's: another client still gets through either instance.
    for (n, server) in [&a, &b].into_iter().enumerate() {
        let res = cluster
            .sign_up(server, &format!("other-{n}@example.org"), "203.0.113.78")
            .await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        count(&cluster.db, "SELECT COUNT(*) FROM invite_requests").await,
        LIMIT as i64 + 2
    );
}

#[tokio::test]
async fn app_uninstalled_handled_by_one_instance_makes_the_other_refuse_within_a_second() {
    let Some(cluster) = Cluster::new("the uninstall test").await else {
        return;
    };
    let a = cluster.start().await;
    let b = cluster.start().await;
    cluster.install_demo_through(&a).await;
    let emulator = cluster.emulator();
    let help_through = |server: &Server| {
        emulator.set_app_url(Url::parse(&server.address).unwrap());
        emulator.send_slash_command(SlashCommand::new(
            DEMO_TEAM,
            DEMO_GENERAL,
            DEMO_MEMBER,
            "/lobby",
            "help",
        ))
    };
    // B has the installation in its cache now (listening, so it keeps what it reads).
    cluster.wait_until_listening(2).await;
    let json: Value = help_through(&b).await.unwrap().json().await.unwrap();
    assert!(
        json["text"].as_str().unwrap().contains("/summarize"),
        "{json}"
    );

    emulator.set_app_url(Url::parse(&a.address).unwrap());
    let (_, res) = emulator
        .send_event(DEMO_TEAM, json!({"type": "app_uninstalled"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let handled = Instant::now();

    let refused = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            let json: Value = help_through(&b).await.unwrap().json().await.unwrap();
            if json["text"].as_str().unwrap().contains("not installed") {
                return json;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let after = handled.elapsed();
    assert!(
        refused.is_ok(),
        "B still serves the workspace {after:?} after A handled app_uninstalled"
    );
    eprintln!("B refused the uninstalled workspace {after:?} after A handled app_uninstalled");
    // And it stays refused through either instance.
    for server in [&a, &b] {
        let json: Value = help_through(server).await.unwrap().json().await.unwrap();
        assert!(
            json["text"].as_str().unwrap().contains("not installed"),
            "{json}"
        );
    }
}

#[tokio::test]
async fn two_instances_refresh_a_rotating_token_once() {
    const SIGNUPS: usize = 12;
    let mut slack = EmulatorConfig::demo();
    slack.token_rotation = true;
    let Some(cluster) = Cluster::with_slack("the token refresh test", slack).await else {
        return;
    };
    let a = cluster.start().await;
    let b = cluster.start().await;
    cluster.install_grid_through(&a).await;
    // The admin user token is inside its refresh margin; neither instance has read it yet.
    lobby::on_conn!(&cluster.db, |conn| sqlx::query(
        "UPDATE installations SET user_token_expires_at = $1"
    )
    .bind(lobby::db::now() + 60)
    .execute(conn)
    .await
    .map(|done| done.rows_affected()))
    .unwrap();
    // Slack holds the first refresh, so deliveries on both instances want the token meanwhile.
    let gate = Gate::new();
    cluster
        .emulator()
        .inject("oauth.v2.access", Fault::Held(gate.clone()), 1);
    for i in 0..SIGNUPS {
        let server = if i % 2 == 0 { &a } else { &b };
        let res = cluster
            .sign_up(
                server,
                &format!("rotate{i}@example.org"),
                &format!("198.51.100.{}", i + 1),
            )
            .await;
        assert_eq!(res.status(), 200);
    }
    gate.arrived().await;
    eventually("deliveries running on both instances", || async {
        let running = count(
            &cluster.db,
            "SELECT COUNT(DISTINCT claimed_by) FROM jobs WHERE status = 'running'",
        )
        .await;
        (running == 2).then_some(())
    })
    .await;
    gate.release();

    eventually("every invite", || async {
        (cluster.emulator().calls_to("admin.users.invite").len() == SIGNUPS).then_some(())
    })
    .await;
    let refreshes = cluster
        .emulator()
        .calls_to("oauth.v2.access")
        .into_iter()
        .filter(|call| call.param("grant_type") == Some("refresh_token"))
        .count();
    assert_eq!(
        refreshes, 1,
        "one instance refreshed; the other used its new token"
    );
    let installation = lobby::db::installations::get(&cluster.db, &team(ORG))
        .await
        .unwrap()
        .unwrap();
    assert!(
        installation.is_active(),
        "the refresh token was never spent twice"
    );
}
