//! Dashboard sessions: a hash of the cookie, who signed in, and which installations they manage.

use super::{Exec, on_conn};
use crate::domain::{EnterpriseId, TeamId, UserId};

/// A live session as the dashboard needs it on every request.
#[derive(Debug, sqlx::FromRow)]
pub struct LiveSession {
    pub id: i64,
    pub user_id: UserId,
    pub user_name: String,
    pub csrf_secret: Vec<u8>,
    pub last_seen_at: i64,
    /// The workspace and organisation of the person, to ask Slack about them again.
    pub person_team_id: TeamId,
    pub person_enterprise_id: Option<EnterpriseId>,
    /// When Slack last confirmed the person's admin role (unix seconds).
    pub checked_at: i64,
    /// The installation ids, comma-separated (Slack ids have no commas); `None` when there are none.
    pub installations: Option<String>,
}

impl LiveSession {
    /// Only ids that parse: each was a parsed id when it was stored.
    pub fn installation_ids(&self) -> Vec<TeamId> {
        self.installations
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|id| TeamId::parse(id).ok())
            .collect()
    }
}

pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub user_id: &'a UserId,
    pub user_name: &'a str,
    pub csrf_secret: &'a [u8],
    pub person_team_id: &'a TeamId,
    pub person_enterprise_id: Option<&'a EnterpriseId>,
    pub installations: &'a [TeamId],
}

/// Inserts the session and its installations; run it in a transaction so both land or neither.
pub async fn create(tx: &mut super::WriteTx, new: &NewSession<'_>) -> Result<i64, sqlx::Error> {
    let now = super::now();
    let id: i64 = on_conn!(&mut **tx, |c| sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, user_id, user_name, csrf_secret, person_team_id, \
           person_enterprise_id, created_at, last_seen_at, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.token_hash)
    .bind(new.user_id)
    .bind(new.user_name)
    .bind(new.csrf_secret)
    .bind(new.person_team_id)
    .bind(new.person_enterprise_id)
    .bind(now)
    .bind(now)
    .bind(now)
    .fetch_one(c)
    .await)?;
    for installation in new.installations {
        on_conn!(&mut **tx, |c| sqlx::query(
            "INSERT INTO session_installations (session_id, installation_id) VALUES ($1, $2)",
        )
        .bind(id)
        .bind(installation)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    }
    Ok(id)
}

/// The session with that cookie hash, if it was seen after `idle_since` and created after
/// `created_since`; an expired session is as good as none.
pub async fn find_live(
    db: impl Into<Exec<'_>>,
    token_hash: &[u8],
    idle_since: i64,
    created_since: i64,
) -> Result<Option<LiveSession>, sqlx::Error> {
    let db: Exec = db.into();
    // The session's installations as one comma-separated value, in each engine's aggregate.
    let sql = db.pick(
        "SELECT s.id, s.user_id, s.user_name, s.csrf_secret, s.last_seen_at, s.person_team_id, \
           s.person_enterprise_id, s.checked_at, \
           (SELECT group_concat(installation_id, ',') FROM session_installations WHERE session_id = s.id) \
             AS installations \
         FROM sessions s WHERE s.token_hash = $1 AND s.last_seen_at > $2 AND s.created_at > $3",
        "SELECT s.id, s.user_id, s.user_name, s.csrf_secret, s.last_seen_at, s.person_team_id, \
           s.person_enterprise_id, s.checked_at, \
           (SELECT string_agg(installation_id, ',') FROM session_installations WHERE session_id = s.id) \
             AS installations \
         FROM sessions s WHERE s.token_hash = $1 AND s.last_seen_at > $2 AND s.created_at > $3",
    );
    on_conn!(db, |c| {
        sqlx::query_as(sql)
            .bind(token_hash)
            .bind(idle_since)
            .bind(created_since)
            .fetch_optional(c)
            .await
    })
}

pub async fn touch(db: impl Into<Exec<'_>>, id: i64, now: i64) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query(
        "UPDATE sessions SET last_seen_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Slack confirmed the person's role now: the session loses the installations in `dropped`.
pub async fn confirm_admin(
    tx: &mut super::WriteTx,
    id: i64,
    now: i64,
    dropped: &[TeamId],
) -> Result<(), sqlx::Error> {
    for installation in dropped {
        on_conn!(&mut **tx, |c| sqlx::query(
            "DELETE FROM session_installations WHERE session_id = $1 AND installation_id = $2",
        )
        .bind(id)
        .bind(installation)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    }
    on_conn!(&mut **tx, |c| sqlx::query(
        "UPDATE sessions SET checked_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Ends the session by its row id (its person is no longer an admin anywhere).
pub async fn delete_by_id(db: impl Into<Exec<'_>>, id: i64) -> Result<(), sqlx::Error> {
    on_conn!(db, |c| sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(())
}

/// Ends the session with that cookie hash; false when there was none.
pub async fn delete(db: impl Into<Exec<'_>>, token_hash: &[u8]) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "DELETE FROM sessions WHERE token_hash = $1"
    )
    .bind(token_hash)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// Forgets sessions past either lifetime.
pub async fn delete_expired(
    db: impl Into<Exec<'_>>,
    idle_since: i64,
    created_since: i64,
) -> Result<u64, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2"
    )
    .bind(idle_since)
    .bind(created_since)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installation_ids_split_the_concatenated_column() {
        let session = LiveSession {
            id: 1,
            user_id: UserId::parse("U0ADA").unwrap(),
            user_name: String::new(),
            csrf_secret: vec![],
            last_seen_at: 0,
            person_team_id: TeamId::parse("T0ONE").unwrap(),
            person_enterprise_id: None,
            checked_at: 0,
            installations: Some("T0ONE,E0TWO".into()),
        };
        let ids = session.installation_ids();
        assert_eq!(
            ids.iter().map(TeamId::as_str).collect::<Vec<_>>(),
            ["T0ONE", "E0TWO"]
        );
        let none = LiveSession {
            installations: None,
            ..session
        };
        assert!(none.installation_ids().is_empty());
    }
}
