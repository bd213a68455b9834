//! The durable job queue: every Slack call and all slow work run from here, never on a request.
//!
//! A caller enqueues a job (in its own transaction when the job belongs to a write, then calls
//! [`Queue::wake`] after the commit); [`Workers`] claim due jobs, run the [`Handler`] registered for
//! the job's kind, and record the [`Outcome`]. Jobs survive restarts, every attempt is recorded,
//! and retries back off exponentially with jitter, never sooner than Slack's `Retry-After`.
//!
//! Every write of the queue is batched, so a busy queue takes few turns of the database's writer
//! (on SQLite the one writer that signups also wait for): [`Queue::enqueue`] commits the jobs
//! enqueued at the same moment in one transaction; the workers claim as many due jobs as they
//! have free slots in one transaction, and record the outcomes of the jobs that finished together
//! in one. Each caller hears back only once its write has committed.

mod backoff;
mod registry;
mod workers;

use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::db::{self, Db};

pub use backoff::{Backoff, backoff};
pub use registry::{Handler, HandlerFuture, Registry};
pub use workers::{WorkerConfig, Workers};

/// How many times a job runs before it is failed, unless its enqueuer says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 12;

/// A job as a handler sees it. `attempt` counts from 1.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub attempt: i64,
}

/// What a handler reports; the worker turns it into the job's next state.
/// Errors are stored with the job and logged: they must name the problem, never quote the payload
/// (it may hold email addresses) or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Run again after the worker's backoff, and never before `retry_after` (Slack's `Retry-After`).
    /// Once the job has used all its attempts it fails with `error` instead.
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Give up for good: retrying cannot help (bad input, a configuration error).
    Fail {
        error: String,
    },
}

impl Outcome {
    pub fn retry(error: impl Into<String>) -> Self {
        Outcome::Retry {
            error: error.into(),
            retry_after: None,
        }
    }

    pub fn retry_after(error: impl Into<String>, after: Duration) -> Self {
        Outcome::Retry {
            error: error.into(),
            retry_after: Some(after),
        }
    }

    pub fn fail(error: impl Into<String>) -> Self {
        Outcome::Fail {
            error: error.into(),
        }
    }
}

/// A kind of job and its payload, typed: the enqueuer builds the job from the value, the handler
/// reads the value back, and nobody indexes into JSON.
pub trait JobKind: serde::Serialize + serde::de::DeserializeOwned {
    const KIND: &'static str;

    /// The job that carries this payload, due now.
    fn job(&self) -> NewJob<'static> {
        // Payloads are plain structs of strings, numbers and lists: serializing them cannot fail.
        NewJob::new(Self::KIND, serde_json::to_value(self).unwrap_or_default())
    }
}

impl Job {
    /// The payload as its kind's type. One that does not decode (written by another version,
    /// or emptied when the job finished) fails the job for good.
    pub fn decode<K: JobKind>(&self) -> Result<K, Outcome> {
        serde_json::from_value(self.payload.clone())
            .map_err(|e| Outcome::fail(format!("the payload is not a {} job's: {e}", K::KIND)))
    }
}

/// A job to enqueue: due now with [`DEFAULT_MAX_ATTEMPTS`] unless told otherwise.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    kind: &'a str,
    payload: serde_json::Value,
    run_at: i64,
    max_attempts: i64,
}

impl<'a> NewJob<'a> {
    pub fn new(kind: &'a str, payload: serde_json::Value) -> Self {
        NewJob {
            kind,
            payload,
            run_at: db::now(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Not before this time (Unix seconds).
    pub fn run_at(mut self, run_at: i64) -> Self {
        self.run_at = run_at;
        self
    }

    pub fn max_attempts(mut self, max_attempts: i64) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// The row `db::jobs::enqueue_many` writes for this job.
    fn row(&self) -> db::jobs::NewJobRow<'_> {
        db::jobs::NewJobRow {
            kind: self.kind,
            payload: &self.payload,
            run_at: self.run_at,
            max_attempts: self.max_attempts,
        }
    }
}

/// The handle the app enqueues through; cheap to clone, shares its wake-up signal with the workers.
#[derive(Debug, Clone)]
pub struct Queue {
    db: Db,
    notify: std::sync::Arc<Notify>,
    batches: mpsc::Sender<Pending>,
}

/// A job waiting for the batcher to commit it, and who to tell its id.
#[derive(Debug)]
struct Pending {
    job: NewJob<'static>,
    committed: oneshot::Sender<Result<i64, String>>,
}

/// At most this many jobs share one transaction.
const MAX_BATCH: usize = 512;

impl Queue {
    /// Must be called inside a Tokio runtime: it starts the task that commits enqueued jobs.
    pub fn new(db: Db) -> Self {
        let notify: std::sync::Arc<Notify> = Default::default();
        let (batches, pending) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(commit_batches(db.clone(), notify.clone(), pending));
        Queue {
            db,
            notify,
            batches,
        }
    }

    /// Enqueues on its own and wakes a worker. Jobs enqueued at the same moment commit together
    /// in one transaction (group commit), so a burst costs one write, not one each.
    pub async fn enqueue(&self, job: NewJob<'static>) -> Result<i64, sqlx::Error> {
        let (committed, id) = oneshot::channel();
        let pending = Pending { job, committed };
        let gone = || sqlx::Error::Protocol("the job queue has stopped".into());
        self.batches.send(pending).await.map_err(|_| gone())?;
        id.await.map_err(|_| gone())?.map_err(sqlx::Error::Protocol)
    }

    /// Enqueues inside the caller's transaction, so a request and its job commit together.
    /// Call [`Queue::wake`] after the commit: a worker woken earlier would not see the job yet.
    pub async fn enqueue_in(
        db: impl Into<db::Exec<'_>>,
        job: NewJob<'_>,
    ) -> Result<i64, sqlx::Error> {
        db::jobs::enqueue(db, job.kind, &job.payload, job.run_at, job.max_attempts).await
    }

    /// [`Queue::enqueue_in`] for many jobs, in one statement.
    pub async fn enqueue_many_in(
        db: impl Into<db::Exec<'_>>,
        jobs: &[NewJob<'_>],
    ) -> Result<(), sqlx::Error> {
        let rows: Vec<db::jobs::NewJobRow<'_>> = jobs.iter().map(NewJob::row).collect();
        db::jobs::enqueue_many(db, &rows).await.map(drop)
    }

    /// Tells an idle worker to look for due jobs now rather than at its next poll.
    pub fn wake(&self) {
        // `notify_one` keeps a permit when no worker is waiting, so a wake-up is never lost.
        self.notify.notify_one();
    }

    fn db(&self) -> &Db {
        &self.db
    }

    fn notify(&self) -> &std::sync::Arc<Notify> {
        &self.notify
    }
}

/// Commits what `enqueue` sends, as many jobs per transaction as are waiting.
async fn commit_batches(
    db: Db,
    notify: std::sync::Arc<Notify>,
    mut pending: mpsc::Receiver<Pending>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let ids = insert_batch(&db, &batch).await;
        for (i, job) in batch.drain(..).enumerate() {
            let result = match &ids {
                Ok(ids) => Ok(ids[i]),
                Err(e) => Err(e.to_string()),
            };
            // The caller may have given up waiting; the job is committed either way.
            let _ = job.committed.send(result);
        }
        if ids.is_ok() {
            notify.notify_one();
        }
    }
}

async fn insert_batch(db: &Db, batch: &[Pending]) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<db::jobs::NewJobRow<'_>> = batch.iter().map(|p| p.job.row()).collect();
    let mut tx = db::begin_write(db).await?;
    let ids = db::jobs::enqueue_many(&mut *tx, &rows).await?;
    tx.commit().await?;
    Ok(ids)
}

/// The first whole second at or after `now + delay`, so a job is never claimed early
/// (claims compare against the current second, rounded down). Saturates instead of overflowing.
fn due_at(now_nanos: i128, delay: Duration) -> i64 {
    const NANOS: i128 = 1_000_000_000;
    if delay.is_zero() {
        return i64::try_from(now_nanos.div_euclid(NANOS)).unwrap_or(i64::MAX);
    }
    let delay = i128::try_from(delay.as_nanos()).unwrap_or(i128::MAX);
    let due = now_nanos.saturating_add(delay);
    let secs = due.div_euclid(NANOS) + i128::from(due.rem_euclid(NANOS) != 0);
    i64::try_from(secs).unwrap_or(i64::MAX)
}

fn now_nanos() -> i128 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i128 = 1_000_000_000;

    #[test]
    fn due_at_rounds_up_to_the_next_whole_second() {
        assert_eq!(due_at(10 * SEC + 1, Duration::from_millis(1)), 11);
        assert_eq!(due_at(10 * SEC, Duration::from_secs(2)), 12);
        assert_eq!(due_at(10 * SEC + 999_999_999, Duration::from_secs(1)), 12);
    }

    #[test]
    fn due_at_with_no_delay_is_now() {
        assert_eq!(due_at(10 * SEC + 500_000_000, Duration::ZERO), 10);
    }

    #[test]
    fn due_at_saturates_on_absurd_delays() {
        assert_eq!(due_at(10 * SEC, Duration::MAX), i64::MAX);
    }

    #[tokio::test]
    async fn a_burst_of_enqueues_commits_every_job_once() {
        let (_dir, db) = crate::db::jobs::temp_db().await;
        let queue = Queue::new(db.clone());
        let mut sends = tokio::task::JoinSet::new();
        for i in 0..300 {
            let queue = queue.clone();
            sends.spawn(async move {
                let id = queue
                    .enqueue(NewJob::new("burst", serde_json::json!({ "i": i })))
                    .await?;
                // The id each caller hears is its own job's, not another of the batch.
                let job = crate::db::jobs::get(&queue.db, id).await?.expect("the job");
                assert_eq!(job.payload, serde_json::json!({ "i": i }).to_string());
                Ok::<i64, sqlx::Error>(id)
            });
        }
        let mut ids: Vec<i64> = sends
            .join_all()
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 300, "every caller got its own job id");
        let stats = crate::db::jobs::stats(&db, crate::db::now()).await.unwrap();
        assert_eq!(stats.ready, 300);
    }

    #[test]
    fn max_attempts_is_at_least_one() {
        let job = NewJob::new("k", serde_json::Value::Null).max_attempts(0);
        assert_eq!(job.max_attempts, 1);
    }
}

#[cfg(test)]
mod job_kind_tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Greet {
        name: String,
    }

    impl JobKind for Greet {
        const KIND: &'static str = "greet";
    }

    fn job_with(payload: serde_json::Value) -> Job {
        Job {
            id: 1,
            kind: Greet::KIND.into(),
            payload,
            attempt: 1,
        }
    }

    #[test]
    fn a_payload_round_trips_and_a_foreign_one_fails_the_job() {
        let new = Greet { name: "Ada".into() }.job();
        assert_eq!(new.kind, "greet");
        let decoded: Greet = job_with(new.payload).decode().unwrap();
        assert_eq!(decoded, Greet { name: "Ada".into() });
        // A finished job keeps only ids: what is left does not decode, and says so.
        let outcome = job_with(serde_json::json!({}))
            .decode::<Greet>()
            .unwrap_err();
        assert!(matches!(outcome, Outcome::Fail { error } if error.contains("greet")));
    }
}
