//! Durable enqueues per second, and their latency, through the job queue.
//!
//! Run with `cargo bench --bench enqueues` (release build). It opens the database as Lobby does
//! (`db::connect`: the pool and the migrations), makes a `jobs::Queue` on it, then keeps 64 tasks
//! each enqueueing a `bench.noop` job and waiting for its commit, for ten seconds. No workers run:
//! the jobs stay queued. An enqueue returns once its job is committed, so this is what the queue's
//! group commit sustains. Settings: BENCH_CONNECTIONS, BENCH_SECONDS, BENCH_DATABASE_URL and
//! BENCH_INSTANCES (2: two queues on two pools of their own, the tasks spread over both, as two
//! instances sharing one PostgreSQL would be). See `benches/common/mod.rs`.

mod common;

use std::time::{Duration, Instant};

use common::{BenchDb, env_or};
use lobby::jobs::{NewJob, Queue};
use serde_json::json;

#[tokio::main]
async fn main() {
    let connections = env_or("BENCH_CONNECTIONS", 64);
    let seconds = env_or("BENCH_SECONDS", 10) as u64;

    let tmp = tempfile::tempdir().unwrap();
    let database = BenchDb::from_env(tmp.path()).await;
    let mut queues = Vec::new();
    let mut pools = Vec::new();
    // One after the other: the first runs the migrations.
    for _ in 0..database.instances {
        let db = lobby::db::connect(&database.url).await.unwrap();
        queues.push(Queue::new(db.clone()));
        pools.push(db);
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for task in 0..connections {
        let queue = queues[task % queues.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let started = Instant::now();
                queue
                    .enqueue(NewJob::new("bench.noop", json!({"n": n, "task": task})))
                    .await
                    .unwrap();
                latencies.push(started.elapsed());
            }
            latencies
        }));
    }
    let (latencies, elapsed) = common::gather(tasks).await;
    let queued = lobby::db::jobs::stats(&pools[0], lobby::db::now())
        .await
        .unwrap()
        .ready;
    println!(
        "BENCH enqueues {} connections={connections} enqueues={} eps={:.0} queued={queued}",
        database.label(),
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
    common::print_latencies(latencies);
    drop(queues);
    for db in pools {
        db.close().await;
    }
    database.drop_created().await;
}
