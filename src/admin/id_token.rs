//! The checks Lobby makes on Sign in with Slack's `id_token`: signed RS256 by a key Slack
//! publishes (JWKS), issued by Slack for this app, not expired, and carrying the nonce this
//! browser's login started with.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::slack::openid_keys::OpenIdKeys;

/// Who signs Slack's id_tokens (the emulator issues the same).
pub const SLACK_ISSUER: &str = "https://slack.com";

/// Clock skew tolerated on `exp` (and `nbf`), in seconds.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenRefusal {
    /// Not a compact JWT with the claims an id_token has.
    Malformed,
    /// Not RS256, signed by a key Slack does not publish, or the signature does not match.
    BadSignature,
    /// Issued by someone other than Slack.
    WrongIssuer,
    /// Issued to another client.
    WrongAudience,
    Expired,
    /// Missing or not the nonce this login started with.
    WrongNonce,
    /// Slack's keys could not be fetched, so nothing can be checked.
    KeysUnavailable,
}

#[derive(Deserialize)]
struct Claims {
    nonce: Option<String>,
}

/// Verifies `id_token` with the key its header names, fetched from `keys` when needed.
pub async fn verify(
    id_token: &str,
    keys: &OpenIdKeys,
    client_id: &str,
    expected_nonce: &str,
) -> Result<(), IdTokenRefusal> {
    let header = jsonwebtoken::decode_header(id_token).map_err(|_| IdTokenRefusal::Malformed)?;
    // Only Slack's algorithm: never `none`, never a MAC keyed with a public key.
    if header.alg != Algorithm::RS256 {
        return Err(IdTokenRefusal::BadSignature);
    }
    let kid = header.kid.ok_or(IdTokenRefusal::BadSignature)?;
    let key = match keys.key(&kid).await {
        Ok(Some(key)) => key,
        Ok(None) => return Err(IdTokenRefusal::BadSignature),
        Err(e) => {
            tracing::warn!(error = %e, "could not fetch Slack's OpenID keys to check a sign-in");
            return Err(IdTokenRefusal::KeysUnavailable);
        }
    };
    check(id_token, &key, client_id, expected_nonce)
}

/// The signature, issuer, audience, expiry and nonce of `id_token`, against `key`.
pub fn check(
    id_token: &str,
    key: &DecodingKey,
    client_id: &str,
    expected_nonce: &str,
) -> Result<(), IdTokenRefusal> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[SLACK_ISSUER]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.leeway = LEEWAY_SECS;
    let claims = jsonwebtoken::decode::<Claims>(id_token, key, &validation)
        .map_err(|e| refusal(e.kind()))?
        .claims;
    let nonce_matches = !expected_nonce.is_empty()
        && claims
            .nonce
            .is_some_and(|n| bool::from(n.as_bytes().ct_eq(expected_nonce.as_bytes())));
    if !nonce_matches {
        return Err(IdTokenRefusal::WrongNonce);
    }
    Ok(())
}

fn refusal(kind: &ErrorKind) -> IdTokenRefusal {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => IdTokenRefusal::BadSignature,
        ErrorKind::InvalidIssuer => IdTokenRefusal::WrongIssuer,
        ErrorKind::InvalidAudience => IdTokenRefusal::WrongAudience,
        ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => IdTokenRefusal::Expired,
        _ => IdTokenRefusal::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::emulator::IdTokenFlaw;
    use crate::emulator::test_support::{published_key, sign_id_token};

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut claims = json!({"iss": SLACK_ISSUER, "aud": "app", "sub": "U1", "nonce": "n-1",
                                "iat": now(), "exp": now() + 600});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            claims[k] = v;
        }
        claims.as_object().cloned().unwrap_or_default()
    }

    fn token(extra: Value) -> String {
        sign_id_token(&claims(extra), None)
    }

    #[test]
    fn a_token_slack_signed_for_this_login_passes() {
        assert_eq!(
            check(&token(json!({})), &published_key(), "app", "n-1"),
            Ok(())
        );
        let many = token(json!({"aud": ["other", "app"]}));
        assert_eq!(check(&many, &published_key(), "app", "n-1"), Ok(()));
    }

    #[test]
    fn a_changed_payload_fails_the_signature() {
        let forged = sign_id_token(&claims(json!({})), Some(IdTokenFlaw::BadSignature));
        assert_eq!(
            check(&forged, &published_key(), "app", "n-1"),
            Err(IdTokenRefusal::BadSignature)
        );
    }

    #[test]
    fn an_unsigned_or_mac_signed_token_is_refused() {
        let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let payload = part(Value::Object(claims(json!({}))));
        for alg in ["none", "HS256"] {
            let t = format!("{}.{payload}.c2ln", part(json!({"alg": alg, "typ": "JWT"})));
            assert_ne!(check(&t, &published_key(), "app", "n-1"), Ok(()), "{alg}");
        }
    }

    #[test]
    fn another_issuer_audience_or_an_old_token_is_refused() {
        let wrong_iss = token(json!({"iss": "https://slack.example.net"}));
        assert_eq!(
            check(&wrong_iss, &published_key(), "app", "n-1"),
            Err(IdTokenRefusal::WrongIssuer)
        );
        let wrong_aud = token(json!({"aud": "someone-else"}));
        assert_eq!(
            check(&wrong_aud, &published_key(), "app", "n-1"),
            Err(IdTokenRefusal::WrongAudience)
        );
        let expired = token(json!({"exp": now() - 120}));
        assert_eq!(
            check(&expired, &published_key(), "app", "n-1"),
            Err(IdTokenRefusal::Expired)
        );
        let just_expired = token(json!({"exp": now() - 5}));
        assert_eq!(
            check(&just_expired, &published_key(), "app", "n-1"),
            Ok(()),
            "inside the leeway"
        );
        let no_exp = sign_id_token(
            &claims(json!({}))
                .into_iter()
                .filter(|(k, _)| k != "exp")
                .collect(),
            None,
        );
        assert_eq!(
            check(&no_exp, &published_key(), "app", "n-1"),
            Err(IdTokenRefusal::Malformed)
        );
    }

    #[test]
    fn another_nonce_or_none_is_refused() {
        let t = token(json!({"nonce": "n-2"}));
        assert_eq!(
            check(&t, &published_key(), "app", "n-1"),
            Err(IdTokenRefusal::WrongNonce)
        );
        let none = token(json!({"nonce": null}));
        assert_eq!(
            check(&none, &published_key(), "app", "n-1"),
            Err(IdTokenRefusal::WrongNonce)
        );
        let empty = token(json!({"nonce": ""}));
        assert_eq!(
            check(&empty, &published_key(), "app", ""),
            Err(IdTokenRefusal::WrongNonce)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for bad in ["", "a.b", "a.!!!.c", "a.b.c.d"] {
            assert_eq!(
                check(bad, &published_key(), "app", "n-1"),
                Err(IdTokenRefusal::Malformed),
                "{bad}"
            );
        }
    }
}
