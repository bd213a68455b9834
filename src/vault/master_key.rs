//! A 32-byte master key and the id that names it.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::VaultError;

pub(super) const KEY_LEN: usize = 32;

/// Length of a key id in hex characters (the first 4 bytes of the hash).
pub(super) const KEY_ID_LEN: usize = 8;

/// Separates key ids from every other SHA-256 of the key Lobby might ever compute.
const KEY_ID_LABEL: &[u8] = b"lobby.vault.key-id.v1\0";

/// Keys arrive from people (env vars, files): accept standard base64 with or without padding.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Domain separation for keys derived from a master key.
const DERIVE_LABEL: &[u8] = b"lobby.vault.derive.v1\0";

/// A 256-bit master key. The bytes live on the heap and are zeroized on drop; `Debug` shows the id only.
pub struct MasterKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
    id: String,
}

impl MasterKey {
    /// A fresh key from the OS random number generator.
    ///
    /// # Panics
    /// If the OS random number generator fails (see `vault::fill_random`).
    pub fn generate() -> Self {
        Self::from_secret(SecretBox::init_with_mut(|bytes: &mut [u8; KEY_LEN]| {
            super::fill_random(bytes);
        }))
    }

    /// Reads a key written as standard base64 (padding optional), e.g. by `openssl rand -base64 32`.
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        decode(text).map_err(|why| VaultError::BadKey(why.to_owned()))
    }

    /// The key as padded standard base64, for writing to a key file or showing once to an operator.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.expose_secret()))
    }

    /// 8 lowercase hex characters naming this key; the same key always has the same id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A key for another `purpose` (e.g. signing form tokens), derived with HMAC-SHA256 so the
    /// sealing key itself is never used for anything but sealing.
    pub(super) fn derive(&self, purpose: &str) -> Zeroizing<[u8; KEY_LEN]> {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.bytes.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(DERIVE_LABEL);
        mac.update(purpose.as_bytes());
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        out.copy_from_slice(&mac.finalize().into_bytes());
        out
    }

    pub(super) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.bytes.expose_secret().into())
    }

    /// The same key in a second allocation (keys are deliberately not `Clone`).
    pub(super) fn duplicate(&self) -> Self {
        Self::from_secret(SecretBox::init_with_mut(|bytes: &mut [u8; KEY_LEN]| {
            bytes.copy_from_slice(self.bytes.expose_secret());
        }))
    }

    fn from_secret(bytes: SecretBox<[u8; KEY_LEN]>) -> Self {
        let digest = Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(bytes.expose_secret())
            .finalize();
        let id = hex::encode(&digest[..KEY_ID_LEN / 2]);
        Self { bytes, id }
    }
}

/// Decodes one base64 key; the error says why in words and never echoes the input.
pub(super) fn decode(text: &str) -> Result<MasterKey, &'static str> {
    let decoded = Zeroizing::new(
        LENIENT_BASE64
            .decode(text.trim())
            .map_err(|_| "not valid base64")?,
    );
    if decoded.len() != KEY_LEN {
        return Err("not 32 bytes long (make one with: openssl rand -base64 32)");
    }
    Ok(MasterKey::from_secret(SecretBox::init_with_mut(
        |bytes: &mut [u8; KEY_LEN]| bytes.copy_from_slice(&decoded),
    )))
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn a_key_reads_back_from_its_base64() {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.id(), key.id());
        assert_eq!(*again.to_base64(), *key.to_base64());
    }

    #[test]
    fn key_ids_are_stable_and_pinned() {
        // Every sealed value names its key by this id: changing the derivation would orphan them all.
        let id = MasterKey::from_base64(KEY).unwrap().id().to_owned();
        assert_eq!(id, MasterKey::from_base64(KEY).unwrap().id());
        assert_eq!(id, "a9f756ce");
    }

    #[test]
    fn key_ids_are_eight_lowercase_hex_and_distinct() {
        let a = MasterKey::generate();
        let b = MasterKey::generate();
        assert_ne!(a.id(), b.id());
        for id in [a.id(), b.id()] {
            assert_eq!(id.len(), KEY_ID_LEN);
            assert!(id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        }
    }

    #[test]
    fn padding_and_surrounding_whitespace_are_optional() {
        let unpadded = KEY.trim_end_matches('=');
        let id = MasterKey::from_base64(KEY).unwrap().id().to_owned();
        assert_eq!(MasterKey::from_base64(unpadded).unwrap().id(), id);
        assert_eq!(
            MasterKey::from_base64(&format!("  {KEY}\n")).unwrap().id(),
            id
        );
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let short = STANDARD.encode([7u8; 16]);
        for text in ["", "not base64 at all!", short.as_str()] {
            let error = MasterKey::from_base64(text).unwrap_err();
            assert!(matches!(error, VaultError::BadKey(_)), "{text:?}: {error}");
            if !text.is_empty() {
                assert!(!error.to_string().contains(text));
            }
        }
    }

    #[test]
    fn debug_shows_the_id_and_no_key_material() {
        let key = MasterKey::from_base64(KEY).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.id()));
        assert!(!debug.contains(KEY.trim_end_matches('=')));
        assert!(!debug.contains("0, 1, 2, 3"));
        assert!(!debug.contains("000102030405"));
    }
}
