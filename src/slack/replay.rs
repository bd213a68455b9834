//! Signed slash commands and interactivity payloads are accepted once: a captured request replayed
//! inside the five-minute signature window is refused like a bad signature. Events need no guard
//! (their `event_id` is de-duplicated in the database).
//!
//! A bounded in-memory set is enough: an entry is only useful while its timestamp is inside the
//! window, and each instance refuses replays of what it saw itself.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use super::signature::MAX_SKEW_SECS;

/// How many signatures are remembered at most; past that the oldest are forgotten first. At the
/// fastest acks measured (~50,000/s) this still covers a few seconds; at realistic rates, the
/// whole window.
pub const CAPACITY: usize = 200_000;

/// Independent locks, so concurrent acks rarely wait for each other.
const SHARDS: usize = 8;

/// The first eight bytes of an HMAC-SHA256 digest: already uniformly random (and unpredictable
/// without the signing secret), so they need no hashing, and a chance collision among the
/// remembered ones (about 1 in 10^14 per request) would only refuse one request.
type Key = u64;

/// Hashes a [`Key`] to itself.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used for keys; fold anything else in so the hasher stays correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Default)]
struct Seen {
    /// Signature key → request timestamp.
    by_key: HashMap<Key, i64, BuildHasherDefault<KeyHasher>>,
    /// Insertion order, for eviction.
    order: VecDeque<(Key, i64)>,
}

pub struct ReplayGuard {
    shards: [Mutex<Seen>; SHARDS],
}

impl Default for ReplayGuard {
    fn default() -> Self {
        ReplayGuard {
            shards: std::array::from_fn(|_| Mutex::default()),
        }
    }
}

impl ReplayGuard {
    /// True the first time a verified signature is presented; false for a replay.
    pub fn first_use(&self, digest: [u8; 32], timestamp: i64, now: i64) -> bool {
        let [k0, k1, k2, k3, k4, k5, k6, k7, shard, ..] = digest;
        let key = u64::from_le_bytes([k0, k1, k2, k3, k4, k5, k6, k7]);
        let mut seen = self.shards[usize::from(shard) % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Forget what has left the window: a replay of it fails the timestamp check anyway.
        while let Some(&(old, ts)) = seen.order.front() {
            if now.saturating_sub(ts) <= MAX_SKEW_SECS && seen.order.len() < CAPACITY / SHARDS {
                break;
            }
            seen.order.pop_front();
            if seen.by_key.get(&old) == Some(&ts) {
                seen.by_key.remove(&old);
            }
        }
        if seen.by_key.contains_key(&key) {
            return false;
        }
        seen.by_key.insert(key, timestamp);
        seen.order.push_back((key, timestamp));
        true
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap().by_key.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_accepted_once() {
        let guard = ReplayGuard::default();
        assert!(guard.first_use([1; 32], 1000, 1000));
        assert!(!guard.first_use([1; 32], 1000, 1100));
        assert!(guard.first_use([2; 32], 1000, 1100));
    }

    #[test]
    fn entries_outside_the_window_are_forgotten() {
        let guard = ReplayGuard::default();
        // The same shard (byte 8), so the second insert sweeps the first out.
        let mut second = [2; 32];
        second[8] = 1;
        assert!(guard.first_use([1; 32], 1000, 1000));
        assert!(guard.first_use(second, 1400, 1400));
        assert_eq!(guard.remembered(), 1);
        assert!(
            guard.first_use([1; 32], 1000, 1400),
            "forgotten, not refused"
        );
    }

    #[test]
    fn the_set_stays_bounded() {
        let guard = ReplayGuard::default();
        for n in 0..(CAPACITY as u32 + 10) {
            let mut digest = [0; 32];
            digest[..4].copy_from_slice(&n.to_le_bytes());
            digest[8] = n as u8;
            assert!(guard.first_use(digest, 1000, 1000));
        }
        assert!(guard.remembered() <= CAPACITY);
    }
}
