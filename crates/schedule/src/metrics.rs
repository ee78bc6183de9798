//! Prometheus metrics of the scheduler, and the small HTTP endpoint that serves them.
//!
//! Encoding uses `prometheus-client` (the Prometheus project's Rust client; OpenMetrics text).
//! The endpoint is a few lines over tokio's `TcpListener` rather than an HTTP framework: it
//! answers `GET /metrics` and `GET /healthz`, one request per connection, which is all a
//! Prometheus scrape needs, and it adds no dependency beyond tokio.
//!
//! | metric (prefix `thinledger_backup_job_`) | type | meaning |
//! |---|---|---|
//! | `last_success_timestamp_seconds` | gauge | end of the last successful backup (Unix time) |
//! | `rpo_seconds` | gauge | now − last success; before the first success, now − scheduler start |
//! | `last_duration_seconds` | gauge | duration of the last run's backup step (all attempts) |
//! | `last_bytes_added` | gauge | bytes the last successful backup added |
//! | `runs_total` | counter | runs started |
//! | `failures_total{stage}` | counter | failed runs by step: `backup` (after its retries), `retention`, `drill` |
//! | `retries_total` | counter | backup attempts that were retried |
//! | `skipped_total` | counter | fire times dropped because a run was still going |
//! | `running` | gauge | 1 while a run is going |
//! | `next_run_timestamp_seconds` | gauge | when the next run starts (jitter included) |
//! | `last_drill_timestamp_seconds` | gauge | end of the last drill |
//! | `last_drill_success` | gauge | 1 if it passed, 0 if it failed |
//! | `last_drill_restore_seconds` | gauge | time the last drill's test restore took |

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::error::ScheduleError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabel {
    job: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    job: String,
    stage: String,
}

type F64Gauge = Family<JobLabel, Gauge<f64, AtomicU64>>;

/// The scheduler's metrics. Cheap to clone (shared).
#[derive(Clone)]
pub struct SchedulerMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    jobs: Vec<String>,
    started: DateTime<Utc>,
    last_success: Mutex<std::collections::BTreeMap<String, DateTime<Utc>>>,
    last_success_ts: F64Gauge,
    rpo: F64Gauge,
    last_duration: F64Gauge,
    bytes_added: Family<JobLabel, Gauge>,
    runs: Family<JobLabel, Counter>,
    failures: Family<StageLabel, Counter>,
    retries: Family<JobLabel, Counter>,
    skipped: Family<JobLabel, Counter>,
    running: Family<JobLabel, Gauge>,
    next_run: F64Gauge,
    drill_ts: F64Gauge,
    drill_ok: Family<JobLabel, Gauge>,
    drill_restore: F64Gauge,
}

impl std::fmt::Debug for SchedulerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerMetrics")
            .field("started", &self.inner.started)
            .finish_non_exhaustive()
    }
}

fn label(job: &str) -> JobLabel {
    JobLabel {
        job: job.to_owned(),
    }
}

fn unix(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

impl SchedulerMetrics {
    /// Metrics for a scheduler started at `started` (the RPO of a job that never succeeded
    /// counts from there). Every job in `jobs` is reported from the first scrape.
    pub fn new<'a>(started: DateTime<Utc>, jobs: impl IntoIterator<Item = &'a str>) -> Self {
        let jobs: Vec<String> = jobs.into_iter().map(str::to_owned).collect();
        let mut registry = Registry::with_prefix("thinledger_backup_job");
        let last_success_ts = F64Gauge::default();
        let rpo = F64Gauge::default();
        let last_duration = F64Gauge::default();
        let bytes_added = Family::<JobLabel, Gauge>::default();
        let runs = Family::<JobLabel, Counter>::default();
        let failures = Family::<StageLabel, Counter>::default();
        let retries = Family::<JobLabel, Counter>::default();
        let skipped = Family::<JobLabel, Counter>::default();
        let running = Family::<JobLabel, Gauge>::default();
        let next_run = F64Gauge::default();
        let drill_ts = F64Gauge::default();
        let drill_ok = Family::<JobLabel, Gauge>::default();
        let drill_restore = F64Gauge::default();
        registry.register(
            "last_success_timestamp_seconds",
            "End of the last successful backup (Unix time)",
            last_success_ts.clone(),
        );
        registry.register(
            "rpo_seconds",
            "Seconds since the last successful backup (since the scheduler started if none)",
            rpo.clone(),
        );
        registry.register(
            "last_duration_seconds",
            "Duration of the last run's backup step, all attempts",
            last_duration.clone(),
        );
        registry.register(
            "last_bytes_added",
            "Bytes the last successful backup added",
            bytes_added.clone(),
        );
        registry.register("runs", "Runs started", runs.clone());
        registry.register(
            "failures",
            "Failed runs by step (backup after its retries, retention, drill)",
            failures.clone(),
        );
        registry.register(
            "retries",
            "Backup attempts that failed and were retried",
            retries.clone(),
        );
        registry.register(
            "skipped",
            "Fire times dropped because the previous run was still going",
            skipped.clone(),
        );
        registry.register("running", "1 while a run is going", running.clone());
        registry.register(
            "next_run_timestamp_seconds",
            "When the next run starts, jitter included (Unix time)",
            next_run.clone(),
        );
        registry.register(
            "last_drill_timestamp_seconds",
            "End of the last restore drill (Unix time)",
            drill_ts.clone(),
        );
        registry.register(
            "last_drill_success",
            "1 if the last restore drill passed, 0 if it failed",
            drill_ok.clone(),
        );
        registry.register(
            "last_drill_restore_seconds",
            "Seconds the last drill's test restore took",
            drill_restore.clone(),
        );
        let metrics = SchedulerMetrics {
            inner: Arc::new(Inner {
                registry,
                jobs: jobs.clone(),
                started,
                last_success: Mutex::new(Default::default()),
                last_success_ts,
                rpo,
                last_duration,
                bytes_added,
                runs,
                failures,
                retries,
                skipped,
                running,
                next_run,
                drill_ts,
                drill_ok,
                drill_restore,
            }),
        };
        for job in &jobs {
            let l = label(job);
            let i = &metrics.inner;
            let _ = i.runs.get_or_create(&l);
            let _ = i.running.get_or_create(&l);
            let _ = i.skipped.get_or_create(&l);
            let _ = i.retries.get_or_create(&l);
            for stage in ["backup", "retention", "drill"] {
                let _ = i.failures.get_or_create(&StageLabel {
                    job: job.clone(),
                    stage: stage.to_owned(),
                });
            }
        }
        metrics
    }

    pub(crate) fn run_started(&self, job: &str) {
        self.inner.runs.get_or_create(&label(job)).inc();
        self.inner.running.get_or_create(&label(job)).set(1);
    }

    pub(crate) fn run_ended(&self, job: &str) {
        self.inner.running.get_or_create(&label(job)).set(0);
    }

    pub(crate) fn backup_succeeded(&self, job: &str, at: DateTime<Utc>, bytes_added: u64) {
        if let Ok(mut m) = self.inner.last_success.lock() {
            m.insert(job.to_owned(), at);
        }
        self.inner
            .last_success_ts
            .get_or_create(&label(job))
            .set(unix(at));
        self.inner
            .bytes_added
            .get_or_create(&label(job))
            .set(i64::try_from(bytes_added).unwrap_or(i64::MAX));
    }

    pub(crate) fn duration(&self, job: &str, seconds: f64) {
        self.inner
            .last_duration
            .get_or_create(&label(job))
            .set(seconds);
    }

    pub(crate) fn failed(&self, job: &str, stage: &str) {
        self.inner
            .failures
            .get_or_create(&StageLabel {
                job: job.to_owned(),
                stage: stage.to_owned(),
            })
            .inc();
    }

    pub(crate) fn retried(&self, job: &str) {
        self.inner.retries.get_or_create(&label(job)).inc();
    }

    pub(crate) fn skipped(&self, job: &str, n: u64) {
        self.inner.skipped.get_or_create(&label(job)).inc_by(n);
    }

    pub(crate) fn next_run(&self, job: &str, at: DateTime<Utc>) {
        self.inner.next_run.get_or_create(&label(job)).set(unix(at));
    }

    pub(crate) fn drill(&self, job: &str, at: DateTime<Utc>, ok: bool, restore: Option<f64>) {
        let l = label(job);
        self.inner.drill_ts.get_or_create(&l).set(unix(at));
        self.inner.drill_ok.get_or_create(&l).set(i64::from(ok));
        if let Some(s) = restore {
            self.inner.drill_restore.get_or_create(&l).set(s);
        }
    }

    /// The last successful backup of `job`.
    pub fn last_success(&self, job: &str) -> Option<DateTime<Utc>> {
        self.inner
            .last_success
            .lock()
            .ok()
            .and_then(|m| m.get(job).copied())
    }

    /// The metrics in the OpenMetrics text format, with RPOs computed for `now`.
    pub fn encode(&self, now: DateTime<Utc>) -> String {
        for job in &self.inner.jobs {
            let since = self.last_success(job).unwrap_or(self.inner.started);
            let rpo = (now - since).num_milliseconds().max(0) as f64 / 1000.0;
            self.inner.rpo.get_or_create(&label(job)).set(rpo);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }
}

/// Content type of [`SchedulerMetrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A bound metrics listener; [`MetricsServer::serve`] answers scrapes until `stop` resolves.
#[derive(Debug)]
pub struct MetricsServer {
    listener: TcpListener,
    addr: SocketAddr,
}

impl MetricsServer {
    /// Listens on `addr` (`127.0.0.1:0` picks a free port; see [`MetricsServer::local_addr`]).
    pub async fn bind(addr: &str) -> Result<Self, ScheduleError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ScheduleError::Listen {
                addr: addr.to_owned(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ScheduleError::Listen {
                addr: addr.to_owned(),
                source,
            })?;
        Ok(MetricsServer { listener, addr })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `stop` resolves. `now` supplies the time RPOs are computed at.
    pub async fn serve(
        self,
        metrics: SchedulerMetrics,
        now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tracing::info!(addr = %self.addr, "serving metrics on /metrics");
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let metrics = metrics.clone();
                    let now = Arc::clone(&now);
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(
                            std::time::Duration::from_secs(10),
                            answer(stream, &metrics, now()),
                        )
                        .await;
                    });
                }
            }
        }
    }
}

async fn answer(
    mut stream: tokio::net::TcpStream,
    metrics: &SchedulerMetrics,
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    // Read the request head (bounded); the body of a GET is ignored.
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", OPENMETRICS_CONTENT_TYPE, metrics.encode(now)),
        ("GET", "/healthz") => ("200 OK", "text/plain", "ok\n".to_owned()),
        ("GET", _) => (
            "404 Not Found",
            "text/plain",
            "not found: try /metrics\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET is served\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
