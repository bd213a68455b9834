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
    assert_eq!(app.get("/static/../Cargo.toml").await.status(), 404);
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
