//! Timing under tokio's paused clock: days of schedule pass in milliseconds.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use thinledger_backup::schedule::{
    BackupReport, Clock, CronSchedule, JobError, JobRunner, JobTiming, Overlap, RetryPolicy,
    RunContext, ScheduledJob, Scheduler, SchedulerOptions, StopReport, TokioClock,
};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

const NEW_YORK: &str = "America/New_York";
const ZURICH: &str = "Europe/Zurich";

// New York: 09:00 local is 13:00Z in summer and 14:00Z in winter.
#[rstest::rstest]
#[case::new_york_summer("0 9 * * *", NEW_YORK, utc(2025, 7, 1, 0, 0), utc(2025, 7, 1, 13, 0))]
#[case::new_york_winter("0 9 * * *", NEW_YORK, utc(2025, 12, 1, 0, 0), utc(2025, 12, 1, 14, 0))]
// Zurich, spring forward (2025-03-30, 02:00 CET -> 03:00 CEST): 02:30 does not exist; the run
// happens at the first instant after the gap (03:00 CEST = 01:00Z), once.
#[case::spring_gap("30 2 * * *", ZURICH, utc(2025, 3, 29, 12, 0), utc(2025, 3, 30, 1, 0))]
#[case::after_the_gap("30 2 * * *", ZURICH, utc(2025, 3, 30, 1, 0), utc(2025, 3, 31, 0, 30))]
// Fall back (2025-10-26, 03:00 CEST -> 02:00 CET): 02:30 happens twice; a fixed-time job runs
// once, at the earlier instant (00:30Z), and next on the 27th (01:30Z, CET).
#[case::fall_repeat(
    "30 2 * * *",
    ZURICH,
    utc(2025, 10, 25, 12, 0),
    utc(2025, 10, 26, 0, 30)
)]
#[case::after_the_repeat(
    "30 2 * * *",
    ZURICH,
    utc(2025, 10, 26, 0, 30),
    utc(2025, 10, 27, 1, 30)
)]
fn next_fire_in_time_zones_across_dst(
    #[case] expr: &str,
    #[case] zone: &str,
    #[case] after: DateTime<Utc>,
    #[case] next: DateTime<Utc>,
) {
    let schedule = CronSchedule::parse("schedule", expr, zone).unwrap();
    assert_eq!(
        schedule.next_after(after),
        Some(next),
        "{expr} in {zone} after {after}"
    );
}

#[test]
fn an_interval_job_runs_through_the_repeated_hour() {
    // An interval job runs on every real instant, both passes through the repeated hour.
    let every30 = CronSchedule::parse("schedule", "*/30 * * * *", "Europe/Zurich").unwrap();
    let fires = every30.fires_between(utc(2025, 10, 25, 23, 59), utc(2025, 10, 26, 2, 0), 100);
    assert_eq!(fires.len(), 5, "{fires:?}");
}

#[test]
fn bad_expressions_and_zones_explain_the_fix() {
    for (expr, zone, want) in [
        ("0 * * *", "UTC", "jobs[0].schedule"),
        ("0 0 * * * *", "UTC", "more than five fields"),
        ("0 0 L * *", "UTC", "L, W and #"),
        ("0 0 * * 5#3", "UTC", "L, W and #"),
        ("0 0 30 2 *", "UTC", "never fires"),
        ("0 * * * *", "Mars/Olympus", "jobs[0].time_zone"),
    ] {
        let err = CronSchedule::parse("jobs[0].schedule", expr, zone)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{expr} {zone}: {err}");
        assert!(err.contains("Fix:"), "{err}");
    }
    // Names of weekdays and months are fine (no false L/W matches).
    CronSchedule::parse("s", "0 3 * JUL WED", "UTC").unwrap();
    CronSchedule::parse("s", "@daily", "UTC").unwrap();
}

/// (attempt start, attempt, scheduled_for)
type AttemptStart = (DateTime<Utc>, u32, DateTime<Utc>);

/// A runner that sleeps (on tokio's clock) and fails its first `failures` attempts.
#[derive(Debug)]
struct FakeJob {
    clock: TokioClock,
    duration: Duration,
    failures: AtomicU32,
    starts: Mutex<Vec<AttemptStart>>,
    ends: Mutex<Vec<DateTime<Utc>>>,
}

impl FakeJob {
    fn new(clock: TokioClock, duration: Duration, failures: u32) -> Arc<Self> {
        Arc::new(FakeJob {
            clock,
            duration,
            failures: AtomicU32::new(failures),
            starts: Mutex::new(Vec::new()),
            ends: Mutex::new(Vec::new()),
        })
    }
    fn starts(&self) -> Vec<DateTime<Utc>> {
        self.starts.lock().unwrap().iter().map(|s| s.0).collect()
    }
}

impl JobRunner for FakeJob {
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn backup<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<BackupReport, JobError>> {
        Box::pin(async move {
            self.starts
                .lock()
                .unwrap()
                .push((self.clock.now(), ctx.attempt, ctx.scheduled_for));
            tokio::time::sleep(self.duration).await;
            self.ends.lock().unwrap().push(self.clock.now());
            let left = self.failures.load(Ordering::SeqCst);
            if left > 0 {
                self.failures.store(left - 1, Ordering::SeqCst);
                return Err(JobError::failed("fake", "planned failure"));
            }
            Ok(BackupReport {
                bytes_added: 1000,
                bytes_total: 5000,
                snapshot: Some(format!("fake-{}", ctx.attempt)),
            })
        })
    }
}

fn timing(expr: &str) -> JobTiming {
    let mut t = JobTiming::new(CronSchedule::parse("schedule", expr, "UTC").unwrap());
    t.retry = RetryPolicy::default()
        .with_retries(0)
        .with_initial_backoff(Duration::from_secs(30))
        .with_max_backoff(Duration::from_secs(600));
    t
}

fn scheduler(
    job: &Arc<FakeJob>,
    timing: JobTiming,
    clock: TokioClock,
    stop_timeout: Duration,
) -> Scheduler {
    let options = SchedulerOptions::default()
        .with_stop_timeout(stop_timeout)
        .with_jitter_seed(42);
    Scheduler::new(
        vec![ScheduledJob {
            name: "fake".into(),
            timing,
            runner: job.clone(),
        }],
        options,
    )
    .with_clock(Arc::new(clock))
}

/// Runs the scheduler for `span` of (paused) time, then stops it; returns the metrics text.
async fn run_for(s: Scheduler, clock: TokioClock, span: Duration) -> (String, u64) {
    let metrics = s.metrics();
    let report = stop_after(s, span).await;
    (metrics.encode(clock.now()), report.runs)
}

/// Runs the scheduler, asks it to stop after `span` of (paused) time, and waits until it has.
async fn stop_after(s: Scheduler, span: Duration) -> StopReport {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(s.run_serving(None, async {
        let _ = rx.await;
    }));
    tokio::time::sleep(span).await;
    tx.send(()).unwrap();
    task.await.unwrap()
}

/// The value of the fake job's metric `thinledger_backup_job_<name>`, with `labels` after
/// its `job` label.
fn job_metric(text: &str, name: &str, labels: &str) -> f64 {
    metric(
        text,
        &format!("thinledger_backup_job_{name}{{job=\"fake\"{labels}}}"),
    )
}

fn metric(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn hourly_job_fires_on_the_hour() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 10));
    let job = FakeJob::new(clock, Duration::from_secs(300), 0);
    let s = scheduler(&job, timing("0 * * * *"), clock, Duration::from_secs(60));
    let (text, runs) = run_for(s, clock, Duration::from_secs(3 * 3600)).await;
    assert_eq!(
        job.starts(),
        vec![
            utc(2025, 1, 1, 1, 0),
            utc(2025, 1, 1, 2, 0),
            utc(2025, 1, 1, 3, 0)
        ]
    );
    assert_eq!(runs, 3);
    for (name, labels, want) in [
        ("runs_total", "", 3.0),
        (
            "last_success_timestamp_seconds",
            "",
            utc(2025, 1, 1, 3, 5).timestamp() as f64,
        ),
        // Stopped at 03:10: five minutes after the last success.
        ("rpo_seconds", "", 300.0),
        ("last_duration_seconds", "", 300.0),
        ("last_bytes_added", "", 1000.0),
        ("running", "", 0.0),
        ("failures_total", ",stage=\"backup\"", 0.0),
    ] {
        assert_eq!(job_metric(&text, name, labels), want, "{name}{labels}");
    }
}

#[tokio::test(start_paused = true)]
async fn jitter_delays_each_run_within_its_bound() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 0));
    let job = FakeJob::new(clock, Duration::from_secs(1), 0);
    let mut t = timing("0 * * * *");
    t.jitter = Duration::from_secs(600);
    let s = scheduler(&job, t, clock, Duration::from_secs(60));
    run_for(s, clock, Duration::from_secs(24 * 3600 + 1800)).await;
    let starts = job.starts();
    assert_eq!(starts.len(), 24);
    let offsets: Vec<i64> = starts.iter().map(|s| s.timestamp() % 3600).collect();
    assert!(offsets.iter().all(|o| (0..=600).contains(o)), "{offsets:?}");
    // Really random: not all runs at one offset, and spread over the window.
    assert!(
        offsets.iter().any(|o| *o < 200) && offsets.iter().any(|o| *o > 400),
        "{offsets:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn overlap_skip_drops_fire_times_and_never_runs_twice_at_once() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 5));
    let job = FakeJob::new(clock, Duration::from_secs(25 * 60), 0);
    let s = scheduler(
        &job,
        timing("*/10 * * * *"),
        clock,
        Duration::from_secs(3600),
    );
    let (text, _) = run_for(s, clock, Duration::from_secs(70 * 60)).await;
    // 00:10 runs to 00:35 (00:20, 00:30 skipped); 00:40 to 01:05 (00:50, 01:00 skipped); 01:10.
    assert_eq!(
        job.starts(),
        vec![
            utc(2025, 1, 1, 0, 10),
            utc(2025, 1, 1, 0, 40),
            utc(2025, 1, 1, 1, 10)
        ]
    );
    assert_eq!(job_metric(&text, "skipped_total", ""), 4.0);
}

#[tokio::test(start_paused = true)]
async fn overlap_wait_runs_once_more_when_the_previous_run_ends() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 5));
    let job = FakeJob::new(clock, Duration::from_secs(25 * 60), 0);
    let mut t = timing("*/10 * * * *");
    t.overlap = Overlap::Wait;
    let s = scheduler(&job, t, clock, Duration::from_secs(3600));
    let (text, _) = run_for(s, clock, Duration::from_secs(70 * 60)).await;
    let recorded = job.starts.lock().unwrap().clone();
    let starts: Vec<_> = recorded.iter().map(|r| r.0).collect();
    // 00:10-00:35; then at once for 00:30 (00:20 coalesced) to 01:00; then for 01:00 (00:40,
    // 00:50 coalesced) to 01:25 — never two at once.
    assert_eq!(
        starts,
        vec![
            utc(2025, 1, 1, 0, 10),
            utc(2025, 1, 1, 0, 35),
            utc(2025, 1, 1, 1, 0)
        ]
    );
    assert_eq!(recorded[1].2, utc(2025, 1, 1, 0, 30));
    let ends = job.ends.lock().unwrap().clone();
    for (i, s) in starts.iter().enumerate().skip(1) {
        assert!(*s >= ends[i - 1]);
    }
    assert_eq!(job_metric(&text, "skipped_total", ""), 3.0);
}

#[tokio::test(start_paused = true)]
async fn retries_back_off_exponentially_then_succeed() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 59));
    let job = FakeJob::new(clock, Duration::from_secs(1), 3);
    let mut t = timing("0 * * * *");
    t.retry = RetryPolicy::default()
        .with_retries(3)
        .with_initial_backoff(Duration::from_secs(30))
        .with_max_backoff(Duration::from_secs(45));
    let s = scheduler(&job, t, clock, Duration::from_secs(60));
    let (text, _) = run_for(s, clock, Duration::from_secs(30 * 60)).await;
    let starts = job.starts.lock().unwrap().clone();
    let base = utc(2025, 1, 1, 1, 0);
    let secs: Vec<i64> = starts.iter().map(|s| (s.0 - base).num_seconds()).collect();
    // 1 s per attempt; waits 30 s, 45 s (60 capped), 45 s.
    assert_eq!(secs, vec![0, 31, 77, 123]);
    assert_eq!(
        starts.iter().map(|s| s.1).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(job_metric(&text, "retries_total", ""), 3.0);
    assert_eq!(
        job_metric(&text, "failures_total", ",stage=\"backup\""),
        0.0
    );
    assert_eq!(job_metric(&text, "last_duration_seconds", ""), 124.0);
}

#[tokio::test(start_paused = true)]
async fn a_run_that_exhausts_its_retries_counts_one_failure() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 59));
    let job = FakeJob::new(clock, Duration::from_secs(1), 100);
    let mut t = timing("0 * * * *");
    t.retry.retries = 2;
    let s = scheduler(&job, t, clock, Duration::from_secs(60));
    let (text, _) = run_for(s, clock, Duration::from_secs(30 * 60)).await;
    assert_eq!(job.starts().len(), 3);
    assert_eq!(
        job_metric(&text, "failures_total", ",stage=\"backup\""),
        1.0
    );
    assert!(!text.contains("thinledger_backup_job_last_success_timestamp_seconds{"));
    // Never succeeded: the RPO counts from the scheduler's start (00:59 -> 01:29).
    assert_eq!(job_metric(&text, "rpo_seconds", ""), 1800.0);
}

#[tokio::test(start_paused = true)]
async fn stop_lets_a_running_backup_finish_within_the_stop_timeout() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 59));
    let job = FakeJob::new(clock, Duration::from_secs(600), 0);
    let s = scheduler(&job, timing("0 * * * *"), clock, Duration::from_secs(3600));
    let metrics = s.metrics();
    // Stop five minutes into the 10-minute run that started at 01:00.
    let report = stop_after(s, Duration::from_secs(6 * 60)).await;
    assert_eq!(report.runs, 1);
    assert_eq!(
        clock.now(),
        utc(2025, 1, 1, 1, 10),
        "returned when the run ended"
    );
    assert_eq!(metrics.last_success("fake"), Some(utc(2025, 1, 1, 1, 10)));
}

#[tokio::test(start_paused = true)]
async fn stop_cancels_a_run_that_outlasts_the_stop_timeout() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 59));
    let job = FakeJob::new(clock, Duration::from_secs(3600), 0);
    let s = scheduler(&job, timing("0 * * * *"), clock, Duration::from_secs(120));
    let metrics = s.metrics();
    stop_after(s, Duration::from_secs(6 * 60)).await;
    // Stop at 01:05, cancelled at 01:07; the attempt never ended.
    assert_eq!(clock.now(), utc(2025, 1, 1, 1, 7));
    assert!(job.ends.lock().unwrap().is_empty());
    assert_eq!(metrics.last_success("fake"), None);
    let text = metrics.encode(clock.now());
    assert_eq!(
        job_metric(&text, "failures_total", ",stage=\"backup\""),
        1.0
    );
}

#[tokio::test(start_paused = true)]
async fn stop_while_idle_returns_at_once() {
    let clock = TokioClock::starting_at(utc(2025, 1, 1, 0, 1));
    let job = FakeJob::new(clock, Duration::from_secs(1), 0);
    let s = scheduler(&job, timing("0 * * * *"), clock, Duration::from_secs(3600));
    let report = stop_after(s, Duration::from_secs(60)).await;
    assert_eq!(report.runs, 0);
    assert_eq!(clock.now(), utc(2025, 1, 1, 0, 2));
}
