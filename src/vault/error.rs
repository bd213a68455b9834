//! What can go wrong while sealing, opening or loading keys.
//!
//! Messages are one human line, shown on stderr at start-up; they never carry key material or
//! plaintext.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the value is not a sealed secret (expected v1:<key id>:<base64>)")]
    Malformed,
    #[error("the value was sealed with master key {0}, which is not in the keyring")]
    UnknownKey(String),
    #[error(
        "the sealed value does not open: wrong master key, moved to another row, or tampered with"
    )]
    Decrypt,
    #[error("the opened value is not UTF-8 text")]
    NotUtf8,
    #[error("invalid master key: {0}")]
    BadKey(String),
    #[error(
        "master key file {} is accessible by group or others (mode {mode:03o}); run: chmod 600 {}",
        path.display(),
        path.display()
    )]
    KeyFileExposed { path: PathBuf, mode: u32 },
    #[error("could not {action} {}: {error}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        error: io::Error,
    },
}
