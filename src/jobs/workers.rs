//! The workers: claim due jobs, run their handlers, record what happened.
//!
//! One dispatcher claims jobs for this process and runs each on a task of its own, at most
//! [`WorkerConfig::concurrency`] at once. Claims and outcomes are written in batches, so a busy
//! queue costs few write transactions (on SQLite, few turns of the one writer that signups and
//! enqueues also wait for):
//! - the dispatcher claims as many due jobs as it has free slots, in one transaction, and claims
//!   again whenever slots free up;
//! - a finished job hands its outcome to the finisher, which records every outcome waiting in one
//!   transaction, and hears back once it has committed (and whether its claim still held) before
//!   its slot frees up.
//!
//! A handler runs on a task of its own too, so a panic costs one attempt, not a worker. When
//! nothing is due the dispatcher sleeps until the next job falls due, a [`Queue::wake`], a slot
//! freeing up, or its poll interval.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use super::{Backoff, Job, Outcome, Queue, Registry, due_at, now_nanos};
use crate::db::jobs::{Claim, ClaimedJob, Ending, Finish};
use crate::db::{self, Db};
use crate::metrics::{JobOutcome, Metrics};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How many jobs run at once.
    pub concurrency: usize,
    pub backoff: Backoff,
    /// The longest an idle worker sleeps before looking again (jobs enqueued without a wake-up).
    pub poll_interval: Duration,
    /// Where every run's outcome and duration is counted.
    pub metrics: Metrics,
    /// How long a claim holds without renewal. A running job's worker renews it every third of
    /// this; when a process dies, another instance takes its jobs over once the lease runs out.
    pub lease: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 4,
            backoff: Backoff::DEFAULT,
            poll_interval: Duration::from_secs(1),
            metrics: Metrics::default(),
            lease: Duration::from_secs(60),
        }
    }
}

/// The running workers of this process. Dropping them aborts every job at once (they are
/// released at the next start); [`Workers::shutdown`] lets running jobs finish first.
pub struct Workers {
    worker: Arc<Worker>,
    /// `Some(grace)` once the shutdown has begun.
    stop: watch::Sender<Option<Duration>>,
    dispatcher: JoinSet<()>,
    finisher: JoinSet<()>,
}

impl Workers {
    /// Releases the jobs a stopped process left claimed, then starts the dispatcher and the
    /// finisher. On SQLite one process runs the workers of a database file, so its start takes
    /// back every claim; on PostgreSQL other instances' claims are live until their lease runs
    /// out, and the dispatcher takes over expired ones as it goes (see
    /// [`Worker::take_over_expired`]).
    pub async fn start(
        queue: &Queue,
        registry: Registry,
        config: WorkerConfig,
    ) -> Result<Workers, sqlx::Error> {
        let db = queue.db();
        let released = match db.engine() {
            db::Engine::Sqlite => {
                db::jobs::release_claimed(db, "the process running it stopped").await?
            }
            db::Engine::Postgres => 0,
        };
        if released > 0 {
            tracing::warn!(released, "took back jobs a stopped process had claimed");
        }
        let concurrency = config.concurrency.max(1);
        // Every running job sends at most one outcome, so this never makes one wait.
        let (finishes, outcomes) = mpsc::channel(concurrency);
        let worker = Arc::new(Worker {
            id: uuid::Uuid::new_v4().to_string(),
            db: queue.db().clone(),
            registry,
            notify: queue.notify().clone(),
            finishes,
            backoff: config.backoff,
            poll_interval: config.poll_interval,
            metrics: config.metrics,
            lease: config.lease,
            concurrency,
            waiting: AtomicUsize::new(0),
        });
        let (stop, _) = watch::channel(None);
        let mut finisher = JoinSet::new();
        finisher.spawn(finish_batches(
            worker.db.clone(),
            worker.id.clone(),
            outcomes,
        ));
        let mut dispatcher = JoinSet::new();
        dispatcher.spawn(worker.clone().dispatch(stop.subscribe()));
        tracing::info!(worker_id = %worker.id, concurrency, "job workers started");
        Ok(Workers {
            worker,
            stop,
            dispatcher,
            finisher,
        })
    }

    /// The id this process's claims carry (`jobs.claimed_by`).
    pub fn id(&self) -> &str {
        &self.worker.id
    }

    /// How many job slots are free while the dispatcher, having found nothing to claim, waits
    /// for a wake-up or the next poll (0 while it claims or every slot is busy).
    pub fn waiting(&self) -> usize {
        self.worker.waiting.load(Ordering::SeqCst)
    }

    /// Stops claiming, waits up to `grace` for running jobs, then aborts the rest and hands
    /// them back to the queue, so they run again at the next start.
    pub async fn shutdown(mut self, grace: Duration) {
        self.stop.send_replace(Some(grace));
        // The dispatcher lets its jobs finish within `grace` and aborts the rest itself; the
        // margin is for a claim it may be waiting on in the database.
        let margin = grace.saturating_add(Duration::from_secs(5));
        if tokio::time::timeout(margin, self.dispatcher.join_next())
            .await
            .is_err()
        {
            self.dispatcher.shutdown().await;
        }
        // Every job has its answer or was aborted: nothing the finisher holds is awaited.
        self.finisher.shutdown().await;
        let worker = &self.worker;
        match db::jobs::release_claimed_by(&worker.db, &worker.id, "shut down before it finished")
            .await
        {
            Ok(0) => {}
            Ok(released) => tracing::warn!(released, "released jobs still running at shutdown"),
            Err(error) => tracing::error!(
                %error,
                "cannot release the jobs still running at shutdown; the next start will"
            ),
        }
        tracing::info!(worker_id = %worker.id, "job workers stopped");
    }
}

/// What the dispatcher and every running job of one [`Workers`] share.
struct Worker {
    id: String,
    db: Db,
    registry: Registry,
    notify: Arc<Notify>,
    /// To the finisher: each run's outcome, to be recorded with others.
    finishes: mpsc::Sender<Finishing>,
    backoff: Backoff,
    poll_interval: Duration,
    metrics: Metrics,
    lease: Duration,
    concurrency: usize,
    /// Free slots while the dispatcher waits in [`Worker::idle`], else 0.
    waiting: AtomicUsize,
}

/// A run's outcome on its way to the finisher, and who to tell whether its claim still held.
struct Finishing {
    job_id: i64,
    attempt: i64,
    ending: Ending,
    held: oneshot::Sender<Result<bool, String>>,
}

/// At most this many jobs are claimed in one transaction (a statement's values stay well
/// within either engine's limit however large the concurrency).
const MAX_CLAIM: usize = 256;

const LEASE_EXPIRED: &str = "its worker stopped renewing the claim (the process died)";

fn lease_secs(lease: Duration) -> i64 {
    i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1)
}

impl Worker {
    /// Claims jobs for the free slots and starts them, until the shutdown; then lets the running
    /// jobs finish within its grace period and aborts the rest.
    async fn dispatch(self: Arc<Self>, mut stop: watch::Receiver<Option<Duration>>) {
        let mut running = JoinSet::new();
        let mut last_expiry_check = 0;
        while !stopping(&stop) {
            let free = self.concurrency.saturating_sub(running.len());
            if free == 0 {
                // Every slot is busy: claim again once one frees up.
                tokio::select! {
                    Some(ended) = running.join_next() => reap(ended, &mut running),
                    _ = stop.changed() => {}
                }
                continue;
            }
            self.take_over_expired(&mut last_expiry_check).await;
            let wanted = free.min(MAX_CLAIM);
            match db::jobs::claim_batch(&self.db, &self.id, db::now(), wanted).await {
                Ok(jobs) => {
                    let nothing_more_due = jobs.len() < wanted;
                    for job in jobs {
                        running.spawn(self.clone().process(job));
                    }
                    if nothing_more_due {
                        // Nothing more is due: wait for work (or a slot freeing up, when the
                        // job that ran there may be due again at once).
                        self.idle(&mut running, &mut stop).await;
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "cannot claim jobs");
                    self.sleep(self.poll_interval, &mut stop).await;
                }
            }
        }
        let grace = (*stop.borrow()).unwrap_or_default();
        let drain = async { while running.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drain).await.is_err() {
            // Aborting a job drops its handler's `AbortOnDrop`, which aborts the handler too.
            running.shutdown().await;
        }
    }

    /// Another instance may have died holding jobs: they go back to the queue once their lease
    /// ran out. Checked before claiming, busy or idle, so a steady stream of new jobs cannot keep
    /// them waiting; at most every third of the lease, as the look is a write and claims expire
    /// no faster than that. (On SQLite the start already took back every claim.)
    async fn take_over_expired(&self, last_check: &mut i64) {
        let now = db::now();
        if self.db.engine() != db::Engine::Postgres
            || now - *last_check < (lease_secs(self.lease) / 3).max(1)
        {
            return;
        }
        *last_check = now;
        let expired = now - lease_secs(self.lease);
        match db::jobs::release_expired(&self.db, expired, LEASE_EXPIRED).await {
            Ok(0) => {}
            Ok(released) => tracing::warn!(released, "took over jobs whose lease ran out"),
            Err(error) => tracing::error!(%error, "cannot look for expired claims"),
        }
    }

    /// Sleeps until the next job is due, a wake-up, a job ending, a stop, or the poll interval.
    async fn idle(&self, running: &mut JoinSet<()>, stop: &mut watch::Receiver<Option<Duration>>) {
        let wait = match db::jobs::next_run_at(&self.db).await {
            Ok(Some(run_at)) => time_until(run_at).min(self.poll_interval),
            Ok(None) => self.poll_interval,
            Err(error) => {
                tracing::error!(%error, "cannot look up the next due job");
                self.poll_interval
            }
        };
        let free = self.concurrency.saturating_sub(running.len());
        self.waiting.store(free, Ordering::SeqCst);
        tokio::select! {
            () = self.notify.notified() => {}
            Some(ended) = running.join_next() => reap(ended, running),
            () = self.sleep(wait, stop) => {}
        }
        self.waiting.store(0, Ordering::SeqCst);
    }

    async fn sleep(&self, wait: Duration, stop: &mut watch::Receiver<Option<Duration>>) {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            // An error means the `Workers` are gone: stop waiting either way.
            _ = stop.changed() => {}
        }
    }

    async fn process(self: Arc<Self>, job: ClaimedJob) {
        // Never the payload: it may hold email addresses.
        let span =
            tracing::info_span!("job", job_id = job.id, kind = %job.kind, attempt = job.attempt);
        async {
            let claim = Claim {
                job_id: job.id,
                worker_id: &self.id,
                attempt: job.attempt,
            };
            let started = Instant::now();
            // Metrics: a run aborted at shutdown never reaches `record`; the guard counts it.
            let mut running = CountReleased {
                metrics: &self.metrics,
                kind: &job.kind,
                finished: false,
            };
            let outcome = self.execute_renewing(&job, claim).await;
            running.finished = true;
            let counted = self.record(claim, job.max_attempts, outcome).await;
            self.metrics
                .job_finished(&job.kind, counted, started.elapsed());
        }
        .instrument(span)
        .await;
    }

    /// Runs the job, renewing its lease while it runs so no other instance takes it over.
    async fn execute_renewing(&self, claimed: &ClaimedJob, claim: Claim<'_>) -> Outcome {
        let run = self.execute(claimed);
        tokio::pin!(run);
        let mut renew = tokio::time::interval(self.lease / 3);
        renew.tick().await;
        loop {
            tokio::select! {
                outcome = &mut run => return outcome,
                _ = renew.tick() => {
                    if let Err(error) = db::jobs::renew(&self.db, claim, db::now()).await {
                        tracing::warn!(%error, "cannot renew the job's lease");
                    }
                }
            }
        }
    }

    async fn execute(&self, claimed: &ClaimedJob) -> Outcome {
        let Some(handler) = self.registry.get(&claimed.kind) else {
            return Outcome::fail(format!(
                "no handler is registered for job kind `{}`",
                claimed.kind
            ));
        };
        let payload = match serde_json::from_str(&claimed.payload) {
            Ok(payload) => payload,
            Err(error) => return Outcome::fail(format!("the payload is not valid JSON: {error}")),
        };
        let job = Job {
            id: claimed.id,
            kind: claimed.kind.clone(),
            payload,
            attempt: claimed.attempt,
        };
        // `run` is called inside the task too, so even a handler that panics before returning
        // its future is caught.
        let task = tokio::spawn(async move { handler.run(job).await }.in_current_span());
        match AbortOnDrop(task).join().await {
            Ok(outcome) => outcome,
            // The panic message is not kept: it may quote the payload.
            Err(error) if error.is_panic() => Outcome::retry("the handler panicked"),
            Err(_) => Outcome::retry("the handler was cancelled"),
        }
    }

    /// Has the finisher store the run's outcome and waits until it is stored; returns the
    /// outcome as the metrics count it.
    async fn record(&self, claim: Claim<'_>, max_attempts: i64, outcome: Outcome) -> JobOutcome {
        let (ending, counted) = match outcome {
            Outcome::Done => {
                tracing::debug!("job done");
                (Ending::Done, JobOutcome::Done)
            }
            Outcome::Retry { error, retry_after } if claim.attempt < max_attempts => {
                let delay = self.backoff.delay(claim.attempt, retry_after);
                tracing::warn!(%error, retry_in = ?delay, "job will be retried");
                let run_at = due_at(now_nanos(), delay);
                (Ending::Retry { run_at, error }, JobOutcome::Retry)
            }
            Outcome::Retry { error, .. } => {
                tracing::error!(%error, max_attempts, "job failed on its last attempt");
                (Ending::Failed { error }, JobOutcome::Failed)
            }
            Outcome::Fail { error } => {
                tracing::error!(%error, "job failed");
                (Ending::Failed { error }, JobOutcome::Failed)
            }
        };
        let (held, answer) = oneshot::channel();
        let finishing = Finishing {
            job_id: claim.job_id,
            attempt: claim.attempt,
            ending,
            held,
        };
        let recorded = match self.finishes.send(finishing).await {
            Ok(()) => answer
                .await
                .unwrap_or_else(|_| Err("the finisher stopped".to_owned())),
            Err(_) => Err("the finisher stopped".to_owned()),
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("the job was taken back from this worker; its outcome is dropped")
            }
            Err(error) => tracing::error!(
                %error,
                "cannot record the job's outcome; it is released at shutdown or the next start"
            ),
        }
        counted
    }
}

/// Logs a running job's task that ended badly (its own code panicked; a handler's panic is
/// caught inside it), and takes every other one that has ended too, so the next claim asks for
/// all the slots free at once.
fn reap(ended: Result<(), tokio::task::JoinError>, running: &mut JoinSet<()>) {
    let mut ended = Some(ended);
    while let Some(result) = ended.take().or_else(|| running.try_join_next()) {
        if let Err(error) = result
            && error.is_panic()
        {
            tracing::error!(
                "a job's task panicked; its claim is released at shutdown or the next start"
            );
        }
    }
}

/// Records what the running jobs send, as many outcomes per transaction as are waiting, and
/// answers each once its transaction has committed.
async fn finish_batches(db: Db, worker_id: String, mut outcomes: mpsc::Receiver<Finishing>) {
    const MAX_BATCH: usize = 256;
    let mut batch: Vec<Finishing> = Vec::with_capacity(MAX_BATCH);
    while outcomes.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // In job order: two instances' batches on PostgreSQL then lock shared rows in one order.
        batch.sort_by_key(|f| f.job_id);
        let held = {
            let finishes: Vec<Finish<'_>> = batch
                .iter()
                .map(|f| Finish {
                    claim: Claim {
                        job_id: f.job_id,
                        worker_id: &worker_id,
                        attempt: f.attempt,
                    },
                    ending: &f.ending,
                })
                .collect();
            db::jobs::finish_batch(&db, &finishes).await
        };
        match held {
            Ok(held) => {
                for (f, held) in batch.drain(..).zip(held) {
                    // The job may have been aborted meanwhile; its outcome is stored either way.
                    let _ = f.held.send(held.map_err(|e| e.to_string()));
                }
            }
            Err(error) => {
                let error = error.to_string();
                for f in batch.drain(..) {
                    let _ = f.held.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Counts a run as released when it is dropped unfinished (its task was aborted at shutdown).
struct CountReleased<'a> {
    metrics: &'a Metrics,
    kind: &'a str,
    finished: bool,
}

impl Drop for CountReleased<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.metrics.jobs_ended(self.kind, JobOutcome::Released, 1);
        }
    }
}

fn stopping(stop: &watch::Receiver<Option<Duration>>) -> bool {
    stop.borrow().is_some() || stop.has_changed().is_err()
}

/// The wait until `run_at` (Unix seconds), zero when it has passed.
fn time_until(run_at: i64) -> Duration {
    let nanos = i128::from(run_at) * 1_000_000_000 - now_nanos();
    u64::try_from(nanos).map_or(Duration::ZERO, Duration::from_nanos)
}

/// A handler's task, aborted when its job's task is: an aborted job leaves no handler behind.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::db::jobs::{JobRow, temp_db};
    use crate::jobs::NewJob;

    /// Retries at once, so tests about attempts do not wait on the clock.
    fn no_backoff(concurrency: usize) -> WorkerConfig {
        WorkerConfig {
            concurrency,
            backoff: Backoff {
                base: Duration::ZERO,
                cap: Duration::ZERO,
            },
            poll_interval: Duration::from_millis(200),
            metrics: Metrics::default(),
            lease: Duration::from_secs(60),
        }
    }

    /// Waits for `wait`, failing the test naming `what` if it seems hung (a guard against a
    /// test that never ends, not a statement about speed).
    async fn hang_guard<T>(what: &str, wait: impl Future<Output = T>) -> T {
        match tokio::time::timeout(Duration::from_secs(120), wait).await {
            Ok(value) => value,
            Err(_) => panic!("gave up waiting for {what}: the test seems hung"),
        }
    }

    /// Polls until the job reaches `status`.
    async fn wait_for_status(db: &Db, id: i64, status: &str) -> JobRow {
        hang_guard(&format!("job {id} to be {status}"), async {
            loop {
                let row = db::jobs::get(db, id).await.unwrap().unwrap();
                if row.status == status {
                    return row;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }

    fn counting(registry: &mut Registry, kind: &str) -> Arc<AtomicUsize> {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        registry.register(kind, move |_job: Job| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Outcome::Done }
        });
        runs
    }

    /// Registers `count`: a job with payload `{"n": n}` counts its runs in the `n`th counter.
    fn counting_each(registry: &mut Registry, jobs: usize) -> Arc<Vec<AtomicUsize>> {
        let counts: Arc<Vec<AtomicUsize>> =
            Arc::new((0..jobs).map(|_| AtomicUsize::new(0)).collect());
        let seen = counts.clone();
        registry.register("count", move |job: Job| {
            let seen = seen.clone();
            async move {
                let Some(n) = job.payload["n"].as_u64() else {
                    return Outcome::fail("no n");
                };
                seen[usize::try_from(n).unwrap()].fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Outcome::Done
            }
        });
        counts
    }

    fn assert_each_ran_once(counts: &[AtomicUsize]) {
        for (n, count) in counts.iter().enumerate() {
            assert_eq!(count.load(Ordering::SeqCst), 1, "job {n}");
        }
    }

    #[tokio::test]
    async fn an_enqueued_job_runs_once_and_is_done() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let mut registry = Registry::new();
        let runs = counting(&mut registry, "greet");
        let workers = Workers::start(&queue, registry, no_backoff(2))
            .await
            .unwrap();

        let id = queue
            .enqueue(NewJob::new("greet", json!({"to": "x"})))
            .await
            .unwrap();
        wait_for_status(&db, id, "done").await;
        workers.shutdown(Duration::from_secs(1)).await;

        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let attempts = db::jobs::attempts(&db, id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].outcome.as_deref(), Some("done"));
    }

    #[tokio::test]
    async fn a_handler_sees_the_payload_and_attempt() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let seen = Arc::new(Mutex::new(None));
        let sink = seen.clone();
        let mut registry = Registry::new();
        registry.register("echo", move |job: Job| {
            *sink.lock().unwrap() = Some((job.payload, job.attempt));
            async { Outcome::Done }
        });
        let workers = Workers::start(&queue, registry, no_backoff(1))
            .await
            .unwrap();

        let id = queue
            .enqueue(NewJob::new("echo", json!({"n": 7})))
            .await
            .unwrap();
        wait_for_status(&db, id, "done").await;
        workers.shutdown(Duration::from_secs(1)).await;

        assert_eq!(*seen.lock().unwrap(), Some((json!({"n": 7}), 1)));
    }

    #[tokio::test]
    async fn a_failing_handler_is_retried_after_the_backoff() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let mut registry = Registry::new();
        registry.register("flaky", |_job: Job| async {
            Outcome::retry("slack is down")
        });
        let config = WorkerConfig {
            backoff: Backoff {
                base: Duration::from_secs(60),
                cap: Duration::from_secs(60),
            },
            ..no_backoff(1)
        };
        let workers = Workers::start(&queue, registry, config).await.unwrap();

        let before = db::now();
        let id = queue
            .enqueue(NewJob::new("flaky", json!({})))
            .await
            .unwrap();
        hang_guard("the first attempt to finish", async {
            while db::jobs::attempts(&db, id)
                .await
                .unwrap()
                .first()
                .and_then(|a| a.outcome.clone())
                .is_none()
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        workers.shutdown(Duration::from_secs(1)).await;

        let row = db::jobs::get(&db, id).await.unwrap().unwrap();
        assert_eq!(row.status, "ready");
        // Equal jitter: at least half of the 60 s backoff.
        assert!(
            row.run_at >= before + 30,
            "run_at {} is too soon after {before}",
            row.run_at
        );
        assert!(row.run_at <= db::now() + 61);
        assert_eq!(row.last_error.as_deref(), Some("slack is down"));
    }

    #[tokio::test]
    async fn every_attempt_and_its_error_is_recorded_until_max_attempts_fails_the_job() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let mut registry = Registry::new();
        registry.register("doomed", |job: Job| async move {
            Outcome::retry(format!("error {}", job.attempt))
        });
        let workers = Workers::start(&queue, registry, no_backoff(2))
            .await
            .unwrap();

        let id = queue
            .enqueue(NewJob::new("doomed", json!({})).max_attempts(3))
            .await
            .unwrap();
        let row = wait_for_status(&db, id, "failed").await;
        workers.shutdown(Duration::from_secs(1)).await;

        assert_eq!(row.attempts, 3);
        assert_eq!(row.last_error.as_deref(), Some("error 3"));
        let attempts = db::jobs::attempts(&db, id).await.unwrap();
        let recorded: Vec<_> = attempts
            .iter()
            .map(|a| (a.attempt, a.outcome.as_deref(), a.error.as_deref()))
            .collect();
        assert_eq!(
            recorded,
            [
                (1, Some("retry"), Some("error 1")),
                (2, Some("retry"), Some("error 2")),
                (3, Some("failed"), Some("error 3")),
            ]
        );
    }

    #[tokio::test]
    async fn a_job_is_not_run_again_before_retry_after() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let runs = Arc::new(Mutex::new(Vec::new()));
        let log = runs.clone();
        let mut registry = Registry::new();
        registry.register("limited", move |job: Job| {
            log.lock().unwrap().push(Instant::now());
            async move {
                if job.attempt == 1 {
                    Outcome::retry_after("ratelimited", Duration::from_millis(1200))
                } else {
                    Outcome::Done
                }
            }
        });
        let workers = Workers::start(&queue, registry, no_backoff(2))
            .await
            .unwrap();

        let id = queue
            .enqueue(NewJob::new("limited", json!({})))
            .await
            .unwrap();
        wait_for_status(&db, id, "done").await;
        workers.shutdown(Duration::from_secs(1)).await;

        let runs = runs.lock().unwrap();
        assert_eq!(runs.len(), 2);
        let gap = runs[1] - runs[0];
        assert!(
            gap >= Duration::from_millis(1200),
            "ran again after {gap:?}"
        );
    }

    #[tokio::test]
    async fn an_unknown_kind_fails_with_a_clear_error() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let workers = Workers::start(&queue, Registry::new(), no_backoff(1))
            .await
            .unwrap();

        let id = queue
            .enqueue(NewJob::new("mystery", json!({})))
            .await
            .unwrap();
        let row = wait_for_status(&db, id, "failed").await;
        workers.shutdown(Duration::from_secs(1)).await;

        assert_eq!(
            row.last_error.as_deref(),
            Some("no handler is registered for job kind `mystery`")
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_does_not_kill_the_worker() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let mut registry = Registry::new();
        registry.register("explode", |_job: Job| async { panic!("boom") });
        // Panics before it even returns its future.
        registry.register(
            "explode_early",
            |_job: Job| -> std::future::Ready<Outcome> { panic!("boom") },
        );
        let runs = counting(&mut registry, "fine");
        let workers = Workers::start(&queue, registry, no_backoff(1))
            .await
            .unwrap();

        let late = queue
            .enqueue(NewJob::new("explode", json!({})).max_attempts(2))
            .await
            .unwrap();
        let early = queue
            .enqueue(NewJob::new("explode_early", json!({})).max_attempts(1))
            .await
            .unwrap();
        let fine = queue.enqueue(NewJob::new("fine", json!({}))).await.unwrap();
        for id in [late, early] {
            let row = wait_for_status(&db, id, "failed").await;
            assert_eq!(row.last_error.as_deref(), Some("the handler panicked"));
        }
        wait_for_status(&db, fine, "done").await;
        workers.shutdown(Duration::from_secs(1)).await;

        assert_eq!(db::jobs::get(&db, late).await.unwrap().unwrap().attempts, 2);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn jobs_a_dead_process_left_running_are_released_at_start_and_run_exactly_once() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let id = Queue::enqueue_in(&db, NewJob::new("greet", json!({})))
            .await
            .unwrap();
        db::jobs::claim_batch(&db, "dead-process", db::now(), 1)
            .await
            .unwrap();

        let mut registry = Registry::new();
        let runs = counting(&mut registry, "greet");
        let workers = Workers::start(&queue, registry, no_backoff(4))
            .await
            .unwrap();
        wait_for_status(&db, id, "done").await;
        workers.shutdown(Duration::from_secs(1)).await;

        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let outcomes: Vec<_> = db::jobs::attempts(&db, id)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.outcome)
            .collect();
        assert_eq!(
            outcomes,
            [Some("released".to_owned()), Some("done".to_owned())]
        );
    }

    #[tokio::test]
    async fn concurrent_workers_never_run_a_job_twice() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        const JOBS: usize = 200;
        let mut registry = Registry::new();
        let counts = counting_each(&mut registry, JOBS);

        let mut tx = db::begin_write(&db).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..JOBS {
            ids.push(
                Queue::enqueue_in(&mut *tx, NewJob::new("count", json!({ "n": n })))
                    .await
                    .unwrap(),
            );
        }
        tx.commit().await.unwrap();
        let workers = Workers::start(&queue, registry, no_backoff(4))
            .await
            .unwrap();
        queue.wake();
        for id in ids {
            wait_for_status(&db, id, "done").await;
        }
        workers.shutdown(Duration::from_secs(1)).await;

        assert_each_ran_once(&counts);
        let stats = db::jobs::stats(&db, db::now()).await.unwrap();
        assert_eq!((stats.ready, stats.running, stats.failed), (0, 0, 0));
    }

    #[tokio::test]
    async fn a_burst_of_jobs_runs_each_exactly_once_with_one_attempt_each() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        const JOBS: usize = 300;
        let mut registry = Registry::new();
        let counts = counting_each(&mut registry, JOBS);
        let workers = Workers::start(&queue, registry, no_backoff(8))
            .await
            .unwrap();

        // Enqueued at once, as a burst of signups would: the enqueues commit in batches too.
        let mut sends = JoinSet::new();
        for n in 0..JOBS {
            let queue = queue.clone();
            sends
                .spawn(async move { queue.enqueue(NewJob::new("count", json!({ "n": n }))).await });
        }
        let ids: Vec<i64> = sends
            .join_all()
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        for &id in &ids {
            wait_for_status(&db, id, "done").await;
        }
        workers.shutdown(Duration::from_secs(1)).await;

        assert_each_ran_once(&counts);
        for id in ids {
            let outcomes: Vec<_> = db::jobs::attempts(&db, id)
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.attempt, a.outcome))
                .collect();
            assert_eq!(outcomes, [(1, Some("done".to_owned()))], "job {id}");
        }
    }

    #[tokio::test]
    async fn claims_never_take_more_jobs_than_there_are_free_slots() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        const SLOTS: usize = 3;
        let running = Arc::new(AtomicUsize::new(0));
        let most_running = Arc::new(AtomicUsize::new(0));
        let most_claimed = Arc::new(AtomicUsize::new(0));
        let (now_running, most, claimed, stats_db) = (
            running.clone(),
            most_running.clone(),
            most_claimed.clone(),
            db.clone(),
        );
        let mut registry = Registry::new();
        registry.register("slot", move |_job: Job| {
            let (now_running, most, claimed, db) = (
                now_running.clone(),
                most.clone(),
                claimed.clone(),
                stats_db.clone(),
            );
            async move {
                let here = now_running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(here, Ordering::SeqCst);
                // Claimed in the database: running here, or waiting for a slot, or finishing.
                let stats = db::jobs::stats(&db, db::now()).await.unwrap();
                claimed.fetch_max(usize::try_from(stats.running).unwrap(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                now_running.fetch_sub(1, Ordering::SeqCst);
                Outcome::Done
            }
        });

        let mut tx = db::begin_write(&db).await.unwrap();
        let jobs: Vec<NewJob<'_>> = (0..40).map(|_| NewJob::new("slot", json!({}))).collect();
        Queue::enqueue_many_in(&mut *tx, &jobs).await.unwrap();
        tx.commit().await.unwrap();
        let workers = Workers::start(&queue, registry, no_backoff(SLOTS))
            .await
            .unwrap();
        hang_guard("every job to be done", async {
            while db::jobs::stats(&db, db::now()).await.unwrap().ready
                + db::jobs::stats(&db, db::now()).await.unwrap().running
                > 0
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        workers.shutdown(Duration::from_secs(1)).await;

        assert_eq!(most_running.load(Ordering::SeqCst), SLOTS);
        assert!(
            most_claimed.load(Ordering::SeqCst) <= SLOTS,
            "{} jobs were claimed at once",
            most_claimed.load(Ordering::SeqCst)
        );
    }

    #[tokio::test]
    async fn wake_starts_a_job_without_waiting_for_the_poll() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let mut registry = Registry::new();
        counting(&mut registry, "greet");
        let config = WorkerConfig {
            poll_interval: Duration::from_secs(60),
            ..no_backoff(2)
        };
        let workers = Workers::start(&queue, registry, config).await.unwrap();
        hang_guard("both workers to find the queue empty", async {
            while workers.waiting() < 2 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;

        let id = queue
            .enqueue(NewJob::new("greet", json!({})))
            .await
            .unwrap();
        wait_for_status(&db, id, "done").await;
        workers.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn one_wake_up_brings_every_idle_worker_to_a_batch() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let all_four = Arc::new(tokio::sync::Barrier::new(4));
        let mut registry = Registry::new();
        // Each job finishes only once all four run at the same time (else the test hangs).
        registry.register("together", move |_job: Job| {
            let all_four = all_four.clone();
            async move {
                all_four.wait().await;
                Outcome::Done
            }
        });
        let config = WorkerConfig {
            poll_interval: Duration::from_secs(60),
            ..no_backoff(4)
        };
        let workers = Workers::start(&queue, registry, config).await.unwrap();
        hang_guard("all four workers to find the queue empty", async {
            while workers.waiting() < 4 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;

        let mut tx = db::begin_write(&db).await.unwrap();
        let mut ids = Vec::new();
        for _ in 0..4 {
            ids.push(
                Queue::enqueue_in(&mut *tx, NewJob::new("together", json!({})))
                    .await
                    .unwrap(),
            );
        }
        tx.commit().await.unwrap();
        queue.wake();
        for id in ids {
            wait_for_status(&db, id, "done").await;
        }
        workers.shutdown(Duration::from_secs(1)).await;
    }

    #[tokio::test]
    async fn shutdown_lets_running_jobs_finish_within_the_grace_period() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let mut registry = Registry::new();
        // The job finishes when the test says so, after the shutdown has begun.
        let finish = Arc::new(tokio::sync::Notify::new());
        let finish_job = finish.clone();
        registry.register("slow", move |_job: Job| {
            let finish = finish_job.clone();
            async move {
                finish.notified().await;
                Outcome::Done
            }
        });
        let config = no_backoff(1);
        let metrics = config.metrics.clone();
        let workers = Workers::start(&queue, registry, config).await.unwrap();
        let id = queue.enqueue(NewJob::new("slow", json!({}))).await.unwrap();
        wait_for_status(&db, id, "running").await;

        let shutdown = workers.shutdown(Duration::from_secs(60));
        tokio::pin!(shutdown);
        tokio::select! {
            biased;
            () = &mut shutdown => panic!("the shutdown did not wait for the running job"),
            () = tokio::task::yield_now() => {}
        }
        finish.notify_one();
        shutdown.await;
        assert_eq!(
            db::jobs::get(&db, id).await.unwrap().unwrap().status,
            "done"
        );
        let text = metrics.render(&Default::default());
        assert!(text.contains(r#"lobby_jobs_total{kind="slow",outcome="done"} 1"#));
        assert!(text.contains(r#"lobby_job_duration_seconds_count{kind="slow"} 1"#));
    }

    #[tokio::test]
    async fn shutdown_aborts_and_releases_jobs_that_outlast_the_grace_period() {
        let (_dir, db) = temp_db().await;
        let queue = Queue::new(db.clone());
        let aborted = Arc::new(AtomicBool::new(false));
        let flag = aborted.clone();
        let mut registry = Registry::new();
        registry.register("stuck", move |_job: Job| {
            let guard = SetOnDrop(flag.clone());
            async move {
                let _guard = guard;
                std::future::pending::<Outcome>().await
            }
        });
        let config = no_backoff(1);
        let metrics = config.metrics.clone();
        let workers = Workers::start(&queue, registry, config).await.unwrap();
        let id = queue
            .enqueue(NewJob::new("stuck", json!({})))
            .await
            .unwrap();
        wait_for_status(&db, id, "running").await;

        workers.shutdown(Duration::from_millis(100)).await;
        let row = db::jobs::get(&db, id).await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.claimed_by), ("ready", None));
        let text = metrics.render(&Default::default());
        assert!(text.contains(r#"lobby_jobs_total{kind="stuck",outcome="released"} 1"#));
        let attempts = db::jobs::attempts(&db, id).await.unwrap();
        assert_eq!(attempts[0].outcome.as_deref(), Some("released"));
        hang_guard("the aborted handler to be dropped", async {
            while !aborted.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }

    struct SetOnDrop(Arc<AtomicBool>);

    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}
