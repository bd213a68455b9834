//! The dashboard's reads of invite requests: one community's requests a page at a time, the
//! 30-day funnel, and whether a request belongs to the installations an admin manages.
//!
//! Each list variant is its own static statement so SQLite walks one index in id order and stops
//! after a page, whatever the table's size.

use super::{Exec, on_conn};

use super::invite_requests::InviteRequest;
use crate::domain::{InviteStatus, TeamId};

const SELECT: &str = "SELECT id, community_id, email, name, source, requested_by, status, status_message, slack_error, \
     decided_by, created_at, updated_at FROM invite_requests";

/// What the request list shows: a status, an email prefix, and where the page starts.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter<'a> {
    pub status: Option<InviteStatus>,
    /// Matches emails starting with this text.
    pub email_prefix: Option<&'a str>,
    /// Only requests with a smaller id (the keyset cursor).
    pub before_id: Option<i64>,
}

/// Requests of one community, newest first.
pub async fn page(
    db: impl Into<Exec<'_>>,
    community_id: i64,
    filter: &RequestFilter<'_>,
    limit: i64,
) -> Result<Vec<InviteRequest>, sqlx::Error> {
    let before = filter.before_id.unwrap_or(i64::MAX);
    let status = filter.status.map(InviteStatus::as_str);
    match (filter.email_prefix, status) {
        (Some(prefix), status) => {
            on_conn!(db, |c| {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE email >= $1 AND email < $2 AND community_id = $3 AND ($4 IS NULL OR status = $5) \
                 AND id < $6 ORDER BY id DESC LIMIT $7"
            )))
            .bind(prefix)
            .bind(prefix_end(prefix))
            .bind(community_id)
            .bind(status)
            .bind(status)
            .bind(before)
            .bind(limit)
            .fetch_all(c)
        .await
            })
        }
        (None, Some(status)) => {
            on_conn!(db, |c| {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE community_id = $1 AND status = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
            )))
            .bind(community_id)
            .bind(status)
            .bind(before)
            .bind(limit)
            .fetch_all(c)
        .await
            })
        }
        (None, None) => {
            on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE community_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
            )))
            .bind(community_id)
            .bind(before)
            .bind(limit)
            .fetch_all(c)
            .await)
        }
    }
}

/// Which requests the queue across communities shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter<'a> {
    pub status: Option<InviteStatus>,
    /// Leave pending requests out (they were listed first).
    pub not_pending: bool,
    pub email_prefix: Option<&'a str>,
    pub before_id: Option<i64>,
}

/// Requests of several communities (the admin's), newest first.
pub async fn queue_page(
    db: impl Into<Exec<'_>>,
    community_ids: &[i64],
    filter: &QueueFilter<'_>,
    limit: i64,
) -> Result<Vec<InviteRequest>, sqlx::Error> {
    let prefix = filter.email_prefix;
    let db: Exec = db.into();
    // PostgreSQL compares text by its collation; the prefix range needs byte order, as SQLite's.
    let sql = db.pick(
        "WHERE community_id IN (SELECT value FROM json_each($1)) \
         AND ($2 IS NULL OR status = $2) AND ($3 = FALSE OR status <> 'pending') \
         AND ($4 IS NULL OR (email >= $4 AND email < $5)) AND id < $6 ORDER BY id DESC LIMIT $7",
        "WHERE community_id IN (SELECT json_array_elements_text($1::json)::bigint) \
         AND ($2::text IS NULL OR status = $2) AND ($3 = FALSE OR status <> 'pending') \
         AND ($4::text IS NULL OR (email COLLATE \"C\" >= $4 AND email COLLATE \"C\" < $5)) \
         AND id < $6 ORDER BY id DESC LIMIT $7",
    );
    on_conn!(db, |c| sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} {sql}"
    )))
    .bind(serde_json::Value::from(community_ids.to_vec()).to_string())
    .bind(filter.status.map(InviteStatus::as_str))
    .bind(filter.not_pending)
    .bind(prefix)
    .bind(prefix.map(prefix_end))
    .bind(filter.before_id.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(c)
    .await)
}

/// How many requests each status has, over several communities.
pub async fn status_counts(
    db: impl Into<Exec<'_>>,
    community_ids: &[i64],
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let db: Exec = db.into();
    let sql = db.pick(
        "SELECT status, COUNT(*) FROM invite_requests \
         WHERE community_id IN (SELECT value FROM json_each($1)) GROUP BY status",
        "SELECT status, COUNT(*) FROM invite_requests \
         WHERE community_id IN (SELECT json_array_elements_text($1::json)::bigint) GROUP BY status",
    );
    on_conn!(db, |c| sqlx::query_as(sql)
        .bind(serde_json::Value::from(community_ids.to_vec()).to_string())
        .fetch_all(c)
        .await)
}

/// The smallest string greater than every string starting with `prefix` (in SQLite's byte order).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The installation a request belongs to, when it is one of `installations`.
pub async fn installation_of(
    db: impl Into<Exec<'_>>,
    request_id: i64,
    installations: &[TeamId],
) -> Result<Option<String>, sqlx::Error> {
    let db: Exec = db.into();
    let sql = db.pick(
        "SELECT c.installation_id FROM invite_requests r JOIN communities c ON c.id = r.community_id \
         WHERE r.id = $1 AND c.installation_id IN (SELECT value FROM json_each($2))",
        "SELECT c.installation_id FROM invite_requests r JOIN communities c ON c.id = r.community_id \
         WHERE r.id = $1 AND c.installation_id IN (SELECT json_array_elements_text($2::json))",
    );
    on_conn!(db, |c| {
        sqlx::query_scalar(sql)
            .bind(request_id)
            .bind(super::admin_scope::json_list(installations))
            .fetch_optional(c)
            .await
    })
}

pub async fn pending_count(db: impl Into<Exec<'_>>, community_id: i64) -> Result<i64, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM invite_requests WHERE community_id = $1 AND status = 'pending'",
    )
    .bind(community_id)
    .fetch_one(c)
    .await)
}

/// One day of the funnel: requests made that day, and how many of them were invited and joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct FunnelDay {
    /// Days since the start of the window (0 is the oldest).
    pub day: i64,
    pub requested: i64,
    pub invited: i64,
    pub joined: i64,
}

/// Per day since `since` (midnight UTC), for the communities of one installation. Reads the
/// daily rollup the migration's triggers keep, so the cost does not grow with the requests.
pub async fn funnel(
    db: impl Into<Exec<'_>>,
    installation_id: &TeamId,
    since: i64,
) -> Result<Vec<FunnelDay>, sqlx::Error> {
    on_conn!(db, |c| {
        sqlx::query_as(
        "SELECT day - $1 / 86400 AS day, CAST(SUM(requested) AS BIGINT) AS requested, \
           CAST(SUM(invited) AS BIGINT) AS invited, CAST(SUM(joined) AS BIGINT) AS joined \
         FROM invite_funnel_days \
         WHERE community_id IN (SELECT id FROM communities WHERE installation_id = $2) AND day >= $1 / 86400 \
         GROUP BY day ORDER BY day",
    )
    .bind(since)
    .bind(installation_id)
    .fetch_all(c)
        .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn test_db() -> (tempfile::TempDir, crate::db::Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = crate::db::connect(&url).await.unwrap();
        (dir, db)
    }

    #[test]
    fn the_prefix_end_sorts_after_every_extension_of_the_prefix() {
        let end = prefix_end("ada");
        for email in ["ada", "ada@example.org", "adaz", "ada\u{FFFF}"] {
            assert!(email.as_bytes() < end.as_bytes(), "{email}");
        }
        assert!("adb".as_bytes() > end.as_bytes());
    }

    /// The plans SQLite picks for the list: an index, in id order, no sorting pass.
    #[tokio::test]
    async fn request_pages_read_through_an_index_without_sorting() {
        let (_dir, db) = test_db().await;
        let plan = |sql: String| {
            let db = db.clone();
            async move {
                let rows: Vec<(i64, i64, i64, String)> = on_conn!(&db, |c| sqlx::query_as(
                    sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))
                )
                .fetch_all(c)
                .await)
                .unwrap();
                rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
            }
        };
        let by_status = plan(format!(
            "{SELECT} WHERE community_id = 1 AND status = 'pending' AND id < 5 ORDER BY id DESC LIMIT 50"
        ))
        .await;
        assert!(
            by_status.contains("invite_requests_community_status"),
            "{by_status}"
        );
        assert!(!by_status.contains("TEMP B-TREE"), "{by_status}");
        let all = plan(format!(
            "{SELECT} WHERE community_id = 1 AND id < 5 ORDER BY id DESC LIMIT 50"
        ))
        .await;
        assert!(all.contains("invite_requests_community_id"), "{all}");
        assert!(!all.contains("TEMP B-TREE"), "{all}");
    }

    /// The rollup the triggers keep always equals counting the requests themselves.
    #[tokio::test]
    async fn the_funnel_rollup_follows_inserts_status_changes_and_deletes() {
        let (_dir, db) = test_db().await;
        on_conn!(&db, |c| sqlx::query(
            "INSERT INTO installations (id, team_name, installer_user_id, installed_at, updated_at) \
             VALUES ('T0ONE', 'One', 'U0ONE', 0, 0)",
        )
        .execute(c)
        .await
        .map(|done| done.rows_affected()))
        .unwrap();
        for (id, slug) in [(1, "a"), (2, "b")] {
            on_conn!(&db, |c| sqlx::query(
                "INSERT INTO communities (id, slug, installation_id, team_id, title, invite_mode, created_at, updated_at) \
                 VALUES ($1, $2, 'T0ONE', 'T0ONE', 'A', 'approval', 0, 0)",
            )
            .bind(id)
            .bind(slug)
            .execute(c)
        .await
        .map(|done| done.rows_affected()))
            .unwrap();
        }
        let day = 86_400;
        let statements = [
            format!(
                "INSERT INTO invite_requests (id, community_id, email, source, status, created_at, updated_at) VALUES (1, 1, 'a@x', 'form', 'pending', {}, 0)",
                10 * day + 5
            ),
            format!(
                "INSERT INTO invite_requests (id, community_id, email, source, status, created_at, updated_at) VALUES (2, 1, 'b@x', 'form', 'queued', {}, 0)",
                10 * day + 9
            ),
            format!(
                "INSERT INTO invite_requests (id, community_id, email, source, status, created_at, updated_at) VALUES (3, 2, 'c@x', 'form', 'invited', {}, 0)",
                11 * day
            ),
            "UPDATE invite_requests SET status = 'queued' WHERE id = 1".into(),
            "UPDATE invite_requests SET status = 'invited' WHERE id = 1".into(),
            "UPDATE invite_requests SET status = 'joined' WHERE id = 1".into(),
            "UPDATE invite_requests SET status = 'failed' WHERE id = 2".into(),
            "UPDATE invite_requests SET status = 'joined' WHERE id = 3".into(),
            "DELETE FROM invite_requests WHERE id = 2".into(),
        ];
        let direct = "SELECT community_id, created_at / 86400, COUNT(*), \
             SUM(status IN ('invited', 'already_invited', 'link_shown', 'link_sent', 'joined')), SUM(status = 'joined') \
             FROM invite_requests GROUP BY 1, 2 ORDER BY 1, 2";
        let rollup = "SELECT community_id, day, requested, invited, joined FROM invite_funnel_days \
             WHERE requested > 0 ORDER BY 1, 2";
        for sql in statements {
            on_conn!(&db, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .execute(c)
                .await
                .map(|done| done.rows_affected()))
            .unwrap();
            let want: Vec<(i64, i64, i64, i64, i64)> =
                on_conn!(&db, |c| sqlx::query_as(direct).fetch_all(c).await).unwrap();
            let got: Vec<(i64, i64, i64, i64, i64)> =
                on_conn!(&db, |c| sqlx::query_as(rollup).fetch_all(c).await).unwrap();
            assert_eq!(got, want, "after {sql}");
        }
        let days = funnel(&db, &TeamId::parse("T0ONE").unwrap(), 10 * day)
            .await
            .unwrap();
        assert_eq!(
            days,
            [
                FunnelDay {
                    day: 0,
                    requested: 1,
                    invited: 1,
                    joined: 1
                },
                FunnelDay {
                    day: 1,
                    requested: 1,
                    invited: 1,
                    joined: 1
                },
            ]
        );
        assert!(
            funnel(&db, &TeamId::parse("T0ONE").unwrap(), 12 * day)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
