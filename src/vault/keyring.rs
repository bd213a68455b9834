//! The master keys in use: the newest seals, every one opens.
//!
//! A keyring loaded from a key file can reload it while the server runs: `lobby keys rotate` adds
//! a key to the file and re-seals every secret with it, so a value naming a key id this process
//! does not hold is the sign to read the file again (at most once per [`RELOAD_INTERVAL`], so a
//! stream of bad values cannot turn into a stream of file reads). Sealing (and saying which key
//! seals) first checks whether the file changed, so a process that opens nothing from the database
//! (its tokens are cached) still seals with the new key. `lobby serve` also reloads on SIGHUP.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{Aad, MasterKey, VaultError, master_key, sealed};

/// The shortest time between two reloads caused by values sealed with an unknown key.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// One or more master keys, oldest first. Never empty; no two keys share an id.
pub struct Keyring {
    keys: RwLock<Arc<Keys>>,
    reload: Option<Reload>,
}

/// Seals with the newest key of a [`Keyring`] as it was when [`Keyring::sealer`] was called.
pub struct Sealer(Arc<Keys>);

impl Sealer {
    /// [`Keyring::seal_str`], with this sealer's key.
    ///
    /// # Panics
    /// If the OS random number generator fails (no nonce can be drawn).
    pub fn seal_str(&self, plaintext: &str, aad: &Aad) -> String {
        sealed::seal(self.0.sealing_key(), plaintext.as_bytes(), aad)
    }
}

/// The keys at one moment; a reload swaps in a new set, so a seal or open sees one set throughout.
pub(super) struct Keys(Vec<MasterKey>);

impl Keys {
    pub(super) fn key(&self, key_id: &str) -> Option<&MasterKey> {
        self.0.iter().find(|key| key.id() == key_id)
    }

    fn sealing_key(&self) -> &MasterKey {
        // `Keyring::new` refuses an empty keyring and a reload only swaps in a checked one.
        self.0
            .last()
            .unwrap_or_else(|| unreachable!("a keyring always holds a key"))
    }
}

/// Where to read the keys again, and when that was last tried because of an unknown key.
struct Reload {
    path: PathBuf,
    last_unknown_key_reload: Mutex<Option<Instant>>,
    /// The file's modification time and length when it was last read.
    read_as: Mutex<Option<(SystemTime, u64)>>,
}

/// What tells a changed key file apart; `None` when it cannot be read.
fn file_stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl Keyring {
    /// A keyring of `keys`, newest last.
    pub fn new(keys: Vec<MasterKey>) -> Result<Self, VaultError> {
        if keys.is_empty() {
            return Err(VaultError::BadKey("no master key given".to_owned()));
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|earlier| earlier.id() == key.id()) {
                return Err(duplicate(key));
            }
        }
        Ok(Self {
            keys: RwLock::new(Arc::new(Keys(keys))),
            reload: None,
        })
    }

    /// Reads base64 keys separated by commas, spaces or newlines, newest last.
    /// Lines starting with `#` are comments.
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let entries = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .flat_map(|line| line.split(|c: char| c == ',' || c.is_whitespace()))
            .filter(|entry| !entry.is_empty());
        let keys = entries
            .enumerate()
            .map(|(i, entry)| {
                master_key::decode(entry).map_err(|why| {
                    VaultError::BadKey(format!("key {} of the keyring is {why}", i + 1))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(keys)
    }

    /// This keyring with `key` added as the newest, so it seals from now on.
    pub fn with_key(self, key: MasterKey) -> Result<Self, VaultError> {
        if self.contains(key.id()) {
            return Err(duplicate(&key));
        }
        let Keyring { keys, reload } = self;
        let keys = keys.into_inner().unwrap_or_else(PoisonError::into_inner);
        let mut keys = Arc::try_unwrap(keys)
            .map(|keys| keys.0)
            .unwrap_or_else(|shared| shared.0.iter().map(MasterKey::duplicate).collect());
        keys.push(key);
        Ok(Self {
            keys: RwLock::new(Arc::new(Keys(keys))),
            reload,
        })
    }

    /// This keyring, able to read its keys again from the key file at `path` (see [`Keyring::reload`]).
    pub fn reloading_from(mut self, path: PathBuf) -> Self {
        self.reload = Some(Reload {
            read_as: Mutex::new(file_stamp(&path)),
            path,
            last_unknown_key_reload: Mutex::new(None),
        });
        self
    }

    /// Reads the key file again and uses its keys from now on; says whether the keys changed.
    ///
    /// A file that no longer holds the key this keyring seals with is refused: that is a
    /// different key file, not a rotation, and values sealed before would stop opening.
    /// Without a key file (keys given inline) there is nothing to reload: `Ok(false)`.
    pub fn reload(&self) -> Result<bool, VaultError> {
        let Some(reload) = &self.reload else {
            return Ok(false);
        };
        let stamp = file_stamp(&reload.path);
        let fresh = super::key_file::read_keyring(&reload.path)?;
        *reload
            .read_as
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = stamp;
        let fresh = fresh.snapshot();
        let current = self.snapshot();
        let sealing = current.sealing_key().id();
        if fresh.key(sealing).is_none() {
            return Err(VaultError::BadKey(format!(
                "{} no longer holds master key {sealing}, which this server seals with; keeping the keys loaded at start",
                reload.path.display()
            )));
        }
        let changed = fresh.0.len() != current.0.len()
            || fresh
                .0
                .iter()
                .zip(&current.0)
                .any(|(a, b)| a.id() != b.id());
        if changed {
            *self.keys.write().unwrap_or_else(PoisonError::into_inner) = fresh;
            tracing::info!(
                path = %reload.path.display(),
                sealing_key_id = %self.sealing_key_id(),
                "reloaded the master keys"
            );
        }
        Ok(changed)
    }

    /// The id of the key new values are sealed with (the newest).
    pub fn sealing_key_id(&self) -> String {
        self.follow_file();
        self.snapshot().sealing_key().id().to_owned()
    }

    /// Every key id, oldest first.
    pub fn key_ids(&self) -> impl ExactSizeIterator<Item = String> + use<> {
        let ids: Vec<String> = self
            .snapshot()
            .0
            .iter()
            .map(|key| key.id().to_owned())
            .collect();
        ids.into_iter()
    }

    pub fn contains(&self, key_id: &str) -> bool {
        self.snapshot().key(key_id).is_some()
    }

    /// Seals `plaintext` for the place `aad` names, with the newest key.
    ///
    /// # Panics
    /// If the OS random number generator fails (no nonce can be drawn).
    pub fn seal(&self, plaintext: &[u8], aad: &Aad) -> String {
        self.follow_file();
        sealed::seal(self.snapshot().sealing_key(), plaintext, aad)
    }

    /// [`Keyring::seal`] for text.
    pub fn seal_str(&self, plaintext: &str, aad: &Aad) -> String {
        self.seal(plaintext.as_bytes(), aad)
    }

    /// The newest key, owned, for sealing later on another task (a value whose row id is not
    /// known yet).
    pub fn sealer(&self) -> Sealer {
        self.follow_file();
        Sealer(self.snapshot())
    }

    /// Opens a value sealed for the place `aad` names, with whichever key sealed it.
    ///
    /// A value naming a key this keyring lacks makes it reload its key file first (rate-limited).
    pub fn open(&self, sealed: &str, aad: &Aad) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let parsed = sealed::parse(sealed)?;
        let mut keys = self.snapshot();
        if keys.key(parsed.key_id).is_none() {
            self.reload_for_unknown_key(parsed.key_id);
            // Another caller may have reloaded meanwhile: look again either way.
            keys = self.snapshot();
        }
        let key = keys
            .key(parsed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(parsed.key_id.to_owned()))?;
        sealed::open(key, parsed, aad)
    }

    /// [`Keyring::open`] for values sealed with [`Keyring::seal_str`].
    pub fn open_str(&self, sealed: &str, aad: &Aad) -> Result<SecretString, VaultError> {
        let bytes = self.open(sealed, aad)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| VaultError::NotUtf8)?;
        // From a `&str` the secret is allocated at its exact size, so no stray copy is left behind.
        Ok(SecretString::from(text))
    }

    /// Opens a value with any key and seals it again with the newest (always with a new nonce,
    /// even if it already was on the newest key: callers skip those by [`super::key_id_of`]).
    pub fn reseal(&self, sealed: &str, aad: &Aad) -> Result<String, VaultError> {
        let plaintext = self.open(sealed, aad)?;
        Ok(self.seal(&plaintext, aad))
    }

    /// A 32-byte key for `purpose` derived from the sealing key (rotating the key rotates it too).
    pub fn derive_key(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        self.snapshot().sealing_key().derive(purpose)
    }

    /// The keys as they are now.
    pub(super) fn snapshot(&self) -> Arc<Keys> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reloads when the key file changed since it was read (`lobby keys rotate` ran).
    fn follow_file(&self) {
        let Some(reload) = &self.reload else {
            return;
        };
        let stamp = file_stamp(&reload.path);
        if *reload
            .read_as
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            == stamp
        {
            return;
        }
        if let Err(error) = self.reload() {
            // Keep sealing with the keys in hand, and do not retry until the file changes again.
            *reload
                .read_as
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = stamp;
            tracing::warn!(%error, "the key file changed and could not be reloaded");
        }
    }

    /// Reloads because a value named `key_id`, unless a reload for that reason ran within
    /// [`RELOAD_INTERVAL`]. Callers arriving during a reload wait for it, so they see its keys.
    fn reload_for_unknown_key(&self, key_id: &str) {
        let Some(reload) = &self.reload else {
            return;
        };
        let mut last = reload
            .last_unknown_key_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < RELOAD_INTERVAL) {
            return;
        }
        *last = Some(now);
        if let Err(error) = self.reload() {
            tracing::warn!(key_id, %error, "a value names an unknown master key and the key file could not be reloaded");
        }
    }
}

fn duplicate(key: &MasterKey) -> VaultError {
    VaultError::BadKey(format!("master key {} is listed twice", key.id()))
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .field("reloads_from", &self.reload.as_ref().map(|r| &r.path))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use secrecy::ExposeSecret;

    use super::*;
    use crate::vault::key_id_of;

    const TOKEN: &str = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx";
    const AAD: Aad<'static> = Aad {
        table: "installations",
        column: "bot_token",
        row: "T0123",
    };

    fn ring() -> Keyring {
        Keyring::new(vec![MasterKey::generate()]).unwrap()
    }

    /// Decodes a sealed value's payload, lets `change` edit it, and encodes it back.
    fn tamper(sealed: &str, change: impl FnOnce(&mut Vec<u8>)) -> String {
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut payload = STANDARD.decode(body).unwrap();
        change(&mut payload);
        format!("{head}:{}", STANDARD.encode(payload))
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_from_the_key() {
        let ring = ring();
        let a = ring.derive_key("form-token");
        assert_eq!(*a, *ring.derive_key("form-token"));
        assert_ne!(*a, *ring.derive_key("csrf"));
    }

    #[test]
    fn sealed_values_open_to_their_plaintext() {
        let ring = ring();
        for plaintext in ["", "x", TOKEN, "héllo wörld ✓"] {
            let sealed = ring.seal_str(plaintext, &AAD);
            assert_eq!(
                ring.open_str(&sealed, &AAD).unwrap().expose_secret(),
                plaintext
            );
        }
        let bytes = [0u8, 255, 1, 254];
        assert_eq!(*ring.open(&ring.seal(&bytes, &AAD), &AAD).unwrap(), bytes);
    }

    #[test]
    fn sealed_values_have_the_documented_shape() {
        let ring = ring();
        let sealed = ring.seal_str(TOKEN, &AAD);
        let rest = sealed.strip_prefix("v1:").unwrap();
        let (key_id, body) = rest.split_once(':').unwrap();
        assert_eq!(key_id, ring.sealing_key_id());
        assert_eq!(STANDARD.decode(body).unwrap().len(), 24 + TOKEN.len() + 16);
    }

    #[test]
    fn a_value_moved_to_another_table_column_or_row_does_not_open() {
        let ring = ring();
        let sealed = ring.seal_str(TOKEN, &AAD);
        for moved in [
            Aad {
                table: "communities",
                ..AAD
            },
            Aad {
                column: "user_token",
                ..AAD
            },
            Aad {
                row: "T0124",
                ..AAD
            },
        ] {
            assert!(
                matches!(ring.open(&sealed, &moved), Err(VaultError::Decrypt)),
                "{moved:?}"
            );
        }
    }

    #[test]
    fn another_key_does_not_open_a_value() {
        let sealed = ring().seal_str(TOKEN, &AAD);
        let other = ring();
        let id = key_id_of(&sealed).unwrap().to_owned();
        assert!(
            matches!(other.open(&sealed, &AAD), Err(VaultError::UnknownKey(unknown)) if unknown == id)
        );
        // Even when the value claims to be sealed with the other key.
        let relabelled = sealed.replace(&id, &other.sealing_key_id());
        assert!(matches!(
            other.open(&relabelled, &AAD),
            Err(VaultError::Decrypt)
        ));
    }

    #[test]
    fn a_flipped_byte_in_nonce_ciphertext_or_tag_is_refused() {
        let ring = ring();
        let sealed = ring.seal_str(TOKEN, &AAD);
        let len = 24 + TOKEN.len() + 16;
        for at in [0, 23, 24, 24 + TOKEN.len() - 1, len - 16, len - 1] {
            let tampered = tamper(&sealed, |payload| payload[at] ^= 0x01);
            assert!(
                matches!(ring.open(&tampered, &AAD), Err(VaultError::Decrypt)),
                "byte {at}"
            );
        }
    }

    #[test]
    fn a_sealed_value_never_shows_its_plaintext() {
        let ring = ring();
        let sealed = ring.seal_str(TOKEN, &AAD);
        assert!(!sealed.contains(TOKEN));
        // The nonce is 24 bytes, so plaintext left in the clear would encode exactly like this.
        assert!(!sealed.contains(STANDARD.encode(TOKEN).trim_end_matches('=')));
    }

    #[test]
    fn every_seal_draws_a_new_nonce() {
        let ring = ring();
        let nonces: HashSet<[u8; 24]> = (0..100_000)
            .map(|_| {
                let sealed = ring.seal(b"s", &AAD);
                let body = sealed.rsplit_once(':').unwrap().1;
                STANDARD.decode(body).unwrap()[..24].try_into().unwrap()
            })
            .collect();
        assert_eq!(nonces.len(), 100_000);
    }

    #[test]
    fn a_new_key_seals_and_old_values_still_open() {
        let old = ring();
        let old_id = old.sealing_key_id().to_owned();
        let sealed_before = old.seal_str(TOKEN, &AAD);
        let new_key = MasterKey::generate();
        let new_id = new_key.id().to_owned();
        let ring = old.with_key(new_key).unwrap();
        assert_eq!(ring.sealing_key_id(), new_id);
        assert_eq!(
            ring.key_ids().collect::<Vec<_>>(),
            [old_id.as_str(), new_id.as_str()]
        );
        assert_eq!(
            key_id_of(&ring.seal_str(TOKEN, &AAD)),
            Some(new_id.as_str())
        );
        assert_eq!(
            ring.open_str(&sealed_before, &AAD).unwrap().expose_secret(),
            TOKEN
        );
    }

    #[test]
    fn reseal_moves_a_value_to_the_newest_key() {
        let first = MasterKey::generate();
        let first_text = first.to_base64();
        let old = Keyring::new(vec![first]).unwrap();
        let sealed = old.seal_str(TOKEN, &AAD);
        let ring = old.with_key(MasterKey::generate()).unwrap();
        let resealed = ring.reseal(&sealed, &AAD).unwrap();
        assert_eq!(key_id_of(&resealed), Some(ring.sealing_key_id().as_str()));
        assert_eq!(
            ring.open_str(&resealed, &AAD).unwrap().expose_secret(),
            TOKEN
        );
        // The old key alone can no longer open it: the old key can be retired.
        let old_only = Keyring::parse(&first_text).unwrap();
        assert!(matches!(
            old_only.open(&resealed, &AAD),
            Err(VaultError::UnknownKey(_))
        ));
        // Resealing checks the place too.
        assert!(matches!(
            ring.reseal(&sealed, &Aad { row: "T9", ..AAD }),
            Err(VaultError::Decrypt)
        ));
    }

    /// The key id in upper case, or with its first character replaced when that changes nothing.
    fn upper_or_mangled(id: &str) -> String {
        let upper = id.to_uppercase();
        if upper != id {
            return upper;
        }
        format!("Z{}", &id[1..])
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        let ring = ring();
        let id = ring.sealing_key_id();
        let short = STANDARD.encode([0u8; 39]);
        let good_body = ring.seal(b"", &AAD).rsplit_once(':').unwrap().1.to_owned();
        for bad in [
            String::new(),
            TOKEN.to_owned(),
            format!("v2:{id}:{good_body}"),
            format!("V1:{id}:{good_body}"),
            format!("v1:{id}"),
            // An id of digits only (1 in 40 random ones) has no upper case: mangle a digit then.
            format!("v1:{}:{good_body}", upper_or_mangled(&id)),
            format!("v1:{}:{good_body}", &id[..7]),
            format!("v1:{id}0:{good_body}"),
            format!("v1:{id}:"),
            format!("v1:{id}:not*base64"),
            format!("v1:{id}:{}", good_body.trim_end_matches('=')),
            format!("v1:{id}:{short}"),
            format!("v1:{id}:{good_body}:"),
        ] {
            assert!(
                matches!(ring.open(&bad, &AAD), Err(VaultError::Malformed)),
                "{bad:?}"
            );
        }
        assert_eq!(key_id_of("v1:zzzzzzzz:AAAA"), None);
        assert_eq!(
            key_id_of(&format!("v1:{id}:{good_body}")),
            Some(id.as_str())
        );
    }

    #[test]
    fn open_str_refuses_bytes_that_are_not_text() {
        let ring = ring();
        let sealed = ring.seal(&[0xff, 0xfe], &AAD);
        assert!(matches!(
            ring.open_str(&sealed, &AAD),
            Err(VaultError::NotUtf8)
        ));
    }

    #[test]
    fn parse_reads_several_keys_newest_last_with_comments() {
        let keys: Vec<_> = (0..3).map(|_| MasterKey::generate()).collect();
        let [a, b, c] = [0, 1, 2].map(|i| keys[i].to_base64().as_str().to_owned());
        let text = format!(
            "# keys for lobby\n{a}, {b}\n  # rotated in March\n\t{}\n\n",
            c.trim_end_matches('=')
        );
        let ring = Keyring::parse(&text).unwrap();
        let ids: Vec<_> = keys.iter().map(MasterKey::id).collect();
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), ids);
        assert_eq!(ring.sealing_key_id(), keys[2].id());
        assert_eq!(
            Keyring::parse(&format!("{a},{b}")).unwrap().key_ids().len(),
            2
        );
    }

    #[test]
    fn parse_refuses_empty_duplicate_and_bad_entries_without_echoing_them() {
        let key = MasterKey::generate().to_base64().as_str().to_owned();
        assert!(matches!(
            Keyring::parse("# only a comment\n \n"),
            Err(VaultError::BadKey(_))
        ));
        assert!(matches!(
            Keyring::parse(&format!("{key}\n{key}")),
            Err(VaultError::BadKey(_))
        ));
        let bad = "c2VjcmV0LWJ1dC1zaG9ydA==";
        let error = Keyring::parse(&format!("{key} {bad}")).unwrap_err();
        assert!(error.to_string().contains("key 2"), "{error}");
        assert!(!error.to_string().contains(bad) && !error.to_string().contains(key.as_str()));
    }

    #[test]
    fn with_key_refuses_a_key_already_in_the_ring() {
        let key = MasterKey::generate();
        let same = MasterKey::from_base64(&key.to_base64()).unwrap();
        let ring = Keyring::new(vec![key]).unwrap();
        assert!(matches!(ring.with_key(same), Err(VaultError::BadKey(_))));
        assert!(matches!(
            Keyring::new(Vec::new()),
            Err(VaultError::BadKey(_))
        ));
    }

    #[test]
    fn debug_shows_key_ids_and_no_key_material() {
        let key = MasterKey::generate();
        let text = key.to_base64();
        let ring = Keyring::new(vec![key]).unwrap();
        let debug = format!("{ring:?}");
        assert!(debug.contains(&ring.sealing_key_id()));
        assert!(!debug.contains(text.trim_end_matches('=')));
        let bytes = STANDARD.decode(text.as_bytes()).unwrap();
        assert!(!debug.contains(&hex::encode(&bytes[..4])));
    }
}
