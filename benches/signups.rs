//! Join-form signups committed per second, and their latency, through the real server.
//!
//! Run with `cargo bench --bench signups` (release build). It starts Lobby and a Slack emulator on
//! loopback, installs the app org-wide on the Grid organisation with `admin.users:write` and a
//! community that invites through the Admin API (so each signup commits a request and its delivery
//! job, and the workers deliver them meanwhile), then keeps 64 clients posting
//! distinct signups — each from its own address, through a trusted proxy — for ten seconds.
//! Settings: BENCH_CONNECTIONS, BENCH_SECONDS, and BENCH_APPROVAL=1 to leave out delivery (requests
//! then wait for approval, so only the signups themselves are measured).

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lobby::config::Settings;
use lobby::emulator::{self, EmulatorConfig};
use lobby::startup::Application;
use secrecy::ExposeSecret;

const SLUG: &str = "demo-community";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let connections = env_or("BENCH_CONNECTIONS", 64);
    let seconds = env_or("BENCH_SECONDS", 10) as u64;

    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    // The emulator accepts only registered redirect URIs, as Slack does.
    emu.emulator
        .set_app_url(url::Url::parse(&format!("{address}/")).unwrap());
    let config = emu.emulator.config();
    let env: HashMap<String, String> = [
        ("LOBBY_PUBLIC_URL", address.clone()),
        ("LOBBY_DATA_DIR", tmp.path().display().to_string()),
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
            if std::env::var_os("BENCH_APPROVAL").is_some() {
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
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let delivery = std::env::var_os("BENCH_APPROVAL").is_none();
    if delivery {
        // Slack grants admin.users:write only to an org-wide install on Enterprise Grid, which
        // makes no community of its own: one is made in the organisation's workspace.
        install(&address, emulator::seed::ORG, emulator::seed::ORG_ADMIN).await;
        grid_community(&state.db).await;
    } else {
        install(
            &address,
            emulator::seed::DEMO_TEAM,
            emulator::seed::DEMO_ADMIN,
        )
        .await;
    }

    let key = state.keyring.derive_key("join-form");
    let sent = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let key = key.clone();
        let url = format!("{address}/join/{SLUG}");
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
    let started = Instant::now();
    let mut latencies: Vec<Duration> = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let committed = lobby::db::invite_requests::counts(&state.db, 1)
        .await
        .unwrap();
    let total: i64 = committed.iter().map(|(_, n)| n).sum();
    println!(
        "BENCH signups connections={connections} requests={} rps={:.0} committed={total}",
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
    println!(
        "BENCH latency_ms p50={:.2} p90={:.2} p99={:.2} max={:.2}",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
}

/// The community the Admin API delivers to, in the Grid organisation's workspace.
async fn grid_community(db: &lobby::db::Db) {
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
        emulator::seed::ORG,
        emulator::seed::ORG_TEAM,
        &settings,
    )
    .await
    .unwrap();
}

/// The Add to Slack flow, as `user` of `workspace` would do it in a browser.
async fn install(address: &str, workspace: &str, user: &str) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = browser
        .get(format!("{address}/slack/install"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find("class=\"button slack\" href=\"").unwrap()
        + "class=\"button slack\" href=\"".len();
    let href = html[start..][..html[start..].find('"').unwrap()].replace("&#38;", "&");
    let authorize = url::Url::parse(&href).unwrap();
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.extend([
        ("workspace".into(), workspace.into()),
        ("user".into(), user.into()),
        ("decision".into(), "allow".into()),
    ]);
    let mut action = authorize.clone();
    action.set_query(None);
    let res = browser.post(action).form(&form).send().await.unwrap();
    let callback = res.headers()["location"].to_str().unwrap().to_owned();
    let res = browser.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 200, "install failed");
}
