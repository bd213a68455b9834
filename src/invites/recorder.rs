//! Group commit of signups: the requests of many callers, each with its next job, share one
//! write transaction, and every caller hears back only once that transaction has committed.
//!
//! A signup written alone costs a whole write transaction (on SQLite the one writer's turn, on
//! PostgreSQL a commit's round trip and flush); a burst of them queues behind one another. Here a
//! writer takes whatever signups are waiting (up to [`MAX_BATCH`]) and writes them together in one
//! transaction, a few multi-row inserts; when a statement fails, the batch is written again with
//! each signup a step of its own (a savepoint), so only the failing one is undone and the others
//! still commit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::db::{self, Db, Engine, WriteTx};
use crate::domain::InviteStatus;
use crate::jobs::{NewJob, Queue};

/// At most this many signups share one transaction.
const MAX_BATCH: usize = 256;

/// Builds the job that takes a request on, once the request's id is known.
pub(crate) type FollowUp = Box<dyn Fn(i64) -> Option<NewJob<'static>> + Send + Sync>;

/// One signup to write: the request, the join form's token it spends, and its next job.
pub(crate) struct SignupWrite {
    pub community_id: i64,
    pub email: String,
    pub name: String,
    pub source: &'static str,
    pub requested_by: Option<crate::domain::UserId>,
    pub status: InviteStatus,
    pub status_message: &'static str,
    /// The confirmation token's hash and expiry. When the address already has an open request,
    /// an unconfirmed one gets this fresh token (the first mail may be lost) and `follow_up`'s job.
    pub confirm: Option<(Vec<u8>, i64)>,
    pub too_fast: bool,
    pub lang: &'static str,
    /// The join form's token (hash, and how long it must be remembered): one signup per form.
    pub form_token: Option<(Vec<u8>, i64)>,
    pub follow_up: FollowUp,
}

/// What became of a written signup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// A new request, committed with its job (if it has one).
    New { id: i64 },
    /// The address already has an open request in this community.
    AlreadyOpen,
    /// The form's token was spent before: nothing was written.
    FormSpent,
}

struct Pending {
    write: SignupWrite,
    done: oneshot::Sender<Result<Recorded, String>>,
}

/// The handle signups are recorded through; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    signups: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// Must be called inside a Tokio runtime: it starts the writers. SQLite takes one writer at
    /// a time, so one task writes; on PostgreSQL a few write side by side, each batch taking its
    /// rows in the same order (see [`write_batch`]).
    pub fn new(db: Db, queue: Queue) -> Self {
        let (signups, pending) = mpsc::channel(4 * MAX_BATCH);
        let pending = Arc::new(Mutex::new(pending));
        let writers = match db.engine() {
            Engine::Sqlite => 1,
            Engine::Postgres => 4,
        };
        for _ in 0..writers {
            tokio::spawn(write_batches(db.clone(), queue.clone(), pending.clone()));
        }
        Recorder { signups }
    }

    /// Writes the signup in the next shared transaction; returns once it has committed.
    pub(crate) async fn record(&self, write: SignupWrite) -> Result<Recorded, sqlx::Error> {
        let (done, answer) = oneshot::channel();
        let gone = || sqlx::Error::Protocol("the signup writer has stopped".into());
        self.signups
            .send(Pending { write, done })
            .await
            .map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(sqlx::Error::Protocol)
    }
}

/// Takes what is waiting, writes it in one transaction, answers every caller after the commit.
async fn write_batches(db: Db, queue: Queue, pending: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = pending.lock().await.recv_many(&mut batch, MAX_BATCH).await;
        if received == 0 {
            return;
        }
        let (results, jobs) = match write_batch(&db, &batch).await {
            Ok((results, jobs)) => (results, jobs),
            Err(e) => {
                tracing::error!(error = %e, signups = batch.len(), "cannot commit signups");
                let error = e.to_string();
                (vec![Err(error); batch.len()], false)
            }
        };
        if jobs {
            queue.wake();
        }
        for (item, result) in batch.drain(..).zip(results) {
            // The caller may have gone (its visitor closed the page); the signup stands either way.
            let _ = item.done.send(result);
        }
    }
}

type BatchResults = (Vec<Result<Recorded, String>>, bool);

/// Writes every signup of `batch` in one transaction, and tells whether any job was enqueued.
///
/// Signups are written in the order of their address (arrival order among equal ones, so the
/// first of two asking at once gets the request and the second hears it is open): concurrent
/// batches on PostgreSQL then wait for one another's rows in one order and never deadlock.
async fn write_batch(db: &Db, batch: &[Pending]) -> Result<BatchResults, sqlx::Error> {
    let keys: Vec<(i64, String)> = batch
        .iter()
        .map(|p| (p.write.community_id, p.write.email.to_lowercase()))
        .collect();
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    // Almost always every signup writes cleanly, and the whole batch takes a few statements:
    // its spent form tokens, its requests, its jobs, each one multi-row insert. When a statement
    // fails, the batch is written again one signup at a time, each a step of its own, so only
    // the failing one is undone.
    let mut tx = db::begin_write(db).await?;
    match write_together(&mut tx, batch, &order).await {
        Ok(done) => {
            tx.commit().await?;
            Ok(done)
        }
        Err(e) => {
            tracing::warn!(error = %e, "a batch of signups failed; writing each on its own step");
            tx.rollback().await?;
            write_in_steps(db, batch, &order).await
        }
    }
}

/// The whole batch in three multi-row inserts (and one update per address asking again
/// before confirming).
async fn write_together(
    tx: &mut WriteTx,
    batch: &[Pending],
    order: &[usize],
) -> Result<BatchResults, sqlx::Error> {
    let mut results: Vec<Result<Recorded, String>> = vec![Ok(Recorded::AlreadyOpen); batch.len()];
    let tokens: Vec<(&[u8], i64)> = order
        .iter()
        .filter_map(|&i| batch[i].write.form_token.as_ref())
        .map(|(hash, expires_at)| (hash.as_slice(), *expires_at))
        .collect();
    let mut spent: HashSet<Vec<u8>> = db::used_form_tokens::spend_many(&mut **tx, &tokens)
        .await?
        .into_iter()
        .collect();
    let mut writing = Vec::with_capacity(order.len());
    for &i in order {
        match &batch[i].write.form_token {
            // Spent before, or by an earlier signup of this batch (the first one took it).
            Some((hash, _)) if !spent.remove(hash) => results[i] = Ok(Recorded::FormSpent),
            _ => writing.push(i),
        }
    }
    let rows: Vec<_> = writing
        .iter()
        .map(|&i| request_row(&batch[i].write))
        .collect();
    let mut inserted: HashMap<(i64, String), i64> =
        db::invite_requests::insert_many(&mut **tx, &rows)
            .await?
            .into_iter()
            .map(|(id, community_id, email)| ((community_id, email), id))
            .collect();
    let mut jobs = Vec::new();
    for i in writing {
        let w = &batch[i].write;
        // The first signup of an address in this batch took the row; a later one finds it gone.
        let id = match inserted.remove(&(w.community_id, w.email.clone())) {
            Some(id) => {
                results[i] = Ok(Recorded::New { id });
                Some(id)
            }
            None => renew(tx, w).await?,
        };
        jobs.extend(id.and_then(|id| (w.follow_up)(id)));
    }
    Queue::enqueue_many_in(&mut **tx, &jobs).await?;
    Ok((results, !jobs.is_empty()))
}

/// The careful way: each signup a step (savepoint) of the transaction; one that fails is undone
/// alone and its caller gets the error. The transaction itself failing (begin, commit) fails them
/// all.
async fn write_in_steps(
    db: &Db,
    batch: &[Pending],
    order: &[usize],
) -> Result<BatchResults, sqlx::Error> {
    let mut results: Vec<Result<Recorded, String>> = vec![Ok(Recorded::AlreadyOpen); batch.len()];
    let mut jobs = false;
    let mut tx = db::begin_write(db).await?;
    for &i in order {
        let write = &batch[i].write;
        tx.begin_step().await?;
        match write_one(&mut tx, write).await {
            Ok((recorded, job)) => {
                tx.keep_step().await?;
                jobs |= job;
                results[i] = Ok(recorded);
            }
            Err(e) => {
                tracing::error!(error = %e, community_id = write.community_id, "cannot record a signup");
                tx.undo_step().await?;
                results[i] = Err(e.to_string());
            }
        }
    }
    tx.commit().await?;
    Ok((results, jobs))
}

/// One signup's statements; whether it enqueued a job comes back with what became of it.
async fn write_one(tx: &mut WriteTx, w: &SignupWrite) -> Result<(Recorded, bool), sqlx::Error> {
    if let Some((hash, expires_at)) = &w.form_token
        && !db::used_form_tokens::spend(&mut **tx, hash, *expires_at).await?
    {
        return Ok((Recorded::FormSpent, false));
    }
    let (new, extras) = request_row(w);
    let (recorded, id) = match db::invite_requests::insert_with(&mut **tx, &new, extras).await? {
        Some(id) => (Recorded::New { id }, Some(id)),
        None => (Recorded::AlreadyOpen, renew(tx, w).await?),
    };
    let job = id.and_then(|id| (w.follow_up)(id));
    let enqueued = job.is_some();
    if let Some(job) = job {
        Queue::enqueue_in(&mut **tx, job).await?;
    }
    Ok((recorded, enqueued))
}

fn request_row(
    w: &SignupWrite,
) -> (
    db::invite_requests::NewRequest<'_>,
    db::invite_requests::Extras<'_>,
) {
    let new = db::invite_requests::NewRequest {
        community_id: w.community_id,
        email: &w.email,
        name: &w.name,
        source: w.source,
        requested_by: w.requested_by.as_ref(),
        status: w.status,
        status_message: w.status_message,
    };
    let extras = db::invite_requests::Extras {
        confirm: w.confirm.as_ref().map(|(hash, at)| (hash.as_slice(), *at)),
        too_fast: w.too_fast,
        lang: Some(w.lang),
    };
    (new, extras)
}

/// The address already has an open request. Asked again before confirming: the first mail may
/// be lost, so the unconfirmed request gets the fresh token (and `follow_up` mails it); its id.
async fn renew(tx: &mut WriteTx, w: &SignupWrite) -> Result<Option<i64>, sqlx::Error> {
    let Some((hash, expires_at)) = &w.confirm else {
        return Ok(None);
    };
    db::invite_requests::renew_confirmation(&mut **tx, w.community_id, &w.email, hash, *expires_at)
        .await
}
