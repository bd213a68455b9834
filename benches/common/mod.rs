//! What the benches share: their settings, the database they run on, and the latency summary.
//!
//! `BENCH_DATABASE_URL` picks the database: unset, a fresh SQLite file in a temporary directory;
//! a `postgres://` URL naming the cluster's maintenance database (`…/postgres`) or none, a fresh
//! database created on that cluster for this run (and dropped at the end); any other URL is used
//! as given and must name an empty database. `BENCH_INSTANCES` (1 or 2) is how many instances share
//! it; two need PostgreSQL, as SQLite is one server per file.

// Each bench uses a part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use lobby::db::Engine;
use sqlx::Connection;

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The database a run uses, and how it was made.
pub struct BenchDb {
    pub url: String,
    pub engine: Engine,
    pub instances: usize,
    /// The database this run created, to drop when it is done: (cluster URL, name).
    created: Option<(String, String)>,
}

impl BenchDb {
    /// Reads `BENCH_DATABASE_URL` and `BENCH_INSTANCES`; `dir` holds the SQLite file when no URL is set.
    pub async fn from_env(dir: &Path) -> BenchDb {
        let instances = env_or("BENCH_INSTANCES", 1);
        assert!(
            instances == 1 || instances == 2,
            "BENCH_INSTANCES must be 1 or 2"
        );
        let given = std::env::var("BENCH_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty());
        let Some(given) = given else {
            assert!(
                instances == 1,
                "BENCH_INSTANCES=2 needs a PostgreSQL BENCH_DATABASE_URL (SQLite is one server per file)"
            );
            return BenchDb {
                url: format!("sqlite://{}", dir.join("lobby.db").display()),
                engine: Engine::Sqlite,
                instances,
                created: None,
            };
        };
        let engine = Engine::of_url(&given);
        assert!(
            instances == 1 || engine == Engine::Postgres,
            "BENCH_INSTANCES=2 needs a PostgreSQL BENCH_DATABASE_URL (SQLite is one server per file)"
        );
        let mut parsed = url::Url::parse(&given).expect("BENCH_DATABASE_URL is a URL");
        if engine != Engine::Postgres || !matches!(parsed.path(), "" | "/" | "/postgres") {
            return BenchDb {
                url: given,
                engine,
                instances,
                created: None,
            };
        }
        let name = format!("lobby_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&given)
            .await
            .expect("the PostgreSQL server answers");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("CREATE DATABASE");
        admin.close().await.ok();
        parsed.set_path(&name);
        BenchDb {
            url: parsed.to_string(),
            engine,
            instances,
            created: Some((given, name)),
        }
    }

    /// What the BENCH lines say about where they ran.
    pub fn label(&self) -> String {
        format!("engine={} instances={}", self.engine.name(), self.instances)
    }

    /// Drops the database this run created (its connections are ended first).
    pub async fn drop_created(&self) {
        let Some((cluster, name)) = &self.created else {
            return;
        };
        if let Ok(mut admin) = sqlx::PgConnection::connect(cluster).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

/// Waits for every client task; their latencies together, and the seconds that took.
pub async fn gather(tasks: Vec<tokio::task::JoinHandle<Vec<Duration>>>) -> (Vec<Duration>, f64) {
    let started = std::time::Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    (latencies, started.elapsed().as_secs_f64())
}

/// Prints the latency line: p50, p90, p99 and max, in milliseconds.
pub fn print_latencies(mut latencies: Vec<Duration>) {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "BENCH latency_ms p50={:.2} p90={:.2} p99={:.2} max={:.2}",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
}

/// The Add to Slack flow, as a browser would do it.
pub async fn install(address: &str, workspace: &str, user: &str) {
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
    let Some(callback) = res.headers().get("location") else {
        panic!(
            "authorize: {} {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
    };
    let callback = callback.to_str().unwrap().to_owned();
    let res = browser.get(callback).send().await.unwrap();
    assert_eq!(res.status(), 200, "install failed");
}
