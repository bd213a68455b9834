//! The Slack Web API transport: one pooled HTTP client and Slack's calling conventions.
//!
//! Every call is a POST to `{base}{method}` with the token in a header, never in the URL. The
//! answer is read the way Slack means it: 429 is a rate limit, other non-2xx statuses are
//! failures, and a 200 is only a success when its JSON body says `"ok": true`.

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, redirect};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::metrics::Metrics;

/// What Slack is told is calling it.
const USER_AGENT: &str = concat!("lobby/", env!("CARGO_PKG_VERSION"));

/// Slack's header listing the scopes a token holds.
const SCOPES_HEADER: &str = "x-oauth-scopes";

/// How long to wait after a rate limit when Slack's `Retry-After` is missing or unreadable.
pub(crate) const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Slack's error codes that mean the token itself is no longer any good.
const AUTH_FAILURE_CODES: [&str; 5] = [
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_authed",
];

/// A client for Slack's Web API. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct SlackClient {
    http: reqwest::Client,
    base: Url,
    /// Where calls are counted, when the client belongs to a server (see [`SlackClient::with_metrics`]).
    metrics: Option<Metrics>,
}

/// How a call proves who is calling.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <token>`, for bot, user and legacy tokens.
    Bearer(&'a SecretString),
    /// HTTP Basic with the app's credentials, for the OAuth token exchanges.
    Basic {
        client_id: &'a str,
        client_secret: &'a SecretString,
    },
}

/// A call's arguments.
#[derive(Clone, Copy)]
pub enum Body<'a> {
    /// `application/x-www-form-urlencoded`, which every Web API method accepts.
    Form(&'a [(&'a str, &'a str)]),
    /// `application/json; charset=utf-8`, for methods with structured arguments such as
    /// `chat.postMessage`.
    Json(&'a serde_json::Value),
}

/// A successful answer: the decoded body and what Slack said alongside it.
#[derive(Debug)]
pub struct Answer<T> {
    pub body: T,
    /// The `x-oauth-scopes` header: the scopes the calling token holds, comma-separated.
    pub scopes: Option<String>,
    /// Slack's `warning` field (e.g. `missing_charset`, `already_in_channel`).
    pub warning: Option<String>,
}

/// Why a call did not succeed. Messages name the method and the reason, never a credential.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("Slack refused {method}: {code}{}", needed_suffix(.needed.as_deref()))]
    Api {
        method: String,
        code: String,
        needed: Option<String>,
        provided: Option<String>,
    },
    #[error("Slack rate-limited {method}; retry after {} s", .retry_after.as_secs())]
    RateLimited {
        method: String,
        retry_after: Duration,
    },
    #[error("Slack answered {method} with HTTP {status}")]
    Status { method: String, status: u16 },
    #[error("Slack did not answer {method} in time")]
    Timeout { method: String },
    #[error("could not reach Slack for {method}: {message}")]
    Transport { method: String, message: String },
    #[error("Slack's answer to {method} was not understood: {message}")]
    Decode { method: String, message: String },
    #[error("Slack client configuration: {0}")]
    Config(String),
}

fn needed_suffix(needed: Option<&str>) -> String {
    needed
        .map(|scope| format!(" (needs {scope})"))
        .unwrap_or_default()
}

impl SlackError {
    /// Slack's error code: the `error` of an `ok: false` answer, or `ratelimited`.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            Self::RateLimited { .. } => Some("ratelimited"),
            _ => None,
        }
    }

    /// The token is dead (revoked, expired, deactivated): retrying will not help, the
    /// installation needs attention.
    pub fn is_auth_failure(&self) -> bool {
        self.code()
            .is_some_and(|code| AUTH_FAILURE_CODES.contains(&code))
    }

    /// The same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Status { status, .. } => *status >= 500,
            Self::Api { .. } | Self::Decode { .. } | Self::Config(_) => false,
        }
    }

    /// How long Slack asked us to wait, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

impl SlackClient {
    /// A client for the Web API at `base` (e.g. `https://slack.com/api/`), with `timeout`
    /// bounding both connecting and each whole call. Redirects are never followed, so a
    /// credential is never replayed to another host.
    pub fn new(base: Url, timeout: Duration) -> Result<Self, SlackError> {
        let base = normalize_base(base)?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .redirect(redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|err| SlackError::Config(format!("cannot build the HTTP client: {err}")))?;
        Ok(Self {
            http,
            base,
            metrics: None,
        })
    }

    /// Counts every call (by method and outcome) and every rate-limit wait into `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The Web API base URL, always ending with `/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The underlying HTTP client, for other calls to Slack (response URLs, file uploads)
    /// that should share the pool, timeouts and redirect policy.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Calls the Web API method `method` and decodes a successful answer into `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        auth: Auth<'_>,
        body: Body<'_>,
    ) -> Result<Answer<T>, SlackError> {
        self.observed(method, self.exchange(method, auth, body))
            .await
    }

    /// Runs one call to Slack (a Web API method, or an OAuth exchange made through `oauth2`)
    /// in its span, with its log line and metrics.
    pub(crate) async fn observed<T>(
        &self,
        method: &str,
        call: impl Future<Output = Result<T, SlackError>>,
    ) -> Result<T, SlackError> {
        let span = tracing::info_span!("slack_call", method, status = tracing::field::Empty);
        async {
            let started = Instant::now();
            let result = call.await;
            log_outcome(method, &result, started.elapsed());
            if let Some(metrics) = &self.metrics {
                count_outcome(metrics, method, &result);
            }
            result
        }
        .instrument(span)
        .await
    }

    /// Sends the request, reads the whole answer and interprets it.
    async fn exchange<T: DeserializeOwned>(
        &self,
        method: &str,
        auth: Auth<'_>,
        body: Body<'_>,
    ) -> Result<Answer<T>, SlackError> {
        let url = self
            .base
            .join(method)
            .map_err(|err| SlackError::Config(format!("bad method name {method:?}: {err}")))?;
        let mut request = self.http.post(url);
        request = match auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token.expose_secret()),
            Auth::Basic {
                client_id,
                client_secret,
            } => request.basic_auth(client_id, Some(client_secret.expose_secret())),
        };
        request = match body {
            Body::Form(fields) => request.form(fields),
            Body::Json(value) => request
                .header(CONTENT_TYPE, "application/json; charset=utf-8")
                .body(value.to_string()),
        };
        let response = request
            .send()
            .await
            .map_err(|err| transport_error(method, err))?;
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| transport_error(method, err))?;
        interpret(method, status, &headers, &bytes)
    }
}

/// Appends the `/` that `Url::join` needs to keep the base's last path segment.
fn normalize_base(mut base: Url) -> Result<Url, SlackError> {
    // The URL is not echoed back: a mistyped one might carry credentials.
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(SlackError::Config(
            "the Slack API URL must be an http(s) URL".to_owned(),
        ));
    }
    if base.password().is_some() || base.query().is_some() || base.fragment().is_some() {
        return Err(SlackError::Config(
            "the Slack API URL must not carry credentials, a query or a fragment".to_owned(),
        ));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// A failed request as a `SlackError`, with reqwest's cause chain but never the URL (an upload
/// URL is a credential; an API URL says nothing the method does not).
pub(crate) fn transport_error(method: &str, err: reqwest::Error) -> SlackError {
    let method = method.to_owned();
    if err.is_timeout() {
        return SlackError::Timeout { method };
    }
    let err = err.without_url();
    let mut message = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    SlackError::Transport { method, message }
}

/// The fields every Web API answer shares.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    ok: bool,
    error: Option<String>,
    needed: Option<String>,
    provided: Option<String>,
    warning: Option<String>,
}

/// Turns a raw answer into a result, following Slack's conventions.
fn interpret<T: DeserializeOwned>(
    method: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Answer<T>, SlackError> {
    let method = method.to_owned();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = retry_after(headers);
        return Err(SlackError::RateLimited {
            method,
            retry_after,
        });
    }
    if !status.is_success() {
        return Err(SlackError::Status {
            method,
            status: status.as_u16(),
        });
    }
    let envelope: Envelope = serde_json::from_slice(body).map_err(|err| SlackError::Decode {
        method: method.clone(),
        message: describe_decode_error(&err),
    })?;
    if !envelope.ok {
        let code = envelope.error.unwrap_or_else(|| "unknown_error".to_owned());
        if code == "ratelimited" {
            let retry_after = retry_after(headers);
            return Err(SlackError::RateLimited {
                method,
                retry_after,
            });
        }
        return Err(SlackError::Api {
            method,
            code,
            needed: envelope.needed,
            provided: envelope.provided,
        });
    }
    let body = serde_json::from_slice(body).map_err(|err| SlackError::Decode {
        method,
        message: describe_decode_error(&err),
    })?;
    let scopes = headers
        .get(SCOPES_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok(Answer {
        body,
        scopes,
        warning: envelope.warning,
    })
}

/// Slack's `Retry-After` is a whole number of seconds.
fn retry_after(headers: &HeaderMap) -> Duration {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs)
}

/// Describes a decoding failure without repeating the values it choked on, which may be
/// tokens.
fn describe_decode_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Io | Category::Eof => "the answer ended early".to_owned(),
        Category::Syntax => format!("not JSON (line {}, column {})", err.line(), err.column()),
        Category::Data => redact_quoted(&err.to_string()),
    }
}

/// Replaces the contents of every double-quoted string in `message` with `…`. serde quotes
/// the offending input value this way (`invalid type: string "…", expected u64`).
fn redact_quoted(message: &str) -> String {
    let mut redacted = String::with_capacity(message.len());
    let mut in_quotes = false;
    let mut escaped = false;
    for c in message.chars() {
        if !in_quotes {
            redacted.push(c);
            in_quotes = c == '"';
        } else if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            redacted.push_str("…\"");
            in_quotes = false;
        }
    }
    if in_quotes {
        redacted.push('…');
    }
    redacted
}

/// One debug line per call (the span adds the HTTP status): enough to follow Slack traffic,
/// nothing from the arguments.
fn log_outcome<T>(method: &str, result: &Result<T, SlackError>, elapsed: Duration) {
    match result {
        Ok(_) => tracing::debug!(method, ok = true, ?elapsed, "slack call succeeded"),
        Err(err) => tracing::debug!(
            method,
            ok = false,
            code = err.code(),
            error = %err,
            ?elapsed,
            "slack call failed"
        ),
    }
}

/// Metrics: every call by method and outcome code, and the waits Slack asked for.
fn count_outcome<T>(metrics: &Metrics, method: &str, result: &Result<T, SlackError>) {
    let err = match result {
        Ok(_) => return metrics.slack_call(method, "ok"),
        Err(err) => err,
    };
    if let Some(retry_after) = err.retry_after() {
        metrics.rate_limited(method, retry_after);
    }
    match err {
        SlackError::Api { code, .. } => metrics.slack_call(method, code),
        SlackError::RateLimited { .. } => metrics.slack_call(method, "ratelimited"),
        SlackError::Status { status, .. } => metrics.slack_call(method, &format!("http_{status}")),
        SlackError::Timeout { .. } => metrics.slack_call(method, "timeout"),
        SlackError::Transport { .. } => metrics.slack_call(method, "unreachable"),
        SlackError::Decode { .. } => metrics.slack_call(method, "bad_answer"),
        SlackError::Config(_) => metrics.slack_call(method, "bad_request"),
    }
}

/// A throwaway Slack on `127.0.0.1:0` for unit tests: it records every request and answers
/// each with whatever the test's closure returns.
#[cfg(test)]
pub(crate) mod fake_slack {
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use actix_web::dev::ServerHandle;
    use actix_web::http::StatusCode;
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use url::Url;

    /// A request as the fake received it.
    #[derive(Clone, Debug)]
    pub(crate) struct Seen {
        pub path: String,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Seen {
        pub(crate) fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        }

        /// The form fields of a urlencoded body.
        pub(crate) fn form(&self) -> Vec<(String, String)> {
            serde_urlencoded::from_str(&self.body).unwrap_or_default()
        }

        pub(crate) fn field(&self, name: &str) -> Option<String> {
            self.form()
                .into_iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
        }
    }

    /// What the fake answers.
    pub(crate) struct Reply {
        pub status: u16,
        pub headers: Vec<(&'static str, String)>,
        pub body: String,
        pub delay: Duration,
    }

    impl Reply {
        pub(crate) fn json(body: serde_json::Value) -> Self {
            Self {
                status: 200,
                headers: Vec::new(),
                body: body.to_string(),
                delay: Duration::ZERO,
            }
        }

        pub(crate) fn status(status: u16) -> Self {
            Self {
                status,
                headers: Vec::new(),
                body: String::new(),
                delay: Duration::ZERO,
            }
        }

        pub(crate) fn with_header(mut self, name: &'static str, value: &str) -> Self {
            self.headers.push((name, value.to_owned()));
            self
        }

        pub(crate) fn after(mut self, delay: Duration) -> Self {
            self.delay = delay;
            self
        }
    }

    type Responder = dyn Fn(&Seen) -> Reply + Send + Sync;

    struct State {
        seen: Mutex<Vec<Seen>>,
        respond: Box<Responder>,
    }

    pub(crate) struct FakeSlack {
        pub base: Url,
        state: Arc<State>,
        handle: ServerHandle,
    }

    impl FakeSlack {
        pub(crate) fn start(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
            let state = Arc::new(State {
                seen: Mutex::new(Vec::new()),
                respond: Box::new(respond),
            });
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
            let port = listener.local_addr().expect("local address").port();
            let data = web::Data::from(Arc::clone(&state));
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .default_service(web::to(answer))
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(0)
            .listen(listener)
            .expect("listen")
            .run();
            let handle = server.handle();
            tokio::spawn(server);
            let base = Url::parse(&format!("http://127.0.0.1:{port}/api/")).expect("base URL");
            Self {
                base,
                state,
                handle,
            }
        }

        pub(crate) fn seen(&self) -> Vec<Seen> {
            self.state
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        }

        /// The one request the fake received.
        pub(crate) fn only(&self) -> Seen {
            let seen = self.seen();
            assert_eq!(seen.len(), 1, "expected exactly one request, got {seen:?}");
            seen.into_iter().next().expect("one request")
        }
    }

    impl Drop for FakeSlack {
        fn drop(&mut self) {
            // Sending the stop command happens here; nobody needs to await the shutdown.
            drop(self.handle.stop(false));
        }
    }

    async fn answer(
        request: HttpRequest,
        body: web::Bytes,
        state: web::Data<State>,
    ) -> HttpResponse {
        let seen = Seen {
            path: request.path().to_owned(),
            headers: request
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        value.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let reply = (state.respond)(&seen);
        state
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen);
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        let status = StatusCode::from_u16(reply.status).expect("valid status");
        let mut response = HttpResponse::build(status);
        for (name, value) in reply.headers {
            response.insert_header((name, value));
        }
        response.content_type("application/json").body(reply.body)
    }
}

#[cfg(test)]
mod tests {
    use super::fake_slack::{FakeSlack, Reply};
    use super::*;
    use serde_json::{Value, json};

    const TOKEN: &str = "xoxb-1111-2222-very-secret";

    fn token() -> SecretString {
        SecretString::from(TOKEN)
    }

    /// A client with the server's own timeout: no test depends on how fast this machine is.
    fn client(fake: &FakeSlack) -> SlackClient {
        SlackClient::new(fake.base.clone(), crate::startup::SLACK_TIMEOUT).expect("client")
    }

    async fn call_value(client: &SlackClient, auth: Auth<'_>) -> Result<Answer<Value>, SlackError> {
        client
            .call("auth.test", auth, Body::Form(&[("a", "b")]))
            .await
    }

    #[test]
    fn base_gains_a_trailing_slash_so_methods_join_under_it() {
        let base = Url::parse("http://localhost:9000/_emulator/slack/api").expect("url");
        let client = SlackClient::new(base, Duration::from_secs(1)).expect("client");
        assert_eq!(
            client.base().as_str(),
            "http://localhost:9000/_emulator/slack/api/"
        );
        assert_eq!(
            client
                .base()
                .join("chat.postMessage")
                .expect("join")
                .as_str(),
            "http://localhost:9000/_emulator/slack/api/chat.postMessage"
        );
    }

    #[test]
    fn non_http_base_is_a_configuration_error() {
        let base = Url::parse("mailto:ops@example.com").expect("url");
        let err = SlackClient::new(base, Duration::from_secs(1)).expect_err("refused");
        assert!(matches!(err, SlackError::Config(_)), "{err:?}");
    }

    #[test]
    fn base_with_credentials_is_refused_without_echoing_them() {
        let base = Url::parse("https://user:hunter2@slack.example/api/").expect("url");
        let err = SlackClient::new(base, Duration::from_secs(1)).expect_err("refused");
        assert!(matches!(err, SlackError::Config(_)), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn ok_false_becomes_api_error_with_code_and_needed_scope() {
        let fake = FakeSlack::start(|_| {
            Reply::json(json!({
                "ok": false, "error": "missing_scope", "needed": "chat:write", "provided": "users:read"
            }))
        });
        let err = call_value(&client(&fake), Auth::Bearer(&token()))
            .await
            .expect_err("refused");
        match &err {
            SlackError::Api {
                method,
                code,
                needed,
                provided,
            } => {
                assert_eq!(method, "auth.test");
                assert_eq!(code, "missing_scope");
                assert_eq!(needed.as_deref(), Some("chat:write"));
                assert_eq!(provided.as_deref(), Some("users:read"));
            }
            other => panic!("expected Api, got {other:?}"),
        }
        assert_eq!(err.code(), Some("missing_scope"));
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            "Slack refused auth.test: missing_scope (needs chat:write)"
        );
    }

    #[tokio::test]
    async fn revoked_token_is_an_auth_failure() {
        let fake =
            FakeSlack::start(|_| Reply::json(json!({"ok": false, "error": "token_revoked"})));
        let err = call_value(&client(&fake), Auth::Bearer(&token()))
            .await
            .expect_err("refused");
        assert!(err.is_auth_failure());
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn http_429_is_rate_limited_for_retry_after_seconds() {
        let fake = FakeSlack::start(|_| Reply::status(429).with_header("retry-after", "7"));
        let err = call_value(&client(&fake), Auth::Bearer(&token()))
            .await
            .expect_err("limited");
        assert!(matches!(err, SlackError::RateLimited { .. }), "{err:?}");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(err.code(), Some("ratelimited"));
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn http_429_without_retry_after_waits_a_minute() {
        let fake = FakeSlack::start(|_| Reply::status(429).with_header("retry-after", "soon"));
        let err = call_value(&client(&fake), Auth::None)
            .await
            .expect_err("limited");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    }

    #[tokio::test]
    async fn ok_false_ratelimited_is_rate_limited_too() {
        let fake = FakeSlack::start(|_| {
            Reply::json(json!({"ok": false, "error": "ratelimited"}))
                .with_header("retry-after", "3")
        });
        let err = call_value(&client(&fake), Auth::None)
            .await
            .expect_err("limited");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    }

    #[tokio::test]
    async fn calls_are_counted_by_method_and_outcome_with_rate_limit_waits() {
        let replies = std::sync::Mutex::new(vec![
            Reply::json(json!({"ok": true})),
            Reply::json(json!({"ok": false, "error": "token_revoked"})),
            Reply::status(429).with_header("retry-after", "7"),
        ]);
        let fake = FakeSlack::start(move |_| replies.lock().expect("replies").remove(0));
        let metrics = Metrics::new();
        let client = client(&fake).with_metrics(metrics.clone());
        for _ in 0..3 {
            let _ = call_value(&client, Auth::Bearer(&token())).await;
        }
        let text = metrics.render(&crate::metrics::Snapshot::default());
        for line in [
            r#"lobby_slack_calls_total{method="auth.test",code="ok"} 1"#,
            r#"lobby_slack_calls_total{method="auth.test",code="token_revoked"} 1"#,
            r#"lobby_slack_calls_total{method="auth.test",code="ratelimited"} 1"#,
            r#"lobby_slack_rate_limit_waits_total{method="auth.test"} 1"#,
            r#"lobby_slack_rate_limit_wait_seconds_total{method="auth.test"} 7.0"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[tokio::test]
    async fn http_503_is_a_retryable_status_error() {
        let fake = FakeSlack::start(|_| Reply::status(503));
        let err = call_value(&client(&fake), Auth::None)
            .await
            .expect_err("failed");
        assert!(
            matches!(&err, SlackError::Status { status: 503, method } if method == "auth.test"),
            "{err:?}"
        );
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn slow_answer_times_out() {
        // Slack never answers within the test, so the short timeout always fires first.
        let fake = FakeSlack::start(|_| {
            Reply::json(json!({"ok": true})).after(Duration::from_secs(3_600))
        });
        let client =
            SlackClient::new(fake.base.clone(), Duration::from_millis(200)).expect("client");
        let err = call_value(&client, Auth::None)
            .await
            .expect_err("timed out");
        assert!(matches!(err, SlackError::Timeout { .. }), "{err:?}");
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn redirect_is_not_followed() {
        let fake = FakeSlack::start(|seen| {
            if seen.path.ends_with("auth.test") {
                Reply::status(302).with_header("location", "/api/elsewhere")
            } else {
                Reply::json(json!({"ok": true}))
            }
        });
        let err = call_value(&client(&fake), Auth::Bearer(&token()))
            .await
            .expect_err("not followed");
        assert!(
            matches!(err, SlackError::Status { status: 302, .. }),
            "{err:?}"
        );
        assert_eq!(fake.seen().len(), 1, "the redirect target was requested");
    }

    #[tokio::test]
    async fn bearer_token_goes_in_the_authorization_header_only() {
        let fake = FakeSlack::start(|_| Reply::json(json!({"ok": true})));
        call_value(&client(&fake), Auth::Bearer(&token()))
            .await
            .expect("ok");
        let seen = fake.only();
        assert_eq!(seen.path, "/api/auth.test");
        assert_eq!(
            seen.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(!seen.body.contains(TOKEN));
        assert_eq!(
            seen.header("user-agent"),
            Some(concat!("lobby/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(
            seen.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(seen.field("a").as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn basic_auth_carries_the_app_credentials() {
        let fake = FakeSlack::start(|_| Reply::json(json!({"ok": true})));
        let secret = SecretString::from("app-secret");
        let auth = Auth::Basic {
            client_id: "123.456",
            client_secret: &secret,
        };
        call_value(&client(&fake), auth).await.expect("ok");
        // base64("123.456:app-secret")
        assert_eq!(
            fake.only().header("authorization"),
            Some("Basic MTIzLjQ1NjphcHAtc2VjcmV0")
        );
    }

    #[tokio::test]
    async fn json_body_is_sent_as_utf8_json() {
        let fake = FakeSlack::start(|_| Reply::json(json!({"ok": true})));
        let message = json!({"channel": "C1", "text": "héllo"});
        client(&fake)
            .call::<Value>(
                "chat.postMessage",
                Auth::Bearer(&token()),
                Body::Json(&message),
            )
            .await
            .expect("ok");
        let seen = fake.only();
        assert_eq!(
            seen.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            serde_json::from_str::<Value>(&seen.body).expect("json"),
            message
        );
    }

    #[tokio::test]
    async fn scopes_header_and_warning_are_read() {
        let fake = FakeSlack::start(|_| {
            Reply::json(json!({"ok": true, "warning": "missing_charset", "user_id": "U1"}))
                .with_header("x-oauth-scopes", "chat:write,users:read")
        });
        let answer = call_value(&client(&fake), Auth::Bearer(&token()))
            .await
            .expect("ok");
        assert_eq!(answer.scopes.as_deref(), Some("chat:write,users:read"));
        assert_eq!(answer.warning.as_deref(), Some("missing_charset"));
        assert_eq!(answer.body["user_id"], "U1");
    }

    #[tokio::test]
    async fn answer_without_ok_is_an_api_error() {
        let fake = FakeSlack::start(|_| Reply::json(json!({"channel": "C1"})));
        let err = call_value(&client(&fake), Auth::None)
            .await
            .expect_err("refused");
        assert_eq!(err.code(), Some("unknown_error"));
    }

    #[tokio::test]
    async fn html_answer_is_a_decode_error() {
        let fake = FakeSlack::start(|_| Reply {
            body: "<html>maintenance</html>".to_owned(),
            ..Reply::status(200)
        });
        let err = call_value(&client(&fake), Auth::None)
            .await
            .expect_err("garbled");
        assert!(matches!(err, SlackError::Decode { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn decode_error_does_not_repeat_the_offending_value() {
        #[derive(Debug, Deserialize)]
        struct Expects {
            #[allow(dead_code)]
            expires_in: u64,
        }
        let fake = FakeSlack::start(|_| Reply::json(json!({"ok": true, "expires_in": TOKEN})));
        let err = client(&fake)
            .call::<Expects>("oauth.v2.access", Auth::None, Body::Form(&[]))
            .await
            .expect_err("wrong shape");
        let message = err.to_string();
        assert!(matches!(err, SlackError::Decode { .. }), "{err:?}");
        assert!(!message.contains(TOKEN), "{message}");
        assert!(message.contains("expected u64"), "{message}");
    }

    #[tokio::test]
    async fn unreachable_slack_is_a_retryable_transport_error() {
        // Nothing listens on loopback's discard port (a freed port could be taken by another test).
        let base = Url::parse("http://127.0.0.1:9/api/").expect("url");
        let client = SlackClient::new(base, crate::startup::SLACK_TIMEOUT).expect("client");
        let err = call_value(&client, Auth::Bearer(&token()))
            .await
            .expect_err("refused");
        assert!(matches!(err, SlackError::Transport { .. }), "{err:?}");
        assert!(err.is_retryable());
        assert!(!err.to_string().contains("127.0.0.1"), "{err}");
    }

    #[tokio::test]
    async fn error_messages_never_contain_the_token() {
        let replies = [
            Reply::json(json!({"ok": false, "error": "invalid_auth"})),
            Reply::status(429),
            Reply::status(500),
            Reply {
                body: TOKEN.to_owned(),
                ..Reply::status(200)
            },
        ];
        let replies = std::sync::Mutex::new(replies.into_iter());
        let fake = FakeSlack::start(move |_| {
            replies
                .lock()
                .expect("lock")
                .next()
                .unwrap_or_else(|| Reply::status(500))
        });
        let client = client(&fake);
        for _ in 0..4 {
            let err = call_value(&client, Auth::Bearer(&token()))
                .await
                .expect_err("fails");
            assert!(!err.to_string().contains(TOKEN), "{err}");
            assert!(!format!("{err:?}").contains(TOKEN), "{err:?}");
        }
    }

    #[test]
    fn redaction_hides_quoted_values_and_keeps_the_rest() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "xo\"xb", expected u64 at line 1 column 9"#),
            "invalid type: string \"…\", expected u64 at line 1 column 9"
        );
        assert_eq!(redact_quoted("missing field `ts`"), "missing field `ts`");
        assert_eq!(redact_quoted("cut \"short"), "cut \"…");
    }
}
