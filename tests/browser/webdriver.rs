//! Just enough of the W3C WebDriver protocol, over HTTP with reqwest, to drive chromedriver:
//! open a page, find elements by CSS, click, type, read, and take a screenshot.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// The key WebDriver names element references by.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Session {
    http: reqwest::Client,
    base: String,
}

pub struct Element<'a> {
    session: &'a Session,
    id: String,
}

impl Session {
    /// Starts headless Chromium through the chromedriver at `driver_url`.
    pub async fn start(driver_url: &str, chromium: &str, args: &[String]) -> Session {
        let http = reqwest::Client::new();
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": chromium, "args": args },
            }}
        });
        let answer: Value = http
            .post(format!("{driver_url}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a JSON answer");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_owned();
        Session {
            http,
            base: format!("{driver_url}/session/{id}"),
        }
    }

    /// Runs `script` in the page; `None` while the page is between documents.
    async fn script(&self, script: &str) -> Option<Value> {
        let answer: Value = self
            .http
            .post(format!("{}/execute/sync", self.base))
            .json(&json!({ "script": script, "args": [] }))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (!answer["value"]["error"].is_string()).then(|| answer["value"].clone())
    }

    /// Waits until the page marked by `mark_document` has been replaced by a loaded new one, so
    /// what is found next belongs to the new page (a click that submits a form returns before
    /// the browser has navigated).
    async fn wait_for_new_document(&self) {
        hang_guard("the page to change after a click", async {
            loop {
                let fresh = self
                    .script(
                        "return document.readyState === 'complete' && !window.__lobbyOldDocument;",
                    )
                    .await;
                if fresh == Some(Value::Bool(true)) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
    }

    /// Marks the current page, so [`Session::wait_for_new_document`] can tell it from the next.
    /// An unmarked page would look new at once, so a failed mark fails the test.
    async fn mark_document(&self) {
        let marked = self
            .script("window.__lobbyOldDocument = true; return window.__lobbyOldDocument;")
            .await;
        assert_eq!(
            marked,
            Some(Value::Bool(true)),
            "could not mark the page before a click"
        );
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let answer: Value = req
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a JSON answer");
        if answer["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element<'_> {
        let found = tokio::time::timeout(HANG_GUARD, async {
            loop {
                let answer: Value = self
                    .http
                    .post(format!("{}/element", self.base))
                    .json(&json!({ "using": "css selector", "value": css }))
                    .send()
                    .await
                    .expect("chromedriver answers")
                    .json()
                    .await
                    .expect("a JSON answer");
                if let Some(id) = answer["value"][ELEMENT_KEY].as_str() {
                    return id.to_owned();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        match found {
            Ok(id) => Element { session: self, id },
            Err(_) => panic!(
                "no element matches {css} on {}:\n{}",
                self.url().await,
                self.source().await
            ),
        }
    }

    /// The page as a PNG.
    pub async fn screenshot(&self) -> Vec<u8> {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        STANDARD
            .decode(data.as_str().expect("base64 PNG data"))
            .expect("valid base64")
    }

    /// Sets the window's size in CSS pixels (the layout viewport follows in headless Chromium).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Runs `script` in the page with `args` and returns what it returns.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Runs `script` in the page; it ends by calling its last argument with its result.
    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Moves into the frame `frame` (finding and clicking then happen in its page).
    pub async fn enter_frame(&self, frame: &Element<'_>) {
        self.call(
            reqwest::Method::POST,
            "/frame",
            Some(json!({ "id": { ELEMENT_KEY: frame.id } })),
        )
        .await;
    }

    /// Back to the top page from a frame.
    pub async fn leave_frames(&self) {
        self.call(reqwest::Method::POST, "/frame", Some(json!({ "id": null })))
            .await;
    }

    pub async fn quit(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

impl Element<'_> {
    fn path(&self, action: &str) -> String {
        format!("/element/{}/{action}", self.id)
    }

    pub async fn click(&self) {
        self.session
            .call(reqwest::Method::POST, &self.path("click"), Some(json!({})))
            .await;
    }

    /// Clicks something that leads to another page (a link, a submit button), and waits for it.
    pub async fn click_and_wait(&self) {
        self.session.mark_document().await;
        self.click().await;
        self.session.wait_for_new_document().await;
    }

    pub async fn type_text(&self, text: &str) {
        self.session
            .call(
                reqwest::Method::POST,
                &self.path("value"),
                Some(json!({ "text": text })),
            )
            .await;
    }

    pub async fn text(&self) -> String {
        self.session
            .call(reqwest::Method::GET, &self.path("text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// How long a wait may take before the test is taken to be hung: a guard against a test that
/// never ends, never a statement about speed.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Waits for `wait`, failing the test naming `what` if it seems hung.
pub async fn hang_guard<T>(what: &str, wait: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, wait).await {
        Ok(value) => value,
        Err(_) => panic!("gave up waiting for {what}: the test seems hung"),
    }
}
