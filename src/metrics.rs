//! Prometheus metrics: what the process counts as it runs (HTTP requests, jobs, Slack calls), and
//! the gauges read from the database when `/metrics` is scraped (queue, invites, installations).
//!
//! Labels only ever carry bounded values: route patterns (`/join/{slug}`, never a raw path),
//! methods, status codes, job kinds and Slack's error codes. Never an id, an address or a token.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use std::fmt::Write as _;

use actix_web::http::Method;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::db::{self, Db};

/// What `/metrics` answers with: OpenMetrics text, which Prometheus reads natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric's name starts with this.
const PREFIX: &str = "lobby";

/// The route label of a request no route matched (a 404): raw paths would be unbounded.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// A request method as a label: the standard ones by name, any other as `OTHER`, so a client
/// inventing methods cannot add series without end.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        _ => "OTHER",
    }
}

/// Request latencies: a cached page takes about a millisecond, anything past 10 s is broken.
const HTTP_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Job run times: most are one Slack call; summaries fetch pages and may take a minute.
const JOB_BUCKETS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

// Borrowed labels: a request's series is found without allocating (the ack path counts too).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: Cow<'static, str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    outcome: JobOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SlackLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

/// How one run of a job ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Failed this time; it runs again later.
    Retry,
    /// Failed for good.
    Failed,
    /// Still running at shutdown: handed back to the queue.
    Released,
}

impl JobOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Done => "done",
            JobOutcome::Retry => "retry",
            JobOutcome::Failed => "failed",
            JobOutcome::Released => "released",
        }
    }
}

impl EncodeLabelValue for JobOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The process's counters and histograms. Cheap to clone: clones count into the same metrics.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    jobs: Family<JobLabels, Counter>,
    job_duration: HistogramFamily<KindLabels>,
    slack_calls: Family<SlackLabels, Counter>,
    rate_limit_waits: Family<MethodLabels, Counter>,
    rate_limit_wait_time: Family<MethodLabels, Counter<f64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let http_requests = Family::default();
        let http_duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(|| Histogram::new(HTTP_BUCKETS));
        let jobs = Family::default();
        let job_duration: HistogramFamily<KindLabels> =
            Family::new_with_constructor(|| Histogram::new(JOB_BUCKETS));
        let slack_calls = Family::default();
        let rate_limit_waits = Family::default();
        let rate_limit_wait_time = Family::default();

        let mut registry = Registry::with_prefix(PREFIX);
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status",
            http_requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method and route pattern",
            Unit::Seconds,
            http_duration.clone(),
        );
        registry.register(
            "jobs",
            "Job runs, by kind and outcome (done, retry, failed, released)",
            jobs.clone(),
        );
        registry.register_with_unit(
            "job_duration",
            "Time one run of a job took, by kind",
            Unit::Seconds,
            job_duration.clone(),
        );
        registry.register(
            "slack_calls",
            "Slack Web API calls, by method and outcome code (ok, or Slack's error code)",
            slack_calls.clone(),
        );
        registry.register(
            "slack_rate_limit_waits",
            "Times Slack rate-limited a call and asked Lobby to wait, by method",
            rate_limit_waits.clone(),
        );
        registry.register_with_unit(
            "slack_rate_limit_wait",
            "Total time Slack asked Lobby to wait (Retry-After), by method",
            Unit::Seconds,
            rate_limit_wait_time.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                http_requests,
                http_duration,
                jobs,
                job_duration,
                slack_calls,
                rate_limit_waits,
                rate_limit_wait_time,
            }),
        }
    }

    /// One answered request. `route` is the matched pattern, or [`UNMATCHED_ROUTE`].
    pub fn http_request(
        &self,
        method: &Method,
        route: Cow<'static, str>,
        status: u16,
        latency: Duration,
    ) {
        let inner = &self.inner;
        let method = method_label(method);
        // The family clones the labels only for a series it has not seen.
        let labels = HttpLabels {
            method,
            route,
            status,
        };
        inner.http_requests.get_or_create(&labels).inc();
        inner
            .http_duration
            .get_or_create(&RouteLabels {
                method,
                route: labels.route,
            })
            .observe(latency.as_secs_f64());
    }

    /// One run of a job of `kind` ended this way after `took`.
    pub fn job_finished(&self, kind: &str, outcome: JobOutcome, took: Duration) {
        self.jobs_ended(kind, outcome, 1);
        self.inner
            .job_duration
            .get_or_create(&KindLabels {
                kind: bounded(kind),
            })
            .observe(took.as_secs_f64());
    }

    /// `count` jobs of `kind` ended this way, without a run time (jobs released at shutdown).
    pub fn jobs_ended(&self, kind: &str, outcome: JobOutcome, count: u64) {
        self.inner
            .jobs
            .get_or_create(&JobLabels {
                kind: bounded(kind),
                outcome,
            })
            .inc_by(count);
    }

    /// One Slack Web API call; `code` is `ok` or what went wrong (Slack's error code, `http_503`…).
    pub fn slack_call(&self, method: &str, code: &str) {
        self.inner
            .slack_calls
            .get_or_create(&SlackLabels {
                method: bounded(method),
                code: bounded(code),
            })
            .inc();
    }

    /// Slack rate-limited `method` and asked for a wait of `retry_after`.
    pub fn rate_limited(&self, method: &str, retry_after: Duration) {
        let labels = MethodLabels {
            method: bounded(method),
        };
        self.inner.rate_limit_waits.get_or_create(&labels).inc();
        self.inner
            .rate_limit_wait_time
            .get_or_create(&labels)
            .inc_by(retry_after.as_secs_f64());
    }

    /// The whole exposition: the process's metrics, then the database's gauges.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing to a String cannot fail; the encoder's own errors would be a bug in it.
        let written = encode_registry(&mut out, &self.inner.registry)
            .and_then(|()| encode_registry(&mut out, &snapshot.registry()))
            .and_then(|()| encode_eof(&mut out));
        if let Err(error) = written {
            tracing::error!(%error, "the metrics did not encode");
        }
        out
    }
}

/// Label values come from code and from Slack; an odd one is folded into `other` so a
/// misbehaving peer cannot grow the number of series without bound.
fn bounded(value: &str) -> String {
    let plain = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if plain {
        value.to_owned()
    } else {
        "other".to_owned()
    }
}

/// What the database says at scrape time: the job queue, invite requests and installations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub jobs_ready: i64,
    pub jobs_running: i64,
    pub jobs_failed: i64,
    pub oldest_ready_age_secs: i64,
    pub invite_requests: Vec<(String, i64)>,
    pub installations: Vec<(String, i64)>,
}

impl Snapshot {
    pub async fn read(db: &Db) -> Result<Snapshot, sqlx::Error> {
        let jobs = db::jobs::stats(db, db::now()).await?;
        Ok(Snapshot {
            jobs_ready: jobs.ready,
            jobs_running: jobs.running,
            jobs_failed: jobs.failed,
            oldest_ready_age_secs: jobs.oldest_ready_age_secs,
            invite_requests: db::invite_requests::count_by_status(db).await?,
            installations: db::installations::count_by_status(db).await?,
        })
    }

    /// A registry built for one scrape, so a status that no longer has rows simply disappears.
    fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix(PREFIX);
        let queue: Family<StatusLabels, Gauge> = Family::default();
        for (status, count) in [
            ("ready", self.jobs_ready),
            ("running", self.jobs_running),
            ("failed", self.jobs_failed),
        ] {
            queue
                .get_or_create(&StatusLabels {
                    status: status.to_owned(),
                })
                .set(count);
        }
        registry.register(
            "job_queue_depth",
            "Jobs in the queue, by state (ready: due or waiting to retry; running; failed for good)",
            queue,
        );
        let oldest: Gauge = Gauge::default();
        oldest.set(self.oldest_ready_age_secs);
        registry.register_with_unit(
            "job_queue_oldest_ready_age",
            "How long the job that has been due the longest has waited for a worker",
            Unit::Seconds,
            oldest,
        );
        registry.register(
            "invite_requests",
            "Invite requests, by status",
            status_gauges(&self.invite_requests),
        );
        registry.register(
            "installations",
            "Workspace installations, by status",
            status_gauges(&self.installations),
        );
        registry
    }
}

fn status_gauges(counts: &[(String, i64)]) -> Family<StatusLabels, Gauge> {
    let family: Family<StatusLabels, Gauge> = Family::default();
    for (status, count) in counts {
        family
            .get_or_create(&StatusLabels {
                status: bounded(status),
            })
            .inc_by(*count);
    }
    family
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            jobs_ready: 3,
            jobs_running: 1,
            jobs_failed: 0,
            oldest_ready_age_secs: 42,
            invite_requests: vec![("invited".into(), 7), ("pending".into(), 2)],
            installations: vec![("active".into(), 1)],
        }
    }

    #[test]
    fn counters_show_with_their_labels_and_the_exposition_ends_with_eof() {
        let metrics = Metrics::new();
        let route = || Cow::Borrowed("/join/{slug}");
        metrics.http_request(&Method::POST, route(), 200, Duration::from_millis(3));
        metrics.http_request(&Method::POST, route(), 200, Duration::from_millis(4));
        let invented = Method::from_bytes(b"BREW").unwrap();
        metrics.http_request(&invented, route(), 405, Duration::from_millis(1));
        metrics.job_finished(
            "invite.deliver",
            JobOutcome::Done,
            Duration::from_millis(20),
        );
        metrics.slack_call("admin.users.invite", "ok");
        let text = metrics.render(&snapshot());
        assert!(
            text.contains(
                r#"lobby_http_requests_total{method="POST",route="/join/{slug}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"lobby_jobs_total{kind="invite.deliver",outcome="done"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"lobby_slack_calls_total{method="admin.users.invite",code="ok"} 1"#)
        );
        assert!(text.contains(r#"lobby_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/join/{slug}"} 2"#), "{text}");
        assert!(
            text.contains(
                r#"lobby_http_requests_total{method="OTHER",route="/join/{slug}",status="405"} 1"#
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(text.matches("# EOF").count(), 1);
    }

    #[test]
    fn database_gauges_come_from_the_snapshot() {
        let text = Metrics::new().render(&snapshot());
        assert!(
            text.contains(r#"lobby_job_queue_depth{status="ready"} 3"#),
            "{text}"
        );
        assert!(text.contains("lobby_job_queue_oldest_ready_age_seconds 42"));
        assert!(text.contains(r#"lobby_invite_requests{status="pending"} 2"#));
        assert!(text.contains(r#"lobby_installations{status="active"} 1"#));
    }

    #[test]
    fn rate_limit_waits_add_up_their_retry_after() {
        let metrics = Metrics::new();
        metrics.rate_limited("chat.postMessage", Duration::from_secs(30));
        metrics.rate_limited("chat.postMessage", Duration::from_millis(1500));
        let text = metrics.render(&Snapshot::default());
        assert!(
            text.contains(r#"lobby_slack_rate_limit_waits_total{method="chat.postMessage"} 2"#)
        );
        assert!(
            text.contains(
                r#"lobby_slack_rate_limit_wait_seconds_total{method="chat.postMessage"} 31.5"#
            ),
            "{text}"
        );
    }

    #[test]
    fn odd_label_values_are_folded_into_other() {
        let metrics = Metrics::new();
        metrics.slack_call("chat.postMessage", "a \"quoted\"\ncode");
        metrics.slack_call("chat.postMessage", &"x".repeat(65));
        let text = metrics.render(&Snapshot::default());
        assert!(
            text.contains(r#"lobby_slack_calls_total{method="chat.postMessage",code="other"} 2"#)
        );
    }

    #[test]
    fn clones_count_into_the_same_metrics() {
        let metrics = Metrics::new();
        metrics
            .clone()
            .jobs_ended("members.refresh", JobOutcome::Released, 3);
        let text = metrics.render(&Snapshot::default());
        assert!(text.contains(r#"lobby_jobs_total{kind="members.refresh",outcome="released"} 3"#));
    }
}
