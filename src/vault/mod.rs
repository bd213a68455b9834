//! Sealing secrets at rest.
//!
//! Every token and secret Lobby stores is sealed into a string of the form
//!
//! ```text
//! v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>
//! ```
//!
//! - XChaCha20-Poly1305 with a fresh random 24-byte nonce from the OS for every seal;
//! - base64 is the standard alphabet *with* padding (what `openssl rand -base64` prints);
//! - the key id is 8 lowercase hex characters derived from the key itself, so a value names the
//!   master key that opens it and a wrong key shows up as an unknown id;
//! - the associated data binds a value to its table, column and row ([`Aad`]), so a sealed value
//!   copied to another row, column or table fails to open.
//!
//! A [`Keyring`] holds one or more master keys, newest last: the newest seals, every key opens.
//! A canary per key id ([`seal_canary`], [`check_canary`]) lets start-up refuse a key that does not
//! belong to the database. [`load_keyring`] and [`append_key`] keep key material on disk.
//!
//! Nothing here touches the database: callers store the sealed strings and canaries.

mod aad;
mod canary;
mod error;
mod key_file;
mod keyring;
mod master_key;
mod sealed;

pub use aad::Aad;
pub use canary::{check_canary, seal_canary};
pub use error::VaultError;
pub use key_file::{KeySource, LoadedKeyring, append_key, load_keyring};
pub use keyring::{Keyring, Sealer};
pub use master_key::MasterKey;
pub use sealed::key_id_of;

/// Fills `buf` from the operating system's random number generator.
///
/// # Panics
/// If the OS cannot provide randomness: nothing can be sealed safely then, and on the platforms
/// Lobby runs on this does not happen once the system has booted.
fn fill_random(buf: &mut [u8]) {
    if let Err(error) = getrandom::fill(buf) {
        panic!("the operating system's random number generator failed: {error}");
    }
}
