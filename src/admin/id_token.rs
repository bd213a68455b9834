//! The checks Lobby makes on Sign in with Slack's `id_token`: it was issued for this app and
//! carries the nonce this browser's login started with.
//!
//! The token comes straight from Slack's token endpoint over TLS in exchange for our client
//! secret, so OpenID Connect Core (3.1.3.7) lets the client rely on TLS instead of the signature;
//! the nonce still ties the answer to the login this browser started.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenRefusal {
    /// Not a compact JWT with a JSON payload.
    Malformed,
    /// Issued to another client.
    WrongAudience,
    /// Missing or not the nonce this login started with.
    WrongNonce,
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    aud: Audience,
    nonce: Option<String>,
}

/// `aud` is a string or an array of strings.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
    #[default]
    Missing,
}

impl Audience {
    fn includes(&self, client_id: &str) -> bool {
        match self {
            Audience::One(aud) => aud == client_id,
            Audience::Many(auds) => auds.iter().any(|a| a == client_id),
            Audience::Missing => false,
        }
    }
}

pub fn check(id_token: &str, client_id: &str, expected_nonce: &str) -> Result<(), IdTokenRefusal> {
    let mut parts = id_token.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenRefusal::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| IdTokenRefusal::Malformed)?;
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| IdTokenRefusal::Malformed)?;
    if !claims.aud.includes(client_id) {
        return Err(IdTokenRefusal::WrongAudience);
    }
    let nonce_matches = !expected_nonce.is_empty()
        && claims
            .nonce
            .is_some_and(|n| bool::from(n.as_bytes().ct_eq(expected_nonce.as_bytes())));
    if !nonce_matches {
        return Err(IdTokenRefusal::WrongNonce);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(claims: serde_json::Value) -> String {
        let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.sig",
            part(json!({"alg": "HS256", "typ": "JWT"})),
            part(claims)
        )
    }

    #[test]
    fn a_token_for_this_app_with_the_login_nonce_passes() {
        let t = token(json!({"aud": "app", "nonce": "n-1", "sub": "U1"}));
        assert_eq!(check(&t, "app", "n-1"), Ok(()));
        let many = token(json!({"aud": ["other", "app"], "nonce": "n-1"}));
        assert_eq!(check(&many, "app", "n-1"), Ok(()));
    }

    #[test]
    fn another_nonce_or_none_is_refused() {
        let t = token(json!({"aud": "app", "nonce": "n-2"}));
        assert_eq!(check(&t, "app", "n-1"), Err(IdTokenRefusal::WrongNonce));
        let none = token(json!({"aud": "app"}));
        assert_eq!(check(&none, "app", "n-1"), Err(IdTokenRefusal::WrongNonce));
        let empty = token(json!({"aud": "app", "nonce": ""}));
        assert_eq!(check(&empty, "app", ""), Err(IdTokenRefusal::WrongNonce));
    }

    #[test]
    fn another_audience_or_garbage_is_refused() {
        let t = token(json!({"aud": "someone-else", "nonce": "n-1"}));
        assert_eq!(check(&t, "app", "n-1"), Err(IdTokenRefusal::WrongAudience));
        for bad in ["", "a.b", "a.!!!.c", "a.b.c.d"] {
            assert_eq!(
                check(bad, "app", "n-1"),
                Err(IdTokenRefusal::Malformed),
                "{bad}"
            );
        }
    }
}
