//! Talking to the app the way Slack does: signed slash commands, events, interactions and checks.

use reqwest::header::CONTENT_TYPE;
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::form_urlencoded;

use super::Emulator;
use super::random;
use super::state::SentEvent;
use super::world::APP_ID;
use crate::slack::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// A slash command as a person types it in a channel.
#[derive(Clone, Debug)]
pub struct SlashCommand {
    pub team_id: String,
    pub channel_id: String,
    pub user_id: String,
    /// With the slash, e.g. `/lobby-invite`.
    pub command: String,
    pub text: String,
}

impl SlashCommand {
    pub fn new(team_id: &str, channel_id: &str, user_id: &str, command: &str, text: &str) -> Self {
        Self {
            team_id: team_id.to_owned(),
            channel_id: channel_id.to_owned(),
            user_id: user_id.to_owned(),
            command: command.to_owned(),
            text: text.to_owned(),
        }
    }
}

/// How a request to the app is signed, for signature tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// Signed now with the signing secret.
    Valid,
    /// Correctly signed, but with a timestamp this many seconds in the past.
    StaleBy(u64),
    /// Correctly signed, but with a timestamp this many seconds in the future.
    FutureBy(u64),
    /// Signed now with some other secret.
    WrongSecret,
    /// No signature or timestamp headers at all.
    Missing,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("no app URL is set; call Emulator::set_app_url first")]
    NoAppUrl,
    #[error("the emulator never sent an event with that id")]
    UnknownEvent,
    #[error("the app does not subscribe to {0} events, so Slack would not send this one")]
    NotSubscribed(String),
    #[error("the app could not be reached")]
    Http(#[from] reqwest::Error),
}

/// `X-Slack-Retry-Reason` on redeliveries.
const RETRY_REASON: &str = "http_timeout";

impl Emulator {
    /// Sends a slash command to `{app_url}slack/events` with a fresh response URL and trigger id.
    pub async fn send_slash_command(
        &self,
        cmd: SlashCommand,
    ) -> Result<reqwest::Response, SendError> {
        let body = {
            let mut state = self.lock();
            let now = state.now();
            let response_url = state
                .response_urls
                .mint(self.base_url(), Some(cmd.channel_id.clone()), now)
                .map(String::from)
                .unwrap_or_default();
            let world = &state.world;
            let org_wide = world.org_install_covering(&cmd.team_id).is_some();
            let team = world.team(&cmd.team_id);
            let enterprise_id = team.and_then(|t| t.enterprise_id.clone());
            let enterprise_name = enterprise_id
                .as_deref()
                .and_then(|id| world.enterprise(id))
                .map(|e| e.name.clone());
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("token", self.verification_token())
                .append_pair("team_id", &cmd.team_id)
                .append_pair(
                    "team_domain",
                    team.map_or(cmd.team_id.as_str(), |t| t.domain.as_str()),
                );
            if let (Some(id), Some(name)) = (&enterprise_id, &enterprise_name) {
                form.append_pair("enterprise_id", id)
                    .append_pair("enterprise_name", name);
            }
            let channel_name = world
                .channel(&cmd.channel_id)
                .map_or(cmd.channel_id.as_str(), |c| c.name.as_str());
            let user_name = world
                .user(&cmd.user_id)
                .map_or(cmd.user_id.as_str(), |u| u.name.as_str());
            form.append_pair("channel_id", &cmd.channel_id)
                .append_pair("channel_name", channel_name)
                .append_pair("user_id", &cmd.user_id)
                .append_pair("user_name", user_name)
                .append_pair("command", &cmd.command)
                .append_pair("text", &cmd.text)
                .append_pair("api_app_id", APP_ID)
                .append_pair(
                    "is_enterprise_install",
                    if org_wide { "true" } else { "false" },
                )
                .append_pair("response_url", &response_url)
                .append_pair("trigger_id", &trigger_id());
            form.finish()
        };
        self.deliver(FORM, body.into_bytes(), Signing::Valid, &[])
            .await
    }

    /// Wraps `event` in an `event_callback` envelope for `team_id` and sends it; returns the event id.
    ///
    /// An event the app's subscriptions ([`super::EmulatorConfig::bot_events`]) do not ask for is
    /// not sent: [`SendError::NotSubscribed`].
    pub async fn send_event(
        &self,
        team_id: &str,
        event: Value,
    ) -> Result<(String, reqwest::Response), SendError> {
        if !self.config().subscribes_to(&event) {
            return Err(SendError::NotSubscribed(
                super::EmulatorConfig::subscription_for(&event),
            ));
        }
        let (event_id, body) = {
            let mut state = self.lock();
            let now = state.now().unix_timestamp();
            let event_id = format!("Ev{:04}{}", state.next_serial(), random::digits(7));
            let enterprise_id = state
                .world
                .team(team_id)
                .and_then(|t| t.enterprise_id.clone());
            let org_install = state.world.org_install_covering(team_id);
            let org_wide = org_install.is_some();
            let bot = state
                .world
                .ensure_app_bot(org_install.as_deref().unwrap_or(team_id));
            let mut event = event;
            if let Some(fields) = event.as_object_mut() {
                fields
                    .entry("event_ts")
                    .or_insert_with(|| json!(format!("{now}.000100")));
            }
            let envelope = json!({
                "token": self.verification_token(),
                "team_id": team_id,
                "enterprise_id": enterprise_id,
                "api_app_id": APP_ID,
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": now,
                "authorizations": [{
                    "enterprise_id": enterprise_id,
                    // An org-wide installation belongs to no one workspace.
                    "team_id": if org_wide { None } else { Some(team_id) },
                    "user_id": bot.user_id,
                    "is_bot": true,
                    "is_enterprise_install": org_wide,
                }],
                "is_enterprise_install": org_wide,
                "is_ext_shared_channel": false,
            });
            let body = envelope.to_string().into_bytes();
            state
                .sent_events
                .insert(event_id.clone(), SentEvent { body: body.clone() });
            (event_id, body)
        };
        let response = self.deliver(JSON, body, Signing::Valid, &[]).await?;
        Ok((event_id, response))
    }

    /// Sends an earlier event's exact body again, freshly signed, as Slack's retry number `retry_num`.
    pub async fn redeliver_event(
        &self,
        event_id: &str,
        retry_num: u32,
    ) -> Result<reqwest::Response, SendError> {
        let body = self
            .lock()
            .sent_events
            .get(event_id)
            .map(|e| e.body.clone())
            .ok_or(SendError::UnknownEvent)?;
        let headers = [
            ("x-slack-retry-num", retry_num.to_string()),
            ("x-slack-retry-reason", RETRY_REASON.to_owned()),
        ];
        self.deliver(JSON, body, Signing::Valid, &headers).await
    }

    /// Sends an interaction (`payload=<json>`), adding a response URL and trigger id when it has none.
    pub async fn send_interaction(&self, payload: Value) -> Result<reqwest::Response, SendError> {
        let mut payload = payload;
        if let Some(fields) = payload.as_object_mut() {
            if !fields.contains_key("response_url") {
                let channel_id = fields
                    .get("channel")
                    .and_then(|c| c["id"].as_str())
                    .map(str::to_owned);
                let mut state = self.lock();
                let now = state.now();
                if let Some(url) = state.response_urls.mint(self.base_url(), channel_id, now) {
                    fields.insert("response_url".into(), json!(url.as_str()));
                }
            }
            fields
                .entry("trigger_id")
                .or_insert_with(|| json!(trigger_id()));
            fields
                .entry("token")
                .or_insert_with(|| json!(self.verification_token()));
            fields.entry("api_app_id").or_insert_with(|| json!(APP_ID));
            let team_id = fields
                .get("team")
                .and_then(|t| t["id"].as_str())
                .map(str::to_owned);
            if let Some(team_id) = team_id {
                let state = self.lock();
                let org_install = state.world.org_install_covering(&team_id);
                fields
                    .entry("is_enterprise_install")
                    .or_insert_with(|| json!(org_install.is_some()));
                if let Some(enterprise) = org_install.and_then(|id| state.world.enterprise(&id)) {
                    fields
                        .entry("enterprise")
                        .or_insert_with(|| json!({ "id": enterprise.id, "name": enterprise.name }));
                }
            }
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        self.deliver(FORM, body.into_bytes(), Signing::Valid, &[])
            .await
    }

    /// Sends Slack's Request URL check; returns the challenge the app must echo.
    pub async fn send_url_verification(&self) -> Result<(String, reqwest::Response), SendError> {
        let challenge = random::alphanumeric(48);
        let body = json!({ "token": self.verification_token(), "challenge": challenge, "type": "url_verification" });
        let response = self
            .deliver(JSON, body.to_string().into_bytes(), Signing::Valid, &[])
            .await?;
        Ok((challenge, response))
    }

    /// Sends Slack's periodic `ssl_check`, which the app must answer without doing anything.
    pub async fn send_ssl_check(&self) -> Result<reqwest::Response, SendError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("ssl_check", "1")
            .append_pair("token", self.verification_token())
            .finish();
        self.deliver(FORM, body.into_bytes(), Signing::Valid, &[])
            .await
    }

    /// Sends any body, signed as asked.
    pub async fn send_signed_raw(
        &self,
        content_type: &str,
        body: Vec<u8>,
        signing: Signing,
    ) -> Result<reqwest::Response, SendError> {
        self.deliver(content_type, body, signing, &[]).await
    }

    async fn deliver(
        &self,
        content_type: &str,
        body: Vec<u8>,
        signing: Signing,
        extra_headers: &[(&str, String)],
    ) -> Result<reqwest::Response, SendError> {
        let url = self
            .app_url()
            .and_then(|app| app.join("slack/events").ok())
            .ok_or(SendError::NoAppUrl)?;
        let mut request = self.http().post(url).header(CONTENT_TYPE, content_type);
        if let Some((timestamp, signature)) = self.signature_headers(&body, signing) {
            request = request
                .header(TIMESTAMP_HEADER, timestamp)
                .header(SIGNATURE_HEADER, signature);
        }
        for (name, value) in extra_headers {
            request = request.header(*name, value);
        }
        Ok(request.body(body).send().await?)
    }

    fn signature_headers(&self, body: &[u8], signing: Signing) -> Option<(String, String)> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let offset = |secs: u64| i64::try_from(secs).unwrap_or(i64::MAX);
        let (timestamp, secret) = match signing {
            Signing::Missing => return None,
            Signing::Valid => (now, self.config().signing_secret.clone()),
            Signing::StaleBy(secs) => (
                now.saturating_sub(offset(secs)),
                self.config().signing_secret.clone(),
            ),
            Signing::FutureBy(secs) => (
                now.saturating_add(offset(secs)),
                self.config().signing_secret.clone(),
            ),
            Signing::WrongSecret => (now, SecretString::from(random::hex(16))),
        };
        let timestamp = timestamp.to_string();
        let signature = sign(&secret, &timestamp, body);
        Some((timestamp, signature))
    }
}

fn trigger_id() -> String {
    format!(
        "{}.{}.{}",
        random::digits(10),
        random::digits(12),
        random::hex(16)
    )
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use secrecy::SecretString;
    use url::Url;

    use super::*;
    use crate::emulator::seed::{DEMO_ADMIN, DEMO_GENERAL, DEMO_TEAM};
    use crate::emulator::{EmulatorConfig, RunningEmulator, spawn};
    use crate::slack::signature::{SignatureError, verify};

    /// One request as the app received it.
    #[derive(Clone)]
    struct Received {
        timestamp: Option<String>,
        signature: Option<String>,
        retry_num: Option<String>,
        body: Vec<u8>,
    }

    type Inbox = Arc<Mutex<Vec<Received>>>;

    /// A stand-in app that records what reaches `/slack/events` and answers 200.
    fn fake_app() -> (Url, Inbox) {
        let inbox: Inbox = Arc::default();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url =
            Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
        let app_inbox = inbox.clone();
        let server = HttpServer::new(move || {
            let inbox = app_inbox.clone();
            App::new().route(
                "/slack/events",
                web::post().to(move |req: HttpRequest, body: web::Bytes| {
                    let inbox = inbox.clone();
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        };
                        inbox.lock().expect("inbox").push(Received {
                            timestamp: header(TIMESTAMP_HEADER),
                            signature: header(SIGNATURE_HEADER),
                            retry_num: header("x-slack-retry-num"),
                            body: body.to_vec(),
                        });
                        HttpResponse::Ok().finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        (url, inbox)
    }

    async fn emulator_and_app() -> (RunningEmulator, Inbox) {
        let running = spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("emulator");
        let (app_url, inbox) = fake_app();
        running.emulator.set_app_url(app_url);
        (running, inbox)
    }

    fn last(inbox: &Inbox) -> Received {
        inbox
            .lock()
            .expect("inbox")
            .last()
            .cloned()
            .expect("a request reached the app")
    }

    fn check(secret: &SecretString, received: &Received) -> Result<(), SignatureError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        verify(
            secret,
            received.timestamp.as_deref(),
            received.signature.as_deref(),
            &received.body,
            now,
        )
        .map(|_| ())
    }

    fn form_field(body: &[u8], name: &str) -> Option<String> {
        form_urlencoded::parse(body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    #[tokio::test]
    async fn a_slash_command_arrives_signed_with_a_working_response_url() {
        let (running, inbox) = emulator_and_app().await;
        let emulator = &running.emulator;
        let cmd = SlashCommand::new(DEMO_TEAM, DEMO_GENERAL, DEMO_ADMIN, "/lobby", "stats");
        let response = emulator.send_slash_command(cmd).await.expect("delivered");
        assert_eq!(response.status(), 200);

        let received = last(&inbox);
        assert_eq!(check(&emulator.config().signing_secret, &received), Ok(()));
        assert_eq!(
            form_field(&received.body, "command").as_deref(),
            Some("/lobby")
        );
        assert_eq!(
            form_field(&received.body, "user_name").as_deref(),
            Some("ada")
        );
        assert_eq!(
            form_field(&received.body, "team_domain").as_deref(),
            Some("demo-community")
        );
        let response_url = form_field(&received.body, "response_url").expect("response url");
        assert_eq!(
            emulator
                .response_urls()
                .iter()
                .map(Url::as_str)
                .collect::<Vec<_>>(),
            vec![response_url.as_str()]
        );

        let http = reqwest::Client::new();
        let message = json!({ "response_type": "in_channel", "text": "42 members" });
        for _ in 0..5 {
            let posted = http
                .post(&response_url)
                .json(&message)
                .send()
                .await
                .expect("post");
            assert_eq!(posted.status(), 200);
        }
        let sixth = http
            .post(&response_url)
            .json(&message)
            .send()
            .await
            .expect("post");
        assert_eq!(sixth.status(), 404);
        assert_eq!(sixth.text().await.expect("text"), "used_url");
        let posts = emulator.response_url_posts();
        assert_eq!(posts.len(), 5);
        assert_eq!(posts[0].channel_id.as_deref(), Some(DEMO_GENERAL));
        assert_eq!(emulator.messages(DEMO_GENERAL).len(), 5);
    }

    #[tokio::test]
    async fn an_event_is_redelivered_with_the_same_body_and_a_retry_number() {
        let (running, inbox) = emulator_and_app().await;
        let event = json!({ "type": "app_mention", "user": DEMO_ADMIN, "text": "<@U0APPBOT01> hi", "channel": DEMO_GENERAL });
        let (event_id, _) = running
            .emulator
            .send_event(DEMO_TEAM, event)
            .await
            .expect("sent");
        let first = last(&inbox);
        let envelope: Value = serde_json::from_slice(&first.body).expect("json");
        assert_eq!(envelope["type"], "event_callback");
        assert_eq!(envelope["event_id"], event_id.as_str());
        assert_eq!(envelope["event"]["type"], "app_mention");

        running
            .emulator
            .redeliver_event(&event_id, 1)
            .await
            .expect("redelivered");
        let retry = last(&inbox);
        assert_eq!(retry.body, first.body);
        assert_eq!(retry.retry_num.as_deref(), Some("1"));
        assert_eq!(
            check(&running.emulator.config().signing_secret, &retry),
            Ok(())
        );
        assert!(matches!(
            running.emulator.redeliver_event("Ev-unknown", 1).await,
            Err(SendError::UnknownEvent)
        ));
    }

    #[tokio::test]
    async fn bad_signings_fail_verification_the_intended_way() {
        let (running, inbox) = emulator_and_app().await;
        let emulator = &running.emulator;
        let secret = emulator.config().signing_secret.clone();
        let cases = [
            (Signing::StaleBy(301), Err(SignatureError::Stale)),
            (Signing::FutureBy(301), Err(SignatureError::Stale)),
            (Signing::WrongSecret, Err(SignatureError::Mismatch)),
            (Signing::Missing, Err(SignatureError::MissingTimestamp)),
            (Signing::Valid, Ok(())),
        ];
        for (signing, expected) in cases {
            emulator
                .send_signed_raw(FORM, b"a=1".to_vec(), signing)
                .await
                .expect("sent");
            assert_eq!(check(&secret, &last(&inbox)), expected, "{signing:?}");
        }
    }

    #[tokio::test]
    async fn interactions_get_a_response_url_and_url_verification_a_challenge() {
        let (running, inbox) = emulator_and_app().await;
        let payload =
            json!({ "type": "block_actions", "channel": { "id": DEMO_GENERAL }, "actions": [] });
        running
            .emulator
            .send_interaction(payload)
            .await
            .expect("sent");
        let body = last(&inbox).body;
        let payload: Value =
            serde_json::from_str(&form_field(&body, "payload").expect("payload")).expect("json");
        assert!(
            payload["response_url"]
                .as_str()
                .is_some_and(|u| u.contains("/response/"))
        );

        let (challenge, _) = running
            .emulator
            .send_url_verification()
            .await
            .expect("sent");
        let body: Value = serde_json::from_slice(&last(&inbox).body).expect("json");
        assert_eq!(body["challenge"], challenge.as_str());
    }

    #[tokio::test]
    async fn sending_without_an_app_url_is_an_error_not_a_panic() {
        let running = spawn(EmulatorConfig::demo(), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("emulator");
        assert!(matches!(
            running.emulator.send_ssl_check().await,
            Err(SendError::NoAppUrl)
        ));
    }
}
