//! Slack's v0 request signature: `v0=` + hex(HMAC-SHA256(signing secret, `v0:{ts}:{raw body}`)).
//!
//! Checked on the raw bytes before anything parses them, with a constant-time compare and a
//! five-minute window against replays.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far a request's timestamp may be from our clock, either way.
pub const MAX_SKEW_SECS: i64 = 300;

pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const SIGNATURE_HEADER: &str = "x-slack-signature";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the X-Slack-Request-Timestamp header is missing")]
    MissingTimestamp,
    #[error("the X-Slack-Signature header is missing")]
    MissingSignature,
    #[error("the request timestamp is not a Unix time")]
    BadTimestamp,
    #[error("the request timestamp is more than five minutes from now")]
    Stale,
    #[error("the request signature does not match")]
    Mismatch,
}

fn mac(secret: &SecretString, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The `X-Slack-Signature` value Slack would send for this body at this timestamp.
pub fn sign(secret: &SecretString, timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// A request whose signature checked out: its digest and timestamp, for the replay guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub digest: [u8; 32],
    pub timestamp: i64,
}

/// Verifies a request's signature headers against its raw body, at time `now` (Unix seconds).
pub fn verify(
    secret: &SecretString,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<Verified, SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
    let signature = signature.ok_or(SignatureError::MissingSignature)?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    // `abs_diff` cannot overflow, so a timestamp near i64::MIN is stale, not fresh.
    if now.abs_diff(ts) > MAX_SKEW_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let mut digest = [0u8; 32];
    signature
        .strip_prefix("v0=")
        .and_then(|hex_digest| hex::decode_to_slice(hex_digest, &mut digest).ok())
        .ok_or(SignatureError::Mismatch)?;
    // `verify_slice` compares in constant time.
    mac(secret, timestamp, body)
        .verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(Verified {
        digest,
        timestamp: ts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // python-slack-sdk, tests/slack_sdk/signature/test_signature_verifier.py
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const NOW: i64 = 1531420618;

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    #[test]
    fn the_sdk_vector_signs_and_verifies() {
        assert_eq!(sign(&secret(), TS, BODY.as_bytes()), EXPECTED);
        assert!(verify(&secret(), Some(TS), Some(EXPECTED), BODY.as_bytes(), NOW).is_ok());
    }

    #[test]
    fn extreme_timestamps_are_stale_not_an_overflow() {
        let body = BODY.as_bytes();
        for ts in [i64::MIN, NOW.wrapping_add(i64::MIN), i64::MAX] {
            assert_eq!(
                verify(&secret(), Some(&ts.to_string()), Some(EXPECTED), body, NOW),
                Err(SignatureError::Stale)
            );
        }
    }

    #[test]
    fn a_changed_body_fails() {
        let body = BODY.replace("roadrunner", "coyote");
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), body.as_bytes(), NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_future_timestamps_fail() {
        let body = BODY.as_bytes();
        assert!(verify(&secret(), Some(TS), Some(EXPECTED), body, NOW + 300).is_ok());
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), body, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&secret(), Some(TS), Some(EXPECTED), body, NOW - 301),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn missing_or_malformed_headers_fail() {
        let body = BODY.as_bytes();
        assert_eq!(
            verify(&secret(), None, Some(EXPECTED), body, NOW),
            Err(SignatureError::MissingTimestamp)
        );
        assert_eq!(
            verify(&secret(), Some(TS), None, body, NOW),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            verify(&secret(), Some("soon"), Some(EXPECTED), body, NOW),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(&secret(), Some(TS), Some("v1=abc"), body, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret(), Some(TS), Some("v0=zz"), body, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn another_secret_fails() {
        let other = SecretString::from("another-secret");
        assert_eq!(
            verify(&other, Some(TS), Some(EXPECTED), BODY.as_bytes(), NOW),
            Err(SignatureError::Mismatch)
        );
    }
}
