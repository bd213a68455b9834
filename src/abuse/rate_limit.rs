//! Per-client attempt limits over several time windows at once.
//!
//! Algorithm: a sliding log. For each subject we keep the times of its recent *accepted*
//! attempts (at most as many as the largest window limit). A window of `limit` per `period`
//! refuses while the `limit`-th most recent accepted attempt is younger than `period`, and the
//! subject may try again when that attempt leaves the window. Refused attempts are not
//! recorded: a client that keeps knocking is told the same honest retry time and gets back in
//! as soon as its earlier attempts age out, instead of locking itself (or its neighbours on a
//! shared address) out indefinitely.
//!
//! Memory is bounded twice over: each log holds at most the largest limit, and the number of
//! subjects is capped. Subjects idle for longer than the longest window are swept every
//! [`SWEEP_EVERY`] checks; if the table is still full when a new subject arrives, the least
//! recently active quarter is forgotten (those clients get a fresh budget, which is the price
//! of not letting a flood of addresses exhaust memory or lock everyone else out).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many checks pass between sweeps of idle subjects.
pub const SWEEP_EVERY: u32 = 1024;

/// How many subjects the join form's limiter tracks at most (about 200 bytes each).
pub const JOIN_FORM_MAX_SUBJECTS: usize = 50_000;

/// At most `limit` accepted attempts in any `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: NonZeroU32,
    pub period: Duration,
}

/// The join form's limits: a burst of 10 a minute, and 5 per half hour over the longer run.
/// (The `unwrap`s run at compile time.)
pub const JOIN_FORM_WINDOWS: [Window; 2] = [
    Window {
        limit: NonZeroU32::new(10).unwrap(),
        period: Duration::from_secs(60),
    },
    Window {
        limit: NonZeroU32::new(5).unwrap(),
        period: Duration::from_secs(30 * 60),
    },
];

/// Starting Add to Slack or Sign in with Slack writes an OAuth state row: 30 a minute and 300 an
/// hour per client are far beyond a person, and keep one client from filling the table.
pub const OAUTH_START_WINDOWS: [Window; 2] = [
    Window {
        limit: NonZeroU32::new(30).unwrap(),
        period: Duration::from_secs(60),
    },
    Window {
        limit: NonZeroU32::new(300).unwrap(),
        period: Duration::from_secs(60 * 60),
    },
];

/// Whom a limit applies to: an IPv4 address, or an IPv6 /64 (the smallest network a
/// provider hands out, so one client can cheaply use any address inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    V4(Ipv4Addr),
    /// The upper 64 bits of the address.
    V6Prefix(u64),
}

impl From<IpAddr> for Subject {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => Self::V6Prefix((v6.to_bits() >> 64) as u64),
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::V4(ip) => write!(f, "{ip}"),
            Subject::V6Prefix(prefix) => write!(f, "{prefix:016x}::/64"),
        }
    }
}

/// Refused: the subject may try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts; try again in {} seconds", self.whole_seconds())]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// The wait rounded up to whole seconds, as a `Retry-After` header wants it.
    pub fn whole_seconds(&self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }
}

pub struct RateLimiter {
    windows: Vec<Window>,
    longest: Duration,
    /// The largest limit: older attempts than this many can never decide anything.
    log_len: usize,
    max_subjects: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Accepted attempt times per subject, oldest first.
    logs: HashMap<Subject, VecDeque<Instant>>,
    checks_since_sweep: u32,
}

impl RateLimiter {
    /// A limiter where every window must pass, tracking at most `max_subjects` (at least one).
    pub fn new(windows: &[Window], max_subjects: usize) -> Self {
        Self {
            windows: windows.to_vec(),
            longest: windows.iter().map(|w| w.period).max().unwrap_or_default(),
            log_len: windows
                .iter()
                .map(|w| w.limit.get() as usize)
                .max()
                .unwrap_or(0),
            max_subjects: max_subjects.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// 10 per minute and 5 per 30 minutes, per IPv4 address or IPv6 /64.
    pub fn join_form() -> Self {
        Self::new(&JOIN_FORM_WINDOWS, JOIN_FORM_MAX_SUBJECTS)
    }

    /// The limits on starting an OAuth flow (install or sign-in).
    pub fn oauth_start() -> Self {
        Self::new(&OAUTH_START_WINDOWS, JOIN_FORM_MAX_SUBJECTS)
    }

    /// Records an attempt from `ip` at `now` if every window allows it.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), RetryAfter> {
        let subject = Subject::from(ip);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.checks_since_sweep += 1;
        if state.checks_since_sweep >= SWEEP_EVERY {
            self.sweep(&mut state, now);
        }
        if !state.logs.contains_key(&subject) && state.logs.len() >= self.max_subjects {
            self.sweep(&mut state, now);
            if state.logs.len() >= self.max_subjects {
                self.evict_least_recent(&mut state);
            }
        }

        let log = state
            .logs
            .entry(subject)
            .or_insert_with(|| VecDeque::with_capacity(self.log_len));
        if let Some(wait) = self.windows.iter().filter_map(|w| w.wait(log, now)).max() {
            return Err(RetryAfter(wait));
        }
        if log.len() == self.log_len {
            log.pop_front();
        }
        if self.log_len > 0 {
            log.push_back(now);
        }
        Ok(())
    }

    /// The windows every attempt must pass.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// How many subjects are tracked now.
    pub fn tracked_subjects(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .logs
            .len()
    }

    /// Forgets subjects whose newest attempt is outside every window.
    fn sweep(&self, state: &mut State, now: Instant) {
        state.checks_since_sweep = 0;
        state.logs.retain(|_, log| {
            log.back()
                .is_some_and(|newest| now.saturating_duration_since(*newest) < self.longest)
        });
    }

    /// Forgets the least recently active quarter of the subjects (at least one).
    fn evict_least_recent(&self, state: &mut State) {
        let mut by_activity: Vec<(Option<Instant>, Subject)> = state
            .logs
            .iter()
            .map(|(subject, log)| (log.back().copied(), *subject))
            .collect();
        let evict = (by_activity.len() / 4).max(1);
        by_activity.select_nth_unstable_by_key(evict - 1, |(last_seen, _)| *last_seen);
        for (_, subject) in &by_activity[..evict] {
            state.logs.remove(subject);
        }
    }
}

impl Window {
    /// How long until this window allows another attempt, or `None` if it allows one now.
    fn wait(&self, log: &VecDeque<Instant>, now: Instant) -> Option<Duration> {
        let index = log.len().checked_sub(self.limit.get() as usize)?;
        let age = now.saturating_duration_since(log[index]);
        (age < self.period).then(|| self.period - age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_budget() {
        let limiter = RateLimiter::join_form();
        let now = Instant::now();
        for host in 1..=5 {
            let address = ip(&format!("2001:db8:1:2::{host:x}"));
            assert_eq!(limiter.check(address, now), Ok(()));
        }
        assert!(limiter.check(ip("2001:db8:1:2:ffff::1"), now).is_err());
        assert_eq!(limiter.check(ip("2001:db8:1:3::1"), now), Ok(()));
    }

    #[test]
    fn ipv4_addresses_have_their_own_budgets() {
        let limiter = RateLimiter::join_form();
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.check(ip("192.0.2.1"), now), Ok(()));
        }
        assert!(limiter.check(ip("192.0.2.1"), now).is_err());
        assert_eq!(limiter.check(ip("192.0.2.2"), now), Ok(()));
        assert!(
            limiter.check(ip("::ffff:192.0.2.1"), now).is_err(),
            "an IPv4-mapped address is the same client"
        );
    }

    #[test]
    fn per_minute_limit_bites_with_the_time_until_the_oldest_leaves() {
        let limiter = RateLimiter::new(
            &[Window {
                limit: NonZeroU32::new(10).unwrap(),
                period: MINUTE,
            }],
            100,
        );
        let start = Instant::now();
        let client = ip("198.51.100.4");
        for second in 0..10 {
            let now = start + Duration::from_secs(second);
            assert_eq!(limiter.check(client, now), Ok(()));
        }
        let refused_at = start + Duration::from_secs(15);
        assert_eq!(
            limiter.check(client, refused_at),
            Err(RetryAfter(Duration::from_secs(45)))
        );
        assert_eq!(limiter.check(client, start + MINUTE), Ok(()));
        assert_eq!(
            limiter.check(client, start + MINUTE),
            Err(RetryAfter(Duration::from_secs(1)))
        );
    }

    #[test]
    fn half_hour_limit_bites_after_five_and_waits_for_the_first() {
        let limiter = RateLimiter::join_form();
        let start = Instant::now();
        let client = ip("198.51.100.5");
        for minute in 0..5 {
            assert_eq!(limiter.check(client, start + MINUTE * minute), Ok(()));
        }
        let now = start + MINUTE * 10;
        assert_eq!(
            limiter.check(client, now),
            Err(RetryAfter(MINUTE * 20)),
            "the first attempt leaves the 30-minute window 20 minutes from now"
        );
        assert_eq!(limiter.check(client, start + MINUTE * 30), Ok(()));
    }

    #[test]
    fn both_windows_must_pass_and_the_longer_wait_is_given() {
        let limiter = RateLimiter::new(
            &[
                Window {
                    limit: NonZeroU32::new(2).unwrap(),
                    period: MINUTE,
                },
                Window {
                    limit: NonZeroU32::new(3).unwrap(),
                    period: MINUTE * 30,
                },
            ],
            100,
        );
        let start = Instant::now();
        let client = ip("198.51.100.6");
        assert_eq!(limiter.check(client, start), Ok(()));
        assert_eq!(limiter.check(client, start), Ok(()));
        assert_eq!(
            limiter.check(client, start + Duration::from_secs(20)),
            Err(RetryAfter(Duration::from_secs(40))),
            "the minute window bites first"
        );
        assert_eq!(limiter.check(client, start + MINUTE), Ok(()));
        assert_eq!(
            limiter.check(client, start + MINUTE * 2),
            Err(RetryAfter(MINUTE * 28)),
            "then the half-hour window"
        );
    }

    #[test]
    fn refused_attempts_are_not_counted() {
        let limiter = RateLimiter::join_form();
        let start = Instant::now();
        let client = ip("198.51.100.7");
        for _ in 0..5 {
            limiter.check(client, start).unwrap();
        }
        for minute in 1..30 {
            assert!(limiter.check(client, start + MINUTE * minute).is_err());
        }
        assert_eq!(limiter.check(client, start + MINUTE * 30), Ok(()));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(RetryAfter(Duration::from_millis(1)).whole_seconds(), 1);
        assert_eq!(RetryAfter(Duration::from_secs(45)).whole_seconds(), 45);
        assert_eq!(
            RetryAfter(Duration::from_millis(45_001)).whole_seconds(),
            46
        );
    }

    #[test]
    fn subjects_are_capped() {
        let limiter = RateLimiter::new(&JOIN_FORM_WINDOWS, 100);
        let now = Instant::now();
        for n in 0..10_000u32 {
            let address = IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 + n));
            assert_eq!(limiter.check(address, now), Ok(()));
            assert!(limiter.tracked_subjects() <= 100);
        }
    }

    #[test]
    fn idle_subjects_are_swept() {
        let limiter = RateLimiter::join_form();
        let start = Instant::now();
        for n in 0..500u32 {
            let address = IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 + n));
            limiter.check(address, start).unwrap();
        }
        assert_eq!(limiter.tracked_subjects(), 500);
        let later = start + MINUTE * 31;
        let regular = ip("192.0.2.200");
        for n in 0..SWEEP_EVERY {
            // Spread over time so the one regular client stays within its limits.
            let _ = limiter.check(regular, later + Duration::from_secs(u64::from(n)));
        }
        assert_eq!(limiter.tracked_subjects(), 1);
    }

    #[test]
    fn eviction_keeps_the_most_recently_active() {
        let limiter = RateLimiter::new(&JOIN_FORM_WINDOWS, 4);
        let start = Instant::now();
        for (n, address) in ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
            .into_iter()
            .enumerate()
        {
            let now = start + Duration::from_secs(n as u64);
            for _ in 0..5 {
                limiter.check(ip(address), now).unwrap();
            }
        }
        let now = start + Duration::from_secs(10);
        limiter.check(ip("192.0.2.5"), now).unwrap();
        assert_eq!(limiter.tracked_subjects(), 4);
        assert_eq!(
            limiter.check(ip("192.0.2.1"), now),
            Ok(()),
            "the least recently active subject was forgotten"
        );
        assert!(limiter.check(ip("192.0.2.4"), now).is_err());
    }
}
