//! The daemon: one task per job on tokio, sequencing fire times, retries, retention, drills,
//! metrics, and a graceful stop.
//!
//! (see the crate docs, "Graceful stop").

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::error::ScheduleError;
use super::job::{BackupReport, DrillReport, JobError, JobRunner, RetentionReport, RunContext};
use super::metrics::{MetricsServer, SchedulerMetrics};
use super::timing::{JitterSource, JobTiming, Overlap};

/// Where the scheduler reads wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// How long to wait on tokio's timer for `wall` to pass on this clock. The system clock
    /// and [`TokioClock`] advance with the timer; a test clock running faster scales it down.
    fn timer_duration(&self, wall: Duration) -> Duration {
        wall
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall-clock time that advances with tokio's clock from a fixed start, so that schedules
/// can be tested under `tokio::time::pause` (days pass in milliseconds).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall: DateTime<Utc>,
    start: Instant,
}

impl TokioClock {
    /// A clock that reads `wall` now and advances with [`tokio::time::Instant`].
    pub fn starting_at(wall: DateTime<Utc>) -> Self {
        TokioClock {
            wall,
            start: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default();
        self.wall + elapsed
    }
}

/// Sleeps until the wall clock reads `at`, re-reading it at least every minute so a clock
/// step (NTP, a suspended VM) does not make a run late by the size of the step.
async fn sleep_until_wall(clock: &dyn Clock, at: DateTime<Utc>) {
    loop {
        let now = clock.now();
        if now >= at {
            return;
        }
        let left = (at - now).to_std().unwrap_or_default();
        let wait = clock.timer_duration(left.min(Duration::from_secs(60)));
        tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
    }
}

/// One job as the scheduler sees it.
pub struct ScheduledJob {
    /// Name (metrics label, logs).
    pub name: String,
    /// When it runs.
    pub timing: JobTiming,
    /// What it does.
    pub runner: Arc<dyn JobRunner>,
}

impl fmt::Debug for ScheduledJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScheduledJob")
            .field("name", &self.name)
            .field("timing", &self.timing)
            .field("runner", &self.runner)
            .finish()
    }
}

/// Daemon knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchedulerOptions {
    /// How long running steps may take to finish after a stop (default 5 minutes).
    pub stop_timeout: Duration,
    /// `address:port` of the metrics endpoint ([`Scheduler::run`] binds it); `None`: none.
    pub metrics_listen: Option<String>,
    /// A fixed seed for jitter (tests); `None`: the operating system's random source.
    pub jitter_seed: Option<u64>,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            stop_timeout: Duration::from_secs(300),
            metrics_listen: None,
            jitter_seed: None,
        }
    }
}

impl SchedulerOptions {
    /// Sets the stop timeout.
    pub fn with_stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// Sets the metrics address.
    pub fn with_metrics_listen(mut self, addr: impl Into<String>) -> Self {
        self.metrics_listen = Some(addr.into());
        self
    }

    /// Fixes the jitter seed (reproducible tests).
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RunOutcome {
    /// Backup, retention and drill (those configured and due) succeeded.
    Succeeded,
    /// The backup failed after its retries (or was cancelled).
    BackupFailed,
    /// The backup succeeded; retention failed.
    RetentionFailed,
    /// The backup succeeded; the drill failed.
    DrillFailed,
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RunReport {
    /// The job.
    pub job: String,
    /// The fire time it belongs to.
    pub scheduled_for: DateTime<Utc>,
    /// When it started and ended.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub ended: DateTime<Utc>,
    /// Attempts of the backup step.
    pub attempts: u32,
    /// The result.
    pub outcome: RunOutcome,
    /// The backup, if it succeeded.
    pub backup: Option<BackupReport>,
    /// Retention, if it ran.
    pub retention: Option<RetentionReport>,
    /// The drill, if it ran and passed.
    pub drill: Option<DrillReport>,
    /// Errors, one per failed step or attempt (never secrets).
    pub errors: Vec<String>,
}

/// What [`Scheduler::run`] did before it stopped.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct StopReport {
    /// Runs started, over all jobs.
    pub runs: u64,
    /// Jobs whose task ended abnormally (a panic in a runner), with the reason.
    pub crashed: Vec<String>,
}

#[derive(Clone, Debug)]
struct StopSignal(watch::Receiver<Option<Instant>>);

impl StopSignal {
    fn is_stopping(&self) -> bool {
        self.0.borrow().is_some()
    }

    async fn requested(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    async fn deadline_passed(&self) {
        let mut rx = self.0.clone();
        let deadline = match rx.wait_for(Option::is_some).await {
            Ok(v) => *v,
            Err(_) => None,
        };
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending::<()>().await,
        }
    }
}

struct Ctx {
    clock: Arc<dyn Clock>,
    metrics: SchedulerMetrics,
    stop: StopSignal,
}

/// The scheduling daemon. Build it from a checked schedule with
/// [`super::Schedule::scheduler`], or from [`ScheduledJob`]s with any [`JobRunner`].
pub struct Scheduler {
    jobs: Vec<Arc<ScheduledJob>>,
    options: SchedulerOptions,
    clock: Arc<dyn Clock>,
    metrics: SchedulerMetrics,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("jobs", &self.jobs)
            .field("options", &self.options)
            .field("clock", &self.clock)
            .finish()
    }
}

impl Scheduler {
    /// A scheduler for `jobs` on the system clock.
    pub fn new(jobs: Vec<ScheduledJob>, options: SchedulerOptions) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let metrics = SchedulerMetrics::new(clock.now(), jobs.iter().map(|j| j.name.as_str()));
        Scheduler {
            jobs: jobs.into_iter().map(Arc::new).collect(),
            options,
            clock,
            metrics,
        }
    }

    /// Uses another clock (e.g. [`TokioClock`] in tests). Resets the metrics.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.metrics =
            SchedulerMetrics::new(clock.now(), self.jobs.iter().map(|j| j.name.as_str()));
        self.clock = clock;
        self
    }

    /// The metrics (shared; they keep updating while the scheduler runs).
    pub fn metrics(&self) -> SchedulerMetrics {
        self.metrics.clone()
    }

    /// The jobs' names.
    pub fn job_names(&self) -> Vec<&str> {
        self.jobs.iter().map(|j| j.name.as_str()).collect()
    }

    /// Runs every job on its schedule until `stop` resolves, serving metrics on
    /// [`SchedulerOptions::metrics_listen`] if set. See the module docs for what a stop does.
    pub async fn run(
        self,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<StopReport, ScheduleError> {
        let server = match &self.options.metrics_listen {
            Some(addr) => Some(MetricsServer::bind(addr).await?),
            None => None,
        };
        Ok(self.run_serving(server, stop).await)
    }

    /// [`Scheduler::run`] with an already bound metrics server (or none).
    pub async fn run_serving(
        self,
        server: Option<MetricsServer>,
        stop: impl Future<Output = ()> + Send,
    ) -> StopReport {
        let (stop_tx, stop_rx) = watch::channel(None);
        let ctx = Arc::new(Ctx {
            clock: Arc::clone(&self.clock),
            metrics: self.metrics.clone(),
            stop: StopSignal(stop_rx),
        });
        let (server_stop_tx, server_stop_rx) = watch::channel(false);
        let server_task = server.map(|s| {
            let metrics = self.metrics.clone();
            let clock = Arc::clone(&self.clock);
            let mut rx = server_stop_rx.clone();
            tokio::spawn(s.serve(metrics, Arc::new(move || clock.now()), async move {
                let _ = rx.wait_for(|v| *v).await;
            }))
        });
        tracing::info!(
            jobs = self.jobs.len(),
            stop_timeout_secs = self.options.stop_timeout.as_secs(),
            "scheduler started"
        );
        let mut tasks = JoinSet::new();
        for job in &self.jobs {
            let seed = self.options.jitter_seed.map(|s| s ^ fnv(&job.name));
            tasks.spawn(job_loop(Arc::clone(job), Arc::clone(&ctx), seed));
        }
        let mut report = StopReport::default();
        let mut stopping = false;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop, if !stopping => {
                    stopping = true;
                    tracing::info!(
                        stop_timeout_secs = self.options.stop_timeout.as_secs(),
                        "stop requested: no new runs; running steps may finish within the stop timeout"
                    );
                    let _ = stop_tx.send(Some(Instant::now() + self.options.stop_timeout));
                }
                joined = tasks.join_next() => match joined {
                    None => break,
                    Some(Ok(runs)) => report.runs += runs,
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "a job task ended abnormally");
                        report.crashed.push(e.to_string());
                    }
                },
            }
        }
        let _ = server_stop_tx.send(true);
        if let Some(t) = server_task {
            let _ = t.await;
        }
        tracing::info!(runs = report.runs, "scheduler stopped");
        report
    }

    /// Runs `job` once now (what a Kubernetes CronJob pod does), with the job's retries when
    /// `retries` is true (a CronJob leaves retries to the Job's `backoffLimit`), retention,
    /// and the drill if the job has one. Stops early like [`Scheduler::run`] when `stop`
    /// resolves.
    pub async fn run_once(
        &self,
        job: &str,
        retries: bool,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<RunReport, ScheduleError> {
        let Some(found) = self.jobs.iter().find(|j| j.name == job) else {
            return Err(ScheduleError::UnknownJob {
                name: job.to_owned(),
                known: self.job_names().join(", "),
            });
        };
        let (stop_tx, stop_rx) = watch::channel(None);
        let ctx = Ctx {
            clock: Arc::clone(&self.clock),
            metrics: self.metrics.clone(),
            stop: StopSignal(stop_rx),
        };
        let mut successes = 0;
        let now = self.clock.now();
        let run = execute(found, &ctx, now, &mut successes, retries, true);
        tokio::pin!(run);
        tokio::pin!(stop);
        let mut stopping = false;
        loop {
            tokio::select! {
                report = &mut run => return Ok(report),
                () = &mut stop, if !stopping => {
                    stopping = true;
                    let _ = stop_tx.send(Some(Instant::now() + self.options.stop_timeout));
                }
            }
        }
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Resolves once SIGTERM or SIGINT arrives (what `schedule run` stops on).
pub async fn shutdown_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        r = tokio::signal::ctrl_c() => { r?; tracing::info!("SIGINT received"); }
    }
    Ok(())
}

async fn job_loop(job: Arc<ScheduledJob>, ctx: Arc<Ctx>, seed: Option<u64>) -> u64 {
    let mut jitter = seed.map_or_else(JitterSource::from_os, JitterSource::seeded);
    let mut after = ctx.clock.now();
    let mut immediate: Option<DateTime<Utc>> = None;
    let mut successes = 0u32;
    let mut runs = 0u64;
    loop {
        if ctx.stop.is_stopping() {
            break;
        }
        let (scheduled_for, start_at) = match immediate.take() {
            Some(fire) => (fire, ctx.clock.now()),
            None => {
                let Some(fire) = job.timing.cron.next_after(after) else {
                    tracing::warn!(job = %job.name, "the cron expression fires no more; the job ends");
                    break;
                };
                let delay = jitter.delay(job.timing.jitter);
                (
                    fire,
                    fire + chrono::Duration::from_std(delay).unwrap_or_default(),
                )
            }
        };
        ctx.metrics.next_run(&job.name, start_at);
        tracing::debug!(job = %job.name, %scheduled_for, %start_at, "next run");
        tokio::select! {
            biased;
            () = ctx.stop.requested() => break,
            () = sleep_until_wall(&*ctx.clock, start_at) => {}
        }
        runs += 1;
        let report = execute(&job, &ctx, scheduled_for, &mut successes, true, false).await;
        log_report(&report);
        if ctx.stop.is_stopping() {
            break;
        }
        let end = ctx.clock.now();
        let missed = job.timing.cron.fires_between(scheduled_for, end, 100_000);
        after = end;
        if missed.is_empty() {
            continue;
        }
        match job.timing.overlap {
            Overlap::Skip => {
                tracing::warn!(job = %job.name, skipped = missed.len(), "the run overlapped later fire times; skipped them (overlap: skip)");
                ctx.metrics.skipped(&job.name, missed.len() as u64);
            }
            Overlap::Wait => {
                let coalesced = missed.len() as u64 - 1;
                tracing::info!(job = %job.name, missed = missed.len(), "the run overlapped later fire times; running once more now (overlap: wait)");
                if coalesced > 0 {
                    ctx.metrics.skipped(&job.name, coalesced);
                }
                immediate = missed.last().copied();
            }
        }
    }
    runs
}

fn log_report(r: &RunReport) {
    let secs = (r.ended - r.started).num_milliseconds() as f64 / 1000.0;
    match r.outcome {
        RunOutcome::Succeeded => tracing::info!(
            job = %r.job,
            scheduled_for = %r.scheduled_for,
            attempts = r.attempts,
            duration_secs = secs,
            bytes_added = r.backup.as_ref().map_or(0, |b| b.bytes_added),
            snapshot = r.backup.as_ref().and_then(|b| b.snapshot.as_deref()).unwrap_or(""),
            drill_restore_secs = r.drill.as_ref().and_then(|d| d.restore_seconds),
            "run succeeded"
        ),
        outcome => tracing::error!(
            job = %r.job,
            scheduled_for = %r.scheduled_for,
            attempts = r.attempts,
            duration_secs = secs,
            ?outcome,
            errors = %r.errors.join("; "),
            "run failed"
        ),
    }
}

/// A step's future, bounded by a timeout and by the stop deadline.
async fn guarded<T>(
    ctx: &Ctx,
    timeout: Option<Duration>,
    step: impl Future<Output = Result<T, JobError>>,
) -> Result<T, JobError> {
    let limit = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        r = step => r,
        () = limit => Err(JobError::TimedOut { seconds: timeout.map_or(0, |t| t.as_secs()) }),
        () = ctx.stop.deadline_passed() => Err(JobError::Cancelled),
    }
}

async fn execute(
    job: &ScheduledJob,
    ctx: &Ctx,
    scheduled_for: DateTime<Utc>,
    successes: &mut u32,
    retries: bool,
    always_drill: bool,
) -> RunReport {
    let name = job.name.as_str();
    ctx.metrics.run_started(name);
    let started = ctx.clock.now();
    let t0 = Instant::now();
    let mut report = RunReport {
        job: name.to_owned(),
        scheduled_for,
        started,
        ended: started,
        attempts: 0,
        outcome: RunOutcome::Succeeded,
        backup: None,
        retention: None,
        drill: None,
        errors: Vec::new(),
    };
    tracing::info!(job = name, kind = job.runner.kind(), %scheduled_for, "run started");
    let max_retries = if retries { job.timing.retry.retries } else { 0 };
    let mut rc = RunContext {
        job: name.to_owned(),
        scheduled_for,
        attempt: 0,
    };
    let backup = loop {
        rc.attempt += 1;
        let result = guarded(ctx, job.timing.attempt_timeout, job.runner.backup(&rc)).await;
        match result {
            Ok(b) => break Ok(b),
            Err(e) => {
                report.errors.push(format!("attempt {}: {e}", rc.attempt));
                let last = rc.attempt > max_retries
                    || matches!(e, JobError::Cancelled)
                    || ctx.stop.is_stopping();
                if last {
                    break Err(e);
                }
                let wait = job.timing.retry.backoff(rc.attempt);
                tracing::warn!(job = name, attempt = rc.attempt, error = %e, retry_in_secs = wait.as_secs_f64(), "backup attempt failed; retrying");
                ctx.metrics.retried(name);
                tokio::select! {
                    biased;
                    () = ctx.stop.requested() => break Err(e),
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    };
    report.attempts = rc.attempt;
    ctx.metrics.duration(name, t0.elapsed().as_secs_f64());
    match backup {
        Err(_) => {
            ctx.metrics.failed(name, "backup");
            report.outcome = RunOutcome::BackupFailed;
        }
        Ok(b) => {
            ctx.metrics
                .backup_succeeded(name, ctx.clock.now(), b.bytes_added);
            *successes += 1;
            if !ctx.stop.is_stopping() {
                match guarded(ctx, None, job.runner.retention(&rc)).await {
                    Ok(r) => report.retention = r,
                    Err(e) => {
                        tracing::error!(job = name, error = %e, "retention failed");
                        report.errors.push(format!("retention: {e}"));
                        ctx.metrics.failed(name, "retention");
                        report.outcome = RunOutcome::RetentionFailed;
                    }
                }
            }
            let every = job.timing.drill_every;
            let due = every > 0 && (always_drill || (*successes).is_multiple_of(every));
            if due && !ctx.stop.is_stopping() {
                match guarded(ctx, None, job.runner.drill(&rc, &b)).await {
                    Ok(Some(d)) => {
                        ctx.metrics
                            .drill(name, ctx.clock.now(), true, d.restore_seconds);
                        tracing::info!(job = name, what = %d.what, restore_secs = d.restore_seconds, bytes = d.bytes, "drill passed");
                        report.drill = Some(d);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::error!(job = name, error = %e, "drill failed");
                        ctx.metrics.drill(name, ctx.clock.now(), false, None);
                        ctx.metrics.failed(name, "drill");
                        report.errors.push(format!("drill: {e}"));
                        report.outcome = RunOutcome::DrillFailed;
                    }
                }
            }
            report.backup = Some(b);
        }
    }
    report.ended = ctx.clock.now();
    ctx.metrics.run_ended(name);
    report
}
