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
//! (see [`daemon`]'s docs for exactly what a SIGTERM does).
//!
//! Beyond one machine, `render` turns the same file into CronJobs — Kubernetes is the
//! distributed scheduler; see the `render` module (feature `kubernetes`).
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

/// The Kubernetes types [`render`] returns, so the application's `k8s-openapi` (and its
/// version feature) is the one used.
#[cfg(feature = "kubernetes")]
pub use k8s_openapi;

#[cfg(feature = "cockroach")]
mod cockroach_job;
mod cron;
pub mod daemon;
mod error;
mod job;
mod metrics;
#[cfg(feature = "kubernetes")]
pub mod render;
mod repository;
mod spec;
mod timing;

use std::sync::Arc;

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
    JobKind, JobSpec, KubernetesSpec, MetricsSpec, PasswordSource, PodResources, RepositoryJobSpec,
    RetentionSpec, RetrySpec, Schedule, ScheduleSpec, StdinSpec, StoreSpec,
};
pub use timing::{DurationText, JitterSource, JobTiming, Overlap, RetryPolicy};

use thinledger_store::EnvVars;

impl Schedule {
    /// The real runners for every job: the engine for repository jobs, the CockroachDB driver
    /// for cockroach jobs (tenant files are read now). `env` is where credentials and
    /// `{env: …}` sources are read (pass [`EnvVars::from_process`] in the daemon).
    pub fn runners(&self, env: &EnvVars) -> Result<Vec<ScheduledJob>, ScheduleError> {
        self.jobs()
            .iter()
            .map(|job| {
                let runner: Arc<dyn JobRunner> = match &job.kind {
                    JobKind::Repository(spec) => Arc::new(RepositoryJob::new(
                        &job.name,
                        spec.clone(),
                        job.drill.clone(),
                        env.clone(),
                        self.base_dir(),
                    )),
                    JobKind::Cockroach(spec) => self.cockroach_runner(job, spec, env)?,
                };
                Ok(ScheduledJob {
                    name: job.name.clone(),
                    timing: job.timing.clone(),
                    runner,
                })
            })
            .collect()
    }

    #[cfg(feature = "cockroach")]
    fn cockroach_runner(
        &self,
        job: &CheckedJob,
        spec: &CockroachJobSpec,
        env: &EnvVars,
    ) -> Result<Arc<dyn JobRunner>, ScheduleError> {
        let text = self.read_tenant_file(&job.name, &spec.tenant)?;
        let tenant =
            thinledger_topology::Tenant::from_yaml(&text).map_err(|e| ScheduleError::Job {
                job: job.name.clone(),
                message: format!("tenant file {}: {e}", self.resolve(&spec.tenant).display()),
            })?;
        Ok(Arc::new(CockroachJob::new(
            &job.name,
            spec.clone(),
            &tenant,
            job.drill.clone(),
            env.clone(),
            self.base_dir(),
        )?))
    }

    #[cfg(not(feature = "cockroach"))]
    fn cockroach_runner(
        &self,
        job: &CheckedJob,
        _spec: &CockroachJobSpec,
        _env: &EnvVars,
    ) -> Result<Arc<dyn JobRunner>, ScheduleError> {
        Err(ScheduleError::Job {
            job: job.name.clone(),
            message: "this build has no CockroachDB support; build with the `cockroach` feature"
                .to_owned(),
        })
    }

    /// A [`Scheduler`] with the real runners, the file's stop timeout and metrics address.
    pub fn scheduler(&self, env: &EnvVars) -> Result<Scheduler, ScheduleError> {
        let options = SchedulerOptions {
            stop_timeout: self.stop_timeout(),
            metrics_listen: self.spec().metrics.listen.clone(),
            jitter_seed: None,
        };
        Ok(Scheduler::new(self.runners(env)?, options))
    }
}
