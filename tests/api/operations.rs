//! Operations: graceful shutdown, `/metrics`, JSON logs with no secrets, `lobby check` and
//! `lobby backup` — what a self-hoster relies on in production.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use lobby::db::installations::TokenKind;
use lobby::emulator::seed::{ORG, ORG_ADMIN};
use lobby::emulator::{self, Emulator, EmulatorConfig, Fault, Gate};
use secrecy::ExposeSecret;

use crate::helpers::{
    Server, TestApp, app_with_admin_api, captured_logs, count, install_grid_at, lobby_command,
    open_db, sign_up_at, team, wait_for, with_emulator,
};

const SLUG: &str = "demo-community";
const METRICS_TOKEN: &str = "scraper-token-0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// Shutdown and JSON logs: `lobby serve` as a child process, like a service manager runs it.

/// A server whose only signup's delivery hangs at Slack: the job is running when this returns.
async fn server_with_a_delivery_in_flight(
    dir: &Path,
    emulator: &Emulator,
    grace: &str,
) -> (Server, String) {
    let server = Server::start(dir, emulator, &[("LOBBY_SHUTDOWN_GRACE", grace)]).await;
    install_grid_at(&server.address, dir).await;
    // Slack holds the invite call for as long as the server lives.
    emulator.inject("admin.users.invite", Fault::Held(Gate::new()), 1);
    let res = sign_up_at(&server.address, dir, "shutdown@example.org", "198.51.100.7").await;
    assert_eq!(res.status(), 200, "the signup was acknowledged");
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    wait_for(
        &open_db(dir).await,
        "the delivery job to be claimed",
        "SELECT COUNT(*) FROM jobs WHERE kind = 'invite.deliver' AND status = 'running'",
    )
    .await;
    (server, request_id)
}

#[tokio::test]
async fn sigterm_with_a_delivery_in_flight_exits_cleanly_and_it_is_delivered_once_after_restart() {
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _) = server_with_a_delivery_in_flight(dir.path(), &emu.emulator, "1").await;

    first.signal("TERM");
    let status = first.exit_status().await;
    assert!(status.success(), "exit status {status:?}");
    let db = open_db(dir.path()).await;
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'invite.deliver' AND status = 'ready'"
        )
        .await,
        1,
        "the unfinished job was handed back to the queue"
    );
    let messages: Vec<String> = first
        .log_lines()
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str().map(str::to_owned))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m == "shutting down: finishing requests and jobs"),
        "{messages:?}"
    );
    assert_eq!(messages.last().map(String::as_str), Some("stopped"));

    let _second = Server::start(dir.path(), &emu.emulator, &[]).await;
    wait_for(
        &db,
        "the request to be invited",
        "SELECT COUNT(*) FROM invite_requests WHERE status = 'invited'",
    )
    .await;
    let delivered = emu
        .emulator
        .calls_to("admin.users.invite")
        .into_iter()
        .filter(|c| c.param("email") == Some("shutdown@example.org") && c.error.is_none())
        .count();
    assert_eq!(delivered, 1, "delivered once");
}

#[tokio::test]
async fn a_second_signal_stops_at_once() {
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut server, _) = server_with_a_delivery_in_flight(dir.path(), &emu.emulator, "120").await;

    server.signal("TERM");
    server
        .logged("stopping gracefully; send the signal again to stop at once")
        .await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the first signal waits for the job"
    );
    server.signal("INT");
    let status = server.exit_status().await;
    assert_eq!(
        status.code(),
        Some(130),
        "stopped at once by the second signal"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_id_and_ctrl_c_stops_cleanly() {
    let emu = emulator::spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &emu.emulator, &[]).await;
    let res = reqwest::get(format!("{}/join/{SLUG}", server.address))
        .await
        .unwrap();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();

    server.signal("INT");
    let status = server.exit_status().await;
    assert!(status.success(), "exit status {status:?}");
    let lines = server.log_lines();
    let finished = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "request finished" && l["span"]["request_id"] == request_id
        })
        .unwrap_or_else(|| panic!("no line for request {request_id}: {lines:#?}"));
    assert_eq!(finished["span"]["route"], "/join/{slug}");
    assert_eq!(finished["span"]["method"], "GET");
    assert_eq!(finished["fields"]["status"], res.status().as_u16());
    assert!(finished["fields"]["latency_ms"].as_f64().is_some());
    assert_eq!(finished["level"], "INFO");
}

// ---------------------------------------------------------------------------------------------
// Metrics.

async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    exposition::parse(&res.text().await.unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

async fn wait_for_status(app: &TestApp, status: &'static str) {
    crate::helpers::eventually(&format!("a request to reach {status}"), || async {
        let n: i64 = lobby::on_conn!(app.db(), |conn| sqlx::query_scalar(
            "SELECT COUNT(*) FROM invite_requests WHERE status = $1"
        )
        .bind(status)
        .fetch_one(conn)
        .await)
        .unwrap();
        (n > 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_move_when_a_signup_is_delivered() {
    let app = app_with_admin_api(vec![]).await;
    let before = scrape(&app).await;

    let res = sign_up_at(
        &app.address,
        &app.data_dir,
        "metrics@example.org",
        "198.51.100.8",
    )
    .await;
    assert_eq!(res.status(), 200);
    wait_for_status(&app, "invited").await;
    // The job is counted once its outcome is recorded, just after the request moves.
    let done = r#"lobby_jobs_total{kind="invite.deliver",outcome="done"}"#;
    let after = crate::helpers::eventually("the delivery to be counted", || async {
        let after = scrape(&app).await;
        (value(&after, done) > value(&before, done)).then_some(after)
    })
    .await;

    for series in [
        r#"lobby_http_requests_total{method="POST",route="/join/{slug}",status="200"}"#,
        r#"lobby_http_request_duration_seconds_count{method="POST",route="/join/{slug}"}"#,
        r#"lobby_jobs_total{kind="invite.deliver",outcome="done"}"#,
        r#"lobby_slack_calls_total{code="ok",method="admin.users.invite"}"#,
    ] {
        assert_eq!(
            value(&after, series) - value(&before, series),
            1.0,
            "{series} did not move by one"
        );
    }
    assert_eq!(
        value(&after, r#"lobby_invite_requests{status="invited"}"#),
        1.0
    );
    assert_eq!(
        value(&after, r#"lobby_installations{status="active"}"#),
        1.0
    );
    assert!(after.contains_key(r#"lobby_job_queue_depth{status="ready"}"#));
    assert!(after.contains_key("lobby_job_queue_oldest_ready_age_seconds"));
    assert!(
        after.keys().all(|k| !k.contains("demo-community")),
        "routes are patterns, never raw paths"
    );
}

#[tokio::test]
async fn metrics_are_refused_to_a_relayed_client_without_the_token_and_served_with_it() {
    let app = app_with_admin_api(vec![("LOBBY_METRICS_TOKEN", METRICS_TOKEN.to_owned())]).await;
    let from_afar = || {
        app.client
            .get(app.url("/metrics"))
            .header("x-forwarded-for", "203.0.113.50")
    };

    let refused = from_afar().send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");

    let wrong = from_afar()
        .bearer_auth("scraper-token-0123456789abcdeX")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);

    let served = from_afar().bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(served.status(), 200);
    exposition::parse(&served.text().await.unwrap()).unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------------------------
// No secrets in the logs.

#[tokio::test]
async fn the_logs_hold_no_token_code_state_or_plain_email_address() {
    let app = app_with_admin_api(vec![]).await;
    // A second install through the browser, to know this flow's code and state.
    let authorize = app.start_install().await;
    let callback = app
        .consent(
            &authorize,
            crate::helpers::Consent::Allow {
                workspace: ORG,
                user: ORG_ADMIN,
            },
        )
        .await;
    let query: HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(app.client.get(callback).send().await.unwrap().status(), 200);
    for (i, email) in ["ada.lovelace@example.org", "Grace.Hopper@Example.COM"]
        .iter()
        .enumerate()
    {
        let res = sign_up_at(
            &app.address,
            &app.data_dir,
            email,
            &format!("198.51.100.{}", 20 + i),
        )
        .await;
        assert_eq!(res.status(), 200);
    }
    wait_for_status(&app, "invited").await;

    let logs = captured_logs();
    assert!(
        logs.contains("invite request received"),
        "the logs were captured"
    );
    let config = app.emulator.config();
    let mut secrets: Vec<String> = app.emulator.issued_tokens();
    secrets.push(query["code"].clone());
    secrets.push(query["state"].clone());
    secrets.push(config.client_secret.expose_secret().to_owned());
    secrets.push(config.signing_secret.expose_secret().to_owned());
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret is in the logs");
    }
    let plain = plain_email_addresses(&logs);
    assert!(
        plain.is_empty(),
        "plain email addresses in the logs: {plain:?}"
    );
}

/// The example an error message gives of an address's shape; nobody's address.
const FORMAT_HINT: &str = "name@example.org";

/// Anything shaped like `local@domain.tld` whose local part is not masked (`a***`).
fn plain_email_addresses(text: &str) -> HashSet<String> {
    text.split(|c: char| c.is_whitespace() || "\"'<>()[]{},;=".contains(c))
        .filter_map(|word| {
            let (local, domain) = word.split_once('@')?;
            let local = local.rsplit(':').next().unwrap_or(local);
            let plausible = !local.is_empty()
                && !local.ends_with("***")
                && !word.starts_with(FORMAT_HINT)
                && domain.contains('.')
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
            plausible.then(|| word.to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// lobby check and lobby backup.

/// Runs `lobby check` against the app's data directory. Asynchronously: the app shares this
/// test's runtime, and blocking it would leave its open transactions holding the database lock.
async fn lobby_check(app: &TestApp) -> std::process::Output {
    let mut command = with_emulator(lobby_command(&app.data_dir), &app.emulator);
    command.env("LOBBY_PUBLIC_URL", &app.address).arg("check");
    tokio::process::Command::from(command)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn lobby_check_passes_then_fails_on_a_revoked_installation() {
    let app = app_with_admin_api(vec![]).await;

    let out = lobby_check(&app).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    for check in ["configuration", "database", "master key", "slack", "events"] {
        assert!(
            stdout.contains(&format!("ok    {check}: ")),
            "{check}: {stdout}"
        );
    }
    assert!(
        stdout.contains(&format!("ok    installation {ORG} ")),
        "{stdout}"
    );

    // The install's own jobs would meet the revoked token and retire the installation first.
    crate::helpers::jobs_settled(app.db()).await;
    let bot =
        lobby::db::installations::token(app.db(), &app.state.keyring, &team(ORG), TokenKind::Bot)
            .await
            .unwrap()
            .unwrap()
            .token;
    assert!(app.state.slack.auth_revoke(&bot).await.unwrap());

    let out = lobby_check(&app).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("FAIL  installation {ORG} ")))
        .unwrap_or_else(|| panic!("no failing installation line: {stdout}"));
    assert!(line.contains("auth.test"), "{line}");
    assert!(
        !stdout.contains(bot.expose_secret()),
        "the token is not printed"
    );
}

#[tokio::test]
async fn lobby_check_reports_a_bad_configuration_like_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = lobby_command(dir.path())
        .env("LOBBY_SHUTDOWN_GRACE", "forever")
        .arg("check")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("LOBBY_SHUTDOWN_GRACE"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn lobby_check_says_when_slack_cannot_verify_the_request_url() {
    let app = app_with_admin_api(vec![]).await;
    // Another signing secret than the running server's: Slack's challenge would be refused.
    let mut command = with_emulator(lobby_command(&app.data_dir), &app.emulator);
    command
        .env("LOBBY_PUBLIC_URL", &app.address)
        .env("SLACK_SIGNING_SECRET", "not-the-servers-secret")
        .arg("check");
    let out = tokio::process::Command::from(command)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("events:"))
        .unwrap_or_else(|| panic!("no events line: {stdout}"));
    assert!(line.starts_with("FAIL"), "{line}");
    assert!(line.contains("signing secret"), "{line}");
}

#[tokio::test]
async fn a_backup_taken_during_signups_is_whole_and_holds_every_committed_request() {
    if crate::helpers::on_postgres() {
        // `lobby backup` copies the SQLite file; on PostgreSQL it points to pg_dump (tests/api/db_copy.rs).
        return;
    }
    let app = Arc::new(app_with_admin_api(vec![]).await);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut signups = tokio::task::JoinSet::new();
    for stream in 0..4 {
        let app = app.clone();
        let acknowledged = acknowledged.clone();
        signups.spawn(async move {
            for i in 0..25 {
                let email = format!("backup-{stream}-{i}@example.org");
                let ip = format!("198.51.{}.{}", 100 + stream, 1 + i);
                let res = sign_up_at(&app.address, &app.data_dir, &email, &ip).await;
                assert_eq!(res.status(), 200, "{email}");
                acknowledged.lock().unwrap().push(email);
            }
        });
    }
    crate::helpers::eventually("twenty signups to be acknowledged", || async {
        (acknowledged.lock().unwrap().len() >= 20).then_some(())
    })
    .await;
    let committed_before: Vec<String> = acknowledged.lock().unwrap().clone();
    let file = app.data_dir.join("backup.db");
    let out = tokio::process::Command::from(lobby_command(&app.data_dir))
        .arg("backup")
        .arg(&file)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&file.display().to_string()), "{stdout}");
    assert!(
        stdout.contains("master key is not in the backup"),
        "{stdout}"
    );
    assert!(
        acknowledged.lock().unwrap().len() < 100,
        "the backup ran while signups were still coming in"
    );
    while let Some(done) = signups.join_next().await {
        done.unwrap();
    }

    let mut copy = lobby::db::backup::open_copy(&file).await.unwrap();
    assert_eq!(
        lobby::db::backup::integrity_check(&mut copy).await.unwrap(),
        "ok"
    );
    let emails: HashSet<String> = sqlx::query_scalar("SELECT email FROM invite_requests")
        .fetch_all(&mut copy)
        .await
        .unwrap()
        .into_iter()
        .collect();
    for email in &committed_before {
        assert!(emails.contains(email), "{email} is missing from the backup");
    }
    let without_job: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invite_requests r WHERE NOT EXISTS (
             SELECT 1 FROM jobs j WHERE j.kind = 'invite.deliver'
             AND json_extract(j.payload, '$.request_id') = r.id)",
    )
    .fetch_one(&mut copy)
    .await
    .unwrap();
    assert_eq!(
        without_job, 0,
        "each request is there with its delivery job"
    );

    let again = tokio::process::Command::from(lobby_command(&app.data_dir))
        .arg("backup")
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing backup is not overwritten"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}

/// A strict reader of the OpenMetrics text Prometheus scrapes: every line must be well formed,
/// every sample must belong to a declared family, and histograms must add up.
mod exposition {
    use std::collections::HashMap;

    /// The samples, keyed `name{label="value",...}` with labels sorted by name.
    pub fn parse(text: &str) -> Result<HashMap<String, f64>, String> {
        let body = text
            .strip_suffix("# EOF\n")
            .ok_or("the exposition does not end with # EOF")?;
        let mut types: HashMap<String, String> = HashMap::new();
        let mut current: Option<String> = None;
        let mut samples = HashMap::new();
        for (n, line) in body.lines().enumerate() {
            let fail = |why: &str| format!("line {}: {why}: {line:?}", n + 1);
            if let Some(comment) = line.strip_prefix("# ") {
                let mut parts = comment.splitn(3, ' ');
                let (kind, name, rest) = (parts.next(), parts.next(), parts.next());
                let name = name
                    .filter(|n| is_name(n))
                    .ok_or_else(|| fail("bad name"))?;
                match (kind, rest) {
                    (Some("TYPE"), Some(t)) => {
                        let known = [
                            "counter",
                            "gauge",
                            "histogram",
                            "info",
                            "stateset",
                            "unknown",
                        ];
                        if !known.contains(&t) {
                            return Err(fail("unknown type"));
                        }
                        if types.insert(name.to_owned(), t.to_owned()).is_some() {
                            return Err(fail("family declared twice"));
                        }
                        current = Some(name.to_owned());
                    }
                    (Some("HELP" | "UNIT"), Some(_)) => {}
                    _ => return Err(fail("unknown comment")),
                }
                continue;
            }
            let (series, value) = line.rsplit_once(' ').ok_or_else(|| fail("no value"))?;
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse::<f64>().map_err(|_| fail("bad value"))?,
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (
                    name,
                    parse_labels(
                        rest.strip_suffix('}')
                            .ok_or_else(|| fail("unclosed labels"))?,
                    )
                    .map_err(|e| fail(&e))?,
                ),
                None => (series, Vec::new()),
            };
            let family = current
                .as_deref()
                .ok_or_else(|| fail("sample before any TYPE"))?;
            let suffixes: &[&str] = match types[family].as_str() {
                "counter" => &["_total", "_created"],
                "histogram" => &["_bucket", "_sum", "_count", "_created"],
                "info" => &["_info"],
                _ => &[""],
            };
            let suffix = name
                .strip_prefix(family)
                .filter(|s| suffixes.contains(s))
                .ok_or_else(|| fail("sample outside its family"))?;
            if suffix == "_bucket" && !labels.iter().any(|(k, _)| k == "le") {
                return Err(fail("bucket without le"));
            }
            let key = series_key(name, labels);
            if samples.insert(key, value).is_some() {
                return Err(fail("duplicate series"));
            }
        }
        check_histograms(&types, &samples)?;
        Ok(samples)
    }

    fn is_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    fn parse_labels(mut rest: &str) -> Result<Vec<(String, String)>, String> {
        let mut labels = Vec::new();
        while !rest.is_empty() {
            let (name, after) = rest.split_once("=\"").ok_or("a label without =\"")?;
            if !is_name(name) || name.contains(':') {
                return Err(format!("bad label name {name:?}"));
            }
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => return Err(format!("bad escape \\{other}")),
                    },
                    (_, '\n') => return Err("newline in a label value".into()),
                    (_, c) => value.push(c),
                }
            };
            labels.push((name.to_owned(), value));
            rest = &after[end + 1..];
            rest = match rest.strip_prefix(',') {
                Some(more) if !more.is_empty() => more,
                Some(_) => return Err("trailing comma".into()),
                None if rest.is_empty() => rest,
                None => return Err(format!("junk after a label: {rest:?}")),
            };
        }
        Ok(labels)
    }

    fn series_key(name: &str, mut labels: Vec<(String, String)>) -> String {
        if labels.is_empty() {
            return name.to_owned();
        }
        labels.sort();
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        format!("{name}{{{}}}", labels.join(","))
    }

    /// Buckets only grow with `le`, and the `+Inf` bucket is the count.
    fn check_histograms(
        types: &HashMap<String, String>,
        samples: &HashMap<String, f64>,
    ) -> Result<(), String> {
        for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
            let prefix = format!("{family}_count");
            for (count_key, count) in samples.iter().filter(|(k, _)| k.starts_with(&prefix)) {
                let labels = &count_key[prefix.len()..];
                let inner = labels.trim_start_matches('{').trim_end_matches('}');
                let mut buckets: Vec<(f64, f64)> = samples
                    .iter()
                    .filter_map(|(k, v)| {
                        let rest = k.strip_prefix(&format!("{family}_bucket{{"))?;
                        let rest = rest.strip_suffix('}')?;
                        let mut le = None;
                        let others: Vec<&str> = rest
                            .split(',')
                            .filter(|part| match part.strip_prefix("le=") {
                                Some(v) => {
                                    le = Some(v.trim_matches('"').to_owned());
                                    false
                                }
                                None => true,
                            })
                            .collect();
                        (others.join(",") == inner).then_some(())?;
                        let le = match le?.as_str() {
                            "+Inf" => f64::INFINITY,
                            v => v.parse().ok()?,
                        };
                        Some((le, *v))
                    })
                    .collect();
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                if buckets.windows(2).any(|w| w[1].1 < w[0].1) {
                    return Err(format!("{count_key}: buckets shrink"));
                }
                if buckets.last() != Some(&(f64::INFINITY, *count)) {
                    return Err(format!("{count_key}: the +Inf bucket is not the count"));
                }
            }
        }
        Ok(())
    }

    #[test]
    fn the_reader_refuses_what_prometheus_would() {
        let good = "# TYPE a counter\na_total{x=\"1\"} 2\n# EOF\n";
        assert_eq!(parse(good).unwrap()["a_total{x=\"1\"}"], 2.0);
        for bad in [
            "# TYPE a counter\na_total 1\n",
            "a_total 1\n# EOF\n",
            "# TYPE a counter\nb_total 1\n# EOF\n",
            "# TYPE a counter\na_total{x=\"1} 1\n# EOF\n",
            "# TYPE a gauge\na{x=\"\\q\"} 1\n# EOF\n",
            "# TYPE a gauge\na one\n# EOF\n",
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n# EOF\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

#[tokio::test]
async fn the_cli_refuses_community_settings_the_dashboard_refuses() {
    let app = app_with_admin_api(vec![]).await;
    let community_set = |args: &[&str]| {
        let mut command = with_emulator(lobby_command(&app.data_dir), &app.emulator);
        command
            .env("LOBBY_PUBLIC_URL", &app.address)
            .args(["community", "set", "demo-community"])
            .args(args);
        tokio::process::Command::from(command).output()
    };
    for (args, problem) in [
        (&["--allowed-domains", "foo bar"][..], "foo bar"),
        (
            &["--captcha", "turnstile", "--captcha-site-key", "site"][..],
            "secret key",
        ),
        (&["--channels", "general"][..], "not a channel id"),
    ] {
        let out = community_set(args).await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(problem), "{args:?}: {stderr}");
    }
    let community = lobby::db::communities::by_slug(app.db(), "demo-community")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(community.allowed_domains, "", "nothing was saved");
    assert_eq!(community.captcha_provider, None);
    let res =
        crate::helpers::sign_up_at(&app.address, &app.data_dir, "ok@example.org", "203.0.113.9")
            .await;
    assert_eq!(res.status(), 200, "signups still work");
}
