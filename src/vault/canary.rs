//! A known value sealed per key id, so start-up can tell a master key that does not belong to the
//! database before it touches any real secret.

use super::{Aad, Keyring, VaultError, sealed};

const PLAINTEXT: &[u8] = b"lobby vault canary v1";

fn aad(key_id: &str) -> Aad<'_> {
    Aad {
        table: "vault_canaries",
        column: "sealed",
        row: key_id,
    }
}

/// The canary for `key_id`, sealed with that key (not necessarily the newest), for the caller to store.
pub fn seal_canary(keyring: &Keyring, key_id: &str) -> Result<String, VaultError> {
    let keys = keyring.snapshot();
    let key = keys
        .key(key_id)
        .ok_or_else(|| VaultError::UnknownKey(key_id.to_owned()))?;
    Ok(sealed::seal(key, PLAINTEXT, &aad(key_id)))
}

/// Checks a stored canary against the keyring's key `key_id`.
///
/// `UnknownKey` if the keyring lacks that key; `Decrypt` if the canary is not this key's.
pub fn check_canary(keyring: &Keyring, key_id: &str, sealed: &str) -> Result<(), VaultError> {
    if !keyring.contains(key_id) {
        return Err(VaultError::UnknownKey(key_id.to_owned()));
    }
    let opened = keyring.open(sealed, &aad(key_id))?;
    if opened.as_slice() == PLAINTEXT {
        Ok(())
    } else {
        Err(VaultError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{MasterKey, key_id_of};

    #[test]
    fn a_canary_checks_with_its_own_key() {
        let ring = Keyring::new(vec![MasterKey::generate(), MasterKey::generate()]).unwrap();
        for id in ring.key_ids() {
            let canary = seal_canary(&ring, &id).unwrap();
            assert_eq!(key_id_of(&canary), Some(id.as_str()));
            check_canary(&ring, &id, &canary).unwrap();
        }
    }

    #[test]
    fn a_keyring_without_the_key_is_refused() {
        let ring = Keyring::new(vec![MasterKey::generate()]).unwrap();
        let id = ring.sealing_key_id().to_owned();
        let canary = seal_canary(&ring, &id).unwrap();
        let other = Keyring::new(vec![MasterKey::generate()]).unwrap();
        assert!(
            matches!(check_canary(&other, &id, &canary), Err(VaultError::UnknownKey(k)) if k == id)
        );
        assert!(matches!(
            seal_canary(&other, &id),
            Err(VaultError::UnknownKey(_))
        ));
    }

    #[test]
    fn another_keys_canary_or_another_value_is_refused() {
        let ring = Keyring::new(vec![MasterKey::generate(), MasterKey::generate()]).unwrap();
        let ids: Vec<String> = ring.key_ids().collect();
        let first_canary = seal_canary(&ring, &ids[0]).unwrap();
        assert!(matches!(
            check_canary(&ring, &ids[1], &first_canary),
            Err(VaultError::Decrypt)
        ));
        let not_a_canary = ring.seal(b"something else", &aad(&ids[1]));
        assert!(matches!(
            check_canary(&ring, &ids[1], &not_a_canary),
            Err(VaultError::Decrypt)
        ));
    }
}
