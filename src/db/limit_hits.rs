//! Limits every instance shares: the accepted attempts of one client, as a sliding log.
//! The same algorithm as `abuse::RateLimiter`, kept in the database so a client reaching two
//! instances does not get two budgets.

use super::{Db, begin_write, on_conn};

/// One window: at most `limit` accepted attempts in any `period_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub limit: i64,
    pub period_ms: i64,
}

/// Records an attempt of `subject` under `scope` at `now_ms` if every window allows it;
/// otherwise how many milliseconds until it would be allowed.
pub async fn try_take(
    db: &Db,
    scope: &str,
    subject: &str,
    windows: &[Window],
    now_ms: i64,
) -> Result<Result<(), i64>, sqlx::Error> {
    let longest = windows.iter().map(|w| w.period_ms).max().unwrap_or(0);
    let keep = windows.iter().map(|w| w.limit).max().unwrap_or(0);
    let mut tx = begin_write(db).await?;
    // Two instances checking one client at once take turns; other clients pass freely.
    tx.lock_across_instances(&format!("limit:{scope}:{subject}"))
        .await?;
    // The newest attempts that can still decide anything, newest first.
    let recent: Vec<i64> = on_conn!(&mut *tx, |c| sqlx::query_scalar(
        "SELECT at_ms FROM limit_hits WHERE scope = $1 AND subject = $2 AND at_ms > $3
         ORDER BY at_ms DESC LIMIT $4"
    )
    .bind(scope)
    .bind(subject)
    .bind(now_ms - longest)
    .bind(keep)
    .fetch_all(c)
    .await)?;
    if let Some(wait) = windows
        .iter()
        .filter_map(|w| wait_ms(w, &recent, now_ms))
        .max()
    {
        return Ok(Err(wait));
    }
    on_conn!(&mut *tx, |c| sqlx::query(
        "INSERT INTO limit_hits (scope, subject, at_ms) VALUES ($1, $2, $3)"
    )
    .bind(scope)
    .bind(subject)
    .bind(now_ms)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A window refuses while its `limit`-th newest attempt is younger than its period.
fn wait_ms(window: &Window, newest_first: &[i64], now_ms: i64) -> Option<i64> {
    let nth = usize::try_from(window.limit).ok()?.checked_sub(1)?;
    let at = *newest_first.get(nth)?;
    let free_at = at + window.period_ms;
    (free_at > now_ms).then_some(free_at - now_ms)
}

/// Forgets attempts older than `before_ms`: they decide nothing any more.
pub async fn forget_before(db: &Db, before_ms: i64) -> Result<u64, sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "DELETE FROM limit_hits WHERE at_ms < $1"
    )
    .bind(before_ms)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_window_must_pass_and_the_wait_is_until_the_oldest_deciding_attempt_leaves() {
        let (_dir, db) = crate::db::jobs::temp_db().await;
        let windows = [
            Window {
                limit: 2,
                period_ms: 1_000,
            },
            Window {
                limit: 3,
                period_ms: 10_000,
            },
        ];
        let t = 1_000_000;
        assert_eq!(
            try_take(&db, "join", "a", &windows, t).await.unwrap(),
            Ok(())
        );
        assert_eq!(
            try_take(&db, "join", "a", &windows, t + 100).await.unwrap(),
            Ok(())
        );
        assert_eq!(
            try_take(&db, "join", "a", &windows, t + 200).await.unwrap(),
            Err(800)
        );
        assert_eq!(
            try_take(&db, "join", "b", &windows, t + 200).await.unwrap(),
            Ok(()),
            "another client"
        );
        assert_eq!(
            try_take(&db, "join", "a", &windows, t + 1_000)
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            try_take(&db, "join", "a", &windows, t + 2_000)
                .await
                .unwrap(),
            Err(8_000),
            "three in ten seconds"
        );
        assert_eq!(
            forget_before(&db, t + 150).await.unwrap(),
            2,
            "the attempts at t and t + 100"
        );
    }
}
