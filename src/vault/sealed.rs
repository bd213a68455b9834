//! The sealed-string format, `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`, and the AEAD under it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{Tag, XNonce};
use zeroize::Zeroizing;

use super::master_key::KEY_ID_LEN;
use super::{Aad, MasterKey, VaultError};

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The key id a sealed value names, or `None` if it is not a sealed value.
///
/// Lets a caller find values still sealed with an old key without opening them.
pub fn key_id_of(sealed: &str) -> Option<&str> {
    split(sealed).map(|(key_id, _)| key_id)
}

fn split(sealed: &str) -> Option<(&str, &str)> {
    let (key_id, body) = sealed.strip_prefix(PREFIX)?.split_once(':')?;
    let is_key_id = key_id.len() == KEY_ID_LEN
        && key_id
            .bytes()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
    is_key_id.then_some((key_id, body))
}

/// A syntactically valid sealed value: which key, and the decoded `nonce ‖ ciphertext ‖ tag`.
pub(super) struct Parsed<'a> {
    pub key_id: &'a str,
    payload: Vec<u8>,
}

pub(super) fn parse(sealed: &str) -> Result<Parsed<'_>, VaultError> {
    let (key_id, body) = split(sealed).ok_or(VaultError::Malformed)?;
    let payload = STANDARD.decode(body).map_err(|_| VaultError::Malformed)?;
    if payload.len() < NONCE_LEN + TAG_LEN {
        return Err(VaultError::Malformed);
    }
    Ok(Parsed { key_id, payload })
}

/// Seals `plaintext` under `key` with a fresh random nonce.
pub(super) fn seal(key: &MasterKey, plaintext: &[u8], aad: &Aad) -> String {
    let mut nonce = XNonce::default();
    super::fill_random(&mut nonce);
    // Room for the tag up front: growing the buffer would leave a plaintext copy behind.
    let mut payload = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    payload.extend_from_slice(&nonce);
    payload.extend_from_slice(plaintext);
    let tag = key
        .cipher()
        .encrypt_inout_detached(&nonce, &aad.encode(), payload[NONCE_LEN..].as_mut().into())
        // Only messages beyond 256 GiB are refused, and no secret is that long.
        .unwrap_or_else(|_| {
            unreachable!(
                "XChaCha20-Poly1305 refused a {} byte message",
                plaintext.len()
            )
        });
    payload.extend_from_slice(&tag);
    format!("{PREFIX}{}:{}", key.id(), STANDARD.encode(&payload))
}

/// Opens a parsed value with `key` (which the caller chose by `parsed.key_id`).
pub(super) fn open(
    key: &MasterKey,
    parsed: Parsed<'_>,
    aad: &Aad,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    // Wrapped before decrypting in place, so the plaintext is wiped wherever this ends.
    let mut payload = Zeroizing::new(parsed.payload);
    let tag_at = payload.len() - TAG_LEN;
    let nonce = XNonce::try_from(&payload[..NONCE_LEN]).map_err(|_| VaultError::Malformed)?;
    let tag = Tag::try_from(&payload[tag_at..]).map_err(|_| VaultError::Malformed)?;
    key.cipher()
        .decrypt_inout_detached(
            &nonce,
            &aad.encode(),
            payload[NONCE_LEN..tag_at].as_mut().into(),
            &tag,
        )
        .map_err(|_| VaultError::Decrypt)?;
    // Shifting within the allocation, never reallocating, keeps the plaintext in one wiped buffer.
    payload.truncate(tag_at);
    payload.drain(..NONCE_LEN);
    Ok(payload)
}
