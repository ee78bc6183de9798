//! Scheduled backups: a daemon (`ledger-backup schedule run`) and the same schedule as
//! Kubernetes CronJobs (`ledger-backup schedule render`).
//!
//! One YAML file declares the jobs ([`ScheduleSpec`]; every mapping rejects unknown fields).
//! Two kinds of job:
//!
//! - **repository**: paths, or a command's output, backed up into a thinledger
//!   (restic-format) repository on any store, then retention (`keep_*` rules, then prune) and
//!   a restore drill (`check` of a share of the packs and/or a test restore into a scratch
//!   folder, timed) — [`RepositoryJob`];
//! - **cockroach**: a CockroachDB native backup of a tenant's cluster through
//!   `thinledger-cockroach` (feature `cockroach`), with `SHOW BACKUP … WITH check_files` as its drill — `CockroachJob`.
//!
//! Per job: a cron expression in an IANA time zone ([`CronSchedule`]; DST handled), jitter,
//! an overlap policy ([`Overlap`]: skip or wait, never two runs of one job at once), retries
//! with exponential backoff ([`RetryPolicy`]), an attempt timeout, and a drill every N
//! successful runs. Passwords are never written in the file: `{file: …}`, `{command: …}` or
//! `{env: …}` say where each run reads them.
//!
//! The [`Scheduler`] runs jobs through the [`JobRunner`] trait, so its timing can be tested
//! with runners that only sleep on tokio's paused clock ([`TokioClock`]). It exports
//! Prometheus metrics ([`SchedulerMetrics`], served by [`MetricsServer`]) and stops gracefully
//! (see [Graceful stop](#graceful-stop) for exactly what a SIGTERM does).
//!
//! Beyond one machine, `render` turns the same file into CronJobs — Kubernetes is the
//! distributed scheduler; see the `render` module (feature `kubernetes`).
//!
//! # Public surface
//! - The file: [`Schedule`] (read and checked: [`Schedule::from_file`],
//!   [`Schedule::from_yaml_in`]; its real runners [`Schedule::runners`] and
//!   [`Schedule::scheduler`]) and its declared form [`ScheduleSpec`] with [`JobSpec`],
//!   [`RepositoryJobSpec`], [`CockroachJobSpec`], [`DrillSpec`], [`RetentionSpec`], … (serde).
//! - The daemon: [`Scheduler`] ([`SchedulerOptions`]), [`ScheduledJob`], the [`JobRunner`]
//!   trait and its reports, [`Clock`] ([`SystemClock`], [`TokioClock`]), [`RunReport`],
//!   [`StopReport`], [`shutdown_signal`].
//! - Timing: [`CronSchedule`], [`JobTiming`], [`RetryPolicy`], [`Overlap`], [`JitterSource`],
//!   [`DurationText`].
//! - Runners: [`RepositoryJob`] and `CockroachJob` (feature `cockroach`).
//! - Metrics: [`SchedulerMetrics`], [`MetricsServer`].
//! - [`ScheduleError`].
//! - `render` (feature `kubernetes`): the schedule as Kubernetes objects — a namespace of its
//!   own, as `thinledger_topology::render` is: `render::render`, `render::ScheduleRendering`,
//!   `render::ScheduleObject` and the paths the pods mount; `k8s_openapi` is re-exported
//!   so the application's version is the one used.
//!
//! ```
//! use thinledger_schedule::{Overlap, Schedule};
//!
//! let schedule = Schedule::from_yaml_in(r#"
//! jobs:
//!   - name: ledger-exports
//!     schedule: "15 * * * *"
//!     time_zone: Europe/Zurich
//!     jitter: 2m
//!     overlap: wait
//!     repository:
//!       url: /srv/backups/ledger
//!       password: {file: /run/secrets/backup-password}
//!       paths: [/var/lib/ledger/exports]
//!       retention: {keep_hourly: 24, keep_daily: 7}
//!     drill: {read_data_percent: 10, restore: true}
//! "#, std::path::Path::new("/etc/thinledger"))?;
//! let job = &schedule.jobs()[0];
//! assert_eq!(job.timing.overlap, Overlap::Wait);
//! assert_eq!(job.timing.cron.zone_name(), "Europe/Zurich");
//!
//! // Bad input names the field and the fix; a password is never echoed.
//! let err = Schedule::from_yaml_in(
//!     "jobs: [{name: x, schedule: '0 * * * *', repository: {url: /r, password: hunter2, paths: [/d]}}]",
//!     std::path::Path::new("."),
//! ).unwrap_err().to_string();
//! assert!(err.contains("password") && !err.contains("hunter2"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Graceful stop
//!
//! When the stop future given to [`Scheduler::run`] resolves (the CLI passes
//! [`shutdown_signal`]: SIGTERM or SIGINT):
//! 1. no new run starts, and a job waiting for its next fire time ends at once;
//! 2. a job waiting between retries ends without another attempt (the run counts as failed);
//! 3. a step that is running (backup, retention or drill) may finish within the schedule's
//!    `stop_timeout`; a finished backup is recorded, but retention and the drill are not
//!    started after a stop;
//! 4. when `stop_timeout` passes, steps still running are cancelled (their futures dropped).
//!    This is safe for the repository: objects are written create-only under their content
//!    hash and the snapshot is written last, so a cancelled backup leaves no snapshot, only
//!    unreferenced packs that the next `prune` removes. Its lock file stays behind until it is
//!    stale (30 minutes) or `ledger-backup unlock` removes it. A cancelled CockroachDB backup
//!    keeps running inside the cluster (it is a cluster job); only the wait is abandoned.
//!
//! Kubernetes sends SIGTERM and kills after `terminationGracePeriodSeconds`: keep
//! `stop_timeout` below it.

/// The Kubernetes types [`render`] returns, so the application's `k8s-openapi` (and its
/// version feature) is the one used.
#[cfg(feature = "kubernetes")]
pub use k8s_openapi;

#[cfg(feature = "cockroach")]
mod cockroach_job;
mod cron;
mod daemon;
mod error;
mod job;
mod metrics;
#[cfg(feature = "kubernetes")]
pub mod render;
mod repository;
mod runners;
mod spec;
mod timing;

// The public surface: one list.
#[cfg(feature = "cockroach")]
pub use cockroach_job::CockroachJob;
pub use cron::CronSchedule;
pub use daemon::{
    Clock, RunOutcome, RunReport, ScheduledJob, Scheduler, SchedulerOptions, StopReport,
    SystemClock, TokioClock, shutdown_signal,
};
pub use error::ScheduleError;
pub use job::{BackupReport, DrillReport, JobError, JobRunner, RetentionReport, RunContext};
pub use metrics::{MetricsServer, OPENMETRICS_CONTENT_TYPE, SchedulerMetrics};
pub use repository::RepositoryJob;
pub use spec::{
    CheckedJob, ClaimMount, CockroachBackupKind, CockroachJobSpec, DEFAULT_LOCK_WAIT, DrillSpec,
    JobKind, JobSpec, KubernetesSpec, MetricsSpec, MinioCredentials, PasswordSource, PodResources,
    RepositoryJobSpec, RetentionSpec, RetrySpec, Schedule, ScheduleSpec, StdinSpec, StoreSpec,
};
pub use timing::{DurationText, JitterSource, JobTiming, Overlap, RetryPolicy};
