//! Where a per-client limit counts: in this process on SQLite (one server per database file),
//! in the database on PostgreSQL, so a client reaching several instances has one budget.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::rate_limit::{RateLimiter, RetryAfter, Subject};
use crate::db::{self, Db, Engine, limit_hits};

/// Records an attempt from `ip` under `scope` if every window of `limiter` allows it. A
/// database that cannot answer lets the attempt through (the request that follows needs the
/// database anyway and fails on its own).
pub async fn check(
    db: &Db,
    scope: &str,
    limiter: &RateLimiter,
    ip: IpAddr,
) -> Result<(), RetryAfter> {
    if db.engine() == Engine::Sqlite {
        return limiter.check(ip, Instant::now());
    }
    let windows: Vec<limit_hits::Window> = limiter
        .windows()
        .iter()
        .map(|w| limit_hits::Window {
            limit: i64::from(w.limit.get()),
            period_ms: i64::try_from(w.period.as_millis()).unwrap_or(i64::MAX),
        })
        .collect();
    let subject = Subject::from(ip).to_string();
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let now_ms = i64::try_from(now_ms).unwrap_or(i64::MAX);
    match limit_hits::try_take(db, scope, &subject, &windows, now_ms).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(wait_ms)) => Err(RetryAfter(Duration::from_millis(
            u64::try_from(wait_ms).unwrap_or(0),
        ))),
        Err(error) => {
            tracing::warn!(%error, scope, "cannot count the attempt in the database; letting it through");
            Ok(())
        }
    }
}

/// Forgets shared attempts older than every window (housekeeping).
pub async fn forget_old(db: &Db, longest: Duration) -> Result<u64, sqlx::Error> {
    let now_ms = db::now().saturating_mul(1000);
    let longest_ms = i64::try_from(longest.as_millis()).unwrap_or(i64::MAX);
    limit_hits::forget_before(db, now_ms.saturating_sub(longest_ms)).await
}
