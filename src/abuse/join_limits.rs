//! The join form's per-client limits, per community: a burst of 10 a minute everywhere, and a
//! number per 30 minutes each community sets for itself (a meetup shares one Wi-Fi).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::rate_limit::{
    JOIN_FORM_MAX_SUBJECTS, JOIN_FORM_WINDOWS, RateLimiter, RetryAfter, Window,
};

#[derive(Default)]
pub struct JoinLimits {
    /// Per community id: its limit per 30 minutes and the limiter built for it.
    limiters: Mutex<HashMap<i64, (u32, Arc<RateLimiter>)>>,
}

impl JoinLimits {
    /// Records an attempt from `ip` on a community allowing `per_30_minutes`, if its windows allow it.
    /// A changed limit starts the community's count afresh.
    pub fn check(
        &self,
        community_id: i64,
        per_30_minutes: i64,
        ip: IpAddr,
        now: Instant,
    ) -> Result<(), RetryAfter> {
        self.limiter(community_id, per_30_minutes).check(ip, now)
    }

    /// The same, counted where every instance sees it (see `shared_limits`).
    pub async fn check_shared(
        &self,
        db: &crate::db::Db,
        community_id: i64,
        per_30_minutes: i64,
        ip: IpAddr,
    ) -> Result<(), RetryAfter> {
        let limiter = self.limiter(community_id, per_30_minutes);
        let scope = format!("join:{community_id}");
        super::shared_limits::check(db, &scope, &limiter, ip).await
    }

    fn limiter(&self, community_id: i64, per_30_minutes: i64) -> Arc<RateLimiter> {
        let per_30_minutes = u32::try_from(per_30_minutes.max(1)).unwrap_or(u32::MAX);
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        match limiters.get(&community_id) {
            Some((limit, limiter)) if *limit == per_30_minutes => limiter.clone(),
            _ => {
                let limiter = Arc::new(limiter_for(per_30_minutes));
                limiters.insert(community_id, (per_30_minutes, limiter.clone()));
                limiter
            }
        }
    }
}

fn limiter_for(per_30_minutes: u32) -> RateLimiter {
    let long = Window {
        limit: NonZeroU32::new(per_30_minutes).unwrap_or(NonZeroU32::MIN),
        period: Duration::from_secs(30 * 60),
    };
    // The minute's burst grows with a generous limit, so a room signing up at once gets through.
    let burst = JOIN_FORM_WINDOWS[0];
    let burst = Window {
        limit: burst
            .limit
            .max(NonZeroU32::new(per_30_minutes / 2).unwrap_or(NonZeroU32::MIN)),
        ..burst
    };
    RateLimiter::new(&[burst, long], JOIN_FORM_MAX_SUBJECTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_community_has_its_own_limit_per_30_minutes() {
        let limits = JoinLimits::default();
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let now = Instant::now();
        let minute = Duration::from_secs(61);
        for i in 0..2 {
            assert!(limits.check(1, 2, ip, now + minute * i).is_ok());
        }
        assert!(
            limits.check(1, 2, ip, now + minute * 3).is_err(),
            "2 per 30 minutes"
        );
        for i in 0..8 {
            assert!(
                limits.check(2, 8, ip, now + minute * i).is_ok(),
                "another community, 8"
            );
        }
    }
}
