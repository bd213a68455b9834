//! Invite requests: one row per person asking to join a community, and where it stands.

use super::{Exec, on_conn};

use crate::domain::{InviteStatus, TeamId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRequest {
    pub id: i64,
    pub community_id: i64,
    pub email: String,
    pub name: String,
    pub source: String,
    pub requested_by: Option<UserId>,
    #[sqlx(try_from = "String")]
    pub status: InviteStatus,
    pub status_message: String,
    pub slack_error: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct NewRequest<'a> {
    pub community_id: i64,
    pub email: &'a str,
    pub name: &'a str,
    pub source: &'a str,
    pub requested_by: Option<&'a UserId>,
    pub status: InviteStatus,
    pub status_message: &'a str,
}

/// What a request may carry beyond [`NewRequest`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Extras<'a> {
    /// SHA-256 of the confirmation token and when it expires, for an `unconfirmed` request.
    pub confirm: Option<(&'a [u8], i64)>,
    /// Sent before the minimum fill time (kept, but confirmed or held for an admin).
    pub too_fast: bool,
    /// The language the person asked in (a code of `i18n::CATALOGS`); English when `None`.
    pub lang: Option<&'a str>,
}

const SELECT: &str = "SELECT id, community_id, email, name, source, requested_by, status, status_message, slack_error, \
     decided_by, created_at, updated_at FROM invite_requests";

/// Inserts the request; `None` when the email already has an open request in that community.
pub async fn insert(
    db: impl Into<Exec<'_>>,
    new: &NewRequest<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    insert_with(db, new, Extras::default()).await
}

/// The language the person asked in; English for requests older than the column.
pub async fn lang_of(db: impl Into<Exec<'_>>, id: i64) -> Result<String, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_scalar(
        "SELECT lang FROM invite_requests WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)
    .map(|lang| lang.unwrap_or_else(|| "en".to_owned()))
}

/// [`insert`] with a confirmation token, the too-fast mark or the person's language.
pub async fn insert_with(
    db: impl Into<Exec<'_>>,
    new: &NewRequest<'_>,
    extras: Extras<'_>,
) -> Result<Option<i64>, sqlx::Error> {
    // The one-row case of `insert_many` (`ON CONFLICT DO NOTHING`, not a caught unique
    // violation: on PostgreSQL a failed statement spoils the transaction the caller goes on with).
    let inserted = insert_many(db, &[(*new, extras)]).await?;
    Ok(inserted.first().map(|(id, _, _)| *id))
}

/// Inserts many requests in one statement, in the order given; returns `(id, community_id,
/// email)` of those inserted. A request whose email already has an open request in its
/// community (before, or earlier in `requests`) is left out.
pub async fn insert_many(
    db: impl Into<Exec<'_>>,
    requests: &[(NewRequest<'_>, Extras<'_>)],
) -> Result<Vec<(i64, i64, String)>, sqlx::Error> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let now = super::now();
    let db: Exec = db.into();
    let sql = format!(
        "INSERT INTO invite_requests (community_id, email, name, source, requested_by, status, status_message, \
           created_at, updated_at, confirm_hash, confirm_expires_at, too_fast, lang) \
         VALUES {} ON CONFLICT DO NOTHING RETURNING id, community_id, email",
        super::values_placeholders(db.engine(), requests.len(), 13)
    );
    on_conn!(db, |c| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
        for (new, extras) in requests {
            query = query
                .bind(new.community_id)
                .bind(new.email)
                .bind(new.name)
                .bind(new.source)
                .bind(new.requested_by)
                .bind(new.status.as_str())
                .bind(new.status_message)
                .bind(now)
                .bind(now)
                .bind(extras.confirm.map(|(hash, _)| hash))
                .bind(extras.confirm.map(|(_, expires)| expires))
                .bind(extras.too_fast)
                .bind(extras.lang.unwrap_or("en"));
        }
        query.fetch_all(c).await
    })
}

pub async fn get(db: impl Into<Exec<'_>>, id: i64) -> Result<Option<InviteRequest>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Moves a request to `status`, but only from one of `from` (so a decision is taken once).
pub async fn transition(
    db: impl Into<Exec<'_>>,
    id: i64,
    from: &[InviteStatus],
    to: InviteStatus,
    message: &str,
    slack_error: Option<&str>,
    decided_by: Option<&str>,
) -> Result<bool, sqlx::Error> {
    // At most a handful of statuses; a fixed list of placeholders keeps the SQL static.
    let mut from_names = [""; 4];
    for (slot, status) in from_names.iter_mut().zip(from) {
        *slot = status.as_str();
    }
    let done = on_conn!(db, |c| sqlx::query(
        "UPDATE invite_requests SET status = $1, status_message = $2, slack_error = $3, \
           decided_by = COALESCE($4, decided_by), updated_at = $5 \
         WHERE id = $6 AND status IN ($7, $8, $9, $10)",
    )
    .bind(to.as_str())
    .bind(message)
    .bind(slack_error)
    .bind(decided_by)
    .bind(super::now())
    .bind(id)
    .bind(from_names[0])
    .bind(from_names[1])
    .bind(from_names[2])
    .bind(from_names[3])
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done > 0)
}

/// The unconfirmed request a confirmation token (its hash) belongs to, while the token is valid.
pub async fn by_confirm_hash(
    db: impl Into<Exec<'_>>,
    hash: &[u8],
    now: i64,
) -> Result<Option<InviteRequest>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE confirm_hash = $1 AND status = 'unconfirmed' AND confirm_expires_at > $2"
    )))
    .bind(hash)
    .bind(now)
    .fetch_optional(c)
    .await)
}

/// Moves an unconfirmed request on once its address is confirmed; the token is spent with it.
pub async fn confirm(
    db: impl Into<Exec<'_>>,
    id: i64,
    to: InviteStatus,
    message: &str,
) -> Result<bool, sqlx::Error> {
    let now = super::now();
    let done = on_conn!(db, |c| {
        sqlx::query(
        "UPDATE invite_requests SET status = $1, status_message = $2, confirm_hash = NULL, confirmed_at = $3, \
           updated_at = $4 WHERE id = $5 AND status = 'unconfirmed'",
    )
    .bind(to.as_str())
    .bind(message)
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done > 0)
}

/// A new confirmation token for the unconfirmed request of this address (the person asked
/// again: the first mail was lost or expired); the request's id, or `None` when there is none.
pub async fn renew_confirmation(
    db: impl Into<Exec<'_>>,
    community_id: i64,
    email: &str,
    hash: &[u8],
    expires_at: i64,
) -> Result<Option<i64>, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_scalar(
        "UPDATE invite_requests SET confirm_hash = $1, confirm_expires_at = $2, updated_at = $3 \
         WHERE community_id = $4 AND lower(email) = lower($5) AND status = 'unconfirmed' RETURNING id",
    )
    .bind(hash)
    .bind(expires_at)
    .bind(super::now())
    .bind(community_id)
    .bind(email)
    .fetch_optional(c)
        .await
    })
}

/// Forgets requests whose address was never confirmed, created before `before`.
pub async fn purge_unconfirmed(db: impl Into<Exec<'_>>, before: i64) -> Result<u64, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "DELETE FROM invite_requests WHERE status = 'unconfirmed' AND created_at < $1"
    )
    .bind(before)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done)
}

/// Requests of a community, newest first, optionally of one status; keyset pagination by id.
pub async fn list(
    db: impl Into<Exec<'_>>,
    community_id: i64,
    status: Option<InviteStatus>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<InviteRequest>, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE community_id = $1 AND ($2 IS NULL OR status = $3) AND id < $4 ORDER BY id DESC LIMIT $5"
    )))
    .bind(community_id)
    .bind(status.map(|s| s.as_str()))
    .bind(status.map(|s| s.as_str()))
    .bind(before_id.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(c)
        .await
    })
}

/// The requests of one team's communities for this email still waiting for Slack to say they joined.
pub async fn mark_joined(
    db: impl Into<Exec<'_>>,
    team_id: &TeamId,
    email: &str,
) -> Result<u64, sqlx::Error> {
    let done = on_conn!(db, |c| {
        sqlx::query(
        "UPDATE invite_requests SET status = 'joined', status_message = 'Joined the workspace.', updated_at = $1 \
         WHERE lower(email) = lower($2) AND status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'pending', 'queued') \
           AND community_id IN (SELECT id FROM communities WHERE team_id = $3)",
    )
    .bind(super::now())
    .bind(email)
    .bind(team_id)
    .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done)
}

/// How many requests of a community are in each status.
pub async fn counts(
    db: impl Into<Exec<'_>>,
    community_id: i64,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT status, COUNT(*) FROM invite_requests WHERE community_id = $1 GROUP BY status",
    )
    .bind(community_id)
    .fetch_all(c)
    .await)
}

/// How many requests are in each status, across every community (the metrics gauges).
pub async fn count_by_status(db: impl Into<Exec<'_>>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT status, COUNT(*) FROM invite_requests GROUP BY status ORDER BY status"
    )
    .fetch_all(c)
    .await)
}

/// A workspace's numbers for `/lobby stats`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct WeeklyCounts {
    /// Waiting for an admin now.
    pub pending: i64,
    /// Asked since `since` and handed to Slack (invited, already invited, or given the link).
    pub invited: i64,
    /// Joined since `since`.
    pub joined: i64,
}

pub async fn weekly_counts(
    db: impl Into<Exec<'_>>,
    team_id: &TeamId,
    since: i64,
) -> Result<WeeklyCounts, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE status = 'pending') AS pending, \
           COUNT(*) FILTER (WHERE status IN ('invited', 'already_invited', 'joined', 'link_shown', 'link_sent') \
             AND created_at >= $1) AS invited, \
           COUNT(*) FILTER (WHERE status = 'joined' AND updated_at >= $2) AS joined \
         FROM invite_requests WHERE community_id IN (SELECT id FROM communities WHERE team_id = $3)",
    )
    .bind(since)
    .bind(since)
    .bind(team_id)
    .fetch_one(c)
        .await
    })
}
