//! How long a job waits before its next attempt.

use std::time::Duration;

/// Exponential backoff with equal jitter: attempt `n` waits between half and all of
/// `base · 2^(n-1)`, capped at `cap`. Half is fixed so waits keep growing; half is random so
/// jobs that failed together (Slack down, a rate limit) do not all come back at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    pub const DEFAULT: Backoff = Backoff {
        base: Duration::from_secs(2),
        cap: Duration::from_secs(60 * 60),
    };

    /// The wait after attempt `attempt` (from 1) failed; never shorter than `retry_after`.
    pub fn delay(&self, attempt: i64, retry_after: Option<Duration>) -> Duration {
        let exponential = self.ceiling(attempt);
        let fixed = exponential / 2;
        let jittered = fixed + random_up_to(exponential - fixed);
        jittered.max(retry_after.unwrap_or_default())
    }

    /// `base · 2^(attempt-1)`, capped, without overflowing for any attempt.
    fn ceiling(&self, attempt: i64) -> Duration {
        let doublings = attempt.saturating_sub(1).max(0);
        u32::try_from(doublings)
            .ok()
            .and_then(|doublings| 2u32.checked_pow(doublings))
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.cap, |d| d.min(self.cap))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::DEFAULT
    }
}

/// [`Backoff::DEFAULT`]: 2 s doubling up to an hour, with jitter, never before `retry_after`.
pub fn backoff(attempt: i64, retry_after: Option<Duration>) -> Duration {
    Backoff::DEFAULT.delay(attempt, retry_after)
}

/// A uniformly random duration in `[0, max]`, at nanosecond resolution.
fn random_up_to(max: Duration) -> Duration {
    let Ok(max_nanos) = u64::try_from(max.as_nanos()) else {
        return max;
    };
    if max_nanos == 0 {
        return Duration::ZERO;
    }
    // Without OS randomness the wait is still correct, only not spread out.
    let random = getrandom::u64().unwrap_or(max_nanos);
    Duration::from_nanos(random % (max_nanos.saturating_add(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_each_attempt_within_their_jitter_band() {
        for attempt in 1..=8 {
            let ceiling = Duration::from_secs(2) * 2u32.pow(u32::try_from(attempt - 1).unwrap());
            for _ in 0..50 {
                let delay = backoff(attempt, None);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "attempt {attempt}: {delay:?}"
                );
            }
        }
    }

    #[test]
    fn delays_are_jittered() {
        let delays: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff(5, None)).collect();
        assert!(delays.len() > 10, "only {} distinct delays", delays.len());
    }

    #[test]
    fn delays_are_capped_at_an_hour_even_for_absurd_attempts() {
        for attempt in [12, 40, 1_000, i64::MAX] {
            let delay = backoff(attempt, None);
            assert!(
                delay <= Duration::from_secs(3600),
                "attempt {attempt}: {delay:?}"
            );
            assert!(
                delay >= Duration::from_secs(1800),
                "attempt {attempt}: {delay:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_never_undercut() {
        let retry_after = Duration::from_secs(90);
        for _ in 0..50 {
            assert!(backoff(1, Some(retry_after)) >= retry_after);
        }
        let beyond_cap = Duration::from_secs(2 * 3600);
        assert_eq!(backoff(30, Some(beyond_cap)), beyond_cap);
    }

    #[test]
    fn nonsense_attempt_numbers_get_the_first_delay() {
        for attempt in [0, -5, i64::MIN] {
            assert!(backoff(attempt, None) <= Duration::from_secs(2));
        }
    }

    #[test]
    fn a_zero_backoff_waits_only_for_retry_after() {
        let none = Backoff {
            base: Duration::ZERO,
            cap: Duration::ZERO,
        };
        assert_eq!(none.delay(3, None), Duration::ZERO);
        assert_eq!(
            none.delay(3, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
    }
}
