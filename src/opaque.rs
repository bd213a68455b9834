//! Opaque tokens Lobby hands out (OAuth states, session ids, API keys, confirmation links, join
//! forms) and what it stores in their place.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// `bytes` random bytes from the OS, URL-safe base64.
pub fn random_token(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// What is stored in place of a random token: its SHA-256. The token's 256 random bits make a
/// slow password hash unnecessary.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_requested_entropy_and_hash_to_32_bytes() {
        let a = random_token(32).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, random_token(32).unwrap());
        assert_eq!(token_hash(&a).len(), 32);
    }
}
