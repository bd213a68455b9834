//! Join-form signups committed per second, and their latency, through the real server.
//!
//! Run with `cargo bench --bench signups` (release build). It starts Lobby and a Slack emulator on
//! loopback, installs it org-wide on the emulator's Enterprise Grid organisation with
//! `admin.users:write` (Slack grants admin scopes nowhere else) and gives it an Admin API community,
//! so each signup commits a request and its delivery job, and the workers deliver them meanwhile
//! (`admin.users.invite`); then it keeps 64 clients posting
//! distinct signups — each from its own address, through a trusted proxy — for ten seconds.
//! Settings: BENCH_CONNECTIONS, BENCH_SECONDS, and BENCH_APPROVAL=1 to leave out delivery (requests
//! then wait for approval, so only the signups themselves are measured).
//!
//! BENCH_DATABASE_URL picks the database (default: a fresh SQLite file; a `postgres://…/postgres`
//! cluster URL gets a fresh database of its own) and BENCH_INSTANCES=2 starts two instances on it —
//! each its own listener, state, pool and workers, sharing the data directory (so the master key)
//! — with the clients spread over both. See `benches/common/mod.rs`.

mod common;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{BenchDb, env_or};
use lobby::config::Settings;
use lobby::emulator::{self, EmulatorConfig};
use lobby::startup::Application;
use secrecy::ExposeSecret;

const SLUG: &str = "demo-community";

#[tokio::main]
async fn main() {
    let connections = env_or("BENCH_CONNECTIONS", 64);
    let seconds = env_or("BENCH_SECONDS", 10) as u64;
    let approval = std::env::var_os("BENCH_APPROVAL").is_some();

    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let database = BenchDb::from_env(tmp.path()).await;
    let listeners: Vec<TcpListener> = (0..database.instances)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let addresses: Vec<String> = listeners
        .iter()
        .map(|l| format!("http://127.0.0.1:{}", l.local_addr().unwrap().port()))
        .collect();
    // The emulator accepts only registered redirect URIs, as Slack does.
    for (i, address) in addresses.iter().enumerate() {
        let url = url::Url::parse(&format!("{address}/")).unwrap();
        if i == 0 {
            emu.emulator.set_app_url(url);
        } else {
            emu.emulator.register_app_url(url);
        }
    }
    let config = emu.emulator.config();
    let mut states = Vec::new();
    // One after the other: the first generates the master key file the second then reads.
    for (listener, address) in listeners.into_iter().zip(&addresses) {
        let env: HashMap<String, String> = [
            ("LOBBY_PUBLIC_URL", address.clone()),
            ("LOBBY_DATA_DIR", tmp.path().display().to_string()),
            ("LOBBY_DATABASE_URL", database.url.clone()),
            ("SLACK_CLIENT_ID", config.client_id.clone()),
            (
                "SLACK_CLIENT_SECRET",
                config.client_secret.expose_secret().to_string(),
            ),
            (
                "SLACK_SIGNING_SECRET",
                config.signing_secret.expose_secret().to_string(),
            ),
            ("SLACK_API_URL", emu.emulator.api_url().to_string()),
            (
                "SLACK_OAUTH_AUTHORIZE_URL",
                emu.emulator.authorize_url().to_string(),
            ),
            (
                "SLACK_USER_SCOPES",
                if approval {
                    String::new()
                } else {
                    "admin.users:write".into()
                },
            ),
            ("LOBBY_TRUSTED_PROXIES", "127.0.0.1".into()),
            ("RUST_LOG", "warn".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let settings = Settings::from_sources(&env, None).unwrap();
        let app = Application::build_with_listener(settings, listener)
            .await
            .unwrap();
        states.push(app.state().clone());
        tokio::spawn(app.run_until_stopped());
    }
    // Installed through the first; the second reads the installation from the shared database.
    if approval {
        common::install(
            &addresses[0],
            emulator::seed::DEMO_TEAM,
            emulator::seed::DEMO_ADMIN,
        )
        .await;
    } else {
        // Slack grants admin scopes only org-wide, on an Enterprise Grid organisation; such an
        // install makes no community (it has no single workspace), so the bench makes one.
        common::install(
            &addresses[0],
            emulator::seed::ORG,
            emulator::seed::ORG_ADMIN,
        )
        .await;
        create_grid_community(&states[0].db).await;
    }

    // Both instances hold the same master key, so a token either issues is good at both.
    let key = states[0].keyring.derive_key("join-form");
    let sent = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let key = key.clone();
        let url = format!("{}/join/{SLUG}", addresses[worker % addresses.len()]);
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let mut latencies = Vec::new();
            let mut n = 0u32;
            while Instant::now() < deadline {
                n += 1;
                // A distinct client address per signup keeps the per-IP limits out of the measurement.
                let ip = format!("10.{}.{}.{}", worker, n / 250, n % 250 + 1);
                let email = format!("bench-{worker}-{n}@example.org");
                // A form token is good for one signup, as a visitor's page load would be.
                let (token, cookie) =
                    lobby::abuse::FormToken::issue(&key, SLUG, lobby::db::now() - 10);
                let started = Instant::now();
                let res = client
                    .post(&url)
                    .header("cookie", format!("lobby_join={cookie}"))
                    .header("x-forwarded-for", ip)
                    .form(&[
                        ("email", email.as_str()),
                        ("form_token", token.as_str()),
                        ("website", ""),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200, "signup refused");
                let _ = res.bytes().await;
                latencies.push(started.elapsed());
                sent.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        }));
    }
    let (latencies, elapsed) = common::gather(tasks).await;
    let committed = lobby::db::invite_requests::counts(&states[0].db, 1)
        .await
        .unwrap();
    let total: i64 = committed.iter().map(|(_, n)| n).sum();
    println!(
        "BENCH signups {} connections={connections} requests={} rps={:.0} committed={total}",
        database.label(),
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
    common::print_latencies(latencies);
    database.drop_created().await;
}

/// The Admin API community in the Grid organisation's workspace, under the demo slug.
async fn create_grid_community(db: &lobby::db::Db) {
    let settings = lobby::db::communities::CommunitySettings {
        title: "Enterprise Workspace".into(),
        description: String::new(),
        invite_mode: lobby::domain::InviteMode::AdminApi,
        default_channels: emulator::seed::ORG_GENERAL.into(),
        coc_url: None,
        coc_required: false,
        allowed_domains: String::new(),
        denied_domains: String::new(),
        captcha_provider: None,
        captcha_site_key: None,
        admin_channel: None,
    };
    lobby::db::communities::create(
        db,
        SLUG,
        &lobby::domain::TeamId::parse(emulator::seed::ORG).unwrap(),
        &lobby::domain::TeamId::parse(emulator::seed::ORG_TEAM).unwrap(),
        &settings,
    )
    .await
    .unwrap();
}
