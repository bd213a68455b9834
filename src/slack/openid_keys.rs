//! Slack's published OpenID signing keys (JWKS), kept in memory.
//!
//! The set is fetched on first use and again when a token names a key id (`kid`) we do not hold,
//! since that is how a key rotation shows. Refetches are at most one per [`MIN_REFETCH`], so a
//! stream of tokens with made-up key ids cannot make Lobby hammer Slack.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::Jwk;
use url::Url;

/// The least time between two fetches of the key set.
pub const MIN_REFETCH: Duration = Duration::from_secs(30);

/// A key set larger than this is not Slack's.
const MAX_JWKS_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("could not fetch Slack's OpenID keys: {0}")]
    Fetch(String),
    #[error("Slack's OpenID keys answered HTTP {0}")]
    Status(u16),
    #[error("Slack's OpenID keys are not a JWKS: {0}")]
    Invalid(String),
}

pub struct OpenIdKeys {
    url: Url,
    http: reqwest::Client,
    min_refetch: Duration,
    cache: tokio::sync::Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

impl OpenIdKeys {
    /// Keys published at `url`, fetched with `http` (which should not follow redirects).
    pub fn new(url: Url, http: reqwest::Client) -> Self {
        Self::with_min_refetch(url, http, MIN_REFETCH)
    }

    pub fn with_min_refetch(url: Url, http: reqwest::Client, min_refetch: Duration) -> Self {
        Self {
            url,
            http,
            min_refetch,
            cache: tokio::sync::Mutex::new(Cached::default()),
        }
    }

    /// The key with id `kid`: from memory, or from a fresh fetch when it is unknown and the last
    /// fetch is old enough. `Ok(None)` when Slack does not publish it.
    pub async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, KeysError> {
        // Held across the fetch, so concurrent sign-ins with a new key id fetch once.
        let mut cached = self.cache.lock().await;
        if let Some(key) = cached.keys.get(kid) {
            return Ok(Some(key.clone()));
        }
        if cached
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.min_refetch)
        {
            return Ok(None);
        }
        let keys = self.fetch().await?;
        tracing::debug!(keys = keys.len(), "fetched Slack's OpenID keys");
        *cached = Cached {
            keys,
            fetched_at: Some(Instant::now()),
        };
        Ok(cached.keys.get(kid).cloned())
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, KeysError> {
        let fail = |e: reqwest::Error| KeysError::Fetch(e.without_url().to_string());
        let response = self.http.get(self.url.clone()).send().await.map_err(fail)?;
        if !response.status().is_success() {
            return Err(KeysError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err(KeysError::Invalid("too large".into()));
        }
        let body = response.bytes().await.map_err(fail)?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(KeysError::Invalid("too large".into()));
        }
        #[derive(serde::Deserialize)]
        struct Set {
            keys: Vec<serde_json::Value>,
        }
        let set: Set =
            serde_json::from_slice(&body).map_err(|e| KeysError::Invalid(e.to_string()))?;
        // Keys are read one by one: a key of a kind we do not know (or without an id, which no
        // token could name) is skipped rather than failing the whole set.
        Ok(set
            .keys
            .into_iter()
            .filter_map(|value| {
                let jwk: Jwk = serde_json::from_value(value).ok()?;
                let kid = jwk.common.key_id.clone()?;
                DecodingKey::from_jwk(&jwk).ok().map(|key| (kid, key))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::slack::client::fake_slack::{FakeSlack, Reply};

    fn jwks(kids: &[&str]) -> serde_json::Value {
        let keys: Vec<_> = kids
            .iter()
            .map(|kid| json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"}))
            .collect();
        json!({ "keys": keys })
    }

    /// A fake Slack whose key set is `sets[n]` on the n-th fetch (the last one after that).
    fn keys_served(
        sets: Vec<Vec<&'static str>>,
        min_refetch: Duration,
    ) -> (FakeSlack, OpenIdKeys, Arc<AtomicUsize>) {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&fetches);
        let fake = FakeSlack::start(move |_| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            Reply::json(jwks(&sets[n.min(sets.len() - 1)]))
        });
        let url = fake.base.join("keys").expect("url");
        let keys = OpenIdKeys::with_min_refetch(url, reqwest::Client::new(), min_refetch);
        (fake, keys, fetches)
    }

    #[tokio::test]
    async fn keys_are_fetched_once_and_then_served_from_memory() {
        let (_fake, keys, fetches) = keys_served(vec![vec!["k1", "k2"]], MIN_REFETCH);
        assert!(keys.key("k1").await.expect("fetched").is_some());
        assert!(keys.key("k2").await.expect("cached").is_some());
        assert!(keys.key("k1").await.expect("cached").is_some());
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unknown_key_id_refetches_at_most_once_per_interval() {
        let (_fake, keys, fetches) = keys_served(vec![vec!["k1"]], MIN_REFETCH);
        assert!(keys.key("k1").await.expect("fetched").is_some());
        for _ in 0..5 {
            assert!(keys.key("made-up").await.expect("no error").is_none());
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "no refetch inside the interval"
        );
    }

    #[tokio::test]
    async fn a_rotated_key_is_found_by_refetching() {
        let (_fake, keys, fetches) =
            keys_served(vec![vec!["old"], vec!["old", "new"]], Duration::ZERO);
        assert!(keys.key("old").await.expect("fetched").is_some());
        assert!(keys.key("new").await.expect("refetched").is_some());
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_fetch_is_an_error_and_is_retried() {
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&fetches);
        let fake = FakeSlack::start(move |_| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::status(503)
            } else {
                Reply::json(jwks(&["k1"]))
            }
        });
        let keys = OpenIdKeys::new(fake.base.join("keys").expect("url"), reqwest::Client::new());
        assert!(matches!(keys.key("k1").await, Err(KeysError::Status(503))));
        assert!(keys.key("k1").await.expect("second try").is_some());
    }

    #[tokio::test]
    async fn garbage_is_not_a_key_set() {
        let fake = FakeSlack::start(|_| Reply::json(json!({"keys": "nope"})));
        let keys = OpenIdKeys::new(fake.base.join("keys").expect("url"), reqwest::Client::new());
        assert!(matches!(keys.key("k1").await, Err(KeysError::Invalid(_))));
    }
}
