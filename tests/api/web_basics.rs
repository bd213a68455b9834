//! Pages, health checks and the headers every response carries.

use crate::helpers::spawn_app;

fn assert_security_headers(res: &reqwest::Response) {
    let h = res.headers();
    let csp = h
        .get("content-security-policy")
        .expect("CSP is set")
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    assert!(h.get("referrer-policy").is_some());
    assert!(h.get("x-request-id").is_some());
}

#[tokio::test]
async fn a_404_is_a_page_with_the_security_headers() {
    let app = spawn_app().await;
    let res = app.get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    assert_security_headers(&res);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = res.text().await.unwrap();
    assert!(body.contains("Page not found"));
    assert!(body.contains(&request_id), "the page shows the request id");
}

#[tokio::test]
async fn errors_under_api_paths_are_json() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/slack/events"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_security_headers(&res);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["ok"], false);
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn the_landing_page_offers_add_to_slack() {
    let app = spawn_app().await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert_security_headers(&res);
    let body = res.text().await.unwrap();
    assert!(body.contains("href=\"/slack/install\""));
    assert!(
        !body.contains("Demo mode"),
        "not demo mode when credentials are set"
    );
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], true);
    assert_eq!(body["key_id"].as_str().unwrap().len(), 8);
    let rows: i64 = lobby::on_conn!(app.db(), |conn| sqlx::query_scalar(
        "SELECT COUNT(*) FROM events_seen"
    )
    .fetch_one(conn)
    .await)
    .unwrap();
    assert_eq!(rows, 0, "the readiness probe's row was rolled back");
}

#[tokio::test]
async fn readiness_answers_503_while_the_database_refuses_writes() {
    if crate::helpers::on_postgres() {
        // The refusing trigger is written in SQLite's dialect.
        return;
    }
    let app = spawn_app().await;
    // Another process makes every write to a real table fail, as a full disk would.
    let other = crate::helpers::open_db(&app.data_dir).await;
    sqlx::query(
        "CREATE TRIGGER refuse_writes BEFORE INSERT ON events_seen \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    .execute(other.as_sqlite().unwrap())
    .await
    .unwrap();

    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], false);
    assert_eq!(app.get("/healthz").await.status(), 200, "still alive");

    sqlx::query("DROP TRIGGER refuse_writes")
        .execute(other.as_sqlite().unwrap())
        .await
        .unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200, "ready again");
}

#[tokio::test]
async fn static_files_are_served() {
    let app = spawn_app().await;
    let res = app.get("/static/style.css").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    // Sent byte for byte: an HTTP client would resolve the dots (even %2e%2e) before sending.
    for path in [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2E%2E/%2e%2e/wt-tests/Cargo.toml",
        "/static/..%2fCargo.toml",
        "/static/%2e%2e%2fCargo.toml",
        "/static/.%2e/src/main.rs",
        "/static/%2e%2e%5cCargo.toml",
    ] {
        let (status, body) = raw_get(&app.address, path).await;
        assert!((400..500).contains(&status), "{path} answered {status}");
        assert!(
            !body.contains("[package]") && !body.contains("fn main"),
            "{path} served a file from outside static/"
        );
    }
}

/// A GET with `path` exactly as given on the request line; returns the status and the body.
async fn raw_get(address: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    (status, response)
}

#[tokio::test]
async fn hsts_is_sent_only_on_https() {
    let app = crate::helpers::spawn_app_with(crate::helpers::AppOptions {
        env: vec![("LOBBY_PUBLIC_URL", "https://lobby.example.org".into())],
        ..Default::default()
    })
    .await;
    let res = app.get("/").await;
    assert!(res.headers().get("strict-transport-security").is_some());
    let plain = spawn_app().await;
    assert!(
        plain
            .get("/")
            .await
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
}

#[tokio::test]
async fn a_refused_request_is_logged_by_its_category_not_its_text() {
    let app = crate::helpers::spawn_app().await;
    let marker = "refusedMarker7f3a";
    let res = app.get(&format!("/slack/install?team={marker}")).await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text().await.unwrap().contains(marker),
        "the person sees what was wrong"
    );
    assert!(
        !crate::helpers::captured_logs().contains(marker),
        "the log does not repeat it"
    );
}

#[tokio::test]
async fn each_test_reads_only_its_own_servers_logs() {
    let app = spawn_app().await;
    let res = app.get("/healthz").await;
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        crate::helpers::captured_logs().contains(&request_id),
        "this test's request is in its log"
    );

    // Another test, on its own thread, with its own server.
    let (other_id, other_logs) = std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let other = spawn_app().await;
                let res = other.get("/healthz").await;
                let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
                (id, crate::helpers::captured_logs())
            })
    })
    .join()
    .unwrap();

    assert!(
        other_logs.contains(&other_id),
        "the other test has its own log"
    );
    assert!(
        !other_logs.contains(&request_id),
        "and none of this test's lines"
    );
    assert!(!crate::helpers::captured_logs().contains(&other_id));
}
