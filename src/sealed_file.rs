//! Password-sealed token files: a Slack token that may be committed to a public repository, opened
//! with a password that is not (the research-tool seed's "encrypted API key").
//!
//! The file is JSON, so any language can read it:
//!
//! ```json
//! {
//!   "format": "lobby-sealed-token",
//!   "version": 1,
//!   "kdf": { "name": "argon2id", "version": 19, "m_cost_kib": 65536, "t_cost": 3, "p_cost": 4,
//!            "salt": "<base64, 16 bytes>" },
//!   "cipher": { "name": "xchacha20poly1305", "nonce": "<base64, 24 bytes>",
//!               "ciphertext": "<base64, token ‖ 16-byte tag>" }
//! }
//! ```
//!
//! - The key is Argon2id (version 0x13) of the UTF-8 password with the file's salt and parameters,
//!   32 bytes long. New files use RFC 9106's second recommended setting (64 MiB, 3 passes, 4
//!   lanes) and a fresh random salt.
//! - The token is sealed with XChaCha20-Poly1305 under that key, a fresh random nonce, and the
//!   associated data `lobby-sealed-token/v1`.
//! - The parameters travel in the file, so stronger ones can be chosen later without breaking old
//!   files; opening refuses parameters beyond [`MAX_M_COST_KIB`], [`MAX_T_COST`] and
//!   [`MAX_P_COST`], so a hostile file cannot make the opener allocate without bound.
//! - base64 is the standard alphabet with padding.
//!
//! A wrong password and a tampered file look the same: the tag does not verify.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const FORMAT: &str = "lobby-sealed-token";
const VERSION: u32 = 1;
const KDF_NAME: &str = "argon2id";
const CIPHER_NAME: &str = "xchacha20poly1305";
/// Binds the ciphertext to this format and version.
const ASSOCIATED_DATA: &[u8] = b"lobby-sealed-token/v1";

const KEY_LEN: usize = 32;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The largest Argon2 memory cost a file may ask for: 1 GiB.
pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
pub const MAX_T_COST: u32 = 16;
pub const MAX_P_COST: u32 = 16;

/// The Argon2id cost of a sealed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl KdfParams {
    /// RFC 9106 §4, second recommended option: 64 MiB, 3 passes, 4 lanes.
    pub const RECOMMENDED: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 4,
    };
}

#[derive(Debug, thiserror::Error)]
pub enum SealedFileError {
    #[error("wrong password, or the sealed file was altered")]
    WrongPassword,
    #[error("not a sealed token file: {0}")]
    Malformed(String),
    #[error("sealed token file version {0} is not supported (this lobby reads version 1)")]
    UnsupportedVersion(u32),
    #[error("the sealed file's key derivation parameters are not acceptable: {0}")]
    Params(String),
    #[error("the sealed token is not valid text")]
    NotText,
    #[error("the operating system's random number generator failed")]
    Random,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    version: u32,
    kdf: Kdf,
    cipher: Cipher,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    name: String,
    version: u32,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cipher {
    name: String,
    nonce: String,
    ciphertext: String,
}

/// Seals `token` under `password` with the recommended parameters; returns the file's text.
pub fn seal(token: &SecretString, password: &SecretString) -> Result<String, SealedFileError> {
    seal_with(token, password, KdfParams::RECOMMENDED)
}

/// Seals with explicit parameters (tests use cheap ones).
pub fn seal_with(
    token: &SecretString,
    password: &SecretString,
    params: KdfParams,
) -> Result<String, SealedFileError> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut salt).map_err(|_| SealedFileError::Random)?;
    getrandom::fill(&mut nonce).map_err(|_| SealedFileError::Random)?;
    let key = derive_key(password, &salt, params)?;
    let ciphertext = XChaCha20Poly1305::new((&*key).into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: token.expose_secret().as_bytes(),
                aad: ASSOCIATED_DATA,
            },
        )
        // Only messages beyond 256 GiB are refused, and no token is that long.
        .map_err(|_| SealedFileError::Malformed("the token is too long to seal".into()))?;
    let file = File {
        format: FORMAT.into(),
        version: VERSION,
        kdf: Kdf {
            name: KDF_NAME.into(),
            version: u32::from(Version::V0x13),
            m_cost_kib: params.m_cost_kib,
            t_cost: params.t_cost,
            p_cost: params.p_cost,
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: CIPHER_NAME.into(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(&ciphertext),
        },
    };
    let mut text = serde_json::to_string_pretty(&file)
        .map_err(|e| SealedFileError::Malformed(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// Opens a sealed file's text with `password`.
pub fn open(text: &str, password: &SecretString) -> Result<SecretString, SealedFileError> {
    let file = parse(text)?;
    let salt = decode("kdf.salt", &file.kdf.salt)?;
    let nonce = decode("cipher.nonce", &file.cipher.nonce)?;
    let ciphertext = decode("cipher.ciphertext", &file.cipher.ciphertext)?;
    let nonce = XNonce::try_from(nonce.as_slice())
        .map_err(|_| SealedFileError::Malformed(format!("the nonce is not {NONCE_LEN} bytes")))?;
    if ciphertext.len() < TAG_LEN {
        return Err(SealedFileError::Malformed(
            "the ciphertext is too short".into(),
        ));
    }
    let params = KdfParams {
        m_cost_kib: file.kdf.m_cost_kib,
        t_cost: file.kdf.t_cost,
        p_cost: file.kdf.p_cost,
    };
    check_limits(params)?;
    let key = derive_key(password, &salt, params)?;
    let plaintext = XChaCha20Poly1305::new((&*key).into())
        .decrypt(
            &nonce,
            Payload {
                msg: &ciphertext,
                aad: ASSOCIATED_DATA,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SealedFileError::WrongPassword)?;
    let token = std::str::from_utf8(&plaintext).map_err(|_| SealedFileError::NotText)?;
    Ok(SecretString::from(token.to_owned()))
}

/// The file's structure, checked before any costly key derivation.
fn parse(text: &str) -> Result<File, SealedFileError> {
    // The position only: serde's message may quote the input, which could be a plain token.
    let file: File = serde_json::from_str(text).map_err(|e| {
        SealedFileError::Malformed(format!(
            "not the expected JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if file.format != FORMAT {
        return Err(SealedFileError::Malformed(format!(
            "the format is not {FORMAT:?}"
        )));
    }
    if file.version != VERSION {
        return Err(SealedFileError::UnsupportedVersion(file.version));
    }
    if file.kdf.name != KDF_NAME || file.kdf.version != u32::from(Version::V0x13) {
        return Err(SealedFileError::Params(
            "only argon2id version 19 is supported".into(),
        ));
    }
    if file.cipher.name != CIPHER_NAME {
        return Err(SealedFileError::Malformed(format!(
            "the cipher is not {CIPHER_NAME}"
        )));
    }
    Ok(file)
}

fn decode(field: &str, value: &str) -> Result<Vec<u8>, SealedFileError> {
    STANDARD
        .decode(value)
        .map_err(|_| SealedFileError::Malformed(format!("{field} is not base64")))
}

fn check_limits(params: KdfParams) -> Result<(), SealedFileError> {
    if params.m_cost_kib > MAX_M_COST_KIB
        || params.t_cost > MAX_T_COST
        || params.p_cost > MAX_P_COST
    {
        return Err(SealedFileError::Params(format!(
            "at most m_cost_kib={MAX_M_COST_KIB}, t_cost={MAX_T_COST}, p_cost={MAX_P_COST}"
        )));
    }
    Ok(())
}

fn derive_key(
    password: &SecretString,
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>, SealedFileError> {
    let argon_params = Params::new(
        params.m_cost_kib,
        params.t_cost,
        params.p_cost,
        Some(KEY_LEN),
    )
    .map_err(|e| SealedFileError::Params(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params)
        .hash_password_into(password.expose_secret().as_bytes(), salt, key.as_mut())
        .map_err(|e| SealedFileError::Params(e.to_string()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "xoxb-1234-5678-sealedsecret";

    /// Cheap parameters keep the tests fast; the format is the same.
    const CHEAP: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn sealed() -> String {
        seal_with(&secret(TOKEN), &secret("correct horse"), CHEAP).expect("sealed")
    }

    fn edit(text: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut value: serde_json::Value = serde_json::from_str(text).expect("json");
        edit(&mut value);
        value.to_string()
    }

    #[test]
    fn a_sealed_token_opens_with_its_password() {
        let opened = open(&sealed(), &secret("correct horse")).expect("opens");
        assert_eq!(opened.expose_secret(), TOKEN);
    }

    #[test]
    fn the_file_names_its_format_and_parameters_and_hides_the_token() {
        let text = sealed();
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["format"], FORMAT);
        assert_eq!(value["version"], 1);
        assert_eq!(value["kdf"]["name"], "argon2id");
        assert_eq!(value["kdf"]["m_cost_kib"], 64);
        assert_eq!(value["cipher"]["name"], "xchacha20poly1305");
        assert!(!text.contains("sealedsecret"));
    }

    #[test]
    fn the_default_parameters_are_rfc_9106s_second_recommendation() {
        let text = seal(&secret(TOKEN), &secret("pw")).expect("sealed");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["kdf"]["m_cost_kib"], 65536);
        assert_eq!(value["kdf"]["t_cost"], 3);
        assert_eq!(value["kdf"]["p_cost"], 4);
        assert_eq!(
            open(&text, &secret("pw")).expect("opens").expose_secret(),
            TOKEN
        );
    }

    #[test]
    fn sealing_twice_uses_fresh_salt_and_nonce() {
        assert_ne!(sealed(), sealed());
    }

    #[test]
    fn a_wrong_password_is_refused() {
        let err = open(&sealed(), &secret("wrong horse")).expect_err("refused");
        assert!(matches!(err, SealedFileError::WrongPassword), "{err:?}");
    }

    #[test]
    fn changed_parameters_or_ciphertext_are_refused_like_a_wrong_password() {
        let weaker = edit(&sealed(), |v| v["kdf"]["t_cost"] = 2.into());
        assert!(matches!(
            open(&weaker, &secret("correct horse")),
            Err(SealedFileError::WrongPassword)
        ));
        let text = sealed();
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        let mut bytes = STANDARD
            .decode(value["cipher"]["ciphertext"].as_str().expect("str"))
            .expect("b64");
        bytes[0] ^= 1;
        let flipped = edit(&text, |v| {
            v["cipher"]["ciphertext"] = STANDARD.encode(&bytes).into()
        });
        assert!(matches!(
            open(&flipped, &secret("correct horse")),
            Err(SealedFileError::WrongPassword)
        ));
    }

    #[test]
    fn an_unknown_version_is_named() {
        let future = edit(&sealed(), |v| v["version"] = 2.into());
        assert!(matches!(
            open(&future, &secret("correct horse")),
            Err(SealedFileError::UnsupportedVersion(2))
        ));
    }

    #[test]
    fn a_file_asking_for_unbounded_memory_is_refused_before_deriving() {
        let hostile = edit(&sealed(), |v| v["kdf"]["m_cost_kib"] = u32::MAX.into());
        assert!(matches!(
            open(&hostile, &secret("correct horse")),
            Err(SealedFileError::Params(_))
        ));
    }

    #[test]
    fn other_text_is_malformed_without_echoing_it() {
        let err = open("xoxb-1234-plain-token", &secret("pw")).expect_err("refused");
        assert!(matches!(err, SealedFileError::Malformed(_)), "{err:?}");
        assert!(!err.to_string().contains("plain-token"), "{err}");
    }
}
