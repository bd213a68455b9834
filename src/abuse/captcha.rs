//! Server-side verification of a captcha answer (Cloudflare Turnstile or hCaptcha).
//!
//! Both services take the same form (`secret`, `response`, `remoteip`) and answer JSON with a
//! `success` flag. Verification fails closed: anything but a clear `"success": true` in a
//! 200 answer within the time limit refuses the signup, because a captcha that passes when
//! the service is down is no captcha.

use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// How long the captcha service gets to answer before the signup is refused.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptchaProvider {
    Turnstile,
    HCaptcha,
}

impl CaptchaProvider {
    /// The provider a community's setting names (`turnstile` or `hcaptcha`).
    pub fn parse(setting: &str) -> Option<Self> {
        match setting {
            "turnstile" => Some(Self::Turnstile),
            "hcaptcha" => Some(Self::HCaptcha),
            _ => None,
        }
    }

    /// Where the provider's widget loads from, for the join page's Content-Security-Policy.
    pub fn csp_sources(self) -> &'static str {
        match self {
            Self::Turnstile => " https://challenges.cloudflare.com",
            Self::HCaptcha => " https://hcaptcha.com https://*.hcaptcha.com",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Turnstile => "Turnstile",
            Self::HCaptcha => "hCaptcha",
        }
    }

    /// The provider's public verification endpoint (tests and the emulator use their own).
    pub fn default_verify_url(self) -> &'static str {
        match self {
            Self::Turnstile => "https://challenges.cloudflare.com/turnstile/v0/siteverify",
            Self::HCaptcha => "https://api.hcaptcha.com/siteverify",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("no captcha answer was sent")]
    EmptyResponse,
    #[error("the captcha service could not be reached")]
    Unreachable(#[source] reqwest::Error),
    #[error("the captcha service answered HTTP {0}")]
    Status(u16),
    #[error("the captcha service's answer was not understood")]
    BadAnswer(#[source] serde_json::Error),
    #[error("the captcha answer was refused ({})", error_codes.join(", "))]
    Refused { error_codes: Vec<String> },
}

impl CaptchaError {
    /// Whether the person should simply try the captcha again, as opposed to the service
    /// failing (which admins need to hear about).
    pub fn is_failed_challenge(&self) -> bool {
        matches!(self, Self::EmptyResponse | Self::Refused { .. })
    }
}

#[derive(Deserialize)]
struct SiteverifyAnswer {
    success: bool,
    #[serde(rename = "error-codes", default)]
    error_codes: Vec<String>,
}

/// Asks the captcha service whether `response` (the widget's token from the form) is a solved
/// challenge for our `secret`, from the client at `ip` if known.
pub async fn verify(
    http: &reqwest::Client,
    provider: CaptchaProvider,
    verify_url: &Url,
    secret: &SecretString,
    response: &str,
    ip: Option<IpAddr>,
) -> Result<(), CaptchaError> {
    verify_within(http, verify_url, secret, response, ip, VERIFY_TIMEOUT)
        .await
        .inspect_err(|error| {
            if !error.is_failed_challenge() {
                tracing::warn!(provider = provider.name(), error = %error, "captcha verification failed");
            }
        })
}

async fn verify_within(
    http: &reqwest::Client,
    verify_url: &Url,
    secret: &SecretString,
    response: &str,
    ip: Option<IpAddr>,
    timeout: Duration,
) -> Result<(), CaptchaError> {
    let response = response.trim();
    if response.is_empty() {
        return Err(CaptchaError::EmptyResponse);
    }
    let remote_ip = ip.map(|ip| ip.to_string());
    let mut form = vec![("secret", secret.expose_secret()), ("response", response)];
    if let Some(remote_ip) = &remote_ip {
        form.push(("remoteip", remote_ip));
    }
    let unreachable = |error: reqwest::Error| CaptchaError::Unreachable(error.without_url());
    let answer = http
        .post(verify_url.clone())
        .form(&form)
        .timeout(timeout)
        .send()
        .await
        .map_err(unreachable)?;
    if answer.status() != reqwest::StatusCode::OK {
        return Err(CaptchaError::Status(answer.status().as_u16()));
    }
    let body = answer.bytes().await.map_err(unreachable)?;
    // Through a map first: serde would also read a struct from a JSON array by position, and
    // `[true]` must not pass for a success.
    let answer = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body)
        .and_then(|object| serde_json::from_value::<SiteverifyAnswer>(object.into()))
        .map_err(CaptchaError::BadAnswer)?;
    if answer.success {
        Ok(())
    } else {
        Err(CaptchaError::Refused {
            error_codes: answer.error_codes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use actix_web::dev::ServerHandle;
    use actix_web::http::StatusCode;
    use actix_web::{App, HttpResponse, HttpServer, web};

    const SECRET: &str = "0x4AAAAAAA-very-secret";

    /// A throwaway siteverify endpoint on a local port that answers with `status` and `body`
    /// after `delay`, and remembers the forms it was sent.
    struct FakeSiteverify {
        url: Url,
        forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
        handle: ServerHandle,
    }

    impl FakeSiteverify {
        fn start(status: u16, body: &'static str, delay: Duration) -> Self {
            let forms = Arc::new(Mutex::new(Vec::new()));
            let seen = Arc::clone(&forms);
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = HttpServer::new(move || {
                let seen = Arc::clone(&seen);
                App::new().default_service(web::to(
                    move |form: web::Form<HashMap<String, String>>| {
                        seen.lock().unwrap().push(form.into_inner());
                        async move {
                            tokio::time::sleep(delay).await;
                            HttpResponse::build(StatusCode::from_u16(status).unwrap())
                                .content_type("application/json")
                                .body(body)
                        }
                    },
                ))
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(0)
            .listen(listener)
            .unwrap()
            .run();
            let handle = server.handle();
            tokio::spawn(server);
            Self {
                url: Url::parse(&format!("http://127.0.0.1:{port}/siteverify")).unwrap(),
                forms,
                handle,
            }
        }

        fn answering(status: u16, body: &'static str) -> Self {
            Self::start(status, body, Duration::ZERO)
        }

        fn forms(&self) -> Vec<HashMap<String, String>> {
            self.forms.lock().unwrap().clone()
        }
    }

    impl Drop for FakeSiteverify {
        fn drop(&mut self) {
            drop(self.handle.stop(false));
        }
    }

    async fn check(url: &Url, response: &str) -> Result<(), CaptchaError> {
        verify(
            &reqwest::Client::new(),
            CaptchaProvider::Turnstile,
            url,
            &SecretString::from(SECRET),
            response,
            Some("203.0.113.7".parse().unwrap()),
        )
        .await
    }

    #[tokio::test]
    async fn solved_challenge_passes_and_sends_secret_response_and_ip() {
        let fake = FakeSiteverify::answering(200, r#"{"success": true, "error-codes": []}"#);
        assert!(check(&fake.url, "widget-token").await.is_ok());
        let forms = fake.forms();
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0]["secret"], SECRET);
        assert_eq!(forms[0]["response"], "widget-token");
        assert_eq!(forms[0]["remoteip"], "203.0.113.7");
    }

    #[tokio::test]
    async fn unknown_ip_is_not_sent() {
        let fake = FakeSiteverify::answering(200, r#"{"success": true}"#);
        let result = verify(
            &reqwest::Client::new(),
            CaptchaProvider::HCaptcha,
            &fake.url,
            &SecretString::from(SECRET),
            "widget-token",
            None,
        )
        .await;
        assert!(result.is_ok());
        assert!(!fake.forms()[0].contains_key("remoteip"));
    }

    #[tokio::test]
    async fn refused_challenge_fails_with_the_codes() {
        let fake = FakeSiteverify::answering(
            200,
            r#"{"success": false, "error-codes": ["invalid-input-response"]}"#,
        );
        let error = check(&fake.url, "widget-token").await.unwrap_err();
        assert!(error.is_failed_challenge());
        assert!(matches!(
            &error,
            CaptchaError::Refused { error_codes } if error_codes == &["invalid-input-response"]
        ));
    }

    #[tokio::test]
    async fn empty_response_fails_without_asking_the_service() {
        let fake = FakeSiteverify::answering(200, r#"{"success": true}"#);
        for response in ["", "   "] {
            assert!(matches!(
                check(&fake.url, response).await,
                Err(CaptchaError::EmptyResponse)
            ));
        }
        assert!(fake.forms().is_empty());
    }

    #[tokio::test]
    async fn non_200_fails_even_when_it_says_success() {
        for status in [201, 302, 429, 500] {
            let fake = FakeSiteverify::answering(status, r#"{"success": true}"#);
            let error = check(&fake.url, "widget-token").await.unwrap_err();
            assert!(
                matches!(error, CaptchaError::Status(s) if s == status),
                "{status}: {error}"
            );
            assert!(!error.is_failed_challenge());
        }
    }

    #[tokio::test]
    async fn answers_without_a_true_success_flag_fail() {
        for body in [
            "<html>oops</html>",
            "",
            "{}",
            r#"{"success": "true"}"#,
            r#"{"success": 1}"#,
            "[true]",
        ] {
            let fake = FakeSiteverify::answering(200, body);
            assert!(
                matches!(
                    check(&fake.url, "widget-token").await,
                    Err(CaptchaError::BadAnswer(_))
                ),
                "{body:?}"
            );
        }
    }

    #[tokio::test]
    async fn slow_service_fails() {
        // The service never answers within the test, so the short timeout always fires first.
        let fake = FakeSiteverify::start(200, r#"{"success": true}"#, Duration::from_secs(3_600));
        let result = verify_within(
            &reqwest::Client::new(),
            &fake.url,
            &SecretString::from(SECRET),
            "widget-token",
            None,
            Duration::from_millis(200),
        )
        .await;
        assert!(matches!(result, Err(CaptchaError::Unreachable(e)) if e.is_timeout()));
    }

    #[tokio::test]
    async fn unreachable_service_fails_without_leaking_the_secret() {
        // Nothing listens on loopback's discard port (a freed port could be taken by another test).
        let url = Url::parse("http://127.0.0.1:9/siteverify").unwrap();
        let error = check(&url, "widget-token").await.unwrap_err();
        assert!(matches!(error, CaptchaError::Unreachable(_)));
        let described = format!("{error} {error:?}");
        assert!(!described.contains(SECRET), "{described}");
        assert!(!described.contains("widget-token"), "{described}");
    }

    #[test]
    fn providers_know_their_endpoints() {
        for provider in [CaptchaProvider::Turnstile, CaptchaProvider::HCaptcha] {
            let url = Url::parse(provider.default_verify_url()).unwrap();
            assert_eq!(url.scheme(), "https");
        }
    }
}
