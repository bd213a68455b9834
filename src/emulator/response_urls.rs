//! Response URLs the emulator hands out with slash commands and interactions: five posts within thirty minutes.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::Value;
use time::{Duration, OffsetDateTime};
use url::Url;

use super::Emulator;
use super::random;
use super::record::ResponseUrlPost;

pub const MAX_USES: u32 = 5;
pub const LIFETIME: Duration = Duration::minutes(30);

#[derive(Debug)]
struct Minted {
    channel_id: Option<String>,
    created: OffsetDateTime,
    uses: u32,
}

#[derive(Debug, Default)]
pub(crate) struct ResponseUrls {
    minted: HashMap<String, Minted>,
    /// Every URL minted, oldest first.
    pub urls: Vec<Url>,
    pub posts: Vec<ResponseUrlPost>,
}

/// Why a post was refused; Slack answers these with 404 and the code as plain text.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NoService,
    ExpiredUrl,
    UsedUrl,
}

impl Refusal {
    fn code(&self) -> &'static str {
        match self {
            Self::NoService => "no_service",
            Self::ExpiredUrl => "expired_url",
            Self::UsedUrl => "used_url",
        }
    }
}

impl ResponseUrls {
    pub fn mint(
        &mut self,
        base_url: &Url,
        channel_id: Option<String>,
        now: OffsetDateTime,
    ) -> Option<Url> {
        let id = random::alphanumeric(24);
        let url = base_url.join(&format!("response/{id}")).ok()?;
        self.minted.insert(
            id,
            Minted {
                channel_id,
                created: now,
                uses: 0,
            },
        );
        self.urls.push(url.clone());
        Some(url)
    }

    /// Counts one use of the URL and records the body.
    pub fn post(
        &mut self,
        id: &str,
        body: Value,
        now: OffsetDateTime,
    ) -> Result<Option<String>, Refusal> {
        let minted = self.minted.get_mut(id).ok_or(Refusal::NoService)?;
        if now - minted.created > LIFETIME {
            return Err(Refusal::ExpiredUrl);
        }
        if minted.uses >= MAX_USES {
            return Err(Refusal::UsedUrl);
        }
        minted.uses += 1;
        let channel_id = minted.channel_id.clone();
        self.posts.push(ResponseUrlPost {
            url_id: id.to_owned(),
            channel_id: channel_id.clone(),
            body,
            at: now,
        });
        Ok(channel_id)
    }
}

/// `POST response/{id}` with a JSON message.
pub(crate) async fn receive(
    emulator: web::Data<Emulator>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::BadRequest()
            .content_type("text/plain")
            .body("invalid_payload");
    };
    let mut state = emulator.lock();
    let now = state.now();
    match state.response_urls.post(&id, message.clone(), now) {
        Ok(channel_id) => {
            // An in-channel response shows up in the channel like any message.
            if let (Some(channel_id), Some("in_channel")) =
                (channel_id, message["response_type"].as_str())
            {
                let ts = state.next_message_ts();
                if let Some(channel) = state.world.channel_mut(&channel_id) {
                    let mut stored = message;
                    if let Some(fields) = stored.as_object_mut() {
                        fields.insert("type".into(), Value::from("message"));
                        fields.insert("ts".into(), Value::from(ts));
                    }
                    channel.messages.push(stored);
                }
            }
            HttpResponse::Ok().content_type("text/plain").body("ok")
        }
        Err(refusal) => HttpResponse::NotFound()
            .content_type("text/plain")
            .body(refusal.code()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minted() -> (ResponseUrls, String, OffsetDateTime) {
        let mut urls = ResponseUrls::default();
        let now = OffsetDateTime::now_utc();
        let base = Url::parse("http://127.0.0.1:1/").expect("url");
        let url = urls.mint(&base, Some("C1".into()), now).expect("minted");
        let id = url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .expect("id")
            .to_owned();
        (urls, id, now)
    }

    #[test]
    fn a_response_url_takes_five_posts_then_refuses() {
        let (mut urls, id, now) = minted();
        for _ in 0..MAX_USES {
            assert_eq!(urls.post(&id, Value::Null, now), Ok(Some("C1".into())));
        }
        assert_eq!(urls.post(&id, Value::Null, now), Err(Refusal::UsedUrl));
        assert_eq!(urls.posts.len(), 5);
    }

    #[test]
    fn a_response_url_expires_after_thirty_minutes() {
        let (mut urls, id, now) = minted();
        let later = now + LIFETIME + Duration::seconds(1);
        assert_eq!(urls.post(&id, Value::Null, later), Err(Refusal::ExpiredUrl));
        assert_eq!(urls.post("nope", Value::Null, now), Err(Refusal::NoService));
    }
}
