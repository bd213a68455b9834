//! A signed token in the join form that says when the form was served.
//!
//! It does two jobs with one signature. A form sent back less than [`MIN_FILL_TIME_SECS`] after it
//! was served was filled in by a script, and one older than [`MAX_AGE_SECS`] is stale. And it is a
//! double-submit CSRF token: its random nonce is also set as a cookie when the form is served,
//! so a POST is accepted only with both halves — another site can make a browser send our
//! cookie, but cannot read the token out of our page, and a script that scraped the page has
//! the token but not the browser's cookie.
//!
//! Token: URL-safe base64 (no padding) of `version ‖ issued_at ‖ nonce ‖ tag`, where `tag` is
//! HMAC-SHA256 under a key derived for the join form over the version, the purpose (the
//! community's slug, so a token is good for one form only), `issued_at` and the nonce.
//! Cookie: URL-safe base64 of the nonce.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Less time than this between serving the form and its submission is a bot.
pub const MIN_FILL_TIME_SECS: i64 = 3;
/// A form older than this has to be reloaded.
pub const MAX_AGE_SECS: i64 = 2 * 60 * 60;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 32;
const TOKEN_LEN: usize = 1 + 8 + NONCE_LEN + TAG_LEN;

/// A join-form token: [`FormToken::issue`] makes one, [`FormToken::verify`] checks one.
pub struct FormToken {
    issued_at: i64,
    nonce: [u8; NONCE_LEN],
    tag: [u8; TAG_LEN],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormTokenError {
    #[error("The form's security check is missing. Please reload the page and try again.")]
    Missing,
    #[error("The form's security check failed. Please reload the page and try again.")]
    Invalid,
    #[error(
        "That was quicker than a person can fill in the form. Please wait a moment and send it again."
    )]
    TooFast,
    #[error("The form has expired. Please reload the page and try again.")]
    Expired,
}

impl FormToken {
    /// Issues a token for a form about `purpose` served at `now` (Unix seconds): returns the
    /// token for a hidden form field and the value for the cookie that must come back with it.
    ///
    /// # Panics
    /// If the operating system's random number generator fails, which does not happen on a
    /// running system; a predictable nonce would defeat the CSRF check.
    pub fn issue(key: &[u8; 32], purpose: &str, now: i64) -> (String, String) {
        let mut nonce = [0u8; NONCE_LEN];
        if let Err(error) = getrandom::fill(&mut nonce) {
            panic!("the operating system's random number generator failed: {error}");
        }
        let tag = tag(key, purpose, now, &nonce).finalize().into_bytes();
        let mut token = Vec::with_capacity(TOKEN_LEN);
        token.push(VERSION);
        token.extend_from_slice(&now.to_be_bytes());
        token.extend_from_slice(&nonce);
        token.extend_from_slice(&tag);
        (URL_SAFE_NO_PAD.encode(token), URL_SAFE_NO_PAD.encode(nonce))
    }

    /// Checks a submitted form's token and cookie for `purpose` at `now` (Unix seconds).
    pub fn verify(
        key: &[u8; 32],
        purpose: &str,
        token: Option<&str>,
        cookie_value: Option<&str>,
        now: i64,
    ) -> Result<(), FormTokenError> {
        let (Some(token), Some(cookie_value)) = (non_empty(token), non_empty(cookie_value)) else {
            return Err(FormTokenError::Missing);
        };
        let token = Self::decode(token).ok_or(FormTokenError::Invalid)?;
        // `verify_slice` compares in constant time.
        tag(key, purpose, token.issued_at, &token.nonce)
            .verify_slice(&token.tag)
            .map_err(|_| FormTokenError::Invalid)?;
        let cookie_nonce = URL_SAFE_NO_PAD
            .decode(cookie_value)
            .map_err(|_| FormTokenError::Invalid)?;
        if !bool::from(cookie_nonce.ct_eq(&token.nonce)) {
            return Err(FormTokenError::Invalid);
        }
        let age = now.saturating_sub(token.issued_at);
        if age < MIN_FILL_TIME_SECS {
            // Also a token from the future: only clock trouble makes one, and waiting fixes it.
            return Err(FormTokenError::TooFast);
        }
        if age > MAX_AGE_SECS {
            return Err(FormTokenError::Expired);
        }
        Ok(())
    }

    fn decode(token: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let bytes: &[u8; TOKEN_LEN] = bytes.as_slice().try_into().ok()?;
        let (version, rest) = bytes.split_first()?;
        if *version != VERSION {
            return None;
        }
        let (issued_at, rest) = rest.split_first_chunk::<8>()?;
        let (nonce, tag) = rest.split_first_chunk::<NONCE_LEN>()?;
        Some(Self {
            issued_at: i64::from_be_bytes(*issued_at),
            nonce: *nonce,
            tag: tag.try_into().ok()?,
        })
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn tag(key: &[u8; 32], purpose: &str, issued_at: i64, nonce: &[u8; NONCE_LEN]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(&[VERSION]);
    // Length-prefixed, so no purpose can run into the fields after it.
    mac.update(&(purpose.len() as u64).to_be_bytes());
    mac.update(purpose.as_bytes());
    mac.update(&issued_at.to_be_bytes());
    mac.update(nonce);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const SERVED: i64 = 1_800_000_000;
    const SENT: i64 = SERVED + 20;

    fn flip_one_bit(token: &str, byte: usize) -> String {
        let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
        bytes[byte] ^= 1;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn issued_token_verifies_with_its_cookie() {
        let (token, cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        assert_eq!(
            FormToken::verify(&KEY, "rust-lang", Some(&token), Some(&cookie), SENT),
            Ok(())
        );
    }

    #[test]
    fn token_and_cookie_are_url_safe_and_fresh_each_time() {
        let (token, cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        let (again, other_cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        assert_ne!(token, again);
        assert_ne!(cookie, other_cookie);
        for value in [&token, &cookie] {
            assert!(
                value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{value}"
            );
        }
    }

    #[test]
    fn any_tampering_is_invalid() {
        let (token, cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        for byte in [0, 1, 8, 9, 24, 25, TOKEN_LEN - 1] {
            let tampered = flip_one_bit(&token, byte);
            assert_eq!(
                FormToken::verify(&KEY, "rust-lang", Some(&tampered), Some(&cookie), SENT),
                Err(FormTokenError::Invalid),
                "byte {byte}"
            );
        }
        let truncated = &token[..token.len() - 2];
        assert_eq!(
            FormToken::verify(&KEY, "rust-lang", Some(truncated), Some(&cookie), SENT),
            Err(FormTokenError::Invalid)
        );
        assert_eq!(
            FormToken::verify(&KEY, "rust-lang", Some("not base64!"), Some(&cookie), SENT),
            Err(FormTokenError::Invalid)
        );
    }

    #[test]
    fn token_for_another_purpose_or_key_is_invalid() {
        let (token, cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        assert_eq!(
            FormToken::verify(&KEY, "python", Some(&token), Some(&cookie), SENT),
            Err(FormTokenError::Invalid)
        );
        assert_eq!(
            FormToken::verify(&[8; 32], "rust-lang", Some(&token), Some(&cookie), SENT),
            Err(FormTokenError::Invalid)
        );
    }

    #[test]
    fn missing_token_or_cookie_is_missing() {
        let (token, cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        let cases = [
            (None, Some(cookie.as_str())),
            (Some(token.as_str()), None),
            (Some(""), Some(cookie.as_str())),
            (Some(token.as_str()), Some(" ")),
        ];
        for (token, cookie) in cases {
            assert_eq!(
                FormToken::verify(&KEY, "rust-lang", token, cookie, SENT),
                Err(FormTokenError::Missing)
            );
        }
    }

    #[test]
    fn cookie_from_another_form_is_invalid() {
        let (token, _) = FormToken::issue(&KEY, "rust-lang", SERVED);
        let (_, other_cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        assert_eq!(
            FormToken::verify(&KEY, "rust-lang", Some(&token), Some(&other_cookie), SENT),
            Err(FormTokenError::Invalid)
        );
        assert_eq!(
            FormToken::verify(&KEY, "rust-lang", Some(&token), Some("%%%"), SENT),
            Err(FormTokenError::Invalid)
        );
    }

    #[test]
    fn sent_within_three_seconds_is_too_fast() {
        let (token, cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        let check = |now| FormToken::verify(&KEY, "rust-lang", Some(&token), Some(&cookie), now);
        assert_eq!(check(SERVED), Err(FormTokenError::TooFast));
        assert_eq!(check(SERVED + 2), Err(FormTokenError::TooFast));
        assert_eq!(check(SERVED - 60), Err(FormTokenError::TooFast));
        assert_eq!(check(SERVED + 3), Ok(()));
    }

    #[test]
    fn older_than_two_hours_is_expired() {
        let (token, cookie) = FormToken::issue(&KEY, "rust-lang", SERVED);
        let check = |now| FormToken::verify(&KEY, "rust-lang", Some(&token), Some(&cookie), now);
        assert_eq!(check(SERVED + MAX_AGE_SECS), Ok(()));
        assert_eq!(
            check(SERVED + MAX_AGE_SECS + 1),
            Err(FormTokenError::Expired)
        );
    }

    #[test]
    fn errors_say_what_to_do_without_the_token() {
        let (token, _) = FormToken::issue(&KEY, "rust-lang", SERVED);
        for error in [
            FormTokenError::Missing,
            FormTokenError::Invalid,
            FormTokenError::TooFast,
            FormTokenError::Expired,
        ] {
            let message = error.to_string();
            assert!(
                message.ends_with('.') && !message.contains(&token),
                "{message}"
            );
        }
    }
}
