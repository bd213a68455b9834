//! The durable job queue: `jobs` and the record of every attempt in `job_attempts`.
//!
//! A job moves `ready → running → done | ready (retry) | failed`. Every transition out of
//! `running` names the claim it ends (job, worker, attempt), so a job is never finished twice and
//! a worker that lost its claim changes nothing. Transitions that also touch `job_attempts` take the
//! pool and run in one short `BEGIN IMMEDIATE` transaction, so no caller can split them; claims
//! and finishes take many jobs at once ([`claim_batch`], [`finish_batch`]), one transaction each.

use super::{Exec, on_conn};

use super::{Db, begin_write};

/// A job as `claim` hands it to a worker: `attempt` is the number of this run, from 1.
#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempt: i64,
    pub max_attempts: i64,
}

/// The claim a worker holds on a running job; finishing a job needs all three to match.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub job_id: i64,
    pub worker_id: &'a str,
    pub attempt: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub run_at: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub struct Attempt {
    pub attempt: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// `done`, `retry`, `failed` or `released`; `None` while the attempt runs.
    pub outcome: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Stats {
    pub ready: i64,
    pub running: i64,
    pub failed: i64,
    /// How long the job that has been due the longest has waited for a worker (0 when none is due).
    pub oldest_ready_age_secs: i64,
}

pub async fn enqueue(
    db: impl Into<Exec<'_>>,
    kind: &str,
    payload: &serde_json::Value,
    run_at: i64,
    max_attempts: i64,
) -> Result<i64, sqlx::Error> {
    let now = super::now();
    let db: Exec = db.into();
    // On PostgreSQL the insert also notifies every instance's workers; inside a transaction
    // PostgreSQL delivers the notification at commit, when the job can be seen.
    let sql = db.pick(
        "INSERT INTO jobs (kind, payload, run_at, max_attempts, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        "WITH job AS (
             INSERT INTO jobs (kind, payload, run_at, max_attempts, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id),
         woken AS (SELECT pg_notify('lobby_jobs', ''))
         SELECT job.id FROM job, woken",
    );
    on_conn!(db, |c| sqlx::query_scalar(sql)
        .bind(kind)
        .bind(payload.to_string())
        .bind(run_at)
        .bind(max_attempts)
        .bind(now)
        .bind(now)
        .fetch_one(c)
        .await)
}

/// A job for [`enqueue_many`].
pub struct NewJobRow<'a> {
    pub kind: &'a str,
    pub payload: &'a serde_json::Value,
    pub run_at: i64,
    pub max_attempts: i64,
}

/// Enqueues many jobs in one statement (waking every instance's workers on PostgreSQL, at commit);
/// returns their ids in the order of `jobs`.
pub async fn enqueue_many(
    db: impl Into<Exec<'_>>,
    jobs: &[NewJobRow<'_>],
) -> Result<Vec<i64>, sqlx::Error> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let now = super::now();
    let db: Exec = db.into();
    let values = super::values_placeholders(db.engine(), jobs.len(), 6);
    let sql = match db.engine() {
        super::Engine::Sqlite => format!(
            "INSERT INTO jobs (kind, payload, run_at, max_attempts, created_at, updated_at)
             VALUES {values} RETURNING id"
        ),
        super::Engine::Postgres => format!(
            "WITH job AS (
                 INSERT INTO jobs (kind, payload, run_at, max_attempts, created_at, updated_at)
                 VALUES {values} RETURNING id),
             woken AS (SELECT pg_notify('lobby_jobs', ''))
             SELECT job.id FROM job, woken"
        ),
    };
    let payloads: Vec<String> = jobs.iter().map(|job| job.payload.to_string()).collect();
    let mut ids: Vec<i64> = on_conn!(db, |c| {
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
        for (job, payload) in jobs.iter().zip(&payloads) {
            query = query
                .bind(job.kind)
                .bind(payload.as_str())
                .bind(job.run_at)
                .bind(job.max_attempts)
                .bind(now)
                .bind(now);
        }
        query.fetch_all(c).await
    })?;
    // `RETURNING` promises no order, but one statement's rows take ascending ids in `VALUES`
    // order (SQLite's rowid, PostgreSQL's identity sequence), so sorted ids match `jobs`.
    ids.sort_unstable();
    Ok(ids)
}

/// Takes up to `limit` due jobs for `worker_id`, oldest due first, and opens their attempt
/// records, all in one transaction: a worker with several free slots fills them with one write.
pub async fn claim_batch(
    db: &Db,
    worker_id: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<ClaimedJob>, sqlx::Error> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut tx = begin_write(db).await?;
    // SQLite lets one writer in at a time; PostgreSQL's workers on every instance pass each
    // other by skipping the rows another transaction has locked. There the pick is a
    // materialized CTE: a subquery with `LIMIT … SKIP LOCKED` inside `IN (…)` may be run again
    // by the planner and hand out more rows than asked for.
    let sql = match tx.engine() {
        super::Engine::Sqlite => {
            "UPDATE jobs
             SET status = 'running', claimed_by = $1, claimed_at = $2, attempts = attempts + 1, updated_at = $3
             WHERE id IN (SELECT id FROM jobs WHERE status = 'ready' AND run_at <= $4
                          ORDER BY run_at, id LIMIT $5)
             RETURNING id, kind, payload, attempts AS attempt, max_attempts"
        }
        super::Engine::Postgres => {
            "WITH picked AS MATERIALIZED (
                 SELECT id FROM jobs WHERE status = 'ready' AND run_at <= $4 ORDER BY run_at, id LIMIT $5
                 FOR UPDATE SKIP LOCKED)
             UPDATE jobs
             SET status = 'running', claimed_by = $1, claimed_at = $2, attempts = attempts + 1, updated_at = $3
             FROM picked WHERE jobs.id = picked.id
             RETURNING jobs.id, jobs.kind, jobs.payload, jobs.attempts AS attempt, jobs.max_attempts"
        }
    };
    let mut jobs: Vec<ClaimedJob> = on_conn!(&mut *tx, |c| {
        sqlx::query_as(sql)
            .bind(worker_id)
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(limit)
            .fetch_all(c)
            .await
    })?;
    if jobs.is_empty() {
        // Nothing was written. Rolled back here, not on drop, so SQLite's write lock is free
        // before the next writer passes the gate (an empty claim is common when idle).
        tx.rollback().await?;
        return Ok(jobs);
    }
    // `RETURNING` promises no order; ids follow enqueue order, near enough to due order.
    jobs.sort_by_key(|job| job.id);
    let sql = format!(
        "INSERT INTO job_attempts (job_id, attempt, started_at) VALUES {}",
        super::values_placeholders(tx.engine(), jobs.len(), 3)
    );
    on_conn!(&mut *tx, |c| {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).persistent(false);
        for job in &jobs {
            query = query.bind(job.id).bind(job.attempt).bind(now);
        }
        query.execute(c).await.map(|done| done.rows_affected())
    })?;
    tx.commit().await?;
    Ok(jobs)
}

// A finished job keeps only the ids in its payload: response URLs, addresses and message text
// were needed to do the work, not to look back at it.

/// The job's payload cut down to its `id` and `…_id` keys, in each engine's JSON functions.
fn ids_only(engine: super::Engine) -> &'static str {
    match engine {
        super::Engine::Sqlite => {
            "(SELECT json_group_object(key, value) FROM json_each(jobs.payload)
              WHERE key = 'id' OR key LIKE '%\\_id' ESCAPE '\\')"
        }
        super::Engine::Postgres => {
            "(SELECT COALESCE(jsonb_object_agg(key, value), '{}'::jsonb)::text
              FROM jsonb_each(jobs.payload::jsonb)
              WHERE key = 'id' OR key LIKE '%\\_id' ESCAPE '\\')"
        }
    }
}

/// How a run ended, as the job records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Done,
    /// Back to `ready`, to run again at `run_at`, keeping `error`.
    Retry {
        run_at: i64,
        error: String,
    },
    /// Given up for good, keeping `error`.
    Failed {
        error: String,
    },
}

impl Ending {
    /// The attempt's outcome, as `job_attempts.outcome` names it.
    fn outcome(&self) -> &'static str {
        match self {
            Ending::Done => "done",
            Ending::Retry { .. } => "retry",
            Ending::Failed { .. } => "failed",
        }
    }

    /// The job's status after it.
    fn status(&self) -> &'static str {
        match self {
            Ending::Retry { .. } => "ready",
            Ending::Done | Ending::Failed { .. } => self.outcome(),
        }
    }

    fn run_at(&self) -> Option<i64> {
        match self {
            Ending::Retry { run_at, .. } => Some(*run_at),
            Ending::Done | Ending::Failed { .. } => None,
        }
    }

    fn error(&self) -> Option<&str> {
        match self {
            Ending::Done => None,
            Ending::Retry { error, .. } | Ending::Failed { error } => Some(error),
        }
    }
}

/// One job's ending, under the claim that ran it.
#[derive(Debug, Clone, Copy)]
pub struct Finish<'a> {
    pub claim: Claim<'a>,
    pub ending: &'a Ending,
}

/// Records many jobs' endings in one transaction. Each answer says whether that job's claim
/// still held (false: it was taken back, and nothing of it changed). When a statement fails,
/// the batch is written again with each job a step of its own (a savepoint), so only the
/// failing one is undone and the others still commit; the outer error means nothing committed.
pub async fn finish_batch(
    db: &Db,
    finishes: &[Finish<'_>],
) -> Result<Vec<Result<bool, sqlx::Error>>, sqlx::Error> {
    let now = super::now();
    let mut tx = begin_write(db).await?;
    let mut held = Vec::with_capacity(finishes.len());
    let mut failed = None;
    for finish in finishes {
        match finish_in(&mut tx, *finish, now).await {
            Ok(applied) => held.push(Ok(applied)),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let Some(error) = failed else {
        tx.commit().await?;
        return Ok(held);
    };
    tracing::warn!(%error, jobs = finishes.len(), "a batch of job outcomes failed; writing each on its own step");
    tx.rollback().await?;
    let mut tx = begin_write(db).await?;
    let mut held = Vec::with_capacity(finishes.len());
    for finish in finishes {
        tx.begin_step().await?;
        match finish_in(&mut tx, *finish, now).await {
            Ok(applied) => {
                tx.keep_step().await?;
                held.push(Ok(applied));
            }
            Err(e) => {
                tx.undo_step().await?;
                held.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(held)
}

/// One job's claim-checked update and, when it applied, the close of its attempt record.
/// `done` and `failed` jobs keep only the ids of their payload.
async fn finish_in(
    tx: &mut super::WriteTx,
    finish: Finish<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let Finish { claim, ending } = finish;
    // One statement for every ending: a retry keeps its payload (it runs again), the others
    // keep only its ids.
    let sql = format!(
        "UPDATE jobs SET status = $1, run_at = COALESCE($2, run_at), last_error = COALESCE($3, last_error),
             claimed_by = NULL, claimed_at = NULL, updated_at = $4,
             payload = CASE WHEN $1 = 'ready' THEN payload ELSE {} END
         WHERE id = $5 AND status = 'running' AND claimed_by = $6 AND attempts = $7",
        ids_only(tx.engine())
    );
    let updated = on_conn!(&mut **tx, |c| {
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(ending.status())
            .bind(ending.run_at())
            .bind(ending.error())
            .bind(now)
            .bind(claim.job_id)
            .bind(claim.worker_id)
            .bind(claim.attempt)
            .execute(c)
            .await
            .map(|done| done.rows_affected())
    })?;
    if updated != 1 {
        return Ok(false);
    }
    on_conn!(&mut **tx, |c| {
        sqlx::query(
            "UPDATE job_attempts SET finished_at = $1, outcome = $2, error = $3 WHERE job_id = $4 AND attempt = $5",
        )
        .bind(now)
        .bind(ending.outcome())
        .bind(ending.error())
        .bind(claim.job_id)
        .bind(claim.attempt)
        .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(true)
}

/// Hands back every running job: at start, those a dead process held (SQLite: one server per
/// file, so every claim is a dead one). See `release`. Returns how many jobs it touched.
pub async fn release_claimed(db: &Db, reason: &str) -> Result<u64, sqlx::Error> {
    release(db, None, None, reason).await
}

/// Hands back the running jobs `worker_id` holds: at shutdown, those that did not finish in time.
pub async fn release_claimed_by(
    db: &Db,
    worker_id: &str,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    release(db, Some(worker_id), None, reason).await
}

/// Hands back the running jobs whose lease ran out before `before`: their worker stopped
/// renewing it, so its process died (another instance, or this one before a restart).
pub async fn release_expired(db: &Db, before: i64, reason: &str) -> Result<u64, sqlx::Error> {
    release(db, None, Some(before), reason).await
}

/// Renews the lease of a running job; false when the claim no longer holds.
pub async fn renew(
    db: impl Into<Exec<'_>>,
    claim: Claim<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "UPDATE jobs SET claimed_at = $1
         WHERE id = $2 AND status = 'running' AND claimed_by = $3 AND attempts = $4"
    )
    .bind(now)
    .bind(claim.job_id)
    .bind(claim.worker_id)
    .bind(claim.attempt)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done == 1)
}

/// Running jobs (of `worker_id`, or claimed before `claimed_before`, or all) go back to `ready`,
/// and their open attempt is closed as `released` with `reason`. The interrupted attempt
/// counts, so a job that keeps killing its process stops at `max_attempts` (it is marked
/// `failed`) instead of crashing every restart.
async fn release(
    db: &Db,
    worker_id: Option<&str>,
    claimed_before: Option<i64>,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let mut tx = begin_write(db).await?;
    let now = super::now();
    on_conn!(&mut *tx, |c| {
        sqlx::query(
            "UPDATE job_attempts SET finished_at = $1, outcome = 'released', error = $2
             WHERE finished_at IS NULL AND (job_id, attempt) IN (
                 SELECT id, attempts FROM jobs WHERE status = 'running'
                   AND ($3 IS NULL OR claimed_by = $3) AND ($4 IS NULL OR claimed_at < $4))",
        )
        .bind(now)
        .bind(reason)
        .bind(worker_id)
        .bind(claimed_before)
        .execute(c)
        .await
        .map(|done| done.rows_affected())
    })?;
    let released = on_conn!(&mut *tx, |c| sqlx::query(
        "UPDATE jobs
         SET status = CASE WHEN attempts < max_attempts THEN 'ready' ELSE 'failed' END,
             last_error = $1, claimed_by = NULL, claimed_at = NULL, updated_at = $2
         WHERE status = 'running' AND ($3 IS NULL OR claimed_by = $3)
           AND ($4 IS NULL OR claimed_at < $4)",
    )
    .bind(reason)
    .bind(now)
    .bind(worker_id)
    .bind(claimed_before)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    if released > 0 && tx.engine() == super::Engine::Postgres {
        on_conn!(&mut *tx, |c| sqlx::query(
            "SELECT pg_notify('lobby_jobs', '')"
        )
        .execute(c)
        .await
        .map(|done| done.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(released)
}

/// When the next ready job falls due (it may already be due), or `None` when none is waiting.
pub async fn next_run_at(db: impl Into<Exec<'_>>) -> Result<Option<i64>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_scalar(
        "SELECT MIN(run_at) FROM jobs WHERE status = 'ready'"
    )
    .fetch_one(c)
    .await)
}

pub async fn stats(db: impl Into<Exec<'_>>, now: i64) -> Result<Stats, sqlx::Error> {
    // Separate counts so each one is answered from the `jobs_ready` index, not a scan of done jobs.
    on_conn!(db, |c| {
        sqlx::query_as(
        "SELECT
             (SELECT COUNT(*) FROM jobs WHERE status = 'ready') AS ready,
             (SELECT COUNT(*) FROM jobs WHERE status = 'running') AS running,
             (SELECT COUNT(*) FROM jobs WHERE status = 'failed') AS failed,
             COALESCE($1 - (SELECT MIN(run_at) FROM jobs WHERE status = 'ready' AND run_at <= $1), 0)
                 AS oldest_ready_age_secs",
    )
    .bind(now)
    .fetch_one(c)
        .await
    })
}

pub async fn attempts(db: impl Into<Exec<'_>>, job_id: i64) -> Result<Vec<Attempt>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT attempt, started_at, finished_at, outcome, error FROM job_attempts
         WHERE job_id = $1 ORDER BY attempt, id",
    )
    .bind(job_id)
    .fetch_all(c)
    .await)
}

pub async fn get(db: impl Into<Exec<'_>>, id: i64) -> Result<Option<JobRow>, sqlx::Error> {
    on_conn!(db, |c| sqlx::query_as(
        "SELECT id, kind, payload, status, run_at, attempts, max_attempts, claimed_by, claimed_at,
             last_error, created_at, updated_at
         FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// A fresh database in a temporary directory, for the queue's tests.
#[cfg(test)]
pub(crate) async fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = super::connect(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .unwrap();
    (dir, db)
}

/// Forgets jobs that finished (done) before `before`, with their attempts.
pub async fn delete_done_before(db: impl Into<Exec<'_>>, before: i64) -> Result<u64, sqlx::Error> {
    let done = on_conn!(db, |c| sqlx::query(
        "DELETE FROM jobs WHERE status = 'done' AND updated_at < $1"
    )
    .bind(before)
    .execute(c)
    .await
    .map(|done| done.rows_affected()))?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn enqueue_now(db: &Db, max_attempts: i64) -> i64 {
        enqueue(db, "test", &json!({"n": 1}), crate::db::now(), max_attempts)
            .await
            .unwrap()
    }

    fn claim_of(job: &ClaimedJob, worker_id: &'static str) -> Claim<'static> {
        Claim {
            job_id: job.id,
            worker_id,
            attempt: job.attempt,
        }
    }

    // The one-job cases of the batched calls, which the tests below use one step at a time.

    async fn claim(db: &Db, worker_id: &str, now: i64) -> Result<Option<ClaimedJob>, sqlx::Error> {
        Ok(claim_batch(db, worker_id, now, 1).await?.pop())
    }

    async fn finish(db: &Db, claim: Claim<'_>, ending: Ending) -> Result<bool, sqlx::Error> {
        let finish = Finish {
            claim,
            ending: &ending,
        };
        let mut held = finish_batch(db, &[finish]).await?;
        held.pop().unwrap()
    }

    async fn complete(db: &Db, claim: Claim<'_>) -> Result<bool, sqlx::Error> {
        finish(db, claim, Ending::Done).await
    }

    async fn retry(
        db: &Db,
        claim: Claim<'_>,
        run_at: i64,
        error: &str,
    ) -> Result<bool, sqlx::Error> {
        let error = error.to_owned();
        finish(db, claim, Ending::Retry { run_at, error }).await
    }

    async fn fail(db: &Db, claim: Claim<'_>, error: &str) -> Result<bool, sqlx::Error> {
        let error = error.to_owned();
        finish(db, claim, Ending::Failed { error }).await
    }

    #[tokio::test]
    async fn a_claim_batch_takes_at_most_its_limit_and_opens_one_attempt_each() {
        let (_dir, db) = temp_db().await;
        let now = crate::db::now();
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(
                enqueue(&db, "test", &json!(n), now - 5 + n, 3)
                    .await
                    .unwrap(),
            );
        }

        let first = claim_batch(&db, "w", now, 3).await.unwrap();
        let claimed: Vec<i64> = first.iter().map(|job| job.id).collect();
        assert_eq!(claimed, ids[..3], "the three due the longest, in order");
        let rest = claim_batch(&db, "w", now, 10).await.unwrap();
        assert_eq!(rest.iter().map(|job| job.id).collect::<Vec<_>>(), ids[3..]);
        assert!(claim_batch(&db, "w", now, 10).await.unwrap().is_empty());
        assert!(claim_batch(&db, "w", now, 0).await.unwrap().is_empty());

        for id in ids {
            assert_first_attempt_open(&db, id).await;
        }
    }

    #[tokio::test]
    async fn a_failing_outcome_in_a_finish_batch_does_not_lose_the_others() {
        let (_dir, db) = temp_db().await;
        let now = crate::db::now();
        for n in 0..3 {
            enqueue(&db, "test", &json!(n), now, 3).await.unwrap();
        }
        let jobs = claim_batch(&db, "w", now, 3).await.unwrap();
        // The second job's attempt record refuses to close.
        let trigger = format!(
            "CREATE TRIGGER refuse BEFORE UPDATE ON job_attempts WHEN NEW.job_id = {}
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
            jobs[1].id
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(trigger))
            .execute(db.as_sqlite().unwrap())
            .await
            .unwrap();

        let done = Ending::Done;
        let finishes: Vec<Finish<'_>> = jobs
            .iter()
            .map(|job| Finish {
                claim: claim_of(job, "w"),
                ending: &done,
            })
            .collect();
        let held = finish_batch(&db, &finishes).await.unwrap();
        assert!(matches!(held[..], [Ok(true), Err(_), Ok(true)]), "{held:?}");
        let statuses: Vec<String> = {
            let mut statuses = Vec::new();
            for job in &jobs {
                statuses.push(get(&db, job.id).await.unwrap().unwrap().status);
            }
            statuses
        };
        // The failed one is undone whole: still running, so a release hands it back later.
        assert_eq!(statuses, ["done", "running", "done"]);
    }

    #[tokio::test]
    async fn a_finish_batch_reports_false_only_for_the_claim_taken_back() {
        let (_dir, db) = temp_db().await;
        let now = crate::db::now();
        for n in 0..3 {
            enqueue(&db, "test", &json!({ "n": n, "team_id": "T" }), now, 3)
                .await
                .unwrap();
        }
        let jobs = claim_batch(&db, "w", now, 3).await.unwrap();
        // The second job was taken back (its lease ran out) and another worker runs it now.
        sqlx::query("UPDATE jobs SET claimed_by = 'other', attempts = 2 WHERE id = $1")
            .bind(jobs[1].id)
            .execute(db.as_sqlite().unwrap())
            .await
            .unwrap();

        let endings = [
            Ending::Done,
            Ending::Retry {
                run_at: now,
                error: "late".into(),
            },
            Ending::Failed { error: "no".into() },
        ];
        let finishes: Vec<Finish<'_>> = jobs
            .iter()
            .zip(&endings)
            .map(|(job, ending)| Finish {
                claim: claim_of(job, "w"),
                ending,
            })
            .collect();
        let held: Vec<bool> = finish_batch(&db, &finishes)
            .await
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(held, [true, false, true]);

        let statuses: Vec<(String, Option<String>)> = {
            let mut rows = Vec::new();
            for job in &jobs {
                let row = get(&db, job.id).await.unwrap().unwrap();
                rows.push((row.status, row.claimed_by));
            }
            rows
        };
        assert_eq!(
            statuses,
            [
                ("done".to_owned(), None),
                ("running".to_owned(), Some("other".to_owned())),
                ("failed".to_owned(), None),
            ]
        );
        let kept: serde_json::Value =
            serde_json::from_str(&get(&db, jobs[0].id).await.unwrap().unwrap().payload).unwrap();
        assert_eq!(kept, json!({ "team_id": "T" }));
    }

    #[tokio::test]
    async fn claim_takes_due_jobs_in_order_and_records_the_attempt() {
        let (_dir, db) = temp_db().await;
        let now = crate::db::now();
        let later = enqueue(&db, "test", &json!(1), now + 60, 3).await.unwrap();
        let second = enqueue(&db, "test", &json!(2), now, 3).await.unwrap();
        let first = enqueue(&db, "test", &json!(3), now - 5, 3).await.unwrap();

        let a = claim(&db, "w", now).await.unwrap().unwrap();
        let b = claim(&db, "w", now).await.unwrap().unwrap();
        assert_eq!((a.id, b.id), (first, second));
        assert_eq!((a.attempt, a.payload.as_str()), (1, "3"));
        assert!(
            claim(&db, "w", now).await.unwrap().is_none(),
            "job {later} is not due"
        );

        let row = get(&db, first).await.unwrap().unwrap();
        assert_eq!(
            (row.status.as_str(), row.claimed_by.as_deref()),
            ("running", Some("w"))
        );
        assert_first_attempt_open(&db, first).await;
    }

    /// The job has run once, and that attempt is still open.
    async fn assert_first_attempt_open(db: &Db, id: i64) {
        let recorded = attempts(db, id).await.unwrap();
        let recorded: Vec<_> = recorded
            .iter()
            .map(|a| (a.attempt, a.outcome.as_deref()))
            .collect();
        assert_eq!(recorded, [(1, None)], "job {id}");
    }

    #[tokio::test]
    async fn a_finished_job_keeps_only_the_ids_of_its_payload() {
        let (_dir, db) = temp_db().await;
        let now = crate::db::now();
        let payload = json!({
            "request_id": 7, "team_id": "T1", "email": "ada@example.org",
            "to": { "response_url": "https://hooks.slack.test/x" }, "text": "hi",
        });
        let done = enqueue(&db, "test", &payload, now - 1, 3).await.unwrap();
        let failed = enqueue(&db, "test", &payload, now, 3).await.unwrap();
        let a = claim(&db, "w", now).await.unwrap().unwrap();
        assert!(complete(&db, claim_of(&a, "w")).await.unwrap());
        let b = claim(&db, "w", now).await.unwrap().unwrap();
        assert!(fail(&db, claim_of(&b, "w"), "gave up").await.unwrap());
        for id in [done, failed] {
            let row = get(&db, id).await.unwrap().unwrap();
            let kept: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
            assert_eq!(kept, json!({ "request_id": 7, "team_id": "T1" }));
        }
    }

    #[tokio::test]
    async fn a_job_is_never_completed_twice() {
        let (_dir, db) = temp_db().await;
        let id = enqueue_now(&db, 3).await;
        let job = claim(&db, "w", crate::db::now()).await.unwrap().unwrap();
        let claim = claim_of(&job, "w");

        assert!(complete(&db, claim).await.unwrap());
        assert!(!complete(&db, claim).await.unwrap());
        assert!(!retry(&db, claim, 0, "late").await.unwrap());
        assert!(!fail(&db, claim, "late").await.unwrap());

        let row = get(&db, id).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.last_error), ("done", None));
        let recorded = attempts(&db, id).await.unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].outcome.as_deref(), Some("done"));
    }

    #[tokio::test]
    async fn a_worker_that_lost_its_claim_changes_nothing() {
        let (_dir, db) = temp_db().await;
        let id = enqueue_now(&db, 3).await;
        let now = crate::db::now();
        let stale = claim(&db, "old", now).await.unwrap().unwrap();
        assert_eq!(release_claimed(&db, "restart").await.unwrap(), 1);
        let current = claim(&db, "new", now).await.unwrap().unwrap();
        assert_eq!(current.attempt, 2);

        assert!(!complete(&db, claim_of(&stale, "old")).await.unwrap());
        assert!(!fail(&db, claim_of(&stale, "old"), "stale").await.unwrap());
        // Same worker id, earlier attempt: still refused.
        let stale_attempt = Claim {
            attempt: 1,
            ..claim_of(&current, "new")
        };
        assert!(!complete(&db, stale_attempt).await.unwrap());

        let row = get(&db, id).await.unwrap().unwrap();
        assert_eq!(
            (row.status.as_str(), row.claimed_by.as_deref()),
            ("running", Some("new"))
        );
        assert!(complete(&db, claim_of(&current, "new")).await.unwrap());
    }

    #[tokio::test]
    async fn retry_schedules_the_job_again_and_keeps_the_error() {
        let (_dir, db) = temp_db().await;
        let id = enqueue_now(&db, 3).await;
        let now = crate::db::now();
        let job = claim(&db, "w", now).await.unwrap().unwrap();
        assert!(
            retry(&db, claim_of(&job, "w"), now + 30, "slack said no")
                .await
                .unwrap()
        );

        let row = get(&db, id).await.unwrap().unwrap();
        assert_eq!(row.status, "ready");
        assert_eq!(row.run_at, now + 30);
        assert_eq!(row.last_error.as_deref(), Some("slack said no"));
        assert_eq!(row.claimed_by, None);
        assert!(claim(&db, "w", now).await.unwrap().is_none());
        let recorded = attempts(&db, id).await.unwrap();
        assert_eq!(recorded[0].outcome.as_deref(), Some("retry"));
        assert_eq!(recorded[0].error.as_deref(), Some("slack said no"));
        assert!(recorded[0].finished_at.is_some());
    }

    #[tokio::test]
    async fn release_claimed_hands_running_jobs_back_and_closes_their_attempts() {
        let (_dir, db) = temp_db().await;
        let id = enqueue_now(&db, 3).await;
        let now = crate::db::now();
        claim(&db, "dead", now).await.unwrap().unwrap();

        assert_eq!(release_claimed(&db, "process died").await.unwrap(), 1);
        let row = get(&db, id).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.attempts), ("ready", 1));
        let recorded = attempts(&db, id).await.unwrap();
        assert_eq!(recorded[0].outcome.as_deref(), Some("released"));
        assert_eq!(recorded[0].error.as_deref(), Some("process died"));
        assert_eq!(release_claimed(&db, "again").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn release_fails_a_job_whose_last_attempt_was_interrupted() {
        let (_dir, db) = temp_db().await;
        let id = enqueue_now(&db, 1).await;
        claim(&db, "dead", crate::db::now()).await.unwrap().unwrap();

        release_claimed(&db, "process died").await.unwrap();
        let row = get(&db, id).await.unwrap().unwrap();
        assert_eq!(row.status, "failed");
        assert_eq!(row.last_error.as_deref(), Some("process died"));
    }

    #[tokio::test]
    async fn release_claimed_by_leaves_other_workers_jobs_alone() {
        let (_dir, db) = temp_db().await;
        let mine = enqueue_now(&db, 3).await;
        let theirs = enqueue_now(&db, 3).await;
        let now = crate::db::now();
        claim(&db, "me", now).await.unwrap().unwrap();
        claim(&db, "them", now).await.unwrap().unwrap();

        assert_eq!(release_claimed_by(&db, "me", "shutdown").await.unwrap(), 1);
        assert_eq!(get(&db, mine).await.unwrap().unwrap().status, "ready");
        assert_eq!(get(&db, theirs).await.unwrap().unwrap().status, "running");
        let theirs_attempts = attempts(&db, theirs).await.unwrap();
        assert_eq!(theirs_attempts[0].outcome, None);
    }

    #[tokio::test]
    async fn stats_count_jobs_by_status_and_measure_the_wait_of_the_oldest_due_job() {
        let (_dir, db) = temp_db().await;
        let now = crate::db::now();
        enqueue(&db, "test", &json!(1), now - 40, 1).await.unwrap();
        enqueue(&db, "test", &json!(2), now - 10, 1).await.unwrap();
        enqueue(&db, "test", &json!(3), now + 100, 1).await.unwrap();
        enqueue(&db, "test", &json!(4), now - 5, 1).await.unwrap();
        let job = claim(&db, "w", now).await.unwrap().unwrap();
        assert_eq!(stats(&db, now).await.unwrap().oldest_ready_age_secs, 10);
        fail(&db, claim_of(&job, "w"), "no").await.unwrap();
        claim(&db, "w", now).await.unwrap().unwrap();

        let stats = stats(&db, now).await.unwrap();
        assert_eq!(
            stats,
            Stats {
                ready: 2,
                running: 1,
                failed: 1,
                oldest_ready_age_secs: 5,
            }
        );
        assert_eq!(next_run_at(&db).await.unwrap(), Some(now - 5));
    }

    #[tokio::test]
    async fn an_empty_queue_has_no_next_job_and_no_wait() {
        let (_dir, db) = temp_db().await;
        assert_eq!(next_run_at(&db).await.unwrap(), None);
        assert_eq!(stats(&db, 0).await.unwrap().oldest_ready_age_secs, 0);
    }
}
