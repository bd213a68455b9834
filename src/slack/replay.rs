//! Signed slash commands and interactivity payloads are accepted once: a captured request replayed
//! inside the five-minute signature window is refused like a bad signature. Events need no guard
//! (their `event_id` is de-duplicated in the database).
//!
//! A bounded in-memory set is enough: an entry is only useful while its timestamp is inside the
//! window, and each instance refuses replays of what it saw itself.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::signature::MAX_SKEW_SECS;

/// How many signatures are remembered at most; past that the oldest are forgotten first. At the
/// fastest acks measured (~50,000/s) this still covers a few seconds; at realistic rates, the
/// whole window.
pub const CAPACITY: usize = 200_000;

#[derive(Default)]
struct Seen {
    /// Signature digest → request timestamp.
    by_digest: HashMap<[u8; 32], i64>,
    /// Insertion order, for eviction.
    order: VecDeque<([u8; 32], i64)>,
}

#[derive(Default)]
pub struct ReplayGuard {
    seen: Mutex<Seen>,
}

impl ReplayGuard {
    /// True the first time a verified signature is presented; false for a replay.
    pub fn first_use(&self, digest: [u8; 32], timestamp: i64, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Forget what has left the window: a replay of it fails the timestamp check anyway.
        while let Some(&(old, ts)) = seen.order.front() {
            if now.saturating_sub(ts) <= MAX_SKEW_SECS && seen.order.len() < CAPACITY {
                break;
            }
            seen.order.pop_front();
            if seen.by_digest.get(&old) == Some(&ts) {
                seen.by_digest.remove(&old);
            }
        }
        if seen.by_digest.contains_key(&digest) {
            return false;
        }
        seen.by_digest.insert(digest, timestamp);
        seen.order.push_back((digest, timestamp));
        true
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
        assert!(guard.first_use([1; 32], 1000, 1000));
        assert!(guard.first_use([2; 32], 1400, 1400));
        let seen = guard.seen.lock().unwrap();
        assert_eq!(seen.by_digest.len(), 1);
        assert!(!seen.by_digest.contains_key(&[1; 32]));
    }

    #[test]
    fn the_set_stays_bounded() {
        let guard = ReplayGuard::default();
        for n in 0..(CAPACITY as u32 + 10) {
            let mut digest = [0; 32];
            digest[..4].copy_from_slice(&n.to_le_bytes());
            assert!(guard.first_use(digest, 1000, 1000));
        }
        assert!(guard.seen.lock().unwrap().by_digest.len() <= CAPACITY);
    }
}
