//! Periodic rounds (housekeeping, member counts) run once per period for the whole deployment,
//! not once per instance.

use super::{Exec, on_conn};

/// Takes the round `name` at `now` unless one was taken after `now - every_secs` (by any
/// instance); true when the caller should run it.
pub async fn take(
    db: impl Into<Exec<'_>>,
    name: &str,
    now: i64,
    every_secs: i64,
) -> Result<bool, sqlx::Error> {
    // A few seconds' slack: instances' timers drift, and a round taken a moment early is fine.
    let due_before = now - every_secs + 5;
    let taken = on_conn!(db, |c| sqlx::query(
        "INSERT INTO periodic_rounds (name, last_at) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET last_at = excluded.last_at
         WHERE periodic_rounds.last_at <= $3"
    )
    .bind(name)
    .bind(now)
    .bind(due_before)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(taken == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_round_is_taken_once_per_period() {
        let (_dir, db) = crate::db::jobs::temp_db().await;
        assert!(take(&db, "sweep", 1_000, 300).await.unwrap(), "the first");
        assert!(
            !take(&db, "sweep", 1_010, 300).await.unwrap(),
            "another instance, same period"
        );
        assert!(
            take(&db, "members", 1_010, 300).await.unwrap(),
            "another round"
        );
        assert!(
            take(&db, "sweep", 1_296, 300).await.unwrap(),
            "the next period"
        );
        assert!(!take(&db, "sweep", 1_300, 300).await.unwrap());
    }
}
